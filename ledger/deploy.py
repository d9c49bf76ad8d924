"""Deploy the whole contract suite in one call and write the deployment manifest.

Order matters: the Consortium (governance) comes first, the registries and the ledger point
at it, and finally the Consortium is bound to them — after which the deployer holds no power
at all; every later change is a proposal approved by region officers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import to_checksum_address

from ledger.abi import ContractABI
from ledger.compile import Artifact, compile_contracts
from ledger.errors import LedgerError
from ledger.manifest import CONTRACT_NAMES, Manifest
from ledger.rpc import RpcClient
from ledger.sender import TxSender

DEFAULT_PROPOSAL_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class GenesisRegion:
    """A founding member region of the consortium and its officers (k of them must co-sign)."""

    code: int
    officers: Sequence[str]
    threshold: int = 2


def _constructor_types(artifact: Artifact) -> list[str]:
    from ledger.abi import _type_string

    for item in artifact.abi:
        if item.get("type") == "constructor":
            return [_type_string(p) for p in item["inputs"]]  # type: ignore[arg-type]
    return []


def _deploy(sender: TxSender, artifact: Artifact, *args: Any) -> tuple[str, int]:
    data = bytes.fromhex(artifact.bytecode) + encode(_constructor_types(artifact), list(args))
    receipt = sender.transact(None, data, f"deploy {artifact.name}")
    if not receipt.contract_address:
        raise LedgerError(f"deploying {artifact.name} produced no contract address")
    return to_checksum_address(receipt.contract_address), receipt.block_number


def deploy_suite(
    rpc: RpcClient,
    deployer: TxSender,
    genesis: Sequence[GenesisRegion],
    proposal_ttl: int = DEFAULT_PROPOSAL_TTL,
    artifacts: dict[str, Artifact] | None = None,
) -> Manifest:
    artifacts = artifacts or compile_contracts()
    consortium, first_block = _deploy(
        deployer, artifacts["Consortium"],
        [g.code for g in genesis], [[to_checksum_address(o) for o in g.officers] for g in genesis],
        [g.threshold for g in genesis], proposal_ttl,
    )
    registry, _ = _deploy(deployer, artifacts["IssuerRegistry"], consortium)
    recognition, _ = _deploy(deployer, artifacts["RecognitionPolicy"], consortium)
    ledger, _ = _deploy(deployer, artifacts["AnchorLedger"], registry)
    reader, _ = _deploy(deployer, artifacts["StatusReader"], consortium)
    log_anchor, _ = _deploy(deployer, artifacts["VerificationLogAnchor"])  # no governance state: see its NatSpec
    nodes, _ = _deploy(deployer, artifacts["NodeRegistry"], consortium)  # the federation's directory
    abi = ContractABI(artifacts["Consortium"].abi)
    deployer.transact(consortium, abi.fn("bindContracts").encode(registry, recognition, ledger, nodes),
                      "bind contracts")
    addresses = {"Consortium": consortium, "IssuerRegistry": registry, "RecognitionPolicy": recognition,
                 "AnchorLedger": ledger, "StatusReader": reader, "VerificationLogAnchor": log_anchor,
                 "NodeRegistry": nodes}
    return Manifest(
        chain_id=rpc.chain_id(),
        deployment_block=first_block,
        addresses=addresses,
        abi_hashes={n: artifacts[n].abi_hash for n in CONTRACT_NAMES},
        deployer=deployer.address,
    )


def load_abis(artifacts: dict[str, Artifact] | None = None) -> dict[str, ContractABI]:
    artifacts = artifacts or compile_contracts()
    return {n: ContractABI(artifacts[n].abi) for n in CONTRACT_NAMES}
