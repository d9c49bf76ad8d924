"""A consortium on a local chain, set up in a few calls: for tests, benchmarks and the demo.

It goes through exactly the production path — deploy, then every change as a proposal that
k officers of the region approve — only with freshly generated keys held in memory.
Production keys live in encrypted keystores (ledger/keystore.py) instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from common.document import issuer_id as issuer_id_of
from common.document import type_code_bytes32
from common.suites import sm2_key_id
from ledger.abi import ContractABI
from ledger.anvil import Anvil, dev_private_keys
from ledger.clients import Huren, sm2_registry_key
from ledger.compile import Artifact, compile_contracts
from ledger.deploy import GenesisRegion, deploy_suite, load_abis
from ledger.manifest import Manifest
from ledger.nodes import NodeChange
from ledger.rpc import RpcClient
from ledger.sender import TxSender


@dataclass
class Devnet:
    node: Anvil
    rpc: RpcClient
    manifest: Manifest
    abis: dict[str, ContractABI]
    huren: Huren
    funder: TxSender
    officers: dict[int, list[TxSender]] = field(default_factory=dict)

    def new_account(self, fund: bool = True) -> LocalAccount:
        account: LocalAccount = Account.create()
        if fund:
            self.fund([account.address])
        return account

    def fund(self, addresses: Iterable[str], wei: int = 10**21) -> None:
        for a in addresses:
            self.node.rpc("anvil_setBalance", [a, hex(wei)])

    def sender(self, account: LocalAccount | bytes) -> TxSender:
        return self.huren.sender(account)

    def now(self) -> int:
        block = self.rpc.get_block("latest")
        assert block is not None
        return int(str(block["timestamp"]), 16)

    # -- governance shortcuts (each is a real k-of-n proposal) -------------------------------
    def define_type(self, type_code: str, name: str, schema_hash: bytes = b"\x11" * 32, version: int = 1,
                    active: bool = True) -> None:
        voters = [officers[0] for officers in self.officers.values()]
        out = self.huren.consortium(voters, "Consortium", "defineType", type_code_bytes32(type_code), name,
                                    schema_hash, version, active)
        assert out.executed, "defineType did not reach quorum"

    def register_issuer(self, region: int, credit_code: str, name: str, keys: Sequence[str],
                        types: Sequence[str], valid_from: int | None = None,
                        sm2_keys: Sequence[bytes] = ()) -> bytes:
        """Register a department with its secp256k1 transaction keys and, for suite 2 (国密), its SM2
        public keys (04 || x || y or x || y; their ids are common.suites.sm2_key_id), each added by a
        real k-of-n proposal. An SM2 key cannot send transactions: give `keys` as well to anchor."""
        iid = issuer_id_of(credit_code)
        officers = self.officers[region]
        self._regional(officers, region, "IssuerRegistry", "registerIssuer", region, iid, name)
        for key in keys:
            self._regional(officers, region, "IssuerRegistry", "addKey", region, iid, key,
                           valid_from if valid_from is not None else 0)
        for public_key in sm2_keys:
            self.add_sm2_key(region, iid, public_key, valid_from)
        for t in types:
            self._regional(officers, region, "IssuerRegistry", "grantType", region, iid, type_code_bytes32(t))
        return iid

    def add_sm2_key(self, region: int, issuer_id: bytes, public_key: bytes, valid_from: int | None = None) -> str:
        """Add an SM2 signing key to a department by a k-of-n proposal; returns its key id (checksummed)."""
        xy = sm2_registry_key(public_key)
        self._regional(self.officers[region], region, "IssuerRegistry", "addSM2Key", region, issuer_id, xy,
                       valid_from if valid_from is not None else 0)
        return to_checksum_address(sm2_key_id(xy))

    def recognise(self, verifier_region: int, type_code: str, issuer_region: int, valid_from: int = 0,
                  valid_until: int = 0) -> None:
        self._regional(self.officers[verifier_region], verifier_region, "RecognitionPolicy", "setRecognition",
                       verifier_region, type_code_bytes32(type_code), issuer_region, valid_from, valid_until)

    def node_change(self, region: int, change: NodeChange) -> None:
        """A change of the region's node registry entry, proposed and approved by two of its officers."""
        fn, args = change.call(region)
        self._regional(self.officers[region], region, "NodeRegistry", fn, *args)

    def regional(self, region: int, target: str, fn: str, *args: object) -> None:
        self._regional(self.officers[region], region, target, fn, *args)

    def _regional(self, officers: Sequence[TxSender], region: int, target: str, fn: str, *args: object) -> None:
        out = self.huren.regional(officers, region, target, fn, *args)
        assert out.executed, f"{fn} did not reach the region's threshold"


def start_devnet(
    node: Anvil,
    regions: Sequence[int] = (110000, 120000, 130000, 310000),
    officers_per_region: int = 3,
    threshold: int = 2,
    artifacts: dict[str, Artifact] | None = None,
) -> Devnet:
    """Deploy a fresh suite on `node` with `regions` as genesis members."""
    artifacts = artifacts or compile_contracts()
    rpc = RpcClient(node.url)
    abis = load_abis(artifacts)
    funder = TxSender(rpc, dev_private_keys(1)[0], list(abis.values()), node.chain_id)
    officer_accounts = {r: [Account.create() for _ in range(officers_per_region)] for r in regions}
    for accounts in officer_accounts.values():
        for a in accounts:
            node.rpc("anvil_setBalance", [a.address, hex(10**21)])
    genesis = [GenesisRegion(r, [a.address for a in accs], threshold) for r, accs in officer_accounts.items()]
    manifest = deploy_suite(rpc, funder, genesis, artifacts=artifacts)
    huren = Huren(rpc, manifest, abis)
    net = Devnet(node, rpc, manifest, abis, huren, funder)
    net.officers = {r: [huren.sender(a) for a in accs] for r, accs in officer_accounts.items()}
    return net


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
