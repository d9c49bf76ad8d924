"""The rules by which a node accepts or refuses a request signed by another node (federation.checking).

The 北京 node (its clock at NOW) checks requests the 河北 node signs; the registry's facts come from
an in-test directory, the nonces go to a real SQLite table. One refusal reason per test.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from federation_world import BJ, BJ_URL, HE, HE_URL, NOW, TJ, as_received
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from sqlalchemy.engine import Engine

from federation import refusals
from federation.checking import RequestChecker, VerifiedPeer
from federation.directory import NodeKey
from federation.node_key import NodeSigningKey
from federation.replay import NonceCache
from federation.signing import sign_request
from tests.federation_directory import InTestDirectory

PATH = "/v1/federation/references/fetch?lang=zh"


def request_to(url: str = BJ_URL + PATH, method: str = "POST", json: Any = None) -> httpx.Request:
    return httpx.Request(method, url, json={"token": "t-1"} if json is None else json)


def signed(key: NodeSigningKey, *, at: int = NOW, url: str = BJ_URL + PATH, method: str = "POST",
           validity_s: int = 60, nonce: str | None = None) -> httpx.Request:
    r = request_to(url, method)
    sign_request(r, key, now=at, validity_s=validity_s, nonce=nonce)
    return r


def test_a_request_signed_by_a_registered_node_is_accepted_and_names_its_region(checker, he_key):
    peer = checker.check(as_received(signed(he_key)))
    assert (peer.region, peer.key_id, peer.created) == (HE, "1", NOW)
    assert isinstance(peer, VerifiedPeer)


def test_a_signature_made_within_the_validity_and_skew_is_accepted(checker, he_key):
    assert checker.check(as_received(signed(he_key, at=NOW - 64))).region == HE


def test_an_unsigned_request_is_refused_as_missing_a_signature(checker):
    with pytest.raises(refusals.SignatureMissing):
        checker.check(as_received(request_to()))


def test_a_signature_with_another_tag_is_not_a_node_request_signature(checker, he_key):
    """Domain separation: e.g. a 加注件 stamp's signature can never pass as a node request."""
    r = request_to()
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                      key_resolver=MappingKeyResolver(public_keys={}, private_keys={he_key.keyid: he_key.private_key})
                      ).sign(r, key_id=he_key.keyid, created=datetime.datetime.fromtimestamp(NOW, datetime.UTC),
                             expires=datetime.datetime.fromtimestamp(NOW + 60, datetime.UTC), nonce="n" * 22,
                             tag="huren-stamp/1", covered_component_ids=("@method", "@target-uri", "content-digest"),
                             body=r.read())
    with pytest.raises(refusals.SignatureInvalid, match="huren-node-request/1"):
        checker.check(as_received(r))


def test_a_malformed_signature_input_is_refused_as_invalid(checker, he_key):
    r = signed(he_key)
    r.headers["Signature-Input"] = 'huren=("@method" ;;;'
    with pytest.raises(refusals.SignatureInvalid, match="malformed"):
        checker.check(as_received(r))


def test_a_signature_without_a_nonce_is_refused(checker, he_key):
    r = signed(he_key)
    r.headers["Signature-Input"] = r.headers["Signature-Input"].replace(';nonce="', ';x="')
    with pytest.raises(refusals.SignatureInvalid, match="nonce"):
        checker.check(as_received(r))


def test_a_signature_not_covering_the_content_digest_is_refused(checker, he_key):
    r = signed(he_key)
    r.headers["Signature-Input"] = r.headers["Signature-Input"].replace(' "content-digest"', "")
    with pytest.raises(refusals.SignatureInvalid, match="content-digest"):
        checker.check(as_received(r))


def test_a_signature_older_than_the_validity_and_skew_is_refused_as_too_old(checker, he_key):
    with pytest.raises(refusals.SignatureTooOld):
        checker.check(as_received(signed(he_key, at=NOW - 66)))


def test_a_signature_created_beyond_the_skew_in_the_future_is_refused(checker, he_key):
    with pytest.raises(refusals.SignatureFromFuture):
        checker.check(as_received(signed(he_key, at=NOW + 6)))


def test_a_signature_past_its_expires_is_refused_as_expired(checker, he_key):
    with pytest.raises(refusals.SignatureExpired):
        checker.check(as_received(signed(he_key, at=NOW - 20, validity_s=10)))


def test_a_signature_valid_for_longer_than_the_maximum_is_refused(checker, he_key):
    with pytest.raises(refusals.SignatureInvalid, match="expires - created"):
        checker.check(as_received(signed(he_key, validity_s=3600)))


def test_a_keyid_that_names_no_region_is_an_unknown_key(checker, he_key):
    with pytest.raises(refusals.UnknownKey, match="region:key-id"):
        checker.check(as_received(signed(replace(he_key, region=13, key_id="1"))))


def test_a_region_without_a_registered_node_is_an_unknown_node(checker):
    stranger = NodeSigningKey(TJ, "1", Ed25519PrivateKey.generate())
    with pytest.raises(refusals.UnknownNode) as refused:
        checker.check(as_received(signed(stranger)))
    assert refused.value.status == 403


