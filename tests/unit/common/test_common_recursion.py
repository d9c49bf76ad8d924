"""The recursion limit stays at the safe value once the API or a command line has started.

Each check runs in a fresh interpreter: the test process has imported whatever other tests
imported, so only a new process shows what the project's own imports do to the limit.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from common.recursion import SAFE_RECURSION_LIMIT, RecursionLimitRaised, check_recursion_limit

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("api", "common", "issuers", "ledger", "verifier", "bench")


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_dependencies_raise_the_limit_when_imported():
    """The premise: without the reset, importing the app leaves the limit at py_ecc's 100,000."""
    assert int(_fresh("import sys, api.app; print(sys.getrecursionlimit())")) > SAFE_RECURSION_LIMIT


def test_the_limit_is_safe_after_the_app_is_made_and_every_project_module_is_imported():
    """create_app restores it; importing every module of the project afterwards (what request
    handlers and commands import lazily) must not raise it again."""
    limit = _fresh(f"""
import importlib, pkgutil, sys
from api.app import create_app
from api.settings import Settings
create_app(Settings())
for package in {PACKAGES!r}:
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(module.name)
print(sys.getrecursionlimit())
""")
    assert int(limit) == SAFE_RECURSION_LIMIT


@pytest.mark.parametrize("command", [
    "from api.cli import main as cli; cli(['credentials', '--help'], standalone_mode=False)",
    "from ledger.cli import chain as cli; cli(['deploy', '--help'], standalone_mode=False)",
    "from issuers.cli import issuer as cli; cli(['outbox', '--help'], standalone_mode=False)",
], ids=["huren", "huren chain", "huren issuer"])
def test_every_command_line_starts_with_the_safe_limit(command):
    assert int(_fresh(f"import sys\n{command}\nprint(sys.getrecursionlimit())")) == SAFE_RECURSION_LIMIT


def test_the_start_up_check_refuses_a_raised_limit():
    before = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(100_000)
        with pytest.raises(RecursionLimitRaised, match="100000"):
            check_recursion_limit()
    finally:
        sys.setrecursionlimit(before)
