// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
contract SmokeTest {
    function testFuzzX(uint256 a) public pure { require(a + 0 == a); bytes32[] memory p; MerkleProof.verify(p, bytes32(0), bytes32(0)); }
}
