"""common.json_input: the one parser for outside JSON — depth-limited, numbers in range, values exact."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.json_input import (
    MAX_DEPTH,
    JsonInputError,
    JsonNumberOutOfRange,
    JsonSyntaxError,
    JsonTooDeep,
    parse_json,
)

_text = st.text(st.characters(exclude_categories=("Cs",)))  # JSON text: no lone surrogates
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _text | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=30,
)


def _nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


@given(_json_values)
def test_every_shallow_json_value_reads_exactly_as_the_standard_library_reads_it(value):
    text = json.dumps(value, ensure_ascii=False)
    assert parse_json(text) == json.loads(text)
    assert parse_json(text.encode()) == json.loads(text)


def test_nesting_up_to_the_limit_is_read():
    assert parse_json(_nested(MAX_DEPTH)) == json.loads(_nested(MAX_DEPTH))


@pytest.mark.parametrize("text", [
    _nested(MAX_DEPTH + 1),
    '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1),
    _nested(2000),  # past orjson's own limit (1,024)
    _nested(100_000),  # the body that crashed the API (issue 13)
    "[" * 100_000,  # never closed
    '[{"a":' * 20 + "0" + "}]" * 20,  # objects and arrays alternating: 40 levels
], ids=["limit+1", "objects", "2000", "100000", "unclosed", "mixed"])
def test_nesting_past_the_limit_is_refused_as_too_deep(text):
    with pytest.raises(JsonTooDeep) as refused:
        parse_json(text)
    assert refused.value.code == "JSON_TOO_DEEP"
    assert f"{MAX_DEPTH} 层" in refused.value.message


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps(["[" * 500, {"k": "{" * 500}])
    assert parse_json(text) == json.loads(text)


def test_a_smaller_limit_can_be_asked_for():
    with pytest.raises(JsonTooDeep):
        parse_json("[[[1]]]", max_depth=2)
    assert parse_json("[[1]]", max_depth=2) == [[1]]


@pytest.mark.parametrize("text", ["1e999999", "-1e999999", "[1e400]", "9" * 400, '{"n": ' + "1" * 100_000 + "}"],
                         ids=["1e999999", "-1e999999", "1e400", "400 digits", "100000 digits"])
def test_numbers_out_of_range_are_refused_not_turned_into_infinity(text):
    with pytest.raises(JsonNumberOutOfRange) as refused:
        parse_json(text)
    assert "超出范围" in refused.value.message


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**40, -(10**300), 2**64 - 1, -(2**63)])
def test_integers_beyond_64_bits_keep_their_exact_value(number):
    value = parse_json(json.dumps({"claims": {"capital": number}, "list": [1.5, number]}))
    assert value == {"claims": {"capital": number}, "list": [1.5, number]}
    assert type(value["claims"]["capital"]) is int


def test_a_large_float_stays_a_float():
    assert parse_json("[1e20, 1.5e300]") == [1e20, 1.5e300]
    assert type(parse_json("1e20")) is float


@pytest.mark.parametrize("text", ["", "{", '{"a":}', "NaN", "[Infinity]", '"\\ud800"', "\x00", '{"a": 1} x'])
def test_text_that_is_not_json_is_refused_with_the_place(text):
    with pytest.raises(JsonSyntaxError) as refused:
        parse_json(text)
    assert "不是有效的 JSON" in refused.value.message and "列" in refused.value.message


def test_bytes_that_are_not_utf8_are_refused():
    with pytest.raises(JsonSyntaxError):
        parse_json(b'"\xff\xfe"')


def test_every_refusal_is_a_value_error_for_callers_that_catch_those():
    assert issubclass(JsonInputError, ValueError)
    with pytest.raises(ValueError):
        parse_json(_nested(100_000))
