// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {VerificationLogAnchor} from "../VerificationLogAnchor.sol";

contract VerificationLogAnchorTest is Test {
    event LogHeadAnchored(address indexed operator, uint64 indexed seq, bytes32 head, uint64 entries, uint64 at);

    uint64 internal constant T0 = 1_764_000_000; // 2025-11-24
    address internal constant HEBEI = address(0x130000);
    address internal constant SHANGHAI = address(0x310000);

    VerificationLogAnchor internal anchor;

    function setUp() public {
        anchor = new VerificationLogAnchor();
        vm.warp(T0);
    }

    function _anchor(address operator, bytes32 head, uint64 entries) internal returns (uint64) {
        vm.prank(operator);
        return anchor.anchorHead(head, entries);
    }

    function test_anchorHead_recordsAndEmits() public {
        vm.expectEmit(address(anchor));
        emit LogHeadAnchored(HEBEI, 0, keccak256("h20"), 20, T0);
        assertEq(_anchor(HEBEI, keccak256("h20"), 20), 0);

        assertEq(anchor.count(HEBEI), 1);
        (uint64 seq, bytes32 head, uint64 entries, uint64 at) = anchor.latest(HEBEI);
        assertEq(seq, 0);
        assertEq(head, keccak256("h20"));
        assertEq(entries, 20);
        assertEq(at, T0);
    }

    function test_secondHead_getsNextSeq_andOldHeadStaysReadable() public {
        _anchor(HEBEI, keccak256("h20"), 20);
        vm.warp(T0 + 600);
        vm.expectEmit(address(anchor));
        emit LogHeadAnchored(HEBEI, 1, keccak256("h40"), 40, T0 + 600);
        assertEq(_anchor(HEBEI, keccak256("h40"), 40), 1);

        assertEq(anchor.count(HEBEI), 2);
        (bytes32 head, uint64 entries, uint64 at) = anchor.headAt(HEBEI, 0);
        assertEq(head, keccak256("h20"));
        assertEq(entries, 20);
        assertEq(at, T0);
        (uint64 seq, bytes32 latestHead, uint64 latestEntries, uint64 latestAt) = anchor.latest(HEBEI);
        assertEq(seq, 1);
        assertEq(latestHead, keccak256("h40"));
        assertEq(latestEntries, 40);
        assertEq(latestAt, T0 + 600);
    }

    function test_sameEntryCount_refused() public {
        _anchor(HEBEI, keccak256("h20"), 20);
        vm.prank(HEBEI);
        vm.expectRevert(abi.encodeWithSelector(VerificationLogAnchor.LogDidNotGrow.selector, HEBEI, 20, 20));
        anchor.anchorHead(keccak256("other h20"), 20);
    }

    function test_shrinkingEntryCount_refused() public {
        _anchor(HEBEI, keccak256("h20"), 20);
        vm.prank(HEBEI);
        vm.expectRevert(abi.encodeWithSelector(VerificationLogAnchor.LogDidNotGrow.selector, HEBEI, 20, 19));
        anchor.anchorHead(keccak256("h19"), 19);
        assertEq(anchor.count(HEBEI), 1, "a refused head leaves no trace");
    }

    function test_zeroEntries_refused() public {
        vm.prank(HEBEI);
        vm.expectRevert(abi.encodeWithSelector(VerificationLogAnchor.LogDidNotGrow.selector, HEBEI, 0, 0));
        anchor.anchorHead(keccak256("empty"), 0);
    }

    function test_zeroHead_refused() public {
        vm.prank(HEBEI);
        vm.expectRevert(VerificationLogAnchor.EmptyHead.selector);
        anchor.anchorHead(bytes32(0), 1);
    }

    function test_operatorsLogsAreSeparate() public {
        _anchor(HEBEI, keccak256("hebei 50"), 50);
        // Shanghai's log starts at its own zero: a smaller count than Hebei's is fine.
        assertEq(_anchor(SHANGHAI, keccak256("shanghai 3"), 3), 0);
        assertEq(anchor.count(HEBEI), 1);
        assertEq(anchor.count(SHANGHAI), 1);
        (, bytes32 head,,) = anchor.latest(HEBEI);
        assertEq(head, keccak256("hebei 50"), "another operator cannot touch this log");
    }

    function test_latest_withoutAnchor_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(VerificationLogAnchor.NoHeadAnchored.selector, HEBEI));
        anchor.latest(HEBEI);
    }

    function test_headAt_unknownSeq_reverts() public {
        _anchor(HEBEI, keccak256("h20"), 20);
        vm.expectRevert(abi.encodeWithSelector(VerificationLogAnchor.UnknownAnchor.selector, HEBEI, 1, 1));
        anchor.headAt(HEBEI, 1);
    }

    /// @notice Any growing sequence of counts is accepted in order and read back exactly.
    /// @dev A fixed number of heads per run keeps the gas median stable for `forge snapshot --check`.
    function testFuzz_growingHeads_readBack(address operator, bytes32 seed, uint32 stepSeed) public {
        uint256 n = 12;
        uint64 entries = 0;
        for (uint256 i = 0; i < n; ++i) {
            entries += uint64(bound(uint256(keccak256(abi.encode(stepSeed, i))), 1, 1_000_000));
            bytes32 head = keccak256(abi.encode(seed, i));
            vm.warp(T0 + i * 60);
            assertEq(_anchor(operator, head, entries), uint64(i));
        }
        assertEq(anchor.count(operator), n);
        uint64 previous = 0;
        for (uint256 i = 0; i < n; ++i) {
            (bytes32 head, uint64 e, uint64 at) = anchor.headAt(operator, uint64(i));
            assertEq(head, keccak256(abi.encode(seed, i)));
            assertGt(e, previous, "entry counts strictly increase");
            assertEq(at, T0 + i * 60);
            previous = e;
        }
    }

    /// @notice Whatever was anchored, any count not above the latest is refused.
    function testFuzz_nonIncreasingCount_refused(bytes32 head, uint64 first, uint64 second) public {
        vm.assume(head != bytes32(0));
        first = uint64(bound(first, 1, type(uint64).max));
        second = uint64(bound(second, 0, first));
        _anchor(HEBEI, head, first);
        vm.prank(HEBEI);
        vm.expectRevert(abi.encodeWithSelector(VerificationLogAnchor.LogDidNotGrow.selector, HEBEI, first, second));
        anchor.anchorHead(head, second);
    }
}
