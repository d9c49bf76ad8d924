"""common.hashing: keccak must be Ethereum's keccak256, not FIPS-202 SHA3-256."""

from __future__ import annotations

import hashlib

from eth_utils import keccak as eth_keccak
from hypothesis import given
from hypothesis import strategies as st

from common.hashing import EMPTY_KECCAK, keccak


def test_keccak_of_empty_input_is_the_ethereum_constant() -> None:
    assert keccak(b"") == EMPTY_KECCAK


def test_keccak_is_not_fips_sha3() -> None:
    assert keccak(b"huren") != hashlib.sha3_256(b"huren").digest()


@given(st.binary(max_size=300))
def test_keccak_matches_eth_utils(data: bytes) -> None:
    assert keccak(data) == eth_keccak(data)


def test_keccak_returns_32_bytes() -> None:
    digest = keccak(b"x" * 1000)
    assert isinstance(digest, bytes) and len(digest) == 32
