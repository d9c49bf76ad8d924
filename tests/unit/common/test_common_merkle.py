"""common.merkle: OpenZeppelin StandardMerkleTree semantics for bytes32 values.

Cross-checks against the JS library itself live in test_merkle_openzeppelin.py; these are the
properties and edge cases.
"""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from common.hashing import keccak
from common.merkle import (
    MultiProof,
    StandardMerkleTree,
    hash_pair,
    standard_leaf,
    verify_multiproof,
    verify_proof,
)

bytes32 = st.binary(min_size=32, max_size=32)
value_lists = st.lists(bytes32, min_size=1, max_size=40)
unique_value_lists = st.lists(bytes32, min_size=1, max_size=40, unique=True)


def _values(n: int) -> list[bytes]:
    return [keccak(i.to_bytes(4, "big")) for i in range(n)]


Case = tuple[list[bytes], list[int]]


@st.composite
def tree_and_subset(draw: st.DrawFn, values: st.SearchStrategy[list[bytes]] = unique_value_lists) -> Case:
    vals = draw(values)
    subset = draw(st.lists(st.integers(0, len(vals) - 1), unique=True))
    return vals, subset


def _flip(b: bytes, position: int) -> bytes:
    return b[:position] + bytes((b[position] ^ 0x01,)) + b[position + 1 :]


# --------------------------------------------------------------------------- hashing rules


def test_standard_leaf_is_double_keccak_of_the_value() -> None:
    value = bytes(range(32))
    assert standard_leaf(value) == keccak(keccak(value))


def test_hash_pair_is_commutative_over_the_sorted_pair() -> None:
    a, b = _values(2)
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(min(a, b) + max(a, b))


def test_single_value_tree_root_is_its_leaf_hash() -> None:
    (value,) = _values(1)
    tree = StandardMerkleTree.of([value])
    assert tree.root == standard_leaf(value)
    assert tree.proof(0) == []


def test_two_value_tree_root_hashes_both_leaves() -> None:
    a, b = _values(2)
    assert StandardMerkleTree.of([a, b]).root == hash_pair(standard_leaf(a), standard_leaf(b))


@given(unique_value_lists, st.randoms(use_true_random=False))
def test_root_does_not_depend_on_value_order(values: list[bytes], rng: random.Random) -> None:
    shuffled = list(values)
    rng.shuffle(shuffled)
    assert StandardMerkleTree.of(shuffled).root == StandardMerkleTree.of(values).root


# --------------------------------------------------------------------------- single proofs


@given(value_lists)
def test_every_proof_verifies(values: list[bytes]) -> None:
    tree = StandardMerkleTree.of(values)
    for i, value in enumerate(values):
        assert verify_proof(tree.root, value, tree.proof(i))


@given(unique_value_lists, bytes32, st.data())
def test_proof_fails_for_a_changed_value(values: list[bytes], other: bytes, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(values) - 1))
    assume(other != values[i])
    tree = StandardMerkleTree.of(values)
    assert not verify_proof(tree.root, other, tree.proof(i))


@given(unique_value_lists.filter(lambda v: len(v) > 1), st.data())
def test_proof_fails_for_a_changed_proof_element(values: list[bytes], data: st.DataObject) -> None:
    tree = StandardMerkleTree.of(values)
    i = data.draw(st.integers(0, len(values) - 1))
    proof = tree.proof(i)
    k = data.draw(st.integers(0, len(proof) - 1))
    proof[k] = _flip(proof[k], data.draw(st.integers(0, 31)))
    assert not verify_proof(tree.root, values[i], proof)


def test_proof_fails_against_another_root() -> None:
    values = _values(5)
    tree = StandardMerkleTree.of(values)
    assert not verify_proof(StandardMerkleTree.of(values[:4]).root, values[0], tree.proof(0))


@pytest.mark.parametrize(
    ("root", "value", "proof"),
    [
        (b"\x00" * 31, b"\x00" * 32, []),
        (b"\x00" * 32, b"\x00" * 33, []),
        (b"\x00" * 32, "00" * 32, []),
        (b"\x00" * 32, b"\x00" * 32, [b"\x00" * 31]),
        (b"\x00" * 32, b"\x00" * 32, None),
        (None, b"\x00" * 32, []),
    ],
)
def test_verify_proof_returns_false_for_malformed_input(root: object, value: object, proof: object) -> None:
    assert verify_proof(root, value, proof) is False


# --------------------------------------------------------------------------- multiproofs


@given(tree_and_subset(value_lists))
def test_every_multiproof_over_any_subset_verifies(case: Case) -> None:
    values, subset = case
    tree = StandardMerkleTree.of(values)
    mp = tree.multiproof(subset)
    assert sorted(mp.leaves) == sorted(values[i] for i in subset)
    assert verify_multiproof(tree.root, mp.leaves, mp.proof, mp.flags)


@given(tree_and_subset(), bytes32, st.data())
def test_multiproof_fails_for_a_changed_leaf(case: Case, other: bytes, data: st.DataObject) -> None:
    values, subset = case
    assume(subset and other not in values)
    tree = StandardMerkleTree.of(values)
    mp = tree.multiproof(subset)
    leaves = list(mp.leaves)
    leaves[data.draw(st.integers(0, len(leaves) - 1))] = other
    assert not verify_multiproof(tree.root, leaves, mp.proof, mp.flags)


