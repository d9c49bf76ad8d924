"""secp256k1 signatures over ready 32-byte digests, and EIP-55 addresses.

One set of acceptance rules for every signature Huren checks — issuer signatures over document
roots (common.eip712), holder presentation signatures and snapshot publisher signatures
(verifier/): 65 bytes r || s || v, v in {27, 28}, 0 < r < N, 0 < s <= N/2. Exactly one accepted
encoding per signature, so none can be malleated into a second valid-looking one. coincurve
(libsecp256k1) does the curve work: recovery is the dominant cost of a verification.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from coincurve import PrivateKey, PublicKey
from sha3 import keccak_256

__all__ = ["SECP256K1_N", "address_of", "recover_digest", "recover_digest_raw", "sign_digest",
           "to_checksum_address"]

#: Order of the secp256k1 group. Signatures with s > N/2 are refused (EIP-2 / OZ ECDSA),
#: so each (key, message) has exactly one accepted signature encoding.
SECP256K1_N: Final[int] = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N: Final[int] = SECP256K1_N // 2
_HEX: Final[frozenset[str]] = frozenset("0123456789abcdefABCDEF")


def to_checksum_address(address: bytes | str) -> str:
    """EIP-55 mixed-case form of a 20-byte address (bytes, or a hex string with or without 0x)."""
    if isinstance(address, str):
        hex_part = address[2:] if address[:2] in ("0x", "0X") else address
        if len(hex_part) != 40 or not set(hex_part) <= _HEX:
            raise ValueError(f"not a 20-byte hex address: {address!r}")
        hex_part = hex_part.lower()
    else:
        if len(address) != 20:
            raise ValueError(f"an address is 20 bytes, got {len(address)}")
        hex_part = bytes(address).hex()
    return _checksummed(hex_part)


@lru_cache(maxsize=8192)  # the same issuer keys come back in every verification of their certificates
def _checksummed(hex_part: str) -> str:
    """EIP-55 of 40 lower-case hex digits."""
    digest = keccak_256(hex_part.encode("ascii")).hexdigest()[:40]
    return "0x" + "".join(c.upper() if d in "89abcdef" else c for c, d in zip(hex_part, digest, strict=True))


def address_of(private_key: bytes) -> str:
    """Checksummed Ethereum address of a 32-byte private key."""
    public = PrivateKey(bytes(private_key)).public_key.format(compressed=False)
    return to_checksum_address(keccak_256(public[1:]).digest()[12:])


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """65-byte r || s || v (v in {27, 28}, low s, RFC 6979 deterministic) over a 32-byte digest."""
    if type(private_key) is not bytes or len(private_key) != 32:
        raise ValueError("a private key must be 32 bytes")
    if type(digest) is not bytes or len(digest) != 32:
        raise ValueError("a digest must be 32 bytes")
    signature = PrivateKey(private_key).sign_recoverable(digest, hasher=None)  # r || s || recid
    return signature[:64] + bytes((signature[64] + 27,))


def recover_digest(digest: bytes, signature: object) -> str | None:
    """The checksummed address that signed `digest`, or None for anything not a canonical signature.

    Never raises on malformed input: callers turn None into a verdict.
    """
    raw = recover_digest_raw(digest, signature)
    return None if raw is None else to_checksum_address(raw)


def recover_digest_raw(digest: bytes, signature: object) -> bytes | None:
    """As `recover_digest`, but the 20 address bytes (no checksum: saves a keccak when comparing)."""
    try:
        if type(signature) is not bytes or len(signature) != 65:
            return None
        if type(digest) is not bytes or len(digest) != 32:
            return None
        v = signature[64]
        if v != 27 and v != 28:
            return None
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        if not (0 < r < SECP256K1_N and 0 < s <= _HALF_N):
            return None
        public = PublicKey.from_signature_and_message(signature[:64] + bytes((v - 27,)), digest,
                                                      hasher=None).format(compressed=False)
        return keccak_256(public[1:]).digest()[12:]
    except (ValueError, TypeError, AttributeError):
        return None
