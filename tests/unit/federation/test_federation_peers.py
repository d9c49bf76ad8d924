"""A peer is called by region only: its URL comes from the directory, and no path leaves its origin."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from federation_world import BJ, BJ_URL, HE, TJ
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.node_key import NodeSigningKey
from federation.peers import PeerClient, PeerNotRegistered, UnsafePeerPath


@pytest.fixture
def client(directory):  # type: ignore[no-untyped-def]
    with PeerClient(directory, NodeSigningKey(HE, "1", Ed25519PrivateKey.generate())) as c:
        yield c


def test_a_regions_url_is_its_registered_base_url_and_the_path(client):
    assert client.url_for(BJ, "/v1/federation/x?a=1") == BJ_URL + "/v1/federation/x?a=1"


def test_a_region_without_a_registered_node_is_not_called(client):
    with pytest.raises(PeerNotRegistered, match=str(TJ)):
        client.url_for(TJ, "/v1/x")


@pytest.mark.parametrize("path", ["//evil.example/x", "http://evil.example/x", "@evil.example/x", "/x\\@evil",
                                  "x", "", "/a b", "/\u5317", "/x#frag", "/x\n"])
def test_a_path_that_is_not_a_plain_absolute_path_is_refused(client, path):
    with pytest.raises(UnsafePeerPath):
        client.url_for(BJ, path)


_paths = st.one_of(st.text(max_size=60),
                   st.text(alphabet="/\\@:.?#%&=ab19 -", max_size=40).map(lambda s: "/" + s))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the client is never changed
@given(path=_paths)
def test_no_path_can_lead_a_call_away_from_the_registered_origin(client, path):  # type: ignore[no-untyped-def]
    try:
        url = httpx.URL(client.url_for(BJ, path))
    except UnsafePeerPath:
        return
    base = httpx.URL(BJ_URL)
    assert (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
