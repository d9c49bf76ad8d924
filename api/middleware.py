"""ASGI middleware: body size limit, security headers, request timing.

The size limit is enforced on the stream, not only on Content-Length, so a client that lies
about the length (or uses chunked encoding) still gets a 413 instead of filling memory.
"""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.metrics import REQUEST_LATENCY

CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


class _TooLarge(Exception):
    pass


#: Set in the scope when a request's body is over the limit, for a page route to answer with a
#: Chinese page instead of this middleware's JSON 413 (a form posted without JavaScript).
TOO_LARGE_KEY = "huren.body_too_large"
PAGES_PREFIX = "/pages/"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
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

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    scope[TOO_LARGE_KEY] = self.max_bytes
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _reply_413(send, self.max_bytes)


async def _reply_413(send: Send, limit: int) -> None:
    body = json.dumps(error_body("TOO_LARGE", f"请求内容超过 {limit // 1000} KB 上限 (request body too large)",
                                 "出示码文本不超过 4 KB；二维码图片请压缩到 2 MB 以内。"),
                      ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


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
                    (b"referrer-policy", b"no-referrer"),
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
