"""Hostile JSON to every route that takes a body, with and without a token: deep, wide, huge
numbers, huge strings, wrong types. Each gets a 4xx with a message saying what is wrong, in
time, and the server (`huren serve`, a process of its own) is alive and within its memory
bound afterwards (conftest.py checks that after every test).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from common.json_input import MAX_DEPTH
from tests.adversarial.server import Served

JSON = {"Content-Type": "application/json"}


def _body_routes() -> list[str]:
    """Every path of the app that takes a POST body (API and pages), path parameters filled in."""

    def walk(routes: list[Any], prefix: str = "") -> Iterator[str]:
        for route in routes:
            inner = getattr(route, "original_router", None)  # FastAPI's included routers
            if inner is not None:
                yield from walk(inner.routes, prefix + (getattr(route.include_context, "prefix", "") or ""))
            elif "POST" in (getattr(route, "methods", None) or ()):
                yield prefix + route.path

    paths = sorted(set(walk(create_app(Settings()).routes)))
    assert "/v1/verify" in paths and "/v1/certificates/bulk" in paths and "/pages/clerk/verify" in paths, paths
    return [p.replace("{cert_id}", "1.2.156.3005.2.x").replace("{key}", "x") for p in paths]


ROUTES = _body_routes()
#: Which token each API route wants (pages sign in with a session, so no token helps there).
ROLE_OF = {"/v1/verify": "verifier", "/v1/verify/image": "verifier", "/v1/certificates": "department",
           "/v1/wallet": "holder"}


def _role(path: str) -> str | None:
    return next((role for prefix, role in ROLE_OF.items() if path == prefix or path.startswith(prefix + "/")), None)


def _post(served: Served, path: str, body: bytes, role: str | None) -> httpx.Response:
    with served.client(role) as c:
        return c.post(path, content=body, headers=JSON)


def _refused(reply: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """The error of a 4xx answer: the API's JSON error, or a page's (whose text is the message)."""
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text[:300])
    if status is not None:
        assert reply.status_code == status, reply.text[:300]
    if reply.headers["content-type"].startswith("text/html"):  # a page refused it: a Chinese page
        assert "<html" in reply.text
        return {"code": None, "message": reply.text}
    error: dict[str, Any] = reply.json()["error"]
    assert error["message"]
    return error


AUTH = [pytest.param(False, id="no-token"), pytest.param(True, id="token")]


@pytest.mark.parametrize("authenticated", AUTH)
@pytest.mark.parametrize("path", ROUTES)
def test_a_100000_deep_array_is_refused_as_too_deep(served: Served, path: str, authenticated: bool):
    """The request that killed the API (issue 13): about 200 kB, no token needed."""
    reply = _post(served, path, b"[" * 100_000 + b"]" * 100_000, _role(path) if authenticated else None)
    error = _refused(reply, 400)
    assert error["code"] == "JSON_TOO_DEEP" and f"{MAX_DEPTH} 层" in error["message"]


@pytest.mark.parametrize("path", ROUTES)
def test_deep_objects_are_refused_as_too_deep(served: Served, path: str):
    body = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    assert _refused(_post(served, path, body, _role(path)), 400)["code"] == "JSON_TOO_DEEP"


@pytest.mark.parametrize("path", ["/v1/verify", "/v1/certificates", "/v1/certificates/bulk"])
def test_nesting_just_past_the_limit_is_refused_too(served: Served, path: str):
    body = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    assert _refused(_post(served, path, body, _role(path)), 400)["code"] == "JSON_TOO_DEEP"


@pytest.mark.parametrize("authenticated", AUTH)
@pytest.mark.parametrize("path", ROUTES)
def test_an_array_of_400000_items_is_refused(served: Served, path: str, authenticated: bool):
    body = b"[" + b",".join([b"0"] * 400_000) + b"]"
    _refused(_post(served, path, body, _role(path) if authenticated else None))


@pytest.mark.parametrize("path", ROUTES)
def test_an_object_of_100000_keys_is_refused(served: Served, path: str):
    body = b"{" + b",".join(b'"k%d":0' % i for i in range(100_000)) + b"}"
    _refused(_post(served, path, body, _role(path)))


@pytest.mark.parametrize("path", ["/v1/verify", "/v1/certificates", "/v1/certificates/bulk",
                                  "/v1/wallet/certificates/1.2.156.3005.2.x/presentation", "/pages/clerk/verify"])
@pytest.mark.parametrize("number", [b"1e999999", b"-1e999999", b"9" * 100_000], ids=["1e999999", "-1e999999",
                                                                                    "100000-digits"])
def test_a_number_out_of_range_is_refused(served: Served, path: str, number: bytes):
    body = b'{"presentation": ' + number + b', "document": ' + number + b"}"
    error = _refused(_post(served, path, body, _role(path)), 400)
    assert error["code"] == "JSON_NUMBER_OUT_OF_RANGE" and "超出范围" in error["message"]


def test_an_integer_beyond_64_bits_reaches_validation_exactly(served: Served):
    """Not refused as JSON: a department's document is validated, and the refusal names the field."""
    body = b'{"document": {"type": 123456789012345678901234567890}}'
    error = _refused(_post(served, "/v1/certificates", body, "department"), 422)
    assert error["code"] == "CERTIFICATE_INVALID"


