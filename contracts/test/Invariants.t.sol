// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Test code: every narrowing cast below is of a value already bounded to fit.
// forge-lint: disable-start(unsafe-typecast)

import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Vm.sol";
import {Consortium} from "../Consortium.sol";
import {IssuerRegistry} from "../IssuerRegistry.sol";
import {AnchorLedger} from "../AnchorLedger.sol";

/**
 * @notice Drives the whole system with random governance, key, issuer, anchor and certificate
 * actions, and checks every accepted/refused anchor and status change against an independent
 * model computed from the registries' views just before the call (a differential check).
 */
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    struct AnchorRec {
        bytes32 root;
        bytes32 c1;
        bytes32 c2;
        address key;
        bytes32 issuerId;
        uint64 timestamp;
        uint256 seq;
    }

    Consortium public immutable consortium;
    IssuerRegistry public immutable registry;
    AnchorLedger public immutable ledger;

    uint32[3] internal regions;
    bytes32[2] internal issuers;
    uint32[2] internal issuerRegions;
    bytes32[2] internal types;
    address[] internal keys; // every address ever tried as a key (registered or not)

    AnchorRec[] public anchors;
    bytes32[] internal revokedCertIssuer;
    bytes32[] internal revokedCertHash;
    uint256[] public proposals;

    mapping(bytes32 issuerId => uint256) public revokedAtSeq; // 0 = not revoked
    mapping(bytes32 issuerId => uint64) public revokedFromGhost;

    // ghost approvals: who (regional) or which region (consortium) approved each proposal
    mapping(uint256 id => mapping(address => bool)) internal approverSeen;
    mapping(uint256 id => mapping(uint32 => bool)) internal regionSeen;
    mapping(uint256 id => uint256) public distinctApprovals;
    mapping(uint256 id => address[]) internal approversOf;
    mapping(uint32 region => address) internal lastProposer; // of a proposal left pending
    mapping(uint256 id => uint32[]) internal regionsOf;

    uint256 public seq = 1;
    uint256 internal counter;
    uint256 internal officerNonce;

    // violations (must all stay zero)
    uint256 public anchorAcceptedWrongly;
    uint256 public anchorRefusedWrongly;
    uint256 public statusAcceptedWrongly;
    uint256 public approvalOverflow;
    uint256 public approvalCountedTwice;
    uint256 public staleApprovalAccepted;

    // coverage counters (informational)
    uint256 public anchorsOk;
    uint256 public statusOk;
    uint256 public governanceOk;

    constructor(
        Consortium c,
        IssuerRegistry r,
        AnchorLedger l,
        uint32[3] memory regions_,
        bytes32[2] memory issuers_,
        uint32[2] memory issuerRegions_,
        bytes32[2] memory types_,
        address[] memory keys_
    ) {
        consortium = c;
        registry = r;
        ledger = l;
        regions = regions_;
        issuers = issuers_;
        issuerRegions = issuerRegions_;
        types = types_;
        keys = keys_;
    }

    // ------------------------------------------------------------ helpers

    /// @dev Runs a regional proposal through its officers; returns whether it executed.
    function _exec(uint32 region, address target, bytes memory data) internal returns (bool) {
        address[] memory offs = consortium.officersOf(region);
        if (offs.length == 0) return false;
        vm.prank(offs[0]);
        uint256 id;
        try consortium.proposeRegional(region, target, data) returns (uint256 pid) {
            id = pid;
        } catch {
            return false;
        }
        proposals.push(id);
        _recordApproval(id, offs[0]);
        for (uint256 i = 1; i < offs.length && consortium.proposalState(id) == 1; ++i) {
            if (!_approve(id, offs[i])) return false;
        }
        bool done = consortium.proposalState(id) == 2;
        if (done) ++governanceOk;
        return done;
    }

    /// @dev Called after every successful propose/approve by `who` on proposal `id`.
    function _recordApproval(uint256 id, address who) internal {
        (uint8 kind,,,,,,,,) = consortium.proposal(id);
        if (kind == 1) {
            if (approverSeen[id][who]) ++approvalCountedTwice;
            approverSeen[id][who] = true;
            approversOf[id].push(who);
        } else {
            uint32 region = consortium.officerRegion(who);
            if (regionSeen[id][region]) ++approvalCountedTwice;
            regionSeen[id][region] = true;
            regionsOf[id].push(region);
        }
        ++distinctApprovals[id];
        _checkApprovals(id);
    }

    /// @dev Whether an approval already counted for `id` came from someone who is no longer an
    /// officer of the region (regional) or from a region that is no longer a member (consortium).
    function _hasStaleApproval(uint256 id) internal view returns (bool) {
        (uint8 kind, uint32 region,,,,,,,) = consortium.proposal(id);
        if (kind == 1) {
            address[] storage list = approversOf[id];
            for (uint256 i = 0; i < list.length; ++i) {
                if (consortium.officerRegion(list[i]) != region) return true;
            }
        } else {
            uint32[] storage rs = regionsOf[id];
            for (uint256 i = 0; i < rs.length; ++i) {
                if (!consortium.isMember(rs[i])) return true;
            }
        }
        return false;
    }

    /// @dev Approves as `who`; an approval accepted on top of stale approvals is a violation.
    function _approve(uint256 id, address who) internal returns (bool ok) {
        bool stale = _hasStaleApproval(id);
        vm.prank(who);
        try consortium.approve(id) {
            ok = true;
        } catch {}
        if (ok) {
            if (stale) ++staleApprovalAccepted;
            _recordApproval(id, who);
        }
    }

    function _issuerIdx(uint256 seed) internal pure returns (uint256) {
        return seed % 2;
    }

    function _checkApprovals(uint256 id) internal {
        (uint8 kind, uint32 region,,,,,, uint256 approvals, bool executed) = consortium.proposal(id);
        if (executed) return;
        uint256 limit = kind == 1 ? consortium.officerCount(region) : consortium.memberCount();
        if (approvals > limit) ++approvalOverflow;
    }

    // ------------------------------------------------------------ time

    function warp(uint256 dt) external {
        dt = 1 + dt % 3 days;
        vm.warp(block.timestamp + dt);
        vm.roll(block.number + 1 + dt / 12);
    }

    // ------------------------------------------------------------ anchoring (differential)

    /// @dev Three times in four an issuer's first key, else any address of the pool.
    function _pickKey(uint256 seed) internal view returns (address) {
        return seed % 4 != 0 ? keys[(seed / 4) % 2] : keys[(seed / 4) % keys.length];
    }

    function anchor(uint256 keySeed, uint256 typeSeed, uint256 rootSeed) external {
        address key = _pickKey(keySeed);
        bytes32 typeCode = types[typeSeed % 4 == 0 ? 1 : 0];
        ++counter;
        bytes32 c1 = keccak256(abi.encode("c1", counter));
        bytes32 c2 = keccak256(abi.encode("c2", counter));
        bytes32 root;
        uint256 mode = rootSeed % 10;
        if (mode == 0) {
            root = bytes32(0);
        } else if (mode == 1 && anchors.length > 0) {
            AnchorRec storage prev = anchors[rootSeed % anchors.length];
            (root, c1, c2) = (prev.root, prev.c1, prev.c2);
        } else {
            root = _hashPair(_leaf(c1), _leaf(c2));
        }

        bool allowed = _anchorAllowed(key, typeCode, root);
        vm.prank(key);
        try ledger.anchor(root, typeCode, 2) {
            if (!allowed) ++anchorAcceptedWrongly;
            (bytes32 issuerId,,) = registry.keyInfo(key);
            anchors.push(AnchorRec(root, c1, c2, key, issuerId, uint64(block.timestamp), seq++));
            ++anchorsOk;
        } catch {
            if (allowed) ++anchorRefusedWrongly;
        }
    }

    function _anchorAllowed(address key, bytes32 typeCode, bytes32 root) internal view returns (bool) {
        if (root == bytes32(0)) return false;
        (bool anchored,,,,,) = ledger.anchorOf(root);
        if (anchored) return false;
        (bytes32 issuerId,,) = registry.keyInfo(key);
        if (issuerId == bytes32(0)) return false;
        if (!registry.isKeyValidAt(key, uint64(block.timestamp))) return false;
        (, uint8 status,,,) = registry.issuer(issuerId);
        if (status != 1) return false;
        if (!registry.isAuthorised(issuerId, typeCode)) return false;
        (, bool active) = consortium.typeGate(typeCode);
        return active;
    }

    // ------------------------------------------------------------ certificate status (differential)

    function certStatus(uint256 anchorSeed, uint256 certSeed, uint256 keySeed, uint256 op) external {
        if (anchors.length == 0) return;
        AnchorRec memory a = anchors[anchorSeed % anchors.length];
        bool first = certSeed % 2 == 0;
        bytes32 cert = first ? a.c1 : a.c2;
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = _leaf(first ? a.c2 : a.c1);
        if (certSeed % 7 == 0) proof[0] = keccak256("wrong proof");
        // three times in four the anchoring key itself, else any address of the pool
        address sender = keySeed % 4 != 0 ? a.key : keys[(keySeed / 4) % keys.length];

        bool authorised = _statusAuthorised(sender, a.issuerId) && certSeed % 7 != 0;
        (uint8 before,,) = ledger.certificateStatus(cert, a.issuerId);
        op = op % 3;
        bool transitionOk = op == 0 ? before != 2 : op == 1 ? before == 0 : before == 1;

        vm.prank(sender);
        bool ok;
        if (op == 0) {
            try ledger.revokeCertificate(cert, a.root, proof, 1) {
                ok = true;
            } catch {}
        } else if (op == 1) {
            try ledger.suspendCertificate(cert, a.root, proof, 1) {
                ok = true;
            } catch {}
        } else {
            try ledger.reinstateCertificate(cert, a.root, proof) {
                ok = true;
            } catch {}
        }
        if (ok) {
            if (!authorised || !transitionOk) ++statusAcceptedWrongly;
            if (op == 0) {
                revokedCertIssuer.push(a.issuerId);
                revokedCertHash.push(cert);
            }
            ++statusOk;
        }
    }

    function _statusAuthorised(address sender, bytes32 anchorIssuer) internal view returns (bool) {
        (bytes32 senderIssuer,,) = registry.keyInfo(sender);
        if (senderIssuer != anchorIssuer) return false;
        if (!registry.isKeyValidAt(sender, uint64(block.timestamp))) return false;
        (, uint8 status,,,) = registry.issuer(anchorIssuer);
        return status != 3;
    }

    // ------------------------------------------------------------ issuer administration

    function addKey(uint256 issuerSeed, uint256 keySeed) external {
        uint256 i = _issuerIdx(issuerSeed);
        address key = keys[keySeed % keys.length];
        _exec(
            issuerRegions[i],
            address(registry),
            abi.encodeCall(IssuerRegistry.addKey, (issuerRegions[i], issuers[i], key, 0))
        );
    }

    function retireKey(uint256 keySeed, uint256 backdate) external {
        address key = keys[keySeed % keys.length];
        (bytes32 issuerId, uint64 validFrom,) = registry.keyInfo(key);
        if (issuerId == bytes32(0)) return;
        uint32 region = issuerId == issuers[0] ? issuerRegions[0] : issuerRegions[1];
        uint64 nowTs = uint64(block.timestamp);
        uint64 until = validFrom >= nowTs ? validFrom : nowTs - uint64(backdate % (nowTs - validFrom + 1));
        if (until == 0) return;
        _exec(region, address(registry), abi.encodeCall(IssuerRegistry.retireKey, (region, issuerId, key, until)));
    }

    function issuerStatus(uint256 issuerSeed, uint256 op, uint256 backdate) external {
        uint256 i = _issuerIdx(issuerSeed);
        uint32 region = issuerRegions[i];
        bytes32 id = issuers[i];
        op = op % 4;
        if (op == 0) {
            _exec(region, address(registry), abi.encodeCall(IssuerRegistry.suspendIssuer, (region, id)));
        } else if (op == 1) {
            _exec(region, address(registry), abi.encodeCall(IssuerRegistry.reinstateIssuer, (region, id)));
        } else if (op == 2 && backdate % 5 == 0) {
            // revocation is rare: it ends the issuer for the rest of the run
            uint64 reg = registry.registeredAt(id);
            uint64 nowTs = uint64(block.timestamp);
            uint64 from = nowTs - uint64(backdate % (nowTs - reg + 1));
            bool wasRevoked = revokedAtSeq[id] != 0;
            if (_exec(region, address(registry), abi.encodeCall(IssuerRegistry.revokeIssuer, (region, id, from)))) {
                if (!wasRevoked) {
                    revokedAtSeq[id] = seq++;
                    revokedFromGhost[id] = from;
                }
            }
        } else if (op == 3) {
            bytes32 t = types[backdate % 2];
            if (registry.isAuthorised(id, t)) {
                _exec(region, address(registry), abi.encodeCall(IssuerRegistry.withdrawType, (region, id, t)));
            } else {
                _exec(region, address(registry), abi.encodeCall(IssuerRegistry.grantType, (region, id, t)));
            }
        }
    }

    function toggleType(uint256 typeSeed) external {
        bytes32 t = types[typeSeed % 2];
        (, bool active) = consortium.typeGate(t);
        (,,, uint32 version,,) = consortium.typeInfo(t);
        bytes memory data = abi.encodeCall(Consortium.defineType, (t, "toggled", bytes32(0), version, !active));
        address[] memory a = consortium.officersOf(regions[0]);
        address[] memory b = consortium.officersOf(regions[1]);
        if (a.length == 0 || b.length == 0) return;
        vm.prank(a[0]);
        try consortium.proposeConsortium(address(consortium), data) returns (uint256 id) {
            proposals.push(id);
            _recordApproval(id, a[0]);
            _approve(id, b[0]);
        } catch {}
    }

    // ------------------------------------------------------------ governance noise

    function changeOfficers(uint256 regionSeed, uint256 op, uint256 seed) external {
        uint32 region = regions[regionSeed % 3];
        address[] memory offs = consortium.officersOf(region);
        op = op % 3;
        if (op == 0) {
            address fresh = address(uint160(0xA0000 + officerNonce++));
            _exec(region, address(consortium), abi.encodeCall(Consortium.addOfficer, (region, fresh)));
        } else if (op == 1) {
            // half the time, the officer who just left a proposal pending: its approval must then stop counting
            address leaving = lastProposer[region];
            if (seed % 2 == 0 || consortium.officerRegion(leaving) != region) leaving = offs[seed % offs.length];
            _exec(region, address(consortium), abi.encodeCall(Consortium.removeOfficer, (region, leaving)));
        } else {
            uint8 k = uint8(1 + seed % (offs.length + 1)); // sometimes one too many: must be refused
            _exec(region, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (region, k)));
        }
    }

    /// @dev Leaves a proposal pending, for random approvals later.
    function proposeOnly(uint256 regionSeed, uint256 seed) external {
        uint32 region = regions[regionSeed % 3];
        address[] memory offs = consortium.officersOf(region);
        address proposer = offs[seed % offs.length];
        vm.prank(proposer);
        try consortium.proposeRegional(
            region, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (region, uint8(1 + seed % 3)))
        ) returns (
            uint256 id
        ) {
            proposals.push(id);
            _recordApproval(id, proposer);
            lastProposer[region] = proposer;
        } catch {}
    }

    /// @dev A pending proposal, then a change of officers (often removing its proposer), then an
    /// approval attempt by a random officer of the region.
    function governanceEpisode(uint256 regionSeed, uint256 seed) external {
        uint32 region = regions[regionSeed % 3];
        address[] memory offs = consortium.officersOf(region);
        if (offs.length < 3) {
            _exec(
                region,
                address(consortium),
                abi.encodeCall(Consortium.addOfficer, (region, address(uint160(0xA0000 + officerNonce++))))
            );
            offs = consortium.officersOf(region);
        }
        address proposer = offs[seed % offs.length];
        vm.prank(proposer);
        uint256 id;
        try consortium.proposeRegional(
            region,
            address(consortium),
            abi.encodeCall(Consortium.addOfficer, (region, address(uint160(0xA0000 + officerNonce++))))
        ) returns (
            uint256 pid
        ) {
            id = pid;
        } catch {
            return;
        }
        proposals.push(id);
        _recordApproval(id, proposer);
        address leaving = (seed / 7) % 3 == 0 ? offs[(seed / 3) % offs.length] : proposer;
        _exec(region, address(consortium), abi.encodeCall(Consortium.removeOfficer, (region, leaving)));
        offs = consortium.officersOf(region);
        _approve(id, offs[(seed / 11) % offs.length]);
    }

    function randomApprove(uint256 idSeed, uint256 regionSeed, uint256 officerSeed) external {
        if (proposals.length == 0) return;
        // half the time one of the latest proposals, else any
        uint256 n = proposals.length;
        uint256 id = idSeed % 2 == 0 ? proposals[n - 1 - (idSeed / 2) % (n < 4 ? n : 4)] : proposals[idSeed % n];
        address[] memory offs = consortium.officersOf(regions[regionSeed % 3]);
        address approver = officerSeed % 5 == 0 ? address(0xBAD) : offs[officerSeed % offs.length];
        _approve(id, approver);
    }

    // ------------------------------------------------------------ views for invariants

    function anchorCount() external view returns (uint256) {
        return anchors.length;
    }

    function revokedCount() external view returns (uint256) {
        return revokedCertHash.length;
    }

    function revokedAt(uint256 i) external view returns (bytes32 issuerId, bytes32 cert) {
        return (revokedCertIssuer[i], revokedCertHash[i]);
    }

    function proposalCount() external view returns (uint256) {
        return proposals.length;
    }

    function _leaf(bytes32 v) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(v))));
    }

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }
}

