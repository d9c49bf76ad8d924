"""Holder binding over HTTP (issue 15, item 2) — real anvil, contracts, API: the holder's key signs a
binding statement, the department re-issues the certificate bound to it (the old version revoked as
superseded), bound codes are signed by the key and verify VALID where a window requires binding;
stripped or replaced holder signatures fail; nobody else can bind or sign.

The holder's device is played by eth-account here; the browser test (tests/browser/
test_wallet_binding.py) does the same with the page's own key in IndexedDB.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from api.seed import BJ
from common.ecdsa import sign_digest
from issuers.holder_binding import binding_digest
from ledger.anvil import IDLE_BLOCK_TIME_S, start_anvil
from tests.browser.conftest import issue_via_api
from tests.e2e.stack import Stack, running_stack, wait_anchored
from verifier.codec import compact_signature, decode, encode
from verifier.presentation import holder_signing_digest

PURPOSE = "办理企业登记"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Windows of this stack require holder binding for certificates issued in Beijing."""
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)
    try:
        with running_stack(node, tmp_path_factory.mktemp("binding"), presentation_ttl_s=300,
                           holder_binding_regions=str(BJ)) as s:
            yield s
    finally:
        node.stop()


def _bind(stack: Stack, holder: str, cert_id: str, key: bytes, *, signer: bytes | None = None,
          signed_at: int | None = None) -> Any:
    with stack.client(holder) as c:
        terms = c.get(f"/v1/wallet/certificates/{cert_id}/binding")
        # Someone else's certificate: the terms are refused too; sign over any root to try the POST.
        root = bytes.fromhex(terms.json()["document_root"][2:]) if terms.status_code == 200 else bytes(32)
        address = Account.from_key(key).address
        at = int(time.time()) if signed_at is None else signed_at
        digest = binding_digest(stack.app.state.runtime.domain, cert_id, root, address, at)
        signature = sign_digest(signer or key, digest)
        return c.post(f"/v1/wallet/certificates/{cert_id}/binding",
                      json={"address": address, "signed_at": at, "signature": "0x" + signature.hex()})


def _bound_code(stack: Stack, holder: str, cert_id: str, key: bytes) -> str:
    """What the page does: take the unsigned code, compute the digest itself, sign, hand back."""
    with stack.client(holder) as c:
        made = c.post(f"/v1/wallet/certificates/{cert_id}/presentation/unsigned", json={"purpose": PURPOSE})
        assert made.status_code == 200, made.text
        p = decode(made.json()["presentation"])
        digest = holder_signing_digest(stack.app.state.runtime.domain, p)
        assert "0x" + digest.hex() == made.json()["digest"]
        signature = compact_signature(sign_digest(key, digest))
        signed = c.post(f"/v1/wallet/certificates/{cert_id}/presentation/signed",
                        json={"presentation": made.json()["presentation"], "holder_signature": "0x" + signature.hex()})
        assert signed.status_code == 200, signed.text
        return str(signed.json()["presentation"])


def _verify(stack: Stack, text: str, window: str = "verifier-130000") -> dict[str, Any]:
    with stack.client(window) as clerk:
        return dict(clerk.post("/v1/verify", json={"presentation": text}).json())


@pytest.fixture(scope="module")
def bound(stack: Stack) -> dict[str, Any]:
    cert_id, doc, holder = issue_via_api(stack, 31)
    wait_anchored(stack, holder, cert_id)
    key = bytes(range(1, 33))
    reply = _bind(stack, holder, cert_id, key)
    assert reply.status_code == 200, reply.text
    new_id = reply.json()["cert_id"]
    wait_anchored(stack, holder, new_id)
    return {"old": cert_id, "cert_id": new_id, "holder": holder, "key": key, "doc": doc}


