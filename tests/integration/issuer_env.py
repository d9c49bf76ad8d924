"""Set-up shared by the issuer-service integration tests: a registered department on a devnet.

Plain functions (not fixtures) so each test module states its own fixtures explicitly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from issuers.anchoring import AnchorPolicy, AnchorWorker
from issuers.catalogue import default_catalogue
from issuers.chain_link import ChainLink
from issuers.field_cipher import FieldCipher, new_field_key
from issuers.intake import Department, IntakeSpec
from issuers.model import Issuer
from issuers.samples import TYPE_CODES, sample_document, sample_issuer
from issuers.service import IssuerService
from issuers.store import CertificateStore
from ledger.devnet import Devnet
from ledger.keystore import save_keystore

BJ = 110000
LICENCE = TYPE_CODES["business_licence"]
ID_CARD = TYPE_CODES["resident_id_card"]
DEPT_TYPES = (LICENCE, ID_CARD)
FAST = AnchorPolicy(batch_size=64, batch_max_age=0.2, confirmations=1, poll_interval=0.02, max_backoff=0.5)


@dataclass
class DeptEnv:
    """One department: its on-chain registration, signing key, field key and identity."""

    net: Devnet
    account: LocalAccount
    department: Department
    field_key: str
    chain: ChainLink

    @property
    def issuer(self) -> Issuer:
        d = self.department
        return Issuer(d.credit_code, d.region, d.name, self.account.address)

    @property
    def spec(self) -> IntakeSpec:
        return IntakeSpec(self.department, bytes(self.account.key), self.chain.domain, self.field_key)

    def service(self, db_url: str, *, workers: int = 0) -> IssuerService:
        store = CertificateStore(db_url, FieldCipher.from_key_text(self.field_key))
        return IssuerService(store, self.spec, self.chain, workers=workers)

    def worker(self, service: IssuerService, policy: AnchorPolicy = FAST) -> AnchorWorker:
        return AnchorWorker(service.store, self.chain, self.department.credit_code, policy)

    def documents(self, n: int, seed: int = 0, types: tuple[str, ...] = DEPT_TYPES) -> list[dict[str, Any]]:
        return [sample_document(types[i % len(types)], seed * 1_000_003 + i, issuer=self.issuer) for i in range(n)]


def define_types(net: Devnet, types: tuple[str, ...] = DEPT_TYPES) -> None:
    catalogue = default_catalogue()
    for code in types:
        net.define_type(code, catalogue[code].name, catalogue[code].schema_hash)


def register_department(net: Devnet, locality: str = "110105", types: tuple[str, ...] = DEPT_TYPES,
                        define: bool = True) -> DeptEnv:
    """Define `types` (unless already done) and register a Beijing department with a fresh key."""
    if define:
        define_types(net, types)
    template = sample_issuer(LICENCE, locality)
    account = net.new_account()
    net.register_issuer(BJ, template.credit_code, template.name, [account.address], list(types))
    department = Department(template.credit_code, template.region, template.name)
    chain = ChainLink(net.rpc, net.manifest, net.abis, account)
    return DeptEnv(net, account, department, new_field_key(), chain)


def write_cli_env(env: DeptEnv, tmp: Path, db_url: str, passphrase: str = "correct horse battery") -> dict[str, str]:
    """Keystore + manifest + field-key files and the HUREN_* environment a CLI or runner needs."""
    keystore = tmp / "department.keystore.json"
    save_keystore(keystore, bytes(env.account.key), passphrase, iterations=2)
    manifest = tmp / "manifest.json"
    env.net.manifest.save(manifest)
    key_file = tmp / "field.key"
    key_file.write_text(env.field_key)
    os.chmod(key_file, 0o600)
    return {
        "HUREN_RPC_URLS": env.net.node.url,
        "HUREN_MANIFEST": str(manifest),
        "HUREN_ISSUER_DB": db_url,
        "HUREN_ISSUER_KEYSTORE": str(keystore),
        "HUREN_ISSUER_PASSPHRASE": passphrase,
        "HUREN_FIELD_KEY_FILE": str(key_file),
        "HUREN_ISSUER_CREDIT_CODE": env.department.credit_code,
        "HUREN_ISSUER_REGION": str(env.department.region),
        "HUREN_ISSUER_NAME": env.department.name,
    }


def anchored_events(net: Devnet, from_block: int | None = None) -> list[dict[str, Any]]:
    """Every Anchored event of the deployment, decoded, straight from the node (eth_getLogs)."""
    abi = net.abis["AnchorLedger"]
    event = abi.events["Anchored"]
    logs = net.rpc.call("eth_getLogs", [{
        "address": net.manifest.ledger_address,
        "fromBlock": hex(net.manifest.deployment_block if from_block is None else from_block),
        "toBlock": "latest", "topics": ["0x" + event.topic.hex()],
    }])  # fmt: skip
    assert isinstance(logs, list)
    out = []
    for log in logs:
        topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
        decoded = event.decode(topics, bytes.fromhex(log["data"][2:]))
        decoded["transactionHash"] = log["transactionHash"]
        decoded["blockNumber"] = int(log["blockNumber"], 16)
        out.append(decoded)
    return out


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
