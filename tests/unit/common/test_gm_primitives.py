"""common.gm, cross-checked: the standards' vectors, and two other implementations both ways.

The second implementations: the pure-Python `gmssl` package (a test-only dependency; never in a
hot path) and the npm `sm-crypto` package run by node (sm_crypto_ref.js) — the JavaScript one
browsers and mini-programs use, so a signature made here must verify there and the other way
round. Tongsuo (tongsuopy) gives the raw SM4 block through ECB and a second SM4-GCM.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import gmssl_pyx
import pytest
from gmssl import sm2 as pure_sm2
from gmssl import sm3 as pure_sm3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tongsuopy.crypto.ciphers import Cipher, algorithms, modes
from tongsuopy.crypto.ciphers.aead import SM4GCM

from common import gm

SCRIPT = Path(__file__).with_name("sm_crypto_ref.js")
SM_CRYPTO = Path(__file__).parents[3] / "node_modules" / "sm-crypto"
needs_sm_crypto = pytest.mark.skipif(
    shutil.which("node") is None or not SM_CRYPTO.is_dir(),
    reason="needs node and node_modules/sm-crypto (run `make setup`)",
)

# A private key and its public key as printed in the SM2 signature examples on the recommended
# curve (GM/T 0003.5 / GB/T 32918.5 appendix, as widely reproduced; the standard's own text was not
# at hand) — three implementations below must derive exactly this point.
EXAMPLE_D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
EXAMPLE_Q = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
SM4_KAT_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")  # GB/T 32907 appendix A: key = plaintext
SM4_KAT_CIPHERTEXT = bytes.fromhex("681edf34d206965e86b3e94f536e4246")

_KEYS = [gm.sm2_generate_keypair() for _ in range(3)]


def _run_sm_crypto(request: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(request))
    done = subprocess.run(["node", str(SCRIPT), str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _pure(private_key: bytes | None, public_key: bytes) -> pure_sm2.CryptSM2:
    """gmssl's signer; its constructor's lstrip("04") would eat an x that starts with 04, so the key is set after."""
    crypt = pure_sm2.CryptSM2(private_key=private_key.hex() if private_key else "", public_key="")
    crypt.public_key = gm.sm2_normalize_public_key(public_key)[1:].hex()
    return crypt


def _pure_sign(pair: gm.SM2KeyPair, message: bytes) -> bytes:
    return bytes.fromhex(_pure(pair.private_key, pair.public_key).sign_with_sm3(message))


def _pure_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    return bool(_pure(None, public_key).verify_with_sm3(signature.hex(), message))


def _flip(data: bytes, bit: int) -> bytes:
    i = bit % (8 * len(data))
    return data[: i // 8] + bytes([data[i // 8] ^ (1 << (i % 8))]) + data[i // 8 + 1 :]


# ---------------------------------------------------------------------------------------- SM3


def test_sm3_of_abc_is_the_standards_first_example():
    assert gm.sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_of_abcd_sixteen_times_is_the_standards_second_example():
    assert gm.sm3(b"abcd" * 16).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_sm3_agrees_with_pure_python_gmssl(data):
    assert gm.sm3(data).hex() == pure_sm3.sm3_hash(list(data))


def test_sm3_takes_a_bytearray_as_its_bytes():
    assert gm.sm3(bytearray(b"abc")) == gm.sm3(b"abc")


@needs_sm_crypto
def test_sm3_agrees_with_sm_crypto_across_block_boundaries(tmp_path):
    messages = [os.urandom(n) for n in (0, 1, 55, 56, 63, 64, 65, 119, 120, 200, 1000)]
    answers = _run_sm_crypto({"sm3": [m.hex() for m in messages]}, tmp_path)
    assert answers["sm3"] == [gm.sm3(m).hex() for m in messages]


# ---------------------------------------------------------------------------------------- SM2 keys


def test_example_private_key_derives_the_examples_public_key():
    assert gm.sm2_public_key(EXAMPLE_D) == EXAMPLE_Q


def test_pure_python_gmssl_derives_the_examples_public_key_too():
    crypt = pure_sm2.CryptSM2(private_key=EXAMPLE_D.hex(), public_key="")
    assert crypt._kg(int.from_bytes(EXAMPLE_D, "big"), pure_sm2.default_ecc_table["g"]) == EXAMPLE_Q[1:].hex()


@needs_sm_crypto
def test_public_key_derivation_agrees_with_sm_crypto(tmp_path):
    privates = [EXAMPLE_D, b"\x00" * 31 + b"\x01", (gm.SM2_N - 2).to_bytes(32, "big")] + [
        pair.private_key for pair in _KEYS
    ]
    answers = _run_sm_crypto({"derive": [d.hex() for d in privates]}, tmp_path)
    assert answers["derive"] == [gm.sm2_public_key(d).hex() for d in privates]


def test_private_key_one_derives_the_base_point():
    assert gm.sm2_public_key((1).to_bytes(32, "big")) == b"\x04" + gm.SM2_GX.to_bytes(32, "big") + gm.SM2_GY.to_bytes(
        32, "big"
    )


def test_a_generated_key_pairs_public_key_is_its_private_keys():
    pair = gm.sm2_generate_keypair()
    assert len(pair.private_key) == 32 and len(pair.public_key) == 65
    assert gm.sm2_public_key(pair.private_key) == pair.public_key


def test_a_key_pairs_repr_never_shows_the_private_key():
    pair = _KEYS[0]
    assert pair.private_key.hex() not in repr(pair) and repr(pair.private_key) not in repr(pair)


@pytest.mark.parametrize(
    ("private_key", "says"),
    [
        (b"\x01" * 31, "32 bytes, got 31 bytes"),
        (b"\x01" * 33, "32 bytes, got 33 bytes"),
        ("01" * 32, "32 bytes, got str"),
        (bytes(32), "[1, n-2]"),
        ((gm.SM2_N - 1).to_bytes(32, "big"), "[1, n-2]"),
        (gm.SM2_N.to_bytes(32, "big"), "[1, n-2]"),
        (b"\xff" * 32, "[1, n-2]"),
    ],
    ids=["short", "long", "hex-text", "zero", "n-1", "n", "all-ones"],
)
def test_a_private_key_that_is_not_one_is_refused_saying_why(private_key, says):
    with pytest.raises(gm.SM2PrivateKeyError, match=r"SM2") as refused:
        gm.sm2_public_key(private_key)
    assert says in str(refused.value)
    with pytest.raises(gm.SM2PrivateKeyError):
        gm.sm2_sign(private_key, b"message")


def test_a_64_byte_public_key_is_the_same_key_as_its_65_byte_form():
    assert gm.sm2_normalize_public_key(EXAMPLE_Q[1:]) == EXAMPLE_Q


def test_a_65_byte_public_key_without_the_04_prefix_is_refused():
    with pytest.raises(gm.SM2PublicKeyError, match="starts with 04, this one with 03"):
        gm.sm2_normalize_public_key(b"\x03" + EXAMPLE_Q[1:])


def test_a_point_off_the_curve_is_refused():
    off = EXAMPLE_Q[:-1] + bytes([EXAMPLE_Q[-1] ^ 1])
    with pytest.raises(gm.SM2PublicKeyError, match="not a point on the SM2 curve"):
        gm.sm2_normalize_public_key(off)


def test_a_coordinate_not_below_p_is_refused():
    beyond = b"\x04" + gm.SM2_P.to_bytes(32, "big") + EXAMPLE_Q[33:]
    with pytest.raises(gm.SM2PublicKeyError, match="not below p"):
        gm.sm2_normalize_public_key(beyond)


def test_a_compressed_public_key_is_refused_saying_so():
    with pytest.raises(gm.SM2PublicKeyError, match="compressed keys are not accepted"):
        gm.sm2_normalize_public_key(b"\x03" + EXAMPLE_Q[1:33])


def test_a_public_key_given_as_hex_text_is_refused():
    with pytest.raises(gm.SM2PublicKeyError, match="is bytes, got str"):
        gm.sm2_normalize_public_key(EXAMPLE_Q.hex())


# ---------------------------------------------------------------------------------------- SM2 signatures


def test_a_signature_is_64_bytes_and_verifies_under_its_key():
    pair = _KEYS[0]
    signature = gm.sm2_sign(pair.private_key, b"document root")
    assert len(signature) == 64
    gm.sm2_verify(pair.public_key, b"document root", signature)
    assert gm.sm2_is_valid(pair.public_key[1:], b"document root", signature)


def test_two_signatures_of_one_message_differ_and_both_verify():
    pair = _KEYS[0]
    first, second = gm.sm2_sign(pair.private_key, b"m"), gm.sm2_sign(pair.private_key, b"m")
    assert first != second
    assert gm.sm2_is_valid(pair.public_key, b"m", first) and gm.sm2_is_valid(pair.public_key, b"m", second)


def test_the_signed_digest_includes_z_with_the_default_signer_id():
    """GmSSL's digest verifier accepts the signature over SM3(Z || m) and refuses it over SM3(m)."""
    pair = _KEYS[1]
    signature = gm.sm2_sign(pair.private_key, b"root")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    der = encode_dss_signature(r, s)
    assert gmssl_pyx.sm2_verify_sm3_digest(pair.public_key[1:], gm.sm3(gm.sm2_z(pair.public_key) + b"root"), der)
    assert not gmssl_pyx.sm2_verify_sm3_digest(pair.public_key[1:], gm.sm3(b"root"), der)
    assert gm.sm2_z(pair.public_key) == gm.sm3(
        b"\x00\x80"
        + b"1234567812345678"
        + b"".join(v.to_bytes(32, "big") for v in (gm.SM2_A, gm.SM2_B, gm.SM2_GX, gm.SM2_GY))
        + pair.public_key[1:]
    )


