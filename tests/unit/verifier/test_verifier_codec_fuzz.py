"""Fuzzing the decoder: whatever a scanner hands over, the only possible exception is
PresentationDecodeError, and whatever decodes can be verified without an exception.

Four generators: random strings, character-level mutations of a valid text, byte-level
mutations of the valid CBOR (re-compressed so they get past zlib), and structural
mutations (a random element of the CBOR array replaced by a random CBOR value).
"""

from __future__ import annotations

import os
import zlib

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verifier_world import World, build_world

from verifier.codec import (
    PREFIX,
    PREFIX_HR2,
    PresentationDecodeError,
    _b45decode,
    _b45encode,
    decode,
    encode,
    parse_reference,
)
from verifier.engine import verify_text

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
#: HUREN_FUZZ_EXAMPLES=20000 for a long run (e.g. nightly); 400 per generator by default.
_FUZZ = settings(
    max_examples=int(os.environ.get("HUREN_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def fuzz_world() -> World:
    return build_world(8)


@pytest.fixture(scope="module", params=[1, 2], ids=["HR1", "HR2"])
def valid(fuzz_world: World, request: pytest.FixtureRequest) -> str:
    return encode(fuzz_world.present(0, ("holder.name", "claims.scope"), bound=True, format=request.param))


def cbor_of(text: str) -> bytes:
    """The CBOR bytes inside a text: HR1 zlib-compresses them, HR2 does not."""
    body = _b45decode(text[len(PREFIX) :])
    return zlib.decompress(body) if text.startswith(PREFIX) else body


def text_like(text: str, raw: bytes) -> str:
    """A text of the same format as `text` around CBOR bytes `raw`."""
    return text[: len(PREFIX)] + _b45encode(zlib.compress(raw) if text.startswith(PREFIX) else raw)


def decode_or_refuse(text: str) -> None:
    """Assert the contract: a Presentation, or PresentationDecodeError, nothing else."""
    try:
        p = decode(text)
    except PresentationDecodeError as exc:
        assert str(exc).startswith("出示码格式错误：")
        return
    assert decode(encode(p)) == p


@_FUZZ
@given(st.text(max_size=300))
def test_random_text_is_decoded_or_refused(text: str) -> None:
    decode_or_refuse(text)


@_FUZZ
@given(st.text(alphabet=_ALPHABET, max_size=600))
def test_random_base45_after_the_prefix_is_decoded_or_refused(body: str) -> None:
    decode_or_refuse(PREFIX + body)


@_FUZZ
@given(st.binary(max_size=600))
def test_random_zlib_payload_is_decoded_or_refused(payload: bytes) -> None:
    decode_or_refuse(PREFIX + _b45encode(zlib.compress(payload)))


@_FUZZ
@given(st.binary(max_size=900))
def test_random_hr2_payload_is_decoded_or_refused(payload: bytes) -> None:
    decode_or_refuse(PREFIX_HR2 + _b45encode(payload))


@_FUZZ
@given(data=st.data())
def test_character_mutations_of_a_valid_text_are_decoded_or_refused(valid: str, data: st.DataObject) -> None:
    chars = list(valid)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(chars) - 1))
        op = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        c = data.draw(st.sampled_from(_ALPHABET + "a\n\x00é"))
        if op == "replace":
            chars[i] = c
        elif op == "delete" and len(chars) > 1:
            del chars[i]
        else:
            chars.insert(i, c)
    decode_or_refuse("".join(chars))


@_FUZZ
@given(data=st.data())
def test_byte_mutations_of_valid_cbor_are_decoded_or_refused(valid: str, data: st.DataObject) -> None:
    raw = bytearray(cbor_of(valid))
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate"]))
        b = data.draw(st.integers(0, 255))
        if op == "flip":
            raw[i] ^= 1 << (b % 8)
        elif op == "set":
            raw[i] = b
        elif op == "delete" and len(raw) > 1:
            del raw[i]
        elif op == "insert":
            raw.insert(i, b)
        else:
            del raw[i:]
            raw.append(b)
    decode_or_refuse(text_like(valid, bytes(raw)))


_cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.binary(max_size=70)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3),
    max_leaves=8,
)


@_FUZZ
@given(data=st.data())
def test_structural_mutations_are_decoded_or_refused(valid: str, data: st.DataObject) -> None:
    item = cbor2.loads(cbor_of(valid))
    target = data.draw(st.sampled_from(["top", "field", "append"]))
    value = data.draw(_cbor_values)
    if target == "top":
        item[data.draw(st.integers(0, len(item) - 1))] = value
    elif target == "field":
        item[1][data.draw(st.integers(0, len(item[1]) - 1))] = value
    else:
        item[1] += [value, data.draw(_cbor_values)]
        item[2] += bytes(16)
    decode_or_refuse(text_like(valid, cbor2.dumps(item, canonical=True)))


@_FUZZ
@given(data=st.data())
def test_verifying_any_mutated_text_gives_a_verdict_not_an_exception(
    valid: str, fuzz_world: World, data: st.DataObject
) -> None:
    raw = bytearray(cbor_of(valid))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    text = text_like(valid, bytes(raw))
    result = verify_text(text, fuzz_world.view, fuzz_world.policy, fuzz_world.now)
    assert result.checks and result.verdict is not None


@_FUZZ
@given(st.text(max_size=120) | st.text(alphabet="htps:/[]@?#%rAZaz09_-.", max_size=60).map(lambda s: "https://" + s))
def test_any_reference_text_gives_a_token_or_a_decode_error(text: str) -> None:
    try:
        token = parse_reference(text)
    except PresentationDecodeError:
        return
    assert len(token) == 22


def test_lone_surrogates_are_refused_not_crashed() -> None:
    with pytest.raises(PresentationDecodeError):
        decode("HR1:\ud800\udfff")
    with pytest.raises(PresentationDecodeError):
        parse_reference("https://h.cn/r/\ud800")
