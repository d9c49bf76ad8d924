"""Database leases: which process may send from a key, so N API workers send from it one at a time.

Why: `huren serve --workers N` runs N processes, and each would otherwise run the same
background senders (a department's anchoring worker, the verification log's anchorer) with
the same key. The outbox's compare-and-set keeps that *correct*, but N processes signing with
one key compete for its nonces (refused sends, retries, wasted gas estimates) and all poll.
A lease elects one of them; the others stand by and take over when it stops (at once: a
clean stop releases) or dies (after `ttl_s`, when its last renewal runs out).

- `LeaseTable`: the rows, one per lease name (`anchor:<credit code>`, `vlog-anchor:<address>`),
  over SQLAlchemy Core, SQLite and PostgreSQL. Expiry is judged by the *database's* clock, so
  API hosts with drifting clocks still agree on when a lease ran out.
- `SendingLease`: one named lease held on behalf of one `TxSender`. It renews at most every
  `renew_s` (a poll loop may call `hold()` every 0.1 s without writing every time), and each
  time it is newly acquired it makes the sender forget the nonce it expected next: while
  another process held the lease, that process sent from the same key. (The sender reads the
  chain's pending nonce on every send anyway, ledger/sender.py; this only keeps it from
  logging the hand-over as a jump.)

The lease is an optimisation of who works, never the safety net: a process paused longer than
the ttl may briefly work beside its successor, and the outbox's compare-and-set and the
contract's refusal of a second anchor still hold then.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    and_,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

import migrations

if TYPE_CHECKING:
    from ledger.sender import TxSender

__all__ = ["Grant", "LeaseTable", "LeaseTerms", "SendingLease", "lease_table", "new_holder_id"]

log = logging.getLogger("huren.ledger.lease")

metadata = MetaData()
#: One row per lease: who holds it and until when (milliseconds since the epoch, database clock).
lease_table = Table(
    "huren_leases", metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("until_ms", BigInteger, nullable=False),
)  # fmt: skip



def new_holder_id() -> str:
    """A holder id unique across hosts, processes and lease objects: hostname:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[:128]


class Grant(Enum):
    """What an attempt to take a lease got."""

    REFUSED = "refused"  # another holder's lease has not run out
    ACQUIRED = "acquired"  # newly ours: someone else may have held it since we last did
    RENEWED = "renewed"  # ours before, still ours, extended


def _now_ms(c: Connection) -> ColumnElement[Any]:
    """The database's clock in milliseconds since the epoch (the same clock for every host)."""
    dialect = c.dialect.name
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", func.clock_timestamp()) * 1000), BigInteger)
    if dialect == "sqlite":
        return cast((func.julianday("now") - 2440587.5) * 86_400_000.0, BigInteger)
    return literal(int(time.time() * 1000), BigInteger)


class LeaseTable:
    """Named leases in one database. Thread-safe (one connection per call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrations.upgrade(engine)  # the table is the API database's (migrations/versions)

    def acquire(self, name: str, holder: str, ttl_s: float) -> Grant:
        """Hold `name` for `ttl_s` seconds from now if it is free, run out, or already ours."""
        ttl_ms = max(1, int(ttl_s * 1000))
        t = lease_table
        with self.engine.begin() as c:
            now = _now_ms(c)
            renewed = c.execute(update(t).where(and_(t.c.name == name, t.c.holder == holder, t.c.until_ms >= now))
                                .values(until_ms=now + ttl_ms))
            if renewed.rowcount == 1:
                return Grant.RENEWED
            # Run out (ours or another's), or released (until_ms = 0): take it over.
            taken = c.execute(update(t).where(and_(t.c.name == name, t.c.until_ms < now))
                              .values(holder=holder, until_ms=now + ttl_ms))
            if taken.rowcount == 1:
                return Grant.ACQUIRED
            if self._insert(c, name, holder, now + ttl_ms):
                return Grant.ACQUIRED
        return Grant.REFUSED

    @staticmethod
    def _insert(c: Connection, name: str, holder: str, until: ColumnElement[Any]) -> bool:
        """Create the lease row held by `holder`; False if another process created it first."""
        values = {"name": name, "holder": holder, "until_ms": until}
        # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING here.
        if c.dialect.name == "postgresql":
            stmt = pg_insert(lease_table).values(**values).on_conflict_do_nothing()
            return c.execute(stmt.returning(lease_table.c.name)).first() is not None
        if c.dialect.name == "sqlite":
            stmt = sqlite_insert(lease_table).values(**values).on_conflict_do_nothing()
            return c.execute(stmt.returning(lease_table.c.name)).first() is not None
        try:
            with c.begin_nested():
                c.execute(insert(lease_table).values(**values))
        except IntegrityError:
            return False
        return True

    def take(self, name: str, holder: str, ttl_s: float) -> bool:
        """Hold or renew `name` for `ttl_s` seconds; False while another holder's lease runs."""
        return self.acquire(name, holder, ttl_s) is not Grant.REFUSED

    def release(self, name: str, holder: str) -> None:
        """Give the lease up now (if `holder` has it), so a standby takes it without waiting for the ttl."""
        with self.engine.begin() as c:
            c.execute(update(lease_table).where(and_(lease_table.c.name == name, lease_table.c.holder == holder))
                      .values(until_ms=0))

    def holder(self, name: str) -> str | None:
        """Who holds `name` now (None if nobody: never taken, released or run out)."""
        with self.engine.connect() as c:
            row = c.execute(select(lease_table.c.holder).where(
                and_(lease_table.c.name == name, lease_table.c.until_ms >= _now_ms(c)))).first()
        return None if row is None else str(row.holder)


