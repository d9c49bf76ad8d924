"""The HR1 text form: round trips, and every way a text is refused, each with its own message."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import replace

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from verifier_world import World, replace_field

from common.document import Disclosure, SaltedField
from verifier.codec import (
    MAX_DECOMPRESSED_BYTES,
    MAX_TEXT_CHARS,
    PATH_TABLE,
    PREFIX,
    PresentationDecodeError,
    _b45encode,
    decode,
    encode,
    make_reference,
    new_reference_token,
    parse_reference,
)
from verifier.presentation import Presentation, unsafe_text

# ----------------------------------------------------------------------------- helpers


def present_hr1(world: World, *args: object, **kwargs: object) -> Presentation:
    """This module is about HR1 (legacy, still read): presentations in that format, unstamped."""
    return world.present(*args, format=1, **kwargs)  # type: ignore[arg-type]


def text_of_raw(raw: bytes) -> str:
    """A text from raw CBOR bytes, bypassing `encode` (to build refused inputs)."""
    return PREFIX + _b45encode(zlib.compress(raw, 9))


def text_of_item(item: object) -> str:
    return text_of_raw(cbor2.dumps(item, canonical=True))


def item_of(text: str) -> list[object]:
    """The CBOR item inside a valid text, for mutation."""
    from verifier.codec import _b45decode

    return cbor2.loads(zlib.decompress(_b45decode(text[len(PREFIX) :])))


def refused(text: object, *phrases: str) -> PresentationDecodeError:
    with pytest.raises(PresentationDecodeError) as info:
        decode(text)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("出示码格式错误：")
    for phrase in phrases:
        assert phrase in message, message
    return info.value


@pytest.fixture
def valid_text(world: World) -> str:
    return encode(present_hr1(world, 0, ("holder.name", "claims.scope"), bound=True))


def mutated_item(valid_text: str, change: Callable[[list[object]], None]) -> list[object]:
    item = item_of(valid_text)
    change(item)
    return item


def mutated(valid_text: str, change: Callable[[list[object]], None]) -> str:
    item = item_of(valid_text)
    change(item)
    return text_of_item(item)


# Positions in the HR1 array (codec.py's docstring).
VERSION, FIELDS, SALTS, PROOF, FLAGS, DOC_ROOT, BATCH_ROOT, BATCH_PROOF = range(8)
ISSUER_SIG, CREATED, TTL, NONCE, PURPOSE, HOLDER_SIG = range(8, 14)
PATH, VALUE = 0, 1


def _set(index: int, value: object) -> Callable[[list[object]], None]:
    def change(item: list[object]) -> None:
        item[index] = value

    return change


def _set_field(n: int, part: int, value: object) -> Callable[[list[object]], None]:
    """Change the path or value of the n-th field that is not one the id expansion depends on.

    Field order follows the multiproof, which depends on the random salts; skipping id, type
    and issuer.creditCode keeps each refusal test about exactly one thing.
    """

    def change(item: list[object]) -> None:
        flat = item[FIELDS]
        protected = {PATH_TABLE.index(p) for p in ("id", "type", "issuer.creditCode")}
        positions = [i for i in range(0, len(flat), 2) if flat[i] not in protected]  # type: ignore[arg-type,index]
        flat[positions[n] + part] = value  # type: ignore[index]

    return change


# ----------------------------------------------------------------------------- round trips


def test_round_trip_of_a_real_bound_presentation(world: World) -> None:
    p = present_hr1(world, 0, ("holder.name", "claims.scope", "holder.idNumber"), bound=True)
    assert decode(encode(p)) == p


def test_text_uses_only_the_qr_alphanumeric_alphabet(valid_text: str) -> None:
    assert valid_text.startswith("HR1:")
    assert set(valid_text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def test_known_paths_travel_as_table_indices(valid_text: str) -> None:
    paths = item_of(valid_text)[FIELDS][0::2]  # type: ignore[index]
    assert all(type(p) is int for p in paths if p in range(len(PATH_TABLE)))
    assert "claims.scope" in paths  # not in the table: sent as text


def test_checksummed_address_travels_as_20_bytes_and_comes_back_as_text(world: World) -> None:
    p = present_hr1(world, 0, ("holder.address",), bound=True)
    assert _flat_value(encode(p), "holder.address") == bytes.fromhex(world.holder_address[2:])
    assert decode(encode(p)).disclosed()["holder.address"] == world.holder_address


def test_lower_case_address_string_stays_text(world: World) -> None:
    p = present_hr1(world)
    lower = "0x" + "ab" * 20
    fields = [*p.disclosure.fields[:-1], replace(p.disclosure.fields[-1], value=lower)]
    p2 = replace(p, disclosure=replace(p.disclosure, fields=fields))
    assert decode(encode(p2)).disclosure.fields[-1].value == lower


_unicode = st.characters(blacklist_categories=("Cs",))  # lone surrogates are not text


def _flat_value(text: str, path: str) -> object:
    flat = item_of(text)[FIELDS]
    pairs = dict(zip(flat[0::2], flat[1::2], strict=True))  # type: ignore[index]
    return pairs[PATH_TABLE.index(path)]


def test_certificate_id_travels_as_its_tail_after_type_and_issuer_codes(world: World) -> None:
    p = present_hr1(world)
    cert_id = p.disclosed()["id"]
    assert cert_id == "1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1"
    text = encode(p)
    assert _flat_value(text, "id") == b"2025000001.001.1"
    assert decode(text).disclosed()["id"] == cert_id


def test_certificate_id_not_of_the_national_shape_travels_as_text(world: World) -> None:
    p = replace_field(present_hr1(world), "id", value="ZJ-2025-000001")
    text = encode(p)
    assert _flat_value(text, "id") == "ZJ-2025-000001"
    assert decode(text) == p


def _set_path_value(path: str, value: object) -> Callable[[list[object]], None]:
    def change(item: list[object]) -> None:
        flat = item[FIELDS]
        at = next(i for i in range(0, len(flat), 2) if flat[i] == PATH_TABLE.index(path))  # type: ignore[arg-type,index]
        flat[at + 1] = value  # type: ignore[index]

    return change


def test_refuses_compactable_certificate_id_sent_in_full(world: World, valid_text: str) -> None:
    full = decode(valid_text).disclosed()["id"]
    refused(mutated(valid_text, _set_path_value("id", full)), "must travel in its compact form")


def test_refuses_compact_id_with_non_printable_bytes(valid_text: str) -> None:
    refused(mutated(valid_text, _set_path_value("id", b"2025\x00")), "printable ASCII")


def test_refuses_compact_id_when_type_is_not_text(valid_text: str) -> None:
    refused(mutated(valid_text, _set_path_value("type", 7)), "compact 'id' needs 'type'")


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    # RFC 8785 (the rfc8785 package) hashes floats only within the exact-integer range.
    | st.floats(min_value=-(2**53 - 1), max_value=2**53 - 1, allow_nan=False)
    | st.text(_unicode, max_size=20)
)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(_unicode, max_size=5), inner, max_size=3),
    max_leaves=6,
)
_segment = st.text(
    st.characters(blacklist_characters=".\u200e\u200f\u061c", blacklist_categories=("Cs", "Cc")).filter(
        lambda c: not unsafe_text(c)
    ),
    min_size=1,
    max_size=8,
)
_paths = st.sampled_from(PATH_TABLE) | st.lists(_segment, min_size=1, max_size=3).map(".".join)
_bytes32 = st.binary(min_size=32, max_size=32)
_purpose = st.text(st.characters(blacklist_categories=("Cs", "Cc")).filter(lambda c: not unsafe_text(c)), max_size=200)


@st.composite
def presentations(draw: st.DrawFn) -> Presentation:
    paths = draw(st.lists(_paths, min_size=1, max_size=8, unique=True))
    fields = [SaltedField(p, draw(_json), draw(st.binary(min_size=16, max_size=16))) for p in paths]
    proof = draw(st.lists(_bytes32, max_size=8))
    flags = draw(st.lists(st.booleans(), min_size=len(fields) + len(proof) - 1, max_size=len(fields) + len(proof) - 1))
    created = draw(st.integers(min_value=0, max_value=2**40))
    return Presentation(
        version=1,
        disclosure=Disclosure(fields=fields, proof=proof, flags=flags),
        document_root=draw(_bytes32),
        batch_root=draw(_bytes32),
        batch_proof=draw(st.lists(_bytes32, max_size=12)),
        issuer_signature=draw(st.binary(min_size=65, max_size=65)),
        created_at=created,
        expires_at=created + draw(st.integers(min_value=1, max_value=86_400)),
        nonce=draw(st.binary(min_size=8, max_size=16)),
        purpose=draw(_purpose),
        holder_signature=draw(st.none() | st.binary(min_size=65, max_size=65)),
    )


@settings(max_examples=300, deadline=None)
@given(presentations())
def test_round_trip_of_any_well_formed_presentation(p: Presentation) -> None:
    back = decode(encode(p))
    assert back == p
    # Equality says True == 1; the leaves do not, so compare what gets hashed too.
    assert [f.leaf for f in back.disclosure.fields] == [f.leaf for f in p.disclosure.fields]


def test_encode_refuses_what_decode_would_refuse(world: World) -> None:
    p = replace(present_hr1(world), purpose="事" * 201)
    with pytest.raises(ValueError, match="cannot encode"):
        encode(p)


# ----------------------------------------------------------------------------- text-level refusals


def test_refuses_non_text() -> None:
    refused(b"HR1:00", "must be text")


def test_refuses_oversized_input() -> None:
    refused("HR1:" + "0" * MAX_TEXT_CHARS, "too long")


def test_refuses_unknown_version_prefix(valid_text: str) -> None:
    error = refused("XX1:" + valid_text[4:], "unknown version prefix 'XX1:'", "未知版本前缀 'XX1:'")
    assert error.en.startswith("unknown version prefix")


def test_refuses_future_format_version(valid_text: str) -> None:
    refused("HR3:" + valid_text[4:], "unknown version prefix 'HR3:'")


def test_refuses_text_without_prefix() -> None:
    refused("hello world", "not a Huren presentation code")


def test_refuses_empty_body() -> None:
    refused("HR1:", "nothing after the prefix")


def test_refuses_lower_case_base45(valid_text: str) -> None:
    refused(valid_text[:10] + valid_text[10:].lower(), "is not Base45", "大写字母")


def test_refuses_non_base45_character(valid_text: str) -> None:
    refused(valid_text + "\n", "is not Base45")


def test_refuses_truncated_base45(valid_text: str) -> None:
    body_len = len(valid_text) - len(PREFIX)
    cut = {0: 2, 1: 0, 2: 1}[body_len % 3]  # leave a body of length = 1 (mod 3)
    text = valid_text[: len(valid_text) - cut] if cut else valid_text + "0"
    if (len(text) - len(PREFIX)) % 3 != 1:
        text = text[:-1]
    refused(text, "bad Base45 length")


def test_refuses_base45_group_above_65535() -> None:
    refused("HR1:::::::", "exceeds 65535")


def test_refuses_base45_final_pair_above_255() -> None:
    refused("HR1:000::", "exceeds 255")


# ----------------------------------------------------------------------------- zlib-level refusals


def test_refuses_data_that_is_not_zlib() -> None:
    refused(PREFIX + _b45encode(b"\x00\x01\x02\x03garbage"), "damaged zlib data")


def test_refuses_truncated_zlib(valid_text: str) -> None:
    compressed = zlib.compress(cbor2.dumps(item_of(valid_text), canonical=True), 9)
    refused(PREFIX + _b45encode(compressed[:-6]), "truncated zlib data")


def test_refuses_bytes_after_the_zlib_stream(valid_text: str) -> None:
    compressed = zlib.compress(cbor2.dumps(item_of(valid_text), canonical=True), 9)
    refused(PREFIX + _b45encode(compressed + b"\x00"), "trailing bytes after the zlib data")


def test_refuses_zlib_bomb() -> None:
    bomb = zlib.compress(b"\x00" * 1_000_000, 9)  # about 1 KB in, 1 MB out
    assert len(PREFIX + _b45encode(bomb)) <= MAX_TEXT_CHARS
    refused(PREFIX + _b45encode(bomb), f"more than {MAX_DECOMPRESSED_BYTES} bytes")


# ----------------------------------------------------------------------------- CBOR-level refusals


def test_refuses_invalid_cbor() -> None:
    refused(text_of_raw(b"\x1c"), "invalid CBOR")


def test_refuses_bytes_after_the_cbor_item(valid_text: str) -> None:
    refused(text_of_raw(cbor2.dumps(item_of(valid_text), canonical=True) + b"\x00"), "trailing bytes after the CBOR")


def test_refuses_bad_utf8_in_text() -> None:
    refused(text_of_raw(b"\x8e\x62\xff\xfe"), "not valid UTF-8")


def test_refuses_top_level_map() -> None:
    refused(text_of_item({"a": 1}), "top-level item must be an array")


def test_refuses_wrong_array_length(valid_text: str) -> None:
    refused(mutated(valid_text, lambda item: item.pop()), "must have 14 items")


def test_refuses_unsupported_presentation_version(valid_text: str) -> None:
    refused(mutated(valid_text, _set(VERSION, 2)), "unsupported presentation version 2")


def test_refuses_non_shortest_integer(valid_text: str) -> None:
    raw = cbor2.dumps(item_of(valid_text), canonical=True)
    assert raw[:2] == b"\x8e\x01"
    refused(text_of_raw(b"\x8e\x18\x01" + raw[2:]), "non-canonical CBOR")


def test_refuses_indefinite_length_array(valid_text: str) -> None:
    raw = cbor2.dumps(item_of(valid_text), canonical=True)
    refused(text_of_raw(b"\x9f" + raw[1:] + b"\xff"), "non-canonical CBOR")


def test_refuses_tags(valid_text: str) -> None:
    raw = cbor2.dumps(item_of(valid_text), canonical=True)
    refused(text_of_raw(b"\xd9\xd9\xf7" + raw), "non-canonical CBOR")  # self-describe tag 55799


def test_refuses_duplicate_map_keys_in_a_value(valid_text: str) -> None:
    item = mutated_item(valid_text, _set_field(0, VALUE, {"a": 1, "b": 2}))
    raw = cbor2.dumps(item, canonical=True)
    refused(text_of_raw(raw.replace(b"\xa2\x61a\x01\x61b\x02", b"\xa2\x61a\x01\x61a\x02")), "non-canonical CBOR")


def test_refuses_unsorted_map_keys_in_a_value(valid_text: str) -> None:
    item = mutated_item(valid_text, _set_field(0, VALUE, {"a": 1, "b": 2}))
    raw = cbor2.dumps(item, canonical=True)
    refused(text_of_raw(raw.replace(b"\xa2\x61a\x01\x61b\x02", b"\xa2\x61b\x02\x61a\x01")), "non-canonical CBOR")


# ----------------------------------------------------------------------------- structure refusals


def test_refuses_fields_that_are_not_an_array(valid_text: str) -> None:
    refused(mutated(valid_text, _set(FIELDS, {})), "fields must be an array")


def test_refuses_empty_fields(valid_text: str) -> None:
    refused(mutated(valid_text, _set(FIELDS, [])), "field count must be 1..64")


def test_refuses_too_many_fields(valid_text: str) -> None:
    many = [x for i in range(65) for x in (f"claims.f{i}", i)]
    refused(mutated(valid_text, _set(FIELDS, many)), "field count must be 1..64")


def test_refuses_fields_that_are_not_path_value_pairs(valid_text: str) -> None:
    refused(mutated(valid_text, lambda item: item[FIELDS].pop()), "flat list of path, value pairs")  # type: ignore[union-attr]


def test_refuses_unknown_path_index(valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, PATH, len(PATH_TABLE))), "is not in the HR1 table")


def test_refuses_table_path_sent_as_text(valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, PATH, "validFrom")), "must be sent as its table index")


def test_refuses_malformed_path(valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, PATH, "claims..x")), "malformed path")


def test_refuses_path_of_wrong_type(valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, PATH, b"id")), "path must be a table index or text")


def test_refuses_duplicate_field(valid_text: str) -> None:
    def dup(item: list[object]) -> None:
        item[FIELDS] += item[FIELDS][:2]  # type: ignore[operator,index]
        item[SALTS] += item[SALTS][:16]  # type: ignore[operator,index]

    refused(mutated(valid_text, dup), "duplicate field")


def test_refuses_salts_of_wrong_total_length(valid_text: str) -> None:
    refused(mutated(valid_text, lambda item: item.__setitem__(SALTS, item[SALTS][:-1])), "salts must be")  # type: ignore[index]


def test_refuses_salts_that_are_not_bytes(valid_text: str) -> None:
    refused(mutated(valid_text, _set(SALTS, "00" * 16)), "salts must be a byte string")


def test_refuses_integer_outside_json_range(valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, VALUE, 2**53)), "integer outside")


def test_refuses_nan_value(valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, VALUE, float("nan"))), "NaN or infinity")


def test_refuses_unexpected_byte_string_value(valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, VALUE, bytes(19))), "unexpected byte string value")


def test_refuses_deeply_nested_value(valid_text: str) -> None:
    deep: object = 1
    for _ in range(9):
        deep = [deep]
    refused(mutated(valid_text, _set_field(0, VALUE, deep)), "nested deeper than 8")


def test_refuses_oversized_text_value(valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, VALUE, "证" * 1025)), "text longer than 1024")


def test_refuses_checksummed_address_sent_as_text(world: World, valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, VALUE, world.holder_address)), "must travel as 20 bytes")


def test_refuses_non_string_map_key_in_value(valid_text: str) -> None:
    refused(mutated(valid_text, _set_field(0, VALUE, {1: "a"})), "object keys must be short text")


def test_refuses_proof_not_a_multiple_of_32_bytes(valid_text: str) -> None:
    refused(mutated(valid_text, _set(PROOF, bytes(33))), "multiproof length 33 is not a multiple of 32")


def test_refuses_too_many_batch_proof_hashes(valid_text: str) -> None:
    refused(mutated(valid_text, _set(BATCH_PROOF, bytes(32 * 33))), "batch proof: 33 hashes, limit 32")


def test_refuses_flags_of_wrong_length(valid_text: str) -> None:
    refused(mutated(valid_text, lambda item: item.__setitem__(FLAGS, item[FLAGS] + b"\x00")), "proof flags must be")  # type: ignore[operator]


def test_refuses_non_zero_flag_padding(valid_text: str) -> None:
    item = item_of(valid_text)
    while (len(item[FIELDS]) // 2 + len(item[PROOF]) // 32 - 1) % 8 == 0:  # type: ignore[arg-type]
        item[FIELDS] += [f"claims.extra{len(item[FIELDS])}", 1]  # type: ignore[operator]
        item[SALTS] += bytes(16)  # type: ignore[operator]
    count = len(item[FIELDS]) // 2 + len(item[PROOF]) // 32 - 1  # type: ignore[arg-type]
    flags = bytearray((count + 7) // 8)
    flags[-1] |= 1
    item[FLAGS] = bytes(flags)
    refused(text_of_item(item), "padding bits must be zero")


def test_refuses_document_root_of_wrong_length(valid_text: str) -> None:
    refused(mutated(valid_text, _set(DOC_ROOT, bytes(31))), "document root must be 32 bytes, got 31")


def test_refuses_batch_root_of_wrong_length(valid_text: str) -> None:
    refused(mutated(valid_text, _set(BATCH_ROOT, bytes(33))), "batch root must be 32 bytes, got 33")


def test_refuses_issuer_signature_of_wrong_length(valid_text: str) -> None:
    refused(mutated(valid_text, _set(ISSUER_SIG, bytes(64))), "issuer signature must be 65 bytes, got 64")


def test_refuses_holder_signature_of_wrong_length(valid_text: str) -> None:
    refused(mutated(valid_text, _set(HOLDER_SIG, bytes(66))), "holder signature must be 65 bytes, got 66")


def test_refuses_negative_creation_time(valid_text: str) -> None:
    refused(mutated(valid_text, _set(CREATED, -1)), "created_at must be an unsigned integer")


def test_refuses_boolean_creation_time(valid_text: str) -> None:
    refused(mutated(valid_text, _set(CREATED, True)), "created_at must be an unsigned integer")


def test_refuses_zero_lifetime(valid_text: str) -> None:
    refused(mutated(valid_text, _set(TTL, 0)), "ttl must be an integer in [1, 86400]")


def test_refuses_lifetime_over_a_day(valid_text: str) -> None:
    refused(mutated(valid_text, _set(TTL, 86_401)), "ttl must be an integer in [1, 86400]")


def test_refuses_short_nonce(valid_text: str) -> None:
    refused(mutated(valid_text, _set(NONCE, bytes(7))), "nonce must be 8..16 bytes")


def test_refuses_long_nonce(valid_text: str) -> None:
    refused(mutated(valid_text, _set(NONCE, bytes(17))), "nonce must be 8..16 bytes")


def test_refuses_purpose_over_200_characters(valid_text: str) -> None:
    refused(mutated(valid_text, _set(PURPOSE, "事" * 201)), "purpose has 201 characters, limit 200")


def test_refuses_control_characters_in_purpose(valid_text: str) -> None:
    refused(mutated(valid_text, _set(PURPOSE, "办理\x1b[31m")), "control characters")


def test_refuses_bidi_override_in_purpose(valid_text: str) -> None:
    refused(mutated(valid_text, _set(PURPOSE, "办理\u202e款贷")), "control characters")


def test_refuses_purpose_that_is_not_text(valid_text: str) -> None:
    refused(mutated(valid_text, _set(PURPOSE, b"purpose")), "purpose must be text")


def test_refuses_empty_multiproof_without_fields() -> None:
    # No fields at all is refused before the flags are looked at.
    item = [1, [], b"", b"", b"", bytes(32), bytes(32), b"", bytes(65), 0, 1, bytes(8), "", None]
    refused(text_of_item(item), "field count")


# ----------------------------------------------------------------------------- reference form


def test_reference_round_trip() -> None:
    token = new_reference_token()
    url = make_reference("https://verify.example.gov.cn/", token)
    assert url == f"https://verify.example.gov.cn/r/{token}"
    assert parse_reference(url) == token


def test_reference_under_a_path_prefix_and_port() -> None:
    token = new_reference_token()
    url = make_reference("https://gw.example.cn:8443/huren", token)
    assert url == f"https://gw.example.cn:8443/huren/r/{token}"
    assert parse_reference(url, base_url="https://gw.example.cn:8443/huren/") == token


def test_reference_tokens_carry_128_random_bits() -> None:
    tokens = {new_reference_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(t) == 22 for t in tokens)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("https://h.cn/r/AAAAAAAAAAAAAAAAAAAAAA?x=1", "without query or fragment"),
        ("https://h.cn/r/AAAAAAAAAAAAAAAAAAAAAA#frag", "without query or fragment"),
        ("ftp://h.cn/r/AAAAAAAAAAAAAAAAAAAAAA", "http(s) URL"),
        ("https://user@h.cn/r/AAAAAAAAAAAAAAAAAAAAAA", "http(s) URL"),
        ("https://h.cn/x/AAAAAAAAAAAAAAAAAAAAAA", "must end in /r/<token>"),
        ("https://h.cn/r/AAAAAAAAAAAAAAAAAAAAAA/", "must end in /r/<token>"),
        ("https://h.cn/r/AAAAAAAAAAAAAAAAAAAAA", "22 Base64url characters"),
        ("https://h.cn/r/AAAAAAAAAAAAAAAAAAAAA+", "22 Base64url characters"),
        ("https://h.cn/r/AAAAAAAAAAAAAAAAAAAAAB", "not canonical"),
        ("https://h.cn/r/" + "A" * 600, "at most 512"),
    ],
)
def test_reference_refusals(text: str, phrase: str) -> None:
    with pytest.raises(PresentationDecodeError) as info:
        parse_reference(text)
    assert phrase in str(info.value)


def test_reference_to_a_foreign_host_is_refused_when_base_is_given() -> None:
    url = make_reference("https://evil.example.com", new_reference_token())
    with pytest.raises(PresentationDecodeError, match=r"not at https://verify\.example\.gov\.cn"):
        parse_reference(url, base_url="https://verify.example.gov.cn")


def test_make_reference_refuses_bad_base_url_and_token() -> None:
    with pytest.raises(ValueError):
        make_reference("https://h.cn/?q=1", new_reference_token())
    with pytest.raises(ValueError):
        make_reference("https://h.cn", "short")
