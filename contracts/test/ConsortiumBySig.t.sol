// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Test code: every narrowing cast below is of a value already bounded to fit.
// forge-lint: disable-start(unsafe-typecast)

import {Fixture} from "./utils/Fixture.sol";
import {Consortium} from "../Consortium.sol";
import {RecognitionPolicy} from "../RecognitionPolicy.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/**
 * @notice Officers' acts signed on their own devices (EIP-712) and relayed by an account that is
 * no officer: a relayer gains no power, a signature counts once, for its signer only, until its
 * deadline. Two keyed officers join 北京 (k = 2), one keyed officer joins 上海.
 */
contract ConsortiumBySigTest is Fixture {
    event SignedActRelayed(uint256 indexed id, address indexed officer, address indexed relayer, uint256 nonce);
    event ProposalExecuted(uint256 indexed id);

    uint256 internal constant ALICE_PK = 0xA1;
    uint256 internal constant BOB_PK = 0xB2;
    uint256 internal constant CAROL_PK = 0xC3; // 上海
    uint256 internal constant MALLORY_PK = 0xBAD1; // no officer
    address internal alice;
    address internal bob;
    address internal carol;
    address internal mallory;
    address internal relayer = address(0xFEE);

    bytes internal recognise; // 北京 recognises 上海's TYPE_1: a regional change of 北京

    function setUp() public override {
        super.setUp();
        alice = vm.addr(ALICE_PK);
        bob = vm.addr(BOB_PK);
        carol = vm.addr(CAROL_PK);
        mallory = vm.addr(MALLORY_PK);
        _regional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, alice)));
        _regional(BJ, address(consortium), abi.encodeCall(Consortium.addOfficer, (BJ, bob)));
        _regional(SH, address(consortium), abi.encodeCall(Consortium.addOfficer, (SH, carol)));
        recognise = abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_1, SH, 0, 0));
    }

    // ------------------------------------------------------------ signing helpers (what the page does)

    function _sign(uint256 pk, bytes32 structHash) internal view returns (bytes memory) {
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", consortium.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(r, s, v);
    }

    function _approveSig(uint256 pk, uint256 id, address officer, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _sign(pk, keccak256(abi.encode(consortium.APPROVE_TYPEHASH(), id, officer, nonce, deadline)));
    }

    function _proposeSig(uint256 pk, uint32 region, bytes memory data, address officer, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _sign(
            pk,
            keccak256(
                abi.encode(
                    consortium.PROPOSE_REGIONAL_TYPEHASH(),
                    region,
                    address(policy),
                    keccak256(data),
                    officer,
                    nonce,
                    deadline
                )
            )
        );
    }

    function _relayPropose(uint256 pk, address officer) internal returns (uint256 id) {
        uint256 nonce = consortium.nonces(officer);
        uint256 deadline = block.timestamp + 10 minutes;
        bytes memory sig = _proposeSig(pk, BJ, recognise, officer, nonce, deadline);
        vm.prank(relayer);
        id = consortium.proposeRegionalBySig(BJ, address(policy), recognise, officer, nonce, deadline, sig);
    }

    function _recognised() internal view returns (bool) {
        return policy.isRecognised(BJ, TYPE_1, SH, uint64(block.timestamp));
    }

    // ------------------------------------------------------------ the path that works

    function test_domain_isEip712OfThisContractAndChain() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Huren Consortium"),
                keccak256("1"),
                block.chainid,
                address(consortium)
            )
        );
        assertEq(consortium.DOMAIN_SEPARATOR(), expected);
    }

    function test_signedProposalAndSignedApproval_executeAtK_relayerGainsNothing() public {
        uint256 id = _relayPropose(ALICE_PK, alice);
        (,,,, address proposer,,, uint256 approvals, bool executed) = consortium.proposal(id);
        assertEq(proposer, alice);
        assertEq(approvals, 1);
        assertFalse(executed);
        assertTrue(consortium.hasApproved(id, alice));
        assertFalse(consortium.hasApproved(id, relayer));
        assertEq(consortium.nonces(alice), 1);

        uint256 deadline = block.timestamp + 10 minutes;
        bytes memory sig = _approveSig(BOB_PK, id, bob, 0, deadline);
        vm.expectEmit(address(consortium));
        emit ProposalExecuted(id);
        vm.expectEmit(address(consortium));
        emit SignedActRelayed(id, bob, relayer, 0);
        vm.prank(relayer);
        consortium.approveBySig(id, bob, 0, deadline, sig);
        assertTrue(_recognised());
        assertEq(consortium.nonces(bob), 1);
    }

    function test_signedApproval_mixesWithDirectApproval() public {
        uint256 id = _proposeR(BJ, address(policy), recognise); // bj1 directly
        bytes memory sig = _approveSig(ALICE_PK, id, alice, 0, block.timestamp);
        consortium.approveBySig(id, alice, 0, block.timestamp, sig); // deadline = now still counts
        assertTrue(_recognised());
    }

    function test_signedConsortiumProposal_countsForTheSignersRegion() public {
        bytes memory data =
            abi.encodeCall(Consortium.defineType, (TYPE_3, unicode"食品经营许可证", keccak256("s3"), 1, true));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                consortium.PROPOSE_CONSORTIUM_TYPEHASH(), address(consortium), keccak256(data), carol, 0, deadline
            )
        );
        vm.prank(relayer);
        uint256 id = consortium.proposeConsortiumBySig(
            address(consortium), data, carol, 0, deadline, _sign(CAROL_PK, structHash)
        );
        assertTrue(consortium.hasRegionApproved(id, SH));
        assertEq(consortium.typeIndexOf(TYPE_3), 0);
        consortium.approveBySig(id, alice, 0, deadline, _approveSig(ALICE_PK, id, alice, 0, deadline));
        assertEq(consortium.typeIndexOf(TYPE_3), 3);
    }

    // ------------------------------------------------------------ refusals

    function test_oneOfficerAlone_cannotExecute_withAnySignatureOrRelayer() public {
        uint256 id = _relayPropose(ALICE_PK, alice);
        uint256 deadline = block.timestamp + 10 minutes;
        // Her own second approval, signed or direct, is refused.
        bytes memory again = _approveSig(ALICE_PK, id, alice, 1, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyApproved.selector, id, alice));
        consortium.approveBySig(id, alice, 1, deadline, again);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Consortium.AlreadyApproved.selector, id, alice));
        consortium.approve(id);
        // Her key signing in bob's name does not make it bob's approval.
        bytes memory forged = _approveSig(ALICE_PK, id, bob, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidSignature.selector, bob));
        consortium.approveBySig(id, bob, 0, deadline, forged);
        // The relayer (the node's account) is no officer.
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, relayer));
        consortium.approve(id);
        assertFalse(_recognised());
    }

    function test_approveBySig_replay_refused() public {
        uint256 id = _proposeR(BJ, address(consortium), abi.encodeCall(Consortium.setRegionThreshold, (BJ, 3)));
        uint256 deadline = block.timestamp + 10 minutes;
        bytes memory sig = _approveSig(ALICE_PK, id, alice, 0, deadline);
        consortium.approveBySig(id, alice, 0, deadline, sig);
        assertEq(consortium.regionThreshold(BJ), 3);
        vm.expectRevert(abi.encodeWithSelector(Nonces.InvalidAccountNonce.selector, alice, uint256(1)));
        consortium.approveBySig(id, alice, 0, deadline, sig);
    }

    function test_proposeBySig_replay_refused_evenForANewProposal() public {
        uint256 deadline = block.timestamp + 10 minutes;
        bytes memory sig = _proposeSig(ALICE_PK, BJ, recognise, alice, 0, deadline);
        uint256 before = consortium.proposalCount();
        consortium.proposeRegionalBySig(BJ, address(policy), recognise, alice, 0, deadline, sig);
        vm.expectRevert(abi.encodeWithSelector(Nonces.InvalidAccountNonce.selector, alice, uint256(1)));
        consortium.proposeRegionalBySig(BJ, address(policy), recognise, alice, 0, deadline, sig);
        assertEq(consortium.proposalCount(), before + 1);
    }

    function test_expiredDeadline_refused() public {
        uint256 id = _relayPropose(ALICE_PK, alice);
        uint256 deadline = block.timestamp + 10 minutes;
        bytes memory sig = _approveSig(BOB_PK, id, bob, 0, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.SignatureExpired.selector, deadline));
        consortium.approveBySig(id, bob, 0, deadline, sig);
        bytes memory p = _proposeSig(BOB_PK, BJ, recognise, bob, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.SignatureExpired.selector, deadline));
        consortium.proposeRegionalBySig(BJ, address(policy), recognise, bob, 0, deadline, p);
    }

    function test_wrongSigner_refused() public {
        uint256 id = _relayPropose(ALICE_PK, alice);
        uint256 deadline = block.timestamp + 10 minutes;
        bytes memory byMallory = _approveSig(MALLORY_PK, id, bob, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidSignature.selector, bob));
        consortium.approveBySig(id, bob, 0, deadline, byMallory);
        // A signature over other terms (another proposal, deadline or data) does not fit these.
        bytes memory other = _approveSig(BOB_PK, id + 1, bob, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidSignature.selector, bob));
        consortium.approveBySig(id, bob, 0, deadline, other);
        bytes memory sig = _approveSig(BOB_PK, id, bob, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidSignature.selector, bob));
        consortium.approveBySig(id, bob, 0, deadline + 1, sig);
        bytes memory p = _proposeSig(BOB_PK, BJ, recognise, bob, 0, deadline);
        bytes memory changed = abi.encodeCall(RecognitionPolicy.setRecognition, (BJ, TYPE_2, SH, 0, 0));
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidSignature.selector, bob));
        consortium.proposeRegionalBySig(BJ, address(policy), changed, bob, 0, deadline, p);
        // Garbage signatures are refused the same way.
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidSignature.selector, bob));
        consortium.approveBySig(id, bob, 0, deadline, hex"1234");
        assertFalse(_recognised());
    }

    function test_highSSignature_refused() public {
        uint256 id = _relayPropose(ALICE_PK, alice);
        uint256 deadline = block.timestamp + 10 minutes;
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                consortium.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(consortium.APPROVE_TYPEHASH(), id, bob, uint256(0), deadline))
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(BOB_PK, digest);
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory malleated = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidSignature.selector, bob));
        consortium.approveBySig(id, bob, 0, deadline, malleated);
    }

    function test_nonOfficer_refused() public {
        uint256 deadline = block.timestamp + 10 minutes;
        bytes memory p = _proposeSig(MALLORY_PK, BJ, recognise, mallory, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, mallory));
        consortium.proposeRegionalBySig(BJ, address(policy), recognise, mallory, 0, deadline, p);
        uint256 id = _relayPropose(ALICE_PK, alice);
        bytes memory a = _approveSig(MALLORY_PK, id, mallory, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, mallory));
        consortium.approveBySig(id, mallory, 0, deadline, a);
    }

    function test_anotherRegionsOfficer_refused() public {
        uint256 deadline = block.timestamp + 10 minutes;
        uint256 id = _relayPropose(ALICE_PK, alice);
        bytes memory a = _approveSig(CAROL_PK, id, carol, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, carol));
        consortium.approveBySig(id, carol, 0, deadline, a);
        bytes memory p = _proposeSig(CAROL_PK, BJ, recognise, carol, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(Consortium.NotOfficer.selector, BJ, carol));
        consortium.proposeRegionalBySig(BJ, address(policy), recognise, carol, 0, deadline, p);
        assertFalse(_recognised());
    }

    function test_removedOfficersSignature_refused() public {
        uint256 deadline = block.timestamp + 1 days;
        uint256 id = _relayPropose(ALICE_PK, alice);
        bytes memory sig = _approveSig(BOB_PK, id, bob, 0, deadline); // signed while bob still serves
        _regional(BJ, address(consortium), abi.encodeCall(Consortium.removeOfficer, (BJ, bob)));
        vm.expectRevert(abi.encodeWithSelector(Consortium.ProposalVoid.selector, id));
        consortium.approveBySig(id, bob, 0, deadline, sig);
    }

    // ------------------------------------------------------------ fuzz

    /// Any key that is not bob's, signing in bob's name, is refused; bob's own key is accepted.
    function testFuzz_onlyTheNamedOfficersKeyCounts(uint256 pk, uint32 delay) public {
        pk = bound(pk, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        uint256 id = _relayPropose(ALICE_PK, alice);
        uint256 deadline = block.timestamp + uint256(delay);
        bytes memory sig = _approveSig(pk, id, bob, 0, deadline);
        if (pk != BOB_PK) {
            vm.expectRevert(abi.encodeWithSelector(Consortium.InvalidSignature.selector, bob));
            consortium.approveBySig(id, bob, 0, deadline, sig);
            assertFalse(_recognised());
        } else {
            consortium.approveBySig(id, bob, 0, deadline, sig);
            assertTrue(_recognised());
        }
    }

    /// A valid signature relayed with any wrong nonce is refused and uses nothing up.
    function testFuzz_wrongNonce_refused(uint256 nonce) public {
        vm.assume(nonce != 0);
        uint256 id = _relayPropose(ALICE_PK, alice);
        uint256 deadline = block.timestamp + 10 minutes;
        bytes memory sig = _approveSig(BOB_PK, id, bob, nonce, deadline);
        vm.expectRevert(abi.encodeWithSelector(Nonces.InvalidAccountNonce.selector, bob, uint256(0)));
        consortium.approveBySig(id, bob, nonce, deadline, sig);
        assertEq(consortium.nonces(bob), 0);
    }
}