contract InvariantsTest is Fixture {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    Handler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory keys = new address[](8);
        keys[0] = KEY_A;
        keys[1] = KEY_B;
        for (uint256 i = 2; i < 7; ++i) {
            keys[i] = address(uint160(0xE000 + i));
        }
        keys[7] = stranger;
        handler = new Handler(
            consortium, registry, ledger, [BJ, SH, GD], [ISSUER_A, ISSUER_B], [BJ, SH], [TYPE_1, TYPE_2], keys
        );
    }

    /// @dev Forge reads these to restrict the campaign to the handler's actions.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory s) {
        // weighted: anchoring and certificate status changes are what the invariants are about
        bytes4[] memory sel = new bytes4[](17);
        sel[0] = Handler.warp.selector;
        sel[1] = Handler.warp.selector;
        sel[2] = Handler.anchor.selector;
        sel[3] = Handler.anchor.selector;
        sel[4] = Handler.anchor.selector;
        sel[5] = Handler.anchor.selector;
        sel[6] = Handler.certStatus.selector;
        sel[7] = Handler.certStatus.selector;
        sel[8] = Handler.certStatus.selector;
        sel[9] = Handler.addKey.selector;
        sel[10] = Handler.retireKey.selector;
        sel[11] = Handler.issuerStatus.selector;
        sel[12] = Handler.toggleType.selector;
        sel[13] = Handler.changeOfficers.selector;
        sel[14] = Handler.proposeOnly.selector;
        sel[15] = Handler.randomApprove.selector;
        sel[16] = Handler.governanceEpisode.selector;
        s = new FuzzSelector[](1);
        s[0] = FuzzSelector(address(handler), sel);
    }

    /// @notice No anchor is ever accepted for an unknown, not-yet-valid or retired key, an issuer that
    /// is not Active, an unauthorised or inactive type, or a zero/duplicate root; and every anchor the
    /// model allows is accepted.
    function invariant_anchorsMatchModel() public view {
        assertEq(handler.anchorAcceptedWrongly(), 0, "anchor accepted for an ineligible key/issuer/type");
        assertEq(handler.anchorRefusedWrongly(), 0, "eligible anchor refused");
        uint256 n = handler.anchorCount();
        for (uint256 i = 0; i < n; ++i) {
            (bytes32 root,,, address key, bytes32 issuerId, uint64 ts,) = handler.anchors(i);
            (bool anchored, bytes32 gotIssuer, address gotKey,,, uint64 gotTs) = ledger.anchorOf(root);
            assertTrue(anchored);
            assertEq(gotIssuer, issuerId);
            assertEq(gotKey, key);
            assertEq(gotTs, ts);
        }
    }

    /// @notice A revoked certificate stays revoked; a revoked issuer stays revoked with the same
    /// effective time; status changes are accepted only from a valid key of the anchoring issuer.
    function invariant_revocationIsFinal() public view {
        assertEq(handler.statusAcceptedWrongly(), 0, "status change accepted wrongly");
        uint256 n = handler.revokedCount();
        for (uint256 i = 0; i < n; ++i) {
            (bytes32 issuerId, bytes32 cert) = handler.revokedAt(i);
            (uint8 status,,) = ledger.certificateStatus(cert, issuerId);
            assertEq(status, 2, "revoked certificate came back");
        }
        bytes32[2] memory ids = [ISSUER_A, ISSUER_B];
        for (uint256 i = 0; i < 2; ++i) {
            if (handler.revokedAtSeq(ids[i]) == 0) continue;
            (, uint8 status,, uint64 revokedFrom,) = registry.issuer(ids[i]);
            assertEq(status, 3, "revoked issuer came back");
            assertEq(revokedFrom, handler.revokedFromGhost(ids[i]));
        }
    }

    /// @notice No anchor by an issuer is recorded after that issuer's revocation.
    function invariant_noAnchorAfterIssuerRevocation() public view {
        uint256 n = handler.anchorCount();
        for (uint256 i = 0; i < n; ++i) {
            (,,,, bytes32 issuerId,, uint256 s) = handler.anchors(i);
            uint256 revokedSeq = handler.revokedAtSeq(issuerId);
            assertTrue(revokedSeq == 0 || s < revokedSeq, "anchor after issuer revocation");
        }
    }

    /// @notice Pending approvals never exceed the officers (regional) or member regions
    /// (consortium) that could have cast them; approvals of removed officers/regions never help a
    /// proposal on (it is void); each officer (regional) or region (consortium) is
    /// counted once, so a proposal's tally always equals its distinct approvers; every region
    /// keeps 1 <= k <= officers.
    function invariant_approvalsNeverExceedOfficers() public view {
        assertEq(handler.approvalOverflow(), 0, "approvals exceeded officers");
        assertEq(handler.approvalCountedTwice(), 0, "an approver was counted twice");
        assertEq(handler.staleApprovalAccepted(), 0, "approval by a removed officer/region still counted");
        uint256 n = handler.proposalCount();
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = handler.proposals(i);
            (,,,,,,, uint256 tally,) = consortium.proposal(id);
            assertEq(tally, handler.distinctApprovals(id), "tally differs from distinct approvers");
            if (consortium.proposalState(id) != 1) continue;
            (uint8 kind, uint32 region,,,,,, uint256 approvals,) = consortium.proposal(id);
            uint256 limit = kind == 1 ? consortium.officerCount(region) : consortium.memberCount();
            assertLe(approvals, limit, "pending approvals exceed officers");
        }
        uint32[3] memory rs = [BJ, SH, GD];
        for (uint256 i = 0; i < 3; ++i) {
            uint256 k = consortium.regionThreshold(rs[i]);
            assertGe(k, 1, "threshold below 1");
            assertLe(k, consortium.officerCount(rs[i]), "threshold above officers");
        }
    }
}
