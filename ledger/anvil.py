"""Start and stop a local `anvil`: the embedded chain used by tests, benchmarks and the demo.

Production points at any EVM JSON-RPC endpoint instead (e.g. a Hyperledger Besu QBFT network).
"""

from __future__ import annotations

import contextlib
import os
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    accounts: int = 10,
    state_file: Path | None = None,
    extra: list[str] | None = None,
) -> Anvil:
    """Start anvil on a free port and wait until it answers JSON-RPC.

    `block_time=None` mines a block per transaction (fast tests); a number mines on an interval,
    as a real network does. `state_file` keeps the chain across restarts (demo).
    """
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
