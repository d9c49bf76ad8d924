"""Node-to-node requests signed with a 国密 SM2 node key (RFC 9421 `alg` sm2-sm3, issue 17 item 1).

The 北京 node (its clock at NOW) checks requests the 河北 node signs with an SM2 key registered as
suite 2 / sm2-sm3; the checker picks the algorithm from the registry, never from the request, so
a key of the other suite never explains a signature. One behaviour per test.
"""

from __future__ import annotations

import base64
from dataclasses import replace

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from federation_world import BJ, BJ_URL, HE, HE_URL, NOW, as_received

from common.gm import sm2_generate_keypair, sm2_sign, sm2_verify
from common.node_keys import SM2NodePrivateKey
from federation import refusals
from federation.algorithms import SM2_SM3
from federation.checking import IncomingRequest, RequestChecker
from federation.directory import REQUEST_SIGNING, SUITE_GUOMI, SUITE_STANDARD, NodeKey
from federation.node_key import NodeSigningKey
from federation.replay import NonceCache
from federation.signing import sign_request
from tests.federation_directory import InTestDirectory

PATH = "/v1/federation/references/fetch?lang=zh"


def _register_sm2(directory: InTestDirectory, key: NodeSigningKey, *, algorithm: str = "sm2-sm3",
                  suite: int = SUITE_GUOMI, public_key: bytes | None = None) -> None:
    directory.nodes[key.region] = HE_URL
    directory.keys[(key.region, key.key_id)] = NodeKey(
        key.region, key.key_id, suite, algorithm, key.public_bytes() if public_key is None else public_key,
        REQUEST_SIGNING, 0, None, False)


@pytest.fixture
def sm2_key() -> NodeSigningKey:
    return NodeSigningKey(HE, "2", SM2NodePrivateKey.generate())


@pytest.fixture
def sm2_directory(sm2_key: NodeSigningKey) -> InTestDirectory:
    d = InTestDirectory()
    d.register(BJ, BJ_URL, "1", Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    _register_sm2(d, sm2_key)
    return d


@pytest.fixture
def sm2_checker(sm2_directory: InTestDirectory, engine) -> RequestChecker:
    return RequestChecker(sm2_directory, NonceCache(engine), BJ, clock=lambda: NOW)


def signed(key: NodeSigningKey, body: object = None) -> IncomingRequest:
    r = httpx.Request("POST", BJ_URL + PATH, json={"token": "t-1"} if body is None else body)
    sign_request(r, key, now=NOW)
    return as_received(r)


def _flip_signature(r: IncomingRequest) -> IncomingRequest:
    headers = []
    for name, value in r.headers:
        if name.lower() == "signature":
            label, _, rest = value.partition("=:")
            raw = bytearray(base64.b64decode(rest.rstrip(":")))
            raw[10] ^= 1
            value = f"{label}=:{base64.b64encode(bytes(raw)).decode()}:"
        headers.append((name, value))
    return replace(r, headers=tuple(headers))


def test_an_sm2_node_key_signs_with_alg_sm2_sm3_and_a_64_byte_signature(sm2_key):
    r = signed(sm2_key)
    assert ';alg="sm2-sm3"' in dict(r.headers)["signature-input"]
    assert len(base64.b64decode(dict(r.headers)["signature"].split("=:", 1)[1].rstrip(":"))) == 64


def test_a_request_signed_with_a_registered_sm2_key_is_accepted(sm2_checker, sm2_key):
    peer = sm2_checker.check(signed(sm2_key))
    assert (peer.region, peer.key_id, peer.created) == (HE, "2", NOW)


def test_an_sm2_signed_request_with_a_swapped_body_is_refused(sm2_checker, sm2_key):
    with pytest.raises(refusals.DigestMismatch):
        sm2_checker.check(replace(signed(sm2_key), body=b'{"token":"t-2"}'))


def test_an_sm2_signed_request_with_an_altered_signature_is_refused(sm2_checker, sm2_key):
    with pytest.raises(refusals.SignatureInvalid):
        sm2_checker.check(_flip_signature(signed(sm2_key)))


def test_an_sm2_signed_request_sent_to_another_path_is_refused(sm2_checker, sm2_key):
    with pytest.raises(refusals.SignatureInvalid):
        sm2_checker.check(replace(signed(sm2_key), path_and_query="/v1/federation/uses"))


def test_another_sm2_key_under_the_registered_key_id_is_refused(sm2_checker, sm2_key):
    impostor = replace(sm2_key, private_key=SM2NodePrivateKey.generate())
    with pytest.raises(refusals.SignatureInvalid):
        sm2_checker.check(signed(impostor))


def test_an_sm2_signature_is_refused_when_the_registry_says_the_key_is_ed25519(sm2_directory, sm2_checker, sm2_key):
    """Wrong suite: the registry's algorithm decides; an SM2 signature cannot pass as ed25519."""
    _register_sm2(sm2_directory, sm2_key, algorithm="ed25519", suite=SUITE_STANDARD,
                  public_key=Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    with pytest.raises(refusals.SignatureInvalid, match="algorithm"):
        sm2_checker.check(signed(sm2_key))


def test_an_ed25519_signature_is_refused_when_the_registry_says_the_key_is_sm2(sm2_directory, sm2_checker, sm2_key):
    ed_key = NodeSigningKey(HE, "2", Ed25519PrivateKey.generate())
    with pytest.raises(refusals.SignatureInvalid, match="algorithm"):
        sm2_checker.check(signed(ed_key))


def test_an_ed25519_signature_relabelled_sm2_sm3_does_not_verify_under_the_sm2_key(sm2_checker):
    ed_key = NodeSigningKey(HE, "2", Ed25519PrivateKey.generate())
    r = signed(ed_key)
    relabelled = tuple((n, v.replace('alg="ed25519"', 'alg="sm2-sm3"')) for n, v in r.headers)
    with pytest.raises(refusals.SignatureInvalid):
        sm2_checker.check(replace(r, headers=relabelled))


def test_registered_sm2_key_bytes_that_are_not_a_curve_point_are_the_wrong_key(sm2_directory, sm2_checker, sm2_key):
    bad = bytearray(sm2_key.public_bytes())
    bad[-1] ^= 1
    _register_sm2(sm2_directory, sm2_key, public_key=bytes(bad))
    with pytest.raises(refusals.WrongKey, match="registered key bytes invalid"):
        sm2_checker.check(signed(sm2_key))


def test_the_sm2_algorithm_refuses_an_ed25519_key_object():
    from http_message_signatures.exceptions import HTTPMessageSignaturesException

    with pytest.raises(HTTPMessageSignaturesException):
        SM2_SM3(private_key=Ed25519PrivateKey.generate())


def test_an_sm2_request_signature_is_plain_sm2_over_the_signature_base():
    """The algorithm is GB/T 32918 SM2 with the default ID: common.gm verifies what the class signs,
    and the class verifies what common.gm signs."""
    pair = sm2_generate_keypair()
    key = SM2NodePrivateKey(pair.private_key)
    sm2_verify(pair.public_key, b"base", SM2_SM3(private_key=key).sign(b"base"))
    SM2_SM3(public_key=key.public_key()).verify(sm2_sign(pair.private_key, b"base"), b"base")
