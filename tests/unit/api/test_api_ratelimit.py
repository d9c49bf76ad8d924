"""The rate limiter's buckets (GCRA in a memory map) and limits, with the clock given explicitly.

The limiter on every path over real HTTP, and across two real worker processes:
tests/e2e/test_e2e_rate_limits.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.credentials import Credential
from api.ratelimit import FILE_NAME, BucketTable, Limit, RateLimiter, parse_limit, retry_after
from api.settings import Settings

WINDOW = Limit(2.0, 10)
T0 = 1000.0


@pytest.fixture
def table() -> BucketTable:
    return BucketTable()


def _passes(table: BucketTable, key: str, limit: Limit, n: int, now: float = T0) -> int:
    return sum(table.take(key, limit, now=now) == 0.0 for _ in range(n))


def test_a_burst_passes_at_once_and_the_next_request_is_refused(table: BucketTable):
    assert _passes(table, "c:a", WINDOW, 10) == 10
    assert table.take("c:a", WINDOW, now=T0) > 0


def test_a_refusal_says_how_long_until_the_next_request_passes(table: BucketTable):
    _passes(table, "c:a", WINDOW, 10)
    assert table.take("c:a", WINDOW, now=T0) == pytest.approx(0.5)
    assert table.take("c:a", WINDOW, now=T0 + 0.2) == pytest.approx(0.3)
    assert table.take("c:a", WINDOW, now=T0 + 0.5) == 0.0


def test_the_bucket_refills_at_the_sustained_rate(table: BucketTable):
    _passes(table, "c:a", WINDOW, 10)
    assert _passes(table, "c:a", WINDOW, 10, now=T0 + 3.0) == 6  # 3 s at 2/s
    assert _passes(table, "c:a", WINDOW, 20, now=T0 + 100.0) == 10  # never more than the burst


def test_refused_requests_take_nothing(table: BucketTable):
    _passes(table, "c:a", WINDOW, 10)
    for _ in range(50):
        table.take("c:a", WINDOW, now=T0 + 0.1)
    assert table.take("c:a", WINDOW, now=T0 + 0.5) == 0.0


def test_keys_have_buckets_of_their_own(table: BucketTable):
    _passes(table, "c:a", WINDOW, 10)
    assert _passes(table, "c:b", WINDOW, 10) == 10


def test_a_look_without_charge_takes_nothing(table: BucketTable):
    one = Limit(0.001, 1)
    for _ in range(5):
        assert table.take("s:client", one, charge=False, now=T0) == 0.0
    assert table.take("s:client", one, now=T0) == 0.0
    assert table.take("s:client", one, charge=False, now=T0) > 0


def test_two_tables_on_one_file_share_their_buckets(tmp_path: Path):
    """Two worker processes map the same file (the processes themselves: the e2e test)."""
    first, second = BucketTable(tmp_path), BucketTable(tmp_path)
    try:
        assert _passes(first, "c:a", WINDOW, 6) == 6
        assert _passes(second, "c:a", WINDOW, 10) == 4
        assert (tmp_path / FILE_NAME).stat().st_mode & 0o777 == 0o600
    finally:
        first.close()
        second.close()


def test_a_time_from_a_previous_boot_is_not_held_against_a_key(tmp_path: Path):
    """The file may outlive a reboot (an operator's directory); monotonic time starts again at 0."""
    before = BucketTable(tmp_path)
    _passes(before, "c:a", WINDOW, 10, now=1e7)
    before.close()
    after = BucketTable(tmp_path)
    try:
        assert _passes(after, "c:a", WINDOW, 10, now=5.0) == 10
    finally:
        after.close()


def test_a_crowded_table_still_answers_every_key(table: BucketTable):
    """More live keys than slots: a key may lose its history (a fresh burst), never be refused unfairly."""
    small = BucketTable(slots=8)
    strict = Limit(0.001, 1)
    for i in range(100):
        assert small.take(f"c:{i}", strict, now=T0) == 0.0


def test_a_slot_whose_bucket_refilled_is_reused_without_losing_live_keys():
    small = BucketTable(slots=4)
    strict = Limit(1.0, 1)
    for i in range(4):
        small.take(f"c:old{i}", strict, now=T0)  # full again after 1 s
    small.take("c:live", Limit(0.001, 1), now=T0 + 5)
    for i in range(3):
        small.take(f"c:new{i}", strict, now=T0 + 5)
    assert small.take("c:live", Limit(0.001, 1), now=T0 + 5) > 0


@pytest.mark.parametrize(("text", "limit"), [("2/10", Limit(2.0, 10)), ("0.5/3", Limit(0.5, 3)),
                                             ("20", Limit(20.0, 21)), ("1", Limit(1.0, 10))])
def test_a_rate_is_written_rate_slash_burst(text: str, limit: Limit):
    assert parse_limit(text, default_burst=10) == limit


@pytest.mark.parametrize("text", ["", "fast", "2/", "/10", "-1/10", "0/10", "2/0", "1e9999"])
def test_a_rate_that_is_not_one_is_refused_with_the_expected_form(text: str):
    with pytest.raises(ValueError, match=r"RATE|rate|burst"):
        parse_limit(text, default_burst=10)


def test_a_credential_without_its_own_rate_gets_one_service_windows_default():
    settings = Settings()
    assert (settings.rate_per_s, settings.rate_burst) == (2.0, 10)
    limiter = RateLimiter(BucketTable(), Limit(settings.rate_per_s, settings.rate_burst), Limit(0.1, 10))
    window = Credential("a", "verifier", "1 号窗口", region=130000)
    system = Credential("b", "department", "系统对接", credit_code="x", rate_per_s=50.0, rate_burst=200)
    assert limiter.limit_of(window) == Limit(2.0, 10)
    assert limiter.limit_of(system) == Limit(50.0, 200)


def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one():
    assert [retry_after(w) for w in (0.01, 0.5, 1.0, 1.2, 9.99)] == ["1", "1", "1", "2", "10"]
