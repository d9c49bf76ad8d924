"""Salting, hashing and signing a validated certificate: what makes it verifiable.

    validated Certificate -> document JSON -> one fresh 128-bit salt per field
    (common.document.salt_fields) -> field leaves -> document root -> EIP-712 signature of
    the department's key over the root (domain: chain id + AnchorLedger address)

The format is entirely `common.document` / `common.eip712` (shared with the verifier); this
module only binds it to one department's key. The key is parsed once into a coincurve
`PrivateKey` (parsing per signature costs three times the signature itself), and the
signature is byte-identical to `common.eip712.sign_document_root` (RFC 6979, low s).
"""

from __future__ import annotations

from dataclasses import dataclass

from coincurve import PrivateKey
from sha3 import keccak_256

from common.document import SaltedField, document_root, salt_fields
from common.eip712 import Domain, document_digest, to_checksum_address
from issuers.errors import IssuerMismatch
from issuers.model import Certificate

__all__ = ["SealedCertificate", "Sealer"]


@dataclass(frozen=True, slots=True)
class SealedCertificate:
    """A certificate with its salted fields, document root and issuer signature (r || s || v)."""

    certificate: Certificate
    fields: tuple[SaltedField, ...]
    document_root: bytes
    signature: bytes


class Sealer:
    """Seals certificates for one signing key in one deployment's EIP-712 domain."""

    __slots__ = ("_key", "address", "domain")

    def __init__(self, private_key: bytes, domain: Domain) -> None:
        if type(private_key) is not bytes or len(private_key) != 32:
            raise ValueError("a signing key must be 32 bytes")
        self._key = PrivateKey(private_key)
        self.domain = domain
        public = self._key.public_key.format(compressed=False)
        #: EIP-55 address of the signing key: must equal the document's issuer.signingAddress.
        self.address: str = to_checksum_address(keccak_256(public[1:]).digest()[12:])

    def __repr__(self) -> str:  # never show the key
        return f"Sealer({self.address}, chain {self.domain.chain_id})"

    def sign(self, root: bytes) -> bytes:
        """The 65-byte EIP-712 signature over a document root."""
        signature = self._key.sign_recoverable(document_digest(self.domain, root), hasher=None)
        return signature[:64] + bytes((signature[64] + 27,))

    def seal(self, certificate: Certificate) -> SealedCertificate:
        """Salt every field, compute the document root and sign it.

        Raises IssuerMismatch if the certificate names another signing key: a verifier would
        find the signature did not match the document and reject it.
        """
        if certificate.issuer.signing_address != self.address:
            raise IssuerMismatch(
                f"证照中的颁发机构签名地址与本部门签名密钥（{self.address}）不一致",
                f"issuer.signingAddress is not this service's key {self.address}",
            )
        fields = tuple(salt_fields(certificate.to_document()))
        root = document_root(fields)
        return SealedCertificate(certificate, fields, root, self.sign(root))
