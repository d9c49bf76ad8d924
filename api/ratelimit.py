"""Rate limits: one limiter, in one place, for every request that verifies, issues or signs in.

Why one middleware rather than a check in each route: the checks used to live in the bearer
dependency, the fast lane and the sign-in form, and the clerk page, which calls the verify
function directly, had none (eight page verifications passed where the API gave 429 after
three). Here every request is classified once, before any route or the fast lane sees it:

* `/v1/...` with a bearer token: one token of that credential's bucket (an unknown token is a
  failed sign-in of the client address, below);
* a POST of a signed-in page (`/pages/clerk/...`, `/pages/department/...`, `/pages/wallet/...`,
  `/pages/officer/...`): one token of the session's credential — the same bucket as its API calls;
* `POST /pages/signin`: refused while the client address has no failed sign-ins left; a failed
  one (any answer but the 303 into the pages) takes one. Successful sign-ins cost nothing, so a
  service hall behind one address signs in all morning, while guessing tokens stops after a few.

Why per host and not per worker process: `huren serve --workers N` runs N processes, and
buckets of their own would let a credential through N times as often. The buckets live in a
memory-mapped file that every worker of the host maps (`BucketTable`), each update made under
an `flock` of that file: the critical section is a few 16-byte slot reads and one write. A
charge costs 3.5–5.5 µs on the (shared, 2-core) build host, 1.5 µs of it the flock/unlock pair
(`python -m api.ratelimit` measures it), next to about 700 µs of engine and log work per
verification; the credential lookup it needs is the one the fast lane used to make itself.
The file sits in the directory of `HUREN_RATE_DIR`; `huren serve` with several workers points
that at the private directory it makes for the Prometheus multiprocess files. A single process
without a directory keeps its buckets in anonymous memory (same code, no file).

The algorithm is GCRA (a token bucket stored as one number per key, the "theoretical arrival
time"): a key's slot needs no refill arithmetic and a full bucket is just a time in the past,
so a slot whose time has passed can be reused by another key without losing anything. 65,536
slots hold far more live keys than a host serves; if the 32 slots a key may occupy are all
busy, the least constrained of them is taken over (that key gets a fresh burst) — a
degradation, never a refusal of an innocent key.

Default rates (api/settings.py): a verifier credential belongs to one service window, where a
clerk scans at most a code every few seconds, with a handful in a row after a queue forms —
2 per second sustained and a burst of 10 is several times what a window does and three orders
of magnitude below what one host serves, so a leaked token cannot saturate the API. A
province's throughput comes from its many windows, each with its own credential; a
credential that must go faster (a department's integration system) gets its own rate
(`huren credentials add --rate 20/100`). Failed sign-ins: a burst of 10, then one every 10 s.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import re
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.credentials import Credential
from api.errors import ApiError, error_body
from api.jsonbody import send_json

SLOTS = 1 << 16
PROBES = 32
_SLOT = struct.Struct("<Qd")  # key hash (0: never used), theoretical arrival time (monotonic seconds)
FILE_NAME = "ratelimit.buckets"
#: The scope key under which the middleware leaves the bearer request's credential for the fast
#: lane (api/fastlane.py), so the token is hashed and looked up once per request.
CREDENTIAL_KEY = "huren.credential"
SIGNIN_PATH = "/pages/signin"
#: Signed-in page areas whose POSTs act with the session's credential (verify, issue, present, propose).
CHARGED_PAGE_AREAS = ("/pages/clerk/", "/pages/department/", "/pages/wallet/", "/pages/officer/")


@dataclass(frozen=True)
class Limit:
    """A sustained rate and the number of requests that may come at once."""

    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.rate_per_s > 0 and self.rate_per_s < float("inf")):
            raise ValueError(f"the rate must be a positive number of requests per second, got {self.rate_per_s!r}")
        if self.burst < 1:
            raise ValueError(f"the burst must be at least 1 request, got {self.burst!r}")


_RATE_TEXT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*([0-9]+)\s*)?$")


def parse_limit(text: str, default_burst: int) -> Limit:
    """`"2"` or `"2/10"` (requests per second, optionally / burst) -> Limit; ValueError saying what is wrong."""
    match = _RATE_TEXT.match(text)
    if match is None:
        raise ValueError(f"rate {text!r} is not RATE or RATE/BURST (e.g. 2/10: two a second, ten at once)")
    rate = float(match.group(1))
    burst = int(match.group(2)) if match.group(2) else max(default_burst, int(rate) + 1)
    return Limit(rate, burst)


class BucketTable:
    """GCRA buckets in a memory map: a file shared by the worker processes of a host, or anonymous memory."""

    def __init__(self, directory: Path | None = None, slots: int = SLOTS) -> None:
        self.slots = slots
        self.path = None if directory is None else Path(directory) / FILE_NAME
        size = slots * _SLOT.size
        self._lock = threading.Lock()
        self._digests: dict[str, int] = {}
        self._fd: int | None = None
        if self.path is None:
            self._map = mmap.mmap(-1, size)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # workers start together: one of them sizes the file
        try:
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)  # zero-filled: every slot unused
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        self._fd = fd
        self._map = mmap.mmap(fd, size)

    def close(self) -> None:
        self._map.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def take(self, key: str, limit: Limit, *, charge: bool = True, now: float | None = None) -> float:
        """0.0 if a request of `key` may pass now (and, with `charge`, count it); else the seconds to wait."""
        digest = self._digests.get(key)
        if digest is None:  # a stable hash (Python's own differs between worker processes)
            digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") | 1
            if len(self._digests) >= 100_000:
                self._digests.clear()
            self._digests[key] = digest
        interval = 1.0 / limit.rate_per_s
        window = limit.burst * interval
        fd = self._fd
        # Plain acquire/release rather than context managers: this runs on every request.
        self._lock.acquire()  # threads of this process (flock does not exclude them: one open file)
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # the other worker processes of the host
            try:
                now = time.monotonic() if now is None else now
                index, tat = self._find(digest, now)
                if tat < now or tat > now + window:  # a full bucket; or a time from another boot or a lower limit
                    tat = now
                new_tat = tat + interval
                wait = new_tat - window - now
                if wait > 1e-9:
                    return wait
                if charge:
                    _SLOT.pack_into(self._map, index * _SLOT.size, digest, new_tat)
                return 0.0
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _find(self, digest: int, now: float) -> tuple[int, float]:
        """The slot of `digest` and its time; else a free slot (unused, or a full bucket) and `now`."""
        view, size, slots = self._map, _SLOT.size, self.slots
        start = digest % slots
        free = -1
        oldest, oldest_tat = start, float("inf")
        for probe in range(PROBES):
            index = (start + probe) % slots
            stored, tat = _SLOT.unpack_from(view, index * size)
            if stored == digest:
                return index, tat
            if stored == 0:  # never used: the key is not further along (slots never return to 0)
                return (index if free < 0 else free), now
            if free < 0 and tat <= now:
                free = index
            if tat < oldest_tat:
                oldest, oldest_tat = index, tat
        return (free if free >= 0 else oldest), now


class RateLimiter:
    """Which bucket a request takes from, with which limit."""

    def __init__(self, table: BucketTable, credential_default: Limit, signin: Limit) -> None:
        self.table = table
        self.credential_default = credential_default
        self.signin = signin

    def limit_of(self, cred: Credential) -> Limit:
        if cred.rate_per_s is None:
            return self.credential_default
        return Limit(cred.rate_per_s, cred.rate_burst or self.credential_default.burst)

    def credential_wait(self, cred: Credential) -> float:
        """Take one request from the credential's bucket: 0.0, or the seconds until one is allowed."""
        return self.table.take("c:" + cred.id, self.limit_of(cred))

    def signin_wait(self, client: str) -> float:
        """Seconds until the client address may try to sign in again (0.0: now); nothing is taken."""
        return self.table.take("s:" + client, self.signin, charge=False)

    def signin_failed(self, client: str) -> None:
        self.table.take("s:" + client, self.signin)