def test_a_signature_under_another_key_is_refused():
    signature = gm.sm2_sign(_KEYS[0].private_key, b"root")
    with pytest.raises(gm.SM2SignatureInvalid, match="does not verify"):
        gm.sm2_verify(_KEYS[1].public_key, b"root", signature)


def test_a_signature_of_another_message_is_refused():
    signature = gm.sm2_sign(_KEYS[0].private_key, b"root")
    with pytest.raises(gm.SM2SignatureInvalid):
        gm.sm2_verify(_KEYS[0].public_key, b"Root", signature)


@pytest.mark.parametrize(
    ("signature", "says"),
    [
        (b"\x01" * 63, "64 bytes r||s, got 63 bytes"),
        (b"\x01" * 65, "64 bytes r||s, got 65 bytes"),
        (bytes(32) + b"\x01" * 32, "[1, n-1]"),
        (b"\x01" * 32 + bytes(32), "[1, n-1]"),
        (gm.SM2_N.to_bytes(32, "big") + b"\x01" * 32, "[1, n-1]"),
        (b"\x01" * 32 + gm.SM2_N.to_bytes(32, "big"), "[1, n-1]"),
        ("ab" * 64, "got str"),
    ],
    ids=["short", "long", "r-zero", "s-zero", "r-n", "s-n", "hex-text"],
)
def test_a_signature_that_is_not_one_is_refused_as_malformed(signature, says):
    with pytest.raises(gm.SM2SignatureMalformed) as refused:
        gm.sm2_verify(_KEYS[0].public_key, b"root", signature)
    assert says in str(refused.value)
    assert not gm.sm2_is_valid(_KEYS[0].public_key, b"root", signature)


