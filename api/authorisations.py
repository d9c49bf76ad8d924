"""授权用证 on the issuing node: the holder's authorisations, kept by a hash of their token.

Rules and the code format are `federation.authorisation` (pure); this is their table. The one-time
guarantee is the conditional UPDATE in `mark_used` (also across workers), not the read before it;
a withdrawal is a conditional UPDATE too, so a used authorisation can never be "withdrawn" after the
fact and a withdrawn one never used. Rows are kept after use: they are the holder's record of what
was released to whom.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.engine import Engine

import migrations
from federation.authorisation import Authorisation

metadata = MetaData()
authorisations = Table(
    "api_authorisations", metadata,
    Column("id", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("holder_hash", String(64), nullable=False, index=True),
    Column("cert_id", String(160), nullable=False),
    Column("region", Integer, nullable=False),
    Column("department", String(18)),
    Column("fields", Text, nullable=False),  # JSON list of field paths
    Column("purpose", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
    Column("used_by_region", Integer),
    Column("used_by_key", String(80)),
    Column("withdrawn_at", BigInteger),
)


def token_hash(token: str) -> str:
    """The stored form of a canonical token (federation.authorisation.canonical_token)."""
    return hashlib.sha256(("huren-authorisation:" + token).encode()).hexdigest()


def _row(r: object) -> Authorisation:
    return Authorisation(
        id=r.id, holder_hash=r.holder_hash, cert_id=r.cert_id, region=r.region,  # type: ignore[attr-defined]
        department=r.department, fields=tuple(json.loads(r.fields)), purpose=r.purpose,  # type: ignore[attr-defined]
        created_at=r.created_at, expires_at=r.expires_at, used_at=r.used_at,  # type: ignore[attr-defined]
        used_by_region=r.used_by_region, withdrawn_at=r.withdrawn_at)  # type: ignore[attr-defined]


@dataclass
class AuthorisationStore:
    engine: Engine

    def __post_init__(self) -> None:
        migrations.upgrade(self.engine)

    def add(self, token: str, *, holder_hash: str, cert_id: str, region: int, department: str | None,
            fields: list[str], purpose: str, now: int, expires_at: int) -> Authorisation:
        auth_id = secrets.token_hex(8)
        with self.engine.begin() as c:
            c.execute(insert(authorisations).values(
                id=auth_id, token_hash=token_hash(token), holder_hash=holder_hash, cert_id=cert_id, region=region,
                department=department, fields=json.dumps(fields, ensure_ascii=False), purpose=purpose,
                created_at=now, expires_at=expires_at))
        found = self.by_id(auth_id)
        assert found is not None
        return found

    def by_token(self, token: str) -> Authorisation | None:
        with self.engine.connect() as c:
            r = c.execute(select(authorisations).where(authorisations.c.token_hash == token_hash(token))).first()
        return None if r is None else _row(r)

    def by_id(self, auth_id: str) -> Authorisation | None:
        with self.engine.connect() as c:
            r = c.execute(select(authorisations).where(authorisations.c.id == auth_id)).first()
        return None if r is None else _row(r)

    def of_holder(self, holder_hash: str) -> list[Authorisation]:
        """A holder's authorisations, newest first."""
        query = (select(authorisations).where(authorisations.c.holder_hash == holder_hash)
                 .order_by(authorisations.c.created_at.desc(), authorisations.c.id))
        with self.engine.connect() as c:
            return [_row(r) for r in c.execute(query)]

    def mark_used(self, auth_id: str, now: int, peer: tuple[int, str]) -> bool:
        """Whether this call used it (False: used, withdrawn or expired meanwhile)."""
        with self.engine.begin() as c:
            done = c.execute(update(authorisations).where(
                authorisations.c.id == auth_id, authorisations.c.used_at.is_(None),
                authorisations.c.withdrawn_at.is_(None), authorisations.c.expires_at >= now,
            ).values(used_at=now, used_by_region=peer[0], used_by_key=peer[1]))
        return done.rowcount == 1

    def withdraw(self, holder_hash: str, auth_id: str, now: int) -> bool:
        """Whether the holder's unused, unwithdrawn authorisation was withdrawn now."""
        with self.engine.begin() as c:
            done = c.execute(update(authorisations).where(
                authorisations.c.id == auth_id, authorisations.c.holder_hash == holder_hash,
                authorisations.c.used_at.is_(None), authorisations.c.withdrawn_at.is_(None),
            ).values(withdrawn_at=now))
        return done.rowcount == 1
