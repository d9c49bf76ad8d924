"""Signed node requests checked against the chain's node registry: a real anvil, the real contracts, a real
index (ledger.indexer) read through `RegistryDirectory`, and a guarded route served over real HTTP.

The 北京 node's guard believes the 河北 node only while the registry does: its key registered by two
河北 officers, not retired, the node not removed. Each registry change is a real 双人双锁 proposal
(Devnet.node_change); the 北京 node's index follows it, and the very next request is judged by it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI, Request
from sqlalchemy import create_engine

import migrations
from common.nodes import NodeAlgorithm, NodeKeyPurpose, key_id
from federation.checking import RequestChecker, VerifiedPeer
from federation.fastapi_guard import PeerRequestGuard, install_refusal_handler
from federation.node_key import NodeSigningKey
from federation.registry_directory import RegistryDirectory
from federation.replay import NonceCache
from federation.signing import sign_request
from ledger import store as st
from ledger.anvil import free_port
from ledger.indexer import Indexer
from ledger.nodes import AddNodeKey, RegisterNode, RemoveNode, RetireNodeKey
from ledger.rpc import RpcClient
from tests.conftest import BJ, HE

ECHO = "/v1/federation/echo"


@dataclass
class Registered:
    devnet: Any
    indexer: Indexer
    bj_url: str
    he_key: NodeSigningKey


def _register(devnet: Any, region: int, url: str) -> NodeSigningKey:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    devnet.node_change(region, RegisterNode(url))
    devnet.node_change(region, AddNodeKey(NodeAlgorithm.ED25519, NodeKeyPurpose.REQUEST_SIGNING, public))
    return NodeSigningKey(region, key_id(public), private)


@pytest.fixture
def registered(devnet, tmp_path: Path) -> Iterator[Registered]:
    """北京 and 河北 registered on chain; the 北京 node's guarded route served, reading its own index."""
    port = free_port()
    bj_url = f"http://127.0.0.1:{port}"
    _register(devnet, BJ, bj_url)
    he_key = _register(devnet, HE, "http://127.0.0.1:9")  # 河北 only calls here; its URL is never used
    indexer = Indexer(RpcClient(devnet.node.url), devnet.manifest, devnet.abis,
                      st.IndexStore(st.make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")))
    indexer.sync()
    engine = create_engine(f"sqlite:///{tmp_path / 'bj.sqlite'}")
    migrations.upgrade(engine)
    guard = PeerRequestGuard(RequestChecker(RegistryDirectory(lambda: indexer.model), NonceCache(engine), BJ))
    app = FastAPI()
    install_refusal_handler(app)

    @app.post(ECHO)
    async def echo(request: Request, peer: VerifiedPeer = Depends(guard)) -> dict[str, Any]:
        return {"caller_region": peer.region, "caller_key": peer.key_id}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "node did not start"
        time.sleep(0.05)
    try:
        yield Registered(devnet, indexer, bj_url, he_key)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        engine.dispose()


def _post_signed(reg: Registered, at: float) -> httpx.Response:
    request = httpx.Request("POST", reg.bj_url + ECHO, json={"token": "t"})
    sign_request(request, reg.he_key, now=at)
    with httpx.Client(timeout=10) as client:
        return client.send(request)


def _signing_time(reg: Registered) -> float:
    """Now on both clocks: the chain's (the key windows) and the wall clock (the freshness check)."""
    return max(time.time(), reg.devnet.now())


def test_a_request_signed_with_a_registered_key_is_accepted(registered):
    response = _post_signed(registered, _signing_time(registered))
    assert response.status_code == 200
    assert response.json() == {"caller_region": HE, "caller_key": registered.he_key.key_id}


def test_a_request_signed_after_its_key_was_retired_on_chain_is_refused(registered):
    retired_at = registered.devnet.now()
    registered.devnet.node_change(HE, RetireNodeKey(registered.he_key.key_id, retired_at))
    registered.indexer.sync()
    response = _post_signed(registered, _signing_time(registered))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "NODE_KEY_RETIRED"


def test_a_request_from_a_node_removed_from_the_registry_is_refused(registered):
    registered.devnet.node_change(HE, RemoveNode())
    registered.indexer.sync()
    response = _post_signed(registered, _signing_time(registered))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "NODE_UNKNOWN"
