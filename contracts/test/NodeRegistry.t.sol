// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Test code: every narrowing cast below is of a value already bounded to fit.
// forge-lint: disable-start(unsafe-typecast)

import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Vm.sol";
import {Consortium} from "../Consortium.sol";
import {NodeRegistry} from "../NodeRegistry.sol";

/// @dev Shared helpers: node registry changes as 双人双锁 proposals of the fixture's regions.
abstract contract NodeFixture is Fixture {
    string internal constant URL_BJ = "https://huren.beijing.gov.cn";
    string internal constant URL_SH = "https://huren.sh.gov.cn";

    event NodeRegistered(uint32 indexed region, string baseUrl, uint64 at);
    event NodeUrlChanged(uint32 indexed region, string baseUrl, uint64 at);
    event NodeRemoved(uint32 indexed region, uint64 at);
    event NodeKeyAdded(
        uint32 indexed region,
        bytes32 indexed keyId,
        uint8 suite,
        uint8 algorithm,
        uint8 purpose,
        bytes publicKey,
        uint64 validFrom
    );
    event NodeKeyRetired(uint32 indexed region, bytes32 indexed keyId, uint64 validUntil);

    function _node(uint32 region, bytes memory data) internal returns (uint256) {
        return _regional(region, address(nodes), data);
    }

    function _ed(uint256 seed) internal pure returns (bytes memory) {
        return abi.encodePacked(keccak256(abi.encode("ed25519", seed)));
    }

    function _p256(uint256 seed) internal pure returns (bytes memory) {
        return abi.encodePacked(bytes1(0x04), keccak256(abi.encode("x", seed)), keccak256(abi.encode("y", seed)));
    }

    function _register(uint32 region, string memory url) internal {
        _node(region, abi.encodeCall(NodeRegistry.registerNode, (region, url)));
    }

    function _addKey(uint32 region, bytes memory pk, uint8 alg, uint8 purpose, uint64 validFrom)
        internal
        returns (bytes32)
    {
        _node(region, abi.encodeCall(NodeRegistry.addNodeKey, (region, 1, alg, purpose, pk, validFrom)));
        return keccak256(pk);
    }

    function _status(uint32 region) internal view returns (uint8 status) {
        (status,,,,) = nodes.nodeOf(region);
    }

    function _window(bytes32 keyId) internal view returns (uint64 from, uint64 until) {
        (,,,,, from, until) = nodes.nodeKey(keyId);
    }
}

