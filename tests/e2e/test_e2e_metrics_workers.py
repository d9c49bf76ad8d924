"""Metrics when several worker processes serve: `huren serve --workers 2` as operators run it, real
HTTP, a seeded demo world on a real anvil. A scrape or a page view is answered by one worker, yet
every answer must show the whole service's figures; the single-process API keeps its own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from api.seed import seed
from ledger.anvil import Anvil, free_port, start_anvil
from tests.e2e.stack import Stack

BURST = 8  # malformed presentations sent at once, each on a new connection
MIN_SENT, MAX_SENT = 24, 400
READS = 6  # /metrics and page reads, each on a new connection
ROOT = Path(__file__).resolve().parents[2]
HUREN = Path(sys.executable).parent / "huren"


@dataclass
class Served:
    url: str
    token: str
    tmpdir: Path  # TMPDIR of the server: where its private metrics directory is made
    process: subprocess.Popen[bytes]
    log: Path
    node: Anvil
    sent: int = 0  # malformed presentations answered so far

    def metrics_dirs(self) -> list[Path]:
        return sorted(self.tmpdir.glob("huren-metrics-*"))

    def stop(self) -> int:
        """SIGTERM to the supervising process, as a service manager stops it; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def _new_connection() -> httpx.Client:
    """A client of its own per request: a new TCP connection, which any worker may accept."""
    return httpx.Client(timeout=30, headers={"Connection": "close"})


def started_workers(served: Served) -> set[str]:
    """Worker processes that have loaded the app: api/metrics.py's gauges each make a file named
    after the worker's pid when the worker imports them (the supervising process never does)."""
    return {f.stem.rpartition("_")[2] for d in served.metrics_dirs() for f in d.glob("gauge_live*_*.db")}


