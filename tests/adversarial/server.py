"""A `huren serve` process for the adversarial suite, watched from outside (see conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ledger.anvil import Anvil

ROOT = Path(__file__).resolve().parents[2]
HUREN = Path(sys.executable).parent / "huren"
#: Every attack must be answered (or the connection closed) within this: a hang check, not a speed test.
ANSWER_WITHIN_S = 10.0
#: The server's body deadline in this suite (HUREN_BODY_TIMEOUT_S): short, so slow-body tests stay short.
BODY_TIMEOUT_S = 3.0
#: Resident memory the server may gain over its figure after start-up and warm-up, after any attack.
RSS_GROWTH_BOUND = 250 * 1024 * 1024


@dataclass
class Served:
    """A running `huren serve`: where it listens, its pid, one bearer token per role."""

    base_url: str
    pid: int
    tokens: dict[str, str]  # role (verifier, department, holder, officer) -> bearer token
    process: subprocess.Popen[bytes]
    log: Path
    node: Anvil
    host: str = "127.0.0.1"
    port: int = 0
    baseline_rss: int = 0
    extra: dict[str, str] = field(default_factory=dict)  # other handles: "verifier2", "holder_cert" ...

    def client(self, role: str | None = None, **kwargs: object) -> httpx.Client:
        """A client with `role`'s token (None: no token) and the suite's answer deadline."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=ANSWER_WITHIN_S, **kwargs)  # type: ignore[arg-type]

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_bytes(self) -> int:
        """The server process's resident memory, from /proc (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for pid {self.pid}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def assert_healthy(self) -> None:
        """Alive, answering /healthz, and within RSS_GROWTH_BOUND of its start-up memory."""
        assert self.alive(), f"huren serve died (exit {self.process.returncode}):\n{self.log_tail()}"
        with httpx.Client(timeout=ANSWER_WITHIN_S) as c:
            assert c.get(self.base_url + "/healthz").status_code == 200
        rss = self.rss_bytes()
        assert rss <= self.baseline_rss + RSS_GROWTH_BOUND, (
            f"resident memory {rss >> 20} MB, start-up {self.baseline_rss >> 20} MB, "
            f"bound +{RSS_GROWTH_BOUND >> 20} MB")


def wait_ready(served: Served, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not served.alive():
            raise RuntimeError(f"huren serve exited during start-up:\n{served.log_tail()}")
        try:
            with httpx.Client(timeout=5) as c:
                if c.get(served.base_url + "/readyz").status_code == 200:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"huren serve did not become ready:\n{served.log_tail()}")
