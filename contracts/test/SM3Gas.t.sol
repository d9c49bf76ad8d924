// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {Vm} from "./utils/Vm.sol";
import {SM3} from "../lib/SM3.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/**
 * @notice What a revocation's inclusion check would cost: the calls AnchorLedger makes with keccak
 * today (StandardMerkleTree leaf, then OZ MerkleProof.verifyCalldata) and the same with SM3 (leaf
 * SM3(SM3(abi.encode(certHash))), sorted-pair SM3 nodes through OZ's custom-hasher verifyCalldata).
 */
contract MerkleCheck {
    function keccakHashPair(bytes32 a, bytes32 b) external pure returns (bytes32) {
        return Hashes.commutativeKeccak256(a, b);
    }

    function sm3HashPair(bytes32 a, bytes32 b) external pure returns (bytes32) {
        return SM3.hashPair(a, b);
    }

    function keccakVerify(bytes32 certHash, bytes32 root, bytes32[] calldata proof) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, keccakLeaf(certHash));
    }

    function sm3Verify(bytes32 certHash, bytes32 root, bytes32[] calldata proof) external view returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, sm3Leaf(certHash), SM3.hashPair);
    }

    function keccakLeaf(bytes32 certHash) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(certHash))));
    }

    function sm3Leaf(bytes32 certHash) public pure returns (bytes32) {
        return SM3.hash(bytes.concat(SM3.hash(abi.encode(certHash))));
    }
}

/**
 * @notice Gas of one inclusion check, SM3 beside keccak, for a 1,024-certificate batch (depth 10)
 * and a 1,048,576-certificate batch (depth 20). Each figure is the callee's execution gas
 * (`vm.lastCallGas().gasTotalUsed`) of one external call, calldata decoding included, intrinsic
 * transaction cost excluded. Read them with `forge test --match-contract SM3GasTest -vv`.
 */
contract SM3GasTest is Test {
    MerkleCheck internal check;

    function setUp() public {
        check = new MerkleCheck();
    }

    function _siblings(uint256 depth, bytes32 salt) internal pure returns (bytes32[] memory proof) {
        proof = new bytes32[](depth);
        for (uint256 i = 0; i < depth; ++i) {
            proof[i] = keccak256(abi.encode(salt, i));
        }
    }

    function _callGas() internal view returns (uint256) {
        return vm.lastCallGas().gasTotalUsed;
    }

    function _measureProof(uint256 depth, bool sm3) internal view returns (uint256 gas) {
        bytes32 certHash = keccak256(abi.encode("certificate", depth));
        bytes32[] memory proof = _siblings(depth, keccak256(abi.encode("batch", depth)));
        bytes32 node = sm3 ? check.sm3Leaf(certHash) : check.keccakLeaf(certHash);
        for (uint256 i = 0; i < depth; ++i) {
            node = sm3 ? SM3.hashPair(node, proof[i]) : Hashes.commutativeKeccak256(node, proof[i]);
        }
        bool ok = sm3 ? check.sm3Verify(certHash, node, proof) : check.keccakVerify(certHash, node, proof);
        gas = _callGas();
        assertTrue(ok, "the proof of the certificate must verify");
        // the same proof must not show another certificate in the batch
        bytes32 other = keccak256("another certificate");
        assertFalse(sm3 ? check.sm3Verify(other, node, proof) : check.keccakVerify(other, node, proof));
    }

    function _pair() internal pure returns (bytes32 x, bytes32 y, bytes32 lo, bytes32 hi) {
        x = keccak256("a");
        y = keccak256("b");
        (lo, hi) = x < y ? (x, y) : (y, x);
    }

    function test_gas_hashPair_keccak() public {
        (bytes32 x, bytes32 y, bytes32 lo, bytes32 hi) = _pair();
        bytes32 r = check.keccakHashPair(y, x);
        emit log_named_uint("hashPair keccak: call gas", _callGas());
        assertEq(r, keccak256(abi.encode(lo, hi)));
    }

    function test_gas_hashPair_sm3() public {
        (bytes32 x, bytes32 y, bytes32 lo, bytes32 hi) = _pair();
        bytes32 r = check.sm3HashPair(y, x);
        emit log_named_uint("hashPair SM3: call gas", _callGas());
        assertEq(r, SM3.hash(abi.encodePacked(lo, hi)));
    }

    function test_gas_leaf_keccak() public {
        bytes32 r = check.keccakLeaf(keccak256("certificate"));
        emit log_named_uint("leaf H(H(certHash)), keccak: call gas", _callGas());
        assertEq(r, keccak256(bytes.concat(keccak256(abi.encode(keccak256("certificate"))))));
    }

    function test_gas_leaf_sm3() public {
        bytes32 r = check.sm3Leaf(keccak256("certificate"));
        emit log_named_uint("leaf H(H(certHash)), SM3: call gas", _callGas());
        assertEq(r, SM3.hash(bytes.concat(SM3.hash(abi.encode(keccak256("certificate"))))));
    }

    function test_gas_proofDepth10_keccak() public {
        emit log_named_uint("verify depth-10 proof (1,024 certificates), keccak: call gas", _measureProof(10, false));
    }

    function test_gas_proofDepth10_sm3() public {
        emit log_named_uint("verify depth-10 proof (1,024 certificates), SM3: call gas", _measureProof(10, true));
    }

    function test_gas_proofDepth20_keccak() public {
        emit log_named_uint(
            "verify depth-20 proof (1,048,576 certificates), keccak: call gas", _measureProof(20, false)
        );
    }

    function test_gas_proofDepth20_sm3() public {
        emit log_named_uint("verify depth-20 proof (1,048,576 certificates), SM3: call gas", _measureProof(20, true));
    }
}
