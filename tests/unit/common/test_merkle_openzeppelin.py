"""Cross-check common.merkle against OpenZeppelin's own JS library (@openzeppelin/merkle-tree).

oz_tree.js builds `StandardMerkleTree.of(values, ['bytes32'])` and prints root, every proof,
a multiproof and the standard-v1 dump; the Python tree must produce the same bytes, so proofs
made here verify in OZ's JS and Solidity code and vice versa.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.hashing import keccak
from common.merkle import StandardMerkleTree, verify_multiproof

SCRIPT = Path(__file__).with_name("oz_tree.js")
OZ_PACKAGE = Path(__file__).parents[3] / "node_modules" / "@openzeppelin" / "merkle-tree"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not OZ_PACKAGE.is_dir(),
    reason="needs node and node_modules/@openzeppelin/merkle-tree (run `make setup`)",
)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _run_oz(cases: list[tuple[list[bytes], list[int]]], tmp_path: Path) -> list[dict[str, Any]]:
    """Run oz_tree.js once for all cases and return its parsed output."""
    path = tmp_path / "cases.json"
    path.write_text(
        json.dumps([{"values": [_hex(v) for v in vals], "multiproof": idx} for vals, idx in cases])
    )
    done = subprocess.run(
        ["node", str(SCRIPT), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _python_view(values: list[bytes], indices: list[int]) -> dict[str, Any]:
    """The Python tree's answers in the JS script's output shape."""
    tree = StandardMerkleTree.of(values)
    mp = tree.multiproof(indices)
    return {
        "root": _hex(tree.root),
        "proofs": [[_hex(p) for p in tree.proof(i)] for i in range(len(values))],
        "multiproof": {
            "leaves": [_hex(v) for v in mp.leaves],
            "proof": [_hex(p) for p in mp.proof],
            "proofFlags": mp.flags,
        },
        "dump": tree.dump(),
    }


def _values(n: int, seed: int = 0) -> list[bytes]:
    return [keccak(seed.to_bytes(4, "big") + i.to_bytes(4, "big")) for i in range(n)]


FIXED_CASES: list[tuple[list[bytes], list[int]]] = [
    (_values(1), [0]),
    (_values(1), []),
    (_values(2), [1]),
    (_values(2), [0, 1]),
    (_values(3), [0, 2]),
    (_values(7), [6, 0, 3]),
    (_values(7), []),
    (_values(7), list(range(7))),
    (_values(100), [0, 1, 2, 50, 98, 99]),
    (_values(100), list(range(0, 100, 3))),
    # duplicate values and small ints, which OZ accepts: same layout and lookups expected
    ([b"\x00" * 31 + b"\x01", b"\x00" * 31 + b"\x02", b"\x00" * 31 + b"\x01"], [0, 1]),
    ([b"\x00" * 32] * 4, [3]),
]


@pytest.fixture(scope="module")
def oz_fixed(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """OZ's answers for all FIXED_CASES, from one node run."""
    return _run_oz(FIXED_CASES, tmp_path_factory.mktemp("oz"))


@pytest.mark.parametrize("position", range(len(FIXED_CASES)))
def test_python_tree_matches_openzeppelin_for_fixed_cases(
    position: int, oz_fixed: list[dict[str, Any]]
) -> None:
    values, indices = FIXED_CASES[position]
    assert _python_view(values, indices) == oz_fixed[position]


@st.composite
def _case(draw: st.DrawFn) -> tuple[list[bytes], list[int]]:
    values = draw(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=60))
    indices = draw(st.lists(st.integers(0, len(values) - 1), unique=True))
    return values, indices


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_case())
def test_python_tree_matches_openzeppelin_for_generated_cases(
    case: tuple[list[bytes], list[int]], tmp_path: Path
) -> None:
    (expected,) = _run_oz([case], tmp_path)
    assert _python_view(*case) == expected


def test_openzeppelin_multiproof_verifies_in_python(tmp_path: Path) -> None:
    values = _values(100, seed=7)
    (oz,) = _run_oz([(values, [5, 17, 42, 99])], tmp_path)
    mp = oz["multiproof"]
    assert verify_multiproof(
        bytes.fromhex(oz["root"][2:]),
        [bytes.fromhex(v[2:]) for v in mp["leaves"]],
        [bytes.fromhex(p[2:]) for p in mp["proof"]],
        mp["proofFlags"],
    )
