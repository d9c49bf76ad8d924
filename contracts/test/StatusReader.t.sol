// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {Consortium} from "../Consortium.sol";
import {IssuerRegistry} from "../IssuerRegistry.sol";
import {RecognitionPolicy} from "../RecognitionPolicy.sol";
import {StatusReader} from "../StatusReader.sol";

contract StatusReaderTest is Fixture {
    bytes32 internal constant CERT_1 = keccak256("document root 1");
    bytes32 internal constant CERT_2 = keccak256("document root 2");
    bytes32 internal ROOT;
    bytes32[] internal PROOF_1;

    function setUp() public override {
        super.setUp();
        (ROOT, PROOF_1,) = _pair(CERT_1, CERT_2);
        vm.roll(2000);
        vm.warp(T0 + 100);
        _anchor(KEY_A, ROOT, TYPE_1);
    }

    function test_facts_validCertificate_ownRegion() public {
        vm.roll(2010);
        vm.warp(T0 + 200);
        StatusReader.VerificationFacts memory f = reader.facts(ROOT, CERT_1, KEY_A, BJ);
        assertTrue(f.anchored);
        assertEq(f.issuerId, ISSUER_A);
        assertEq(f.issuerRegion, BJ);
        assertEq(f.issuerStatus, 1);
        assertEq(f.issuerRevokedFrom, 0);
        assertEq(f.anchorKey, KEY_A);
        assertTrue(f.anchorKeyValidAtAnchor);
        assertEq(f.signerIssuerId, ISSUER_A);
        assertEq(f.signerValidFrom, T0);
        assertEq(f.signerValidUntil, 0);
        assertEq(f.typeCode, TYPE_1);
        assertTrue(f.typeAuthorisedNow);
        assertTrue(f.typeActive);
        assertEq(f.anchorBlock, 2000);
        assertEq(f.anchorTime, T0 + 100);
        assertEq(f.certStatus, 0);
        assertEq(f.certStatusSince, 0);
        assertTrue(f.recognisedNow);
        assertEq(f.blockNumber, 2010);
        assertEq(f.blockTime, T0 + 200);
    }

    function test_facts_recognition_otherRegion() public {
        StatusReader.VerificationFacts memory f = reader.facts(ROOT, CERT_1, KEY_A, SH);
        assertFalse(f.recognisedNow);
        _regional(SH, address(policy), abi.encodeCall(RecognitionPolicy.setRecognition, (SH, TYPE_1, BJ, T0, 0)));
        f = reader.facts(ROOT, CERT_1, KEY_A, SH);
        assertTrue(f.recognisedNow);
    }

    function test_facts_afterChanges() public {
        vm.warp(T0 + 300);
        vm.prank(KEY_A);
        ledger.revokeCertificate(CERT_1, ROOT, PROOF_1, 5);
        _reg(BJ, abi.encodeCall(IssuerRegistry.withdrawType, (BJ, ISSUER_A, TYPE_1)));
        _consortium(abi.encodeCall(Consortium.defineType, (TYPE_1, "off", bytes32(0), 2, false)));
        _reg(BJ, abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, KEY_A2, 0)));
        _reg(BJ, abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 + 50)));
        _reg(BJ, abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0 + 100)));

        StatusReader.VerificationFacts memory f = reader.facts(ROOT, CERT_1, KEY_A, BJ);
        assertEq(f.certStatus, 2);
        assertEq(f.certStatusSince, T0 + 300);
        assertFalse(f.typeAuthorisedNow);
        assertFalse(f.typeActive);
        assertFalse(f.anchorKeyValidAtAnchor, "backdated key retirement not reflected");
        assertEq(f.signerValidUntil, T0 + 50);
        assertEq(f.issuerStatus, 3);
        assertEq(f.issuerRevokedFrom, T0 + 100);
        // the sibling is untouched
        f = reader.facts(ROOT, CERT_2, KEY_A2, BJ);
        assertEq(f.certStatus, 0);
        assertEq(f.signerIssuerId, ISSUER_A);
        assertEq(f.signerValidFrom, T0 + 300);
    }

    function test_facts_notAnchored_describesSigner() public view {
        StatusReader.VerificationFacts memory f = reader.facts(keccak256("forged"), CERT_1, KEY_B, BJ);
        assertFalse(f.anchored);
        assertEq(f.issuerId, ISSUER_B);
        assertEq(f.issuerRegion, SH);
        assertEq(f.issuerStatus, 1);
        assertEq(f.anchorKey, address(0));
        assertFalse(f.anchorKeyValidAtAnchor);
        assertEq(f.typeCode, bytes32(0));
        assertFalse(f.recognisedNow);

        f = reader.facts(keccak256("forged"), CERT_1, stranger, BJ);
        assertFalse(f.anchored);
        assertEq(f.issuerId, bytes32(0));
        assertEq(f.signerIssuerId, bytes32(0));
        assertEq(f.issuerStatus, 0);
    }

    function test_facts_signerOfAnotherIssuer() public view {
        StatusReader.VerificationFacts memory f = reader.facts(ROOT, CERT_1, KEY_B, BJ);
        assertEq(f.issuerId, ISSUER_A);
        assertEq(f.signerIssuerId, ISSUER_B);
    }

    function test_facts_unbound_reverts() public {
        uint32[] memory regions = new uint32[](1);
        regions[0] = BJ;
        address[][] memory offs = new address[][](1);
        offs[0] = _list(address(0xF1), address(0xF2));
        Consortium c = new Consortium(regions, offs, new uint8[](0), 0);
        StatusReader r = new StatusReader(c);
        vm.expectRevert(StatusReader.NotBound.selector);
        r.facts(ROOT, CERT_1, KEY_A, BJ);
    }
}
