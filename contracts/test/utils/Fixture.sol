// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Test code: every narrowing cast below is of a value already bounded to fit.
// forge-lint: disable-start(unsafe-typecast)

import {Test} from "./Test.sol";
import {Consortium} from "../../Consortium.sol";
import {IssuerRegistry} from "../../IssuerRegistry.sol";
import {RecognitionPolicy} from "../../RecognitionPolicy.sol";
import {AnchorLedger} from "../../AnchorLedger.sol";
import {StatusReader} from "../../StatusReader.sol";
import {NodeRegistry} from "../../NodeRegistry.sol";

/**
 * @notice A deployed, bound system with three genesis regions (北京 110000: 3 officers, 上海 310000 and
 * 广东 440000: 2 officers each, k = 2 everywhere), two certificate types, issuer A in 北京 and issuer B
 * in 上海, each with one signing key and authorised for TYPE_1.
 */
abstract contract Fixture is Test {
    uint32 internal constant BJ = 110000;
    uint32 internal constant SH = 310000;
    uint32 internal constant GD = 440000;
    uint32 internal constant ZJ = 330000; // not a genesis member

    uint64 internal constant T0 = 1_750_000_000; // 2025-06-15
    uint64 internal constant TTL = 7 days;

    bytes32 internal constant TYPE_1 = bytes32("11100000000013338W032");
    bytes32 internal constant TYPE_2 = bytes32("11100000000013338W009");
    bytes32 internal constant TYPE_3 = bytes32("11100000MB0143805R001"); // defined by tests that need it

    string internal constant CODE_A = "11330105002500287C";
    string internal constant CODE_B = "11310000002420299J";
    bytes32 internal ISSUER_A = keccak256(bytes(CODE_A));
    bytes32 internal ISSUER_B = keccak256(bytes(CODE_B));

    uint256 internal constant KEY_A_PK = 0xA11CE;
    uint256 internal constant KEY_A2_PK = 0xA11CE2;
    uint256 internal constant KEY_B_PK = 0xB0B;
    address internal KEY_A;
    address internal KEY_A2;
    address internal KEY_B;

    address internal bj1 = address(0xB1001);
    address internal bj2 = address(0xB1002);
    address internal bj3 = address(0xB1003);
    address internal sh1 = address(0x51001);
    address internal sh2 = address(0x51002);
    address internal gd1 = address(0x61001);
    address internal gd2 = address(0x61002);
    address internal stranger = address(0xBAD);

    address internal deployer = address(0xDE9);

    Consortium internal consortium;
    IssuerRegistry internal registry;
    RecognitionPolicy internal policy;
    AnchorLedger internal ledger;
    StatusReader internal reader;
    NodeRegistry internal nodes;

    function setUp() public virtual {
        vm.warp(T0);
        vm.roll(1000);
        KEY_A = vm.addr(KEY_A_PK);
        KEY_A2 = vm.addr(KEY_A2_PK);
        KEY_B = vm.addr(KEY_B_PK);
        vm.label(KEY_A, "KEY_A");
        vm.label(KEY_B, "KEY_B");

        _deploy();

        _consortium(
            abi.encodeCall(Consortium.defineType, (TYPE_1, unicode"居民身份证明", keccak256("schema-1"), 1, true))
        );
        _consortium(
            abi.encodeCall(Consortium.defineType, (TYPE_2, unicode"营业执照", keccak256("schema-2"), 1, true))
        );

        _registerIssuer(BJ, ISSUER_A, unicode"北京市某区市场监督管理局", KEY_A, TYPE_1);
        _registerIssuer(SH, ISSUER_B, unicode"上海市某区公安分局", KEY_B, TYPE_1);
    }

    function _deploy() internal {
        uint32[] memory regions = new uint32[](3);
        regions[0] = BJ;
        regions[1] = SH;
        regions[2] = GD;
        address[][] memory officers = new address[][](3);
        officers[0] = _list(bj1, bj2, bj3);
        officers[1] = _list(sh1, sh2);
        officers[2] = _list(gd1, gd2);
        vm.startPrank(deployer);
        consortium = new Consortium(regions, officers, new uint8[](0), 0);
        registry = new IssuerRegistry(consortium);
        policy = new RecognitionPolicy(consortium);
        ledger = new AnchorLedger(registry);
        nodes = new NodeRegistry(consortium);
        consortium.bindContracts(address(registry), address(policy), address(ledger), address(nodes));
        reader = new StatusReader(consortium);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ governance helpers

    function _list(address a, address b) internal pure returns (address[] memory l) {
        l = new address[](2);
        l[0] = a;
        l[1] = b;
    }

    function _list(address a, address b, address c) internal pure returns (address[] memory l) {
        l = new address[](3);
        l[0] = a;
        l[1] = b;
        l[2] = c;
    }

    function _first(uint32 region) internal view returns (address) {
        if (region == BJ) return bj1;
        if (region == SH) return sh1;
        return gd1;
    }

    function _second(uint32 region) internal view returns (address) {
        if (region == BJ) return bj2;
        if (region == SH) return sh2;
        return gd2;
    }

    /// @dev Proposes with the region's first officer and approves with its second: executes at k = 2.
    function _regional(uint32 region, address target, bytes memory data) internal returns (uint256 id) {
        vm.prank(_first(region));
        id = consortium.proposeRegional(region, target, data);
        vm.prank(_second(region));
        consortium.approve(id);
    }

    /// @dev Proposes with 北京 and approves with 上海: executes at the default quorum of 2 of 3.
    function _consortium(bytes memory data) internal returns (uint256 id) {
        vm.prank(bj1);
        id = consortium.proposeConsortium(address(consortium), data);
        vm.prank(sh1);
        consortium.approve(id);
    }

    /// @dev First step of {_regional}: the region's first officer proposes.
    function _proposeR(uint32 region, address target, bytes memory data) internal returns (uint256 id) {
        vm.prank(_first(region));
        id = consortium.proposeRegional(region, target, data);
    }

    /// @dev Second step of {_regional}: the region's second officer approves (executes at k = 2).
    function _approveR(uint32 region, uint256 id) internal {
        vm.prank(_second(region));
        consortium.approve(id);
    }

    /// @dev First step of {_consortium}: 北京 proposes.
    function _proposeC(bytes memory data) internal returns (uint256 id) {
        vm.prank(bj1);
        id = consortium.proposeConsortium(address(consortium), data);
    }

    /// @dev Second step of {_consortium}: 上海 approves (executes at quorum 2 of 3).
    function _approveC(uint256 id) internal {
        vm.prank(sh1);
        consortium.approve(id);
    }

    function _reg(uint32 region, bytes memory data) internal returns (uint256) {
        return _regional(region, address(registry), data);
    }

    function _registerIssuer(uint32 region, bytes32 id, string memory name, address key, bytes32 typeCode) internal {
        _reg(region, abi.encodeCall(IssuerRegistry.registerIssuer, (region, id, name)));
        _reg(region, abi.encodeCall(IssuerRegistry.addKey, (region, id, key, 0)));
        _reg(region, abi.encodeCall(IssuerRegistry.grantType, (region, id, typeCode)));
    }

    // ------------------------------------------------------------ anchoring helpers

    function _anchor(address key, bytes32 root, bytes32 typeCode) internal {
        vm.prank(key);
        ledger.anchor(root, typeCode, 1);
    }

    /// @dev StandardMerkleTree leaf of a bytes32 value.
    function _leaf(bytes32 v) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(v))));
    }

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev Two-certificate batch: root and the proof of each certificate.
    function _pair(bytes32 c1, bytes32 c2)
        internal
        pure
        returns (bytes32 root, bytes32[] memory p1, bytes32[] memory p2)
    {
        root = _hashPair(_leaf(c1), _leaf(c2));
        p1 = new bytes32[](1);
        p1[0] = _leaf(c2);
        p2 = new bytes32[](1);
        p2[0] = _leaf(c1);
    }

    function _noProof() internal pure returns (bytes32[] memory) {
        return new bytes32[](0);
    }
}
