"""The verification fast lane (api/fastlane.py) over real HTTP: what it answers, it answers as the route does.

The lane takes a verifier's bearer token with exactly {"presentation": ...}; everything else
goes to the FastAPI route. A body with one more key (ignored by the route's model) is the
simplest request the route answers, so the two answers to one presentation can be compared.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.metrics import REGISTRY
from tests.e2e.conftest import issue_licence, present, wait_anchored


def _lane(outcome: str) -> float:
    return REGISTRY.get_sample_value("huren_verify_fast_lane_total", {"outcome": outcome}) or 0.0


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """An answer without what differs between two verifications of one presentation a moment apart."""
    out = dict(body)
    out.pop("log_entry")
    out.pop("freshness")
    return out


@pytest.fixture(scope="module")
def presentation(stack) -> str:
    cert_id, _, holder = issue_licence(stack, 30)
    wait_anchored(stack, holder, cert_id)
    return present(stack, holder, cert_id)


def test_a_plain_verification_is_answered_by_the_fast_lane(stack, presentation):
    served, passed = _lane("served"), _lane("passed_on")
    with stack.client("verifier-130000") as c:
        reply = c.post("/v1/verify", json={"presentation": presentation})
    assert reply.status_code == 200
    assert reply.json()["verdict"] == "VALID"
    assert (_lane("served"), _lane("passed_on")) == (served + 1, passed)


def test_the_fast_lane_and_the_route_give_the_same_answer(stack, presentation):
    with stack.client("verifier-120000") as c:
        fast = c.post("/v1/verify", json={"presentation": presentation})
        passed = _lane("passed_on")
        routed = c.post("/v1/verify", json={"presentation": presentation, "note": "走完整路由"})
    assert _lane("passed_on") == passed + 1, "the second request went to the route"
    assert fast.status_code == routed.status_code == 200
    assert _comparable(fast.json()) == _comparable(routed.json())
    assert fast.headers["content-type"] == routed.headers["content-type"]


def test_the_fast_lane_and_the_route_refuse_a_malformed_code_alike(stack):
    with stack.client("verifier-110000") as c:
        fast = c.post("/v1/verify", json={"presentation": "HR1:NOT-A-REAL-CODE"})
        routed = c.post("/v1/verify", json={"presentation": "HR1:NOT-A-REAL-CODE", "note": "x"})
    assert fast.status_code == routed.status_code == 400
    assert fast.json()["error"]["code"] == "MALFORMED_PRESENTATION"
    assert _comparable(fast.json()) == _comparable(routed.json())


def test_fast_lane_answers_carry_the_security_headers(stack, presentation):
    with stack.client("verifier-130000") as c:
        reply = c.post("/v1/verify", json={"presentation": presentation})
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in reply.headers["content-security-policy"]


def test_fast_lane_answers_are_in_the_verification_log(stack, presentation):
    with stack.client("verifier-130000") as c:
        body = c.post("/v1/verify", json={"presentation": presentation}).json()
    entry = stack.app.state.runtime.log.get(body["log_entry"]["logSeq"])
    assert entry is not None
    assert (entry.verdict, entry.region, "0x" + entry.certificate_hash.hex()) == \
        ("VALID", 130000, body["certificate_hash"])
    assert "0x" + entry.entry_hash.hex() == body["log_entry"]["entryHash"]


def test_a_credential_over_its_rate_limit_gets_429_before_the_fast_lane(stack, presentation):
    """The limiter (api/ratelimit.py) answers first; the lane neither serves nor passes the request on."""
    _, token = stack.app.state.runtime.credentials.add("verifier", "限流测试窗口", region=130000,
                                                       rate_per_s=0.001, rate_burst=1)  # one request per 1,000 s
    with stack.client() as c:
        first = c.post("/v1/verify", json={"presentation": presentation}, headers={"Authorization": f"Bearer {token}"})
        served, passed_on = _lane("served"), _lane("passed_on")
        reply = c.post("/v1/verify", json={"presentation": presentation}, headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 200 and first.json()["verdict"] == "VALID"
    assert reply.status_code == 429
    assert reply.json()["error"]["code"] == "RATE_LIMITED" and "频繁" in reply.json()["error"]["message"]
    assert int(reply.headers["retry-after"]) >= 1
    assert (_lane("served"), _lane("passed_on")) == (served, passed_on)


@pytest.mark.parametrize(("headers", "body", "status"), [
    ({}, b'{"presentation": "HR1:X"}', 401),                                         # no token
    ({"Authorization": "Bearer hr_unknown"}, b'{"presentation": "HR1:X"}', 401),     # unknown token
    ({"Authorization": "Bearer {department}"}, b'{"presentation": "HR1:X"}', 403),   # wrong role
    ({"Authorization": "Bearer {verifier}"}, b'["HR1:X"]', 422),                    # not an object
    ({"Authorization": "Bearer {verifier}"}, b'{"presentation": 5}', 422),          # not a string
    ({"Authorization": "Bearer {verifier}"}, b'{"reference": "https://x/r/abc"}', 400),  # a reference
], ids=["no-token", "unknown-token", "wrong-role", "array", "number", "reference"])
def test_requests_the_fast_lane_does_not_take_are_answered_by_the_route(stack, headers, body, status):
    tokens = {"department": stack.world.tokens["bj-amr"], "verifier": stack.world.tokens["verifier-130000"]}
    headers = {k: v.format(**tokens) for k, v in headers.items()}
    passed = _lane("passed_on")
    with stack.client() as c:
        reply = c.post("/v1/verify", content=body, headers={**headers, "Content-Type": "application/json"})
    assert reply.status_code == status
    assert set(reply.json()["error"]) >= {"code", "message", "hint"}
    assert _lane("passed_on") == passed + 1


@pytest.mark.parametrize("body", [b'{"presentation": ', b'{"presentation": "HR1:X"' + b"}" * 40,
                                  b"[" * 100_000 + b"]" * 100_000], ids=["broken", "unbalanced", "deep"])
def test_a_body_that_is_not_json_is_refused_before_the_fast_lane(stack, body):
    """api.jsonbody.JsonBodyGuard reads every JSON body first: neither the lane nor the route sees it."""
    served, passed = _lane("served"), _lane("passed_on")
    with stack.client("verifier-130000") as c:
        reply = c.post("/v1/verify", content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] in ("INVALID_JSON", "JSON_TOO_DEEP")
    assert (_lane("served"), _lane("passed_on")) == (served, passed)
