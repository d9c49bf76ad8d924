"""OpenZeppelin-compatible Merkle trees over bytes32 values.

Both Huren trees hold bytes32 values: a document tree over salted field leaves and a batch
tree over document roots. A batch root is anchored on chain and checked there by
OpenZeppelin's `MerkleProof`, and proofs may be checked by third parties with OpenZeppelin's
JS `@openzeppelin/merkle-tree`. So this module reproduces `StandardMerkleTree.of(values,
['bytes32'])` from @openzeppelin/merkle-tree v1 *exactly* (checked against the JS library in
tests/unit/common/test_merkle_openzeppelin.py):

* leaf hash  = keccak256(keccak256(abi.encode(value))); for a bytes32, abi.encode is the value
  itself. Double hashing means a 64-byte internal node can never pass as a leaf (second
  preimage attack on Merkle proofs).
* node hash  = keccak256(min(a, b) || max(a, b)) ("sorted pairs"), so proofs need no
  left/right bits, as `MerkleProof` expects.
* layout     = leaves sorted by leaf hash (ties keep input order), stored as a complete binary
  tree in an array of 2n-1 nodes, node i having children 2i+1 and 2i+2, the k-th sorted leaf
  at index len-1-k (leaves at the end, in reverse order).
* multiproofs follow `getMultiProof` (tree indices processed in descending order), and
  verification follows Solidity's `MerkleProof.multiProofVerify`, including its rejections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common.suites import Digest, keccak256

__all__ = [
    "MultiProof",
    "StandardMerkleTree",
    "hash_pair",
    "process_multiproof",
    "process_proof",
    "standard_leaf",
    "verify_multiproof",
    "verify_proof",
]


def _is_bytes32(value: object) -> bool:
    return type(value) is bytes and len(value) == 32


def _require_bytes32(value: object, what: str) -> bytes:
    if not _is_bytes32(value):
        raise ValueError(f"{what} must be bytes of length 32, got {type(value).__name__} {value!r:.80}")
    return value  # type: ignore[return-value]


def standard_leaf(value: bytes, h: Digest = keccak256) -> bytes:
    """Leaf hash of a bytes32 value: keccak256(keccak256(abi.encode(bytes32))) as in OZ (`h` twice)."""
    _require_bytes32(value, "a Merkle leaf value")
    return h(h(value))


def hash_pair(a: bytes, b: bytes, h: Digest = keccak256) -> bytes:
    """OpenZeppelin's commutative node hash: keccak256 (`h`) of the two children in ascending order."""
    return h(a + b if a < b else b + a)


@dataclass(frozen=True)
class MultiProof:
    """A proof that several values are in one tree, in OZ's `{leaves, proof, proofFlags}` shape.

    `leaves` are the bytes32 *values* (not leaf hashes), in the order the proof consumes them;
    on chain, pass their leaf hashes to `MerkleProof.multiProofVerify` in this same order.
    """

    leaves: list[bytes]
    proof: list[bytes]
    flags: list[bool]


