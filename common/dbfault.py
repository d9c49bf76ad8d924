"""One typed failure for "the database cannot take this now": down, full or read-only.

Why one place: the drivers say the same three things in many ways — SQLAlchemy wraps them
(OperationalError, InternalError), the verification log's raw cursor raises sqlite3's and
psycopg's own classes, and a SQLite file says it in words ("database or disk is full",
"attempt to write a readonly database"). Every boundary (the API's answers, its pages,
/readyz) asks `database_fault(exc)` and gets a `DatabaseUnavailable` with a message a clerk
can act on, or None for anything else (a bug stays a bug: 500 and a traceback).

`watch_engine` makes a pool recover by itself: a connection that met one of these faults is
thrown away instead of reused, so a SQLite file opened read-only (or a PostgreSQL session in
a read-only default) is reopened once the operator has fixed the cause — no restart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from enum import StrEnum

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

try:  # psycopg is the PostgreSQL driver this project installs; SQLite-only installs lack it
    import psycopg
except ImportError:  # pragma: no cover
    psycopg = None  # type: ignore[assignment]

#: What a client is told to wait before retrying (seconds): about one readiness probe interval.
RETRY_AFTER_S = 5


class FaultKind(StrEnum):
    DOWN = "down"
    FULL = "full"
    READ_ONLY = "read_only"


_WORDS: dict[FaultKind, tuple[str, str, str]] = {
    FaultKind.DOWN: (
        "数据库暂时无法连接，本次操作没有完成",
        "database unavailable",
        "请稍后重试；如果持续出现，请联系运维人员检查数据库服务和网络。",
    ),
    FaultKind.FULL: (
        "数据库存储空间已满，本次操作没有完成",
        "database or disk full",
        "请稍后重试；运维人员需要清理或扩充数据库所在磁盘的空间。",
    ),
    FaultKind.READ_ONLY: (
        "数据库当前只读，无法保存，本次操作没有完成",
        "database is read-only",
        "请稍后重试；运维人员需要检查数据库文件的写权限或数据库服务器的只读设置。",
    ),
}


class DatabaseUnavailable(Exception):
    """The database is down, full or read-only: nothing was saved; retry after `retry_after_s`.

    `message` is the Chinese sentence with an English gloss, `hint` what to do, `detail` the
    driver's own words (for operators: logs and /readyz, never the public answer).
    """

    def __init__(self, kind: FaultKind, detail: str, retry_after_s: int = RETRY_AFTER_S) -> None:
        words, gloss, hint = _WORDS[kind]
        self.kind = kind
        self.detail = detail
        self.retry_after_s = retry_after_s
        self.message = f"{words} ({gloss})"
        self.hint = hint
        super().__init__(f"{self.message}: {detail}")


# SQLite primary result codes (the low byte of sqlite_errorcode)
_SQLITE_KINDS = {8: FaultKind.READ_ONLY, 10: FaultKind.DOWN, 13: FaultKind.FULL, 14: FaultKind.DOWN}
_SQLITE_WORDS = (("database or disk is full", FaultKind.FULL), ("readonly database", FaultKind.READ_ONLY),
                 ("unable to open database file", FaultKind.DOWN), ("disk i/o error", FaultKind.DOWN))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, what SQLAlchemy wrapped (`.orig`), and its causes, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 16:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, DBAPIError):
            orig = e.orig
            todo.append(orig if isinstance(orig, BaseException) else None)
        todo += [e.__cause__, e.__context__]


def _kind_of(e: BaseException) -> FaultKind | None:
    if isinstance(e, sqlite3.Error):
        code = getattr(e, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _SQLITE_KINDS:
            return _SQLITE_KINDS[code & 0xFF]
        text = str(e).lower()
        return next((kind for words, kind in _SQLITE_WORDS if words in text), None)
    if psycopg is not None and isinstance(e, psycopg.Error):
        state = e.sqlstate or ""
        if state == "25006":  # read_only_sql_transaction: a read-only default or a standby
            return FaultKind.READ_ONLY
        if state.startswith("53"):  # insufficient resources: disk full, out of memory, too many connections
            return FaultKind.FULL if state == "53100" else FaultKind.DOWN
        if state.startswith("08") or state in ("57P01", "57P02", "57P03"):  # connection lost; shut down
            return FaultKind.DOWN
        if isinstance(e, psycopg.OperationalError) and not state:  # the client lost or never had a connection
            return FaultKind.DOWN
        return None
    if isinstance(e, PoolTimeout):  # every pooled connection is stuck waiting for the server
        return FaultKind.DOWN
    return None


def database_fault(exc: BaseException) -> DatabaseUnavailable | None:
    """The `DatabaseUnavailable` that `exc` amounts to, or None if it is something else."""
    for e in _chain(exc):
        if isinstance(e, DatabaseUnavailable):
            return e
        kind = _kind_of(e)
        if kind is not None:
            return DatabaseUnavailable(kind, f"{type(e).__name__}: {e}".strip()[:300])
    return None


def watch_engine(engine: Engine) -> Engine:
    """Discard the pool's connections after a database fault, so they are reopened, not reused.

    A SQLite connection opened while the file was read-only stays read-only for its life, and
    a PostgreSQL session keeps the `default_transaction_read_only` it started with: reusing
    them would keep answering "read-only" after the operator fixed it. A memory database
    would be lost with its connection, so it is left alone.
    """
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return engine

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if database_fault(context.original_exception) is not None:
            context.is_disconnect = True

    return engine