def test_a_der_signature_is_refused_with_a_hint_to_convert_it():
    pair = _KEYS[0]
    der = gmssl_pyx.sm2_sign(pair.private_key, pair.public_key[1:], b"root")
    with pytest.raises(gm.SM2SignatureMalformed, match="DER"):
        gm.sm2_verify(pair.public_key, b"root", der)


def test_verification_under_a_key_off_the_curve_is_refused_as_a_bad_key():
    signature = gm.sm2_sign(_KEYS[0].private_key, b"root")
    off = _KEYS[0].public_key[:-1] + bytes([_KEYS[0].public_key[-1] ^ 1])
    with pytest.raises(gm.SM2PublicKeyError):
        gm.sm2_verify(off, b"root", signature)
    assert not gm.sm2_is_valid(off, b"root", signature)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=512), st.sampled_from(range(len(_KEYS))))
def test_every_message_signed_verifies(message, which):
    pair = _KEYS[which]
    gm.sm2_verify(pair.public_key, message, gm.sm2_sign(pair.private_key, message))


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=256), st.integers(min_value=0))
def test_a_flipped_bit_in_the_message_is_refused(message, bit):
    pair = _KEYS[0]
    signature = gm.sm2_sign(pair.private_key, message)
    with pytest.raises(gm.SM2SignatureInvalid):
        gm.sm2_verify(pair.public_key, _flip(message, bit), signature)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=511))
