"""ASGI middleware: body size and time limits, security headers, request timing.

The size limit is enforced on the stream, not only on Content-Length, so a client that lies
about the length (or uses chunked encoding) still gets a 413 instead of filling memory. The
time limit bounds how long a body may take to arrive: the server has no such limit of its
own, so a client trickling a byte at a time would hold its connection and task for ever.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.jsonbody import send_json
from api.metrics import REQUEST_LATENCY

CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


#: Set in the scope when a request's body is over the limit, for a page route to answer with a
#: Chinese page instead of this middleware's JSON 413 (a form posted without JavaScript).
TOO_LARGE_KEY = "huren.body_too_large"
PAGES_PREFIX = "/pages/"


#: Request line and headers together. The server (uvicorn with httptools) has no limit of its own:
#: a 10 MB header was read and answered 200. Browsers send a few kB; nginx's default buffers hold 32 kB.
MAX_HEAD_BYTES = 32 * 1024


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        head += sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
        if head > MAX_HEAD_BYTES:
            await _reply_431(send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big and not scope["path"].startswith(PAGES_PREFIX):
                    await _reply_413(send, self.max_bytes)
                    return
                if too_big:  # a page answers it: the body is never read
                    scope[TOO_LARGE_KEY] = self.max_bytes

                    async def nothing() -> Message:
                        return {"type": "http.request", "body": b"", "more_body": False}

                    await self.app(scope, nothing, send)
                    return
        seen = 0
        started = False
        body_done = False
        too_slow = False
        deadline = asyncio.get_running_loop().time() + self.timeout_s

        async def limited_receive() -> Message:
            nonlocal seen, body_done, too_slow
            if body_done:  # after the body: waiting for the disconnect takes as long as the answer
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                too_slow = True
                raise _TooSlow from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    scope[TOO_LARGE_KEY] = self.max_bytes
                    raise _TooLarge
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if too_slow:  # answered by the app (e.g. a form it could not read): the rest of the body is unread
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _reply_413(send, self.max_bytes)
        except _TooSlow:
            if not started:
                await _reply_408(send, self.timeout_s)


async def _reply(send: Send, status: int, code: str, message: str, hint: str, *, close: bool = False) -> None:
    """A refusal made before any route ran; `close`: the rest of the request is not read, so the
    connection cannot carry another one."""
    await send_json(send, status, error_body(code, message, hint), {"Connection": "close"} if close else None)


async def _reply_413(send: Send, limit: int) -> None:
    await _reply(send, 413, "TOO_LARGE", f"请求内容超过 {limit // 1000} KB 上限 (request body too large)",
                 "出示码文本不超过 4 KB；二维码图片请压缩到 2 MB 以内。")


async def _reply_431(send: Send) -> None:
    await _reply(send, 431, "HEADERS_TOO_LARGE",
                 f"请求头或网址过长（合计超过 {MAX_HEAD_BYTES // 1024} KB）(headers too large)",
                 "请清除本站的 Cookie 后重试；接口调用请勿在网址或请求头中携带大量数据。", close=True)


async def _reply_408(send: Send, timeout_s: float) -> None:
    await _reply(send, 408, "BODY_TOO_SLOW", f"请求内容在 {timeout_s:g} 秒内没有传完 (request body too slow)",
                 "网络较慢时请压缩图片或缩短内容后重试。", close=True)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    # same-origin, not no-referrer: no Referer ever leaves for another site, and a
                    # form POST carries our Origin (under no-referrer browsers send "Origin: null"),
                    # which the pages check (api.pages.common.same_origin).
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if not any(k == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
        route = scope.get("route")
        path = getattr(route, "path", "unmatched")
        REQUEST_LATENCY.labels(path, scope.get("method", "")).observe(time.perf_counter() - start)