class StandardMerkleTree:
    """A built tree: the node array plus where each original value sits in it.

    Build with `StandardMerkleTree.of(values)`. Indices given to `proof`, `multiproof` and
    returned by `index_of` are positions in the *original* `values`, as in OZ's JS API.
    """

    __slots__ = ("_h", "_hash_lookup", "_tree", "_tree_index", "_values")

    def __init__(self, tree: list[bytes], values: list[bytes], tree_index: list[int], h: Digest = keccak256) -> None:
        """Low level; use `of`. `tree_index[i]` is the node index of `values[i]`'s leaf."""
        self._h = h
        self._tree = tree
        self._values = values
        self._tree_index = tree_index
        # Like OZ's hashLookup: a leaf hash maps to the *last* value index carrying it.
        self._hash_lookup: dict[bytes, int] = {tree[t]: i for i, t in enumerate(tree_index)}

    @classmethod
    def of(cls, values: Sequence[bytes], h: Digest = keccak256) -> StandardMerkleTree:
        """Build the tree OZ's `StandardMerkleTree.of(values, ['bytes32'])` builds; with `h` = SM3
        the same layout over SM3 (crypto suite 2, common/suites.py)."""
        values = list(values)
        if not values:
            raise ValueError("a Merkle tree needs at least one value")
        for i, value in enumerate(values):
            _require_bytes32(value, f"values[{i}]")
        hashed = sorted(
            ((h(h(v)), i) for i, v in enumerate(values)),
            key=lambda item: item[0],  # stable: equal hashes keep input order, as JS sort does
        )
        n = len(hashed)
        size = 2 * n - 1
        tree: list[bytes] = [b""] * size
        tree_index = [0] * n
        for k, (leaf, value_index) in enumerate(hashed):
            tree[size - 1 - k] = leaf
            tree_index[value_index] = size - 1 - k
        for i in range(size - 1 - n, -1, -1):
            a = tree[2 * i + 1]
            b = tree[2 * i + 2]
            tree[i] = h(a + b if a < b else b + a)
        return cls(tree, values, tree_index, h)

    @property
    def root(self) -> bytes:
        """The Merkle root (what gets anchored or signed)."""
        return self._tree[0]

    @property
    def values(self) -> tuple[bytes, ...]:
        """The values in their original order."""
        return tuple(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def leaf_hash(self, i: int) -> bytes:
        """Leaf hash of original value `i` (what `MerkleProof` on chain takes as `leaf`)."""
        return self._tree[self._tree_index[self._check_index(i)]]

    def index_of(self, value: bytes) -> int:
        """Index of `value` among the original values; the last one for duplicates, as in OZ.

        Raises ValueError if the value is not in the tree.
        """
        index = self._hash_lookup.get(standard_leaf(value, self._h))
        if index is None:
            raise ValueError("value is not in the tree")
        return index

    def proof(self, i: int) -> list[bytes]:
        """Sibling hashes from the leaf of original value `i` up to the root (OZ `getProof`)."""
        node = self._tree_index[self._check_index(i)]
        tree = self._tree
        proof: list[bytes] = []
        while node > 0:
            proof.append(tree[node - 1 if node % 2 == 0 else node + 1])
            node = (node - 1) // 2
        return proof

    def multiproof(self, indices: Sequence[int]) -> MultiProof:
        """One proof for several original values (OZ `getMultiProof`), ready for `verify_multiproof`.

        An empty `indices` gives OZ's degenerate proof `[root]`. Duplicates raise ValueError.
        """
        nodes = sorted((self._tree_index[self._check_index(i)] for i in indices), reverse=True)
        if len(set(nodes)) != len(nodes):
            raise ValueError("cannot prove a duplicated index")
        tree = self._tree
        # A FIFO of node indices, exactly as OZ's `stack` (shift from the front, push at the end).
        queue = list(nodes)
        head = 0
        proof: list[bytes] = []
        flags: list[bool] = []
        while head < len(queue) and queue[head] > 0:
            j = queue[head]
            head += 1
            sibling = j - 1 if j % 2 == 0 else j + 1
            if head < len(queue) and queue[head] == sibling:
                flags.append(True)
                head += 1
            else:
                flags.append(False)
                proof.append(tree[sibling])
            queue.append((j - 1) // 2)
        if not nodes:
            proof.append(tree[0])
        value_at = {t: i for i, t in enumerate(self._tree_index)}
        leaves = [self._values[value_at[t]] for t in nodes]
        return MultiProof(leaves=leaves, proof=proof, flags=flags)

    def dump(self) -> dict[str, Any]:
        """The tree in OZ's `standard-v1` JSON format (hex strings), loadable by the JS library."""
        return {
            "format": "standard-v1",
            "leafEncoding": ["bytes32"],
            "tree": ["0x" + node.hex() for node in self._tree],
            "values": [
                {"value": ["0x" + value.hex()], "treeIndex": t}
                for value, t in zip(self._values, self._tree_index, strict=True)
            ],
        }

    def _check_index(self, i: int) -> int:
        if type(i) is not int or not 0 <= i < len(self._values):
            raise IndexError(f"value index {i!r} out of range for a tree of {len(self._values)} values")
        return i


def verify_proof(root: bytes, value: bytes, proof: Sequence[bytes], h: Digest = keccak256) -> bool:
    """True iff `proof` shows bytes32 `value` is in the tree with `root` (OZ `MerkleProof.verify`).

    Malformed input (wrong types or lengths) gives False, never an exception: callers feed it
    data from presentations and must turn failures into a verdict, not a crash.
    """
    try:
        if not _is_bytes32(root) or not _is_bytes32(value):
            return False
        node = h(h(value))
        for sibling in proof:
            if not _is_bytes32(sibling):
                return False
            node = h(node + sibling if node < sibling else sibling + node)
        return node == root
    except TypeError:  # e.g. proof is not iterable
        return False


def process_proof(value: bytes, proof: Sequence[bytes], h: Digest = keccak256) -> bytes:
    """The root that `proof` leads to from bytes32 `value` (OZ `MerkleProof.processProof`).

    Why it exists: format HR2 does not carry the batch root, the verifier derives it, and the
    anchor lookup then says whether that root was anchored. ValueError for malformed input.
    """
    _require_bytes32(value, "a Merkle leaf value")
    node = h(h(value))
    for sibling in proof:
        _require_bytes32(sibling, "a proof hash")
        node = h(node + sibling if node < sibling else sibling + node)
    return node


def process_multiproof(
    leaves: Sequence[bytes], proof: Sequence[bytes], flags: Sequence[bool], h: Digest = keccak256
) -> bytes:
    """The root a multiproof leads to from bytes32 values `leaves` (OZ `MerkleProof.processMultiProof`).

    `leaves` are values (hashed here with `standard_leaf`), in `MultiProof.leaves` order. As in
    Solidity: leaves + proof must equal flags + 1 and every proof element must be used; where
    Solidity would read an unwritten (zero) hash (more hashes consumed than produced), this
    refuses. Raises ValueError for any malformed or inconsistent multiproof.
    """
    try:
        leaves = list(leaves)
        proof = list(proof)
        flags = list(flags)
    except TypeError:
        raise ValueError("leaves, proof and flags must be sequences") from None
    if not all(_is_bytes32(x) for x in leaves) or not all(_is_bytes32(x) for x in proof):
        raise ValueError("every leaf value and proof hash must be 32 bytes")
    if not all(type(f) is bool for f in flags):
        raise ValueError("proof flags must be bools")
    if len(leaves) + len(proof) != len(flags) + 1:
        raise ValueError("leaves + proof hashes must be one more than the flags")
    queue = [h(h(v)) for v in leaves]
    head = 0
    proof_pos = 0
    for flag in flags:
        if head >= len(queue):
            raise ValueError("the multiproof consumes a hash it has not produced")
        a = queue[head]
        head += 1
        if flag:
            if head >= len(queue):
                raise ValueError("the multiproof consumes a hash it has not produced")
            b = queue[head]
            head += 1
        else:
            if proof_pos >= len(proof):
                raise ValueError("the multiproof needs more proof hashes than it has")
            b = proof[proof_pos]
            proof_pos += 1
        queue.append(h(a + b if a < b else b + a))
    if flags:
        if proof_pos != len(proof):
            raise ValueError("the multiproof leaves proof hashes unused")
        return queue[-1]
    return queue[0] if queue else proof[0]


def verify_multiproof(
    root: bytes, leaves: Sequence[bytes], proof: Sequence[bytes], flags: Sequence[bool], h: Digest = keccak256
) -> bool:
    """True iff the multiproof shows all bytes32 values `leaves` are in the tree with `root`.

    See `process_multiproof` for the rules. Malformed input gives False, never raises.
    """
    if not _is_bytes32(root):
        return False
    try:
        return process_multiproof(leaves, proof, flags, h) == root
    except ValueError:
        return False
