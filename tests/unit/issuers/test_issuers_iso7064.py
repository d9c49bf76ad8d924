"""ISO 7064 check characters used by GB 11643 (MOD 11-2) and GB/T 36904 (MOD 37,36)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuers.rules.iso7064 import (
    ALPHANUMERIC,
    mod_11_2_check_char,
    mod_11_2_is_valid,
    mod_37_36_check_char,
    mod_37_36_is_valid,
)


def test_mod_37_36_published_vector() -> None:
    assert mod_37_36_check_char("A12425GABC1234002") == "M"
    assert mod_37_36_is_valid("A12425GABC1234002M")


def test_mod_11_2_published_vector() -> None:
    assert mod_11_2_check_char("0794") == "0"
    assert mod_11_2_check_char("11010519491231002") == "X"


def test_mod_37_36_refuses_lowercase_and_punctuation() -> None:
    for bad in ("a1", "1.2", ""):
        with pytest.raises(ValueError):
            mod_37_36_check_char(bad)


def test_is_valid_is_false_for_garbage_not_an_exception() -> None:
    assert not mod_37_36_is_valid("a")
    assert not mod_37_36_is_valid("ab.c")
    assert not mod_11_2_is_valid("12a4")


@given(st.text(alphabet=ALPHANUMERIC, min_size=1, max_size=80))
def test_mod_37_36_appended_check_validates(data: str) -> None:
    assert mod_37_36_is_valid(data + mod_37_36_check_char(data))


@given(st.text(alphabet=ALPHANUMERIC, min_size=1, max_size=80), st.data())
def test_mod_37_36_detects_every_single_substitution(data: str, draw: st.DataObject) -> None:
    full = data + mod_37_36_check_char(data)
    i = draw.draw(st.integers(0, len(full) - 1))
    new = draw.draw(st.sampled_from(ALPHANUMERIC).filter(lambda c: c != full[i]))
    assert not mod_37_36_is_valid(full[:i] + new + full[i + 1 :])