def _wait_ready(served: Served, timeout: float = 120) -> None:
    """Until /readyz answers and both workers have started: on a slow host one worker can answer
    for many seconds while the other is still importing, and a test would see only the first."""
    deadline = time.monotonic() + timeout
    ready = 0
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(f"huren serve exited during start-up:\n{served.log.read_text()[-3000:]}")
        try:
            with _new_connection() as c:
                ready = ready + 1 if c.get(served.url + "/readyz").status_code == 200 else 0
        except httpx.HTTPError:
            ready = 0
        if not ready:
            # This chain mines on transactions only (a test here counts blocks exactly), and
            # readiness needs a head younger than HUREN_MAX_FACTS_AGE_S: tick while waiting.
            served.node.rpc("evm_mine")
        if ready and len(started_workers(served)) >= 2:
            return
        time.sleep(0.1)
    raise RuntimeError(f"huren serve did not become ready:\n{served.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The API under `huren serve --workers 2` with malformed verifications answered by both workers."""
    work = tmp_path_factory.mktemp("workers")
    node = start_anvil()
    process = None
    try:
        world = seed(node, work / "demo")
        port = free_port()
        tmpdir = work / "tmp"
        tmpdir.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update(world.env, HUREN_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", TMPDIR=str(tmpdir),
                   HUREN_RATE_PER_S="1000000", HUREN_RATE_BURST="1000000")  # hundreds of verifications, one token
        log = work / "api.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(HUREN), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        s = Served(f"http://127.0.0.1:{port}", world.tokens["verifier-130000"], tmpdir, process, log, node)
        _wait_ready(s)
        # An idle worker accepts every connection that arrives one at a time; concurrent bursts
        # reach the other worker while the first is busy. Send until both have answered some, as
        # far as the workers' metric files tell (none: test_both_workers_answered_... fails).
        with ThreadPoolExecutor(BURST) as pool:
            while s.sent < MIN_SENT or (s.metrics_dirs() and len(_answered_by_worker(s)) < 2):
                assert s.sent < MAX_SENT, f"one worker answered all {s.sent}: {_answered_by_worker(s)}"
                for reply in pool.map(lambda _: _verify_malformed(s), range(BURST)):
                    assert reply.status_code == 400 and reply.json()["verdict"] == "MALFORMED", reply.text
                s.sent += BURST
        yield s
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        node.stop()


def _malformed(exposition: str) -> float:
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    return sum(s.value for s in families["huren_verifications"].samples
               if s.name == "huren_verifications_total" and s.labels["verdict"] == "MALFORMED")


def _verify_malformed(served: Served) -> httpx.Response:
    with _new_connection() as c:
        return c.post(served.url + "/v1/verify", json={"presentation": "HR1:X"},
                      headers={"Authorization": f"Bearer {served.token}"})


def _answered_by_worker(served: Served) -> dict[str, float]:
    """MALFORMED verifications per worker process, read from each process's own metric file."""
    answered = {}
    for directory in served.metrics_dirs():
        for f in directory.glob("counter_*.db"):
            n = sum(s.value for m in MultiProcessCollector.merge([str(f)]) for s in m.samples
                    if s.name == "huren_verifications_total" and s.labels["verdict"] == "MALFORMED")
            if n:
                answered[f.stem.rpartition("_")[2]] = n
    return answered


def test_both_workers_answered_verifications(served: Served):
    """The premise of the tests below: the verifications were spread over two worker processes."""
    answered = _answered_by_worker(served)
    assert len(answered) == 2 and sum(answered.values()) == served.sent, answered


def test_metrics_sum_the_verifications_of_every_worker(served: Served):
    for _ in range(READS):
        with _new_connection() as c:
            reply = c.get(served.url + "/metrics")
        assert reply.status_code == 200
        assert _malformed(reply.text) == served.sent


def _gauge_by_worker(served: Served, name: str) -> dict[str, float]:
    """One gauge as each worker process last published it, read from the workers' own files."""
    figures = {}
    for directory in served.metrics_dirs():
        for f in directory.glob("gauge_*.db"):
            for metric in MultiProcessCollector.merge([str(f)]):
                for sample in metric.samples:
                    if sample.name == name:
                        figures[f.stem.rpartition("_")[2]] = sample.value
    return figures


def test_every_worker_publishes_its_index_figures_and_metrics_merge_them(served: Served):
    served.node.rpc("evm_mine")  # a new chain head that every worker's indexer follows
    head = int(served.node.rpc("eth_blockNumber"), 16)  # type: ignore[arg-type]
    time.sleep(2.5)  # index poll (0.5 s) + publishing interval (1 s), with room
    # No scrape since the block: a worker's figures are current only if it published them itself.
    heads = _gauge_by_worker(served, "huren_index_head_block")
    indexed = _gauge_by_worker(served, "huren_index_indexed_block")
    assert len(heads) == 2 and set(heads.values()) == {head}, (head, heads)
    assert len(indexed) == 2 and min(indexed.values()) > 0, indexed
    for _ in range(READS):
        with _new_connection() as c:
            families = {f.name: f for f in text_string_to_metric_families(c.get(served.url + "/metrics").text)}
        for name in ("huren_index_head_block", "huren_index_indexed_block", "huren_index_lag_blocks",
                     "huren_index_age_seconds", "huren_anchored_batches"):
            assert len(families[name].samples) == 1, families[name]  # merged: not one per worker process
        assert families["huren_index_head_block"].samples[0].value == head
        assert families["huren_index_indexed_block"].samples[0].value == min(indexed.values())
        assert 0 <= families["huren_index_lag_blocks"].samples[0].value < 10


def test_registry_page_counts_the_verifications_of_every_worker(served: Served):
    for _ in range(READS):
        with _new_connection() as c:
            counts = c.get(served.url + "/pages/registry/counts.json").json()
            page = c.get(served.url + "/pages/registry").text
        assert counts["verifications"] == served.sent
        assert [v["count"] for v in counts["verdicts"] if v["code"] == "MALFORMED"] == [served.sent]
        shown = re.search(r'id="c-verifications">(\d+)<', page)
        assert shown is not None and int(shown.group(1)) == served.sent


def test_serve_removes_its_private_metrics_directory_when_it_exits(served: Served):
    [directory] = served.metrics_dirs()
    assert directory.stat().st_mode & 0o777 == 0o700
    assert served.stop() == 0, served.log.read_text()[-3000:]
    assert served.metrics_dirs() == []


def test_a_single_process_api_still_exposes_its_own_metrics(stack: Stack):
    """The in-process stack (one process, no PROMETHEUS_MULTIPROC_DIR): figures from memory as before."""
    with stack.client() as c:
        before_metrics = _malformed(c.get("/metrics").text)
        before_page = c.get("/pages/registry/counts.json").json()["verifications"]
    with stack.client("verifier-110000") as c:
        for _ in range(3):
            assert c.post("/v1/verify", json={"presentation": "HR1:X"}).json()["verdict"] == "MALFORMED"
    with stack.client() as c:
        exposition = c.get("/metrics").text
        assert c.get("/pages/registry/counts.json").json()["verifications"] == before_page + 3
    assert _malformed(exposition) == before_metrics + 3
    for name in ("huren_verifications_total", "huren_verify_seconds", "huren_http_request_seconds",
                 "huren_index_head_block", "huren_index_indexed_block", "huren_index_lag_blocks",
                 "huren_index_age_seconds", "huren_outbox_batches", "huren_certificates_issued_total",
                 "huren_anchored_batches", "huren_verify_fast_lane_total"):  # the names as before
        assert f"# HELP {name} " in exposition, name
    assert re.search(r"^huren_index_indexed_block [1-9]", exposition, re.M)
    assert "pid=" not in exposition
