"""The federation as deployed: four region nodes, each its own `huren serve` process, over one chain.

The nodes are the demo's (api/seed.py `seed_federation`, api/node_processes.py): 北京 110000, 天津
120000, 河北 130000 and 上海 310000, each configured only by its own env file and directory. The
tests talk to them over HTTP only, as clerks, holders and departments do, and kill a node's process
as a crash would. The 京津冀 story: issued at 北京, VALID at 河北 (self-contained code and reference
via the signed fetch), NOT_RECOGNISED at 上海, both uses in the holder's 用证记录 at 北京.

Tests run in file order; the last ones kill 北京 (and bring it back) and remove 天津 from the registry.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from eth_account import Account
from sqlalchemy import create_engine, text

from api.node_processes import NodeProcess, start_all, stop_all
from api.seed import BJ, HE, REGION_NAMES, SH, TJ, DemoWorld, seed_federation
from ledger.anvil import IDLE_BLOCK_TIME_S, Anvil, free_port, start_anvil
from ledger.nodes import RemoveNode
from tests.e2e.conftest import issue_licence
from tests.e2e.stack import Stack

UNAVAILABLE_WORDS = "发证地节点暂时无法访问，请持证人改用完整出示码"
UNLIMITED = {"HUREN_RATE_PER_S": "1000000", "HUREN_RATE_BURST": "1000000", "HUREN_SIGNIN_RATE_PER_S": "1000000",
             "HUREN_SIGNIN_BURST": "1000000"}


@dataclass
class LocalFederation:
    chain: Anvil
    nodes: dict[int, NodeProcess]

    def world(self, region: int) -> DemoWorld:
        return self.nodes[region].world

    def stack(self, region: int) -> Stack:
        """The region's node as the e2e helpers see a server (no in-process app: it is another process)."""
        return Stack(self.world(region), self.nodes[region].base_url, None)

    def client(self, region: int, handle: str) -> httpx.Client:
        return httpx.Client(base_url=self.nodes[region].base_url, timeout=30,
                            headers={"Authorization": f"Bearer {self.world(region).tokens[handle]}"})

    def verify(self, region: int, body: dict[str, Any]) -> httpx.Response:
        with self.client(region, f"verifier-{region}") as c:
            return c.post("/v1/verify", json=body)


@contextmanager
def local_federation(workdir: Path, regions: Sequence[int] = tuple(REGION_NAMES),
                     suite: int = 1) -> Iterator[LocalFederation]:
    """A fresh chain, the demo's federation seeded on it (in crypto `suite`), and `regions`' nodes
    running as their own `huren serve` processes; everything stopped afterwards."""
    chain = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)
    nodes: list[NodeProcess] = []
    try:
        ports = {region: free_port() for region in REGION_NAMES}
        worlds = seed_federation(chain, workdir, {r: f"http://127.0.0.1:{p}" for r, p in ports.items()}, suite=suite)
        nodes = [NodeProcess(r, worlds[r], ports[r], extra_env=UNLIMITED) for r in regions]
        start_all(nodes)
        yield LocalFederation(chain, {n.region: n for n in nodes})
    finally:
        stop_all(nodes)
        chain.stop()


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    with local_federation(tmp_path_factory.mktemp("federation")) as fed:
        yield fed


def _indexed_block(base_url: str) -> int:
    return int(httpx.get(base_url + "/readyz", timeout=10).json()["indexed_block"] or 0)


def _anchored_at_beijing(fed: LocalFederation, offset: int) -> tuple[str, str]:
    """(cert_id, holder) of a 北京 licence the holder's wallet shows anchored, in every running node's index."""
    cert_id, _, holder = issue_licence(fed.stack(BJ), offset)
    deadline = time.monotonic() + 60
    with fed.client(BJ, holder) as c:
        while not any(i["cert_id"] == cert_id and i["status"]["code"] not in ("PENDING", "UNKNOWN")
                      for i in c.get("/v1/wallet/certificates").json()):
            assert time.monotonic() < deadline, f"{cert_id} was not anchored at the 北京 node"
            time.sleep(0.3)
    target = _indexed_block(fed.nodes[BJ].base_url)
    for n in fed.nodes.values():
        if n.running and n.region != BJ:
            while _indexed_block(n.base_url) < target:
                assert time.monotonic() < deadline, f"the {n.name} node's index did not catch up"
                time.sleep(0.2)
    return cert_id, holder


def _codes(fed: LocalFederation, cert_id: str, holder: str, purpose: str) -> dict[str, Any]:
    with fed.client(BJ, holder) as c:
        made = c.post(f"/v1/wallet/certificates/{cert_id}/presentation", json={"purpose": purpose})
    assert made.status_code == 200, made.text
    return dict(made.json())


