// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Test code: every narrowing cast below is of a value already bounded to fit.
// forge-lint: disable-start(unsafe-typecast)

import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Vm.sol";
import {Consortium} from "../Consortium.sol";
import {IssuerRegistry} from "../IssuerRegistry.sol";
import {RecognitionPolicy} from "../RecognitionPolicy.sol";
import {AnchorLedger} from "../AnchorLedger.sol";
import {NodeRegistry} from "../NodeRegistry.sol";

contract ConsortiumTest is Fixture {
    event ContractsBound(address issuerRegistry, address recognitionPolicy, address anchorLedger, address nodeRegistry);

    NodeRegistry internal freshNodes; // the node registry of the last {_fresh} deployment
    event ProposalCreated(
        uint256 indexed id,
        uint8 kind,
        uint32 indexed region,
        address target,
        bytes data,
        address indexed proposer,
        uint64 expiresAt
    );
    event ProposalApproved(
        uint256 indexed id, address indexed approver, uint32 region, uint256 approvals, uint256 required
    );
    event ProposalExecuted(uint256 indexed id);
    event RegionAdmitted(uint32 indexed region, address[] officers, uint8 threshold);
    event RegionRemoved(uint32 indexed region);
    event OfficerAdded(uint32 indexed region, address indexed officer);
    event OfficerRemoved(uint32 indexed region, address indexed officer);
    event RegionThresholdSet(uint32 indexed region, uint8 threshold);
    event QuorumSet(uint16 bps);
    event ProposalTtlSet(uint64 ttl);
    event TypeDefined(
        bytes32 indexed typeCode, uint16 typeIndex, string name, bytes32 schemaHash, uint32 version, bool active
    );

    address internal zj1 = address(0x33001);
    address internal zj2 = address(0x33002);

    // ============================================================ genesis and binding

    function test_genesis_state() public view {
        assertTrue(consortium.isMember(BJ));
        assertTrue(consortium.isMember(SH));
        assertTrue(consortium.isMember(GD));
        assertFalse(consortium.isMember(ZJ));
        assertEq(consortium.memberCount(), 3);
        assertEq(consortium.quorumBps(), 5000);
        assertEq(consortium.quorumRequired(), 2);
        assertEq(consortium.proposalTtl(), 7 days);
        assertEq(consortium.regionThreshold(BJ), 2);
        assertEq(consortium.officerRegion(bj3), BJ);
        assertEq(consortium.officerRegion(gd2), GD);
        assertEq(consortium.officerRegion(stranger), 0);
        assertEq(consortium.officerCount(BJ), 3);
        assertEq(consortium.officersOf(SH)[1], sh2);
        assertEq(consortium.issuerRegistry(), address(registry));
        assertEq(consortium.recognitionPolicy(), address(policy));
        assertEq(consortium.anchorLedger(), address(ledger));
        assertEq(consortium.deployer(), address(0));
    }

    function test_constructor_emitsGenesisEvents() public {
        uint32[] memory regions = new uint32[](2);
        regions[0] = BJ;
        regions[1] = SH;
        address[][] memory officers = new address[][](2);
        officers[0] = _list(address(1), address(2), address(3));
        officers[1] = _list(address(4), address(5));
        uint8[] memory ks = new uint8[](2);
        ks[0] = 3;
        ks[1] = 1;
        vm.recordLogs();
        Consortium c = new Consortium(regions, officers, ks, 2 days);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        // QuorumSet, ProposalTtlSet, RegionAdmitted x2
        assertEq(logs.length, 4);
        assertEq(logs[2].topics[0], RegionAdmitted.selector);
        assertEq(logs[2].topics[1], bytes32(uint256(BJ)));
        (address[] memory got, uint8 k) = abi.decode(logs[2].data, (address[], uint8));
        assertEq(got.length, 3);
        assertEq(got[2], address(3));
        assertEq(k, 3);
        assertEq(c.regionThreshold(SH), 1);
        assertEq(c.proposalTtl(), 2 days);
        assertEq(c.deployer(), address(this));
    }

    function test_constructor_refusals() public {
        uint32[] memory none = new uint32[](0);
        vm.expectRevert(Consortium.NoRegions.selector);
        new Consortium(none, new address[][](0), new uint8[](0), 0);

        uint32[] memory one = new uint32[](1);
        one[0] = BJ;
        vm.expectRevert(Consortium.LengthMismatch.selector);
        new Consortium(one, new address[][](2), new uint8[](0), 0);

        address[][] memory offs = new address[][](1);
        offs[0] = _list(address(1), address(2));
        vm.expectRevert(Consortium.LengthMismatch.selector);
        new Consortium(one, offs, new uint8[](2), 0);

        one[0] = 12345; // not a 6-digit GB/T 2260 code
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidRegion.selector, uint32(12345)));
        new Consortium(one, offs, new uint8[](0), 0);
        one[0] = BJ;

        uint8[] memory ks = new uint8[](1);
        ks[0] = 3;
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, BJ, uint8(3), uint256(2)));
        new Consortium(one, offs, ks, 0);

        // default k = 2 with a single officer is refused, not silently weakened
        offs[0] = new address[](1);
        offs[0][0] = address(1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, BJ, uint8(2), uint256(1)));
        new Consortium(one, offs, new uint8[](0), 0);

        offs[0] = new address[](0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NoOfficers.selector, BJ));
        new Consortium(one, offs, new uint8[](0), 0);

        offs[0] = _list(address(1), address(1));
        vm.expectRevert(abi.encodeWithSelector(Consortium.OfficerAlreadyAssigned.selector, address(1), BJ));
        new Consortium(one, offs, new uint8[](0), 0);

        offs[0] = _list(address(1), address(0));
        vm.expectRevert(Consortium.ZeroAddress.selector);
        new Consortium(one, offs, new uint8[](0), 0);

        offs[0] = new address[](33);
        vm.expectRevert(abi.encodeWithSelector(Consortium.TooManyOfficers.selector, BJ));
        new Consortium(one, offs, new uint8[](0), 0);

        offs[0] = _list(address(1), address(2));
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalTtl.selector, uint64(59 minutes)));
        new Consortium(one, offs, new uint8[](0), 59 minutes);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalTtl.selector, uint64(91 days)));
        new Consortium(one, offs, new uint8[](0), 91 days);

        uint32[] memory two = new uint32[](2);
        two[0] = BJ;
        two[1] = BJ;
        address[][] memory offs2 = new address[][](2);
        offs2[0] = _list(address(1), address(2));
        offs2[1] = _list(address(3), address(4));
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyMember.selector, BJ));
        new Consortium(two, offs2, new uint8[](0), 0);

        // an officer serves one region only
        two[1] = SH;
        offs2[1] = _list(address(3), address(2));
        vm.expectRevert(abi.encodeWithSelector(Consortium.OfficerAlreadyAssigned.selector, address(2), BJ));
        new Consortium(two, offs2, new uint8[](0), 0);
    }

    function _fresh() internal returns (Consortium c, IssuerRegistry r, RecognitionPolicy p, AnchorLedger l) {
        uint32[] memory regions = new uint32[](1);
        regions[0] = BJ;
        address[][] memory offs = new address[][](1);
        offs[0] = _list(address(0xF1), address(0xF2));
        vm.startPrank(deployer);
        c = new Consortium(regions, offs, new uint8[](0), 0);
        r = new IssuerRegistry(c);
        p = new RecognitionPolicy(c);
        l = new AnchorLedger(r);
        freshNodes = new NodeRegistry(c);
        vm.stopPrank();
    }

    function test_bindContracts_once_byDeployer_thenPowerless() public {
        (Consortium c, IssuerRegistry r, RecognitionPolicy p, AnchorLedger l) = _fresh();

        // before binding, registries are not proposal targets
        vm.prank(address(0xF1));
        vm.expectRevert(abi.encodeWithSelector(Consortium.TargetNotAllowed.selector, address(r)));
        c.proposeRegional(BJ, address(r), abi.encodeCall(IssuerRegistry.registerIssuer, (BJ, ISSUER_A, "x")));

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotDeployer.selector, stranger));
        c.bindContracts(address(r), address(p), address(l), address(freshNodes));

        vm.prank(deployer);
        vm.expectRevert(Consortium.ZeroAddress.selector);
        c.bindContracts(address(0), address(p), address(l), address(freshNodes));

        vm.expectEmit(address(c));
        emit ContractsBound(address(r), address(p), address(l), address(freshNodes));
        vm.prank(deployer);
        c.bindContracts(address(r), address(p), address(l), address(freshNodes));
        assertEq(c.deployer(), address(0));

        vm.prank(deployer);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotDeployer.selector, deployer));
        c.bindContracts(address(r), address(p), address(l), address(freshNodes));
    }

    function test_bindContracts_refusesForeignContracts() public {
        (Consortium c, IssuerRegistry r, RecognitionPolicy p, AnchorLedger l) = _fresh();
        vm.startPrank(deployer);
        vm.expectRevert(abi.encodeWithSelector(Consortium.BindingMismatch.selector, address(registry)));
        c.bindContracts(address(registry), address(p), address(l), address(freshNodes));
        vm.expectRevert(abi.encodeWithSelector(Consortium.BindingMismatch.selector, address(policy)));
        c.bindContracts(address(r), address(policy), address(l), address(freshNodes));
        vm.expectRevert(abi.encodeWithSelector(Consortium.BindingMismatch.selector, address(ledger)));
        c.bindContracts(address(r), address(p), address(ledger), address(freshNodes));
        vm.expectRevert(abi.encodeWithSelector(Consortium.BindingMismatch.selector, address(nodes)));
        c.bindContracts(address(r), address(p), address(l), address(nodes));
        vm.expectRevert(Consortium.ZeroAddress.selector);
        c.bindContracts(address(r), address(p), address(l), address(0));
        vm.stopPrank();
    }

    function test_deployer_hasNoPowerAfterBinding() public {
        vm.startPrank(deployer);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotDeployer.selector, deployer));
        consortium.bindContracts(address(registry), address(policy), address(ledger), address(nodes));
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, deployer));
        consortium.admitRegion(ZJ, _list(deployer, zj1), 2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, deployer));
        consortium.addOfficer(BJ, deployer);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.NotConsortium.selector, deployer));
        registry.registerIssuer(BJ, keccak256("x"), "x");
        vm.expectRevert(abi.encodeWithSelector(RecognitionPolicy.NotConsortium.selector, deployer));
        policy.setRecognition(BJ, TYPE_1, SH, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, deployer));
        consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, deployer)));
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, uint32(0), deployer));
        consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.setQuorum, (6000)));
        vm.stopPrank();
    }

    function test_onlySelf_everyGovernedFunction() public {
        vm.startPrank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, bj1));
        consortium.admitRegion(ZJ, _list(zj1, zj2), 2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, bj1));
        consortium.removeRegion(GD);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, bj1));
        consortium.defineType(TYPE_3, "x", bytes32(0), 1, true);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, bj1));
        consortium.setQuorum(6000);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, bj1));
        consortium.setProposalTtl(1 days);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, bj1));
        consortium.addOfficer(BJ, zj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, bj1));
        consortium.removeOfficer(BJ, bj2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotSelf.selector, bj1));
        consortium.setRegionThreshold(BJ, 1);
        vm.stopPrank();
    }

    // ============================================================ regional proposals

    function test_regional_dualControl_oneApprovalDoesNotExecute() public {
        bytes memory data = abi.encodeCall(Consortium.addOfficer, (BJ, zj1));
        uint64 expiresAt = T0 + TTL;

        vm.expectEmit(address(consortium));
        emit ProposalCreated(consortium.proposalCount() + 1, 1, BJ, address(consortium), data, bj1, expiresAt);
        vm.prank(bj1);
        uint256 id = consortium.proposeRegional(BJ, address(consortium), data);

        assertEq(consortium.officerRegion(zj1), 0, "single officer executed");
        assertEq(consortium.proposalState(id), 1);
        assertTrue(consortium.hasApproved(id, bj1));
        assertFalse(consortium.hasApproved(id, bj2));
        assertTrue(consortium.hasRegionApproved(id, BJ));
        (
            uint8 kind,
            uint32 region,
            address target,
            bytes memory d,
            address proposer,
            uint64 createdAt,
            uint64 exp,
            uint256 approvals,
            bool executed
        ) = consortium.proposal(id);
        assertEq(kind, 1);
        assertEq(region, BJ);
        assertEq(target, address(consortium));
        assertEq(d, data);
        assertEq(proposer, bj1);
        assertEq(createdAt, T0);
        assertEq(exp, expiresAt);
        assertEq(approvals, 1);
        assertFalse(executed);
        assertEq(consortium.requiredApprovals(id), 2);

        vm.expectEmit(address(consortium));
        emit ProposalApproved(id, bj3, BJ, 2, 2);
        vm.expectEmit(address(consortium));
        emit ProposalExecuted(id);
        vm.expectEmit(address(consortium));
        emit OfficerAdded(BJ, zj1);
        vm.prank(bj3);
        consortium.approve(id);

        assertEq(consortium.officerRegion(zj1), BJ);
        assertEq(consortium.proposalState(id), 2);
        (,,,,,,, approvals, executed) = consortium.proposal(id);
        assertEq(approvals, 2);
        assertTrue(executed);
    }

    function test_regional_refusals() public {
        bytes memory data = abi.encodeCall(Consortium.addOfficer, (BJ, zj1));
        // non-officer
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, stranger));
        consortium.proposeRegional(BJ, address(consortium), data);
        // officer of another region
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, sh1));
        consortium.proposeRegional(BJ, address(consortium), data);
        // region 0 is nobody's
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, uint32(0), bj1));
        consortium.proposeRegional(0, address(consortium), abi.encodeCall(Consortium.addOfficer, (0, zj1)));
        // an officer of BJ may not act for SH
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.RegionMismatch.selector, BJ, uint256(SH)));
        consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (SH, zj1)));
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.RegionMismatch.selector, BJ, uint256(SH)));
        consortium.proposeRegional(BJ, address(registry), abi.encodeCall(IssuerRegistry.suspendIssuer, (SH, ISSUER_B)));
        // dirty high bits in the region word are not the region
        bytes memory dirty = abi.encodeCall(Consortium.addOfficer, (BJ, zj1));
        dirty[4] = 0x01;
        vm.prank(bj1);
        vm.expectRevert(
            abi.encodeWithSelector(Consortium.RegionMismatch.selector, BJ, (uint256(1) << 248) | uint256(BJ))
        );
        consortium.proposeRegional(BJ, address(consortium), dirty);
    }

    function test_regional_disallowedTargetsAndSelectors() public {
        vm.startPrank(bj1);
        // the ledger and arbitrary addresses are never targets
        vm.expectRevert(abi.encodeWithSelector(Consortium.TargetNotAllowed.selector, address(ledger)));
        consortium.proposeRegional(
            BJ, address(ledger), abi.encodeCall(AnchorLedger.anchor, (bytes32(uint256(BJ)), TYPE_1, 1))
        );
        vm.expectRevert(abi.encodeWithSelector(Consortium.TargetNotAllowed.selector, stranger));
        consortium.proposeRegional(BJ, stranger, abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
        vm.expectRevert(abi.encodeWithSelector(Consortium.TargetNotAllowed.selector, address(0)));
        consortium.proposeRegional(BJ, address(0), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
        // consortium-only actions are not regional
        bytes memory admit = abi.encodeCall(Consortium.removeRegion, (BJ));
        vm.expectRevert(
            abi.encodeWithSelector(
                Consortium.SelectorNotAllowed.selector, address(consortium), Consortium.removeRegion.selector
            )
        );
        consortium.proposeRegional(BJ, address(consortium), admit);
        // a registry selector aimed at the policy
        vm.expectRevert(
            abi.encodeWithSelector(
                Consortium.SelectorNotAllowed.selector, address(policy), IssuerRegistry.suspendIssuer.selector
            )
        );
        consortium.proposeRegional(BJ, address(policy), abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));
        // a view of the registry
        vm.expectRevert(
            abi.encodeWithSelector(
                Consortium.SelectorNotAllowed.selector, address(registry), IssuerRegistry.registeredAt.selector
            )
        );
        consortium.proposeRegional(
            BJ, address(registry), abi.encodeCall(IssuerRegistry.registeredAt, (bytes32(uint256(BJ))))
        );
        // malformed calldata
        vm.expectRevert(Consortium.MalformedCall.selector);
        consortium.proposeRegional(BJ, address(consortium), hex"0102");
        vm.expectRevert(Consortium.MalformedCall.selector);
        consortium.proposeRegional(BJ, address(consortium), abi.encodePacked(Consortium.addOfficer.selector, uint16(1)));
        vm.stopPrank();
    }

    function test_regional_thresholdOne_executesOnPropose() public {
        _regional(SH, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (SH, 1)));
        assertEq(consortium.regionThreshold(SH), 1);
        vm.prank(sh2);
        uint256 id =
            consortium.proposeRegional(SH, address(consortium), abi.encodeCall(Consortium.addOfficer, (SH, zj1)));
        assertEq(consortium.proposalState(id), 2);
        assertEq(consortium.officerRegion(zj1), SH);
    }

    // ============================================================ approvals

    function test_approve_refusals() public {
        vm.prank(bj1);
        uint256 id =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));

        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyApproved.selector, id, bj1));
        consortium.approve(id);

        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, sh1));
        consortium.approve(id);

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, stranger));
        consortium.approve(id);

        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.UnknownProposal.selector, id + 1));
        consortium.approve(id + 1);

        vm.prank(bj2);
        consortium.approve(id);
        vm.prank(bj3);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalAlreadyExecuted.selector, id));
        consortium.approve(id);
    }

    function test_approve_expired() public {
        vm.prank(bj1);
        uint256 id =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
        vm.warp(T0 + TTL);
        assertEq(consortium.proposalState(id), 3);
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalExpired.selector, id, T0 + TTL));
        consortium.approve(id);
    }

    function test_approve_justBeforeExpiry() public {
        vm.prank(bj1);
        uint256 id =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
        vm.warp(T0 + TTL - 1);
        vm.prank(bj2);
        consortium.approve(id);
        assertEq(consortium.officerRegion(zj1), BJ);
    }

    function test_approve_bubblesTargetError_andKeepsProposalPending() public {
        vm.prank(bj1);
        uint256 id = consortium.proposeRegional(
            BJ, address(registry), abi.encodeCall(IssuerRegistry.registerIssuer, (BJ, ISSUER_A, "dup"))
        );
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(IssuerRegistry.IssuerAlreadyRegistered.selector, ISSUER_A));
        consortium.approve(id);
        assertEq(consortium.proposalState(id), 1);
        assertFalse(consortium.hasApproved(id, bj2));
        (,,,,,,, uint256 approvals,) = consortium.proposal(id);
        assertEq(approvals, 1);
    }

    function test_removingOfficer_voidsPendingProposalsOfRegion() public {
        vm.prank(bj1);
        uint256 pending =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
        vm.prank(sh1);
        uint256 other =
            consortium.proposeRegional(SH, address(consortium), abi.encodeCall(Consortium.addOfficer, (SH, zj2)));

        uint256 pid = _proposeR(BJ, address(consortium), abi.encodeCall(Consortium.removeOfficer, (BJ, bj1)));
        vm.expectEmit(address(consortium));
        emit OfficerRemoved(BJ, bj1);
        _approveR(BJ, pid);
        assertEq(consortium.officerRegion(bj1), 0);
        assertEq(consortium.officerCount(BJ), 2);

        assertEq(consortium.proposalState(pending), 4);
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalVoid.selector, pending));
        consortium.approve(pending);
        // other regions' proposals are untouched
        assertEq(consortium.proposalState(other), 1);
        vm.prank(sh2);
        consortium.approve(other);
        assertEq(consortium.officerRegion(zj2), SH);
        // the removed officer can no longer propose
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, bj1));
        consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
    }

    // ============================================================ consortium proposals

    function test_consortium_quorumOfRegions() public {
        bytes memory data = abi.encodeCall(Consortium.admitRegion, (ZJ, _list(zj1, zj2), 0));
        vm.prank(bj1);
        uint256 id = consortium.proposeConsortium(address(consortium), data);
        assertFalse(consortium.isMember(ZJ));
        assertTrue(consortium.hasRegionApproved(id, BJ));
        assertEq(consortium.requiredApprovals(id), 2);

        // a second officer of the same region does not count twice
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyApproved.selector, id, bj2));
        consortium.approve(id);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, uint32(0), stranger));
        consortium.approve(id);

        vm.expectEmit(address(consortium));
        emit ProposalApproved(id, gd2, GD, 2, 2);
        vm.expectEmit(address(consortium));
        emit ProposalExecuted(id);
        vm.expectEmit(address(consortium));
        emit RegionAdmitted(ZJ, _list(zj1, zj2), 2);
        vm.prank(gd2);
        consortium.approve(id);

        assertTrue(consortium.isMember(ZJ));
        assertEq(consortium.memberCount(), 4);
        assertEq(consortium.quorumRequired(), 3); // 4 * 5000 / 10000 + 1
        assertEq(consortium.officerRegion(zj2), ZJ);
        assertEq(consortium.regionThreshold(ZJ), 2);
    }

    function test_consortium_quorumUsesCurrentMemberCount() public {
        vm.prank(bj1);
        uint256 id = consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.setQuorum, (6000)));
        // meanwhile a fourth region joins: quorum becomes 3
        _consortium(abi.encodeCall(Consortium.admitRegion, (ZJ, _list(zj1, zj2), 2)));
        vm.prank(sh1);
        consortium.approve(id);
        assertEq(consortium.quorumBps(), 5000, "executed with a stale quorum");
        vm.prank(zj1);
        consortium.approve(id);
        assertEq(consortium.quorumBps(), 6000);
        assertEq(consortium.quorumRequired(), 3); // 4 * 6000 / 10000 + 1
    }

    function test_consortium_refusals() public {
        vm.startPrank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.TargetNotAllowed.selector, address(registry)));
        consortium.proposeConsortium(address(registry), abi.encodeCall(IssuerRegistry.suspendIssuer, (BJ, ISSUER_A)));
        vm.expectRevert(
            abi.encodeWithSelector(
                Consortium.SelectorNotAllowed.selector, address(consortium), Consortium.addOfficer.selector
            )
        );
        consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
        vm.expectRevert(Consortium.MalformedCall.selector);
        consortium.proposeConsortium(address(consortium), hex"");
        vm.stopPrank();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, uint32(0), stranger));
        consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.setQuorum, (6000)));
    }

    function test_consortium_expired() public {
        vm.prank(bj1);
        uint256 id = consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.setQuorum, (6000)));
        vm.warp(T0 + TTL + 1);
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalExpired.selector, id, T0 + TTL));
        consortium.approve(id);
    }

    function test_admitRegion_refusals() public {
        vm.prank(bj1);
        uint256 id = consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.admitRegion, (SH, _list(zj1, zj2), 2))
        );
        vm.prank(gd1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyMember.selector, SH));
        consortium.approve(id);

        vm.prank(bj1);
        id = consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.admitRegion, (ZJ, _list(zj1, sh2), 2))
        );
        vm.prank(gd1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.OfficerAlreadyAssigned.selector, sh2, SH));
        consortium.approve(id);

        vm.prank(bj1);
        id = consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.admitRegion, (ZJ, _list(zj1, zj2), 3))
        );
        vm.prank(gd1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, ZJ, uint8(3), uint256(2)));
        consortium.approve(id);

        vm.prank(bj1);
        id = consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.admitRegion, (ZJ, new address[](0), 1))
        );
        vm.prank(gd1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NoOfficers.selector, ZJ));
        consortium.approve(id);

        vm.prank(bj1);
        id = consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.admitRegion, (99, _list(zj1, zj2), 2))
        );
        vm.prank(gd1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidRegion.selector, uint32(99)));
        consortium.approve(id);
    }

    function test_removeRegion_clearsOfficers_andVoidsPending() public {
        vm.prank(gd1);
        uint256 gdPending =
            consortium.proposeRegional(GD, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (GD, 1)));
        vm.prank(sh1);
        uint256 consPending =
            consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.setQuorum, (6000)));

        uint256 pid = _proposeC(abi.encodeCall(Consortium.removeRegion, (GD)));
        vm.expectEmit(address(consortium));
        emit RegionRemoved(GD);
        _approveC(pid);

        assertFalse(consortium.isMember(GD));
        assertEq(consortium.memberCount(), 2);
        assertEq(consortium.officerRegion(gd1), 0);
        assertEq(consortium.officerRegion(gd2), 0);
        assertEq(consortium.officerCount(GD), 0);
        assertEq(consortium.regionThreshold(GD), 0);
        assertEq(consortium.quorumRequired(), 2);
        assertEq(consortium.proposalState(gdPending), 4);
        assertEq(consortium.proposalState(consPending), 4);
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalVoid.selector, consPending));
        consortium.approve(consPending);

        vm.prank(gd1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, GD, gd1));
        consortium.proposeRegional(GD, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (GD, 1)));

        // re-admission with new officers: the old officers stay out, old proposals stay void
        _consortium(abi.encodeCall(Consortium.admitRegion, (GD, _list(zj1, zj2), 2)));
        assertEq(consortium.officerRegion(gd1), 0);
        assertEq(consortium.officerRegion(zj1), GD);
        assertEq(consortium.proposalState(gdPending), 4);
        vm.prank(zj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalVoid.selector, gdPending));
        consortium.approve(gdPending);
        // former officers may now serve elsewhere
        _regional(SH, address(consortium), abi.encodeCall(Consortium.addOfficer, (SH, gd1)));
        assertEq(consortium.officerRegion(gd1), SH);
    }

    function test_removeRegion_refusals_lastRegionAndNonMember() public {
        vm.prank(bj1);
        uint256 id = consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.removeRegion, (ZJ)));
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotMember.selector, ZJ));
        consortium.approve(id);

        _consortium(abi.encodeCall(Consortium.removeRegion, (GD)));
        _consortium(abi.encodeCall(Consortium.removeRegion, (SH)));
        assertEq(consortium.memberCount(), 1);
        assertEq(consortium.quorumRequired(), 1);
        // quorum 1: executes on propose, and the last region cannot go
        vm.prank(bj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.LastRegion.selector, BJ));
        consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.removeRegion, (BJ)));
    }

    // ============================================================ types

    function test_defineType_assignsStableIndex_andUpdates() public {
        assertEq(consortium.typeCount(), 2);
        assertEq(consortium.typeIndexOf(TYPE_1), 1);
        assertEq(consortium.typeIndexOf(TYPE_2), 2);
        assertEq(consortium.typeIndexOf(TYPE_3), 0);
        assertEq(consortium.typeCodeAt(2), TYPE_2);

        uint256 pid =
            _proposeC(abi.encodeCall(Consortium.defineType, (TYPE_3, unicode"驾驶证", keccak256("s3"), 1, true)));
        vm.expectEmit(address(consortium));
        emit TypeDefined(TYPE_3, 3, unicode"驾驶证", keccak256("s3"), 1, true);
        _approveC(pid);

        pid = _proposeC(
            abi.encodeCall(Consortium.defineType, (TYPE_1, unicode"居民身份证明(2)", keccak256("s1b"), 2, false))
        );
        vm.expectEmit(address(consortium));
        emit TypeDefined(TYPE_1, 1, unicode"居民身份证明(2)", keccak256("s1b"), 2, false);
        _approveC(pid);

        (uint16 index, bool defined, bool active, uint32 version, bytes32 schemaHash, string memory name) =
            consortium.typeInfo(TYPE_1);
        assertEq(index, 1);
        assertTrue(defined);
        assertFalse(active);
        assertEq(version, 2);
        assertEq(schemaHash, keccak256("s1b"));
        assertEq(name, unicode"居民身份证明(2)");
        (uint16 gi, bool ga) = consortium.typeGate(TYPE_1);
        assertEq(gi, 1);
        assertFalse(ga);
        assertEq(consortium.typeCount(), 3);

        (, defined,,,,) = consortium.typeInfo(bytes32("nope"));
        assertFalse(defined);
    }

    function test_defineType_refusals() public {
        vm.prank(bj1);
        uint256 id = consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.defineType, (TYPE_1, "x", bytes32(0), 0, true))
        );
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.TypeVersionDowngrade.selector, TYPE_1, uint32(1), uint32(0)));
        consortium.approve(id);

        vm.prank(bj1);
        id = consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.defineType, (bytes32(0), "x", bytes32(0), 1, true))
        );
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidTypeCode.selector, bytes32(0)));
        consortium.approve(id);

        bytes32 notLeftAligned = bytes32(uint256(0x41));
        vm.prank(bj1);
        id = consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.defineType, (notLeftAligned, "x", bytes32(0), 1, true))
        );
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidTypeCode.selector, notLeftAligned));
        consortium.approve(id);

        vm.prank(bj1);
        id = consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.defineType, (TYPE_3, "", bytes32(0), 1, true))
        );
        vm.prank(sh1);
        vm.expectRevert(Consortium.EmptyTypeName.selector);
        consortium.approve(id);
    }

    // ============================================================ quorum and TTL

    function test_setQuorum_andBounds() public {
        uint256 pid = _proposeC(abi.encodeCall(Consortium.setQuorum, (9999)));
        vm.expectEmit(address(consortium));
        emit QuorumSet(9999);
        _approveC(pid);
        assertEq(consortium.quorumRequired(), 3); // unanimity of 3

        // now two regions are not enough
        vm.prank(bj1);
        uint256 id = consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.setQuorum, (5000)));
        vm.prank(sh1);
        consortium.approve(id);
        assertEq(consortium.quorumBps(), 9999);
        vm.prank(gd1);
        consortium.approve(id);
        assertEq(consortium.quorumBps(), 5000);

        vm.prank(bj1);
        id = consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.setQuorum, (4999)));
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidQuorum.selector, uint16(4999)));
        consortium.approve(id);
        vm.prank(bj1);
        id = consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.setQuorum, (10000)));
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidQuorum.selector, uint16(10000)));
        consortium.approve(id);
    }

    function test_setProposalTtl_appliesToNewProposals() public {
        vm.prank(bj1);
        uint256 old =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
        uint256 pid = _proposeC(abi.encodeCall(Consortium.setProposalTtl, (1 days)));
        vm.expectEmit(address(consortium));
        emit ProposalTtlSet(1 days);
        _approveC(pid);
        vm.prank(bj1);
        uint256 fresh =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj2)));
        vm.warp(T0 + 1 days);
        assertEq(consortium.proposalState(old), 1);
        assertEq(consortium.proposalState(fresh), 3);

        vm.prank(bj1);
        uint256 id =
            consortium.proposeConsortium(address(consortium), abi.encodeCall(Consortium.setProposalTtl, (30 minutes)));
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidProposalTtl.selector, uint64(30 minutes)));
        consortium.approve(id);
    }

    // ============================================================ officers and thresholds

    function test_addOfficer_refusals() public {
        vm.prank(bj1);
        uint256 id =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, sh1)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.OfficerAlreadyAssigned.selector, sh1, SH));
        consortium.approve(id);

        vm.prank(bj1);
        id = consortium.proposeRegional(
            BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, address(0)))
        );
        vm.prank(bj2);
        vm.expectRevert(Consortium.ZeroAddress.selector);
        consortium.approve(id);
    }

    function test_addOfficer_upToMax() public {
        // bring BJ from 3 to 32 officers, then one more is refused
        for (uint256 i = 0; i < 29; ++i) {
            _regional(
                BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, address(uint160(0x7000 + i))))
            );
        }
        assertEq(consortium.officerCount(BJ), 32);
        vm.prank(bj1);
        uint256 id =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
        vm.prank(bj2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.TooManyOfficers.selector, BJ));
        consortium.approve(id);
    }

    function test_removeOfficer_neverBelowThreshold() public {
        // SH has 2 officers and k = 2: removing one is refused
        vm.prank(sh1);
        uint256 id =
            consortium.proposeRegional(SH, address(consortium), abi.encodeCall(Consortium.removeOfficer, (SH, sh2)));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, SH, uint8(2), uint256(1)));
        consortium.approve(id);

        vm.prank(sh1);
        id = consortium.proposeRegional(SH, address(consortium), abi.encodeCall(Consortium.removeOfficer, (SH, bj1)));
        vm.prank(sh2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, SH, bj1));
        consortium.approve(id);

        // lower k to 1 first, then removing works; the last officer can never go
        _regional(SH, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (SH, 1)));
        vm.prank(sh1);
        consortium.proposeRegional(SH, address(consortium), abi.encodeCall(Consortium.removeOfficer, (SH, sh2)));
        assertEq(consortium.officerCount(SH), 1);
        assertEq(consortium.officersOf(SH)[0], sh1);
        vm.prank(sh1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, SH, uint8(1), uint256(0)));
        consortium.proposeRegional(SH, address(consortium), abi.encodeCall(Consortium.removeOfficer, (SH, sh1)));
    }

    function test_removeOfficer_swapAndPopKeepsList() public {
        _regional(BJ, address(consortium), abi.encodeCall(Consortium.removeOfficer, (BJ, bj1)));
        address[] memory list = consortium.officersOf(BJ);
        assertEq(list.length, 2);
        assertEq(list[0], bj3);
        assertEq(list[1], bj2);
        // the moved officer can still be removed correctly
        vm.prank(bj2);
        uint256 id =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, zj1)));
        vm.prank(bj3);
        consortium.approve(id);
        vm.prank(bj2);
        id = consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.removeOfficer, (BJ, bj3)));
        vm.prank(zj1);
        consortium.approve(id);
        list = consortium.officersOf(BJ);
        assertEq(list.length, 2);
        assertEq(list[0], zj1);
        assertEq(list[1], bj2);
    }

    function test_setRegionThreshold_bounds() public {
        uint256 pid = _proposeR(BJ, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (BJ, 3)));
        vm.expectEmit(address(consortium));
        emit RegionThresholdSet(BJ, 3);
        _approveR(BJ, pid);
        assertEq(consortium.regionThreshold(BJ), 3);

        // now two officers are not enough
        vm.prank(bj1);
        uint256 id =
            consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (BJ, 4)));
        vm.prank(bj2);
        consortium.approve(id);
        assertEq(consortium.proposalState(id), 1);
        vm.prank(bj3);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, BJ, uint8(4), uint256(3)));
        consortium.approve(id);

        vm.prank(bj1);
        id = consortium.proposeRegional(BJ, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (BJ, 0)));
        vm.prank(bj2);
        consortium.approve(id);
        vm.prank(bj3);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidThreshold.selector, BJ, uint8(0), uint256(3)));
        consortium.approve(id);
    }

    function test_regionalActions_onNonMember_refused() public {
        // reachable only through the consortium itself: simulate an executed proposal
        vm.startPrank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotMember.selector, ZJ));
        consortium.addOfficer(ZJ, zj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotMember.selector, ZJ));
        consortium.removeOfficer(ZJ, zj1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotMember.selector, ZJ));
        consortium.setRegionThreshold(ZJ, 1);
        vm.stopPrank();
    }

    // ============================================================ fuzz

    /// @notice Exactly k distinct officers execute a regional proposal; k - 1 never do.
    function testFuzz_regionalExecutesExactlyAtK(uint8 nRaw, uint8 kRaw, uint8 approversRaw) public {
        uint256 n = bound(nRaw, 1, 12);
        uint8 k = uint8(bound(kRaw, 1, n));
        uint256 approvers = bound(approversRaw, 1, n);
        uint32[] memory regions = new uint32[](1);
        regions[0] = ZJ;
        address[][] memory offs = new address[][](1);
        offs[0] = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            offs[0][i] = address(uint160(0x9000 + i));
        }
        uint8[] memory ks = new uint8[](1);
        ks[0] = k;
        Consortium c = new Consortium(regions, offs, ks, 0);
        bytes memory data = abi.encodeCall(Consortium.addOfficer, (ZJ, stranger));
        vm.prank(offs[0][0]);
        uint256 id = c.proposeRegional(ZJ, address(c), data);
        for (uint256 i = 1; i < approvers && i < k; ++i) {
            vm.prank(offs[0][i]);
            c.approve(id);
        }
        bool shouldExecute = approvers >= k;
        assertEq(c.officerRegion(stranger) == ZJ, shouldExecute);
        (,,,,,,, uint256 approvals,) = c.proposal(id);
        assertLe(approvals, n, "approvals exceed officers");
        assertEq(approvals, approvers < k ? approvers : k);
    }

    /// @notice quorumRequired is always a strict majority or more, and never more than the members.
    function testFuzz_quorumBounds(uint16 bps, uint8 membersRaw) public pure {
        bps = uint16(bound(bps, 5000, 9999));
        uint256 members = bound(membersRaw, 1, 40);
        uint256 needed = members * bps / 10000 + 1;
        assertGt(needed * 2, members, "not a strict majority");
        assertLe(needed, members, "more than all members");
    }
}
