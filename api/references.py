"""The short reference form (URL + one-time token) for scanners that cannot read a dense QR.

The wallet stores token -> presentation text; a verifier resolves the token once. Only a hash
of the token is stored, so a database reader cannot replay references; a token expires with
its presentation and is consumed by the first resolution.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, delete, insert, update
from sqlalchemy.engine import Engine

metadata = MetaData()
references = Table(
    "api_references", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("presentation", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
)


def _h(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ReferenceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def put(self, token: str, presentation: str, expires_at: int) -> None:
        with self.engine.begin() as c:
            c.execute(delete(references).where(references.c.expires_at < int(time.time()) - 3600))
            c.execute(insert(references).values(token_hash=_h(token), presentation=presentation,
                                                expires_at=expires_at))

    def take(self, token: str, now: int) -> tuple[str | None, str]:
        """(presentation, '') once; afterwards (None, why) — 'used', 'expired' or 'unknown'."""
        h = _h(token)
        with self.engine.begin() as c:
            # The conditional UPDATE is the one-time guarantee, also across workers.
            done = c.execute(update(references).where(references.c.token_hash == h,
                                                      references.c.used_at.is_(None),
                                                      references.c.expires_at >= now)
                             .values(used_at=now))
            row = c.execute(references.select().where(references.c.token_hash == h)).first()
        if row is None:
            return None, "unknown"
        if done.rowcount == 1:
            return row.presentation, ""
        return None, "used" if row.used_at is not None else "expired"
