"""Format HR2: round trips, derived roots, compact signatures, and each refusal with its own message."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from verifier_world import SHANGHAI, World

from verifier.codec import (
    PREFIX_HR2,
    PresentationDecodeError,
    _b45decode,
    _b45encode,
    compact_signature,
    decode,
    encode,
)
from verifier.presentation import DEFAULT_NONCE_BYTES

# Positions in the HR2 array (codec.py's docstring).
SUITE, FIELDS, SALTS, PROOF, FLAGS, BATCH_PROOF, ISSUER_SIG = range(7)
CREATED, TTL, NONCE, PURPOSE, AUDIENCE, STAMP, HOLDER_SIG = range(7, 14)


def item_of(text: str) -> list[object]:
    return cbor2.loads(_b45decode(text[len(PREFIX_HR2):]))  # HR2: no zlib


def text_of(item: object) -> str:
    return PREFIX_HR2 + _b45encode(cbor2.dumps(item, canonical=True))


def mutated(text: str, change: Callable[[list[object]], None]) -> str:
    item = item_of(text)
    change(item)
    return text_of(item)


def refused(text: str, phrase: str) -> None:
    with pytest.raises(PresentationDecodeError) as info:
        decode(text)
    assert phrase in str(info.value), str(info.value)


@pytest.fixture
def stamped(world: World) -> str:
    return encode(world.present(0, ("holder.name", "claims.scope"), bound=True, audience=SHANGHAI))


def test_round_trip_keeps_everything_including_the_derived_roots(world: World) -> None:
    p = world.present(0, ("holder.name", "claims.scope"), bound=True, audience=SHANGHAI)
    back = decode(encode(p))
    assert back == p
    assert back.format == 2 and back.suite == 1 and back.stamp is not None


def test_hr2_carries_neither_root(stamped: str) -> None:
    item = item_of(stamped)
    assert len(item) == 14
    roots = {bytes(x) for x in item if isinstance(x, bytes) and len(x) == 32}
    p = decode(stamped)
    assert p.document_root not in roots and p.batch_root not in roots


def test_hr2_signatures_travel_in_64_bytes(stamped: str) -> None:
    item = item_of(stamped)
    assert len(item[ISSUER_SIG]) == 64 and len(item[HOLDER_SIG]) == 64 and len(item[STAMP]) == 64  # type: ignore[arg-type]


def test_hr2_is_shorter_than_hr1_minus_the_stamp(world: World) -> None:
    """The stamp (64 bytes) is paid for by the roots and signature bytes HR2 leaves out."""
    hr1 = encode(world.present(1, format=1))
    hr2 = encode(world.present(1, stamped=False))
    assert len(hr2) < len(hr1)


@settings(max_examples=200)
@given(r=st.integers(1, 2**256 - 1), s=st.integers(1, 2**255 - 1), v=st.sampled_from([27, 28]))
def test_compact_signatures_expand_to_the_same_65_bytes(r: int, s: int, v: int) -> None:
    from verifier.codec import expand_signature

    full = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v,))
    compact = compact_signature(full)
    assert len(compact) == 64 and expand_signature(compact) == full


def test_a_high_s_signature_has_no_compact_form() -> None:
    with pytest.raises(ValueError, match="high s"):
        compact_signature(b"\x01" * 32 + b"\x80" + b"\x00" * 31 + b"\x1b")


@settings(max_examples=30, deadline=None)
@given(purpose=st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=40),
       ttl=st.integers(1, 86_400), nonce=st.binary(min_size=8, max_size=16))
def test_round_trip_of_any_envelope(base_world: World, purpose: str, ttl: int, nonce: bytes) -> None:
    from dataclasses import replace

    from verifier.presentation import unsafe_text

    if unsafe_text(purpose):
        return
    p = replace(base_world.present(), purpose=purpose, expires_at=base_world.now - 30 + ttl, nonce=nonce, stamp=None)
    assert decode(encode(p)) == p


def test_a_suite_one_code_relabelled_suite_two_is_refused_for_its_signature_form(stamped: str) -> None:
    refused(mutated(stamped, lambda i: i.__setitem__(SUITE, 2)), "发证签名（国密）长度应为 84 字节")


def test_an_unknown_suite_is_refused(stamped: str) -> None:  # 1 and 2 are the only suites
    refused(mutated(stamped, lambda i: i.__setitem__(SUITE, 9)), "unknown crypto suite 9")


def test_a_stamp_of_the_wrong_length_is_refused(stamped: str) -> None:
    refused(mutated(stamped, lambda i: i.__setitem__(STAMP, b"\x01" * 65)), "stamp must be 64 bytes")


def test_a_65_byte_issuer_signature_is_refused_in_hr2(stamped: str) -> None:
    refused(mutated(stamped, lambda i: i.__setitem__(ISSUER_SIG, b"\x01" * 65)), "issuer signature must be 64 bytes")


@pytest.mark.parametrize("audience", [0, 99999, 1000000, "110000", -1])
def test_an_audience_that_is_no_region_code_is_refused(stamped: str, audience: object) -> None:
    refused(mutated(stamped, lambda i: i.__setitem__(AUDIENCE, audience)), "audience")


def test_an_inconsistent_multiproof_is_refused(stamped: str) -> None:
    def every_flag_set(item: list[object]) -> None:
        """Same count of flags, but each says "two hashes from the queue": the queue runs dry."""
        count = len(item[FIELDS]) // 2 + len(item[PROOF]) // 32 - 1  # type: ignore[arg-type]
        bits = int("1" * count + "0" * (-count % 8), 2)
        item[FLAGS] = bits.to_bytes((count + 7) // 8, "big")

    refused(mutated(stamped, every_flag_set), "inconsistent multiproof")


def test_the_hr1_array_under_the_hr2_prefix_is_refused(world: World) -> None:
    hr1 = encode(world.present(1, format=1))
    # HR1's body is zlib-compressed; HR2's is the CBOR itself: a zlib header (0x78) reads as the head
    # of a CBOR text string, whose bytes are then no valid UTF-8.
    refused(PREFIX_HR2 + hr1[4:], "UTF-8")


def test_hr2_sends_the_cbor_bytes_without_zlib(stamped: str) -> None:
    raw = _b45decode(stamped[len(PREFIX_HR2):])
    assert raw[0] == 0x8E  # a CBOR array of 14, not a zlib header
    zlib_text = PREFIX_HR2 + _b45encode(zlib.compress(raw, 9))
    refused(zlib_text, "UTF-8")


def test_an_hr2_code_has_a_twelve_byte_nonce_by_default(stamped: str) -> None:
    assert len(item_of(stamped)[NONCE]) == DEFAULT_NONCE_BYTES  # type: ignore[arg-type]


def test_the_hr2_path_table_extends_hr1s_without_duplicates() -> None:
    from verifier.codec import HR2_PATH_TABLE, PATH_TABLE

    assert HR2_PATH_TABLE[: len(PATH_TABLE)] == PATH_TABLE
    assert len(set(HR2_PATH_TABLE)) == len(HR2_PATH_TABLE) <= 256


@pytest.fixture(scope="module")
def licence_code() -> str:
    """A real business licence (catalogue claim paths), sealed by the issuer code, default preset, HR2."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from eth_account import Account
    from verifier_world import DOMAIN

    from common.stamp import StampSigner
    from issuers.catalogue import default_catalogue
    from issuers.model import Issuer
    from issuers.samples import TYPE_CODES, sample_certificate, sample_draft
    from issuers.sealing import Sealer
    from verifier.presentation import make_presentation

    type_code = TYPE_CODES["business_licence"]
    sealer = Sealer(bytes(Account.create().key), DOMAIN)
    sample = sample_draft(type_code, 3).issuer
    issuer = Issuer(sample.credit_code, sample.region, sample.name, sealer.address)
    sealed = sealer.seal(sample_certificate(type_code, 3, issuer=issuer))
    p = make_presentation(list(sealed.fields), default_catalogue().get(type_code).default_disclosure,  # type: ignore[union-attr]
                          batch_root=sealed.document_root, batch_proof=[], issuer_signature=sealed.signature,
                          purpose="办理备案", domain=DOMAIN, stamp_signer=StampSigner(issuer.region,
                                                                                  Ed25519PrivateKey.generate()))
    return encode(p)


