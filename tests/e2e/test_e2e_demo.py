"""`make demo`'s program runs from this checkout: seeds, issues, writes a QR that verifies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ledger.anvil import free_port


def test_demo_seeds_issues_and_prints_what_a_new_user_needs(tmp_path: Path):
    port = free_port()
    run = subprocess.run([sys.executable, "-m", "api.demo", "--no-serve", "--port", str(port),
                          "--workdir", str(tmp_path / "demo"),
                          "--kdf-iterations", "1024"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert f"http://127.0.0.1:{port}/docs" in out
    assert "verifier-130000 (河北核验窗口)" in out
    assert (tmp_path / "demo" / "sample-qr.png").stat().st_size > 1000
    assert "已停止" in out