@dataclass(frozen=True)
class LeaseTerms:
    """How long a lease lasts without renewal, and how often the holder renews it.

    The ttl bounds how long the work stops when the holder dies (a clean stop releases at
    once); it must exceed what one round of the holder's work can take, or a slow round
    lets a standby start beside it. A standby re-tries every `renew_s` as well.
    """

    ttl_s: float = 30.0
    renew_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.renew_s < self.ttl_s:
            raise ValueError("lease terms need 0 < renew_s < ttl_s")


class SendingLease:
    """The right to send from one key, held by at most one process: one named lease, one holder.

    `hold()` says whether this process may send now. On every fresh acquisition the sender
    forgets its nonce (see the module docstring). Thread-safe.
    """

    def __init__(self, table: LeaseTable, name: str, sender: TxSender, terms: LeaseTerms | None = None,
                 holder: str | None = None) -> None:
        self.table = table
        self.name = name
        self.sender = sender
        self.terms = terms or LeaseTerms()
        self.holder = holder or new_holder_id()
        self._lock = threading.Lock()
        self._held = False
        self._checked_at = float("-inf")  # monotonic time of the last attempt (before its DB call)
        self.acquisitions = 0  #: how often this process took the lease over (for status and tests)

    @property
    def held(self) -> bool:
        """Whether the last attempt got the lease (it may have run out since if renewals stopped)."""
        return self._held

    def due(self) -> bool:
        """Whether `hold()` would ask the database now (renewal or standby retry is due)."""
        return time.monotonic() - self._checked_at >= self.terms.renew_s

    def hold(self, *, force: bool = False) -> bool:
        """Renew (or try to take) the lease if due; True while this process holds it.

        Between renewals the answer comes from memory: it is at most `renew_s` old, and the
        lease still runs for `ttl_s - renew_s` after it.
        """
        with self._lock:
            if not force and not self.due():
                return self._held
            started = time.monotonic()
            try:
                grant = self.table.acquire(self.name, self.holder, self.terms.ttl_s)
            except Exception:
                # No database, no lease: stop working until a renewal succeeds (the work needs it too).
                self._held = False
                raise
            finally:
                self._checked_at = started
            if grant is Grant.ACQUIRED:
                self.sender.forget_nonce()
                self.acquisitions += 1
                log.info("lease %s acquired by %s; nonce of %s re-read before its next send", self.name,
                         self.holder, self.sender.address)
            elif grant is Grant.REFUSED and self._held:
                log.warning("lease %s lost by %s (not renewed within %.0f s); standing by", self.name,
                            self.holder, self.terms.ttl_s)
            self._held = grant is not Grant.REFUSED
            return self._held

    def release(self) -> None:
        """Give the lease up (on stop), so a standby takes over within its next retry."""
        with self._lock:
            self._held = False
            self._checked_at = float("-inf")
            self.table.release(self.name, self.holder)
