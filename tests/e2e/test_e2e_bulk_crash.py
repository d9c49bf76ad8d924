"""A real `huren serve` SIGKILLed in the middle of a 1,500-row bulk issuance, then the same bulk
submitted again: every accepted certificate ends up in its holder's wallet, anchored, and verifies.

The kill is not timed: the server runs with HUREN_FAULT_POINT=bulk.after_chunk:2 (common.faults),
so the worker that serves the bulk kills itself right after the commit of its second chunk of 512
rows — 1,024 certificates accepted, the bulk's answer never sent. Three deployments: SQLite and
PostgreSQL with one process, and one of two worker processes (the other keeps serving, and
uvicorn restarts the dead one; HUREN_FAULT_ONCE keeps the restarted worker from dying again).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.seed import DemoWorld, add_holder, seed
from common.faults import FAULT_ENV, FAULT_ONCE_ENV
from issuers.field_cipher import FieldCipher
from issuers.model import Issuer
from issuers.samples import sample_document
from issuers.store import CertificateStore, holder_hash, holdings
from ledger.anvil import Anvil, free_port, start_anvil
from tests.conftest import fresh_pg_database

pytestmark = pytest.mark.slow

ROWS = 1_500
CHUNK = 512  # IssuerService.issue_many's chunk: the unit of commit
KILLED_AFTER = 2  # chunks committed before the kill
DEPT = "bj-amr"
ROOT = Path(__file__).resolve().parents[2]
HUREN = Path(sys.executable).parent / "huren"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _serve(world: DemoWorld, workers: int, log: Path, **extra: str) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", FAULT_ENV, FAULT_ONCE_ENV)}
    env.update(world.env, HUREN_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", HUREN_MAX_BODY_BYTES="8000000",
               HUREN_BATCH_AGE_S="0.5", **extra)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(HUREN), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    _wait_ready(server)
    return server


def _wait_ready(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"huren serve exited during start-up:\n{server.log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=5) as c:
            if c.get(server.url + "/readyz").status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"huren serve did not become ready:\n{server.log.read_text()[-3000:]}")


def _documents(world: DemoWorld) -> list[dict[str, Any]]:
    """ROWS licences in force today, without the issuer block (the department's credential fills it)."""
    d = world.department(DEPT)
    issuer = Issuer(d.credit_code, d.region, d.name, "0x" + "00" * 20)
    today = date.today().isoformat()
    docs: list[dict[str, Any]] = []
    seed_no = 70_000
    while len(docs) < ROWS:
        doc = sample_document(d.types[0], seed_no, issuer=issuer)
        seed_no += 1
        if doc.get("validUntil") is None or doc["validUntil"] > today:
            doc.pop("issuer")
            docs.append(doc)
    return docs


def _store(world: DemoWorld) -> CertificateStore:
    d = world.department(DEPT)
    key = (world.workdir / "secrets" / f"{d.credit_code}.fieldkey").read_text()
    return CertificateStore(world.env["HUREN_DB_URL"], FieldCipher.from_key_text(key))


def _wallet_entries(store: CertificateStore) -> dict[str, str]:
    with store.engine.connect() as c:
        return {cid: h for h, cid in c.execute(select(holdings.c.holder_hash, holdings.c.cert_id))}


def _post_bulk(server: Server, token: str, docs: list[dict[str, Any]]) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=600) as c:
        return c.post("/v1/certificates/bulk", json={"documents": docs})


def _wait_all_anchored(store: CertificateStore, code: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batches = store.batches(code)
        if (store.overview(code)["unbatched"] == 0 and batches
                and all(b.state.value in ("final", "settled") for b in batches)):
            return
        time.sleep(0.5)
    raise AssertionError(f"not anchored within {timeout} s: {store.overview(code)}")


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    anvil = start_anvil()
    yield anvil
    anvil.stop()


@pytest.fixture(params=[("sqlite", 1), ("postgresql", 1), ("sqlite", 2)],
                ids=["sqlite", "postgresql", "one-of-two-workers"])
def deployment(request: pytest.FixtureRequest, node: Anvil, tmp_path: Path) -> Iterator[tuple[DemoWorld, int]]:
    backend, workers = request.param
    databases = (fresh_pg_database("huren_bulk_crash") if backend == "postgresql"
                 else contextlib.nullcontext(f"sqlite:///{tmp_path / 'huren.sqlite'}"))
    with databases as db_url:
        yield seed(node, tmp_path / "world", db_url=db_url), workers


def test_a_bulk_killed_between_chunks_and_submitted_again_leaves_every_certificate_usable(deployment, tmp_path):
    world, workers = deployment
    code = world.department(DEPT).credit_code
    docs = _documents(world)
    fired = tmp_path / "fault-fired"
    server = _serve(world, workers, tmp_path / "api.log", **{FAULT_ENV: f"bulk.after_chunk:{KILLED_AFTER}",
                                                             FAULT_ONCE_ENV: str(fired)})
    try:
        with pytest.raises(httpx.TransportError):  # the worker died: no answer at all
            _post_bulk(server, world.tokens[DEPT], docs)
        assert fired.exists(), "the fault point was not reached"
        if workers == 1:
            assert server.process.wait(30) == -signal.SIGKILL
        else:
            assert server.process.poll() is None, "the supervisor must survive its worker"

        # What the kill left: exactly the committed chunks, each certificate with its wallet entry.
        store = _store(world)
        committed = store.certificate_ids(code)
        assert len(committed) == KILLED_AFTER * CHUNK
        by_id = {doc["id"]: doc for doc in docs}
        assert _wallet_entries(store) == {cid: holder_hash(by_id[cid]["holder"]["idNumber"]) for cid in committed}

        if workers == 1:
            server = _serve(world, workers, tmp_path / "api.log")  # restarted by its service manager
        else:
            _wait_ready(server)
        reply = _post_bulk(server, world.tokens[DEPT], docs)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert sorted(body["already_accepted"]) == sorted(committed)
        assert len(body["accepted"]) == ROWS - len(committed) and body["rejected"] == []

        # Every certificate: in its holder's wallet, anchored on chain ...
        _wait_all_anchored(store, code)
        assert sorted(store.certificate_ids(code)) == sorted(by_id)
        assert _wallet_entries(store) == {cid: holder_hash(doc["holder"]["idNumber"]) for cid, doc in by_id.items()}
        for batch in store.batches(code):
            assert world.net.huren.anchor_of(batch.root) is not None, f"batch {batch.id} not on chain"
        store.close()

        # ... and verifies: holders of rows before, at and after the kill present them to a window.
        ids = [doc["id"] for doc in docs]
        for row in (0, KILLED_AFTER * CHUNK - 1, KILLED_AFTER * CHUNK, ROWS - 1):
            handle = f"holder-{row}"
            add_holder(world, handle, by_id[ids[row]])
            with httpx.Client(base_url=server.url, timeout=30,
                              headers={"Authorization": f"Bearer {world.tokens[handle]}"}) as wallet:
                shown = {item["cert_id"] for item in wallet.get("/v1/wallet/certificates").json()}
                assert ids[row] in shown
                presentation = wallet.post(f"/v1/wallet/certificates/{ids[row]}/presentation",
                                           json={"purpose": "办理企业变更登记"})
                assert presentation.status_code == 200, presentation.text
            with httpx.Client(base_url=server.url, timeout=30,
                              headers={"Authorization": f"Bearer {world.tokens['verifier-130000']}"}) as window:
                verdict = window.post("/v1/verify", json={"presentation": presentation.json()["presentation"]})
            assert verdict.json()["verdict"] == "VALID", verdict.text
    finally:
        server.stop()
