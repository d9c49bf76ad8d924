"""Repeated identical warnings and errors are written once per interval, with a count.

Why: when a database or node goes away, every request, every worker loop and every pool
checkout fails the same way, and each wrote its own traceback — 13,534 ERROR/traceback lines
in 45 s when PostgreSQL was lost, which buries the one line an operator needs and can fill
the disk that the logs share with the database. The first occurrence of a message (same
logger, level, message template and exception type) is written in full; the repeats within
`interval_s` are counted, and the next occurrence after the interval is written with
"repeated N times" appended. Records below WARNING (access logs, progress) pass untouched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_DECIDED = "_huren_repeat_decision"  # set on a record once judged, so several handlers count it once
_MAX_KEYS = 4096


@dataclass
class _Seen:
    since: float
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """A handler filter: one record per (logger, level, template, exception type) per `interval_s`."""

    def __init__(self, interval_s: float = 10.0, min_level: int = logging.WARNING,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.min_level = min_level
        self.clock = clock
        self._seen: dict[tuple[str, int, str, str], _Seen] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        decided = getattr(record, _DECIDED, None)
        if decided is not None:
            return bool(decided)
        keep = self._judge(record)
        setattr(record, _DECIDED, keep)
        return keep

    def _judge(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level:
            return True
        exc_type = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, record.levelno, str(record.msg), exc_type)
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.since < self.interval_s:
                seen.suppressed += 1
                return False
            if len(self._seen) >= _MAX_KEYS:
                self._seen.clear()
            self._seen[key] = _Seen(now)
        if seen is not None and seen.suppressed:
            # `msg` may be a %-template with args: append without adding a placeholder
            record.msg = (f"{record.msg} [repeated {seen.suppressed} times in the previous "
                          f"{self.interval_s:g} s / 此前 {self.interval_s:g} 秒内重复 {seen.suppressed} 次]")
        return True


_installed: RepeatFilter | None = None


def install_repeat_filter(interval_s: float = 10.0) -> RepeatFilter:
    """Put one shared `RepeatFilter` on every handler that writes this process's warnings.

    The root logger's handlers (where huren.* and sqlalchemy.* propagate), uvicorn's (its
    "Exception in ASGI application"), and logging's last resort (used when nothing is
    configured, as under `huren serve`). Idempotent: the filter is added once per handler.
    """
    global _installed
    if _installed is None:
        _installed = RepeatFilter(interval_s)
    _installed.interval_s = interval_s
    handlers: list[logging.Handler] = []
    for name in (None, "uvicorn", "uvicorn.error"):
        handlers += logging.getLogger(name).handlers
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if _installed not in handler.filters:
            handler.addFilter(_installed)
    return _installed
