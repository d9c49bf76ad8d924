// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {Consortium} from "../Consortium.sol";
import {RecognitionPolicy} from "../RecognitionPolicy.sol";

contract RecognitionPolicyTest is Fixture {
    event RecognitionSet(
        uint32 indexed verifierRegion,
        bytes32 indexed typeCode,
        uint32 indexed issuerRegion,
        uint64 validFrom,
        uint64 validUntil
    );
    event RecognitionWithdrawn(
        uint32 indexed verifierRegion, bytes32 indexed typeCode, uint32 indexed issuerRegion, uint64 at
    );

    function _set(uint32 verifier, bytes32 typeCode, uint32 issuerRegion, uint64 from, uint64 until) internal {
        _regional(
            verifier,
            address(policy),
            abi.encodeCall(RecognitionPolicy.setRecognition, (verifier, typeCode, issuerRegion, from, until))
        );
    }

    function test_ownRegion_alwaysRecognised() public view {
        assertTrue(policy.isRecognised(BJ, TYPE_1, BJ, 0));
        assertTrue(policy.isRecognised(SH, TYPE_3, SH, T0));
        assertFalse(policy.isRecognised(BJ, TYPE_1, SH, T0));
    }

    function test_setRecognition_specificWindow() public {
        uint256 id = _proposeR(
            BJ, address(policy), abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_1, SH, T0 + 10, T0 + 20))
        );
        vm.expectEmit(address(policy));
        emit RecognitionSet(BJ, TYPE_1, SH, T0 + 10, T0 + 20);
        _approveR(BJ, id);
        assertFalse(policy.isRecognised(BJ, TYPE_1, SH, T0 + 9));
        assertTrue(policy.isRecognised(BJ, TYPE_1, SH, T0 + 10));
        assertTrue(policy.isRecognised(BJ, TYPE_1, SH, T0 + 19));
        assertFalse(policy.isRecognised(BJ, TYPE_1, SH, T0 + 20));
        // directional: 上海 does not thereby recognise 北京
        assertFalse(policy.isRecognised(SH, TYPE_1, BJ, T0 + 15));
        // per type and per region
        assertFalse(policy.isRecognised(BJ, TYPE_2, SH, T0 + 15));
        assertFalse(policy.isRecognised(BJ, TYPE_1, GD, T0 + 15));
        (bool exists, uint64 from, uint64 until) = policy.recognition(BJ, TYPE_1, SH);
        assertTrue(exists);
        assertEq(from, T0 + 10);
        assertEq(until, T0 + 20);
    }

    function test_everyRegionRule_andSpecificFirst() public {
        _set(BJ, TYPE_1, 0, T0, 0);
        assertTrue(policy.isRecognised(BJ, TYPE_1, SH, T0));
        assertTrue(policy.isRecognised(BJ, TYPE_1, GD, T0 + 1000 days));
        assertTrue(policy.isRecognised(BJ, TYPE_1, ZJ, T0));
        assertFalse(policy.isRecognised(BJ, TYPE_1, SH, T0 - 1));
        // a specific rule adds to the every-region rule (a rule in force at `at` is looked up
        // specific-first, then every-region)
        _set(BJ, TYPE_2, SH, T0, 0);
        assertTrue(policy.isRecognised(BJ, TYPE_2, SH, T0));
        assertFalse(policy.isRecognised(BJ, TYPE_2, GD, T0));
    }

    function test_withdrawRecognition_endsNow() public {
        _set(GD, TYPE_1, BJ, T0, 0);
        vm.warp(T0 + 500);
        uint256 id =
            _proposeR(GD, address(policy), abi.encodeCall(RecognitionPolicy.withdrawRecognition, (GD, TYPE_1, BJ)));
        vm.expectEmit(address(policy));
        emit RecognitionWithdrawn(GD, TYPE_1, BJ, T0 + 500);
        _approveR(GD, id);
        assertTrue(policy.isRecognised(GD, TYPE_1, BJ, T0 + 499), "history must stay answerable");
        assertFalse(policy.isRecognised(GD, TYPE_1, BJ, T0 + 500));
        (,, uint64 until) = policy.recognition(GD, TYPE_1, BJ);
        assertEq(until, T0 + 500);

        // withdrawing again, or a rule that never existed, is refused
        id = _proposeR(GD, address(policy), abi.encodeCall(RecognitionPolicy.withdrawRecognition, (GD, TYPE_1, BJ)));
        vm.prank(gd2);
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.RecognitionNotInForce.selector, GD, TYPE_1, BJ));
        consortium.approve(id);
        id = _proposeR(GD, address(policy), abi.encodeCall(RecognitionPolicy.withdrawRecognition, (GD, TYPE_2, SH)));
        vm.prank(gd2);
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.RecognitionNotInForce.selector, GD, TYPE_2, SH));
        consortium.approve(id);
    }

    function test_withdraw_ruleWithPastEnd_refused() public {
        _set(GD, TYPE_1, BJ, T0, T0 + 10);
        vm.warp(T0 + 10);
        uint256 id =
            _proposeR(GD, address(policy), abi.encodeCall(RecognitionPolicy.withdrawRecognition, (GD, TYPE_1, BJ)));
        vm.prank(gd2);
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.RecognitionNotInForce.selector, GD, TYPE_1, BJ));
        consortium.approve(id);
    }

    function test_setRecognition_refusals() public {
        uint256 id =
            _proposeR(BJ, address(policy), abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_1, BJ, T0, 0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.SelfRecognition.selector, BJ));
        consortium.approve(id);

        id = _proposeR(BJ, address(policy), abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_3, SH, T0, 0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.UnknownType.selector, TYPE_3));
        consortium.approve(id);

        id = _proposeR(BJ, address(policy), abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_1, SH, T0, T0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.InvalidWindow.selector, T0, T0));
        consortium.approve(id);

        id = _proposeR(BJ, address(policy), abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_1, 77, T0, 0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.InvalidRegion.selector, uint32(77)));
        consortium.approve(id);

        // only the recognising region decides
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.RegionMismatch.selector, SH, uint256(BJ)));
        consortium.proposeRegional(
            SH, address(policy), abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_1, SH, T0, 0))
        );
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, sh1));
        consortium.proposeRegional(
            BJ, address(policy), abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_1, SH, T0, 0))
        );
        // and never with a single officer
        vm.prank(bj1);
        uint256 single = consortium.proposeRegional(
            BJ, address(policy), abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_1, SH, T0, 0))
        );
        assertFalse(policy.isRecognised(BJ, TYPE_1, SH, T0));
        assertEq(consortium.proposalState(single), 1);
    }

    function test_onlyConsortium() public {
        vm.startPrank(bj1);
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.NotConsortium.selector, bj1));
        policy.setRecognition(BJ, TYPE_1, SH, T0, 0);
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.NotConsortium.selector, bj1));
        policy.withdrawRecognition(BJ, TYPE_1, SH);
        vm.stopPrank();
        vm.prank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.NotMember.selector, ZJ));
        policy.setRecognition(ZJ, TYPE_1, SH, T0, 0);
    }

    function test_setRecognition_replacesRule() public {
        _set(BJ, TYPE_1, SH, T0, T0 + 10);
        _set(BJ, TYPE_1, SH, T0 + 100, 0);
        assertFalse(policy.isRecognised(BJ, TYPE_1, SH, T0 + 5));
        assertTrue(policy.isRecognised(BJ, TYPE_1, SH, T0 + 100));
    }

    /// @notice isRecognised is exactly the union of the specific and the every-region windows.
    function testFuzz_isRecognised_window(uint64 f1, uint64 l1, uint64 f2, uint64 l2, uint64 at) public {
        f1 = uint64(bound(f1, 0, 1000));
        l1 = uint64(bound(l1, 0, 1000));
        f2 = uint64(bound(f2, 0, 1000));
        l2 = uint64(bound(l2, 0, 1000));
        at = uint64(bound(at, 0, 1100));
        uint64 u1 = l1 == 0 ? 0 : T0 + f1 + l1;
        uint64 u2 = l2 == 0 ? 0 : T0 + f2 + l2;
        _set(BJ, TYPE_1, SH, T0 + f1, u1);
        _set(BJ, TYPE_1, 0, T0 + f2, u2);
        uint64 t = T0 + at;
        bool specific = t >= T0 + f1 && (u1 == 0 || t < u1);
        bool every = t >= T0 + f2 && (u2 == 0 || t < u2);
        assertEq(policy.isRecognised(BJ, TYPE_1, SH, t), specific || every);
        assertEq(policy.isRecognised(BJ, TYPE_1, GD, t), every);
    }
}
