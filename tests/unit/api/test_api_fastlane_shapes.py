"""Which requests the verification fast lane takes (api.fastlane); everything else goes to the route."""

from __future__ import annotations

import pytest

from api.fastlane import MAX_PRESENTATION, _bearer_and_json, _presentation

JSON = (b"content-type", b"application/json")


@pytest.mark.parametrize(("headers", "token"), [
    ([(b"authorization", b"Bearer hr_abc"), JSON], "hr_abc"),
    ([(b"authorization", b"bearer hr_abc"), (b"content-type", b"application/json; charset=utf-8")], "hr_abc"),
    ([JSON, (b"authorization", b"Bearer  hr_abc ")], "hr_abc"),
    ([(b"authorization", b"Bearer hr_abc")], None),                                   # no content type
    ([(b"authorization", b"Bearer hr_abc"), (b"content-type", b"multipart/form-data")], None),
    ([(b"authorization", b"Basic dXNlcjpwdw=="), JSON], None),                         # not a bearer token
    ([(b"authorization", b"Bearer "), JSON], None),                                    # empty token
    ([(b"authorization", "Bearer 令牌".encode()), JSON], None),                        # not ASCII
    ([JSON, (b"cookie", b"huren_session=abc")], None),                                 # a page session
])
def test_only_a_bearer_token_with_a_json_body_is_taken(headers, token):
    assert _bearer_and_json(headers) == token


def test_exactly_a_presentation_string_is_taken():
    assert _presentation({"presentation": "HR1:ABC"}) == "HR1:ABC"


@pytest.mark.parametrize("parsed", [
    {"presentation": "HR1:ABC", "region": 130000},  # another key: the route's model decides
    {"reference": "https://x.example/r/abc"},
    {"presentation": None},
    {"presentation": 7},
    ["HR1:ABC"],
    "HR1:ABC",
    None,  # no parsed body in the scope (an empty body)
    {"presentation": "A" * (MAX_PRESENTATION + 1)},
])
def test_any_other_body_goes_to_the_route(parsed):
    """The body arrives parsed (api.jsonbody.JsonBodyGuard refused what is not JSON before the lane)."""
    assert _presentation(parsed) is None
