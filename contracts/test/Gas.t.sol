// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Test code: every narrowing cast below is of a value already bounded to fit.
// forge-lint: disable-start(unsafe-typecast)

import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Vm.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {AnchorLedger} from "../AnchorLedger.sol";

/**
 * @notice Transaction gas of the issuer-side hot paths, measured as a real transaction would pay
 * it: the callee's gas (`vm.lastCallGas`, with every contract and slot made cold first) plus the
 * intrinsic cost (21,000 + 16 per non-zero / 4 per zero calldata byte). Run with -vv to see them.
 * Each measured transaction is the first call of its test to touch the contracts: `vm.cool` resets
 * storage slots but (as seen with forge 1.7.1) not always an account already called in the same
 * test, which would under-count 2,500 gas. Cross-checked against anvil receipts with
 * contracts/script/GasBench.s.sol: identical figures.
 */
contract GasTest is Fixture {
    /// @notice The hard budget for one anchor transaction, intrinsic cost included.
    uint256 internal constant ANCHOR_BUDGET = 80_000;
    uint256 internal constant BATCH = 1024;

    function _intrinsic(bytes memory data) internal pure returns (uint256 g) {
        g = 21_000;
        for (uint256 i = 0; i < data.length; ++i) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev Sends `data` to the ledger from `from` with cold state and returns the transaction's gas.
    function _txGas(address from, bytes memory data) internal returns (uint256 total) {
        vm.cool(address(ledger));
        vm.cool(address(registry));
        vm.cool(address(consortium));
        vm.prank(from);
        (bool ok, bytes memory ret) = address(ledger).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        Vm.Gas memory g = vm.lastCallGas();
        uint256 refund = g.gasRefunded > 0 ? uint256(int256(g.gasRefunded)) : 0;
        uint256 used = uint256(g.gasTotalUsed) + _intrinsic(data);
        uint256 cap = used / 5; // EIP-3529
        total = used - (refund < cap ? refund : cap);
    }

    bytes32[] internal certs;
    bytes32 internal root;

    /// @dev A 1,024-certificate batch anchored by KEY_A, with certificate 900 suspended. Each test
    /// then sends exactly one measured transaction, the first to touch these contracts in the test.
    function setUp() public override {
        super.setUp();
        for (uint256 i = 0; i < BATCH; ++i) {
            certs.push(keccak256(abi.encode("certificate", i)));
        }
        bytes32[] memory proof900;
        (root, proof900) = MerkleBuilder.build(certs, 900);
        _anchor(KEY_A, root, TYPE_1);
        vm.prank(KEY_A);
        ledger.suspendCertificate(certs[900], root, proof900, 2);
        vm.prank(KEY_A);
        ledger.anchorGuomi(GUOMI_ROOT, TYPE_1, uint32(BATCH));
    }

    /// @dev A suite-2 batch root anchored in setUp (its SM3 tree is not needed: proofs are not read).
    bytes32 internal constant GUOMI_ROOT = keccak256("sm3 root of a 1,024-certificate batch");

    function _proof(uint256 index) internal view returns (bytes32[] memory proof) {
        (, proof) = MerkleBuilder.build(certs, index);
        assertEq(proof.length, 10, "a 1,024-certificate batch has depth-10 proofs");
    }

    function test_anchor_gas() public {
        bytes32[] memory other = certs;
        other[0] = keccak256("another batch");
        (bytes32 root2,) = MerkleBuilder.build(other, 0);
        uint256 gas = _txGas(KEY_A, abi.encodeCall(AnchorLedger.anchor, (root2, TYPE_1, uint32(BATCH))));
        emit log_named_uint("anchor tx gas", gas);
        emit log_named_uint("anchor gas per certificate (x1000) at 1024/batch", gas * 1000 / BATCH);
        assertLe(gas, ANCHOR_BUDGET, "anchor exceeds its 80,000 gas budget");
        // sanity: the measurement is real (a fresh slot alone costs 22,100 on top of 21,000 intrinsic)
        assertGt(gas, 21_000 + 22_100, "measurement too low to be real");
        (bool anchored,,,,,) = ledger.anchorOf(root2);
        assertTrue(anchored);
    }

    function test_revokeCertificate_gas() public {
        bytes32[] memory proof = _proof(7);
        uint256 gas = _txGas(KEY_A, abi.encodeCall(AnchorLedger.revokeCertificate, (certs[7], root, proof, uint8(1))));
        emit log_named_uint("revokeCertificate tx gas (depth-10 proof)", gas);
        assertLe(gas, 90_000, "revoke too expensive");
        (uint8 status,,) = ledger.certificateStatus(certs[7], ISSUER_A);
        assertEq(status, 2);
    }

    function test_suspendCertificate_gas() public {
        bytes32[] memory proof = _proof(500);
        uint256 gas =
            _txGas(KEY_A, abi.encodeCall(AnchorLedger.suspendCertificate, (certs[500], root, proof, uint8(2))));
        emit log_named_uint("suspendCertificate tx gas (depth-10 proof)", gas);
        assertLe(gas, 90_000, "suspend too expensive");
        (uint8 status,,) = ledger.certificateStatus(certs[500], ISSUER_A);
        assertEq(status, 1);
    }

    function test_reinstateCertificate_gas() public {
        bytes32[] memory proof = _proof(900);
        uint256 gas = _txGas(KEY_A, abi.encodeCall(AnchorLedger.reinstateCertificate, (certs[900], root, proof)));
        emit log_named_uint("reinstateCertificate tx gas (depth-10 proof)", gas);
        assertLe(gas, 90_000, "reinstate too expensive");
        (uint8 status,,) = ledger.certificateStatus(certs[900], ISSUER_A);
        assertEq(status, 0);
    }

    /// @notice A suite-2 (国密) anchor: the suite flag rides in the same slot; one event more.
    function test_anchorGuomi_gas() public {
        uint256 gas =
            _txGas(KEY_A, abi.encodeCall(AnchorLedger.anchorGuomi, (keccak256("sm3 root"), TYPE_1, uint32(BATCH))));
        emit log_named_uint("anchorGuomi tx gas", gas);
        assertLe(gas, ANCHOR_BUDGET, "anchorGuomi exceeds the anchor budget");
        assertEq(ledger.batchSuite(keccak256("sm3 root")), 2);
    }

    /// @notice A suite-2 revocation carrying a depth-10 SM3 proof in calldata, not evaluated.
    function test_revokeGuomi_gas() public {
        bytes32[] memory proof = _proof(7); // any ten words: the contract does not read them
        uint256 gas = _txGas(KEY_A, abi.encodeCall(AnchorLedger.revokeGuomi, (certs[7], GUOMI_ROOT, proof, uint8(1))));
        emit log_named_uint("revokeGuomi tx gas (depth-10 SM3 proof in calldata)", gas);
        assertLe(gas, 90_000, "revokeGuomi too expensive");
        (uint8 status,,) = ledger.certificateStatus(certs[7], ISSUER_A);
        assertEq(status, 2);
    }
}
