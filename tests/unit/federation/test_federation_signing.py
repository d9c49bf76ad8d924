"""How this node signs its requests to other nodes (federation.signing), and RFC 9421's own example.

The RFC's Appendix B.2.6 (Ed25519) request is signed and verified through the same library and
the same message adapters the node uses (httpx.Request to sign, the checker's message to verify):
Ed25519 is deterministic, so the published signature bytes must come out exactly.
"""

from __future__ import annotations

import base64
import datetime
import hashlib

import http_sf
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from federation_world import BJ_URL, HE, NOW
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from hypothesis import given
from hypothesis import strategies as st

from federation.checking import _Fields, _Message, _TimeCheckedVerifier
from federation.node_key import NodeSigningKey, format_keyid, parse_keyid
from federation.signing import COVERED_COMPONENTS, REQUEST_TAG, NodeRequestAuth, sign_request

# RFC 9421 Appendix B.1.4 (test-key-ed25519) and B.2 / B.2.6.
RFC_PRIVATE_PEM = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
RFC_PUBLIC_SPKI_B64 = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs="
RFC_URL = "https://example.com/foo?param=Value&Pet=dog"
RFC_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": ("sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWX"
                       "vJwew==:"),
    "Content-Length": "18",
}
RFC_BODY = b'{"hello": "world"}'
RFC_COVERED = ("date", "@method", "@path", "@authority", "content-type", "content-length")
RFC_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
    '"content-length");created=1618884473;keyid="test-key-ed25519"'
)
RFC_SIGNATURE_INPUT = ('sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
                       ';created=1618884473;keyid="test-key-ed25519"')
RFC_SIGNATURE = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"


def _rfc_private_key() -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(RFC_PRIVATE_PEM, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _rfc_signer() -> HTTPMessageSigner:
    resolver = MappingKeyResolver(public_keys={}, private_keys={"test-key-ed25519": _rfc_private_key()})
    return HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=resolver)


def _rfc_request() -> httpx.Request:
    return httpx.Request("POST", RFC_URL, headers=RFC_HEADERS, content=RFC_BODY)


def _sign_kwargs() -> dict[str, object]:
    return {"key_id": "test-key-ed25519", "created": datetime.datetime.fromtimestamp(1618884473, datetime.UTC),
            "label": "sig-b26", "include_alg": False, "covered_component_ids": RFC_COVERED,
            "use_existing_digest": True}


