"""The adversarial suite's target: the API as operators run it (`huren serve`, its own process).

Why a process of its own, not the e2e suite's in-test server: the attacks here are of the
crash class (issue 13: one 200 kB body ended the API with a segmentation fault). In a thread
of the test process a crash would take the test run with it and say nothing; a separate
process can be watched — is it alive, does it still answer, how much memory does it hold.

The world is the e2e stack's (api.seed.seed on a real anvil: real contracts, a real SQLite
database, one token per role). `served` is shared by every test module in this folder (the
image attacks in test_adversarial_images.py use it too): its base URL, pid, a token per role,
and `assert_healthy()`, which every test here runs after its attack (autouse fixture below).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.seed import add_holder, demo_documents, seed
from ledger.anvil import IDLE_BLOCK_TIME_S, free_port, start_anvil
from tests.adversarial.server import BODY_TIMEOUT_S, HUREN, ROOT, Served, wait_ready

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder carries the `adversarial` marker (`pytest -m adversarial`)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.adversarial)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("adversarial")
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)  # ticks when idle, as a network does
    process = None
    try:
        world = seed(node, work / "demo")
        document = demo_documents(world, 1)["bj-amr"][0]
        add_holder(world, "holder", document)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update(world.env, HUREN_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
                   # Attacks come many to a token: the per-credential limit (its own tests are elsewhere)
                   # must not turn them into 429s before they reach what they attack.
                   HUREN_RATE_PER_S="10000", HUREN_RATE_BURST="10000",
                   HUREN_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S))
        log = work / "api.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(HUREN), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        tokens = {"verifier": world.tokens["verifier-130000"], "department": world.tokens["bj-amr"],
                  "holder": world.tokens["holder"], "officer": world.tokens["officer-130000"]}
        s = Served(f"http://127.0.0.1:{port}", process.pid, tokens, process, log, node, port=port)
        s.extra["holder_document"] = json.dumps(document, ensure_ascii=False)  # "holder" holds it, not yet issued
        wait_ready(s)
        with s.client("verifier") as c:  # warm up the paths the attacks take before measuring memory
            for _ in range(20):
                c.post("/v1/verify", json={"presentation": "HR1:X"})
        s.baseline_rss = s.rss_bytes()
        yield s
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        node.stop()


@pytest.fixture(autouse=True)
def _healthy_after_each_attack(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test in this folder that used the server: it is alive, answers, and holds its memory."""
    yield
    if "served" in request.fixturenames:
        request.getfixturevalue("served").assert_healthy()
