"""Named fault points for crash tests: a process told to dies at an exact place, like a power cut.

`HUREN_FAULT_POINT=<name>[:<n>]` makes the n-th (default first) pass of this process through
`fault_point(<name>)` SIGKILL the process itself — no clean-up, no flush, nothing after it
runs. Tests crash a real server between two named steps this way, not by timing. With
`HUREN_FAULT_ONCE=<path>` it fires only in the first process to create that file: a worker
that its supervisor restarts with the same environment does not die again at the same point.

Never set in production; when unset a fault point costs one environment lookup.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from typing import Final

__all__ = ["FAULT_ENV", "FAULT_ONCE_ENV", "fault_point"]

FAULT_ENV: Final[str] = "HUREN_FAULT_POINT"
FAULT_ONCE_ENV: Final[str] = "HUREN_FAULT_ONCE"

_passes: Counter[str] = Counter()
_lock = threading.Lock()


def fault_point(name: str) -> None:
    """SIGKILL this process here if `HUREN_FAULT_POINT` names this point and pass."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    with _lock:
        _passes[name] += 1
        if _passes[name] != (int(nth) if nth else 1):
            return
    once = os.environ.get(FAULT_ONCE_ENV)
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return
    os.kill(os.getpid(), signal.SIGKILL)
