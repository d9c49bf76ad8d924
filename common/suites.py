"""Crypto suites: which hash and which signatures a document, a code and a stamp use (issue 17).

A deployment chooses its suite; every code says its suite (HR2 item 0), and a verifier accepts
both, per its policy. The chain itself stays keccak-256 / secp256k1 in both (a stock EVM has no
国密 precompiles): only what Huren hashes, signs and encrypts off chain changes.

* Suite 1 (international): keccak-256 for field leaves, document and batch trees; secp256k1
  EIP-712 issuer signatures (the signer's key is recovered from the signature); Ed25519 stamps.
* Suite 2 (国密): SM3 for field leaves, document and batch trees and the stamp's inner digests;
  SM2 issuer signatures and stamps (GB/T 32918, signer ID 1234567812345678). An SM2 key cannot be
  recovered from a signature, so a suite-2 code carries the signing key's id: the 20-byte
  address the issuer registry derives from the SM2 public key (`sm2_key_id`).

Holder signatures stay secp256k1 in both suites: they are made on the citizen's own device
with the wallet's key (where a device can make SM2 signatures, a later step can add them).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Final

from sha3 import keccak_256

from common.gm import sm2_normalize_public_key, sm3

__all__ = [
    "SM2_DOCUMENT_TAG",
    "SM2_ISSUER_SIGNATURE_BYTES",
    "SM2_KEY_ID_BYTES",
    "Digest",
    "Suite",
    "digest_of",
    "keccak256",
    "sm2_document_message",
    "sm2_key_id",
    "split_sm2_issuer_signature",
]

#: A 32-byte hash function over bytes.
Digest = Callable[[bytes], bytes]


class Suite(IntEnum):
    """The crypto suite number as codes, stamps and the node registry carry it."""

    INTERNATIONAL = 1
    GUOMI = 2

    @property
    def label(self) -> str:
        return "国际算法（keccak-256 / secp256k1）" if self is Suite.INTERNATIONAL else "国密（SM2 / SM3）"


def keccak256(data: bytes) -> bytes:
    return keccak_256(data).digest()


_DIGESTS: Final[dict[int, Digest]] = {Suite.INTERNATIONAL: keccak256, Suite.GUOMI: sm3}


def digest_of(suite: int) -> Digest:
    """The suite's hash for leaves and trees; ValueError for a suite number nobody defined."""
    try:
        return _DIGESTS[suite]
    except (KeyError, TypeError):
        raise ValueError(f"unknown crypto suite {suite!r:.20}") from None


#: Suite 2's issuer signature as a code carries it: the SM2 key's registry id, then r || s.
SM2_KEY_ID_BYTES: Final[int] = 20
SM2_ISSUER_SIGNATURE_BYTES: Final[int] = SM2_KEY_ID_BYTES + 64


def split_sm2_issuer_signature(signature: object) -> tuple[bytes, bytes] | None:
    """(key id, r || s) of a suite-2 issuer signature, or None when it is not one by its length."""
    if type(signature) is not bytes or len(signature) != SM2_ISSUER_SIGNATURE_BYTES:
        return None
    return signature[:SM2_KEY_ID_BYTES], signature[SM2_KEY_ID_BYTES:]


#: What an issuer's SM2 signature signs, before the document root: a tag, then the deployment's
#: EIP-712 domain separator (the same deployment binding as suite 1's typed-data signature).
SM2_DOCUMENT_TAG: Final[bytes] = b"huren-document/2"


def sm2_document_message(domain_separator: bytes, document_root: bytes) -> bytes:
    """The 80 bytes an issuer signs with SM2 in suite 2: tag || domain separator || document root."""
    if len(domain_separator) != 32 or len(document_root) != 32:
        raise ValueError("the domain separator and the document root are 32 bytes each")
    return SM2_DOCUMENT_TAG + domain_separator + document_root


def sm2_key_id(public_key: bytes) -> bytes:
    """The issuer registry's id of an SM2 key: keccak256(x || y)[12:], as IssuerRegistry.addSM2Key
    computes it — the same derivation as an Ethereum address, so the registry keeps one key table.
    No secp256k1 private key is known for such an address, so an SM2 key id can never send a
    transaction (anchoring stays with the department's transaction key)."""
    return keccak_256(sm2_normalize_public_key(public_key)[1:]).digest()[12:]
