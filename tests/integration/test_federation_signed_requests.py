"""Signed node-to-node requests over real HTTP: two nodes (北京, 河北) served by uvicorn on 127.0.0.1.

Each node has its own key file (encrypted Ed25519, mode 0600) and its own SQLite database migrated
to the head (the nonce table included). The 河北 node calls the 北京 node through `PeerClient`
(signed, by region); the 北京 node's route admits only signed peers (`PeerRequestGuard`). Every
refusal is sent to the 北京 node as a real request and answered 401/403 with its code.

The node directory here is held in the test (tests/federation_directory.py): the chain's node
registry (issue 14, item 1) is being built alongside; once its read model lands, these nodes read
it instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI, Request
from sqlalchemy import create_engine

import migrations
from federation.checking import RequestChecker, VerifiedPeer
from federation.fastapi_guard import PeerRequestGuard, install_refusal_handler
from federation.node_key import NodeSigningKey, generate_node_key_file, load_node_key_file
from federation.peers import PeerClient, PeerNotRegistered, PeerRefusedUs, PeerUnavailable
from federation.replay import NonceCache
from federation.signing import sign_request
from ledger.anvil import free_port
from tests.federation_directory import InTestDirectory

BJ, TJ, HE, SH = 110000, 120000, 130000, 310000
ECHO = "/v1/federation/echo"


@dataclass
class Node:
    region: int
    base_url: str
    key: NodeSigningKey
    app: FastAPI


@dataclass
class Federation:
    directory: InTestDirectory
    bj: Node
    he: Node


def _serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("node did not start")
        time.sleep(0.05)
    return server, thread


def _node_app(region: int, directory: InTestDirectory, db_url: str, key: NodeSigningKey) -> FastAPI:
    """A node's federation surface: one guarded route, and one that calls a peer through PeerClient."""
    engine = create_engine(db_url)
    migrations.upgrade(engine)
    guard = PeerRequestGuard(RequestChecker(directory, NonceCache(engine), region))
    peers = PeerClient(directory, key)
    app = FastAPI()
    install_refusal_handler(app)

    @app.post(ECHO)
    async def echo(request: Request, peer: VerifiedPeer = Depends(guard)) -> dict[str, Any]:
        return {"caller_region": peer.region, "caller_key": peer.key_id, "received": await request.json()}

    @app.post("/test/ask/{region}")
    def ask(region: int, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = peers.call(region, "POST", ECHO, json=payload)
        except (PeerUnavailable, PeerNotRegistered, PeerRefusedUs) as exc:
            return {"error": type(exc).__name__, "message": exc.message}
        return {"status": answer.status, "body": answer.body}

    return app


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Federation]:
    directory = InTestDirectory()
    nodes, servers = {}, []
    for region, name in ((BJ, "bj"), (HE, "he")):
        port = free_port()
        made = generate_node_key_file(tmp_path / name / "node-key.pem", region, "1", f"passphrase of {name}")
        key = load_node_key_file(tmp_path / name / "node-key.pem", region, "1", f"passphrase of {name}")
        assert key.public_bytes() == made.public_bytes()
        directory.register(region, f"http://127.0.0.1:{port}", "1", key.public_bytes())
        app = _node_app(region, directory, f"sqlite:///{tmp_path / name / 'node.sqlite'}", key)
        nodes[region] = Node(region, f"http://127.0.0.1:{port}", key, app)
        servers.append(_serve(app, port))
    try:
        yield Federation(directory, nodes[BJ], nodes[HE])
    finally:
        for server, thread in servers:
            server.should_exit = True
            thread.join(timeout=15)


def _send(request: httpx.Request) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        return client.send(request)


def _signed(fed: Federation, key: NodeSigningKey | None = None, *, url: str | None = None, at: float | None = None,
            validity_s: int = 60, body: Any = None) -> httpx.Request:
    r = httpx.Request("POST", url or fed.bj.base_url + ECHO, json={"token": "t-1"} if body is None else body)
    sign_request(r, key or fed.he.key, now=time.time() if at is None else at, validity_s=validity_s)
    return r


def test_a_node_calls_another_by_region_and_the_other_knows_who_called(federation):
    with httpx.Client(timeout=10) as c:
        answer = c.post(f"{federation.he.base_url}/test/ask/{BJ}", json={"参考码": "BJ-1"}).json()
    assert answer == {"status": 200, "body": {"caller_region": HE, "caller_key": "1", "received": {"参考码": "BJ-1"}}}


def test_a_request_signed_by_a_registered_node_is_accepted(federation):
    response = _send(_signed(federation))
    assert response.status_code == 200 and response.json()["caller_region"] == HE


