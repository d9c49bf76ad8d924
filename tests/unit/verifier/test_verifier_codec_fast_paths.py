"""The C-speed steps of decoding give exactly what the plain definitions give."""

from __future__ import annotations

import unicodedata

import base45
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.codec import PresentationDecodeError, _b45decode, _b45encode
from verifier.presentation import _BIDI_CONTROLS, unsafe_text


@given(st.binary(max_size=3000))
def test_base45_decoding_matches_rfc_9285(data: bytes) -> None:
    text = _b45encode(data)
    assert text == base45.b45encode(data).decode("ascii")
    if text:
        assert _b45decode(text) == data == base45.b45decode(text)


def test_unsafe_text_is_exactly_the_control_and_bidi_characters() -> None:
    flagged = {c for c in map(chr, range(0x110000)) if unsafe_text(c)}
    defined = {c for c in map(chr, range(0x110000)) if unicodedata.category(c) == "Cc"} | set(_BIDI_CONTROLS)
    assert flagged == defined


def test_group_above_65535_is_refused_with_its_position() -> None:
    with pytest.raises(PresentationDecodeError, match="exceeds 65535 near position 8"):
        _b45decode("000:::")