def test_a_key_id_the_region_never_registered_is_an_unknown_key(checker, he_key):
    with pytest.raises(refusals.UnknownKey, match="'9'"):
        checker.check(as_received(signed(replace(he_key, key_id="9"))))


def test_a_key_registered_to_another_region_does_not_sign_for_this_one(checker, directory, he_key):
    directory.keys[(HE, "1")] = replace(directory.keys[(HE, "1")], region=TJ)
    with pytest.raises(refusals.UnknownKey):
        checker.check(as_received(signed(he_key)))


def _re_register(directory: InTestDirectory, **changes: Any) -> None:
    directory.keys[(HE, "1")] = replace(directory.keys[(HE, "1")], **changes)


def test_a_key_registered_for_another_purpose_is_the_wrong_key(checker, directory, he_key):
    _re_register(directory, purpose="stamp")
    with pytest.raises(refusals.WrongKey, match="request signing"):
        checker.check(as_received(signed(he_key)))


def test_a_retired_key_is_refused_even_inside_its_window(checker, directory, he_key):
    _re_register(directory, retired=True)
    with pytest.raises(refusals.RetiredKey):
        checker.check(as_received(signed(he_key)))


def test_a_key_whose_window_has_not_begun_at_created_is_refused(checker, directory, he_key):
    _re_register(directory, valid_from=NOW + 3600)
    with pytest.raises(refusals.KeyOutsideWindow):
        checker.check(as_received(signed(he_key)))


def test_a_key_whose_window_ended_before_created_is_refused(checker, directory, he_key):
    _re_register(directory, valid_until=NOW - 1)
    with pytest.raises(refusals.KeyOutsideWindow):
        checker.check(as_received(signed(he_key)))


def test_a_registered_key_of_an_unsupported_algorithm_is_the_wrong_key(checker, directory, he_key):
    _re_register(directory, algorithm="sm2")
    with pytest.raises(refusals.WrongKey, match="sm2"):
        checker.check(as_received(signed(he_key)))


def test_a_signature_by_another_private_key_than_the_registered_one_is_invalid(checker):
    impostor = NodeSigningKey(HE, "1", Ed25519PrivateKey.generate())
    with pytest.raises(refusals.SignatureInvalid, match="does not verify"):
        checker.check(as_received(signed(impostor)))


def test_a_request_signed_for_another_node_does_not_verify_here(checker, he_key):
    """The target URI is rebuilt from this node's registered origin, not from the Host header."""
    with pytest.raises(refusals.SignatureInvalid):
        checker.check(as_received(signed(he_key, url=HE_URL + PATH)))


def test_a_changed_method_breaks_the_signature(checker, he_key):
    r = as_received(signed(he_key))
    with pytest.raises(refusals.SignatureInvalid):
        checker.check(replace(r, method="PUT"))


def test_a_changed_query_breaks_the_signature(checker, he_key):
    r = as_received(signed(he_key))
    with pytest.raises(refusals.SignatureInvalid):
        checker.check(replace(r, path_and_query=PATH.replace("zh", "en")))


def test_a_body_changed_after_signing_is_a_digest_mismatch(checker, he_key):
    r = as_received(signed(he_key))
    with pytest.raises(refusals.DigestMismatch):
        checker.check(replace(r, body=b'{"token":"t-2"}'))


def test_a_request_accepted_once_is_refused_as_replayed_the_second_time(checker, he_key):
    r = as_received(signed(he_key))
    checker.check(r)
    with pytest.raises(refusals.Replayed):
        checker.check(r)


def test_a_replay_to_another_worker_on_the_same_database_is_refused(checker, directory, engine: Engine, he_key):
    other_worker = RequestChecker(directory, NonceCache(engine), BJ, clock=lambda: NOW)
    r = as_received(signed(he_key))
    checker.check(r)
    with pytest.raises(refusals.Replayed):
        other_worker.check(r)


def test_a_refused_request_does_not_use_up_its_nonce(checker, he_key):
    r = as_received(signed(he_key, nonce="n" * 22))
    with pytest.raises(refusals.DigestMismatch):
        checker.check(replace(r, body=b"{}"))
    assert checker.check(r).nonce == "n" * 22


def test_a_node_whose_own_region_is_not_registered_cannot_check(directory, engine, he_key):
    from federation.checking import NotAFederationMember

    lost = RequestChecker(directory, NonceCache(engine), TJ, clock=lambda: NOW)
    with pytest.raises(NotAFederationMember):
        lost.check(as_received(signed(he_key)))


def test_the_key_is_looked_up_at_the_signatures_created_time(engine, he_key):
    asked: list[int] = []

    class Recording(InTestDirectory):
        def node_key(self, region: int, key_id: str, at_time: int) -> NodeKey | None:
            asked.append(at_time)
            return super().node_key(region, key_id, at_time)

    d = Recording()
    d.register(BJ, BJ_URL, "1", b"\0" * 32)
    d.register(HE, HE_URL, "1", he_key.public_bytes())
    RequestChecker(d, NonceCache(engine), BJ, clock=lambda: NOW).check(as_received(signed(he_key, at=NOW - 30)))
    assert asked == [NOW - 30]
