"""Seed a demo consortium: the 京津冀 regions recognising each other, and Shanghai which does not.

Used by `make demo` and by the end-to-end tests, so the tests exercise exactly what a new user
sees. Everything goes through the production paths: contracts deployed by the deployer, every
registry change a k-of-n proposal of the region's officers, department keys in encrypted
keystores, certificates issued by the issuer service and anchored by its worker.

一地申请、三地互认: 北京 (110000), 天津 (120000) and 河北 (130000) recognise each other's business
licences (营业执照) and driving licences (机动车驾驶证); 上海 (310000) is a member that
recognises neither from them, so a Shanghai clerk sees NOT_RECOGNISED (genuine, not accepted here).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account

from api.credentials import CredentialStore
from issuers.catalogue import default_catalogue
from issuers.field_cipher import new_field_key
from issuers.model import Issuer
from issuers.rules.credit_code import make_credit_code
from issuers.samples import TYPE_CODES, sample_document
from ledger import store as st
from ledger.anvil import Anvil
from ledger.devnet import Devnet, start_devnet
from ledger.keystore import save_keystore

BJ, TJ, HE, SH = 110000, 120000, 130000, 310000
LICENCE = TYPE_CODES["business_licence"]
DRIVING = TYPE_CODES["driving_licence"]
JJJ = (BJ, TJ, HE)
REGION_NAMES = {BJ: "北京", TJ: "天津", HE: "河北", SH: "上海"}


@dataclass(frozen=True)
class DemoDepartment:
    key: str  # short handle used by tests and printed credentials
    credit_code: str
    region: int
    name: str
    types: tuple[str, ...]


DEPARTMENTS = (
    DemoDepartment("bj-amr", make_credit_code("11110000MB0000001"), BJ, "北京市市场监督管理局", (LICENCE,)),
    DemoDepartment("bj-traffic", make_credit_code("11110000MB0000002"), BJ, "北京市公安局公安交通管理局", (DRIVING,)),
    DemoDepartment("tj-amr", make_credit_code("11120000MB0000003"), TJ, "天津市市场监督管理委员会", (LICENCE,)),
    DemoDepartment("he-amr", make_credit_code("11130000MB0000004"), HE, "河北省市场监督管理局", (LICENCE,)),
    DemoDepartment("sh-amr", make_credit_code("11310000MB0000005"), SH, "上海市市场监督管理局", (LICENCE,)),
)


@dataclass
class DemoWorld:
    workdir: Path
    net: Devnet
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)  # handle -> bearer token (demo only)
    holders: dict[str, dict[str, Any]] = field(default_factory=dict)  # handle -> {name, idNumber}
    operator_address: str = ""

    def department(self, key: str) -> DemoDepartment:
        return next(d for d in DEPARTMENTS if d.key == key)


def _secret_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def seed(node: Anvil, workdir: Path, *, db_url: str | None = None, kdf_iterations: int | None = 2,
         confirmations: int = 1) -> DemoWorld:
    """Deploy, register and configure the demo consortium; write config files under `workdir`.

    Returns the world with the environment (HUREN_*) that `api.settings.Settings.from_env`
    reads. `kdf_iterations` keeps throw-away demo keystores fast to open; production keystores
    use eth-account's default scrypt cost.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    net = start_devnet(node, regions=(BJ, TJ, HE, SH))
    catalogue = default_catalogue()
    for t in catalogue.types():
        net.define_type(t.type_code, t.name, t.schema_hash, t.version)
    passphrase = secrets.token_urlsafe(24)
    pass_file = _secret_file(workdir / "secrets" / "passphrase", passphrase)
    entries = []
    for d in DEPARTMENTS:
        account = net.new_account()
        net.register_issuer(d.region, d.credit_code, d.name, [account.address], list(d.types))
        ks = workdir / "keystores" / f"{d.credit_code}.json"
        save_keystore(ks, bytes(account.key), passphrase, iterations=kdf_iterations)
        key_file = _secret_file(workdir / "secrets" / f"{d.credit_code}.fieldkey", new_field_key())
        entries.append({"creditCode": d.credit_code, "region": d.region, "name": d.name,
                        "keystore": str(ks), "fieldKeyFile": str(key_file), "types": list(d.types)})
    for verifier in JJJ:
        for issuer_region in JJJ:
            if issuer_region != verifier:
                for t in (LICENCE, DRIVING):
                    net.recognise(verifier, t, issuer_region)
    operator = Account.create()
    net.fund([operator.address])
    save_keystore(workdir / "keystores" / "log-operator.json", bytes(operator.key), passphrase,
                  iterations=kdf_iterations)
    # The keys of the two officers per region who get page credentials (below), in encrypted
    # keystores, so the region-officer page can sign proposals and approvals for them
    # (api/pages/officers.py); the listing maps an officer's address to its keystore.
    officers = []
    for region, senders in net.officers.items():
        for i, sender in enumerate(senders[:2]):
            ks = workdir / "keystores" / f"officer-{region}-{i + 1}.json"
            save_keystore(ks, bytes(sender.account.key), passphrase, iterations=kdf_iterations)
            officers.append({"address": sender.address, "region": region, "keystore": str(ks)})
    officers_file = workdir / "officers.json"
    officers_file.write_text(json.dumps(officers, indent=2))
    manifest_path = workdir / "manifest.json"
    net.manifest.save(manifest_path)
    departments_file = workdir / "departments.json"
    departments_file.write_text(json.dumps(entries, ensure_ascii=False, indent=2))
    db_url = db_url or f"sqlite:///{workdir / 'huren.sqlite'}"
    env = {
        "HUREN_RPC_URLS": node.url,
        "HUREN_MANIFEST": str(manifest_path),
        "HUREN_DB_URL": db_url,
        "HUREN_INDEX_DB_URL": f"sqlite:///{workdir / 'index.sqlite'}",
        "HUREN_DEPARTMENTS_FILE": str(departments_file),
        "HUREN_OFFICERS_FILE": str(officers_file),
        "HUREN_PASSPHRASE_FILE": str(pass_file),
        "HUREN_LOG_OPERATOR_KEYSTORE": str(workdir / "keystores" / "log-operator.json"),
        "HUREN_CONFIRMATIONS": str(confirmations),
        "HUREN_BATCH_AGE_S": "0.5",
    }
    world = DemoWorld(workdir, net, env, operator_address=operator.address)
    creds = CredentialStore(st.make_engine(db_url))
    for d in DEPARTMENTS:
        _, world.tokens[d.key] = creds.add("department", d.name, credit_code=d.credit_code, region=d.region)
    for region in (BJ, TJ, HE, SH):
        _, world.tokens[f"verifier-{region}"] = creds.add("verifier", f"{REGION_NAMES[region]}政务服务窗口",
                                                          region=region)
        officer = net.officers[region][0]
        _, world.tokens[f"officer-{region}"] = creds.add("officer", f"{REGION_NAMES[region]}地区管理员",
                                                         region=region, officer_address=officer.address)
        second = net.officers[region][1]  # 双人双锁: a second officer to approve the first one's proposals
        _, world.tokens[f"officer2-{region}"] = creds.add("officer", f"{REGION_NAMES[region]}地区管理员（二）",
                                                          region=region, officer_address=second.address)
    return world


def demo_documents(world: DemoWorld, count_per_department: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Sample documents per department (valid by every rule), holders registered as wallet users."""
    docs: dict[str, list[dict[str, Any]]] = {}
    for i, d in enumerate(DEPARTMENTS):
        issuer = Issuer(d.credit_code, d.region, d.name, "0x" + "00" * 20)
        docs[d.key] = [sample_document(d.types[0], 1000 * i + j, issuer=issuer) for j in range(count_per_department)]
    return docs


def add_holder(world: DemoWorld, handle: str, document: dict[str, Any]) -> str:
    """A wallet credential for the holder of `document` (demo sign-in)."""
    holder = document["holder"]
    creds = CredentialStore(st.make_engine(world.env["HUREN_DB_URL"]))
    _, token = creds.add("holder", holder["name"], holder_id_number=holder["idNumber"])
    world.tokens[handle] = token
    world.holders[handle] = {"name": holder["name"], "idNumber": holder["idNumber"]}
    return token
