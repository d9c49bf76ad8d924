// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @notice Builds sorted-pair keccak256 Merkle trees (OpenZeppelin MerkleProof compatible) over
 * StandardMerkleTree leaves of bytes32 values, for tests. An odd node at the end of a layer is
 * promoted unchanged to the next layer.
 */
library MerkleBuilder {
    function leaf(bytes32 value) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(value))));
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @return root of the tree over `values`, and the proof of `values[index]`.
    function build(bytes32[] memory values, uint256 index)
        internal
        pure
        returns (bytes32 root, bytes32[] memory proof)
    {
        uint256 n = values.length;
        require(n > 0 && index < n, "MerkleBuilder: bad input");
        bytes32[] memory layer = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            layer[i] = leaf(values[i]);
        }
        bytes32[] memory path = new bytes32[](256);
        uint256 depth;
        uint256 pos = index;
        while (n > 1) {
            uint256 sibling = pos ^ 1;
            if (sibling < n) path[depth++] = layer[sibling];
            uint256 m = (n + 1) / 2;
            for (uint256 i = 0; i < m; ++i) {
                layer[i] = 2 * i + 1 < n ? hashPair(layer[2 * i], layer[2 * i + 1]) : layer[2 * i];
            }
            n = m;
            pos /= 2;
        }
        root = layer[0];
        proof = new bytes32[](depth);
        for (uint256 i = 0; i < depth; ++i) {
            proof[i] = path[i];
        }
    }
}
