"""Reference codes across nodes (tests/e2e/federation_nodes.py: the 北京 and 河北 nodes over one anvil).

A 北京 reference ("HRR1:110000:<token>") scanned at the 河北 window makes the 河北 node look the 北京
node up in the registry, take the token there by a signed request (one-time; the 北京 node records
the release to 河北), and verify the presentation itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.nodes import NodeAlgorithm, NodeKeyPurpose, key_id
from federation.node_key import NodeSigningKey
from federation.signing import sign_request
from ledger.nodes import AddNodeKey, RetireNodeKey
from tests.e2e.conftest import issue_licence
from tests.e2e.federation_nodes import (
    HE,
    Federation,
    anchored_licence,
    logged_at_hebei,
    running_federation,
)
from tests.e2e.stack import wait_anchored
from verifier.codec import new_reference_token

TAKE = "/v1/federation/references/take"
WORDS = "发证地节点暂时无法访问，请持证人改用完整出示码"


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    with running_federation(tmp_path_factory) as fed:
        yield fed


def _reference_at_beijing(fed: Federation, offset: int) -> str:
    cert_id, holder = anchored_licence(fed, offset)
    with fed.bj_stack.client(holder) as c:
        made = c.post(f"/v1/wallet/certificates/{cert_id}/presentation", json={"purpose": "在河北省办理企业登记"})
    assert made.status_code == 200, made.text
    return str(made.json()["reference"])


def test_a_beijing_node_reference_names_its_region_not_an_address(federation):
    reference = _reference_at_beijing(federation, 1)
    assert reference.startswith("HRR1:110000:") and "http" not in reference


def test_a_beijing_reference_is_valid_at_the_hebei_node_via_the_signed_fetch(federation):
    reference = _reference_at_beijing(federation, 2)
    with federation.he_client() as c:
        answer = c.post("/v1/verify", json={"reference": reference})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["verdict"], body["verifier_region"]) == ("VALID", HE)
    logged_at_hebei(federation, body, "VALID")


def test_the_beijing_node_records_the_release_to_hebei(federation):
    reference = _reference_at_beijing(federation, 3)
    with federation.he_client() as c:
        assert c.post("/v1/verify", json={"reference": reference}).json()["verdict"] == "VALID"
    token = reference.rsplit(":", 1)[1]
    releases = federation.bj.app.state.runtime.references.releases(token)
    he_key = federation.he.app.state.runtime.node.key.key_id
    assert [(r.peer_region, r.peer_key_id) for r in releases] == [(HE, he_key)]


def test_a_reference_fetched_by_another_node_cannot_be_used_again(federation):
    reference = _reference_at_beijing(federation, 4)
    with federation.he_client() as c:
        assert c.post("/v1/verify", json={"reference": reference}).json()["verdict"] == "VALID"
        again = c.post("/v1/verify", json={"reference": reference})
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "REFERENCE_USED" and "一次性" in again.json()["error"]["message"]


def test_a_reference_of_a_region_without_a_registered_node_is_refused_in_words(federation):
    with federation.he_client() as c:
        answer = c.post("/v1/verify", json={"reference": f"HRR1:440000:{new_reference_token()}"})
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "REFERENCE_REGION_HAS_NO_NODE" and "440000" in error["message"]


def test_an_unsigned_request_for_a_reference_is_refused_by_the_issuing_node(federation):
    answer = httpx.post(federation.bj.base_url + TAKE, json={"token": new_reference_token()}, timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "NODE_SIGNATURE_MISSING"


def test_a_request_signed_with_a_retired_hebei_key_is_refused_by_the_beijing_node(federation):
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    net = federation.world.net
    net.node_change(HE, AddNodeKey(NodeAlgorithm.ED25519, NodeKeyPurpose.REQUEST_SIGNING, public))
    net.node_change(HE, RetireNodeKey(key_id(public), net.now()))
    model = federation.bj.app.state.runtime.indexer
    deadline = time.monotonic() + 30
    while (known := model.model.node_key_info(key_id(public))) is None or known.valid_until is None:
        assert time.monotonic() < deadline, "the 北京 node's index did not see the retirement"
        time.sleep(0.2)
    request = httpx.Request("POST", federation.bj.base_url + TAKE, json={"token": new_reference_token()})
    sign_request(request, NodeSigningKey(HE, key_id(public), private), now=max(time.time(), net.now()))
    with httpx.Client(timeout=10) as c:
        answer = c.send(request)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "NODE_KEY_RETIRED"


def _reference_with_hebei_index_paused(fed: Federation, offset: int) -> str:
    """A reference of a licence anchored while the 河北 node's indexer is stopped (its index behind 北京's)."""
    fed.he.app.state.runtime.indexer.stop()
    cert_id, _, holder = issue_licence(fed.bj_stack, offset)
    wait_anchored(fed.bj_stack, holder, cert_id)
    with fed.bj_stack.client(holder) as c:
        made = c.post(f"/v1/wallet/certificates/{cert_id}/presentation", json={"purpose": "在河北省办理企业登记"})
    assert made.status_code == 200, made.text
    assert fed.he.app.state.runtime.indexer.stats.indexed < fed.bj.app.state.runtime.indexer.stats.indexed
    return str(made.json()["reference"])


def test_a_reference_from_a_node_whose_index_is_ahead_waits_for_hebeis_index_and_is_valid(federation):
    reference = _reference_with_hebei_index_paused(federation, 6)
    indexer = federation.he.app.state.runtime.indexer
    threading.Timer(1.5, indexer.start, args=(federation.he.app.state.runtime.settings.index_poll_s,)).start()
    with federation.he_client() as c:
        answer = c.post("/v1/verify", json={"reference": reference})
    assert answer.status_code == 200, answer.text
    assert answer.json()["verdict"] == "VALID", "not NOT_ANCHORED: the 河北 node waited for its own index"


def test_a_reference_is_unavailable_not_not_anchored_while_hebeis_index_stays_behind(federation):
    reference = _reference_with_hebei_index_paused(federation, 7)
    try:
        with federation.he_client() as c:
            answer = c.post("/v1/verify", json={"reference": reference})
    finally:
        federation.he.app.state.runtime.indexer.start(federation.he.app.state.runtime.settings.index_poll_s)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verdict"] == "UNAVAILABLE" and "落后于发证地节点" in body["reason"], body


def test_with_the_beijing_node_down_its_reference_is_unavailable_never_invalid(federation):
    """Last in this module: it stops the 北京 node."""
    reference = _reference_at_beijing(federation, 5)
    federation.bj.stop()
    with federation.he_client() as c:
        answer = c.post("/v1/verify", json={"reference": reference})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["verdict"], body["reason"]) == ("UNAVAILABLE", WORDS)
    assert "无效" not in body["label"]
    logged_at_hebei(federation, body, "UNAVAILABLE")
