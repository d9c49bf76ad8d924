"""`huren serve`'s PROMETHEUS_MULTIPROC_DIR: a private directory for several workers, the operator's
when given, none for one worker (the processes themselves: tests/e2e/test_e2e_metrics_workers.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from api.cli import metrics_dir_for


def _tmpdir(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Temporary directories under `path` (tempfile caches TMPDIR on first use)."""
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", None)


def test_several_workers_get_a_fresh_private_directory_removed_on_exit(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    _tmpdir(monkeypatch, tmp_path)
    with metrics_dir_for(2) as path:
        assert path is not None and os.environ["PROMETHEUS_MULTIPROC_DIR"] == path
        assert Path(path).parent == tmp_path and not any(Path(path).iterdir())
        assert Path(path).stat().st_mode & 0o777 == 0o700
        (Path(path) / "counter_1.db").write_bytes(b"x")  # the workers' files go with it
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert list(tmp_path.iterdir()) == []


def test_the_private_directory_is_removed_when_the_server_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    _tmpdir(monkeypatch, tmp_path)
    with pytest.raises(SystemExit), metrics_dir_for(3):
        raise SystemExit(1)  # uvicorn exits this way when the port is taken
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ and list(tmp_path.iterdir()) == []


def test_an_operator_directory_is_used_and_left_in_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    given = tmp_path / "huren-metrics"
    given.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(given))
    with metrics_dir_for(4) as path:
        assert path == str(given)
        (given / "counter_1.db").write_bytes(b"x")
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(given)
    assert (given / "counter_1.db").exists()


def test_one_worker_needs_no_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    _tmpdir(monkeypatch, tmp_path)
    with metrics_dir_for(1) as path:
        assert path is None and "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert list(tmp_path.iterdir()) == []
