"""Salting, hashing and EIP-712 signing of a validated certificate (issuers.sealing)."""

from __future__ import annotations

import math
import os

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from common.canonical import canonicalize
from common.document import SALT_BYTES, document_root, flatten
from common.document import field_leaf as common_field_leaf
from common.eip712 import Domain, recover_signer, sign_document_root
from issuers.errors import IssuerMismatch
from issuers.model import Issuer, validate_certificate
from issuers.samples import TYPE_CODES, sample_document, sample_issuer
from issuers.sealing import Sealer, field_leaf, jcs

DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


def _certificate(address: str, type_code: str = TYPE_CODES["resident_id_card"], seed: int = 1):
    template = sample_issuer(type_code, "110105")
    issuer = Issuer(template.credit_code, template.region, template.name, address)
    return validate_certificate(sample_document(type_code, seed, issuer=issuer))


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(KEY, DOMAIN)


def test_signature_is_the_common_eip712_signature_of_the_root(sealer):
    sealed = sealer.seal(_certificate(sealer.address))
    assert sealed.signature == sign_document_root(KEY, DOMAIN, sealed.document_root)
    assert recover_signer(DOMAIN, sealed.document_root, sealed.signature) == sealer.address


def test_sealer_address_is_the_keys_ethereum_address(sealer):
    assert sealer.address == Account.from_key(KEY).address


def test_document_root_is_the_root_of_the_salted_fields(sealer):
    sealed = sealer.seal(_certificate(sealer.address))
    assert document_root(list(sealed.fields)) == sealed.document_root


def test_every_field_that_a_code_may_hide_is_salted_with_its_own_128_bit_salt(sealer):
    from common.document import ALWAYS_DISCLOSED

    cert = _certificate(sealer.address)
    sealed = sealer.seal(cert)
    assert [f.path for f in sealed.fields] == list(flatten(cert.to_document()))
    assert all(len(f.salt) == SALT_BYTES == 16 for f in sealed.fields)
    hideable = [f.salt for f in sealed.fields if f.path not in ALWAYS_DISCLOSED]
    assert len(set(hideable)) == len(hideable)
    assert not any(s[1:] == bytes(15) for s in hideable)


def test_fields_every_code_shows_get_a_short_salt(sealer):
    """A tweak byte and 15 zero bytes: HR2 then sends one byte instead of sixteen (codec.py)."""
    from common.document import ALWAYS_DISCLOSED

    sealed = sealer.seal(_certificate(sealer.address))
    shown = [f for f in sealed.fields if f.path in ALWAYS_DISCLOSED]
    assert {f.path for f in shown} == set(ALWAYS_DISCLOSED)
    assert all(len(f.salt) == 16 and f.salt[1:] == bytes(15) for f in shown)


def test_sealing_the_same_certificate_twice_gives_unlinkable_roots(sealer):
    cert = _certificate(sealer.address)
    assert sealer.seal(cert).document_root != sealer.seal(cert).document_root


def test_signature_is_bound_to_the_deployment(sealer):
    sealed = sealer.seal(_certificate(sealer.address))
    elsewhere = Domain(31337, "0x" + os.urandom(20).hex())
    assert recover_signer(elsewhere, sealed.document_root, sealed.signature) != sealer.address


def test_certificate_naming_another_signing_key_is_refused(sealer):
    with pytest.raises(IssuerMismatch, match="签名地址"):
        sealer.seal(_certificate(Account.create().address))


def test_sealer_never_shows_its_key(sealer):
    assert KEY.hex() not in repr(sealer)


# ----------------------------------------------------------------------------- fast leaves

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(st.characters(exclude_categories=())),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=400)
@given(st.binary(min_size=16, max_size=16), st.text(min_size=1).filter(lambda p: "\x00" not in p), _json_values)
def test_fast_field_leaf_equals_the_common_field_leaf_or_refuses_alike(salt, path, value):
    try:
        expected = common_field_leaf(salt, path, value)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            field_leaf(salt, path, value)
        return
    assert field_leaf(salt, path, value) == expected


@pytest.mark.parametrize("text", ["", "\x00\x1f\x7f", '"\\/', "\b\f\n\r\t", "中文\u2028\u2029", "😀", "\ud800"])
def test_fast_jcs_of_tricky_strings_matches_rfc8785(text):
    try:
        expected = canonicalize(text)
    except ValueError:
        with pytest.raises(ValueError):
            jcs(text)
        return
    assert jcs(text) == expected


def test_sealed_root_equals_the_common_document_root_over_the_same_salts(sealer):
    sealed = sealer.seal(_certificate(sealer.address, TYPE_CODES["birth_certificate"], 3))  # floats, nesting
    assert sealed.document_root == document_root(list(sealed.fields))


@pytest.mark.parametrize("type_name", sorted(TYPE_CODES))
def test_the_default_presets_fields_sort_to_one_end_of_the_document_tree(sealer, type_name):
    """Salts are drawn so that the fields a default code shows sort together (short multiproofs)."""
    from common.document import ALWAYS_DISCLOSED, disclose
    from common.merkle import standard_leaf

    sealed = sealer.seal(_certificate(sealer.address, TYPE_CODES[type_name]))
    front = set(ALWAYS_DISCLOSED) | set(sealed.certificate.certificate_type.default_disclosure)
    for f in sealed.fields:
        first_bit = standard_leaf(common_field_leaf(f.salt, f.path, f.value))[0] >> 7
        assert first_bit == (0 if f.path in front else 1), f.path
    # One contiguous run of sorted leaves: its multiproof needs at most the run's two borders per level.
    shown = [f.path for f in sealed.fields if f.path in front]
    assert len(disclose(list(sealed.fields), shown).proof) <= 2 * math.ceil(math.log2(len(sealed.fields)))


def test_chosen_salts_stay_distinct_and_full_length(sealer):
    from common.document import ALWAYS_DISCLOSED

    sealed = [sealer.seal(_certificate(sealer.address, seed=n)) for n in range(20)]
    salts = [f.salt for s in sealed for f in s.fields if f.path not in ALWAYS_DISCLOSED]
    assert all(len(s) == SALT_BYTES for s in salts)
    assert len(set(salts)) == len(salts)
