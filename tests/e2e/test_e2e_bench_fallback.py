"""bench/verify.py's httpx load generator against a real API: it posts to /v1/verify itself (not a
redirect to it), counts the verdicts, and the benchmark's rule refuses a run the rate limiter
answered. One second of load each (the benchmark's figures are bench/verify.py's business)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.verify import refusal, run_httpx
from tests.e2e.stack import Stack


def _bodies(path: Path, token: str, lines: int = 16) -> Path:
    path.write_text("".join(f"{token}\t{json.dumps({'presentation': 'HR1:X'})}\n" for _ in range(lines)))
    return path


def test_the_fallback_counts_verdicts_from_the_verify_route(stack: Stack, tmp_path: Path):
    run = run_httpx(stack.base_url, _bodies(tmp_path / "bodies.tsv", stack.world.tokens["verifier-130000"]), 2, 1)
    assert set(run.statuses) == {"400"}  # every answer a MALFORMED verdict; no 307
    assert run.verdicts == run.statuses["400"] > 0 and run.errors == 0
    assert refusal(run.statuses, run.verdicts, run.errors) is None


def test_a_run_the_rate_limit_answered_gets_no_figure(stack: Stack, tmp_path: Path):
    _, token = stack.app.state.runtime.credentials.add("verifier", "一个窗口", region=130000,
                                                       rate_per_s=0.001, rate_burst=5)
    run = run_httpx(stack.base_url, _bodies(tmp_path / "bodies.tsv", token), 2, 1)
    assert run.verdicts == 5 and run.statuses["429"] > 0
    reason = refusal(run.statuses, run.verdicts, run.errors)
    assert reason is not None and "429" in reason