def test_the_rfc_private_key_is_the_one_whose_public_half_the_rfc_publishes():
    spki = _rfc_private_key().public_key().public_bytes(serialization.Encoding.DER,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    assert base64.b64encode(spki).decode() == RFC_PUBLIC_SPKI_B64


def test_the_signature_base_of_an_httpx_request_is_rfc_9421_b_2_6s():
    prepared = _rfc_signer().prepare(_rfc_request(), **_sign_kwargs())  # type: ignore[arg-type]
    assert prepared.signature_base.decode() == RFC_BASE


def test_signing_an_httpx_request_gives_rfc_9421_b_2_6s_signature():
    r = _rfc_request()
    _rfc_signer().sign(r, **_sign_kwargs())  # type: ignore[arg-type]
    assert (r.headers["Signature-Input"], r.headers["Signature"]) == (RFC_SIGNATURE_INPUT, RFC_SIGNATURE)


def test_the_checkers_verifier_accepts_rfc_9421_b_2_6s_published_signature():
    public = serialization.load_der_public_key(base64.b64decode(RFC_PUBLIC_SPKI_B64))
    assert isinstance(public, Ed25519PublicKey)
    headers = (*RFC_HEADERS.items(), ("Signature-Input", RFC_SIGNATURE_INPUT), ("Signature", RFC_SIGNATURE))
    verifier = _TimeCheckedVerifier(signature_algorithm=algorithms.ED25519,
                                    key_resolver=MappingKeyResolver(public_keys={"test-key-ed25519": public},
                                                                    private_keys={}))
    (result,) = verifier.verify(_Message("POST", RFC_URL, _Fields(headers)), max_age=None)
    assert result.parameters == {"created": 1618884473, "keyid": "test-key-ed25519"}


def _params(request: httpx.Request) -> tuple[list[str], dict[str, object]]:
    (_label, (items, params)), = http_sf.parse(request.headers["Signature-Input"].encode(),
                                               tltype="dictionary").items()
    return [value for value, _ in items], params


@pytest.fixture
def key() -> NodeSigningKey:
    return NodeSigningKey(HE, "0x" + "ab" * 32, Ed25519PrivateKey.generate())


def test_a_node_request_signature_covers_method_target_and_content_digest(key):
    r = httpx.Request("POST", BJ_URL + "/v1/x?a=1", json={"a": 1})
    sign_request(r, key, now=NOW)
    components, _ = _params(r)
    assert components == list(COVERED_COMPONENTS)


def test_a_node_request_signature_carries_keyid_created_expires_nonce_and_the_node_request_tag(key):
    r = httpx.Request("GET", BJ_URL + "/v1/x")
    sign_request(r, key, now=NOW)
    _, params = _params(r)
    assert params["keyid"] == f"{HE}:0x{'ab' * 32}"
    assert (params["created"], params["expires"], params["tag"], params["alg"]) == (NOW, NOW + 60, REQUEST_TAG,
                                                                                     "ed25519")
    assert len(str(params["nonce"])) == 22


def test_every_signature_gets_a_fresh_nonce(key):
    nonces = set()
    for _ in range(20):
        r = httpx.Request("GET", BJ_URL + "/v1/x")
        sign_request(r, key, now=NOW)
        nonces.add(_params(r)[1]["nonce"])
    assert len(nonces) == 20


def test_the_content_digest_is_the_sha256_of_the_body_sent(key):
    r = httpx.Request("POST", BJ_URL + "/v1/x", json={"城市": "北京"})
    sign_request(r, key, now=NOW)
    expected = base64.b64encode(hashlib.sha256(r.read()).digest()).decode()
    assert r.headers["Content-Digest"] == f"sha-256=:{expected}:"


def test_a_content_digest_set_before_signing_is_replaced_by_the_bodys(key):
    r = httpx.Request("POST", BJ_URL + "/v1/x", content=b"real", headers={"Content-Digest": "sha-256=:AAAA:"})
    sign_request(r, key, now=NOW)
    assert r.headers.get_list("Content-Digest") == [
        f"sha-256=:{base64.b64encode(hashlib.sha256(b'real').digest()).decode()}:"]


def test_the_httpx_auth_signs_each_attempt_anew(key):
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Signature-Input"])
        return httpx.Response(200)

    with httpx.Client(auth=NodeRequestAuth(key), transport=httpx.MockTransport(answer)) as client:
        client.post(BJ_URL + "/v1/x", json={})
        client.post(BJ_URL + "/v1/x", json={})
    assert len(seen) == 2 and seen[0] != seen[1]


def test_the_node_key_never_shows_its_private_part(key):
    assert "private" not in repr(key) and str(HE) in repr(key)


_key_ids = st.text(alphabet=st.sampled_from("abcdefABCDEF0123456789xX-_."), min_size=1, max_size=80)


@given(region=st.integers(100000, 999999), key_id=_key_ids)
def test_a_keyid_parses_back_to_its_region_and_key_id(region, key_id):
    assert parse_keyid(format_keyid(region, key_id)) == (region, key_id)


@given(st.text(max_size=120))
def test_any_text_parses_to_a_six_digit_region_and_a_plain_key_id_or_to_nothing(text):
    parsed = parse_keyid(text)
    if parsed is not None:
        region, key_id = parsed
        assert 100000 <= region <= 999999 and key_id and format_keyid(region, key_id) == text


def test_the_rfc_examples_content_digest_matches_its_body_and_not_another():
    from http_message_signatures import ContentDigest, InvalidSignature

    ContentDigest.verify(RFC_HEADERS["Content-Digest"], RFC_BODY)
    with pytest.raises(InvalidSignature):
        ContentDigest.verify(RFC_HEADERS["Content-Digest"], b'{"hello": "world!"}')
