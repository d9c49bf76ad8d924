"""Seed a demo consortium: the 京津冀 regions recognising each other, and Shanghai which does not.

Used by `make demo` and by the end-to-end tests, so the tests exercise exactly what a new user
sees. Everything goes through the production paths: contracts deployed by the deployer, every
registry change a k-of-n proposal of the region's officers, department keys in encrypted
keystores, certificates issued by the issuer service and anchored by its worker.

一地申请、三地互认: 北京 (110000), 天津 (120000) and 河北 (130000) recognise each other's business
licences (营业执照) and driving licences (机动车驾驶证); 上海 (310000) is a member that
recognises neither from them, so a Shanghai clerk sees NOT_RECOGNISED (genuine, not accepted here).

Each region also registers its federation node in the chain's node registry (contracts/NodeRegistry.sol):
a base URL and a freshly generated Ed25519 request-signing key, whose private half is written to
`<workdir>/node-keys/<region>.pem` (PKCS#8, encrypted with the node's passphrase, mode 0600, the format
federation.node_key reads) and listed in `<workdir>/nodes.json`.

`suite=2` seeds a 国密 deployment's node side (issue 17): the request-signing and stamping keys are
SM2 (registered as suite 2 / sm2-sm3 with their 65-byte public keys 04||x||y), written as SM4-GCM
sealed JSON keystores `<region>.key.json` and `<region>-stamp.key.json` (common/node_keys.py), and
the departments' field keys are `sm4-gcm:` key texts (issuers/field_cipher.py).

Officers' keys are never in a node's directory: each page officer's encrypted keystore is
written to an officers' directory outside every node (`<workdir>/officers/` of a federation,
`<workdir>-officers/` beside a single node), as the file the officer keeps on their own device and
opens in the 区域管理 page, which signs in the browser; the node only relays with its own relayer key.

Two layouts: `seed_federation` (the demo) writes one node per region, each in its own directory with
only its region's keys and credentials; `seed` (most tests) writes one node serving every region,
every region's node entry pointing at it.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from eth_account.signers.local import LocalAccount

from api.credentials import CredentialStore
from common.gm import sm2_generate_keypair
from common.node_keys import SM2NodePrivateKey, write_sm2_keystore
from common.nodes import NodeAlgorithm, NodeKeyPurpose
from issuers.catalogue import default_catalogue
from issuers.field_cipher import new_field_key
from issuers.model import Issuer
from issuers.rules.credit_code import make_credit_code
from issuers.samples import TYPE_CODES, sample_document
from ledger import store as st
from ledger.anvil import Anvil
from ledger.devnet import Devnet, start_devnet
from ledger.keystore import save_keystore, save_sm2_keystore
from ledger.nodes import AddNodeKey, RegisterNode

BJ, TJ, HE, SH = 110000, 120000, 130000, 310000
LICENCE = TYPE_CODES["business_licence"]
DRIVING = TYPE_CODES["driving_licence"]
JJJ = (BJ, TJ, HE)
REGION_NAMES = {BJ: "北京", TJ: "天津", HE: "河北", SH: "上海"}
#: Service windows per region, each with a verifier credential of its own: a credential's rate
#: limit is one window's (api/ratelimit.py), a region's throughput the sum of its windows'.
WINDOWS_PER_REGION = 2


def window_handle(region: int, window: int) -> str:
    """The demo handle of a window's verifier credential: verifier-130000 (window 1), verifier-130000-2, ..."""
    return f"verifier-{region}" if window == 1 else f"verifier-{region}-{window}"


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
    """One node's share of the demo: its files, its settings, its sign-ins.

    The single-node world (`seed`) serves every region from one node; a federation (`seed_federation`)
    has one world per region, each holding only its own region's keys and credentials.
    """

    workdir: Path
    net: Devnet
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)  # handle -> bearer token (demo only)
    holders: dict[str, dict[str, Any]] = field(default_factory=dict)  # handle -> {name, idNumber}
    operator_address: str = ""
    regions: tuple[int, ...] = tuple(REGION_NAMES)  # the regions whose departments, windows and officers it serves
    # handle (officer-<region>, officer2-<region>) -> (keystore file outside every node, its passphrase):
    # what each officer holds on their own device (demo only: the passphrases are printed).
    officer_keys: dict[str, tuple[Path, str]] = field(default_factory=dict)

    def department(self, key: str) -> DemoDepartment:
        return next(d for d in DEPARTMENTS if d.key == key)

    @property
    def departments(self) -> tuple[DemoDepartment, ...]:
        return tuple(d for d in DEPARTMENTS if d.region in self.regions)