contract NodeRegistryTest is NodeFixture {
    // ------------------------------------------------------------ 双人双锁

    function test_registerNode_twoOfficers_recordsAndEmits() public {
        uint256 id = _proposeR(BJ, address(nodes), abi.encodeCall(NodeRegistry.registerNode, (BJ, URL_BJ)));
        vm.expectEmit(address(nodes));
        emit NodeRegistered(BJ, URL_BJ, T0);
        _approveR(BJ, id);
        (uint8 status, string memory url, uint64 registeredAt, uint64 updatedAt, uint256 keyCount) = nodes.nodeOf(BJ);
        assertEq(status, 1);
        assertEq(url, URL_BJ);
        assertEq(registeredAt, T0);
        assertEq(updatedAt, T0);
        assertEq(keyCount, 0);
    }

    function test_registerNode_singleOfficer_staysPending() public {
        uint256 id = _proposeR(BJ, address(nodes), abi.encodeCall(NodeRegistry.registerNode, (BJ, URL_BJ)));
        assertEq(consortium.proposalState(id), 1);
        assertEq(_status(BJ), 0);
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyApproved.selector, id, bj1));
        consortium.approve(id);
        assertEq(_status(BJ), 0);
    }

    function test_nonOfficer_cannotPropose() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, stranger));
        consortium.proposeRegional(BJ, address(nodes), abi.encodeCall(NodeRegistry.registerNode, (BJ, URL_BJ)));
    }

    function test_otherRegionsOfficer_cannotProposeOrApprove() public {
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, sh1));
        consortium.proposeRegional(BJ, address(nodes), abi.encodeCall(NodeRegistry.registerNode, (BJ, URL_BJ)));

        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.RegionMismatch.selector, SH, uint256(BJ)));
        consortium.proposeRegional(SH, address(nodes), abi.encodeCall(NodeRegistry.registerNode, (BJ, URL_BJ)));

        uint256 id = _proposeR(BJ, address(nodes), abi.encodeCall(NodeRegistry.registerNode, (BJ, URL_BJ)));
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, sh1));
        consortium.approve(id);
        assertEq(_status(BJ), 0);
    }

    function test_directCall_refused() public {
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NotConsortium.selector, bj1));
        nodes.registerNode(BJ, URL_BJ);
        vm.prank(deployer);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NotConsortium.selector, deployer));
        nodes.removeNode(BJ);
    }

    function test_viewSelector_isNotAProposalTarget() public {
        vm.prank(bj1);
        bytes memory data = abi.encodeCall(NodeRegistry.keyIdsOf, (BJ));
        vm.expectRevert(
            abi.encodeWithSelector(
                Consortium.SelectorNotAllowed.selector, address(nodes), NodeRegistry.keyIdsOf.selector
            )
        );
        consortium.proposeRegional(BJ, address(nodes), data);
    }

    // ------------------------------------------------------------ node record

    function test_registerNode_refusals() public {
        vm.startPrank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NotMember.selector, ZJ));
        nodes.registerNode(ZJ, URL_BJ);
        string[6] memory bad =
            [string(""), "ftp://x.cn", "http://", "https://a b.cn", "huren.gov.cn", unicode"https://互认.cn"];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(NodeRegistry.InvalidBaseUrl.selector);
            nodes.registerNode(BJ, bad[i]);
        }
        bytes memory long = new bytes(249);
        for (uint256 i = 0; i < long.length; ++i) {
            long[i] = "a";
        }
        vm.expectRevert(NodeRegistry.InvalidBaseUrl.selector);
        nodes.registerNode(BJ, string.concat("https://", string(long)));
        nodes.registerNode(BJ, "http://127.0.0.1:8000");
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NodeAlreadyRegistered.selector, BJ));
        nodes.registerNode(BJ, URL_BJ);
        vm.stopPrank();
    }

    function test_setNodeUrl_changesAndEmits() public {
        _register(BJ, URL_BJ);
        vm.warp(T0 + 100);
        uint256 id = _proposeR(BJ, address(nodes), abi.encodeCall(NodeRegistry.setNodeUrl, (BJ, "https://new.bj.cn")));
        vm.expectEmit(address(nodes));
        emit NodeUrlChanged(BJ, "https://new.bj.cn", T0 + 100);
        _approveR(BJ, id);
        (, string memory url, uint64 registeredAt, uint64 updatedAt,) = nodes.nodeOf(BJ);
        assertEq(url, "https://new.bj.cn");
        assertEq(registeredAt, T0);
        assertEq(updatedAt, T0 + 100);
    }

    function test_setNodeUrl_refusals() public {
        vm.startPrank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.UnknownNode.selector, BJ));
        nodes.setNodeUrl(BJ, URL_BJ);
        nodes.registerNode(BJ, URL_BJ);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.SameBaseUrl.selector, BJ));
        nodes.setNodeUrl(BJ, URL_BJ);
        vm.expectRevert(NodeRegistry.InvalidBaseUrl.selector);
        nodes.setNodeUrl(BJ, "mailto:x");
        vm.stopPrank();
    }

    // ------------------------------------------------------------ keys

    function test_addNodeKey_recordsAndEmits() public {
        _register(BJ, URL_BJ);
        bytes memory pk = _ed(1);
        bytes32 keyId = keccak256(pk);
        uint256 id = _proposeR(BJ, address(nodes), abi.encodeCall(NodeRegistry.addNodeKey, (BJ, 1, 1, 1, pk, 0)));
        vm.expectEmit(address(nodes));
        emit NodeKeyAdded(BJ, keyId, 1, 1, 1, pk, T0);
        _approveR(BJ, id);
        (uint32 region, uint8 suite, uint8 alg, uint8 purpose, bytes memory stored, uint64 from, uint64 until) =
            nodes.nodeKey(keyId);
        assertEq(region, BJ);
        assertEq(suite, 1);
        assertEq(alg, 1);
        assertEq(purpose, 1);
        assertEq(stored, pk);
        assertEq(from, T0);
        assertEq(until, 0);
        assertEq(nodes.keyIdOf(pk), keyId);
        bytes32[] memory ids = nodes.keyIdsOf(BJ);
        assertEq(ids.length, 1);
        assertEq(ids[0], keyId);
        assertTrue(nodes.isNodeKeyValidAt(keyId, BJ, 1, T0));
    }

    function test_addNodeKey_futureValidFromKept_pastRaisedToNow() public {
        _register(BJ, URL_BJ);
        bytes32 later = _addKey(BJ, _ed(1), 1, 1, T0 + 1 days);
        bytes32 past = _addKey(BJ, _p256(2), 2, 2, T0 - 1 days);
        (uint64 from,) = _window(later);
        assertEq(from, T0 + 1 days);
        (from,) = _window(past);
        assertEq(from, T0);
        assertFalse(nodes.isNodeKeyValidAt(later, BJ, 1, T0));
        assertTrue(nodes.isNodeKeyValidAt(later, BJ, 1, T0 + 1 days));
    }

    function test_addNodeKey_algorithmAndKeyShapeRefusals() public {
        _register(BJ, URL_BJ);
        vm.startPrank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.UnsupportedAlgorithm.selector, uint8(2), uint8(1)));
        nodes.addNodeKey(BJ, 2, 1, 1, _ed(1), 0); // ed25519 is not a 国密 algorithm
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.UnsupportedAlgorithm.selector, uint8(1), uint8(16)));
        nodes.addNodeKey(BJ, 1, 16, 1, _p256(1), 0);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.UnsupportedAlgorithm.selector, uint8(0), uint8(0)));
        nodes.addNodeKey(BJ, 0, 0, 1, _ed(1), 0);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidPublicKey.selector, uint8(1), uint256(65)));
        nodes.addNodeKey(BJ, 1, 1, 1, _p256(1), 0);
        bytes memory badPrefix = _p256(1);
        badPrefix[0] = 0x05;
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidPublicKey.selector, uint8(2), uint256(65)));
        nodes.addNodeKey(BJ, 1, 2, 1, badPrefix, 0);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidPublicKey.selector, uint8(3), uint256(65)));
        nodes.addNodeKey(BJ, 1, 3, 1, _p256(1), 0); // a P-256 point is no P-384 key
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidPurpose.selector, uint8(0)));
        nodes.addNodeKey(BJ, 1, 1, 0, _ed(1), 0);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidPurpose.selector, uint8(3)));
        nodes.addNodeKey(BJ, 1, 1, 3, _ed(1), 0);
        nodes.addNodeKey(BJ, 2, 16, 2, _p256(9), 0); // a 国密 SM2 key is accepted (suite 2 reserved)
        vm.stopPrank();
    }

    function test_addNodeKey_aPublicKeyServesOnePurposeAndOneRegion() public {
        _register(BJ, URL_BJ);
        _register(SH, URL_SH);
        bytes memory pk = _ed(1);
        _addKey(BJ, pk, 1, 1, 0);
        vm.startPrank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NodeKeyAlreadyRegistered.selector, keccak256(pk)));
        nodes.addNodeKey(BJ, 1, 1, 2, pk, 0); // the same key as a stamp key
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NodeKeyAlreadyRegistered.selector, keccak256(pk)));
        nodes.addNodeKey(SH, 1, 1, 1, pk, 0); // the same key for another region
        vm.stopPrank();
        assertFalse(nodes.isNodeKeyValidAt(keccak256(pk), BJ, 2, T0));
        assertFalse(nodes.isNodeKeyValidAt(keccak256(pk), SH, 1, T0));
    }

    function test_addNodeKey_needsAnActiveNode_andIsBounded() public {
        vm.startPrank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.UnknownNode.selector, BJ));
        nodes.addNodeKey(BJ, 1, 1, 1, _ed(1), 0);
        nodes.registerNode(BJ, URL_BJ);
        for (uint256 i = 0; i < nodes.MAX_KEYS_PER_NODE(); ++i) {
            nodes.addNodeKey(BJ, 1, 1, 1, _ed(100 + i), 0);
        }
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.TooManyNodeKeys.selector, BJ));
        nodes.addNodeKey(BJ, 1, 1, 1, _ed(1), 0);
        vm.stopPrank();
    }

    function test_retireNodeKey_backdated_andFinal() public {
        _register(BJ, URL_BJ);
        vm.warp(T0 + 1000);
        bytes32 keyId = _addKey(BJ, _ed(1), 1, 1, 0);
        vm.warp(T0 + 5000);
        uint256 id = _proposeR(BJ, address(nodes), abi.encodeCall(NodeRegistry.retireNodeKey, (BJ, keyId, T0 + 3000)));
        vm.expectEmit(address(nodes));
        emit NodeKeyRetired(BJ, keyId, T0 + 3000);
        _approveR(BJ, id);
        assertTrue(nodes.isNodeKeyValidAt(keyId, BJ, 1, T0 + 2999));
        assertFalse(nodes.isNodeKeyValidAt(keyId, BJ, 1, T0 + 3000));
        vm.prank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NodeKeyAlreadyRetired.selector, keyId));
        nodes.retireNodeKey(BJ, keyId, T0 + 4000);
    }

    function test_retireNodeKey_refusals() public {
        _register(BJ, URL_BJ);
        _register(SH, URL_SH);
        bytes32 keyId = _addKey(BJ, _ed(1), 1, 1, T0 + 100);
        vm.startPrank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.UnknownNodeKey.selector, bytes32(uint256(1))));
        nodes.retireNodeKey(BJ, bytes32(uint256(1)), T0);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NodeKeyWrongRegion.selector, keyId, SH));
        nodes.retireNodeKey(SH, keyId, T0 + 200);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidValidUntil.selector, uint64(0)));
        nodes.retireNodeKey(BJ, keyId, 0);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidValidUntil.selector, uint64(T0 + 99)));
        nodes.retireNodeKey(BJ, keyId, T0 + 99);
        vm.stopPrank();
    }

    function test_retireNodeKey_otherRegionsOfficersCannot() public {
        _register(BJ, URL_BJ);
        bytes32 keyId = _addKey(BJ, _ed(1), 1, 1, 0);
        // 上海's officers, acting for 上海, cannot retire 北京's key: the registry refuses on execution
        uint256 id = _proposeR(SH, address(nodes), abi.encodeCall(NodeRegistry.retireNodeKey, (SH, keyId, T0)));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.NodeKeyWrongRegion.selector, keyId, SH));
        consortium.approve(id);
        (, uint64 until) = _window(keyId);
        assertEq(until, 0);
    }

    // ------------------------------------------------------------ removal

    function test_removeNode_retiresEveryKeyStillValid_andAllowsReRegistration() public {
        _register(BJ, URL_BJ);
        bytes32 open = _addKey(BJ, _ed(1), 1, 1, 0);
        bytes32 stamp = _addKey(BJ, _ed(2), 1, 2, 0);
        bytes32 future = _addKey(BJ, _ed(3), 1, 1, T0 + 10 days);
        bytes32 done = _addKey(BJ, _ed(4), 1, 1, 0);
        bytes32 planned = _addKey(BJ, _ed(5), 1, 1, 0);
        vm.warp(T0 + 10);
        _node(BJ, abi.encodeCall(NodeRegistry.retireNodeKey, (BJ, done, T0 + 5)));
        _node(BJ, abi.encodeCall(NodeRegistry.retireNodeKey, (BJ, planned, T0 + 30 days)));
        vm.warp(T0 + 100);

        uint256 id = _proposeR(BJ, address(nodes), abi.encodeCall(NodeRegistry.removeNode, (BJ)));
        vm.expectEmit(address(nodes));
        emit NodeKeyRetired(BJ, open, T0 + 100);
        vm.expectEmit(address(nodes));
        emit NodeKeyRetired(BJ, stamp, T0 + 100);
        vm.expectEmit(address(nodes));
        emit NodeKeyRetired(BJ, future, T0 + 10 days);
        vm.expectEmit(address(nodes));
        emit NodeKeyRetired(BJ, planned, T0 + 100);
        vm.expectEmit(address(nodes));
        emit NodeRemoved(BJ, T0 + 100);
        _approveR(BJ, id);

        assertEq(_status(BJ), 2);
        (, uint64 until) = _window(done);
        assertEq(until, T0 + 5); // an earlier retirement stands
        assertTrue(nodes.isNodeKeyValidAt(open, BJ, 1, T0 + 99)); // history is kept
        assertFalse(nodes.isNodeKeyValidAt(open, BJ, 1, T0 + 100));
        assertFalse(nodes.isNodeKeyValidAt(future, BJ, 1, T0 + 10 days)); // empty window
        assertFalse(nodes.isNodeKeyValidAt(planned, BJ, 1, T0 + 1 days));

        vm.prank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.UnknownNode.selector, BJ));
        nodes.addNodeKey(BJ, 1, 1, 1, _ed(6), 0);
        vm.prank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(NodeRegistry.UnknownNode.selector, BJ));
        nodes.removeNode(BJ);

        _register(BJ, "https://new.bj.cn");
        assertEq(_status(BJ), 1);
        assertFalse(nodes.isNodeKeyValidAt(open, BJ, 1, T0 + 200)); // old keys stay retired
        _addKey(BJ, _ed(6), 1, 1, 0);
        assertEq(nodes.keyIdsOf(BJ).length, 6);
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_keyWindow(uint64 from, uint64 until, uint64 at) public {
        from = uint64(bound(from, T0, T0 + 365 days));
        until = uint64(bound(until, from, T0 + 400 days));
        at = uint64(bound(at, T0 - 1 days, T0 + 500 days));
        _register(BJ, URL_BJ);
        bytes32 keyId = _addKey(BJ, _ed(1), 1, 1, from);
        vm.prank(address(consortium));
        nodes.retireNodeKey(BJ, keyId, until);
        assertEq(nodes.isNodeKeyValidAt(keyId, BJ, 1, at), from <= at && at < until);
        assertFalse(nodes.isNodeKeyValidAt(keyId, BJ, 2, at));
        assertFalse(nodes.isNodeKeyValidAt(keyId, SH, 1, at));
    }

    function testFuzz_ed25519KeyLength(bytes calldata pk) public {
        _register(BJ, URL_BJ);
        vm.prank(address(consortium));
        if (pk.length != 32) {
            vm.expectRevert(abi.encodeWithSelector(NodeRegistry.InvalidPublicKey.selector, uint8(1), pk.length));
        }
        nodes.addNodeKey(BJ, 1, 1, 1, pk, 0);
    }

    function testFuzz_baseUrl(bytes calldata raw) public {
        bool ok = raw.length <= 256;
        uint256 rest;
        if (raw.length > 8 && bytes8(raw[:8]) == bytes8("https://")) rest = 8;
        else if (raw.length > 7 && bytes7(raw[:7]) == bytes7("http://")) rest = 7;
        else ok = false;
        for (uint256 i = rest; ok && i < raw.length; ++i) {
            if (uint8(raw[i]) < 0x21 || uint8(raw[i]) > 0x7e) ok = false;
        }
        vm.prank(address(consortium));
        if (!ok) vm.expectRevert(NodeRegistry.InvalidBaseUrl.selector);
        nodes.registerNode(BJ, string(raw));
    }
}

