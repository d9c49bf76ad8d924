// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {SM3} from "../lib/SM3.sol";

/**
 * @notice SM3 in Solidity against the standard's vectors (GB/T 32905-2016, appendix A), the empty
 * message, a two-block-padding case, and the sorted-pair node hash. Random messages are compared
 * with common.gm.sm3 on a real anvil in tests/integration/test_sm3_solidity.py (ffi is off here).
 */
contract SM3Test is Test {
    function test_abc_standardVector() public pure {
        assertEq(SM3.hash("abc"), 0x66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0);
    }

    function test_abcdTimes16_standardVector() public pure {
        bytes memory m = "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd";
        assertEq(m.length, 64);
        assertEq(SM3.hash(m), 0xdebe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732);
    }

    function test_emptyMessage() public pure {
        assertEq(SM3.hash(""), 0x1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b);
    }

    /// @dev Bytes 0x00..0x3f; expected digest from gmssl-pyx (common.gm.sm3), agreed by pure-Python gmssl.
    function test_64ByteMessage_matchesGmssl() public pure {
        bytes memory m = new bytes(64);
        for (uint256 i = 0; i < 64; ++i) {
            // i < 64, so the cast is exact
            // forge-lint: disable-next-line(unsafe-typecast)
            m[i] = bytes1(uint8(i));
        }
        assertEq(SM3.hash(m), 0x93566f236d157aae078d1ddb5cebdbba1520b5142e22a8915564345ba2ae1d63);
    }

    function test_hashPair_isSm3OfTheSortedConcatenation() public pure {
        bytes32 lo = bytes32(uint256(0x0001020304050607080910111213141516171819202122232425262728293031));
        bytes32 hi = bytes32(uint256(0x3233343536373839404142434445464748495051525354555657585960616263));
        assertEq(SM3.hashPair(lo, hi), SM3.hash(abi.encodePacked(lo, hi)));
        assertEq(SM3.hashPair(hi, lo), SM3.hash(abi.encodePacked(lo, hi)));
    }

    function test_hashPair_bytes0to63_matchesGmssl() public pure {
        bytes32 x = 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f;
        bytes32 y = 0x202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f;
        assertEq(SM3.hashPair(y, x), 0x93566f236d157aae078d1ddb5cebdbba1520b5142e22a8915564345ba2ae1d63);
    }

    function testFuzz_hashPair_commutative_andEqualsHashOfSortedPair(bytes32 a, bytes32 b) public pure {
        bytes32 expected = a < b ? SM3.hash(abi.encodePacked(a, b)) : SM3.hash(abi.encodePacked(b, a));
        assertEq(SM3.hashPair(a, b), expected);
        assertEq(SM3.hashPair(b, a), expected);
    }

    /// @dev hashPair works in scratch memory above the free memory pointer: live data stays intact
    /// and the pointer is where it was.
    function test_hashPair_leavesMemoryAsItFoundIt() public pure {
        bytes memory live = abi.encodePacked(keccak256("a"), keccak256("b"));
        bytes32 liveHash = keccak256(live);
        uint256 fmpBefore;
        uint256 fmpAfter;
        assembly ("memory-safe") {
            fmpBefore := mload(0x40)
        }
        SM3.hashPair(keccak256("x"), keccak256("y"));
        assembly ("memory-safe") {
            fmpAfter := mload(0x40)
        }
        assertEq(fmpAfter, fmpBefore, "free memory pointer moved");
        assertEq(keccak256(live), liveHash, "live memory overwritten");
    }

    function test_differentMessagesOfPaddingBoundaryLengths_differ() public pure {
        // 55 bytes pad to one block, 56 to two: both must hash, and differently from each other.
        bytes memory m55 = new bytes(55);
        bytes memory m56 = new bytes(56);
        assertTrue(SM3.hash(m55) != SM3.hash(m56));
    }
}
