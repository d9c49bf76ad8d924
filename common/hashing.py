"""Keccak-256, the one hash function every Huren format is built on.

Ethereum's keccak256 (the pre-standard Keccak padding, *not* FIPS-202 SHA3-256) is what the
contracts, OpenZeppelin's Merkle library and EIP-712 use, so every off-chain hash must be the
same function. We call safe-pysha3's C implementation directly: a verification does dozens of
hashes, and pysha3 is about 8x faster than eth-hash's default pycryptodome backend and about
2.5x faster than going through eth-hash's pysha3 backend (see /work/shared/TOOLCHAIN.md).
"""

from __future__ import annotations

from sha3 import keccak_256

__all__ = ["EMPTY_KECCAK", "keccak"]


def keccak(data: bytes) -> bytes:
    """Return the 32-byte Ethereum keccak256 digest of `data`.

    Accepts any bytes-like object (bytes, bytearray, memoryview), as the C backend does.
    """
    return keccak_256(data).digest()


#: keccak256 of the empty string; handy as a sanity check that the right Keccak variant is used.
EMPTY_KECCAK: bytes = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
