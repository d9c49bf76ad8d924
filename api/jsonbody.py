"""JSON in and out of the API at C speed (orjson), with the standard library's exact semantics kept.

Out: a verdict is ~5 KB of JSON with Chinese text; `json.dumps` spent more time on it than the
engine spent checking the certificate. orjson writes the same compact UTF-8 form. Values it
refuses (integers beyond 64 bits, which a hostile presentation can carry as disclosed
values) fall back to the standard library, so nothing that encoded before fails now.

In: `JsonBodyGuard` parses every JSON request body with `common.json_input.parse_json` (depth,
number range) before anything else sees it — the fast lane, the routes, the pages — and
answers 400 with a Chinese message for a body it refuses. FastAPI's own parser (the standard
library's, which recursed until the C stack overflowed on a 100,000-deep body: issue 13) then
only ever reads a body already known to be shallow and well-formed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import orjson
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from common.json_input import MAX_DEPTH, JsonInputError, parse_json

#: The scope key under which JsonBodyGuard leaves a JSON body's parsed value (the fast lane reads it).
PARSED_KEY: Final[str] = "huren.json"
JSON_HINT: Final[str] = (f"请求体应为合法的 JSON：嵌套不超过 {MAX_DEPTH} 层，数字在常规范围内；"
                         "字段与格式见接口文档 /docs。")


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as Starlette's JSONResponse renders it.

    orjson writes NaN and Infinity as null where the standard library raises; no answer holds
    them (the presentation codec refuses non-finite numbers before anything is verified).
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits, a str subclass orjson won't take, ...
        return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8")


class FastJSONResponse(JSONResponse):
    """JSONResponse rendered by `dump_json`."""

    def render(self, content: Any) -> bytes:
        return dump_json(content)


class JsonBodyGuard:
    """ASGI middleware: a request that declares JSON has its body read and parsed here, first.

    "Declares JSON" is any Content-Type mentioning json, a superset of what FastAPI parses as
    JSON (application/json and */*+json), so no body reaches the standard library's parser
    unchecked. An empty body is passed on as it is (the route says what is missing).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _declares_json(scope["headers"]):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:  # the client went away mid-body: nobody to answer
            return
        if body:
            try:
                scope[PARSED_KEY] = parse_json(body)
            except JsonInputError as exc:
                await send_json(send, 400, error_body(exc.code, exc.message, JSON_HINT))
                return
        await self.app(scope, replaying(body, receive), send)


def _declares_json(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"content-type" and b"json" in value.lower() for name, value in headers)


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body; None if the client disconnected before it was complete.

    Its size and the time it may take are bounded by BodyLimitMiddleware around this one (it
    raises from `receive` mid-stream).
    """
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` once, then waits for the disconnect as the server would."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def send_json(send: Send, status: int, answer: dict[str, object],
                    headers: Mapping[str, str] | None = None) -> None:
    """An answer sent by a middleware before (or instead of) any route: the JSON every API answer is."""
    payload = dump_json(answer)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