@dataclass(frozen=True)
class Consortium:
    """What `_seed_chain` made on chain, with the private keys a node's files are then written from."""

    net: Devnet
    department_accounts: dict[str, LocalAccount]  # DemoDepartment.key -> its anchoring key
    #: Crypto suite of the deployment (common/suites.py); in suite 2 each department also has an SM2
    #: document-signing key (registered with IssuerRegistry.addSM2Key), here by DemoDepartment.key.
    suite: int = 1
    department_sm2_keys: dict[str, bytes] = field(default_factory=dict)


def _secret_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def _register_sm2_node(net: Devnet, region: int, workdir: Path, passphrase: str, base_url: str,
                       kdf_iterations: int | None) -> dict[str, Any]:
    """The region's node entry with new SM2 request-signing and stamping keys (suite 2; keystores in `workdir`).

    `kdf_iterations` is the keystores' scrypt cost, like the department keystores' (None: production's).
    """
    cost = {} if kdf_iterations is None else {"scrypt_n": 1 << max(1, (kdf_iterations - 1).bit_length())}
    keys = {}
    for purpose, name in ((NodeKeyPurpose.REQUEST_SIGNING, f"{region}.key.json"),
                          (NodeKeyPurpose.STAMPING, f"{region}-stamp.key.json")):
        private = SM2NodePrivateKey.generate()
        write_sm2_keystore(workdir / "node-keys" / name, private, passphrase, purpose, **cost)
        keys[purpose] = (AddNodeKey(NodeAlgorithm.SM2_SM3, purpose, private.public_bytes()),
                         workdir / "node-keys" / name)
    net.node_change(region, RegisterNode(base_url))
    for change, _file in keys.values():
        net.node_change(region, change)
    (request, key_file), (stamping, stamp_file) = keys[NodeKeyPurpose.REQUEST_SIGNING], keys[NodeKeyPurpose.STAMPING]
    return {"region": region, "baseUrl": base_url, "keyId": request.key_id, "keyFile": str(key_file),
            "purpose": "request-signing", "algorithm": NodeAlgorithm.SM2_SM3.rfc9421, "suite": 2,
            "stampKeyId": stamping.key_id, "stampKeyFile": str(stamp_file)}


def _register_node(net: Devnet, region: int, workdir: Path, passphrase: str, base_url: str, *, suite: int = 1,
                   kdf_iterations: int | None = None) -> dict[str, Any]:
    """The region's node entry with a new request-signing key and a new stamping key (private halves in
    `workdir` only): Ed25519 in suite 1, SM2 in suite 2 (`_register_sm2_node`)."""
    if suite == 2:
        return _register_sm2_node(net, region, workdir, passphrase, base_url, kdf_iterations)
    if suite != 1:
        raise ValueError(f"unknown crypto suite {suite!r}")
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(passphrase.encode()))
    key_file = workdir / "node-keys" / f"{region}.pem"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    change = AddNodeKey(NodeAlgorithm.ED25519, NodeKeyPurpose.REQUEST_SIGNING, public)
    net.node_change(region, RegisterNode(base_url))
    net.node_change(region, change)
    # The 加注 stamping key: another key, registered with purpose `stamping` (api/stamping.py).
    stamp_private = Ed25519PrivateKey.generate()
    stamp_public = stamp_private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    stamp_file = workdir / "node-keys" / f"{region}-stamp.pem"
    _secret_file(stamp_file, stamp_private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode())).decode())
    stamping = AddNodeKey(NodeAlgorithm.ED25519, NodeKeyPurpose.STAMPING, stamp_public)
    net.node_change(region, stamping)
    return {"region": region, "baseUrl": base_url, "keyId": change.key_id, "keyFile": str(key_file),
            "purpose": "request-signing", "algorithm": "ed25519",
            "stampKeyId": stamping.key_id, "stampKeyFile": str(stamp_file)}


def _seed_chain(node: Anvil, suite: int = 1) -> Consortium:
    """Contracts, types, the departments' registry entries and keys, and the recognition rules.

    In suite 2 (国密) each department gets an SM2 document-signing key besides its transaction key
    (an SM2 key cannot send an EVM transaction), registered by the region's officers like any key.
    """
    net = start_devnet(node, regions=tuple(REGION_NAMES))
    for t in default_catalogue().types():
        net.define_type(t.type_code, t.name, t.schema_hash, t.version)
    accounts = {}
    sm2_keys: dict[str, bytes] = {}
    for d in DEPARTMENTS:
        accounts[d.key] = net.new_account()
        iid = net.register_issuer(d.region, d.credit_code, d.name, [accounts[d.key].address], list(d.types))
        if suite == 2:
            pair = sm2_generate_keypair()
            sm2_keys[d.key] = pair.private_key
            net.add_sm2_key(d.region, iid, pair.public_key)
    for verifier in JJJ:
        for issuer_region in JJJ:
            if issuer_region != verifier:
                for t in (LICENCE, DRIVING):
                    net.recognise(verifier, t, issuer_region)
    return Consortium(net, accounts, suite, sm2_keys)


