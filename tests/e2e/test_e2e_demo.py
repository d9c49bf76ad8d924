"""`make demo`'s program runs from this checkout: four region nodes over one chain, a QR that verifies."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ledger.anvil import free_port

REGIONS = (110000, 120000, 130000, 310000)


@pytest.mark.parametrize("suite", [1, 2], ids=["international", "guomi"])
def test_demo_seeds_issues_and_prints_what_a_new_user_needs(tmp_path: Path, suite: int):
    """`make demo` (and `make demo HUREN_SUITE=2`, a 国密 consortium) seeds, issues and prints its sample code."""
    port = free_port(len(REGIONS))
    run = subprocess.run([sys.executable, "-m", "api.demo", "--no-serve", "--port", str(port),
                          "--workdir", str(tmp_path / "demo"), "--kdf-iterations", "1024"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "HUREN_SUITE": str(suite)})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    for i, region in enumerate(REGIONS):
        assert f"http://127.0.0.1:{port + i}/docs" in out, f"the {region} node's pages are not printed"
        assert (tmp_path / "demo" / str(region) / "huren.env").is_file()
    assert "verifier-130000 (河北 1 号核验窗口)" in out
    assert (tmp_path / "demo" / "sample-qr.png").stat().st_size > 1000
    assert "已停止" in out
    assert ("国密" in out) == (suite == 2)
    if suite == 2:  # each department's SM2 document-signing keystore says its suite
        keystores = list((tmp_path / "demo").glob("*/keystores/*-sm2.json"))
        assert keystores and all(json.loads(k.read_text())["suite"] == 2 for k in keystores)


def _token(banner: str, handle: str) -> str:
    found = re.search(rf"^ +{re.escape(handle)} .*?(hr_\S+)$", banner, re.MULTILINE)
    assert found, f"no sign-in printed for {handle}"
    return found.group(1)


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc), e.g. the demo's anvil."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_the_demos_sample_code_is_valid_at_hebei_and_not_recognised_at_shanghai_and_sigterm_stops_every_node(
        tmp_path: Path):
    port = free_port(len(REGIONS))
    demo = subprocess.Popen([sys.executable, "-m", "api.demo", "--port", str(port), "--workdir", str(tmp_path / "demo"),
                             "--kdf-iterations", "1024"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        seen = []
        deadline = time.monotonic() + 300
        for line in demo.stdout:  # type: ignore[union-attr]
            seen.append(line)
            if "按 Ctrl-C" in line or time.monotonic() > deadline:  # the banner's last line
                break
        assert any("演示已就绪" in line for line in seen), "".join(seen)[-3000:]
        banner = "".join(seen)
        qr = (tmp_path / "demo" / "sample-qr.png").read_bytes()
        for offset, handle, verdict in ((2, "verifier-130000", "VALID"), (3, "verifier-310000", "NOT_RECOGNISED")):
            answer = httpx.post(f"http://127.0.0.1:{port + offset}/v1/verify/image", files={"image": qr},
                                headers={"Authorization": f"Bearer {_token(banner, handle)}"}, timeout=30)
            assert answer.status_code == 200 and answer.json()["verdict"] == verdict, answer.text
        children = _children(demo.pid)
        anvils = [pid for pid in children if "anvil" in Path(f"/proc/{pid}/cmdline").read_text()]
        servers = [pid for pid in children if "serve" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert anvils, "the demo's anvil was not found among its children"
        assert len(servers) == 4, "one `huren serve` process per region"
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=60)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in anvils + servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in anvils), "anvil survived a SIGTERM to the demo's process group"
        assert not any(_alive(pid) for pid in servers), "a node survived a SIGTERM to the demo's process group"
        for i in range(4):
            with pytest.raises(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{port + i}/healthz", timeout=2)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
