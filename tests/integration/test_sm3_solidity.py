"""contracts/lib/SM3.sol agrees with common.gm.sm3 (gmssl-pyx) on random messages, on a real anvil.

Foundry's ffi is off, so the Solidity library cannot call Python from `forge test`; instead a
tiny harness contract exposing `SM3.hash` and `SM3.hashPair` is compiled with the same solc-js
adapter and settings as the production contracts, deployed on anvil, and asked by `eth_call`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import solcx
from hypothesis import example, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.contract import Contract

from common.gm import sm3
from ledger.compile import ROOT, SETTINGS, SOLC_ADAPTER

SM3_PATH = "contracts/lib/SM3.sol"
HARNESS = """// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;
import {SM3} from "contracts/lib/SM3.sol";
contract SM3Harness {
    function hash(bytes calldata m) external pure returns (bytes32) { return SM3.hash(m); }
    function hashPair(bytes32 a, bytes32 b) external pure returns (bytes32) { return SM3.hashPair(a, b); }
}
"""


def _compile_harness() -> tuple[list[dict[str, object]], str]:
    standard_input = {
        "language": "Solidity",
        "sources": {
            SM3_PATH: {"content": (ROOT / SM3_PATH).read_text()},
            "SM3Harness.sol": {"content": HARNESS},
        },
        "settings": SETTINGS,
    }
    out = solcx.compile_standard(
        standard_input, solc_binary=str(SOLC_ADAPTER), base_path=str(ROOT), allow_paths=[str(ROOT)]
    )
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    assert not errors, errors
    c = out["contracts"]["SM3Harness.sol"]["SM3Harness"]
    return c["abi"], c["evm"]["bytecode"]["object"]


@pytest.fixture(scope="module")
def harness(anvil_node) -> Iterator[Contract]:  # type: ignore[no-untyped-def]
    abi, bytecode = _compile_harness()
    w3 = Web3(Web3.HTTPProvider(anvil_node.url))
    deployer = w3.eth.accounts[0]
    tx = w3.eth.contract(abi=abi, bytecode=bytecode).constructor().transact({"from": deployer})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1
    yield w3.eth.contract(address=receipt["contractAddress"], abi=abi)


# Lengths around the padding boundaries: 55 bytes pad into one block, 56 need a second; 64 and
# 119/120 are the same edges one block later.
BOUNDARY_LENGTHS = (0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300)


@pytest.mark.parametrize("length", BOUNDARY_LENGTHS)
def test_solidity_sm3_matches_gmssl_at_padding_boundaries(harness: Contract, length: int) -> None:
    message = bytes((7 * i + length) % 256 for i in range(length))
    assert harness.functions.hash(message).call() == sm3(message)


@settings(max_examples=50)
@given(message=st.binary(min_size=0, max_size=300))
@example(message=b"\xff" * 55)
@example(message=b"\x80" * 56)
@example(message=b"\x00" * 64)
def test_solidity_sm3_matches_gmssl_on_random_messages(harness: Contract, message: bytes) -> None:
    assert harness.functions.hash(message).call() == sm3(message)


@settings(max_examples=50)
@given(a=st.binary(min_size=32, max_size=32), b=st.binary(min_size=32, max_size=32))
def test_solidity_hash_pair_is_gmssl_sm3_of_the_sorted_pair(harness: Contract, a: bytes, b: bytes) -> None:
    lo, hi = sorted((a, b))
    assert harness.functions.hashPair(a, b).call() == sm3(lo + hi)