@pytest.mark.parametrize("path", ["/v1/verify", "/v1/certificates", "/v1/wallet/certificates/x/presentation"])
def test_a_string_of_1_9_mb_is_refused(served: Served, path: str):
    body = b'{"presentation": "' + b"A" * 1_900_000 + b'", "purpose": "' + b"B" * 10 + b'", "document": {}}'
    _refused(_post(served, path, body, _role(path)))


@pytest.mark.parametrize(("path", "role", "body", "field"), [
    ("/v1/verify", "verifier", {"presentation": 5}, "presentation"),
    ("/v1/verify", "verifier", {"presentation": ["HR1:X"]}, "presentation"),
    ("/v1/verify", "verifier", {"presentation": {"a": "HR1:X"}}, "presentation"),
    ("/v1/verify", "verifier", {"presentation": True}, "presentation"),
    ("/v1/verify", "verifier", {"reference": 7}, "reference"),
    ("/v1/verify", "verifier", ["HR1:X"], "请求"),
    ("/v1/verify", "verifier", "HR1:X", "请求"),
    ("/v1/certificates", "department", {"document": []}, "document"),
    ("/v1/certificates", "department", {"document": "x"}, "document"),
    ("/v1/certificates/bulk", "department", {"documents": "x"}, "documents"),
    ("/v1/certificates/bulk", "department", {"documents": [1, 2]}, "documents"),
    ("/v1/certificates/bulk", "department", {"documents": [{}], "strict": "maybe"}, "strict"),
    ("/v1/certificates/1.2.156.3005.2.x/revoke", "department", {"reason": 5}, "reason"),
    ("/v1/wallet/certificates/x/presentation", "holder", {"purpose": 5}, "purpose"),
    ("/v1/wallet/certificates/x/presentation", "holder", {"purpose": "办事", "fields": "holder.name"}, "fields"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None)
def test_a_value_of_the_wrong_type_is_a_422_naming_the_field(served: Served, path: str, role: str, body: object,
                                                             field: str):
    with served.client(role) as c:
        error = _refused(c.post(path, json=body), 422)
    assert field in error["message"]


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json",
                                          "Application/JSON; charset=utf-8", "text/json"])
def test_every_json_content_type_is_checked(served: Served, content_type: str):
    with served.client("verifier") as c:
        reply = c.post("/v1/verify", content=b"[" * 100_000, headers={"Content-Type": content_type})
    assert _refused(reply, 400)["code"] == "JSON_TOO_DEEP"
