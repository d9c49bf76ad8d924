"""The hot path: POST /v1/verify with a bearer token and a presentation, answered without FastAPI.

Why it exists: a verification is about half a millisecond of engine work, and FastAPI's
request machinery (routing, dependency resolution, body model, response class) cost more
than that again on every request — on two cores the API topped out near 600 answers/s,
short of the 1,000/s the counters of a province's service windows need at peak. This ASGI
middleware answers the one request shape that makes up nearly all traffic — a verifier's
bearer token and exactly `{"presentation": "HR1:..."}` — directly, with the same checks, the same
log entry and the same body the FastAPI route gives.

Anything else — a reference URL, a session cookie instead of a token, a wrong role, an
unknown token, malformed JSON, extra content types — is handed to the FastAPI route
untouched (the body is replayed), so every refusal still comes from one place, with its
one wording. The fast lane only ever says yes-with-a-verdict or "slow down" (429).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.auth import rate_limited
from api.credentials import Credential
from api.errors import error_body
from api.jsonbody import dump_json, load_json
from api.routes.verify import answer_for
from verifier.engine import verify_text

PATH = "/v1/verify"
MAX_PRESENTATION = 8192  # the route's own limit (VerifyRequest.presentation max_length)
_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True)
class RouteTag:
    """Stands in for the matched route in the scope, so request metrics name /v1/verify."""

    path: str


_ROUTE = RouteTag(PATH)
_SERVED, _PASSED_ON = metrics.FAST_LANE.labels("served"), metrics.FAST_LANE.labels("passed_on")


class VerifyFastLane:
    """ASGI middleware: answer the common verification request, pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        token = _bearer_and_json(scope["headers"])
        if token is None:
            await self._pass_on(scope, receive, send, None)
            return
        body = await _read_body(receive)
        runtime = scope["app"].state.runtime
        presentation = _presentation(body)
        cred = runtime.credentials.lookup(token) if presentation is not None else None
        if presentation is None or cred is None or cred.role != "verifier" or cred.region is None:
            await self._pass_on(scope, receive, send, body)
            return
        started = time.perf_counter()
        scope["route"] = _ROUTE
        wait = runtime.rate_limiter.allow(cred.id)
        if wait > 0:
            error = rate_limited(wait)
            _SERVED.inc()
            await _send(send, error.status, error_body(error.code, error.message, error.hint),
                        [(k.lower().encode(), v.encode()) for k, v in (error.headers or {}).items()])
            return
        await self._verify(send, runtime, cred, presentation, started)

    async def _verify(self, send: Send, runtime: Any, cred: Credential, presentation: str, started: float) -> None:
        assert cred.region is not None
        result = verify_text(presentation.strip(), runtime.view, runtime.policy_for(cred.region), int(time.time()))
        entry = await runtime.record_verification_async(cred, result)
        status, answer = answer_for(cred, result, entry)
        metrics.VERIFY_LATENCY.observe(time.perf_counter() - started)
        _SERVED.inc()
        await _send(send, status, answer)

    async def _pass_on(self, scope: Scope, receive: Receive, send: Send, body: bytes | None) -> None:
        _PASSED_ON.inc()
        if body is None:
            await self.app(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)


def _bearer_and_json(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The bearer token, if the request carries one and declares a JSON body; else None."""
    token: str | None = None
    json_body = False
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer" and credentials:
                try:
                    token = credentials.strip().decode("ascii")
                except UnicodeDecodeError:
                    return None
        elif name == b"content-type":
            json_body = value.split(b";", 1)[0].strip().lower() == b"application/json"
    return token if json_body else None


async def _read_body(receive: Receive) -> bytes:
    # The size limit is enforced by BodyLimitMiddleware around this one (it raises mid-stream).
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # a disconnect: what arrived is passed on and the route reports it
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _presentation(body: bytes) -> str | None:
    """The presentation text if the body is exactly the common shape; None sends it to the route."""
    try:
        parsed = load_json(body)
    except ValueError:
        return None
    if type(parsed) is not dict or len(parsed) != 1:  # other keys: the route's model decides about them
        return None
    text = parsed.get("presentation")
    if not isinstance(text, str) or len(text) > MAX_PRESENTATION:
        return None
    return text


async def _send(send: Send, status: int, answer: dict[str, object],
                extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = dump_json(answer)
    headers = [_JSON, (b"content-length", str(len(payload)).encode())]
    if extra_headers:
        headers += extra_headers
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
