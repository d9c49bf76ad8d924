"""secp256k1 signing and recovery over a ready 32-byte digest (EIP-191 / EIP-712 style).

`common.eip712` signs and recovers issuer signatures over document roots only. The holder's
presentation signature and the snapshot publisher's signature are over other digests, so
they use these two helpers, which apply the same acceptance rules (65 bytes r || s || v,
v in {27, 28}, 0 < r < N, 0 < s <= N/2): exactly one accepted encoding per signature, so a
signature cannot be malleated into a second valid-looking one.
"""

from __future__ import annotations

from typing import Final

from coincurve import PrivateKey, PublicKey
from sha3 import keccak_256

from common.eip712 import to_checksum_address

__all__ = ["address_of", "recover_digest", "recover_digest_raw", "sign_digest"]

_N: Final[int] = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N: Final[int] = _N // 2


def address_of(private_key: bytes) -> str:
    """Checksummed Ethereum address of a 32-byte private key."""
    public = PrivateKey(bytes(private_key)).public_key.format(compressed=False)
    return to_checksum_address(keccak_256(public[1:]).digest()[12:])


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """65-byte r || s || v (v in {27, 28}, low s, RFC 6979 deterministic) over a 32-byte digest."""
    if len(private_key) != 32:
        raise ValueError("a private key must be 32 bytes")
    if type(digest) is not bytes or len(digest) != 32:
        raise ValueError("a digest must be 32 bytes")
    signature = PrivateKey(bytes(private_key)).sign_recoverable(digest, hasher=None)
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
        v = signature[64]
        if v != 27 and v != 28:
            return None
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        if not (0 < r < _N and 0 < s <= _HALF_N):
            return None
        public = PublicKey.from_signature_and_message(signature[:64] + bytes((v - 27,)), digest, hasher=None).format(
            compressed=False
        )
        return keccak_256(public[1:]).digest()[12:]
    except (ValueError, TypeError):
        return None