def _node_world(c: Consortium, workdir: Path, regions: tuple[int, ...], base_url: str, *, db_url: str | None,
                kdf_iterations: int | None, confirmations: int, suite: int = 1) -> DemoWorld:
    """A node serving `regions`: keystores, node keys, settings and credentials under `workdir` only.

    Why one function for both layouts: the single-node world of the tests and each node of the
    federation are written the same way, so the tests exercise what the demo's nodes run.
    """
    net = c.net
    workdir.mkdir(parents=True, exist_ok=True)
    passphrase = secrets.token_urlsafe(24)
    pass_file = _secret_file(workdir / "secrets" / "passphrase", passphrase)
    departments = [d for d in DEPARTMENTS if d.region in regions]
    entries = []
    for d in departments:
        ks = workdir / "keystores" / f"{d.credit_code}.json"
        save_keystore(ks, bytes(c.department_accounts[d.key].key), passphrase, iterations=kdf_iterations)
        key_file = _secret_file(workdir / "secrets" / f"{d.credit_code}.fieldkey", new_field_key(suite))
        entry = {"creditCode": d.credit_code, "region": d.region, "name": d.name,
                 "keystore": str(ks), "fieldKeyFile": str(key_file), "types": list(d.types)}
        if d.key in c.department_sm2_keys:  # 国密: seals with this SM2 key, sends transactions with the one above
            sm2_ks = workdir / "keystores" / f"{d.credit_code}-sm2.json"
            save_sm2_keystore(sm2_ks, c.department_sm2_keys[d.key], passphrase, iterations=kdf_iterations)
            entry["sm2Keystore"] = str(sm2_ks)
        entries.append(entry)
    operator = Account.create()  # this node's verification-log operator
    net.fund([operator.address])
    save_keystore(workdir / "keystores" / "log-operator.json", bytes(operator.key), passphrase,
                  iterations=kdf_iterations)
    relayer = Account.create()  # this node's account relaying officers' signed acts (no power of its own)
    net.fund([relayer.address])
    save_keystore(workdir / "keystores" / "relayer.json", bytes(relayer.key), passphrase, iterations=kdf_iterations)
    # Signs this node's trust snapshots for its clerks' offline pages (api/snapshots.py); sends no transaction.
    save_keystore(workdir / "keystores" / "snapshot-publisher.json", bytes(Account.create().key), passphrase,
                  iterations=kdf_iterations)
    listing = [_register_node(net, region, workdir, passphrase, base_url, suite=suite, kdf_iterations=kdf_iterations)
               for region in regions]
    (workdir / "nodes.json").write_text(json.dumps(listing, indent=2))
    stamp_keys_file = workdir / "stamp-keys.json"
    stamp_keys_file.write_text(json.dumps([{"region": n["region"], "keyFile": n["stampKeyFile"]} for n in listing],
                                          indent=2))
    manifest_path = workdir / "manifest.json"
    net.manifest.save(manifest_path)
    departments_file = workdir / "departments.json"
    departments_file.write_text(json.dumps(entries, ensure_ascii=False, indent=2))
    db_url = db_url or f"sqlite:///{workdir / 'huren.sqlite'}"
    env = {
        "HUREN_RPC_URLS": net.node.url,
        "HUREN_MANIFEST": str(manifest_path),
        "HUREN_DB_URL": db_url,
        "HUREN_INDEX_DB_URL": f"sqlite:///{workdir / 'index.sqlite'}",
        "HUREN_DEPARTMENTS_FILE": str(departments_file),
        "HUREN_RELAYER_KEYSTORE": str(workdir / "keystores" / "relayer.json"),
        "HUREN_PASSPHRASE_FILE": str(pass_file),
        "HUREN_STAMP_KEYS_FILE": str(stamp_keys_file),
        "HUREN_LOG_OPERATOR_KEYSTORE": str(workdir / "keystores" / "log-operator.json"),
        "HUREN_SNAPSHOT_PUBLISHER_KEYSTORE": str(workdir / "keystores" / "snapshot-publisher.json"),
        "HUREN_CONFIRMATIONS": str(confirmations),
        "HUREN_BATCH_AGE_S": "0.5",
    }
    if len(regions) == 1:  # a federation node: it signs its requests to the other regions' nodes
        env.update({"HUREN_NODE_REGION": str(regions[0]), "HUREN_NODE_KEY_FILE": listing[0]["keyFile"],
                    "HUREN_PUBLIC_BASE_URL": base_url})
    world = DemoWorld(workdir, net, env, operator_address=operator.address, regions=regions)
    creds = CredentialStore(st.make_engine(db_url))
    for d in departments:
        _, world.tokens[d.key] = creds.add("department", d.name, credit_code=d.credit_code, region=d.region)
    for region in regions:
        for window in range(1, WINDOWS_PER_REGION + 1):
            _, world.tokens[window_handle(region, window)] = creds.add(
                "verifier", f"{REGION_NAMES[region]}政务服务中心 {window} 号窗口", region=region)
        officer = net.officers[region][0]
        _, world.tokens[f"officer-{region}"] = creds.add("officer", f"{REGION_NAMES[region]}地区管理员",
                                                         region=region, officer_address=officer.address)
        second = net.officers[region][1]  # 双人双锁: a second officer to approve the first one's proposals
        _, world.tokens[f"officer2-{region}"] = creds.add("officer", f"{REGION_NAMES[region]}地区管理员（二）",
                                                          region=region, officer_address=second.address)
    return world


