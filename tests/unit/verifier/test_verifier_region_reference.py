"""The region form of a reference ("HRR1:<region>:<token>"): it names a region, never an address."""

from __future__ import annotations

import pytest

from verifier.codec import (
    PresentationDecodeError,
    make_region_reference,
    new_reference_token,
    parse_region_reference,
)

TOKEN = "q2Vb0FQmF1cXmR1x0k3a8w"


def test_a_region_reference_reads_back_as_its_region_and_token():
    token = new_reference_token()
    assert parse_region_reference(make_region_reference(110000, token)) == (110000, token)


def test_a_region_reference_is_the_prefix_the_region_and_the_token():
    assert make_region_reference(130000, TOKEN) == f"HRR1:130000:{TOKEN}"


@pytest.mark.parametrize("text", [
    f"HRR1:11000:{TOKEN}",  # five digits
    f"HRR1:011000:{TOKEN}",  # leading zero
    f"HRR1:110000:{TOKEN}x",  # token too long
    f"HRR1:110000:{TOKEN[:-1]}",  # token too short
    f"hrr1:110000:{TOKEN}",  # another prefix
    f"HRR1:110000:{TOKEN} ",  # trailing space
    f"HRR1:110000:https://evil.example/{TOKEN}",  # an address hidden in it
    f"HRR1:https://evil.example:{TOKEN}",
    "HRR1:110000:q2Vb0FQmF1cXmR1x0k3a8x",  # non-canonical Base64url (spare bits set)
])
def test_anything_but_exactly_a_region_and_a_canonical_token_is_refused_in_words(text):
    with pytest.raises(PresentationDecodeError) as refused:
        parse_region_reference(text)
    assert "引用码" in str(refused.value)


@pytest.mark.parametrize("region", [99999, 1000000, 0, -110000])
def test_a_reference_cannot_be_made_for_a_region_code_without_six_digits(region):
    with pytest.raises(ValueError):
        make_region_reference(region, TOKEN)
