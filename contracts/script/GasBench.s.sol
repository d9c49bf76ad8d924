// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Test code: every narrowing cast below is of a value already bounded to fit.
// forge-lint: disable-start(unsafe-typecast)

import {Consortium} from "../Consortium.sol";
import {IssuerRegistry} from "../IssuerRegistry.sol";
import {RecognitionPolicy} from "../RecognitionPolicy.sol";
import {AnchorLedger} from "../AnchorLedger.sol";
import {NodeRegistry} from "../NodeRegistry.sol";
import {MerkleBuilder} from "../test/utils/MerkleBuilder.sol";

interface VmScript {
    function envUint(string calldata name) external view returns (uint256);
    function addr(uint256 privateKey) external pure returns (address);
    function startBroadcast(uint256 privateKey) external;
    function stopBroadcast() external;
}

/**
 * @notice Real-transaction gas of anchor / revoke / suspend / reinstate on a live node (anvil), to
 * cross-check the figures of contracts/test/Gas.t.sol. Deploys a one-region consortium (k = 1 so
 * each governance step is one transaction), one issuer, one key, a 1,024-certificate batch.
 *
 *   anvil --port 8599 &
 *   HUREN_BENCH_PK=<a funded dev key> FOUNDRY_BROADCAST=/tmp/huren-bench \
 *     forge script contracts/script/GasBench.s.sol --rpc-url http://127.0.0.1:8599 --broadcast --slow
 *   # gasUsed of each transaction: /tmp/huren-bench/GasBench.s.sol/<chainId>/run-latest.json
 */
contract GasBench {
    VmScript internal constant vm = VmScript(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint32 internal constant REGION = 110000;
    bytes32 internal constant TYPE = bytes32("11100000000013338W032");
    uint256 internal constant BATCH = 1024;

    function run() external {
        uint256 officerPk = uint256(keccak256("huren gas bench officer"));
        uint256 keyPk = uint256(keccak256("huren gas bench issuer key"));
        AnchorLedger ledger = _setUp(vm.envUint("HUREN_BENCH_PK"), officerPk, vm.addr(keyPk));
        _measure(ledger, keyPk);
    }

    function _setUp(uint256 deployerPk, uint256 officerPk, address key) internal returns (AnchorLedger ledger) {
        address officer = vm.addr(officerPk);
        bytes32 issuerId = keccak256(bytes("11330105002500287C"));
        vm.startBroadcast(deployerPk);
        payable(officer).transfer(1 ether);
        payable(key).transfer(1 ether);
        uint32[] memory regions = new uint32[](1);
        regions[0] = REGION;
        address[][] memory officers = new address[][](1);
        officers[0] = new address[](1);
        officers[0][0] = officer;
        uint8[] memory ks = new uint8[](1);
        ks[0] = 1;
        Consortium consortium = new Consortium(regions, officers, ks, 0);
        IssuerRegistry registry = new IssuerRegistry(consortium);
        RecognitionPolicy policy = new RecognitionPolicy(consortium);
        ledger = new AnchorLedger(registry);
        consortium.bindContracts(
            address(registry), address(policy), address(ledger), address(new NodeRegistry(consortium))
        );
        vm.stopBroadcast();

        vm.startBroadcast(officerPk);
        consortium.proposeConsortium(
            address(consortium), abi.encodeCall(Consortium.defineType, (TYPE, "bench", bytes32(0), 1, true))
        );
        consortium.proposeRegional(
            REGION, address(registry), abi.encodeCall(IssuerRegistry.registerIssuer, (REGION, issuerId, "bench"))
        );
        consortium.proposeRegional(
            REGION, address(registry), abi.encodeCall(IssuerRegistry.addKey, (REGION, issuerId, key, 0))
        );
        consortium.proposeRegional(
            REGION, address(registry), abi.encodeCall(IssuerRegistry.grantType, (REGION, issuerId, TYPE))
        );
        vm.stopBroadcast();
    }

    function _measure(AnchorLedger ledger, uint256 keyPk) internal {
        bytes32[] memory certs = new bytes32[](BATCH);
        for (uint256 i = 0; i < BATCH; ++i) {
            certs[i] = keccak256(abi.encode("certificate", i));
        }
        (bytes32 root, bytes32[] memory proof7) = MerkleBuilder.build(certs, 7);
        (, bytes32[] memory proof900) = MerkleBuilder.build(certs, 900);

        vm.startBroadcast(keyPk);
        ledger.anchor(root, TYPE, uint32(BATCH));
        ledger.revokeCertificate(certs[7], root, proof7, 1);
        ledger.suspendCertificate(certs[900], root, proof900, 2);
        ledger.reinstateCertificate(certs[900], root, proof900);
        vm.stopBroadcast();
    }
}