def test_claim_paths_travel_as_hr2_table_indices(licence_code: str) -> None:
    from verifier.codec import HR2_PATH_TABLE, PATH_TABLE

    paths = item_of(licence_code)[FIELDS][0::2]  # type: ignore[index]
    assert all(type(x) is int for x in paths)
    assert any(x >= len(PATH_TABLE) for x in paths)  # a claim path, by its HR2-only index
    assert {HR2_PATH_TABLE[x] for x in paths} == set(decode(licence_code).disclosed())  # type: ignore[index]


def test_a_claim_path_in_the_hr2_table_sent_as_text_is_refused(licence_code: str) -> None:
    from verifier.codec import HR2_PATH_TABLE, PATH_TABLE

    def as_text(item: list[object]) -> None:
        flat = item[FIELDS]
        assert isinstance(flat, list)
        i = next(i for i in range(0, len(flat), 2) if flat[i] >= len(PATH_TABLE))
        flat[i] = HR2_PATH_TABLE[flat[i]]

    refused(mutated(licence_code, as_text), "must be sent as its table index")


def test_the_javascript_decoder_has_the_same_hr2_path_table() -> None:
    import re
    from pathlib import Path

    from verifier.codec import HR2_PATH_TABLE, PATH_TABLE

    js = (Path(__file__).parents[3] / "api/pages/static/verifier/hr1.mjs").read_text()
    block = js[js.index("export const HR2_PATH_TABLE"):]
    block = block[: block.index("]);")]
    assert tuple(re.findall(r"'([^']+)'", block)) == HR2_PATH_TABLE[len(PATH_TABLE):]


def test_the_decoder_hands_the_engine_the_leaves_it_derived_the_root_from(stamped: str) -> None:
    from common.document import field_leaf

    p = decode(stamped)
    assert p.derived_leaves() == [field_leaf(f.salt, f.path, f.value) for f in p.disclosure.fields]


def test_the_derived_leaves_are_not_reused_once_a_field_is_replaced(stamped: str) -> None:
    from dataclasses import replace

    from common.document import Disclosure, SaltedField

    p = decode(stamped)
    fields = [SaltedField(f.path, "李四" if f.path == "holder.name" else f.value, f.salt) for f in p.disclosure.fields]
    changed = replace(p, disclosure=Disclosure(fields, p.disclosure.proof, p.disclosure.flags))
    assert changed.derived_leaves() is None
    assert replace(p, document_root=b"\x00" * 32).derived_leaves() is None
