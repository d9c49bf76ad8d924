"""API credentials: who is calling, in which role, and for which scope.

A credential is a random bearer token shown once at creation; only its SHA-256 is stored.
Its scope is what the caller may touch, and the API takes scope from the credential, never
from the request body: a department token acts only for its own issuer id, a verifier token
only for its own region (the region whose recognition policy applies), a holder token only
for certificates whose holder id hash matches.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine, Row

import migrations
from issuers.store import holder_hash  # the holder scope is the wallet's key

Role = Literal["department", "verifier", "holder", "officer"]
ROLES: tuple[Role, ...] = ("department", "verifier", "holder", "officer")
CACHE_TTL_S = 30.0

metadata = MetaData()
credentials = Table(
    "api_credentials", metadata,
    Column("id", String(32), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("region", Integer),
    Column("credit_code", String(18)),
    Column("holder_hash", String(64)),
    Column("officer_address", String(42)),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    # This credential's own rate limit (api/ratelimit.py); NULL: the service-wide default (revision 0003).
    Column("rate_per_s", Float),
    Column("rate_burst", Integer),
)


@dataclass(frozen=True)
class Credential:
    id: str
    role: Role
    name: str
    region: int | None = None
    credit_code: str | None = None  # department scope
    holder_hash: str | None = None  # holder scope: sha256 of the holder's id number
    officer_address: str | None = None
    rate_per_s: float | None = None  # own rate limit; None: the service's default for credentials
    rate_burst: int | None = None


def credential_from_row(row: Row[Any]) -> Credential:
    """A credential from its api_credentials row (the pages' session lookup reads the same table)."""
    return Credential(row.id, row.role, row.name, row.region, row.credit_code, row.holder_hash,
                      row.officer_address, row.rate_per_s, row.rate_burst)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CredentialStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrations.upgrade(engine)
        # Lookups are cached briefly: a disabled credential stops working within CACHE_TTL_S in
        # every worker process (each has its own cache), without a database read per request.
        self._cache: dict[str, tuple[float, Credential | None]] = {}

    def add(self, role: Role, name: str, *, region: int | None = None, credit_code: str | None = None,
            holder_id_number: str | None = None, officer_address: str | None = None,
            token: str | None = None, rate_per_s: float | None = None,
            rate_burst: int | None = None) -> tuple[Credential, str]:
        """Create a credential; returns it with its token (shown once, never stored).

        `rate_per_s`/`rate_burst`: its own rate limit instead of the service's default (one
        service window's), for a credential that stands for more than one window.
        """
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if role in ("verifier", "officer") and region is None:
            raise ValueError(f"a {role} credential needs a region")
        if role == "department" and not credit_code:
            raise ValueError("a department credential needs the department's 统一社会信用代码")
        if role == "holder" and not holder_id_number:
            raise ValueError("a holder credential needs the holder's id number")
        if rate_per_s is not None and not 0 < rate_per_s < float("inf"):
            raise ValueError(f"a credential's rate must be a positive number of requests per second, got {rate_per_s}")
        if rate_burst is not None and rate_burst < 1:
            raise ValueError(f"a credential's burst must be at least 1, got {rate_burst}")
        token = token or "hr_" + secrets.token_urlsafe(24)
        cred = Credential(
            id=secrets.token_hex(8), role=role, name=name, region=region, credit_code=credit_code,
            holder_hash=holder_hash(holder_id_number) if holder_id_number else None,
            officer_address=officer_address, rate_per_s=rate_per_s, rate_burst=rate_burst,
        )
        with self.engine.begin() as c:
            c.execute(insert(credentials).values(
                id=cred.id, role=role, name=name, region=region, credit_code=credit_code,
                holder_hash=cred.holder_hash, officer_address=officer_address, token_hash=token_hash(token),
                created_at=int(time.time()), disabled=False, rate_per_s=rate_per_s, rate_burst=rate_burst))
        return cred, token

    def disable(self, credential_id: str) -> None:
        with self.engine.begin() as c:
            c.execute(update(credentials).where(credentials.c.id == credential_id).values(disabled=True))
        self._cache.clear()

    def lookup(self, token: str) -> Credential | None:
        h = token_hash(token)
        hit = self._cache.get(h)
        now = time.monotonic()
        if hit is not None and now - hit[0] < CACHE_TTL_S:
            return hit[1]
        with self.engine.connect() as c:
            row = c.execute(select(credentials).where(credentials.c.token_hash == h)).first()
        cred = None
        if row is not None and not row.disabled:
            cred = credential_from_row(row)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[h] = (now, cred)
        return cred

    def all(self) -> list[Credential]:
        with self.engine.connect() as c:
            rows = c.execute(select(credentials).where(credentials.c.disabled.is_(False))).all()
        return [credential_from_row(r) for r in rows]

