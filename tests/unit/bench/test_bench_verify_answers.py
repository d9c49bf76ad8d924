"""bench/verify.py prints a throughput only when the answers were verdicts (its refusal rule).

The load tools' counting over a real server: tests/e2e/test_e2e_bench_fallback.py.
"""

from __future__ import annotations

from bench.verify import MIN_VERDICT_SHARE, refusal


def test_a_run_answered_with_verdicts_may_print_its_figure():
    assert refusal({"200": 9_900, "400": 100}, verdicts=10_000, errors=0) is None


def test_redirects_counted_as_verifications_are_refused():
    """The old httpx fallback's run: every answer a 307 to /v1/verify, reported as 650 verifications/s."""
    reason = refusal({"307": 19_487}, verdicts=0, errors=0)
    assert reason is not None and "0 of 19487" in reason and "307" in reason


def test_a_run_the_rate_limit_answered_in_part_is_refused():
    reason = refusal({"200": 8_000, "429": 2_000}, verdicts=8_000, errors=0)
    assert reason is not None and "429" in reason


def test_a_400_without_a_verdict_is_not_a_verification():
    assert refusal({"200": 5_000, "400": 5_000}, verdicts=5_000, errors=0) is not None


def test_requests_without_an_answer_count_against_the_run():
    assert refusal({"200": 990}, verdicts=990, errors=10) is not None


def test_the_required_share_tolerates_a_stray_failure_in_ten_thousand():
    assert MIN_VERDICT_SHARE == 0.999
    assert refusal({"200": 9_999}, verdicts=9_999, errors=1) is None
    assert refusal({"200": 9_980, "502": 20}, verdicts=9_980, errors=0) is not None


def test_a_run_without_any_answer_is_refused():
    assert refusal({}, verdicts=0, errors=0) == "no request was answered"
    assert refusal({}, verdicts=0, errors=12) is not None
