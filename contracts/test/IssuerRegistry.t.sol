// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {Consortium} from "../Consortium.sol";
import {IssuerRegistry} from "../IssuerRegistry.sol";

contract IssuerRegistryTest is Fixture {
    event IssuerRegistered(bytes32 indexed issuerId, uint32 indexed region, string name, uint64 at);
    event IssuerStatusChanged(bytes32 indexed issuerId, uint8 status, uint64 effectiveFrom);
    event KeyAdded(bytes32 indexed issuerId, address indexed key, uint64 validFrom);
    event KeyRetired(bytes32 indexed issuerId, address indexed key, uint64 validUntil);
    event TypeGranted(bytes32 indexed issuerId, bytes32 indexed typeCode);
    event TypeWithdrawn(bytes32 indexed issuerId, bytes32 indexed typeCode);

    bytes32 internal ISSUER_C = keccak256(bytes("12440000MB2C97012X"));
    address internal KEY_C = address(0xC0C);

    function _status(bytes32 id) internal view returns (uint8 status) {
        (, status,,,) = registry.issuer(id);
    }

    // ============================================================ registration

    function test_registerIssuer_success() public {
        uint256 id = _proposeR(
            GD,
            address(registry),
            abi.encodeCall(IssuerRegistry.registerIssuer, (GD, ISSUER_C, unicode"广东省某局"))
        );
        vm.expectEmit(address(registry));
        emit IssuerRegistered(ISSUER_C, GD, unicode"广东省某局", T0);
        _approveR(GD, id);
        (uint32 region, uint8 status, uint64 since, uint64 revokedFrom, string memory name) = registry.issuer(ISSUER_C);
        assertEq(region, GD);
        assertEq(status, 1);
        assertEq(since, T0);
        assertEq(revokedFrom, 0);
        assertEq(name, unicode"广东省某局");
        assertEq(registry.registeredAt(ISSUER_C), T0);
    }

    function test_registerIssuer_refusals() public {
        // duplicate, even from another region
        uint256 id =
            _proposeR(SH, address(registry), abi.encodeCall(IssuerRegistry.registerIssuer, (SH, ISSUER_A, "dup")));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerAlreadyRegistered.selector, ISSUER_A));
        consortium.approve(id);

        id = _proposeR(GD, address(registry), abi.encodeCall(IssuerRegistry.registerIssuer, (GD, bytes32(0), "zero")));
        vm.prank(gd2);
        vm.expectRevert(IssuerRegistry.InvalidIssuerId.selector);
        consortium.approve(id);

        id = _proposeR(GD, address(registry), abi.encodeCall(IssuerRegistry.registerIssuer, (GD, ISSUER_C, "")));
        vm.prank(gd2);
        vm.expectRevert(IssuerRegistry.EmptyName.selector);
        consortium.approve(id);

        // only reachable through the consortium; a non-member region is refused even then
        vm.prank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.NotMember.selector, ZJ));
        registry.registerIssuer(ZJ, ISSUER_C, "x");
    }

    function test_mutators_onlyConsortium() public {
        address[3] memory callers = [stranger, bj1, KEY_A];
        for (uint256 i = 0; i < callers.length; ++i) {
            address c = callers[i];
            vm.startPrank(c);
            bytes memory err = abi.encodeWithSelector(IssuerRegistry.NotConsortium.selector, c);
            vm.expectRevert(err);
            registry.registerIssuer(BJ, ISSUER_C, "x");
            vm.expectRevert(err);
            registry.suspendIssuer(BJ, ISSUER_A);
            vm.expectRevert(err);
            registry.reinstateIssuer(BJ, ISSUER_A);
            vm.expectRevert(err);
            registry.revokeIssuer(BJ, ISSUER_A, T0);
            vm.expectRevert(err);
            registry.addKey(BJ, ISSUER_A, KEY_C, 0);
            vm.expectRevert(err);
            registry.retireKey(BJ, ISSUER_A, KEY_A, T0);
            vm.expectRevert(err);
            registry.grantType(BJ, ISSUER_A, TYPE_2);
            vm.expectRevert(err);
            registry.withdrawType(BJ, ISSUER_A, TYPE_1);
            vm.stopPrank();
        }
    }

    function test_wrongRegion_refused() public {
        // officers of 上海 cannot touch a 北京 issuer, whichever way they try
        uint256 id = _proposeR(SH, address(registry), abi.encodeCall(IssuerRegistry.suspendIssuer, (SH, ISSUER_A)));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerWrongRegion.selector, ISSUER_A, SH));
        consortium.approve(id);

        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.RegionMismatch.selector, SH, uint256(BJ)));
        consortium.proposeRegional(SH, address(registry), abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));

        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, sh1));
        consortium.proposeRegional(BJ, address(registry), abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));

        bytes[7] memory calls = [
            abi.encodeCall(IssuerRegistry.reinstateIssuer, (SH, ISSUER_A)),
            abi.encodeCall(IssuerRegistry.revokeIssuer, (SH, ISSUER_A, T0)),
            abi.encodeCall(IssuerRegistry.addKey, (SH, ISSUER_A, KEY_C, 0)),
            abi.encodeCall(IssuerRegistry.retireKey, (SH, ISSUER_A, KEY_A, T0)),
            abi.encodeCall(IssuerRegistry.grantType, (SH, ISSUER_A, TYPE_2)),
            abi.encodeCall(IssuerRegistry.withdrawType, (SH, ISSUER_A, TYPE_1)),
            abi.encodeCall(IssuerRegistry.suspendIssuer, (SH, ISSUER_A))
        ];
        for (uint256 i = 0; i < calls.length; ++i) {
            id = _proposeR(SH, address(registry), calls[i]);
            vm.prank(sh2);
            vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerWrongRegion.selector, ISSUER_A, SH));
            consortium.approve(id);
        }

        // unknown issuer
        id = _proposeR(SH, address(registry), abi.encodeCall(IssuerRegistry.suspendIssuer, (SH, ISSUER_C)));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.UnknownIssuer.selector, ISSUER_C));
        consortium.approve(id);
    }

    // ============================================================ status

    function test_suspend_reinstate() public {
        vm.warp(T0 + 100);
        uint256 id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));
        vm.expectEmit(address(registry));
        emit IssuerStatusChanged(ISSUER_A, 2, T0 + 100);
        _approveR(BJ, id);
        (, uint8 status, uint64 since,,) = registry.issuer(ISSUER_A);
        assertEq(status, 2);
        assertEq(since, T0 + 100);

        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerNotActive.selector, uint8(2)));
        consortium.approve(id);

        vm.warp(T0 + 200);
        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.reinstateIssuer, (BJ, ISSUER_A)));
        vm.expectEmit(address(registry));
        emit IssuerStatusChanged(ISSUER_A, 1, T0 + 200);
        _approveR(BJ, id);
        assertEq(_status(ISSUER_A), 1);

        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.reinstateIssuer, (BJ, ISSUER_A)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerNotSuspended.selector, ISSUER_A));
        consortium.approve(id);
    }

    function test_revoke_backdated_isFinal() public {
        vm.warp(T0 + 1000);
        uint256 id =
            _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0 + 10)));
        vm.expectEmit(address(registry));
        emit IssuerStatusChanged(ISSUER_A, 3, T0 + 10);
        _approveR(BJ, id);
        (, uint8 status, uint64 since, uint64 revokedFrom,) = registry.issuer(ISSUER_A);
        assertEq(status, 3);
        assertEq(since, T0 + 1000);
        assertEq(revokedFrom, T0 + 10);

        bytes[5] memory calls = [
            abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0 + 1000)),
            abi.encodeCall(IssuerRegistry.reinstateIssuer, (BJ, ISSUER_A)),
            abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)),
            abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, KEY_C, 0)),
            abi.encodeCall(IssuerRegistry.grantType, (BJ, ISSUER_A, TYPE_2))
        ];
        bytes[5] memory errs = [
            abi.encodeWithSelector(IssuerRegistry.IssuerAlreadyRevoked.selector, ISSUER_A),
            abi.encodeWithSelector(IssuerRegistry.IssuerNotSuspended.selector, ISSUER_A),
            abi.encodeWithSelector(IssuerRegistry.IssuerNotActive.selector, uint8(3)),
            abi.encodeWithSelector(IssuerRegistry.IssuerAlreadyRevoked.selector, ISSUER_A),
            abi.encodeWithSelector(IssuerRegistry.IssuerAlreadyRevoked.selector, ISSUER_A)
        ];
        for (uint256 i = 0; i < calls.length; ++i) {
            id = _proposeR(BJ, address(registry), calls[i]);
            vm.prank(bj2);
            vm.expectRevert(errs[i]);
            consortium.approve(id);
        }
        // a revoked issuer cannot anchor
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerNotActive.selector, uint8(3)));
        ledger.anchor(keccak256("late"), TYPE_1, 1);
        // retiring keys and withdrawing types remain possible (housekeeping)
        _reg(BJ, abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 + 10)));
        _reg(BJ, abi.encodeCall(IssuerRegistry.withdrawType, (BJ, ISSUER_A, TYPE_1)));
    }

    function test_revoke_effectiveFromBounds() public {
        vm.warp(T0 + 50);
        // not before registration (T0)
        uint256 id =
            _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0 - 1)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.InvalidEffectiveFrom.selector, T0 - 1));
        consortium.approve(id);
        // not in the future
        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0 + 51)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.InvalidEffectiveFrom.selector, T0 + 51));
        consortium.approve(id);
        // exactly registration time and exactly now are both fine
        _reg(BJ, abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0)));
        _reg(SH, abi.encodeCall(IssuerRegistry.revokeIssuer, (SH, ISSUER_B, T0 + 50)));
        (,,, uint64 rf,) = registry.issuer(ISSUER_B);
        assertEq(rf, T0 + 50);
    }

    // ============================================================ keys

    function test_addKey_windows() public {
        vm.warp(T0 + 500);
        // a past validFrom is raised to now
        uint256 id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, KEY_C, T0)));
        vm.expectEmit(address(registry));
        emit KeyAdded(ISSUER_A, KEY_C, T0 + 500);
        _approveR(BJ, id);
        (bytes32 owner, uint64 from, uint64 until) = registry.keyInfo(KEY_C);
        assertEq(owner, ISSUER_A);
        assertEq(from, T0 + 500);
        assertEq(until, 0);
        assertFalse(registry.isKeyValidAt(KEY_C, T0 + 499));
        assertTrue(registry.isKeyValidAt(KEY_C, T0 + 500));
        assertTrue(registry.isKeyValidAt(KEY_C, type(uint64).max));

        // a future validFrom is kept: the key cannot anchor before it
        address future = address(0xF07);
        _reg(BJ, abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, future, T0 + 10_000)));
        vm.prank(future);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyNotValid.selector, future, T0 + 500));
        ledger.anchor(keccak256("early"), TYPE_1, 1);
        vm.warp(T0 + 10_000);
        vm.prank(future);
        ledger.anchor(keccak256("early"), TYPE_1, 1);
    }

    function test_addKey_refusals() public {
        // a key belongs to one issuer forever, across regions
        uint256 id = _proposeR(SH, address(registry), abi.encodeCall(IssuerRegistry.addKey, (SH, ISSUER_B, KEY_A, 0)));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyAlreadyRegistered.selector, KEY_A));
        consortium.approve(id);
        // even after retirement
        _reg(BJ, abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0)));
        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, KEY_A, 0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyAlreadyRegistered.selector, KEY_A));
        consortium.approve(id);

        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, address(0), 0)));
        vm.prank(bj2);
        vm.expectRevert(IssuerRegistry.InvalidKey.selector);
        consortium.approve(id);
    }

    function test_retireKey_backdated_keepsOldWindow() public {
        vm.warp(T0 + 1000);
        uint256 id =
            _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 + 400)));
        vm.expectEmit(address(registry));
        emit KeyRetired(ISSUER_A, KEY_A, T0 + 400);
        _approveR(BJ, id);
        (,, uint64 until) = registry.keyInfo(KEY_A);
        assertEq(until, T0 + 400);
        assertTrue(registry.isKeyValidAt(KEY_A, T0 + 399));
        assertFalse(registry.isKeyValidAt(KEY_A, T0 + 400));
        assertFalse(registry.isKeyValidAt(KEY_A, T0 + 1000));
        assertFalse(registry.isKeyValidAt(stranger, T0));

        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyNotValid.selector, KEY_A, T0 + 1000));
        ledger.anchor(keccak256("r"), TYPE_1, 1);

        // retiring is final
        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 + 500)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyAlreadyRetired.selector, KEY_A));
        consortium.approve(id);
    }

    function test_retireKey_refusals() public {
        // someone else's key
        uint256 id =
            _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_B, T0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyNotOfIssuer.selector, KEY_B, ISSUER_A));
        consortium.approve(id);
        // an unknown key
        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, stranger, T0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyNotOfIssuer.selector, stranger, ISSUER_A));
        consortium.approve(id);
        // before its window opened
        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 - 1)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.InvalidValidUntil.selector, T0 - 1));
        consortium.approve(id);
        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, 0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.InvalidValidUntil.selector, uint64(0)));
        consortium.approve(id);
    }

    function test_keyRotation_oldCertificatesStayValid() public {
        bytes32 oldRoot = keccak256("before rotation");
        _anchor(KEY_A, oldRoot, TYPE_1);
        vm.warp(T0 + 3600);
        _reg(BJ, abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, KEY_A2, 0)));
        _reg(BJ, abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 + 3600)));

        bytes32 newRoot = keccak256("after rotation");
        _anchor(KEY_A2, newRoot, TYPE_1);
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyNotValid.selector, KEY_A, T0 + 3600));
        ledger.anchor(keccak256("old key"), TYPE_1, 1);

        (bool anchored, bytes32 issuerId, address key,,, uint64 ts) = ledger.anchorOf(oldRoot);
        assertTrue(anchored);
        assertEq(issuerId, ISSUER_A);
        assertEq(key, KEY_A);
        assertTrue(registry.isKeyValidAt(key, ts), "old anchor lost validity on rotation");
        (, issuerId, key,,, ts) = ledger.anchorOf(newRoot);
        assertEq(issuerId, ISSUER_A);
        assertEq(key, KEY_A2);
        assertTrue(registry.isKeyValidAt(key, ts));
    }

    // ============================================================ types

    function test_grant_withdraw() public {
        assertFalse(registry.isAuthorised(ISSUER_A, TYPE_2));
        uint256 id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.grantType, (BJ, ISSUER_A, TYPE_2)));
        vm.expectEmit(address(registry));
        emit TypeGranted(ISSUER_A, TYPE_2);
        _approveR(BJ, id);
        assertTrue(registry.isAuthorised(ISSUER_A, TYPE_2));
        _anchor(KEY_A, keccak256("t2"), TYPE_2);

        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.withdrawType, (BJ, ISSUER_A, TYPE_2)));
        vm.expectEmit(address(registry));
        emit TypeWithdrawn(ISSUER_A, TYPE_2);
        _approveR(BJ, id);
        assertFalse(registry.isAuthorised(ISSUER_A, TYPE_2));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.TypeNotAuthorised.selector, ISSUER_A, TYPE_2));
        ledger.anchor(keccak256("t2 again"), TYPE_2, 1);
    }

    function test_grant_refusals() public {
        uint256 id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.grantType, (BJ, ISSUER_A, TYPE_3)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.UnknownType.selector, TYPE_3));
        consortium.approve(id);

        _consortium(abi.encodeCall(Consortium.defineType, (TYPE_3, "inactive", bytes32(0), 1, false)));
        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.grantType, (BJ, ISSUER_A, TYPE_3)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.TypeNotActive.selector, TYPE_3));
        consortium.approve(id);

        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.grantType, (BJ, ISSUER_A, TYPE_1)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.TypeAlreadyGranted.selector, ISSUER_A, TYPE_1));
        consortium.approve(id);

        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.withdrawType, (BJ, ISSUER_A, TYPE_2)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.TypeNotGranted.selector, ISSUER_A, TYPE_2));
        consortium.approve(id);
    }

    function test_deactivatedType_stopsAnchors_butKeepsGrant() public {
        _consortium(abi.encodeCall(Consortium.defineType, (TYPE_1, "retired type", bytes32(0), 2, false)));
        assertTrue(registry.isAuthorised(ISSUER_A, TYPE_1));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.TypeNotActive.selector, TYPE_1));
        ledger.anchor(keccak256("x"), TYPE_1, 1);
        _consortium(abi.encodeCall(Consortium.defineType, (TYPE_1, "back", bytes32(0), 3, true)));
        _anchor(KEY_A, keccak256("x"), TYPE_1);
    }

    function test_anchorCheck_views() public {
        (bytes32 id, uint16 index) = registry.anchorCheck(KEY_A, TYPE_1);
        assertEq(id, ISSUER_A);
        assertEq(index, 1);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.UnknownKey.selector, stranger));
        registry.anchorCheck(stranger, TYPE_1);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.TypeNotAuthorised.selector, ISSUER_A, TYPE_2));
        registry.anchorCheck(KEY_A, TYPE_2);

        (bytes32 anchorIssuer, bytes32 senderIssuer, bool valid, uint8 status) =
            registry.statusChangeCheck(KEY_B, KEY_A);
        assertEq(anchorIssuer, ISSUER_A);
        assertEq(senderIssuer, ISSUER_B);
        assertTrue(valid);
        assertEq(status, 1);
        (, senderIssuer, valid,) = registry.statusChangeCheck(stranger, KEY_A);
        assertEq(senderIssuer, bytes32(0));
        assertFalse(valid);
    }

    // ============================================================ fuzz

    /// @notice A key is valid exactly inside [validFrom, validUntil), whatever the (backdated) retirement.
    function testFuzz_keyWindow(uint64 fromOffset, uint64 untilOffset, uint64 probe) public {
        fromOffset = uint64(bound(fromOffset, 0, 365 days));
        untilOffset = uint64(bound(untilOffset, fromOffset, 400 days));
        address key = address(0xF00D);
        _reg(BJ, abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, key, T0 + fromOffset)));
        vm.warp(T0 + 500 days);
        _reg(BJ, abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, key, T0 + untilOffset)));
        uint64 t = uint64(bound(probe, T0 - 1 days, T0 + 500 days));
        bool expected = t >= T0 + fromOffset && t < T0 + untilOffset;
        assertEq(registry.isKeyValidAt(key, t), expected);
    }
}
