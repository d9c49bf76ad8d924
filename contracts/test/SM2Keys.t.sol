// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {Consortium} from "../Consortium.sol";
import {IssuerRegistry} from "../IssuerRegistry.sol";

/**
 * @notice IssuerRegistry.addSM2Key: SM2 public keys (crypto suite 2, 国密) beside secp256k1 addresses.
 * The points and their ids were computed off chain with common.gm / common.suites.sm2_key_id
 * (GmSSL / Tongsuo), so these tests also pin the derivation both sides must share.
 */
contract SM2KeysTest is Fixture {
    event KeyAdded(bytes32 indexed issuerId, address indexed key, uint64 validFrom);
    event KeyRetired(bytes32 indexed issuerId, address indexed key, uint64 validUntil);
    event SM2KeyAdded(bytes32 indexed issuerId, address indexed key, bytes publicKey);

    /// @dev The SM2 base point G (GB/T 32918.5) and three random points, x || y.
    bytes internal constant PUB_G =
        hex"32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0";
    address internal constant ID_G = 0xc7aBce97e7F3169745738ECfEdDd453cc6E0d66b;
    bytes internal constant PUB_1 =
        hex"1a6a377249dc51347d48dc8480b9f80bdadca2da44b9087f7895a2352ee719fe55d86b19cabba50f3da6bb40895887babb025c44bedf5d59e0aa624ff40269f9";
    address internal constant ID_1 = 0x82fE96fa6A99dbe2B2c361d10198eA2e57a72b55;
    bytes internal constant PUB_2 =
        hex"cd6948802443ad1895601b27d9743b95e2778db243fe605ef23774cae76d3b6e7a2b3f99179ef67e0af8113f7ab10b79208b6a0cee0078a29b3e466dba63915f";
    address internal constant ID_2 = 0x71E4d18a0e45D79f8F14FC1DedbE40BB0b08ACBe;
    bytes internal constant PUB_3 =
        hex"98541e17d1041db67b35985de4c70371b9f859e41d6ec5f6d2a29931232217da7bc18aa5ab92425fad205c7ecda943bbe2dd880dc3357e56d6fed853c0da6ad7";
    address internal constant ID_3 = 0x3d24AeB6B9bCd9ADD24E1F3936c4007B8442dedE;

    uint256 internal constant SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF;

    function _addSM2(uint32 region, bytes32 issuerId, bytes memory pub, uint64 validFrom) internal {
        _reg(region, abi.encodeCall(IssuerRegistry.addSM2Key, (region, issuerId, pub, validFrom)));
    }

    /// @dev Executing a proposal that the registry refuses: the approval reverts with the registry's error.
    function _refusedSM2(bytes memory pub, bytes memory err) internal {
        uint256 id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.addSM2Key, (BJ, ISSUER_A, pub, 0)));
        vm.prank(bj2);
        vm.expectRevert(err);
        consortium.approve(id);
    }

    // ============================================================ adding

    function test_addSM2Key_derivesTheKeyIdOfCommonSuites() public pure {
        assertEq(address(uint160(uint256(keccak256(PUB_G)))), ID_G);
        assertEq(address(uint160(uint256(keccak256(PUB_1)))), ID_1);
    }

    function test_addSM2Key_storesThePublicKey_andEmitsKeyAddedThenSM2KeyAdded() public {
        vm.warp(T0 + 50);
        uint256 id =
            _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.addSM2Key, (BJ, ISSUER_A, PUB_1, T0 + 500)));
        vm.expectEmit(address(registry));
        emit KeyAdded(ISSUER_A, ID_1, T0 + 500);
        vm.expectEmit(address(registry));
        emit SM2KeyAdded(ISSUER_A, ID_1, PUB_1);
        _approveR(BJ, id);

        assertEq(registry.sm2PublicKey(ID_1), PUB_1);
        (bytes32 issuerId, uint64 validFrom, uint64 validUntil) = registry.keyInfo(ID_1);
        assertEq(issuerId, ISSUER_A);
        assertEq(validFrom, T0 + 500);
        assertEq(validUntil, 0);
        assertFalse(registry.isKeyValidAt(ID_1, T0 + 499));
        assertTrue(registry.isKeyValidAt(ID_1, T0 + 500));
    }

    function test_addSM2Key_pastValidFromIsRaisedToNow_likeAddKey() public {
        vm.warp(T0 + 50);
        uint256 id =
            _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.addSM2Key, (BJ, ISSUER_A, PUB_G, 0)));
        vm.expectEmit(address(registry));
        emit KeyAdded(ISSUER_A, ID_G, T0 + 50);
        _approveR(BJ, id);
        (, uint64 validFrom,) = registry.keyInfo(ID_G);
        assertEq(validFrom, T0 + 50);
    }

    function test_sm2PublicKey_isEmptyForSecp256k1AndUnknownKeys() public view {
        assertEq(registry.sm2PublicKey(KEY_A).length, 0);
        assertEq(registry.sm2PublicKey(stranger).length, 0);
        assertEq(registry.sm2PublicKey(ID_2).length, 0);
    }

    function test_addSM2Key_sameRulesAsAddKey_refusals() public {
        _addSM2(BJ, ISSUER_A, PUB_1, 0);
        // the same key again, to the same or another issuer
        _refusedSM2(PUB_1, abi.encodeWithSelector(IssuerRegistry.KeyAlreadyRegistered.selector, ID_1));
        uint256 id =
            _proposeR(SH, address(registry), abi.encodeCall(IssuerRegistry.addSM2Key, (SH, ISSUER_B, PUB_1, 0)));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyAlreadyRegistered.selector, ID_1));
        consortium.approve(id);
        // another region's issuer
        id = _proposeR(SH, address(registry), abi.encodeCall(IssuerRegistry.addSM2Key, (SH, ISSUER_A, PUB_2, 0)));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerWrongRegion.selector, ISSUER_A, SH));
        consortium.approve(id);
        // an unknown issuer
        bytes32 nobody = keccak256("nobody");
        id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.addSM2Key, (BJ, nobody, PUB_2, 0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.UnknownIssuer.selector, nobody));
        consortium.approve(id);
        // a revoked issuer
        _reg(BJ, abi.encodeCall(IssuerRegistry.revokeIssuer, (BJ, ISSUER_A, T0)));
        _refusedSM2(PUB_2, abi.encodeWithSelector(IssuerRegistry.IssuerAlreadyRevoked.selector, ISSUER_A));
        assertEq(registry.sm2PublicKey(ID_2).length, 0);
    }

    function test_addSM2Key_secp256k1AddressAlreadyRegistered_refused() public {
        // an SM2 id cannot take over an address already in the key table (and vice versa)
        _addSM2(BJ, ISSUER_A, PUB_3, 0);
        uint256 id = _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.addKey, (BJ, ISSUER_A, ID_3, 0)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyAlreadyRegistered.selector, ID_3));
        consortium.approve(id);
    }

    function test_addSM2Key_wrongLength_refused() public {
        _refusedSM2(hex"", abi.encodeWithSelector(IssuerRegistry.SM2KeyWrongLength.selector, 0));
        // the 65-byte 04 || x || y form is refused: the registry takes x || y only
        _refusedSM2(bytes.concat(hex"04", PUB_1), abi.encodeWithSelector(IssuerRegistry.SM2KeyWrongLength.selector, 65));
        // a compressed key
        _refusedSM2(
            bytes.concat(hex"02", bytes32(0x1a6a377249dc51347d48dc8480b9f80bdadca2da44b9087f7895a2352ee719fe)),
            abi.encodeWithSelector(IssuerRegistry.SM2KeyWrongLength.selector, 33)
        );
    }

    function test_addSM2Key_allZero_refused() public {
        _refusedSM2(new bytes(64), abi.encodeWithSelector(IssuerRegistry.InvalidKey.selector));
    }

    function test_addSM2Key_pointOffTheCurve_refused() public {
        bytes memory typo = bytes.concat(PUB_1);
        typo[63] = bytes1(uint8(typo[63]) ^ 1);
        _refusedSM2(typo, abi.encodeWithSelector(IssuerRegistry.SM2KeyNotOnCurve.selector));
        // coordinates at or above p are refused, not reduced
        _refusedSM2(
            bytes.concat(bytes32(SM2_P), bytes32(SM2_P)),
            abi.encodeWithSelector(IssuerRegistry.SM2KeyNotOnCurve.selector)
        );
        // G's x with y = 2^256 - 1 (the first word of the key is G's x)
        _refusedSM2(
            bytes.concat(
                bytes32(0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7), bytes32(type(uint256).max)
            ),
            abi.encodeWithSelector(IssuerRegistry.SM2KeyNotOnCurve.selector)
        );
    }

    function test_addSM2Key_onlyConsortium() public {
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.NotConsortium.selector, bj1));
        registry.addSM2Key(BJ, ISSUER_A, PUB_1, 0);
        vm.prank(KEY_A);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.NotConsortium.selector, KEY_A));
        registry.addSM2Key(BJ, ISSUER_A, PUB_1, 0);
    }

    function test_addSM2Key_otherRegionsOfficersCannotPropose() public {
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.RegionMismatch.selector, SH, uint256(BJ)));
        consortium.proposeRegional(
            SH, address(registry), abi.encodeCall(IssuerRegistry.addSM2Key, (BJ, ISSUER_A, PUB_1, 0))
        );
    }

    // ============================================================ lifecycle

    function test_retireKey_worksUnchangedForSM2Keys_andKeepsThePublicKey() public {
        _addSM2(BJ, ISSUER_A, PUB_1, 0);
        vm.warp(T0 + 100);
        uint256 id =
            _proposeR(BJ, address(registry), abi.encodeCall(IssuerRegistry.retireKey, (BJ, ISSUER_A, ID_1, T0 + 80)));
        vm.expectEmit(address(registry));
        emit KeyRetired(ISSUER_A, ID_1, T0 + 80);
        _approveR(BJ, id);
        assertTrue(registry.isKeyValidAt(ID_1, T0 + 79));
        assertFalse(registry.isKeyValidAt(ID_1, T0 + 80));
        // old signatures stay checkable: the public key outlives the window
        assertEq(registry.sm2PublicKey(ID_1), PUB_1);
        // another region cannot retire it
        id = _proposeR(SH, address(registry), abi.encodeCall(IssuerRegistry.retireKey, (SH, ISSUER_B, ID_1, T0 + 90)));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.KeyNotOfIssuer.selector, ID_1, ISSUER_B));
        consortium.approve(id);
    }

    /// @notice An SM2 key id is an address nobody holds a transaction key for; even a sender at that
    /// address (pranked here, impossible on a real chain) is only what the key table says: it is not
    /// refused for being SM2 — which is why the NatSpec says anchoring needs a secp256k1 key.
    function test_sm2Key_isAKeyOfItsIssuer_inTheAnchorGate() public {
        _addSM2(BJ, ISSUER_A, PUB_1, 0);
        (bytes32 issuerId,) = registry.anchorCheck(ID_1, TYPE_1);
        assertEq(issuerId, ISSUER_A);
        // the department keeps anchoring with its secp256k1 key
        vm.prank(KEY_A);
        ledger.anchorGuomi(keccak256("batch"), TYPE_1, 1);
        assertEq(ledger.batchSuite(keccak256("batch")), 2);
    }

    // ============================================================ fuzz

    function testFuzz_addSM2Key_anyLengthBut64_refused(bytes calldata pub) public {
        vm.assume(pub.length != 64);
        vm.prank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.SM2KeyWrongLength.selector, pub.length));
        registry.addSM2Key(BJ, ISSUER_A, pub, 0);
    }

    function testFuzz_addSM2Key_randomPointsRefused(bytes32 x, bytes32 y) public {
        // a random pair is on the curve with probability ~2^-256; G and the fixed points are excluded
        vm.assume(keccak256(bytes.concat(x, y)) != keccak256(PUB_G));
        vm.prank(address(consortium));
        if (x == bytes32(0) && y == bytes32(0)) {
            vm.expectRevert(IssuerRegistry.InvalidKey.selector);
        } else {
            vm.expectRevert(IssuerRegistry.SM2KeyNotOnCurve.selector);
        }
        registry.addSM2Key(BJ, ISSUER_A, bytes.concat(x, y), 0);
    }

    function testFuzz_addSM2Key_validPoints_roundTrip(uint8 which, uint64 validFrom) public {
        bytes[4] memory pubs = [PUB_G, PUB_1, PUB_2, PUB_3];
        bytes memory pub = pubs[which % 4];
        address id = address(uint160(uint256(keccak256(pub))));
        vm.prank(address(consortium));
        registry.addSM2Key(BJ, ISSUER_A, pub, validFrom);
        assertEq(registry.sm2PublicKey(id), pub);
        (bytes32 issuerId, uint64 from,) = registry.keyInfo(id);
        assertEq(issuerId, ISSUER_A);
        assertEq(from, validFrom < T0 ? T0 : validFrom);
    }
}