def test_a_flipped_bit_in_the_signature_is_refused(message, bit):
    pair = _KEYS[0]
    signature = gm.sm2_sign(pair.private_key, message)
    with pytest.raises((gm.SM2SignatureInvalid, gm.SM2SignatureMalformed)):
        gm.sm2_verify(pair.public_key, message, _flip(signature, bit))


# ---- against the pure-Python gmssl


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.sampled_from(range(len(_KEYS))))
def test_our_signatures_verify_with_pure_python_gmssl(message, which):
    pair = _KEYS[which]
    assert _pure_verify(pair.public_key, message, gm.sm2_sign(pair.private_key, message))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.sampled_from(range(len(_KEYS))))
def test_pure_python_gmssl_signatures_verify_with_us(message, which):
    pair = _KEYS[which]
    gm.sm2_verify(pair.public_key, message, _pure_sign(pair, message))


def test_pure_python_gmssl_refuses_our_signature_of_another_message():
    pair = _KEYS[0]
    assert not _pure_verify(pair.public_key, b"other", gm.sm2_sign(pair.private_key, b"root"))


def test_we_refuse_a_pure_python_gmssl_signature_under_another_key():
    with pytest.raises(gm.SM2SignatureInvalid):
        gm.sm2_verify(_KEYS[1].public_key, b"root", _pure_sign(_KEYS[0], b"root"))


# ---- against sm-crypto (JavaScript)


@needs_sm_crypto
def test_our_signatures_verify_with_sm_crypto_and_its_refusals_match(tmp_path):
    cases = []
    for i, pair in enumerate(_KEYS):
        message = os.urandom(32 * i + 1)
        signature = gm.sm2_sign(pair.private_key, message)
        cases.append({"public": pair.public_key.hex(), "message": message.hex(), "signature": signature.hex()})
        altered = _flip(message, 3)
        cases.append({"public": pair.public_key.hex(), "message": altered.hex(), "signature": signature.hex()})
        other = _KEYS[(i + 1) % len(_KEYS)].public_key
        cases.append({"public": other.hex(), "message": message.hex(), "signature": signature.hex()})
    answers = _run_sm_crypto({"verify": cases}, tmp_path)
    assert answers["verify"] == [True, False, False] * len(_KEYS)


@needs_sm_crypto
def test_sm_crypto_signatures_verify_with_us(tmp_path):
    messages = [b"", b"abc", os.urandom(32), os.urandom(200)]
    cases = [(pair, m) for pair in _KEYS for m in messages]
    answers = _run_sm_crypto(
        {"sign": [{"private": pair.private_key.hex(), "message": m.hex()} for pair, m in cases]}, tmp_path
    )
    assert len(answers["sign"]) == len(cases)
    for (pair, message), signature_hex in zip(cases, answers["sign"], strict=True):
        gm.sm2_verify(pair.public_key, message, bytes.fromhex(signature_hex))
        with pytest.raises(gm.SM2SignatureInvalid):
            gm.sm2_verify(pair.public_key, message + b"!", bytes.fromhex(signature_hex))


# ---------------------------------------------------------------------------------------- SM4


def test_sm4_block_known_answer_through_tongsuo_ecb():
    encryptor = Cipher(algorithms.SM4(SM4_KAT_KEY), modes.ECB()).encryptor()
    assert encryptor.update(SM4_KAT_KEY) + encryptor.finalize() == SM4_KAT_CIPHERTEXT


def test_sm4_block_known_answer_through_gmssl_ctr_keystream():
    """gmssl-pyx (what common.gm seals with) has no ECB; CTR's first keystream block is E_K(counter)."""
    assert gmssl_pyx.sm4_ctr_encrypt(SM4_KAT_KEY, SM4_KAT_KEY, bytes(16)) == SM4_KAT_CIPHERTEXT


@needs_sm_crypto
def test_sm4_block_known_answer_through_sm_crypto(tmp_path):
    answers = _run_sm_crypto({"sm4_ecb": [{"key": SM4_KAT_KEY.hex(), "block": SM4_KAT_KEY.hex()}]}, tmp_path)
    assert answers["sm4_ecb"] == [SM4_KAT_CIPHERTEXT.hex()]


