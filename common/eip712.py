"""EIP-712 issuer signatures over document roots.

Every document root is signed by the issuing department's key as typed data

    domain  EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
            name "Huren", version "1", chainId, verifyingContract = the AnchorLedger address
    message CertificateRoot(bytes32 documentRoot)

so a certificate can be checked offline against a trust-list snapshot (trust model rule 5),
the signature cannot be replayed on another chain or ledger deployment, and wallets that speak
EIP-712 show the signer what they sign. The digest is assembled by hand (it is three keccaks
over fixed-layout bytes) and signatures are made and recovered with coincurve (libsecp256k1)
directly: the generic eth_account path costs several times more per verification. A test
cross-checks both against eth_account's `encode_typed_data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final

from sha3 import keccak_256

from common.ecdsa import SECP256K1_N, recover_digest, sign_digest, to_checksum_address

__all__ = [
    "CERTIFICATE_ROOT_TYPEHASH",
    "DOMAIN_NAME",
    "DOMAIN_TYPEHASH",
    "DOMAIN_VERSION",
    "SECP256K1_N",
    "Domain",
    "document_digest",
    "recover_signer",
    "sign_document_root",
    "to_checksum_address",
]

DOMAIN_NAME: Final[str] = "Huren"
DOMAIN_VERSION: Final[str] = "1"

DOMAIN_TYPEHASH: Final[bytes] = keccak_256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
).digest()
CERTIFICATE_ROOT_TYPEHASH: Final[bytes] = keccak_256(b"CertificateRoot(bytes32 documentRoot)").digest()



@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of one ledger deployment: chain id and AnchorLedger address.

    The address is normalised to its EIP-55 checksum form; a mixed-case address with a wrong
    checksum is refused (it is most likely a typo), as web3 does.
    """

    chain_id: int
    verifying_contract: str

    def __post_init__(self) -> None:
        if type(self.chain_id) is not int or not 0 <= self.chain_id < 2**256:
            raise ValueError(f"chain_id must be an int in [0, 2**256), got {self.chain_id!r}")
        address = self.verifying_contract
        if not isinstance(address, str):
            raise ValueError(f"verifying_contract must be a hex address str, got {address!r}")
        checksummed = to_checksum_address(address)
        body = address[2:] if address[:2] in ("0x", "0X") else address
        if body not in (body.lower(), body.upper()) and "0x" + body != checksummed:
            raise ValueError(f"verifying_contract {address!r} has an invalid EIP-55 checksum")
        object.__setattr__(self, "verifying_contract", checksummed)

    @cached_property
    def separator(self) -> bytes:
        """The EIP-712 domain separator (hashStruct of the domain), computed once per Domain."""
        return keccak_256(
            DOMAIN_TYPEHASH
            + keccak_256(DOMAIN_NAME.encode()).digest()
            + keccak_256(DOMAIN_VERSION.encode()).digest()
            + self.chain_id.to_bytes(32, "big")
            + bytes(12)
            + bytes.fromhex(self.verifying_contract[2:])
        ).digest()


def document_digest(domain: Domain, document_root: bytes) -> bytes:
    """keccak256(0x1901 || domainSeparator || hashStruct(CertificateRoot(documentRoot))).

    ValueError if the root is not 32 bytes.
    """
    if type(document_root) is not bytes or len(document_root) != 32:
        raise ValueError(f"a document root must be 32 bytes, got {document_root!r:.80}")
    struct_hash = keccak_256(CERTIFICATE_ROOT_TYPEHASH + document_root).digest()
    return keccak_256(b"\x19\x01" + domain.separator + struct_hash).digest()


def sign_document_root(private_key: bytes, domain: Domain, document_root: bytes) -> bytes:
    """The issuer's 65-byte signature r || s || v (v in {27, 28}, low s) over a document root.

    Deterministic (RFC 6979), byte-identical to eth_account's `sign_message` on the same typed
    data. ValueError for a private key that is not 32 bytes or not a valid scalar.
    """
    return sign_digest(private_key, document_digest(domain, document_root))


def recover_signer(domain: Domain, document_root: bytes, signature: bytes) -> str | None:
    """The checksummed address that signed `document_root` in `domain`, or None.

    None (never an exception) for anything that is not a canonical valid signature: wrong
    length or types, v not 27/28, r or s zero or out of range, high s, or no recoverable key.
    Note a well-formed signature over a *different* root recovers *some* address: callers
    must compare the result with the issuer's registered key.
    """
    if type(document_root) is not bytes or len(document_root) != 32:
        return None
    return recover_digest(document_digest(domain, document_root), signature)
