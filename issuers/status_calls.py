"""The AnchorLedger call that changes a certificate's status, for either crypto suite.

One place for it because two paths send it: the department's own action (issuers/service.py) and
the outbox's re-send after a crash or a lost transaction (issuers/reconcile.py); they must send
the same call. Suite-1 batches go through the functions whose Merkle proof the contract checks
with keccak; suite-2 (国密) batches through the `…Guomi` functions, which carry the SM3 proof in
calldata for anyone to check off chain but do not evaluate it (docs/spec/decisions/
sm3-status-on-chain.md: an SM3 proof in Solidity costs about 100 times the gas).
"""

from __future__ import annotations

from typing import Any

from issuers.store import CertificateStore, StoredCertificate
from ledger.clients import status_function

__all__ = ["status_call"]


def status_call(store: CertificateStore, stored: StoredCertificate, action: str, reason: int) -> tuple[str, list[Any]]:
    """(function name, arguments) of the status change `action` ("revoke", "suspend", "reinstate")
    of an anchored certificate; the proof comes from its batch's tree, built in the batch's suite."""
    batch = stored.batch
    if batch is None:
        raise ValueError(f"certificate {stored.cert_id} is in no batch yet")
    tree = store.batch_tree(batch.id)
    proof = tree.proof(tree.values.index(stored.document_root))
    args: list[Any] = [stored.document_root, batch.root, proof]
    if action != "reinstate":
        args.append(reason)
    return status_function(action, batch.suite), args
