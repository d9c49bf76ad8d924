"""Is the database there and does it take writes? — for /readyz, and the answer when it does not.

Why a committed write: a database that answers SELECT can still refuse every request that
matters — a SQLite file opened read-only, a disk with no room left, a PostgreSQL standby or a
database set `default_transaction_read_only`. A write that is rolled back proves nothing on
SQLite (nothing reaches the file), so the probe commits an UPSERT of one heartbeat row per
host, with a random 16 KiB pad: the new row's pages must be found (free pages or a growing
file) before the old ones are freed, so the commit proves room for that much, not only that
the lock could be taken. It runs at most once per `interval_s` per database; /readyz in
between answers from the last result, so a load balancer polling every second costs
nothing. A request that meets a fault marks the database not ready at once (`report`).

The heartbeat table is the probe's scratch row, not data: it is created by the probe when
missing (IF NOT EXISTS, under the DDL lock), lies outside the migrated schema, and dropping
it is harmless.

`DatabaseFaultMiddleware` answers every API request (the fast lane's included) that met a
database fault with 503, `Retry-After` and the Chinese message of `common.dbfault`, through
`error_body` like every other refusal; pages answer with a Chinese page (api/pages/common.py).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.jsonbody import send_json
from common.dbfault import DatabaseUnavailable, database_fault
from ledger.store import lock_for_ddl

log = logging.getLogger("huren.api.database")

PROBE_INTERVAL_S = 5.0
PAD_BYTES = 16 * 1024

heartbeat_metadata = MetaData()
heartbeat = Table(
    "ops_heartbeat", heartbeat_metadata,
    Column("host", String(255), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("beat_at_ms", BigInteger, nullable=False),
    Column("pad", LargeBinary, nullable=False),
)


@dataclass(frozen=True)
class DatabaseCheck:
    """One database's state as last seen: `reason` says in Chinese what is wrong (None if ok)."""

    name: str
    ok: bool
    reason: str | None
    checked_at: float

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "reason": self.reason, "checked_at": round(self.checked_at, 1)}


class DatabaseHealth:
    """The readiness of the API's databases, probed by a committed write at most every `interval_s`."""

    def __init__(self, engines: Sequence[tuple[str, Engine]], interval_s: float = PROBE_INTERVAL_S,
                 pad_bytes: int = PAD_BYTES) -> None:
        self.engines = list(engines)
        self.interval_s = interval_s
        self.pad_bytes = pad_bytes
        self.probes = 0  # committed heartbeats attempted (for tests and curiosity)
        self._host = socket.gethostname()[:255]
        self._checks: dict[str, DatabaseCheck] = {}
        self._tables_made: set[str] = set()
        self._lock = threading.Lock()

    def status(self, now: float | None = None) -> list[DatabaseCheck]:
        """Every database's check, probing those whose last check is older than `interval_s`.

        One caller probes at a time; a caller arriving meanwhile waits for that probe's result
        rather than starting another (a probe is a few milliseconds, or the connect timeout).
        """
        with self._lock:
            now = time.time() if now is None else now
            out = []
            for name, engine in self.engines:
                check = self._checks.get(name)
                if check is None or now - check.checked_at >= self.interval_s:
                    check = self._checks[name] = self._probe(name, engine, now)
                out.append(check)
            return out

    def report(self, fault: DatabaseUnavailable, now: float | None = None) -> None:
        """A request met `fault` on the API database: not ready until the next probe says otherwise."""
        name = self.engines[0][0] if self.engines else "数据库"
        with self._lock:
            self._checks[name] = DatabaseCheck(name, False, fault.message, time.time() if now is None else now)

    def _probe(self, name: str, engine: Engine, now: float) -> DatabaseCheck:
        self.probes += 1
        try:
            self._beat(name, engine, now)
        except Exception as exc:  # every failure means not ready; the reason says which
            fault = database_fault(exc)
            reason = fault.message if fault is not None else f"数据库检查失败 (database check failed): {exc}"[:300]
            log.warning("%s not ready: %s", name, exc if fault is None else fault.detail)
            return DatabaseCheck(name, False, f"{name}：{reason}", now)
        return DatabaseCheck(name, True, None, now)

    def _beat(self, name: str, engine: Engine, now: float) -> None:
        if name not in self._tables_made:
            with engine.begin() as c:
                lock_for_ddl(c, "huren.ops_heartbeat")
                heartbeat.create(c, checkfirst=True)
            self._tables_made.add(name)
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        values = {"host": self._host, "pid": os.getpid(), "beat_at_ms": int(now * 1000),
                  "pad": os.urandom(self.pad_bytes)}
        statement = insert(heartbeat).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[heartbeat.c.host], set_={k: statement.excluded[k] for k in values if k != "host"})
        with engine.begin() as c:
            c.execute(statement)


def fault_headers(fault: DatabaseUnavailable) -> dict[str, str]:
    return {"Retry-After": str(fault.retry_after_s), "Cache-Control": "no-store"}


def note_fault(scope: Scope, fault: DatabaseUnavailable) -> None:
    """Log a request's database fault (one line, no traceback; repeats are counted, api.logrepeat)
    and tell the readiness probe."""
    log.warning("database unavailable on %s %s: %s", scope.get("method", ""), scope.get("path", ""), fault.detail)
    app = scope.get("app")
    health = getattr(getattr(getattr(app, "state", None), "runtime", None), "db_health", None)
    if isinstance(health, DatabaseHealth):
        health.report(fault)


class DatabaseFaultMiddleware:
    """ASGI middleware: a request that fails on a down, full or read-only database gets 503, not 500.

    Sits outside the verification fast lane (whose errors never reach FastAPI's handlers) and
    inside the security headers. Anything that is not a database fault passes through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            fault = database_fault(exc)
            if fault is None or started:
                raise
            if scope["path"].startswith("/pages/"):  # met before the page route ran (e.g. rate limits)
                from api.pages.common import database_fault_page  # the pages import this module

                await database_fault_page(Request(scope, receive), fault)(scope, receive, send)
                return
            note_fault(scope, fault)
            await send_json(send, 503, error_body("DATABASE_UNAVAILABLE", fault.message, fault.hint),
                            fault_headers(fault))