@pytest.fixture(scope="module")
def licence(federation: LocalFederation) -> tuple[str, str]:
    return _anchored_at_beijing(federation, 1)


def _uses(fed: LocalFederation, holder: str, purpose: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    with fed.client(BJ, holder) as c:
        while True:
            uses = [u for u in c.get("/v1/wallet/uses").json() if u["purpose"] == purpose]
            if len(uses) >= count or time.monotonic() > deadline:
                return uses
            time.sleep(0.5)


def test_a_beijing_licence_is_valid_at_the_hebei_node_from_its_self_contained_code(federation, licence):
    code = _codes(federation, *licence, "在河北省办理企业变更登记")["presentation"]
    answer = federation.verify(HE, {"presentation": code})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["verdict"], answer.json()["verifier_region"]) == ("VALID", HE)


def test_a_beijing_reference_is_valid_at_the_hebei_node_via_the_signed_fetch(federation, licence):
    reference = _codes(federation, *licence, "在河北省办理企业变更登记")["reference"]
    assert reference.startswith(f"HRR1:{BJ}:")
    answer = federation.verify(HE, {"reference": reference})
    assert answer.status_code == 200, answer.text
    assert answer.json()["verdict"] == "VALID"


def test_the_same_licence_is_not_recognised_at_the_shanghai_node(federation, licence):
    code = _codes(federation, *licence, "在上海市办理企业登记")["presentation"]
    answer = federation.verify(SH, {"presentation": code})
    assert answer.status_code == 200, answer.text
    assert answer.json()["verdict"] == "NOT_RECOGNISED"


def test_the_holders_use_record_at_beijing_lists_the_hebei_and_shanghai_uses(federation):
    cert_id, holder = _anchored_at_beijing(federation, 2)
    purpose = "京津冀用证记录"
    for region in (HE, SH):
        code = _codes(federation, cert_id, holder, purpose)["presentation"]
        assert federation.verify(region, {"presentation": code}).status_code == 200
    uses = _uses(federation, holder, purpose, 2)
    assert sorted((u["region"], u["verdict"]) for u in uses) == [(HE, "VALID"), (SH, "NOT_RECOGNISED")]


def _authorise(fed: LocalFederation, cert_id: str, holder: str, region: int, purpose: str) -> str:
    """The 用证码 the holder makes in the 北京 wallet for `region` (the entity name only)."""
    with fed.client(BJ, holder) as c:
        made = c.post(f"/v1/wallet/certificates/{cert_id}/authorisations",
                      json={"region": region, "fields": ["claims.entityName"], "purpose": purpose})
    assert made.status_code == 200, made.text
    return str(made.json()["code"])


