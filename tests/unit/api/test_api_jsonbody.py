"""api.jsonbody's answers: orjson where it agrees with the standard library, the standard library where it doesn't.

(Request bodies are read by common.json_input: tests/unit/common/test_common_json_input.py.)"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from api.jsonbody import FastJSONResponse, dump_json


def _stdlib(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


_text = st.text(st.characters(exclude_categories=("Cs",)))  # JSON text: no lone surrogates
_no_floats = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | _text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=30,
)
_with_floats = st.recursive(
    st.none() | st.booleans() | st.integers() | _text | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=30,
)


@given(_no_floats)
def test_answers_without_floats_are_byte_for_byte_what_starlette_wrote(value):
    assert dump_json(value) == _stdlib(value)


@given(_with_floats)
def test_every_json_value_reads_back_as_itself(value):
    assert json.loads(dump_json(value)) == value


def test_an_integer_beyond_64_bits_falls_back_to_the_standard_library():
    value = {"disclosed": {"claims.capital": 2**80}}
    assert dump_json(value) == _stdlib(value)


def test_chinese_text_is_written_as_utf8_not_escaped():
    assert dump_json({"label": "有效"}) == '{"label":"有效"}'.encode()


def test_fast_json_response_renders_with_dump_json():
    response = FastJSONResponse({"verdict": "VALID", "n": 2**70}, status_code=200)
    assert response.body == _stdlib({"verdict": "VALID", "n": 2**70})
    assert response.headers["content-type"] == "application/json"
