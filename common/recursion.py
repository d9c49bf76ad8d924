"""The process's recursion limit: Python's own default, restored after imports, checked at start-up.

Why this module exists: py_ecc (imported by the Ethereum libraries) raises the limit to 100,000
when it is imported. C code that recurses once per nesting level — the standard library's JSON
parser, cbor2's decoder, `repr` of nested containers — counts its depth against this limit, so
at 100,000 it no longer stops with a RecursionError: it overflows the C stack first. One
request of about 200 kB (`[[[[...]]]]`, 100,000 deep) ended the whole API process with a
segmentation fault (issue 13). At 1,000 levels every such parser stops with an exception,
far below what the C stack of any thread holds.

Every entry point calls `restore_recursion_limit()` once its imports are done (create_app, the
command-line groups) and the API checks it again when it has started (`check_recursion_limit`).
The known offenders are imported here first, so a later import of them changes nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Final

__all__ = ["SAFE_RECURSION_LIMIT", "RecursionLimitRaised", "check_recursion_limit", "restore_recursion_limit"]

#: CPython's default: what the interpreter and its C extensions are built and tested against.
SAFE_RECURSION_LIMIT: Final[int] = 1000
#: Modules known to raise the limit when first imported.
_RAISERS: Final[tuple[str, ...]] = ("py_ecc",)


class RecursionLimitRaised(RuntimeError):
    """Something imported after start-up raised the recursion limit again."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"recursion limit is {limit}, above the safe {SAFE_RECURSION_LIMIT}: a module imported after "
            "restore_recursion_limit() raised it (find it with `python -X importtime`, add it to "
            "common.recursion._RAISERS); deeply nested input could now crash the process")
        self.limit = limit


def restore_recursion_limit() -> None:
    """Import the known offenders (their import raises the limit once), then set the safe limit."""
    for name in _RAISERS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    if sys.getrecursionlimit() != SAFE_RECURSION_LIMIT:  # not again when already safe: another thread may be
        sys.setrecursionlimit(SAFE_RECURSION_LIMIT)     # compiling (CPython's AST check then saw a "mismatch")


def check_recursion_limit() -> None:
    """RecursionLimitRaised if the limit is above the safe one (a start-up check, not a repair)."""
    limit = sys.getrecursionlimit()
    if limit > SAFE_RECURSION_LIMIT:
        raise RecursionLimitRaised(limit)
