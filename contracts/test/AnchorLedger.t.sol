// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Test code: every narrowing cast below is of a value already bounded to fit.
// forge-lint: disable-start(unsafe-typecast)

import {Fixture} from "./utils/Fixture.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {Consortium} from "../Consortium.sol";
import {IssuerRegistry} from "../IssuerRegistry.sol";
import {AnchorLedger} from "../AnchorLedger.sol";
import {StatusReader} from "../StatusReader.sol";

contract AnchorLedgerTest is Fixture {
    bytes32 internal constant CERT_1 = keccak256("document root 1");
    bytes32 internal constant CERT_2 = keccak256("document root 2");
    bytes32 internal ROOT;
    bytes32[] internal PROOF_1;
    bytes32[] internal PROOF_2;

    function setUp() public override {
        super.setUp();
        (ROOT, PROOF_1, PROOF_2) = _pair(CERT_1, CERT_2);
    }

    function _certStatus(bytes32 cert, bytes32 issuerId) internal view returns (uint8 s) {
        (s,,) = ledger.certificateStatus(cert, issuerId);
    }

    // ============================================================ anchor

    function test_anchor_records_andEmits() public {
        vm.roll(4242);
        vm.warp(T0 + 77);
        vm.expectEmit(address(ledger));
        emit AnchorLedger.Anchored(ROOT, ISSUER_A, KEY_A, TYPE_1, 2, T0 + 77);
        vm.prank(KEY_A);
        ledger.anchor(ROOT, TYPE_1, 2);

        (bool anchored, bytes32 issuerId, address key, bytes32 typeCode, uint64 blockNumber, uint64 ts) =
            ledger.anchorOf(ROOT);
        assertTrue(anchored);
        assertEq(issuerId, ISSUER_A);
        assertEq(key, KEY_A);
        assertEq(typeCode, TYPE_1);
        assertEq(blockNumber, 4242);
        assertEq(ts, T0 + 77);

        (anchored, issuerId, key, typeCode, blockNumber, ts) = ledger.anchorOf(keccak256("never"));
        assertFalse(anchored);
        assertEq(issuerId, bytes32(0));
        assertEq(key, address(0));
        assertEq(typeCode, bytes32(0));
        assertEq(blockNumber, 0);
        assertEq(ts, 0);
    }

    function test_anchor_refusals() public {
        vm.startPrank(KEY_A);
        vm.expectRevert(AnchorLedger.EmptyRoot.selector);
        ledger.anchor(bytes32(0), TYPE_1, 1);
        vm.expectRevert(AnchorLedger.EmptyBatch.selector);
        ledger.anchor(ROOT, TYPE_1, 0);
        // unauthorised type
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.TypeNotAuthorised.selector, ISSUER_A, TYPE_2));
        ledger.anchor(ROOT, TYPE_2, 1);
        // undefined type (never granted either)
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.TypeNotAuthorised.selector, ISSUER_A, TYPE_3));
        ledger.anchor(ROOT, TYPE_3, 1);
        ledger.anchor(ROOT, TYPE_1, 1);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.RootAlreadyAnchored.selector, ROOT));
        ledger.anchor(ROOT, TYPE_1, 1);
        vm.stopPrank();
        // a duplicate by another issuer is refused too
        vm.prank(KEY_B);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.RootAlreadyAnchored.selector, ROOT));
        ledger.anchor(ROOT, TYPE_1, 1);
        // non-key senders: an officer, a stranger
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.UnknownKey.selector, bj1));
        ledger.anchor(keccak256("o"), TYPE_1, 1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.UnknownKey.selector, stranger));
        ledger.anchor(keccak256("s"), TYPE_1, 1);
    }

    function test_anchor_suspendedIssuer_refused_thenReinstated() public {
        _anchor(KEY_A, ROOT, TYPE_1);
        _reg(BJ, abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerNotActive.selector, uint8(2)));
        ledger.anchor(keccak256("during suspension"), TYPE_1, 1);
        // existing certificates stay anchored and can still be managed
        (bool anchored,,,,,) = ledger.anchorOf(ROOT);
        assertTrue(anchored);
        vm.prank(KEY_A);
        ledger.suspendCertificate(CERT_1, ROOT, PROOF_1, 1);
        _reg(BJ, abi.encodeCall(IssuerRegistry.reinstateIssuer, (BJ, ISSUER_A)));
        _anchor(KEY_A, keccak256("during suspension"), TYPE_1);
    }

    function test_anchor_revokedIssuer_refused() public {
        _reg(BJ, abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0)));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerNotActive.selector, uint8(3)));
        ledger.anchor(ROOT, TYPE_1, 1);
    }

    function test_anchor_retiredKey_refused() public {
        vm.warp(T0 + 10);
        _reg(BJ, abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 + 10)));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyNotValid.selector, KEY_A, T0 + 10));
        ledger.anchor(ROOT, TYPE_1, 1);
    }

    // ============================================================ certificate status

    function test_revoke_success_andFinal() public {
        _anchor(KEY_A, ROOT, TYPE_1);
        vm.warp(T0 + 60);
        vm.expectEmit(address(ledger));
        emit AnchorLedger.CertificateStatusChanged(CERT_1, ROOT, ISSUER_A, 2, 7, T0 + 60);
        vm.prank(KEY_A);
        ledger.revokeCertificate(CERT_1, ROOT, PROOF_1, 7);
        (uint8 status, uint64 since, uint8 reason) = ledger.certificateStatus(CERT_1, ISSUER_A);
        assertEq(status, 2);
        assertEq(since, T0 + 60);
        assertEq(reason, 7);
        assertEq(_certStatus(CERT_2, ISSUER_A), 0, "sibling affected");

        vm.startPrank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateRevoked.selector, CERT_1));
        ledger.revokeCertificate(CERT_1, ROOT, PROOF_1, 1);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateRevoked.selector, CERT_1));
        ledger.suspendCertificate(CERT_1, ROOT, PROOF_1, 1);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateRevoked.selector, CERT_1));
        ledger.reinstateCertificate(CERT_1, ROOT, PROOF_1);
        vm.stopPrank();
        // a new key of the same issuer cannot undo it either
        _reg(BJ, abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, KEY_A2, 0)));
        vm.prank(KEY_A2);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateRevoked.selector, CERT_1));
        ledger.reinstateCertificate(CERT_1, ROOT, PROOF_1);
    }

    function test_suspend_reinstate_revoke() public {
        _anchor(KEY_A, ROOT, TYPE_1);
        vm.startPrank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateNotSuspended.selector, CERT_2));
        ledger.reinstateCertificate(CERT_2, ROOT, PROOF_2);

        vm.expectEmit(address(ledger));
        emit AnchorLedger.CertificateStatusChanged(CERT_2, ROOT, ISSUER_A, 1, 3, T0);
        ledger.suspendCertificate(CERT_2, ROOT, PROOF_2, 3);
        assertEq(_certStatus(CERT_2, ISSUER_A), 1);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateNotInForce.selector, CERT_2));
        ledger.suspendCertificate(CERT_2, ROOT, PROOF_2, 3);

        vm.warp(T0 + 5);
        vm.expectEmit(address(ledger));
        emit AnchorLedger.CertificateStatusChanged(CERT_2, ROOT, ISSUER_A, 0, 0, T0 + 5);
        ledger.reinstateCertificate(CERT_2, ROOT, PROOF_2);
        (uint8 status, uint64 since, uint8 reason) = ledger.certificateStatus(CERT_2, ISSUER_A);
        assertEq(status, 0);
        assertEq(since, T0 + 5);
        assertEq(reason, 0);

        ledger.suspendCertificate(CERT_2, ROOT, PROOF_2, 3);
        ledger.revokeCertificate(CERT_2, ROOT, PROOF_2, 4); // from suspended
        assertEq(_certStatus(CERT_2, ISSUER_A), 2);
        vm.stopPrank();
    }

    function test_statusChange_someoneElsesCertificate() public {
        _anchor(KEY_A, ROOT, TYPE_1);
        // another issuer's valid key
        vm.prank(KEY_B);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotCertificateIssuer.selector, ROOT, KEY_B));
        ledger.revokeCertificate(CERT_1, ROOT, PROOF_1, 1);
        vm.prank(KEY_B);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotCertificateIssuer.selector, ROOT, KEY_B));
        ledger.suspendCertificate(CERT_1, ROOT, PROOF_1, 1);
        vm.prank(KEY_B);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotCertificateIssuer.selector, ROOT, KEY_B));
        ledger.reinstateCertificate(CERT_1, ROOT, PROOF_1);
        // an officer of the issuer's own region is not the issuer
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotCertificateIssuer.selector, ROOT, bj1));
        ledger.revokeCertificate(CERT_1, ROOT, PROOF_1, 1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotCertificateIssuer.selector, ROOT, stranger));
        ledger.revokeCertificate(CERT_1, ROOT, PROOF_1, 1);
    }

    function test_statusChange_retiredKey_refused_rotatedKey_allowed() public {
        _anchor(KEY_A, ROOT, TYPE_1);
        vm.warp(T0 + 100);
        _reg(BJ, abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, KEY_A2, 0)));
        _reg(BJ, abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, KEY_A, T0 + 100)));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotCertificateIssuer.selector, ROOT, KEY_A));
        ledger.revokeCertificate(CERT_1, ROOT, PROOF_1, 1);
        // the issuer's new key manages certificates anchored with the old one
        vm.prank(KEY_A2);
        ledger.revokeCertificate(CERT_1, ROOT, PROOF_1, 1);
        assertEq(_certStatus(CERT_1, ISSUER_A), 2);
    }

    function test_statusChange_revokedIssuer_refused_suspendedIssuer_allowed() public {
        _anchor(KEY_A, ROOT, TYPE_1);
        _reg(BJ, abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));
        vm.prank(KEY_A);
        ledger.suspendCertificate(CERT_1, ROOT, PROOF_1, 2);
        _reg(BJ, abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0)));
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.IssuerRevoked.selector, ISSUER_A));
        ledger.revokeCertificate(CERT_2, ROOT, PROOF_2, 1);
    }

    function test_statusChange_notInBatch_andUnanchored() public {
        _anchor(KEY_A, ROOT, TYPE_1);
        vm.startPrank(KEY_A);
        bytes32 outsider = keccak256("not in the batch");
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotInBatch.selector, outsider, ROOT));
        ledger.revokeCertificate(outsider, ROOT, PROOF_1, 1);
        // the right certificate with the wrong proof
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotInBatch.selector, CERT_1, ROOT));
        ledger.suspendCertificate(CERT_1, ROOT, PROOF_2, 1);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotInBatch.selector, CERT_1, ROOT));
        ledger.reinstateCertificate(CERT_1, ROOT, _noProof());
        // the batch root itself is not a certificate
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.NotInBatch.selector, ROOT, ROOT));
        ledger.revokeCertificate(ROOT, ROOT, _noProof(), 1);
        bytes32 unknownRoot = keccak256("unknown root");
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.RootNotAnchored.selector, unknownRoot));
        ledger.revokeCertificate(CERT_1, unknownRoot, PROOF_1, 1);
        vm.stopPrank();
    }

    /// @notice Issuer B cannot revoke (nor block the revocation of) issuer A's certificate by
    /// putting A's document root into a batch of its own.
    function test_status_isScopedToIssuer() public {
        _anchor(KEY_A, ROOT, TYPE_1);
        bytes32 rootB = _leaf(CERT_1); // single-certificate batch: root = leaf, empty proof
        _anchor(KEY_B, rootB, TYPE_1);
        vm.prank(KEY_B);
        ledger.revokeCertificate(CERT_1, rootB, _noProof(), 9);
        assertEq(_certStatus(CERT_1, ISSUER_B), 2);
        assertEq(_certStatus(CERT_1, ISSUER_A), 0, "B's revocation leaked into A's certificate");
        vm.prank(KEY_A);
        ledger.suspendCertificate(CERT_1, ROOT, PROOF_1, 1);
        assertEq(_certStatus(CERT_1, ISSUER_A), 1);
    }

    /// @notice A re-anchored certificate carries its status: it is per issuer, not per batch.
    function test_status_followsCertificateAcrossBatchesOfSameIssuer() public {
        _anchor(KEY_A, ROOT, TYPE_1);
        bytes32 root2 = _leaf(CERT_1);
        _anchor(KEY_A, root2, TYPE_1);
        vm.prank(KEY_A);
        ledger.revokeCertificate(CERT_1, ROOT, PROOF_1, 1);
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.CertificateRevoked.selector, CERT_1));
        ledger.reinstateCertificate(CERT_1, root2, _noProof());
    }

    // ============================================================ inclusion and EIP-712

    /// @notice Vectors produced by @openzeppelin/merkle-tree 1.0.8 (StandardMerkleTree.of(values, ["bytes32"])).
    function test_verifyInclusion_openZeppelinJsVectors() public view {
        bytes32 root = 0xe7c721f49e1bd4f6165bdf4963fd60b8953adc3facfd20da95a0786f71c046b3;
        bytes32 v1 = 0xf890922eb1d70a2526116601eb9de95ea67cb020ce9d90eec87a2d33feed7fc1;
        bytes32[] memory p1 = new bytes32[](3);
        p1[0] = 0x08aefda45428c16ccb3cc1e5dc24f9d348432b9c6a69cfbcfe94b3f898cacc78;
        p1[1] = 0xdeab0a93933595b8b8592df513d3717468141959ee2fe5b57ad8e748369f1f3b;
        p1[2] = 0xba743af303b577c1d33e761a87a15488aba0bb32c60c943f33e397492102da79;
        assertTrue(ledger.verifyInclusion(v1, root, p1));
        bytes32 v4 = 0xe0a828c4199ef8222423b2b028c57f063a79fdae9a474710cd10a2f7b595ceee;
        bytes32[] memory p4 = new bytes32[](2);
        p4[0] = 0xd5068e17994d722f767f2a129c580b8d5ddcbadc8fe8df8f0b59d4c44d4edc8b;
        p4[1] = 0x026cb973800bf4110d1d697cd369a2087c5abdc9a080228c9a74079fa52ef54f;
        assertTrue(ledger.verifyInclusion(v4, root, p4));
        assertFalse(ledger.verifyInclusion(v1, root, p4));
        assertFalse(ledger.verifyInclusion(v4, root, p1));
    }

    function test_verifyInclusion_andLeaf() public view {
        assertTrue(ledger.verifyInclusion(CERT_1, ROOT, PROOF_1));
        assertTrue(ledger.verifyInclusion(CERT_2, ROOT, PROOF_2));
        assertFalse(ledger.verifyInclusion(CERT_2, ROOT, PROOF_1));
        assertEq(ledger.leafOf(CERT_1), keccak256(bytes.concat(keccak256(abi.encode(CERT_1)))));
        // a single-certificate batch: the root is the leaf, the proof empty
        assertTrue(ledger.verifyInclusion(CERT_1, _leaf(CERT_1), _noProof()));
        assertFalse(ledger.verifyInclusion(CERT_1, CERT_1, _noProof()));
    }

    function test_eip712Domain() public view {
        (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        ) = ledger.eip712Domain();
        assertEq(uint256(uint8(fields)), 0x0f);
        assertEq(name, "Huren");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(ledger));
        assertEq(salt, bytes32(0));
        assertEq(extensions.length, 0);
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Huren"),
                keccak256("1"),
                block.chainid,
                address(ledger)
            )
        );
        assertEq(ledger.domainSeparator(), expected);
    }

    /// @notice An issuer key's EIP-712 signature over a document root recovers to the key.
    function test_eip712_documentSignatureRecovers() public view {
        bytes32 structHash = keccak256(abi.encode(keccak256("Document(bytes32 root)"), CERT_1));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", ledger.domainSeparator(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(KEY_A_PK, digest);
        assertEq(ecrecover(digest, v, r, s), KEY_A);
    }

    // ============================================================ fuzz

    /// @notice Any non-zero root anchors once, with its exact record; a second time never.
    function testFuzz_anchor_anyRoot(bytes32 root, uint32 count, uint40 dt, uint40 dn) public {
        vm.assume(root != bytes32(0));
        count = uint32(bound(count, 1, type(uint32).max));
        uint64 t = T0 + uint64(bound(dt, 0, 100 * 365 days));
        uint64 n = 1000 + uint64(bound(dn, 0, (uint256(1) << 39) - 1001)); // 39 bits: bit 239 is the suite flag
        vm.warp(t);
        vm.roll(n);
        vm.prank(KEY_A);
        ledger.anchor(root, TYPE_1, count);
        (bool anchored, bytes32 issuerId, address key, bytes32 typeCode, uint64 blockNumber, uint64 ts) =
            ledger.anchorOf(root);
        assertTrue(anchored);
        assertEq(issuerId, ISSUER_A);
        assertEq(key, KEY_A);
        assertEq(typeCode, TYPE_1);
        assertEq(blockNumber, n);
        assertEq(ts, t);
        vm.prank(KEY_B);
        vm.expectRevert(abi.encodeWithSelector(AnchorLedger.RootAlreadyAnchored.selector, root));
        ledger.anchor(root, TYPE_1, count);
    }

    /// @notice Unregistered senders never anchor.
    function testFuzz_anchor_unknownKeyRefused(address sender, bytes32 root) public {
        vm.assume(sender != KEY_A && sender != KEY_B && root != bytes32(0));
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.UnknownKey.selector, sender));
        ledger.anchor(root, TYPE_1, 1);
    }

    /// @notice Inclusion in a fuzzed sorted-pair tree built in Solidity; revocation through it.
    function testFuzz_merkleInclusion_andRevoke(bytes32 seed, uint8 sizeRaw, uint8 indexRaw) public {
        uint256 size = bound(sizeRaw, 1, 64);
        uint256 index = bound(indexRaw, 0, size - 1);
        bytes32[] memory certs = new bytes32[](size);
        for (uint256 i = 0; i < size; ++i) {
            certs[i] = keccak256(abi.encode(seed, i));
        }
        (bytes32 root, bytes32[] memory proof) = MerkleBuilder.build(certs, index);
        assertTrue(ledger.verifyInclusion(certs[index], root, proof));
        assertFalse(ledger.verifyInclusion(keccak256(abi.encode(seed, size)), root, proof));
        if (size > 1) {
            uint256 other = (index + 1) % size;
            assertFalse(ledger.verifyInclusion(certs[other], root, proof));
        }
        _anchor(KEY_A, root, TYPE_1);
        vm.prank(KEY_A);
        ledger.revokeCertificate(certs[index], root, proof, 1);
        assertEq(_certStatus(certs[index], ISSUER_A), 2);
        vm.prank(KEY_A);
        vm.expectRevert(
            abi.encodeWithSelector(AnchorLedger.NotInBatch.selector, keccak256(abi.encode(seed, size)), root)
        );
        ledger.revokeCertificate(keccak256(abi.encode(seed, size)), root, proof, 1);
    }

    /// @notice A backdated issuer revocation splits the issuer's anchors exactly at effectiveFrom:
    /// what a verifier reads (anchorTime vs issuerRevokedFrom) voids those at or after it only,
    /// and the issuer can anchor nothing afterwards.
    function testFuzz_backdatedRevocationSplitsAnchors(uint64 step, uint64 cut) public {
        step = uint64(bound(step, 1, 1 days));
        uint256 n = 8;
        bytes32[] memory roots = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            vm.warp(T0 + i * step);
            roots[i] = keccak256(abi.encode("batch", i));
            _anchor(KEY_A, roots[i], TYPE_1);
        }
        uint64 end = T0 + uint64(n) * step;
        vm.warp(end);
        uint64 effectiveFrom = uint64(bound(cut, T0, end));
        _reg(BJ, abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, effectiveFrom)));

        uint256 voided;
        for (uint256 i = 0; i < n; ++i) {
            StatusReader.VerificationFacts memory f = reader.facts(roots[i], bytes32(0), KEY_A, BJ);
            assertTrue(f.anchored);
            assertEq(f.issuerStatus, 3);
            assertEq(f.issuerRevokedFrom, effectiveFrom);
            assertTrue(f.anchorKeyValidAtAnchor);
            bool isVoid = f.anchorTime >= f.issuerRevokedFrom;
            assertEq(isVoid, T0 + i * step >= effectiveFrom);
            if (isVoid) ++voided;
        }
        uint256 expectedVoid = effectiveFrom <= T0 ? n : (n - 1 - (effectiveFrom - T0 - 1) / step);
        assertEq(voided, expectedVoid);

        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerNotActive.selector, uint8(3)));
        ledger.anchor(keccak256("after revocation"), TYPE_1, 1);
    }
}
