"""Run a coroutine to completion in a new event loop on a thread of its own.

Why not `asyncio.run` in the test itself: in a whole-suite run the browser tests' Playwright
(sync API) leaves an event loop running in the main thread, and `asyncio.run` refuses to start
a second one there. A fresh thread has no loop, whatever ran before.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


def run_in_fresh_loop(coroutine: Coroutine[Any, Any, _T], timeout: float = 120.0) -> _T:
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(coroutine))
        except BaseException as exc:  # handed to the test's thread below
            failure.append(exc)

    thread = threading.Thread(target=target, name="fresh-loop")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"the coroutine did not finish within {timeout} s")
    if failure:
        raise failure[0]
    return outcome[0]