/**
 * @notice Random node-registry governance by pairs of officers, single officers, other regions'
 * officers and strangers, with random time steps; ghost state records what was accepted.
 */
contract NodeHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    Consortium public immutable consortium;
    NodeRegistry public immutable nodes;
    uint32[3] internal regions;
    address[3][3] internal officers; // [region][0..1] officers, [region][2] another region's officer
    address internal constant STRANGER = address(0xBAD);

    bytes32[] public keyIds;
    mapping(bytes32 keyId => uint64) public ghostUntil; // 0 = open
    uint256 public lonelyChanges; // a change that executed without two distinct officers of its region
    uint256 public untilMovedLater; // a retirement that moved later (or was reopened)
    uint256 public executed; // coverage (informational)
    uint256 public keysRetiredByRemoval; // coverage (informational)

    constructor(Consortium c, NodeRegistry n, uint32[3] memory regions_, address[3][3] memory officers_) {
        consortium = c;
        nodes = n;
        regions = regions_;
        officers = officers_;
    }

    function keyCount() external view returns (uint256) {
        return keyIds.length;
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + 1 + dt % 10 days);
        vm.roll(block.number + 1);
    }

    function _data(uint256 action, uint32 region, uint256 seed) internal view returns (bytes memory) {
        uint256 h = uint256(keccak256(abi.encode(action, seed))); // fuzz dictionaries favour round numbers
        uint256 a = h % 5;
        (uint8 status,,,,) = nodes.nodeOf(region);
        if (status != 1 && (h >> 8) % 4 != 0) a = 0; // mostly register a missing node, so keys get added
        if (a == 0) return abi.encodeCall(NodeRegistry.registerNode, (region, "https://node.example.cn"));
        if (a == 1) {
            string[3] memory urls = [string("https://n1.example.cn"), "https://n2.example.cn", "http://10.0.0.3:8000"];
            return abi.encodeCall(NodeRegistry.setNodeUrl, (region, urls[seed % 3]));
        }
        if (a == 2) {
            return abi.encodeCall(
                NodeRegistry.addNodeKey,
                (region, 1, 1, uint8(1 + seed % 2), abi.encodePacked(keccak256(abi.encode(seed % 97))), 0)
            );
        }
        if (a == 3 && keyIds.length > 0) {
            bytes32 keyId = keyIds[seed % keyIds.length];
            uint64 until = uint64(block.timestamp) - uint64(seed % 2 days) + uint64((seed >> 8) % 4 days);
            return abi.encodeCall(NodeRegistry.retireNodeKey, (region, keyId, until));
        }
        return abi.encodeCall(NodeRegistry.removeNode, (region));
    }

    /// @dev Two distinct officers of the region: the change executes when the registry accepts it.
    function pair(uint256 regionSeed, uint256 action, uint256 seed) external {
        uint32 region = regions[regionSeed % 3];
        bytes memory data = _data(action, region, seed);
        vm.prank(officers[regionSeed % 3][0]);
        uint256 id = consortium.proposeRegional(region, address(nodes), data);
        vm.prank(officers[regionSeed % 3][1]);
        try consortium.approve(id) {
            ++executed;
            _record(data);
        } catch {}
        _sync();
    }

    /// @dev One officer alone (proposing, then approving again), another region's officer, or a stranger.
    function lonely(uint256 regionSeed, uint256 action, uint256 seed, uint256 who) external {
        uint32 region = regions[regionSeed % 3];
        bytes memory data = _data(action, region, seed);
        address actor =
            who % 3 == 0 ? officers[regionSeed % 3][0] : who % 3 == 1 ? officers[regionSeed % 3][2] : STRANGER;
        bytes32 before = _fingerprint();
        vm.prank(actor);
        try consortium.proposeRegional(region, address(nodes), data) returns (uint256 id) {
            vm.prank(actor);
            try consortium.approve(id) {} catch {}
        } catch {}
        vm.prank(actor);
        try nodes.removeNode(region) {} catch {}
        if (_fingerprint() != before) ++lonelyChanges;
    }

    function _record(bytes memory data) internal {
        if (bytes4(data) == NodeRegistry.addNodeKey.selector) {
            bytes memory args = new bytes(data.length - 4);
            for (uint256 i = 4; i < data.length; ++i) {
                args[i - 4] = data[i];
            }
            (,,,, bytes memory pk,) = abi.decode(args, (uint32, uint8, uint8, uint8, bytes, uint64));
            keyIds.push(keccak256(pk));
        }
    }

    /// @dev Checks that no window end moved later, then remembers the current ends.
    function _sync() internal {
        for (uint256 i = 0; i < keyIds.length; ++i) {
            (,,,,,, uint64 until) = nodes.nodeKey(keyIds[i]);
            uint64 old = ghostUntil[keyIds[i]];
            if (old != 0 && (until == 0 || until > old)) ++untilMovedLater;
            ghostUntil[keyIds[i]] = until;
        }
    }

    function _fingerprint() internal view returns (bytes32 h) {
        for (uint256 r = 0; r < 3; ++r) {
            (uint8 status, string memory url,,, uint256 n) = nodes.nodeOf(regions[r]);
            h = keccak256(abi.encode(h, status, url, n));
        }
        for (uint256 i = 0; i < keyIds.length; ++i) {
            (,,,,,, uint64 until) = nodes.nodeKey(keyIds[i]);
            h = keccak256(abi.encode(h, until));
        }
    }
}

