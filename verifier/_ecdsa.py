"""Signature helpers used by verifier/ (holder and snapshot signatures): see common/ecdsa.py.

Kept as a module name so verifier code reads `from verifier._ecdsa import ...`; the rules and
implementation live once, in common.ecdsa, shared with the issuer signatures of common.eip712.
"""

from common.ecdsa import address_of, recover_digest, recover_digest_raw, sign_digest

__all__ = ["address_of", "recover_digest", "recover_digest_raw", "sign_digest"]