def test_an_authorised_use_at_the_hebei_node_gives_only_the_authorised_fields(federation, licence):
    answer = federation.verify(HE, {"reference": _authorise(federation, *licence, HE, "河北授权用证")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verdict"] == "VALID" and "claims.entityName" in body["disclosed"]
    assert "claims.creditCode" not in body["disclosed"]


def test_an_authorisation_for_shanghai_is_refused_by_beijing_as_not_recognised_there(federation, licence):
    answer = federation.verify(SH, {"reference": _authorise(federation, *licence, SH, "上海授权用证")})
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "AUTHORISATION_NOT_RECOGNISED"


def _decrypted_keys(world: DemoWorld) -> dict[str, bytes]:
    """Every private key in a node's directory, by what holds it (keystores and the node key)."""
    passphrase = (world.workdir / "secrets" / "passphrase").read_text()
    found = {}
    for path in (world.workdir / "keystores").glob("*.json"):
        found[path.name] = bytes(Account.decrypt(json.loads(path.read_text()), passphrase))
    for path in (world.workdir / "node-keys").glob("*.pem"):
        key = serialization.load_pem_private_key(path.read_bytes(), passphrase.encode())
        found[path.name] = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                             serialization.NoEncryption())
    return found


def _secrets_of(world: DemoWorld) -> dict[str, bytes]:
    """What must never leave a node: private keys, field keys, its passphrase, its sign-in tokens."""
    found = {}
    for name, key in _decrypted_keys(world).items():
        found[f"private key ({name})"] = key
        found[f"private key hex ({name})"] = key.hex().encode()
    for path in (world.workdir / "secrets").iterdir():
        found[f"secret file {path.name}"] = path.read_bytes().strip()
    for handle, token in world.tokens.items():
        found[f"token {handle}"] = token.encode()
    return found


def test_no_node_holds_another_regions_keys_credentials_or_secrets(federation):
    # Only the node's own keys are in its directory: each keystore opens with its own passphrase
    # and belongs to its region (departments, its log operator, its relayer, its trust-snapshot publisher; its node
    # and stamping keys). No officer's
    # key: officers sign on their own devices (tests/integration/test_officer_keys_off_node.py).
    for region, n in federation.nodes.items():
        names = set(_decrypted_keys(n.world))
        own_departments = {f"{d.credit_code}.json" for d in n.world.departments}
        assert names == own_departments | {"log-operator.json", "relayer.json", "snapshot-publisher.json",
                                           f"{region}.pem", f"{region}-stamp.pem"}, n.name
        stamp_keys = json.loads((n.world.workdir / "stamp-keys.json").read_text())
        assert [e["region"] for e in stamp_keys] == [region], n.name
        entries = json.loads((n.world.workdir / "departments.json").read_text())
        assert {e["region"] for e in entries} == {region}
        assert not (n.world.workdir / "officers.json").exists()
        with create_engine(n.world.env["HUREN_DB_URL"]).connect() as conn:
            rows = conn.execute(text("select role, region, credit_code from api_credentials")).all()
        assert {r.region for r in rows if r.role != "holder"} == {region}, n.name
        assert {r.credit_code for r in rows if r.role == "department"} == {d.credit_code for d in n.world.departments}
    # No byte of another region's secrets appears in any file of a node (databases, logs included).
    for region, n in federation.nodes.items():
        foreign = {f"{REGION_NAMES[r]} {what}": value for r, other in federation.nodes.items() if r != region
                   for what, value in _secrets_of(other.world).items()}
        for path in (p for p in n.world.workdir.rglob("*") if p.is_file()):
            content = path.read_bytes()
            leaked = [what for what, value in foreign.items() if value in content]
            assert not leaked, f"{path} of the {n.name} node holds {leaked}"


def test_with_beijing_killed_the_others_verify_self_contained_codes_and_its_references_are_unavailable(
        federation):
    cert_id, holder = _anchored_at_beijing(federation, 3)
    purpose = "北京节点停机期间在河北核验"
    codes = _codes(federation, cert_id, holder, purpose)
    authorised = _authorise(federation, cert_id, holder, HE, purpose)
    federation.nodes[BJ].kill()
    try:
        for region in (TJ, HE):
            answer = federation.verify(region, {"presentation": codes["presentation"]})
            assert answer.json()["verdict"] == "VALID", (REGION_NAMES[region], answer.text)
        for code in (codes["reference"], authorised):
            answer = federation.verify(HE, {"reference": code})
            assert answer.status_code == 200, answer.text
            assert (answer.json()["verdict"], answer.json()["reason"]) == ("UNAVAILABLE", UNAVAILABLE_WORDS)
    finally:
        federation.nodes[BJ].start()  # the same directory, database and port: as after a reboot
        federation.nodes[BJ].wait_started()
    uses = _uses(federation, holder, purpose, 2, timeout=90)
    assert sorted((u["region"], u["verdict"]) for u in uses) == [(TJ, "VALID"), (HE, "VALID")], \
        "the reports made while 北京 was down arrive once it is back (the UNAVAILABLE answers are not uses)"


def test_a_node_removed_from_the_registry_is_refused_by_the_others(federation):
    cert_id, holder = _anchored_at_beijing(federation, 4)
    reference = _codes(federation, cert_id, holder, "天津节点已移出后的核验")["reference"]
    net = federation.world(BJ).net
    net.node_change(TJ, RemoveNode())
    removed_in = int(str(net.rpc.call("eth_blockNumber", [])), 16)
    deadline = time.monotonic() + 30
    while _indexed_block(federation.nodes[BJ].base_url) < removed_in:
        assert time.monotonic() < deadline, "the 北京 node's index did not see the removal"
        time.sleep(0.2)
    answer = federation.verify(TJ, {"reference": reference})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verdict"] == "UNAVAILABLE" and "NODE_UNKNOWN" in json.dumps(body, ensure_ascii=False), body
    # Still one-time: 北京 gave nothing to 天津, so the reference still works for a member node.
    assert federation.verify(HE, {"reference": reference}).json()["verdict"] == "VALID"


def test_the_node_logs_name_no_token_of_their_own_sign_ins(federation):
    for n in federation.nodes.values():
        log = n.log_file.read_text(errors="replace")
        assert not [h for h, token in n.world.tokens.items() if token in log], n.name
        assert re.search(r"Application startup complete", log), f"the {n.name} node's log is not its server's"
