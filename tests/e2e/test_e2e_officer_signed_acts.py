"""区域管理 over real HTTP: the node relays what officers sign with their own keys, and signs nothing.

Each officer's key is the keystore file the seed wrote outside the node (`world.officer_keys`), as
the officer keeps it; here the test plays the page's script (ledger/officer_acts.py is the same
EIP-712 the script computes). The change proposed is a recognition rule far in the future
(上海 recognises 天津's driving licences from 2099), so no other test's verdicts move.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any

import httpx
import pytest

from api.seed import SH, TJ
from ledger.keystore import load_keystore
from ledger.officer_acts import approve_act, propose_regional_act
from tests.e2e.stack import Stack

DRIVING = "11100000HR0000001A002"


class OfficerPage:
    """A signed-in officer's session: the page's signing context and its forms."""

    def __init__(self, stack: Stack, handle: str) -> None:
        self.client = httpx.Client(base_url=stack.base_url, timeout=30)
        csrf = re.search(r'name="csrf" value="([^"]+)"', self.client.get("/pages/signin").text)
        assert csrf is not None
        signed_in = self.client.post("/pages/signin", data={"token": stack.world.tokens[handle], "csrf": csrf.group(1)})
        assert signed_in.status_code == 303, signed_in.text
        path, passphrase = stack.world.officer_keys[handle]
        self.key = bytes(load_keystore(path, passphrase).key)
        self.refresh()

    def refresh(self) -> str:
        page = self.client.get("/pages/officer")
        assert page.status_code == 200, page.text

        def attr(name: str) -> str:
            m = re.search(rf'{name}="([^"]*)"', page.text)
            assert m is not None, name
            return html.unescape(m.group(1))

        self.csrf = attr('name="csrf" value')
        self.chain_id, self.consortium = int(attr("data-chain-id")), attr("data-consortium")
        self.address, self.nonce = attr("data-officer"), int(attr("data-nonce"))
        return page.text

    def approve(self, pid: int, *, key: bytes | None = None, nonce: int | None = None, deadline: int | None = None,
                signature: str | None = None) -> httpx.Response:
        nonce = self.nonce if nonce is None else nonce
        deadline = int(time.time()) + 600 if deadline is None else deadline
        if signature is None:
            act = approve_act(self.chain_id, self.consortium, pid, self.address, nonce, deadline)
            signature = "0x" + act.sign(key or self.key).hex()
        return self.client.post("/pages/officer/approve", data={
            "csrf": self.csrf, "proposal_id": str(pid), "nonce": str(nonce), "deadline": str(deadline),
            "signature": signature})

    def close(self) -> None:
        self.client.close()


def _error(reply: httpx.Response) -> str:
    m = re.search(r'id="officer-error"><p>(.*?)</p>', reply.text, re.S)
    return html.unescape(m.group(1)) if m else ""


@pytest.fixture
def officers(stack: Stack) -> Any:
    first, second = OfficerPage(stack, f"officer-{SH}"), OfficerPage(stack, f"officer2-{SH}")
    yield first, second
    first.close()
    second.close()


def _propose(first: OfficerPage, stack: Stack) -> int:
    form = {"csrf": first.csrf, "action": "set", "type_code": DRIVING, "issuer_region": str(TJ),
            "valid_from": "2099-01-01", "valid_until": ""}
    prepared = first.client.post("/pages/officer/propose/prepare", data=form)
    assert prepared.status_code == 200, prepared.text
    call = prepared.json()
    assert call["region"] == SH and call["target"] == stack.world.net.huren.address("RecognitionPolicy")
    deadline = int(time.time()) + 600
    act = propose_regional_act(first.chain_id, first.consortium, SH, call["target"], bytes.fromhex(call["data"][2:]),
                               first.address, first.nonce, deadline)
    reply = first.client.post("/pages/officer/propose", data={
        **form, "nonce": str(first.nonce), "deadline": str(deadline), "signature": "0x" + act.sign(first.key).hex()})
    assert reply.status_code == 200, _error(reply) or reply.text
    m = re.search(r"已提出提案 #(\d+)", reply.text)
    assert m is not None, reply.text
    pid = int(m.group(1))
    for _ in range(100):  # the approve route looks the proposal up in the index
        if f"#{pid}</td>" in first.refresh():
            return pid
        time.sleep(0.1)
    raise AssertionError(f"proposal #{pid} never reached the index")


def test_signed_proposal_and_signed_approval_are_relayed_and_execute(stack: Stack, officers: Any) -> None:
    first, second = officers
    pid = _propose(first, stack)
    huren = stack.world.net.huren
    assert huren.call("Consortium", "hasApproved", pid, first.address)[0]
    assert huren.call("Consortium", "proposalState", pid)[0] == 1  # pending: one lock is not enough

    reply = second.approve(pid)
    assert reply.status_code == 200, _error(reply)
    assert "达到门限，变更已生效" in reply.text
    assert huren.call("Consortium", "proposalState", pid)[0] == 2
    relayer = huren.call("Consortium", "proposal", pid)  # proposer is the officer, not the node's relayer
    assert relayer[4].lower() == first.address.lower()


def test_relayed_approval_refusals(stack: Stack, officers: Any) -> None:
    first, second = officers
    pid = _propose(first, stack)
    huren = stack.world.net.huren

    no_signature = second.client.post("/pages/officer/approve", data={"csrf": second.csrf, "proposal_id": str(pid)})
    assert no_signature.status_code == 400 and "服务器不保存管理员密钥，不能代您签名" in _error(no_signature)

    by_other = second.approve(pid, key=first.key)  # the first officer's key, posted in the second's session
    assert by_other.status_code == 403
    assert f"签名人 {first.address}" in _error(by_other) and "不是当前登录的管理员" in _error(by_other)

    expired = second.approve(pid, deadline=int(time.time()) - 5)
    assert expired.status_code == 409 and "签名已过期" in _error(expired)

    too_far = second.approve(pid, deadline=int(time.time()) + 2 * 86400)
    assert too_far.status_code == 422 and "截止时间过远" in _error(too_far)

    garbage = second.approve(pid, signature="0x1234")
    assert garbage.status_code == 400 and "签名无效" in _error(garbage)

    future = second.approve(pid, nonce=second.nonce + 1)
    assert future.status_code == 409 and "不是您的下一个序号" in _error(future)
    assert huren.call("Consortium", "proposalState", pid)[0] == 1  # nothing above reached the chain

    deadline = int(time.time()) + 600
    signature = "0x" + approve_act(second.chain_id, second.consortium, pid, second.address, second.nonce,
                                   deadline).sign(second.key).hex()
    assert second.approve(pid, deadline=deadline, signature=signature).status_code == 200
    replay = second.approve(pid, deadline=deadline, signature=signature)
    assert replay.status_code == 409 and "已经提交过" in _error(replay)
    assert huren.call("Consortium", "proposalState", pid)[0] == 2


def test_signing_libraries_are_served_by_the_node_and_nothing_else_of_node_modules(stack: Stack) -> None:
    with stack.client() as c:
        curves = c.get("/pages/vendor/noble-curves/secp256k1.js")
        assert curves.status_code == 200 and curves.headers["content-type"].startswith("text/javascript")
        assert "from '/pages/vendor/noble-hashes/sha2.js'" in curves.text
        assert "from '@noble/" not in curves.text  # every bare import points at this node
        assert c.get("/pages/vendor/noble-curves/abstract/weierstrass.js").status_code == 200
        assert c.get("/pages/vendor/noble-hashes/scrypt.js").status_code == 200
        for name in ("noble-hashes/../../@openzeppelin/contracts/package.json", "noble-hashes/package.json",
                     "noble-hashes/sha3.js.map", "noble-curves/src/secp256k1.ts", "noble-ciphers/aes.js",
                     "noble-hashes/%2e%2e/%2e%2e/solc/package.json"):
            assert c.get("/pages/vendor/" + name).status_code == 404, name