@given(tree_and_subset(), st.data())
def test_multiproof_fails_for_a_changed_proof_element(case: Case, data: st.DataObject) -> None:
    values, subset = case
    tree = StandardMerkleTree.of(values)
    mp = tree.multiproof(subset)
    assume(mp.proof)
    proof = list(mp.proof)
    k = data.draw(st.integers(0, len(proof) - 1))
    proof[k] = _flip(proof[k], data.draw(st.integers(0, 31)))
    assert not verify_multiproof(tree.root, mp.leaves, proof, mp.flags)


@given(tree_and_subset(), st.data())
def test_multiproof_fails_for_a_flipped_flag(case: Case, data: st.DataObject) -> None:
    values, subset = case
    tree = StandardMerkleTree.of(values)
    mp = tree.multiproof(subset)
    assume(mp.flags)
    flags = list(mp.flags)
    k = data.draw(st.integers(0, len(flags) - 1))
    flags[k] = not flags[k]
    assert not verify_multiproof(tree.root, mp.leaves, mp.proof, flags)


def test_multiproof_leaves_come_in_descending_tree_order() -> None:
    values = _values(7)
    tree = StandardMerkleTree.of(values)
    mp = tree.multiproof([0, 3, 6])
    tree_positions = [tree.dump()["values"][tree.index_of(v)]["treeIndex"] for v in mp.leaves]
    assert tree_positions == sorted(tree_positions, reverse=True)


def test_multiproof_of_all_values_needs_no_proof_elements() -> None:
    values = _values(6)
    mp = StandardMerkleTree.of(values).multiproof(range(6))
    assert mp.proof == [] and all(mp.flags) and len(mp.flags) == 5


def test_empty_multiproof_is_ozs_root_only_proof() -> None:
    tree = StandardMerkleTree.of(_values(4))
    assert tree.multiproof([]) == MultiProof(leaves=[], proof=[tree.root], flags=[])
    assert verify_multiproof(tree.root, [], [tree.root], [])


def test_multiproof_refuses_a_duplicated_index() -> None:
    with pytest.raises(ValueError, match="duplicated"):
        StandardMerkleTree.of(_values(4)).multiproof([1, 1])


def test_multiproof_with_an_extra_proof_element_fails() -> None:
    tree = StandardMerkleTree.of(_values(4))
    mp = tree.multiproof([0])
    assert not verify_multiproof(tree.root, mp.leaves, [*mp.proof, tree.root], mp.flags)


_R = b"\x11" * 32
_V = b"\x22" * 32


@pytest.mark.parametrize(
    ("root", "leaves", "proof", "flags"),
    [
        (_R, [_V], [], [True]),  # leaves + proof != flags + 1
        (_R, [_V, _V], [_V], [True, True]),  # consumes a hash that was never produced
        (_R, [_V], [_V, _V], [False, False, True]),  # inconsistent counts
        (_R, [_V], [_V], [1]),  # flag not a bool
        (_R, [_V[:31]], [], []),  # short leaf
        (_R, [_V], [_V[:31]], [False]),  # short proof element
        (_R[:31], [_V], [], []),  # short root
        (_R, None, [], []),  # not a sequence
        (_R, [], [], []),  # nothing at all
    ],
)
def test_verify_multiproof_returns_false_for_malformed_input(
    root: object, leaves: object, proof: object, flags: object
) -> None:
    assert verify_multiproof(root, leaves, proof, flags) is False


# --------------------------------------------------------------------------- API edges


def test_index_of_returns_the_original_position() -> None:
    values = _values(9)
    tree = StandardMerkleTree.of(values)
    assert [tree.index_of(v) for v in values] == list(range(9))


def test_index_of_a_duplicated_value_is_the_last_position_as_in_oz() -> None:
    a, b = _values(2)
    assert StandardMerkleTree.of([a, b, a]).index_of(a) == 2


def test_index_of_an_absent_value_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not in the tree"):
        StandardMerkleTree.of(_values(3)).index_of(b"\x00" * 32)


def test_proof_index_out_of_range_raises_index_error() -> None:
    with pytest.raises(IndexError):
        StandardMerkleTree.of(_values(3)).proof(3)


def test_negative_proof_index_raises_index_error() -> None:
    with pytest.raises(IndexError):
        StandardMerkleTree.of(_values(3)).proof(-1)


def test_empty_tree_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        StandardMerkleTree.of([])


@pytest.mark.parametrize("bad", [b"\x00" * 31, b"\x00" * 33, "00" * 32, bytearray(32)], ids=repr)
def test_non_bytes32_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="length 32"):
        StandardMerkleTree.of([b"\x00" * 32, bad])  # type: ignore[list-item]


def test_values_keep_their_original_order() -> None:
    values = _values(5)
    tree = StandardMerkleTree.of(values)
    assert tree.values == tuple(values) and len(tree) == 5


def test_leaf_hash_is_the_standard_leaf_of_the_value() -> None:
    values = _values(5)
    assert StandardMerkleTree.of(values).leaf_hash(3) == standard_leaf(values[3])


def test_building_a_tree_grows_linearly_with_its_leaves() -> None:
    """Ten times the leaves cost about ten times the work (a quadratic build would cost 100x).

    A ratio of CPU times on one machine, not a time limit: absolute speed is for bench/.
    """
    def cpu_time(n: int) -> float:
        values = _values(n)
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            StandardMerkleTree.of(values)
            best = min(best, time.process_time() - started)
        return best

    assert cpu_time(20_000) / cpu_time(2_000) < 30