def retry_after(wait: float) -> str:
    return str(max(1, int(wait + 0.999)))


def rate_limited(wait: float) -> ApiError:
    """The API's 429 for a credential over its limit, `wait` seconds before the next request may pass."""
    return ApiError(429, "RATE_LIMITED", "该凭证请求过于频繁 (rate limit exceeded for this credential)",
                    f"请 {retry_after(wait)} 秒后重试。每个核验窗口使用自己的凭证；需要更高频率请向本地区管理员申请。",
                    headers={"Retry-After": retry_after(wait)})


def signin_limited(wait: float) -> ApiError:
    """The 429 for a client address with too many failed sign-ins (unknown tokens)."""
    return ApiError(429, "TOO_MANY_FAILED_SIGNINS", "凭证验证失败次数过多，请稍后再试 (too many failed sign-ins)",
                    f"请 {retry_after(wait)} 秒后重试，并检查令牌是否抄写完整。",
                    headers={"Retry-After": retry_after(wait)})


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer" and credentials.strip():
                try:
                    return credentials.strip().decode("ascii")
                except UnicodeDecodeError:
                    return None
            return None
    return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


class RateLimitMiddleware:
    """ASGI middleware: charge every verifying, issuing or signing-in request to its bucket, or answer 429."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/v1/"):
            await self._api(scope, receive, send)
        elif scope["method"] == "POST" and path == SIGNIN_PATH:
            await self._signin(scope, receive, send)
        elif scope["method"] == "POST" and path.startswith(CHARGED_PAGE_AREAS):
            await self._page(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _bearer(scope["headers"])
        if token is None:  # public routes; a protected one answers 401 itself
            await self.app(scope, receive, send)
            return
        runtime = scope["app"].state.runtime
        limiter: RateLimiter = runtime.rate_limiter
        cred = runtime.credentials.lookup(token)
        if cred is None:  # an unknown token is a failed sign-in of this address; the route says 401
            client = _client(scope)
            wait = limiter.signin_wait(client)
            if wait > 0:
                await _send_api_error(send, signin_limited(wait))
                return
            limiter.signin_failed(client)
            await self.app(scope, receive, send)
            return
        wait = limiter.credential_wait(cred)
        if wait > 0:
            await _send_api_error(send, rate_limited(wait))
            return
        scope[CREDENTIAL_KEY] = (token, cred)
        await self.app(scope, receive, send)

    async def _signin(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter: RateLimiter = scope["app"].state.runtime.rate_limiter
        client = _client(scope)
        wait = limiter.signin_wait(client)
        if wait > 0:
            await _send_page_refusal(scope, receive, send, wait, "登录尝试过于频繁",
                                     f"从您所在网络发出的失败登录次数过多，请 {retry_after(wait)} 秒后再试。",
                                     "请检查凭证令牌是否抄写完整；已停用的令牌请向本地区管理员重新申请。")
            return
        status = 0

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watching)
        finally:
            if status != 303:  # only a successful sign-in redirects into the pages
                limiter.signin_failed(client)

    async def _page(self, scope: Scope, receive: Receive, send: Send) -> None:
        from api.pages import sessions as ss

        request = Request(scope, receive)
        if not request.cookies.get(ss.SESSION_COOKIE):  # not signed in: the page sends the visitor to sign in
            await self.app(scope, receive, send)
            return
        # The session's row is read once, here, off the event loop; the page reuses it (request.state).
        session = await run_in_threadpool(ss.current_session, request)
        if session is None:
            await self.app(scope, receive, send)
            return
        wait = scope["app"].state.runtime.rate_limiter.credential_wait(session.credential)
        if wait > 0:
            await _send_page_refusal(scope, receive, send, wait, "操作过于频繁",
                                     f"您的凭证（{session.credential.name}）在短时间内的操作次数超过了上限，"
                                     f"本次操作没有执行。请 {retry_after(wait)} 秒后再试。",
                                     "每个窗口使用自己的凭证；如确需更高频率，请向本地区管理员申请。")
            return
        await self.app(scope, receive, send)


async def _send_api_error(send: Send, error: ApiError) -> None:
    await send_json(send, error.status, error_body(error.code, error.message, error.hint), error.headers)


async def _send_page_refusal(scope: Scope, receive: Receive, send: Send, wait: float, title: str, message: str,
                             hint: str) -> None:
    """A Chinese 429 page (or the JSON a page's script reads), with Retry-After."""
    from api.pages.common import PageError, answer_refusal

    request = Request(scope, receive)
    response: Any = await run_in_threadpool(answer_refusal, request, PageError(429, title, message, hint))
    response.headers["Retry-After"] = retry_after(wait)
    await response(scope, receive, send)


def _measure(n: int = 200_000) -> None:
    """Print the per-request cost of a charge in a file-backed table (the cross-worker case)."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        table = BucketTable(Path(directory))
        keys = [f"c:{i:016x}" for i in range(1000)]
        limit = Limit(1e9, 10**9)
        t0 = time.perf_counter()
        for i in range(n):
            table.take(keys[i % 1000], limit)
        per = (time.perf_counter() - t0) / n
        table.close()
    print(f"ratelimit: {per * 1e6:.2f} us per charge (file-backed, flock, 1,000 keys, {n} charges)")


if __name__ == "__main__":
    _measure()