def test_binding_reissues_the_next_version_and_supersedes_the_old_one(stack: Stack, bound: dict[str, Any]) -> None:
    assert bound["cert_id"].split(".")[-2] == "002" and bound["old"].split(".")[-2] == "001"
    with stack.client(bound["holder"]) as c:
        wallet = {item["cert_id"]: item["status"] for item in c.get("/v1/wallet/certificates").json()}
    assert wallet[bound["old"]]["label"] == "已换发"
    assert wallet[bound["cert_id"]]["code"] == "VALID"
    issued = next(iter(stack.app.state.runtime.departments.values())).service.certificate(bound["cert_id"])
    assert issued.document["holder"]["address"] == Account.from_key(bound["key"]).address


def test_unbound_code_fails_where_binding_is_required(stack: Stack, bound: dict[str, Any]) -> None:
    with stack.client(bound["holder"]) as c:
        made = c.post(f"/v1/wallet/certificates/{bound['cert_id']}/presentation", json={"purpose": PURPOSE}).json()
    answer = _verify(stack, made["presentation"])
    assert answer["verdict"] == "HOLDER_BINDING_FAILED" and answer["holder_bound"] is False


def test_bound_code_is_valid_where_binding_is_required(stack: Stack, bound: dict[str, Any]) -> None:
    answer = _verify(stack, _bound_code(stack, bound["holder"], bound["cert_id"], bound["key"]))
    assert answer["verdict"] == "VALID", answer["checks"]
    assert answer["holder_bound"] is True


def test_stripped_holder_signature_fails_holder_binding(stack: Stack, bound: dict[str, Any]) -> None:
    p = decode(_bound_code(stack, bound["holder"], bound["cert_id"], bound["key"]))
    from dataclasses import replace

    answer = _verify(stack, encode(replace(p, holder_signature=None)))
    assert answer["verdict"] == "HOLDER_BINDING_FAILED"
    assert answer["holder_bound"] is False


def test_replaced_holder_signature_fails_holder_binding(stack: Stack, bound: dict[str, Any]) -> None:
    from dataclasses import replace

    p = decode(_bound_code(stack, bound["holder"], bound["cert_id"], bound["key"]))
    forged = sign_digest(bytes(range(2, 34)), holder_signing_digest(stack.app.state.runtime.domain, p))
    answer = _verify(stack, encode(replace(p, holder_signature=forged)))
    assert answer["verdict"] == "HOLDER_BINDING_FAILED"


def test_node_refuses_to_attach_a_signature_of_another_key(stack: Stack, bound: dict[str, Any]) -> None:
    with stack.client(bound["holder"]) as c:
        made = c.post(f"/v1/wallet/certificates/{bound['cert_id']}/presentation/unsigned",
                      json={"purpose": PURPOSE}).json()
        other = sign_digest(bytes(range(2, 34)), bytes.fromhex(made["digest"][2:]))
        reply = c.post(f"/v1/wallet/certificates/{bound['cert_id']}/presentation/signed",
                       json={"presentation": made["presentation"], "holder_signature": "0x" + other.hex()})
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "HOLDER_SIGNATURE_INVALID"


def test_binding_refused_for_someone_elses_certificate(stack: Stack, bound: dict[str, Any]) -> None:
    cert_id, _, _ = issue_via_api(stack, 32)
    reply = _bind(stack, bound["holder"], cert_id, bytes(range(3, 35)))
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "NOT_IN_WALLET"


def test_second_binding_to_another_key_is_refused(stack: Stack, bound: dict[str, Any]) -> None:
    reply = _bind(stack, bound["holder"], bound["cert_id"], bytes(range(4, 36)))
    assert reply.status_code == 409 and reply.json()["error"]["code"] == "BOUND_TO_OTHER_KEY"


def test_binding_statement_signed_by_another_key_is_refused(stack: Stack) -> None:
    cert_id, _, holder = issue_via_api(stack, 33)
    wait_anchored(stack, holder, cert_id)
    reply = _bind(stack, holder, cert_id, bytes(range(5, 37)), signer=bytes(range(6, 38)))
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "BINDING_SIGNATURE_INVALID"
    stale = _bind(stack, holder, cert_id, bytes(range(5, 37)), signed_at=int(time.time()) - 3600)
    assert stale.status_code == 422 and stale.json()["error"]["code"] == "BINDING_STALE"
