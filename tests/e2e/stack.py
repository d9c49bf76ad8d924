"""A demo-like stack for end-to-end tests: anvil, seeded consortium, API served over real HTTP."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from api.app import create_app
from api.seed import DemoWorld, seed
from api.settings import Settings
from ledger.anvil import Anvil, free_port

#: The shared stacks' tests reuse a few seeded tokens hundreds of times a minute, so those stacks
#: limit nothing in practice (the limiter still runs on every request); the limits themselves are
#: tested at their defaults on stacks of their own (tests/e2e/test_e2e_rate_limits.py).
UNLIMITED_RATES: dict[str, Any] = {"rate_per_s": 1e6, "rate_burst": 10**6, "signin_rate_per_s": 1e6,
                                   "signin_burst": 10**6}


@dataclass
class Stack:
    world: DemoWorld
    base_url: str
    app: Any

    def client(self, token_handle: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.world.tokens[token_handle]}"} if token_handle else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


@contextmanager
def running_stack(node: Anvil, workdir: Path, db_url: str | None = None,
                  before_start: Callable[[DemoWorld], None] | None = None, suite: int = 1,
                  **settings: Any) -> Iterator[Stack]:
    """The seeded demo world (in crypto `suite`) served over HTTP; `before_start` may add to the world."""
    port = free_port()
    world = seed(node, workdir, db_url=db_url, node_base_url=f"http://127.0.0.1:{port}", suite=suite)
    if before_start is not None:
        before_start(world)
    env = {**world.env, "HUREN_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        app = create_app(Settings.from_env(**{**UNLIMITED_RATES, **settings}))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("API server did not start")
        time.sleep(0.05)
    try:
        yield Stack(world, f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def wait_anchored(stack: Stack, holder: str, cert_id: str, timeout: float = 40) -> None:
    """Wait until the holder's wallet shows the certificate as anchored (any status but pending)."""
    deadline = time.monotonic() + timeout
    with stack.client(holder) as c:
        while time.monotonic() < deadline:
            for item in c.get("/v1/wallet/certificates").json():
                if item["cert_id"] == cert_id and item["status"]["code"] not in ("PENDING", "UNKNOWN"):
                    return
            time.sleep(0.2)
    depts = stack.app.state.runtime.departments
    states = {code: [(b.id, b.state.value, b.last_error) for b in d.service.store.batches(code)[-3:]]
              for code, d in depts.items()}
    workers = {code: d.worker.status for code, d in depts.items()}
    raise AssertionError(f"{cert_id} was not anchored within {timeout} s; batches {states}; workers {workers}")
