"""The hot path: POST /v1/verify with a bearer token and a presentation, answered without FastAPI.

Why it exists: a verification is about half a millisecond of engine work, and FastAPI's
request machinery (routing, dependency resolution, body model, response class) cost more
than that again on every request — on two cores the API topped out near 600 answers/s,
short of the 1,000/s the counters of a province's service windows need at peak. This ASGI
middleware answers the one request shape that makes up nearly all traffic — a verifier's
bearer token and exactly `{"presentation": "HR2:..."}` — directly, with the same checks, the same
log entry and the same body the FastAPI route gives.

Anything else — a reference URL, a session cookie instead of a token, a wrong role, an
unknown token, extra keys, extra content types — is handed to the FastAPI route
untouched (the body is replayed), so every refusal still comes from one place, with its
one wording. The fast lane only ever says yes-with-a-verdict; "slow down" (429) was said before
it, by the rate limiter (api/ratelimit.py), which also left the request's credential in the
scope, so the token is hashed and looked up once. A body that is not JSON, or nested too deep,
never reaches the fast lane: api.jsonbody.JsonBodyGuard refused it, and left the parsed value of
every other body in the scope, so it is parsed once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api import metrics
from api.credentials import Credential
from api.jsonbody import PARSED_KEY, dump_json, read_body, replaying
from api.ratelimit import CREDENTIAL_KEY
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
        # (token, credential) of a bearer request that passed its rate limit; absent: no known token.
        charged: tuple[str, Credential] | None = scope.get(CREDENTIAL_KEY)
        token = _bearer_and_json(scope["headers"])
        if token is None or charged is None or charged[0] != token:
            await self._pass_on(scope, receive, send, None)
            return
        cred = charged[1]
        body = await read_body(receive)
        if body is None:  # the client went away mid-body
            return
        presentation = _presentation(scope.get(PARSED_KEY))  # parsed by api.jsonbody.JsonBodyGuard
        if presentation is None or cred.role != "verifier" or cred.region is None:
            await self._pass_on(scope, receive, send, body)
            return
        started = time.perf_counter()
        scope["route"] = _ROUTE
        await self._verify(send, scope["app"].state.runtime, cred, presentation, started)

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
        await self.app(scope, replaying(body, receive), send)


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


def _presentation(parsed: Any) -> str | None:
    """The presentation text if the body is exactly the common shape; None sends it to the route."""
    if type(parsed) is not dict or len(parsed) != 1:  # other keys: the route's model decides about them
        return None
    text = parsed.get("presentation")
    if not isinstance(text, str) or len(text) > MAX_PRESENTATION:
        return None
    return text


async def _send(send: Send, status: int, answer: dict[str, object]) -> None:
    payload = dump_json(answer)
    headers = [_JSON, (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
