"""Encryption at rest of sensitive fields: AES-256-GCM bound to the certificate id, keyed fingerprints."""

from __future__ import annotations

import base64
import pickle

import pytest

from issuers.errors import FieldKeyError
from issuers.field_cipher import FieldCipher, key_text_from_env, new_field_key, parse_field_key


def test_sealed_data_opens_with_the_same_key():
    cipher = FieldCipher.from_key_text(new_field_key())
    blob = cipher.seal(b'{"holder.idNumber":"x"}', b"cert-1")
    assert cipher.open(blob, b"cert-1", cipher.key_id) == b'{"holder.idNumber":"x"}'


def test_sealing_twice_gives_different_ciphertexts():
    cipher = FieldCipher.from_key_text(new_field_key())
    assert cipher.seal(b"same", b"c") != cipher.seal(b"same", b"c")


def test_sealed_data_is_bound_to_its_certificate_id():
    cipher = FieldCipher.from_key_text(new_field_key())
    blob = cipher.seal(b"secret", b"cert-1")
    with pytest.raises(FieldKeyError, match="篡改或与证照记录不匹配"):
        cipher.open(blob, b"cert-2")


def test_altered_ciphertext_is_refused():
    cipher = FieldCipher.from_key_text(new_field_key())
    blob = bytearray(cipher.seal(b"secret", b"c"))
    blob[-1] ^= 1
    with pytest.raises(FieldKeyError):
        cipher.open(bytes(blob), b"c")


def test_data_sealed_with_another_key_is_reported_as_a_key_mismatch():
    mine, other = FieldCipher.from_key_text(new_field_key()), FieldCipher.from_key_text(new_field_key())
    blob = other.seal(b"secret", b"c")
    with pytest.raises(FieldKeyError, match="另一把字段加密密钥"):
        mine.open(blob, b"c", other.key_id)


def test_key_text_may_be_hex_or_base64():
    raw = bytes(range(32))
    assert parse_field_key(raw.hex()) == parse_field_key(base64.b64encode(raw).decode()) == raw


@pytest.mark.parametrize("text", ["", "abc", "00" * 31, "zz" * 32, base64.b64encode(b"x" * 16).decode()])
def test_malformed_key_text_is_refused(text):
    with pytest.raises(FieldKeyError, match="格式不正确"):
        parse_field_key(text)


def test_fingerprints_depend_on_the_key():
    a, b = FieldCipher.from_key_text(new_field_key()), FieldCipher.from_key_text(new_field_key())
    assert a.fingerprint(b"doc") == a.fingerprint(b"doc") != b.fingerprint(b"doc")


def test_cipher_neither_pickles_nor_shows_its_key():
    key = new_field_key()
    cipher = FieldCipher.from_key_text(key)
    assert key not in repr(cipher)
    with pytest.raises(TypeError):
        pickle.dumps(cipher)


def test_key_is_read_from_a_file_named_by_the_environment(tmp_path):
    key = new_field_key()
    (tmp_path / "k").write_text(key + "\n")
    assert key_text_from_env("K", {"K_FILE": str(tmp_path / "k")}).strip() == key
    assert key_text_from_env("K", {"K": key, "K_FILE": "/nonexistent"}) == key


def test_missing_key_names_the_variables_to_set():
    with pytest.raises(FieldKeyError, match="HUREN_FIELD_KEY或HUREN_FIELD_KEY_FILE"):
        key_text_from_env("HUREN_FIELD_KEY", {})
