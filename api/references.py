"""The short reference form (a one-time token) for scanners that cannot read a dense QR.

The wallet stores token -> presentation text; a verifier resolves the token once. Only a hash
of the token is stored, so a database reader cannot replay references; a token expires with
its presentation and is consumed by the first resolution — by this node's own window, or by
another region's node fetching it by a signed request (api/routes/peers.py). A release to another
node is recorded (`api_reference_releases`: which region, which of its node keys, when) in the
transaction that consumes the token, so the record exists exactly when the release happened.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Engine

import migrations
from api.errors import ApiError

metadata = MetaData()
references = Table(
    "api_references", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("presentation", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
)
_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only
releases = Table(
    "api_reference_releases", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False),
    Column("peer_region", Integer, nullable=False),
    Column("peer_key_id", String(80), nullable=False),
    Column("released_at", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class Release:
    """A reference this node released to another region's node."""

    token_hash: str
    peer_region: int
    peer_key_id: str
    released_at: int


#: Why a token gives nothing, in words a clerk reads (the same on this node and when a peer relays it).
TAKE_REFUSALS = {"used": "该引用码已被使用过（一次性）", "expired": "该引用码已过期", "unknown": "没有这个引用码"}


def take_refused(why: str) -> ApiError:
    """The 404 for a token `ReferenceStore.take` did not give (why: 'used', 'expired', 'unknown')."""
    return ApiError(404, "REFERENCE_" + why.upper(), f"{TAKE_REFUSALS[why]} (reference {why})",
                    "请持证人刷新出示码后重新出示。")


def _h(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ReferenceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrations.upgrade(engine)

    def put(self, token: str, presentation: str, expires_at: int) -> None:
        with self.engine.begin() as c:
            c.execute(delete(references).where(references.c.expires_at < int(time.time()) - 3600))
            c.execute(insert(references).values(token_hash=_h(token), presentation=presentation,
                                                expires_at=expires_at))

    def take(self, token: str, now: int, peer: tuple[int, str] | None = None) -> tuple[str | None, str]:
        """(presentation, '') once; afterwards (None, why) — 'used', 'expired' or 'unknown'.

        `peer` (region, node key id) is the node a release goes to, recorded with the take.
        """
        h = _h(token)
        with self.engine.begin() as c:
            # The conditional UPDATE is the one-time guarantee, also across workers.
            done = c.execute(update(references).where(references.c.token_hash == h,
                                                      references.c.used_at.is_(None),
                                                      references.c.expires_at >= now)
                             .values(used_at=now))
            if done.rowcount == 1 and peer is not None:
                c.execute(insert(releases).values(token_hash=h, peer_region=peer[0], peer_key_id=peer[1],
                                                  released_at=now))
            row = c.execute(references.select().where(references.c.token_hash == h)).first()
        if row is None:
            return None, "unknown"
        if done.rowcount == 1:
            return row.presentation, ""
        return None, "used" if row.used_at is not None else "expired"

    def releases(self, token: str | None = None) -> list[Release]:
        """References released to other nodes (of one token, if given), oldest first."""
        query = select(releases).order_by(releases.c.id)
        if token is not None:
            query = query.where(releases.c.token_hash == _h(token))
        with self.engine.connect() as c:
            return [Release(r.token_hash, r.peer_region, r.peer_key_id, r.released_at) for r in c.execute(query)]
