"""Strings take a fast path in `canonicalize` (the C `json` encoder); it must be RFC 8785 to the byte."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from common.canonical import CanonicalisationError, canonicalize

any_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=("Cs",)))


@given(any_text)
def test_string_bytes_are_those_of_the_reference_implementation(text: str) -> None:
    assert canonicalize(text) == rfc8785.dumps(text)


@pytest.mark.parametrize("text", ["\x00\x1f\x7f\x80\x9f", '"\\/', "\b\f\n\r\t", "\u2028\u2029", "营业执照 😀", ""])
def test_escapes_match_the_reference_on_edge_characters(text: str) -> None:
    assert canonicalize(text) == rfc8785.dumps(text)


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb"])
def test_lone_surrogates_are_still_refused(text: str) -> None:
    with pytest.raises(CanonicalisationError):
        canonicalize(text)