def _refusal(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_an_unsigned_request_is_refused_401_as_missing_a_signature(federation):
    response = _send(httpx.Request("POST", federation.bj.base_url + ECHO, json={"token": "t-1"}))
    assert _refusal(response) == (401, "NODE_SIGNATURE_MISSING")
    assert "Signature" in response.headers["WWW-Authenticate"]


def test_a_request_whose_signature_was_tampered_with_is_refused_401(federation):
    r = _signed(federation)
    r.headers["Signature"] = "huren=:" + "A" * 86 + "==:"
    assert _refusal(_send(r)) == (401, "NODE_SIGNATURE_INVALID")


def test_a_request_signed_by_an_unregistered_region_is_refused_403_as_unknown_node(federation):
    stranger = NodeSigningKey(SH, "1", Ed25519PrivateKey.generate())
    assert _refusal(_send(_signed(federation, stranger))) == (403, "NODE_UNKNOWN")


def test_a_request_from_a_removed_node_is_refused_403_as_unknown_node(federation):
    del federation.directory.nodes[HE]
    assert _refusal(_send(_signed(federation))) == (403, "NODE_UNKNOWN")


def test_a_request_signed_with_an_unregistered_key_id_is_refused_401(federation):
    assert _refusal(_send(_signed(federation, replace(federation.he.key, key_id="2")))) == (401, "NODE_KEY_UNKNOWN")


def _change_he_key(fed: Federation, **changes: Any) -> None:
    fed.directory.keys[(HE, "1")] = replace(fed.directory.keys[(HE, "1")], **changes)


def test_a_request_signed_with_a_stamping_key_is_refused_403_as_the_wrong_key(federation):
    _change_he_key(federation, purpose="stamp")
    assert _refusal(_send(_signed(federation))) == (403, "NODE_KEY_WRONG")


def test_a_request_signed_with_a_retired_key_is_refused_403(federation):
    _change_he_key(federation, retired=True)
    assert _refusal(_send(_signed(federation))) == (403, "NODE_KEY_RETIRED")


def test_a_request_signed_outside_the_keys_window_is_refused_403(federation):
    _change_he_key(federation, valid_until=int(time.time()) - 3600)
    assert _refusal(_send(_signed(federation))) == (403, "NODE_KEY_OUTSIDE_WINDOW")


def test_a_request_whose_body_was_changed_after_signing_is_refused_401_as_a_digest_mismatch(federation):
    r = _signed(federation)
    tampered = httpx.Request("POST", r.url, headers={k: v for k, v in r.headers.items() if k != "content-length"},
                             content=b'{"token":"t-2"}')
    assert _refusal(_send(tampered)) == (401, "NODE_DIGEST_MISMATCH")


def test_a_request_signed_two_minutes_ago_is_refused_401_as_too_old(federation):
    assert _refusal(_send(_signed(federation, at=time.time() - 120))) == (401, "NODE_SIGNATURE_TOO_OLD")


def test_a_request_signed_a_minute_ahead_is_refused_401(federation):
    assert _refusal(_send(_signed(federation, at=time.time() + 60))) == (401, "NODE_SIGNATURE_FROM_FUTURE")


def test_a_request_past_its_expires_is_refused_401_as_expired(federation):
    assert _refusal(_send(_signed(federation, at=time.time() - 30, validity_s=10))) == (401, "NODE_SIGNATURE_EXPIRED")


def test_a_replayed_request_is_refused_401(federation):
    r = _signed(federation)
    assert _send(r).status_code == 200
    again = httpx.Request("POST", r.url, headers=r.headers, content=r.read())
    assert _refusal(_send(again)) == (401, "NODE_REQUEST_REPLAYED")


def test_a_request_signed_for_one_node_is_refused_by_another(federation):
    """The 北京 node signs a request for the 河北 node; sent to the 北京 node itself instead, it fails."""
    r = _signed(federation, federation.bj.key, url=federation.he.base_url + ECHO)
    moved = httpx.Request("POST", federation.bj.base_url + ECHO, headers={k: v for k, v in r.headers.items()
                                                                          if k != "host"}, content=r.read())
    assert _refusal(_send(moved)) == (401, "NODE_SIGNATURE_INVALID")


def test_every_refusal_message_names_its_reason_in_chinese(federation):
    body = _send(_signed(federation, at=time.time() - 120)).json()["error"]
    assert "签名已超过" in body["message"] and body["hint"]


def _ask(fed: Federation, region: int) -> dict[str, Any]:
    with httpx.Client(timeout=30) as c:
        return c.post(f"{fed.he.base_url}/test/ask/{region}", json={}).json()


def test_a_registered_node_that_is_down_is_unavailable(federation):
    federation.directory.register(TJ, f"http://127.0.0.1:{free_port()}", "1", b"\0" * 32)
    assert _ask(federation, TJ)["error"] == "PeerUnavailable"


def test_a_region_without_a_node_is_never_called(federation):
    assert _ask(federation, SH)["error"] == "PeerNotRegistered"


def test_a_peer_refusing_our_key_is_reported_with_its_reason(federation):
    _change_he_key(federation, retired=True)
    answer = _ask(federation, BJ)
    assert answer["error"] == "PeerRefusedUs" and "停用" in answer["message"]


def test_a_peer_answering_503_is_unavailable(federation, tmp_path: Path):
    app = FastAPI()

    @app.post(ECHO)
    def overloaded() -> None:
        from starlette.exceptions import HTTPException

        raise HTTPException(503, "busy")

    port = free_port()
    server, thread = _serve(app, port)
    try:
        federation.directory.register(TJ, f"http://127.0.0.1:{port}", "1", b"\0" * 32)
        assert _ask(federation, TJ)["error"] == "PeerUnavailable"
    finally:
        server.should_exit = True
        thread.join(timeout=15)

