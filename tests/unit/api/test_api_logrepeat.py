"""A warning repeated word for word is written once per interval, then with the count of repeats."""

from __future__ import annotations

import logging

from api.logrepeat import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(msg: str = "database unavailable on %s: %s", level: int = logging.WARNING,
            args: tuple[object, ...] = ("/v1/verify", "refused"), exc: BaseException | None = None,
            name: str = "huren.api") -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)  # type: ignore[arg-type]


def test_repeats_within_the_interval_are_dropped():
    f = RepeatFilter(10, clock=Clock())
    assert f.filter(_record())
    assert not any(f.filter(_record(args=("/v1/certificates", "refused"))) for _ in range(1000))


def test_the_next_occurrence_after_the_interval_carries_the_count():
    clock = Clock()
    f = RepeatFilter(10, clock=clock)
    for _ in range(1 + 41):
        f.filter(_record())
    clock.now += 10
    later = _record()
    assert f.filter(later)
    assert "repeated 41 times" in later.getMessage() and "/v1/verify" in later.getMessage()


def test_different_exception_types_are_different_messages():
    f = RepeatFilter(10, clock=Clock())
    assert f.filter(_record(msg="step failed", args=(), exc=OSError("x")))
    assert f.filter(_record(msg="step failed", args=(), exc=ValueError("x")))
    assert not f.filter(_record(msg="step failed", args=(), exc=ValueError("y")))


def test_records_below_warning_always_pass():
    f = RepeatFilter(10, clock=Clock())
    assert all(f.filter(_record(msg="GET /readyz 200", args=(), level=logging.INFO)) for _ in range(5))


def test_a_record_seen_by_two_handlers_is_counted_once():
    clock = Clock()
    f = RepeatFilter(10, clock=clock)
    first = _record()
    assert f.filter(first) and f.filter(first)  # a second handler with the same filter: same decision
    second = _record()
    assert not f.filter(second) and not f.filter(second)
    clock.now += 10
    third = _record()
    assert f.filter(third) and "repeated 1 times" in third.getMessage()
