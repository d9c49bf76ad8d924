"""The nonces of accepted node requests, remembered until their signatures could no longer be accepted.

Why in the node's database and not in memory: `huren serve` runs several worker processes (and a
province may run several API hosts on one database). A request replayed to another worker than
the first would pass a per-process cache; a row in the shared database is seen by all. The
cost is one INSERT per accepted node request — node-to-node traffic is a reference fetch or a
use report per verification at most, far below what the database already does per verification
(the verification log).

Why the table stays small: a nonce need only be remembered while a signature carrying it could
still be accepted — until `max(expires, created + max age) + clock skew`. After that the checker
refuses the replay as too old or expired without asking the cache, so the row is deleted (at
most every `PURGE_INTERVAL_S`, by whichever request comes next). At a 60 s validity the table
holds about one minute of node requests.

A nonce is remembered per signing region: two regions that happen to pick the same nonce do not
collide, and one region cannot use up another's nonces.

The INSERT … ON CONFLICT DO NOTHING is atomic in both SQLite and PostgreSQL, so of two
concurrent deliveries of one signed request exactly one is accepted.
"""

from __future__ import annotations

import threading

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from federation.refusals import Replayed

metadata = MetaData()
seen_nonces = Table(
    "fed_request_nonces", metadata,
    Column("signer_region", Integer, primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("forget_after", Float, nullable=False),
    Index("ix_fed_request_nonces_forget_after", "forget_after"),
)

PURGE_INTERVAL_S = 30.0


class NonceCache:
    """Remembers accepted nonces in the node database (`fed_request_nonces`, migrations 0005)."""

    def __init__(self, engine: Engine, purge_interval_s: float = PURGE_INTERVAL_S) -> None:
        self.engine = engine
        self.purge_interval_s = purge_interval_s
        self._last_purge = float("-inf")
        self._lock = threading.Lock()
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    def remember(self, signer_region: int, nonce: str, forget_after: float, now: float) -> None:
        """Record `nonce` as used by `signer_region`; raise `Replayed` if it was already used."""
        self._purge_if_due(now)
        statement = self._insert(seen_nonces).values(
            signer_region=signer_region, nonce=nonce, forget_after=forget_after).on_conflict_do_nothing()
        with self.engine.begin() as c:
            inserted = c.execute(statement).rowcount
        if inserted != 1:
            raise Replayed(f"该请求已被接受过一次，不能重放 (request replayed: nonce already used by {signer_region})")

    def _purge_if_due(self, now: float) -> None:
        with self._lock:
            if now - self._last_purge < self.purge_interval_s:
                return
            self._last_purge = now
        with self.engine.begin() as c:
            c.execute(delete(seen_nonces).where(seen_nonces.c.forget_after < now))