def _officer_keys(c: Consortium, officers_dir: Path, regions: tuple[int, ...],
                  kdf_iterations: int | None) -> dict[str, tuple[Path, str]]:
    """Each page officer's own keystore and passphrase, in `officers_dir` (never a node's directory)."""
    keys = {}
    for region in regions:
        for i, handle in enumerate((f"officer-{region}", f"officer2-{region}")):
            passphrase = secrets.token_urlsafe(12)
            ks = officers_dir / f"{region}-{i + 1}.json"
            ks.parent.mkdir(parents=True, exist_ok=True)
            save_keystore(ks, bytes(c.net.officers[region][i].account.key), passphrase, iterations=kdf_iterations)
            _secret_file(officers_dir / f"{region}-{i + 1}.passphrase", passphrase)  # demo only
            keys[handle] = (ks, passphrase)
    return keys


def seed(node: Anvil, workdir: Path, *, db_url: str | None = None, kdf_iterations: int | None = 2,
         confirmations: int = 1, node_base_url: str = "http://127.0.0.1:8000",
         officers_dir: Path | None = None, suite: int = 1) -> DemoWorld:
    """Deploy, register and configure the demo consortium served by ONE node; files under `workdir`.

    Returns the world with the environment (HUREN_*) that `api.settings.Settings.from_env`
    reads. `kdf_iterations` keeps throw-away demo keystores fast to open; production keystores
    use eth-account's default scrypt cost. Every region's node entry points at `node_base_url`.
    The officers' keystores go to `officers_dir` (default: `<workdir>-officers`, beside the node).
    `suite=2` makes the node's keys SM2 and its field keys SM4-GCM (国密; module docstring).
    """
    c = _seed_chain(node, suite)
    world = _node_world(c, workdir, tuple(REGION_NAMES), node_base_url, db_url=db_url,
                        kdf_iterations=kdf_iterations, confirmations=confirmations, suite=suite)
    world.officer_keys = _officer_keys(c, officers_dir or workdir.with_name(workdir.name + "-officers"),
                                       tuple(REGION_NAMES), kdf_iterations)
    return world


def seed_federation(node: Anvil, workdir: Path, base_urls: dict[int, str], *, kdf_iterations: int | None = 2,
                    confirmations: int = 1, suite: int = 1) -> dict[int, DemoWorld]:
    """The demo consortium as a federation: one node per region, its files in `workdir/<region>/`.

    Each node's directory holds only its own region's department keys, relayer key, node key,
    passphrase and credentials (its own SQLite database); the nodes share only the chain. No
    node holds an officer's key: those are in `workdir/officers/`, the officers' own files.
    """
    consortium = _seed_chain(node, suite)
    worlds = {region: _node_world(consortium, workdir / str(region), (region,), base_urls[region], db_url=None,
                                  kdf_iterations=kdf_iterations, confirmations=confirmations, suite=suite)
              for region in REGION_NAMES}
    for region, world in worlds.items():
        world.officer_keys = _officer_keys(consortium, workdir / "officers", (region,), kdf_iterations)
    return worlds


def demo_documents(world: DemoWorld, count_per_department: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Sample documents per department (valid by every rule), holders registered as wallet users."""
    docs: dict[str, list[dict[str, Any]]] = {}
    for i, d in enumerate(DEPARTMENTS):
        if d.region not in world.regions:
            continue
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