contract NodeRegistryInvariantsTest is NodeFixture {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    NodeHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[3][3] memory offs = [[bj1, bj2, sh1], [sh1, sh2, gd1], [gd1, gd2, bj1]];
        handler = new NodeHandler(consortium, nodes, [BJ, SH, GD], offs);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory s) {
        bytes4[] memory sel = new bytes4[](6);
        sel[0] = NodeHandler.pair.selector;
        sel[1] = NodeHandler.pair.selector;
        sel[2] = NodeHandler.pair.selector;
        sel[3] = NodeHandler.lonely.selector;
        sel[4] = NodeHandler.lonely.selector;
        sel[5] = NodeHandler.warp.selector;
        s = new FuzzSelector[](1);
        s[0] = FuzzSelector(address(handler), sel);
    }

    /// @notice 双人双锁: nothing in the registry changes without two officers of the acting region.
    function invariant_noChangeWithoutTwoOfficers() public view {
        assertEq(handler.lonelyChanges(), 0, "a node registry change executed without two officers");
    }

    /// @notice A key's window only ever shrinks: once retired, it is never reopened or extended.
    function invariant_windowsOnlyShrink() public view {
        assertEq(handler.untilMovedLater(), 0, "a retired key's window was reopened or extended");
    }

    /// @notice Every listed key belongs to its node; no key of a removed node is valid now or later.
    function invariant_keysBelongToTheirNode_andRemovedNodesAreUntrusted() public view {
        uint32[3] memory rs = [BJ, SH, GD];
        for (uint256 r = 0; r < 3; ++r) {
            (uint8 status,,,,) = nodes.nodeOf(rs[r]);
            bytes32[] memory ids = nodes.keyIdsOf(rs[r]);
            assertLe(ids.length, nodes.MAX_KEYS_PER_NODE(), "too many keys");
            for (uint256 i = 0; i < ids.length; ++i) {
                (uint32 region, uint8 suite,, uint8 purpose,,,) = nodes.nodeKey(ids[i]);
                assertEq(region, rs[r], "listed key of another region");
                assertEq(suite, 1, "suite");
                if (status == 2) {
                    assertFalse(nodes.isNodeKeyValidAt(ids[i], rs[r], purpose, uint64(block.timestamp)), "removed");
                    assertFalse(
                        nodes.isNodeKeyValidAt(ids[i], rs[r], purpose, uint64(block.timestamp) + 365 days), "later"
                    );
                }
            }
        }
    }
}
