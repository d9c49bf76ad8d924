// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Test code: every narrowing cast below is of a value already bounded to fit.
// forge-lint: disable-start(unsafe-typecast)

import {Fixture} from "./utils/Fixture.sol";
import {IssuerRegistry} from "../IssuerRegistry.sol";
import {AnchorLedger} from "../AnchorLedger.sol";
import {SM3} from "../lib/SM3.sol";

/**
 * @notice Suite-2 (国密) batches in the AnchorLedger: anchorGuomi, batchSuite, and the status changes
 * that carry an SM3 proof without evaluating it (docs/spec/decisions/sm3-status-on-chain.md).
 */
contract AnchorGuomiTest is Fixture {
    bytes32 internal constant CERT_1 = keccak256("sm3 document root 1");
    bytes32 internal constant CERT_2 = keccak256("sm3 document root 2");
    /// @dev An SM3 root of the two certificates (sorted pair, as common.merkle builds suite-2 trees);
    /// the contract never recomputes it — any 32 bytes would do — but the test stays honest.
    bytes32 internal GROOT;
    bytes32[] internal SM3_PROOF_1;
    /// @dev A suite-1 batch (keccak tree) of the same two certificates.
    bytes32 internal KROOT;
    bytes32[] internal KPROOF_1;

    function setUp() public override {
        super.setUp();
        bytes32 l1 = SM3.hash(abi.encode(CERT_1));
        bytes32 l2 = SM3.hash(abi.encode(CERT_2));
        GROOT = SM3.hashPair(l1, l2);
        SM3_PROOF_1.push(l2);
        bytes32[] memory p2;
        (KROOT, KPROOF_1, p2) = _pair(CERT_1, CERT_2);
    }

    function _anchorGuomi(address key, bytes32 root) internal {
        vm.prank(key);
        ledger.anchorGuomi(root, TYPE_1, 2);
    }

    function _status(bytes32 cert, bytes32 issuerId) internal view returns (uint8 s, uint64 since, uint8 reason) {
        (s, since, reason) = ledger.certificateStatus(cert, issuerId);
    }

    // ============================================================ anchoring

    function test_anchorGuomi_recordsLikeAnchor_andEmitsAnchoredThenGuomiBatchAnchored() public {
        vm.roll(4242);
        vm.warp(T0 + 77);
        vm.expectEmit(address(ledger));
        emit AnchorLedger.Anchored(GROOT, ISSUER_A, KEY_A, TYPE_1, 2, T0 + 77);
        vm.expectEmit(address(ledger));
        emit AnchorLedger.GuomiBatchAnchored(GROOT);
        vm.prank(KEY_A);
        ledger.anchorGuomi(GROOT, TYPE_1, 2);

        (bool anchored, bytes32 issuerId, address key, bytes32 typeCode, uint64 blockNumber, uint64 ts) =
            ledger.anchorOf(GROOT);
        assertTrue(anchored);
        assertEq(issuerId, ISSUER_A);
        assertEq(key, KEY_A);
        assertEq(typeCode, TYPE_1);
        assertEq(blockNumber, 4242);
        assertEq(ts, T0 + 77);
        assertEq(ledger.batchSuite(GROOT), 2);
    }

    function test_batchSuite_zeroForUnanchored_oneForAnchor() public {
        assertEq(ledger.batchSuite(KROOT), 0);
        _anchor(KEY_A, KROOT, TYPE_1);
        assertEq(ledger.batchSuite(KROOT), 1);
        assertEq(ledger.batchSuite(GROOT), 0);
    }

    function test_anchorGuomi_sameRefusalsAsAnchor() public {
        vm.startPrank(KEY_A);
        vm.expectRevert(AnchorLedger.EmptyRoot.selector);
        ledger.anchorGuomi(bytes32(0), TYPE_1, 1);
        vm.expectRevert(AnchorLedger.EmptyBatch.selector);
        ledger.anchorGuomi(GROOT, TYPE_1, 0);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.TypeNotAuthorised.selector, ISSUER_A, TYPE_2));
        ledger.anchorGuomi(GROOT, TYPE_2, 1);
        ledger.anchorGuomi(GROOT, TYPE_1, 1);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.RootAlreadyAnchored.selector, GROOT));
        ledger.anchorGuomi(GROOT, TYPE_1, 1);
        // a root is anchored once, whichever suite is asked for the second time
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.RootAlreadyAnchored.selector, GROOT));
        ledger.anchor(GROOT, TYPE_1, 1);
        vm.stopPrank();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.UnknownKey.selector, stranger));
        ledger.anchorGuomi(keccak256("s"), TYPE_1, 1);
    }

    function test_anchorGuomi_retiredKey_andSuspendedIssuer_refused() public {
        _reg(BJ, abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerNotActive.selector, uint8(2)));
        ledger.anchorGuomi(GROOT, TYPE_1, 1);
        _reg(BJ, abi.encodeCall(IssuerRegistry.reinstateIssuer, (BJ, ISSUER_A)));
        vm.warp(T0 + 10);
        _reg(BJ, abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 + 10)));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyNotValid.selector, KEY_A, T0 + 10));
        ledger.anchorGuomi(GROOT, TYPE_1, 1);
    }

    // ============================================================ status without an on-chain proof

    function test_revokeGuomi_setsTheIssuersStatus_andIsFinal() public {
        _anchorGuomi(KEY_A, GROOT);
        vm.warp(T0 + 60);
        vm.expectEmit(address(ledger));
        emit AnchorLedger.CertificateStatusChanged(CERT_1, GROOT, ISSUER_A, 2, 7, T0 + 60);
        vm.prank(KEY_A);
        ledger.revokeGuomi(CERT_1, GROOT, SM3_PROOF_1, 7);
        (uint8 s, uint64 since, uint8 reason) = _status(CERT_1, ISSUER_A);
        assertEq(s, 2);
        assertEq(since, T0 + 60);
        assertEq(reason, 7);

        vm.startPrank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateRevoked.selector, CERT_1));
        ledger.revokeGuomi(CERT_1, GROOT, SM3_PROOF_1, 7);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateRevoked.selector, CERT_1));
        ledger.suspendGuomi(CERT_1, GROOT, SM3_PROOF_1, 1);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateRevoked.selector, CERT_1));
        ledger.reinstateGuomi(CERT_1, GROOT, SM3_PROOF_1);
        vm.stopPrank();
    }

    function test_suspendGuomi_reinstateGuomi_revokeGuomi() public {
        _anchorGuomi(KEY_A, GROOT);
        vm.startPrank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateNotSuspended.selector, CERT_1));
        ledger.reinstateGuomi(CERT_1, GROOT, SM3_PROOF_1);
        vm.expectEmit(address(ledger));
        emit AnchorLedger.CertificateStatusChanged(CERT_1, GROOT, ISSUER_A, 1, 3, T0);
        ledger.suspendGuomi(CERT_1, GROOT, SM3_PROOF_1, 3);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateNotInForce.selector, CERT_1));
        ledger.suspendGuomi(CERT_1, GROOT, SM3_PROOF_1, 3);
        vm.expectEmit(address(ledger));
        emit AnchorLedger.CertificateStatusChanged(CERT_1, GROOT, ISSUER_A, 0, 0, T0);
        ledger.reinstateGuomi(CERT_1, GROOT, SM3_PROOF_1);
        ledger.suspendGuomi(CERT_1, GROOT, SM3_PROOF_1, 3);
        ledger.revokeGuomi(CERT_1, GROOT, SM3_PROOF_1, 4); // from suspended
        vm.stopPrank();
        (uint8 s,,) = _status(CERT_1, ISSUER_A);
        assertEq(s, 2);
    }

    function test_guomiStatus_suite1Batch_refusedWithNotGuomiBatch() public {
        _anchor(KEY_A, KROOT, TYPE_1);
        bytes memory err = abi.encodeWithSelector(AnchorLedger.NotGuomiBatch.selector, KROOT);
        vm.startPrank(KEY_A);
        vm.expectRevert(err);
        ledger.revokeGuomi(CERT_1, KROOT, KPROOF_1, 1);
        vm.expectRevert(err);
        ledger.suspendGuomi(CERT_1, KROOT, KPROOF_1, 1);
        vm.expectRevert(err);
        ledger.reinstateGuomi(CERT_1, KROOT, KPROOF_1);
        vm.stopPrank();
    }

    function test_guomiStatus_unanchoredRoot_refused() public {
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.RootNotAnchored.selector, GROOT));
        ledger.revokeGuomi(CERT_1, GROOT, SM3_PROOF_1, 1);
    }

    function test_guomiStatus_otherIssuersKey_officer_stranger_andSM2Id_refused() public {
        _anchorGuomi(KEY_A, GROOT);
        address[3] memory senders = [KEY_B, bj1, stranger];
        for (uint256 i = 0; i < senders.length; ++i) {
            bytes memory err = abi.encodeWithSelector(AnchorLedger.NotCertificateIssuer.selector, GROOT, senders[i]);
            vm.startPrank(senders[i]);
            vm.expectRevert(err);
            ledger.revokeGuomi(CERT_1, GROOT, SM3_PROOF_1, 1);
            vm.expectRevert(err);
            ledger.suspendGuomi(CERT_1, GROOT, SM3_PROOF_1, 1);
            vm.expectRevert(err);
            ledger.reinstateGuomi(CERT_1, GROOT, SM3_PROOF_1);
            vm.stopPrank();
        }
    }

    function test_guomiStatus_retiredKey_refused_rotatedKey_allowed() public {
        _anchorGuomi(KEY_A, GROOT);
        vm.warp(T0 + 100);
        _reg(BJ, abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, KEY_A2, 0)));
        _reg(BJ, abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 + 100)));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotCertificateIssuer.selector, GROOT, KEY_A));
        ledger.revokeGuomi(CERT_1, GROOT, SM3_PROOF_1, 1);
        vm.prank(KEY_A2);
        ledger.revokeGuomi(CERT_1, GROOT, SM3_PROOF_1, 1);
        (uint8 s,,) = _status(CERT_1, ISSUER_A);
        assertEq(s, 2);
    }

    function test_guomiStatus_revokedIssuer_refused_suspendedIssuer_allowed() public {
        _anchorGuomi(KEY_A, GROOT);
        _reg(BJ, abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));
        vm.prank(KEY_A);
        ledger.suspendGuomi(CERT_1, GROOT, SM3_PROOF_1, 2);
        _reg(BJ, abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0)));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.IssuerRevoked.selector, ISSUER_A));
        ledger.revokeGuomi(CERT_2, GROOT, SM3_PROOF_1, 1);
    }

    /// @notice The keccak-proof functions stay as they are: an SM3 tree's root never passes a keccak
    /// proof, so they refuse suite-2 batches by themselves (NotInBatch).
    function test_keccakStatusFunctions_cannotPassOnASuite2Batch() public {
        _anchorGuomi(KEY_A, GROOT);
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotInBatch.selector, CERT_1, GROOT));
        ledger.revokeCertificate(CERT_1, GROOT, SM3_PROOF_1, 1);
    }

    /// @notice The status is the issuer's, whichever suite the batch: a suite-2 revocation is read by
    /// certificateStatus exactly as a suite-1 one, and another issuer's status for the same hash is apart.
    function test_guomiStatus_isScopedToIssuer() public {
        _anchorGuomi(KEY_A, GROOT);
        vm.prank(KEY_B);
        ledger.anchorGuomi(keccak256("B's batch"), TYPE_1, 1);
        vm.prank(KEY_B);
        ledger.revokeGuomi(CERT_1, keccak256("B's batch"), new bytes32[](0), 1);
        (uint8 a,,) = _status(CERT_1, ISSUER_A);
        (uint8 b,,) = _status(CERT_1, ISSUER_B);
        assertEq(a, 0);
        assertEq(b, 2);
    }

    // ============================================================ fuzz

    function testFuzz_anchorGuomi_anyRoot_suiteAndBlockNumberKept(bytes32 root, uint32 count, uint40 dt, uint40 dn)
        public
    {
        vm.assume(root != bytes32(0));
        count = uint32(bound(count, 1, type(uint32).max));
        uint64 t = T0 + uint64(bound(dt, 0, 100 * 365 days));
        uint64 blockNumber = uint64(bound(dn, 1000, (uint256(1) << 39) - 1)); // every 39-bit block number
        vm.roll(blockNumber);
        vm.warp(t);
        vm.prank(KEY_A);
        ledger.anchorGuomi(root, TYPE_1, count);
        (bool anchored, bytes32 issuerId, address key, bytes32 typeCode, uint64 bn, uint64 ts) = ledger.anchorOf(root);
        assertTrue(anchored);
        assertEq(issuerId, ISSUER_A);
        assertEq(key, KEY_A);
        assertEq(typeCode, TYPE_1);
        assertEq(bn, blockNumber);
        assertEq(ts, t);
        assertEq(ledger.batchSuite(root), 2);
    }

    function testFuzz_anchor_suite1_blockNumberAndSuiteKept(bytes32 root, uint40 dn) public {
        vm.assume(root != bytes32(0));
        uint64 blockNumber = uint64(bound(dn, 1000, (uint256(1) << 39) - 1));
        vm.roll(blockNumber);
        _anchor(KEY_A, root, TYPE_1);
        (,,,, uint64 bn,) = ledger.anchorOf(root);
        assertEq(bn, blockNumber);
        assertEq(ledger.batchSuite(root), 1);
    }

    /// @notice Any proof bytes are carried and ignored; what decides is who sends for which batch.
    function testFuzz_revokeGuomi_anyProofAccepted_fromTheIssuer_refusedFromOthers(
        bytes32 cert,
        bytes32[] calldata proof,
        address sender
    ) public {
        _anchorGuomi(KEY_A, GROOT);
        vm.assume(sender != KEY_A);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotCertificateIssuer.selector, GROOT, sender));
        ledger.revokeGuomi(cert, GROOT, proof, 1);
        vm.prank(KEY_A);
        ledger.revokeGuomi(cert, GROOT, proof, 1);
        (uint8 s,,) = _status(cert, ISSUER_A);
        assertEq(s, 2);
    }
}