# RFC 8998 appendix A.1 (SM4-GCM for TLS 1.3).
RFC8998_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
RFC8998_NONCE = bytes.fromhex("00001234567800000000ABCD")
RFC8998_AAD = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
RFC8998_PLAINTEXT = bytes.fromhex(
    "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
)
RFC8998_SEALED = bytes.fromhex(
    "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    "83DE3541E4C2B58177E065A9BF7B62EC"
)


def test_sm4_gcm_matches_the_rfc_8998_vector():
    assert gm.sm4_gcm_encrypt(RFC8998_KEY, RFC8998_NONCE, RFC8998_PLAINTEXT, RFC8998_AAD) == RFC8998_SEALED
    assert gm.sm4_gcm_decrypt(RFC8998_KEY, RFC8998_NONCE, RFC8998_SEALED, RFC8998_AAD) == RFC8998_PLAINTEXT


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=12, max_size=12), st.binary(max_size=300),
       st.binary(max_size=40))
def test_sm4_gcm_round_trips_and_agrees_with_tongsuo(key, nonce, plaintext, aad):
    sealed = gm.sm4_gcm_encrypt(key, nonce, plaintext, aad)
    assert len(sealed) == len(plaintext) + gm.SM4_GCM_TAG_BYTES
    assert sealed == SM4GCM(key).encrypt(nonce, plaintext, aad)
    assert gm.sm4_gcm_decrypt(key, nonce, sealed, aad) == plaintext


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0))
def test_sm4_gcm_refuses_any_flipped_bit_of_the_sealed_bytes(plaintext, bit):
    key, nonce = os.urandom(16), os.urandom(12)
    sealed = gm.sm4_gcm_encrypt(key, nonce, plaintext, b"cert-id")
    with pytest.raises(gm.SM4DecryptionFailed, match="altered"):
        gm.sm4_gcm_decrypt(key, nonce, _flip(sealed, bit), b"cert-id")


def test_sm4_gcm_over_an_empty_plaintext_still_authenticates_its_associated_data():
    key, nonce = os.urandom(16), os.urandom(12)
    tag = gm.sm4_gcm_encrypt(key, nonce, b"", b"cert-1")
    assert len(tag) == gm.SM4_GCM_TAG_BYTES and tag == SM4GCM(key).encrypt(nonce, b"", b"cert-1")
    assert gm.sm4_gcm_decrypt(key, nonce, tag, b"cert-1") == b""
    with pytest.raises(gm.SM4DecryptionFailed):
        gm.sm4_gcm_decrypt(key, nonce, tag, b"cert-2")


@pytest.mark.parametrize("changed", ["key", "nonce", "aad"])
def test_sm4_gcm_refuses_another_key_nonce_or_associated_data(changed):
    key, nonce, aad = os.urandom(16), os.urandom(12), b"cert-1"
    sealed = gm.sm4_gcm_encrypt(key, nonce, b"110101199003077777", aad)
    other = {"key": _flip(key, 0), "nonce": _flip(nonce, 0), "aad": b"cert-2"}
    args = {"key": key, "nonce": nonce, "aad": aad} | {changed: other[changed]}
    with pytest.raises(gm.SM4DecryptionFailed):
        gm.sm4_gcm_decrypt(args["key"], args["nonce"], sealed, args["aad"])


@pytest.mark.parametrize(
    ("key", "nonce", "says"),
    [
        (bytes(15), bytes(12), "16 bytes, got 15"),
        (bytes(32), bytes(12), "16 bytes, got 32"),
        ("00" * 16, bytes(12), "got str"),
        (bytes(16), bytes(16), "12 bytes, got 16"),
        (bytes(16), bytes(8), "12 bytes, got 8"),
    ],
    ids=["key-15", "key-32", "key-text", "nonce-16", "nonce-8"],
)
def test_sm4_gcm_refuses_wrong_sized_keys_and_nonces(key, nonce, says):
    with pytest.raises(gm.SM4ParameterError) as refused:
        gm.sm4_gcm_encrypt(key, nonce, b"x")
    assert says in str(refused.value)
    with pytest.raises(gm.SM4ParameterError):
        gm.sm4_gcm_decrypt(key, nonce, bytes(32))


def test_sm4_gcm_refuses_a_ciphertext_shorter_than_its_tag():
    with pytest.raises(gm.SM4ParameterError, match="at least its 16-byte tag, got 15"):
        gm.sm4_gcm_decrypt(bytes(16), bytes(12), bytes(15))
