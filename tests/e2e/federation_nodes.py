"""Two federation nodes for the e2e tests: 北京 and 河北, each its own API (uvicorn, real HTTP) with its
own database and its own index, over one anvil; both registered in the chain's node registry with
their own request-signing keys (the demo seed's, `<workdir>/node-keys/<region>.pem`).

The 北京 node serves the 北京 departments and the holders' wallets; the 河北 node serves none, only
its window clerk's credential. Shared by the tests of reference codes and of 授权用证; each test
module starts its own pair (`running_federation`), since some tests stop the 北京 node.

Here the two nodes run in one test process (two uvicorn servers, two app instances and runtimes), so
tests can look inside a node's runtime; the federation as deployed — four `huren serve` processes,
one killed and restarted — is tests/e2e/test_e2e_federation_processes.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.credentials import CredentialStore
from api.seed import DemoWorld, seed
from api.settings import Settings
from ledger import store as st
from ledger.anvil import IDLE_BLOCK_TIME_S, Anvil, free_port, start_anvil
from ledger.nodes import SetNodeUrl
from tests.e2e.conftest import issue_licence
from tests.e2e.stack import UNLIMITED_RATES, Stack, wait_anchored

BJ, HE = 110000, 130000


@dataclass
class Served:
    base_url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Federation:
    node: Anvil
    world: DemoWorld
    bj: Served
    he: Served
    he_window: str  # bearer token of a 河北 window clerk, valid only at the 河北 node

    @property
    def bj_stack(self) -> Stack:
        return Stack(self.world, self.bj.base_url, self.bj.app)

    def he_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.he.base_url, headers={"Authorization": f"Bearer {self.he_window}"},
                            timeout=30)


def _serve(settings: Settings, port: int) -> Served:
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("node did not start")
        time.sleep(0.05)
    return Served(f"http://127.0.0.1:{port}", app, server, thread)


def _departments_of(world: DemoWorld, region: int, path: Path) -> Path:
    entries = json.loads(Path(world.env["HUREN_DEPARTMENTS_FILE"]).read_text())
    path.write_text(json.dumps([e for e in entries if e["region"] == region], ensure_ascii=False))
    return path


def _stamp_keys_of(world: DemoWorld, region: int, path: Path) -> Path:
    entries = json.loads(Path(world.env["HUREN_STAMP_KEYS_FILE"]).read_text())
    path.write_text(json.dumps([e for e in entries if e["region"] == region]))
    return path


@contextmanager
def running_federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    """A fresh anvil, the demo seed, and the 北京 and 河北 nodes on it; all stopped afterwards."""
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)
    served: list[Served] = []
    try:
        bj_port, he_port = free_port(), free_port()
        bj_dir, he_dir = tmp_path_factory.mktemp("bj"), tmp_path_factory.mktemp("he")
        world = seed(node, bj_dir, node_base_url=f"http://127.0.0.1:{bj_port}")
        world.net.node_change(HE, SetNodeUrl(f"http://127.0.0.1:{he_port}"))  # 河北's node has its own address
        common = {**UNLIMITED_RATES, "rpc_urls": [node.url], "manifest": Path(world.env["HUREN_MANIFEST"]),
                  "passphrase_file": Path(world.env["HUREN_PASSPHRASE_FILE"]), "confirmations": 1,
                  "batch_age_s": 0.5, "presentation_ttl_s": 300}
        bj = _serve(Settings(**common, db_url=world.env["HUREN_DB_URL"],
                             index_db_url=world.env["HUREN_INDEX_DB_URL"],
                             departments_file=_departments_of(world, BJ, bj_dir / "bj-departments.json"),
                             public_base_url=f"http://127.0.0.1:{bj_port}", node_region=BJ,
                             node_key_file=bj_dir / "node-keys" / f"{BJ}.pem",
                             stamp_keys_file=_stamp_keys_of(world, BJ, bj_dir / "bj-stamp-keys.json")), bj_port)
        served.append(bj)
        he_db = f"sqlite:///{he_dir / 'huren.sqlite'}"
        _, he_window = CredentialStore(st.make_engine(he_db)).add("verifier", "河北政务服务中心 1 号窗口", region=HE)
        he = _serve(Settings(**common, db_url=he_db, index_db_url=f"sqlite:///{he_dir / 'index.sqlite'}",
                             public_base_url=f"http://127.0.0.1:{he_port}", node_region=HE,
                             node_key_file=bj_dir / "node-keys" / f"{HE}.pem"), he_port)
        served.append(he)
        yield Federation(node, world, bj, he, he_window)
    finally:
        for s in served:
            s.stop()
        node.stop()


def hebei_index_caught_up(fed: Federation, timeout: float = 30) -> None:
    """The 河北 node's own index has reached the block the 北京 node's shows the anchor in.

    Each node indexes the chain on its own; a code verified in the second after anchoring at
    the other node would otherwise meet NOT_ANCHORED, which is not what these tests are about.
    """
    target = fed.bj.app.state.runtime.indexer.stats.indexed
    deadline = time.monotonic() + timeout
    while fed.he.app.state.runtime.indexer.stats.indexed < target:
        assert time.monotonic() < deadline, "the 河北 node's index did not catch up"
        time.sleep(0.1)


def anchored_licence(fed: Federation, seed_offset: int = 1) -> tuple[str, str]:
    """(cert_id, holder) of a 北京 licence anchored on chain and in the 河北 node's index."""
    cert_id, _, holder = issue_licence(fed.bj_stack, seed_offset)
    wait_anchored(fed.bj_stack, holder, cert_id)
    hebei_index_caught_up(fed)
    return cert_id, holder


def logged_at_hebei(fed: Federation, answer: dict[str, Any], verdict: str) -> None:
    entry = fed.he.app.state.runtime.log.get(answer["log_entry"]["logSeq"])
    assert entry is not None and (entry.region, entry.verdict) == (HE, verdict)
