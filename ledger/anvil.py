"""Start and stop a local `anvil`: the embedded chain used by tests, benchmarks and the demo.

Production points at any EVM JSON-RPC endpoint instead (e.g. a Hyperledger Besu QBFT network).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ledger.errors import NodeUnavailable

ROOT = Path(__file__).resolve().parent.parent
# anvil's well-known development mnemonic: its keys are public knowledge and fund nothing real.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
# One client for node-control calls: building an httpx client costs ~65 ms (TLS context).
_CLIENT = httpx.Client(timeout=30)
#: Block period of the chains the project runs as a network would (demo, e2e and fault tests):
#: a permissioned chain makes blocks on a period even when idle, and freshness is measured by
#: the newest block's timestamp (common/freshness.py), so an idle chain must still tick.
IDLE_BLOCK_TIME_S = 1


def anvil_binary() -> str:
    # The platform package's native binary, not the node wrapper in .bin: signals sent to the
    # wrapper do not reach its child, so a "killed" node would keep answering.
    for native in sorted((ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
        return str(native)
    local = ROOT / "node_modules" / ".bin" / "anvil"
    if local.exists():
        return str(local)
    found = shutil.which("anvil")
    if not found:
        raise FileNotFoundError("anvil not found: run `make setup` (npm ci installs Foundry's binaries)")
    return found


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(count: int = 1) -> int:
    """A port free now (or the first of `count` consecutive ones) for a server about to listen.

    Taken from below the kernel's ephemeral range: a port from inside it (what binding port 0
    gives) can be handed to any outgoing connection between this check and the server's bind —
    the demo's own RPC calls took a node's port that way on a busy CI host.
    """
    low, _ = _ephemeral_range()
    first, last = (10_000, low - count) if low - count > 10_000 else (1_024, low - count)
    for _ in range(1_000):
        port = random.randint(first, last)
        if all(_bindable(port + i) for i in range(count)):
            return port
    raise RuntimeError(f"no {count} consecutive free ports between {first} and {low}")


@dataclass
class Anvil:
    """A running anvil process. Use `start_anvil()` or the `anvil()` context manager."""

    port: int
    chain_id: int
    process: subprocess.Popen[bytes]
    args: list[str] = field(default_factory=list)
    home: str = ""  # private HOME: anvil spills old states to ~/.foundry/anvil/tmp (GBs per busy run)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rpc(self, method: str, params: list[object] | None = None) -> object:
        """Node-control calls (anvil_*, evm_*) for tests and the demo."""
        reply = _CLIENT.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
        body = reply.json()
        if "error" in body:
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]

    def stop(self) -> None:
        try:
            self._terminate()
        finally:
            if self.home:
                shutil.rmtree(self.home, ignore_errors=True)

    def _terminate(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Simulate a dead node (tests of queueing and UNAVAILABLE)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def restart(self) -> None:
        """Start again on the same port with the same arguments (state is lost unless dumped)."""
        self._terminate()
        self.process = _spawn(self.args, self.home)
        _wait_ready(self.url, self.process)


def _spawn(args: list[str], home: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOME": home} if home else None
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            env=env)


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise NodeUnavailable(f"anvil exited during start-up: {err.strip()[:500]}")
        with contextlib.suppress(httpx.HTTPError):
            r = _CLIENT.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
            if r.status_code == 200:
                return
        time.sleep(0.05)
    process.kill()
    raise NodeUnavailable(f"anvil did not answer on {url} within {timeout:.0f} s")


def start_anvil(
    port: int | None = None,
    chain_id: int = 31337,
    block_time: float | None = None,
    mixed_mining: bool = False,
    accounts: int = 10,
    state_file: Path | None = None,
    extra: list[str] | None = None,
) -> Anvil:
    """Start anvil on a free port and wait until it answers JSON-RPC.

    `block_time=None` mines a block per transaction (fast tests that count blocks exactly); a
    number mines on an interval, as a real network does; with `mixed_mining` also on every
    transaction (`--mixed-mining`: a network's period, without waiting for it per transaction).
    The demo, e2e and fault tests use `block_time=IDLE_BLOCK_TIME_S, mixed_mining=True`. `state_file` keeps
    the chain across restarts (demo). On an interval-mined node `evm_setIntervalMining 0` stops
    automine too: re-enable it with `evm_setAutomine true`.
    """
    if mixed_mining and block_time is None:
        raise ValueError("mixed_mining needs a block_time (it adds per-transaction mining to interval mining)")
    port = port or free_port()
    args = [
        anvil_binary(), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id),
        "--accounts", str(accounts), "--mnemonic", DEV_MNEMONIC, "--balance", "1000000", "--silent",
        # A permissioned consortium chain runs without fees (Besu QBFT: min-gas-price 0); a
        # zero base fee keeps the EIP-1559 fee from compounding across thousands of test blocks.
        "--block-base-fee-per-gas", "0",
    ]
    if block_time is not None:
        args += ["--block-time", str(block_time)]
    if mixed_mining:
        args += ["--mixed-mining"]
    if state_file is not None:
        args += ["--state", str(state_file)]
    args += extra or []
    home = tempfile.mkdtemp(prefix="huren-anvil-")
    process = _spawn(args, home)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", process)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    return Anvil(port=port, chain_id=chain_id, process=process, args=args, home=home)


@contextlib.contextmanager
def anvil(**kwargs: object) -> Iterator[Anvil]:
    node = start_anvil(**kwargs)  # type: ignore[arg-type]
    try:
        yield node
    finally:
        node.stop()


def dev_private_keys(count: int = 10) -> list[bytes]:
    """The private keys anvil funds from DEV_MNEMONIC (for tests and the demo's funder only)."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return [
        bytes(Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key) for i in range(count)
    ]
