"""common.canonical: RFC 8785 bytes for every JSON value, typed errors for everything else."""

from __future__ import annotations

import decimal
import json
import random
from datetime import date
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.canonical import MAX_DEPTH, MAX_SAFE_INTEGER, CanonicalisationError, canonicalize

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.floats(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=25,
)


def _shuffled(value: object, rng: random.Random) -> object:
    """The same JSON value with every object's keys inserted in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


@given(json_values, st.randoms(use_true_random=False))
def test_key_order_does_not_change_the_bytes(value: object, rng: random.Random) -> None:
    assert canonicalize(_shuffled(value, rng)) == canonicalize(value)


@given(json_values)
def test_canonical_bytes_parse_back_to_the_value(value: object) -> None:
    assert json.loads(canonicalize(value)) == value


@given(json_values)
def test_canonicalisation_is_idempotent(value: object) -> None:
    once = canonicalize(value)
    assert canonicalize(json.loads(once)) == once


def test_rfc8785_section_3_2_2_example() -> None:
    # RFC 8785 section 3.2.2: numbers in ECMAScript form, minimal string escapes, sorted keys.
    # The RFC's 1e30 is left out: numbers beyond +-(2**53 - 1) are refused here (I-JSON range).
    value = {
        "numbers": [333333333.33333329, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\nA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(value) == expected.encode("utf-8")


def test_keys_sort_by_utf16_code_units() -> None:
    # RFC 8785 section 3.2.3: U+10000 (surrogates D800 DC00) sorts before U+FB33 in UTF-16.
    value = {"\ufb33": 1, "\U00010000": 2, "a": 3}
    assert canonicalize(value) == '{"a":3,"\U00010000":2,"\ufb33":1}'.encode()


def test_chinese_text_is_emitted_as_raw_utf8() -> None:
    assert canonicalize({"name": "张三"}) == '{"name":"张三"}'.encode()


def test_tuples_and_mappings_canonicalise_like_lists_and_dicts() -> None:
    assert canonicalize(MappingProxyType({"b": (1, 2), "a": None})) == b'{"a":null,"b":[1,2]}'


def test_integral_float_and_int_have_the_same_bytes() -> None:
    assert canonicalize(2.0) == canonicalize(2) == b"2"


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        b"bytes",
        bytearray(b"x"),
        {1: "non-str key"},
        {("a",): 1},
        MAX_SAFE_INTEGER + 1,
        -MAX_SAFE_INTEGER - 1,
        1e16,
        -5.350317780300642e16,
        1e300,
        decimal.Decimal("1.5"),
        date(2025, 1, 1),
        {1, 2},
        "lone surrogate \ud800",
        object(),
    ],
    # Stable ids (repr of object() carries a memory address, which differs between xdist workers).
    ids=lambda v: type(v).__name__,
)
def test_unsupported_values_raise_canonicalisation_error(value: object) -> None:
    with pytest.raises(CanonicalisationError):
        canonicalize(value)


def test_canonicalisation_error_is_a_value_error() -> None:
    assert issubclass(CanonicalisationError, ValueError)


def test_error_message_names_the_offending_location() -> None:
    with pytest.raises(CanonicalisationError, match=r"\$\.claims\.scores\[1\]"):
        canonicalize({"claims": {"scores": [1.0, float("nan")]}})


def test_nesting_beyond_the_limit_raises_canonicalisation_error() -> None:
    value: object = 1
    for _ in range(MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(CanonicalisationError, match="nested deeper"):
        canonicalize(value)
