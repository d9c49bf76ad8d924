"""Federation nodes as separate `huren serve` processes on this machine: the demo's four regions, and
the end-to-end tests that kill and restart one of them.

Each node is configured only by its own env file (`<node dir>/huren.env`, read through
HUREN_ENV_FILE as a province's deployment would), so a node process sees nothing of another
region's directory: the settings it gets name only its own database, index, keystores and node key.
Its output goes to `<node dir>/node.log`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from api.seed import REGION_NAMES, DemoWorld


class NodeDidNotStart(RuntimeError):
    """A node process exited or did not answer /healthz in time (port in use? see its log)."""


@dataclass
class NodeProcess:
    region: int
    world: DemoWorld
    port: int
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return REGION_NAMES[self.region]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env_file(self) -> Path:
        return self.world.workdir / "huren.env"

    @property
    def log_file(self) -> Path:
        return self.world.workdir / "node.log"

    def write_env_file(self) -> Path:
        lines = [f"{k}={v}" for k, v in sorted({**self.world.env, **self.extra_env}.items())]
        self.env_file.write_text("\n".join(lines) + "\n")
        return self.env_file

    def start(self) -> None:
        """Start `huren serve` for this node (returns at once; `wait_started` waits for it)."""
        self.write_env_file()
        # The process environment wins over the env file (api/settings.py): drop every HUREN_* the
        # caller has, so the node runs on its own file alone.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUREN_")}
        env["HUREN_ENV_FILE"] = str(self.env_file)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_started(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise NodeDidNotStart(f"{self.name}节点进程已退出（退出码 {code}；端口 {self.port} 被占用？），"
                                      f"日志: {self.log_file}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise NodeDidNotStart(f"{self.name}节点在 {timeout:.0f} 秒内没有应答 {self.base_url}/healthz，"
                              f"日志: {self.log_file}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (uvicorn finishes its requests and the runtime stops its workers), then SIGKILL."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the node dies as in a crash or a power cut, nothing cleaned up."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def start_all(nodes: list[NodeProcess], timeout: float = 90) -> None:
    """Start every node at once, then wait for each (they open keystores and migrate in parallel)."""
    for n in nodes:
        n.start()
    for n in nodes:
        n.wait_started(timeout)


def stop_all(nodes: list[NodeProcess]) -> None:
    for n in nodes:
        if n.process is not None and n.process.poll() is None:
            n.process.send_signal(signal.SIGTERM)
    for n in nodes:
        n.stop()
