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


# ---- the 国密 choice: SM4-GCM (issue 17). A blob says its algorithm; old AES rows still open.

MASTER = bytes(range(32))
#: A blob the AES-only FieldCipher (before issue 17) sealed under MASTER for "cert-legacy-1", as stored rows hold it.
LEGACY_AES_BLOB = bytes.fromhex(
    "bbd7826059a9dc602654b13f0c19bc1d16922ae16f99395d23cd772fa38f0abf7ea825e818c21909cf94bb0665c3bcb0"
    "1877dbf6d751e98e0f4227a4fd7e7894d8a75130")
LEGACY_PLAINTEXT = b'{"holder.idNumber":"110101199003074514"}'
LEGACY_KEY_ID = "14782e7043e5538a"
LEGACY_FINGERPRINT = bytes.fromhex("aa0c30fa39c3d2a2d486ba5902154ddac565cde9e40804998072516afd0295d4")


def _sm4(master: bytes = MASTER) -> FieldCipher:
    return FieldCipher.from_key_text(f"sm4-gcm:{master.hex()}")


def test_a_suite_2_key_text_says_sm4_gcm_and_makes_an_sm4_cipher():
    text = new_field_key(2)
    assert text.startswith("sm4-gcm:") and len(parse_field_key(text.split(":", 1)[1])) == 32
    assert FieldCipher.from_key_text(text).algorithm == "sm4-gcm"


def test_a_suite_1_key_text_is_bare_hex_as_before_and_seals_with_aes():
    text = new_field_key()
    assert ":" not in text and len(text) == 64
    assert FieldCipher.from_key_text(text).algorithm == "aes-256-gcm"


def test_key_text_may_name_aes_explicitly_and_in_base64():
    assert FieldCipher.from_key_text("aes-256-gcm:" + MASTER.hex()).key_id == LEGACY_KEY_ID
    assert _sm4().key_id == FieldCipher.from_key_text("SM4-GCM:" + base64.b64encode(MASTER).decode()).key_id


def test_a_key_text_naming_an_unknown_algorithm_is_refused_in_words():
    with pytest.raises(FieldKeyError, match="sm4-gcm"):
        FieldCipher.from_key_text("chacha20:" + MASTER.hex())


def test_an_sm4_blob_starts_with_its_algorithm_and_opens():
    cipher = _sm4()
    blob = cipher.seal(b'{"holder.idNumber":"x"}', b"cert-1")
    assert blob.startswith(b"sm4-gcm\x01") and len(blob) == 8 + 12 + 23 + 16
    assert cipher.open(blob, b"cert-1", cipher.key_id) == b'{"holder.idNumber":"x"}'


def test_an_sm4_blob_is_sm4_gcm_by_common_gm():
    """Not AES under another name: the body opens with common.gm's SM4-GCM under the derived key."""
    from common.gm import sm4_gcm_decrypt
    from issuers.field_cipher import _derive_sm3

    blob = _sm4().seal(b"secret", b"c")
    assert sm4_gcm_decrypt(_derive_sm3(MASTER, b"sm4-gcm")[:16], blob[8:20], blob[20:], b"sm4-gcm\x01c") == b"secret"


def test_an_aes_blob_stored_before_sm4_existed_still_opens_with_either_cipher():
    assert FieldCipher(MASTER).key_id == _sm4().key_id == LEGACY_KEY_ID
    assert FieldCipher(MASTER).open(LEGACY_AES_BLOB, b"cert-legacy-1", LEGACY_KEY_ID) == LEGACY_PLAINTEXT
    assert _sm4().open(LEGACY_AES_BLOB, b"cert-legacy-1", LEGACY_KEY_ID) == LEGACY_PLAINTEXT


def test_a_store_holding_both_kinds_opens_each():
    aes, sm4 = FieldCipher(MASTER), _sm4()
    rows = [(aes.seal(b"old row", b"c1"), b"c1", b"old row"), (sm4.seal(b"new row", b"c2"), b"c2", b"new row")]
    for cipher in (aes, sm4):
        assert [cipher.open(blob, cid, cipher.key_id) for blob, cid, _ in rows] == [p for _, _, p in rows]


def test_an_aes_blob_whose_nonce_begins_like_the_sm4_magic_still_opens():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from issuers.field_cipher import _derive

    nonce = b"sm4-gcm\x01" + b"\x00" * 4
    blob = nonce + AESGCM(_derive(MASTER, b"aes-256-gcm")).encrypt(nonce, b"rare", b"c")
    assert _sm4().open(blob, b"c") == b"rare"


def test_an_sm4_blob_under_another_key_is_reported_as_a_key_mismatch():
    other = _sm4(bytes(32 * [7]))
    with pytest.raises(FieldKeyError, match="另一把字段加密密钥"):
        _sm4().open(other.seal(b"secret", b"c"), b"c", other.key_id)


def test_an_sm4_blob_opened_with_another_key_without_its_id_is_refused():
    with pytest.raises(FieldKeyError, match="篡改或与证照记录不匹配"):
        _sm4().open(_sm4(bytes(32 * [7])).seal(b"secret", b"c"), b"c")


@pytest.mark.parametrize("where", [0, 8, 20, -1])
def test_an_altered_sm4_blob_is_refused(where):
    """The magic, the nonce, the ciphertext and the tag: any altered byte is refused."""
    cipher = _sm4()
    blob = bytearray(cipher.seal(b"secret value", b"c"))
    blob[where] ^= 1
    with pytest.raises(FieldKeyError, match="篡改"):
        cipher.open(bytes(blob), b"c", cipher.key_id)


def test_an_sm4_blob_is_bound_to_its_certificate_id():
    cipher = _sm4()
    with pytest.raises(FieldKeyError, match="不匹配"):
        cipher.open(cipher.seal(b"secret", b"cert-1"), b"cert-2")


def test_sm4_fingerprints_are_hmac_sm3_and_aes_fingerprints_unchanged():
    import hmac

    from issuers.field_cipher import _derive_sm3

    assert FieldCipher(MASTER).fingerprint(b"doc") == LEGACY_FINGERPRINT
    expected = hmac.new(_derive_sm3(MASTER, b"hmac-sm3"), b"doc", "sm3").digest()  # OpenSSL's HMAC-SM3, test only
    assert _sm4().fingerprint(b"doc") == expected != LEGACY_FINGERPRINT


@pytest.mark.parametrize("key", [b"k", b"x" * 32, b"y" * 64])
@pytest.mark.parametrize("message", [b"", b"abc", b"z" * 1000])
def test_hmac_sm3_agrees_with_openssl(key, message):
    import hmac

    from issuers.field_cipher import _hmac_sm3

    assert _hmac_sm3(key, message) == hmac.new(key, message, "sm3").digest()


def test_an_sm4_cipher_does_not_show_its_key():
    text = new_field_key(2)
    assert text.split(":", 1)[1] not in repr(FieldCipher.from_key_text(text))
