"""Cookie sessions and CSRF tokens for the web pages.

Why server-side sessions (a table next to the credentials) rather than a signed cookie: a
clerk's or officer's sign-out must end the session everywhere at once, and a stolen cookie
must be useless after sign-out; with a row per session both are a DELETE. The cookie holds
only a random session id; the table stores its SHA-256, so a database reader cannot replay
sessions. The bearer token typed at sign-in is checked once and never stored or echoed.

CSRF: every form carries a token. Signed-in visitors get the session's own token
(synchroniser token pattern); anonymous visitors (sign-in form, public registry, the
large-text toggle) get a random token in an HttpOnly cookie that the form must repeat
(double submit). Both cookies are SameSite=Strict, which already keeps other sites' forms
from carrying them; the token is the second lock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, MetaData, String, Table, delete, insert, select
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import Response

import migrations
from api.credentials import Credential, credential_from_row
from api.credentials import credentials as credentials_table

SESSION_COOKIE = "huren_session"
ANON_CSRF_COOKIE = "huren_csrf"
ELDER_COOKIE = "huren_elder"
SESSION_TTL_S = 8 * 3600  # one working day at a service window
IDLE_TTL_S = 60 * 60  # an abandoned counter PC signs itself out after an hour

metadata = MetaData()
page_sessions = Table(
    "page_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("credential_id", String(32), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class PageSession:
    """A signed-in visitor: the credential it acts with and the CSRF token of its forms."""

    credential: Credential
    csrf: str


class SessionStore:
    """Sessions in the API's database (shared by every worker process)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrations.upgrade(engine)

    def create(self, credential: Credential, now: int | None = None) -> str:
        """A new session for `credential`; returns the cookie value (shown to the browser only)."""
        now = int(time.time()) if now is None else now
        sid = secrets.token_urlsafe(32)
        with self.engine.begin() as c:
            c.execute(delete(page_sessions).where(page_sessions.c.expires_at < now))
            c.execute(insert(page_sessions).values(id_hash=_h(sid), credential_id=credential.id,
                                                   csrf=secrets.token_urlsafe(32), created_at=now,
                                                   last_seen=now, expires_at=now + SESSION_TTL_S))
        return sid

    def lookup(self, sid: str, now: int | None = None) -> PageSession | None:
        """The live session for a cookie value, or None (unknown, expired, idle, credential disabled)."""
        now = int(time.time()) if now is None else now
        with self.engine.begin() as c:
            row = c.execute(select(page_sessions).where(page_sessions.c.id_hash == _h(sid))).first()
            if row is None:
                return None
            if row.expires_at < now or row.last_seen + IDLE_TTL_S < now:
                c.execute(delete(page_sessions).where(page_sessions.c.id_hash == row.id_hash))
                return None
            cred_row = c.execute(select(credentials_table).where(credentials_table.c.id == row.credential_id)).first()
            if cred_row is None or cred_row.disabled:
                c.execute(delete(page_sessions).where(page_sessions.c.id_hash == row.id_hash))
                return None
            if now - row.last_seen >= 60:  # touch at most once a minute: fewer writes
                c.execute(page_sessions.update().where(page_sessions.c.id_hash == row.id_hash).values(last_seen=now))
        return PageSession(credential_from_row(cred_row), row.csrf)

    def end(self, sid: str) -> None:
        with self.engine.begin() as c:
            c.execute(delete(page_sessions).where(page_sessions.c.id_hash == _h(sid)))


def sessions(request: Request) -> SessionStore:
    """The process's session store, created on first use (the table lives in the API database)."""
    rt = request.app.state.runtime
    store = rt.extras.get("page_sessions")
    if store is None:
        store = SessionStore(rt.db_engine)
        rt.extras["page_sessions"] = store
    return store  # type: ignore[no-any-return]


def current_session(request: Request) -> PageSession | None:
    """The visitor's session (cached on the request)."""
    if hasattr(request.state, "page_session"):
        return request.state.page_session  # type: ignore[no-any-return]
    sid = request.cookies.get(SESSION_COOKIE)
    found = sessions(request).lookup(sid) if sid else None
    request.state.page_session = found
    return found


def csrf_token(request: Request) -> str:
    """The token this visitor's forms must carry (session token, else the anonymous cookie's)."""
    session = current_session(request)
    if session is not None:
        return session.csrf
    token = getattr(request.state, "anon_csrf", None) or request.cookies.get(ANON_CSRF_COOKIE)
    if not token or len(token) < 32:
        token = secrets.token_urlsafe(32)
    request.state.anon_csrf = token
    return token


def csrf_valid(request: Request, submitted: str | None) -> bool:
    """Does the submitted token match this visitor's? Constant-time comparison."""
    if not submitted:
        return False
    session = current_session(request)
    expected = session.csrf if session is not None else request.cookies.get(ANON_CSRF_COOKIE)
    return bool(expected) and hmac.compare_digest(expected.encode(), submitted.encode())  # type: ignore[union-attr]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookies(request: Request, response: Response) -> None:
    """Persist the anonymous CSRF cookie when a page handed one out."""
    token = getattr(request.state, "anon_csrf", None)
    if token and request.cookies.get(ANON_CSRF_COOKIE) != token:
        response.set_cookie(ANON_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                            path="/")


def set_session_cookie(request: Request, response: Response, sid: str) -> None:
    response.set_cookie(SESSION_COOKIE, sid, max_age=SESSION_TTL_S, httponly=True, samesite="strict",
                        secure=_secure(request), path="/")


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))


def elder_mode(request: Request) -> bool:
    return request.cookies.get(ELDER_COOKIE) == "1"


def set_elder_cookie(request: Request, response: Response, on: bool) -> None:
    """长辈模式 is a display preference of this browser: one year, kept across pages and sign-ins."""
    response.set_cookie(ELDER_COOKIE, "1" if on else "0", max_age=365 * 86400, httponly=True, samesite="strict",
                        secure=_secure(request), path="/")
