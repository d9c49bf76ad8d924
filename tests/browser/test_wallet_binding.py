"""持证人密钥 in the browser (issue 15, item 2, Must show): the wallet page makes a holder key on the
device, binds it, shows a bound code; a window requiring binding answers VALID; the same code with
the holder signature stripped or replaced fails HOLDER_BINDING_FAILED; the key is in no request.

This module runs its own stack whose windows require holder binding for Beijing certificates
(settings.holder_binding_regions), so the other browser tests keep their unbound codes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from api.seed import BJ
from common.ecdsa import sign_digest
from ledger.anvil import IDLE_BLOCK_TIME_S, start_anvil
from tests.browser.conftest import _require_tools, issue_via_api
from tests.e2e.stack import Stack, running_stack, wait_anchored
from verifier.codec import decode, encode
from verifier.presentation import holder_signing_digest


@pytest.fixture(scope="module", params=[1, 2], ids=["international", "guomi"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Both crypto suites: in a 国密 deployment the page hashes the code's fields with SM3 before it
    signs (api/pages/static/wallet-holder.js, docs/spec/hr2-format.md §10.5)."""
    _require_tools()
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)
    try:
        with running_stack(node, tmp_path_factory.mktemp("browser-binding"), presentation_ttl_s=300,
                           holder_binding_regions=str(BJ), suite=request.param) as s:
            yield s
    finally:
        node.stop()


def _verify(stack: Stack, text: str) -> dict[str, Any]:
    with stack.client("verifier-130000") as clerk:
        return dict(clerk.post("/v1/verify", json={"presentation": text}).json())


def test_wallet_binds_a_device_key_and_shows_codes_only_it_can_sign(stack: Stack, open_page: Any) -> None:
    cert_id, _, holder = issue_via_api(stack, 41)
    wait_anchored(stack, holder, cert_id)
    page = open_page(holder)
    sent: list[bytes] = []
    def record(r: Any) -> None:
        head = r.url + "\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items()) + "\n"
        sent.append(head.encode() + (r.post_data_buffer or b""))

    page.context.on("request", record)

    # Bind: the key is made in the page, the department re-issues version 002 bound to it.
    page.goto(stack.base_url + "/pages/wallet")
    page.click("text=出示这份证照")
    page.wait_for_function("() => document.getElementById('holder-key').dataset.script === '1'")
    page.click("#bind-key")
    page.wait_for_url(stack.base_url + "/pages/wallet")
    with stack.client(holder) as c:
        certs = {item["cert_id"]: item for item in c.get("/v1/wallet/certificates").json()}
    new_id = next(i for i in certs if i != cert_id)
    assert new_id.split(".")[-2] == "002"
    wait_anchored(stack, holder, new_id)
    with stack.client(holder) as c:
        labels = {i["cert_id"]: i["status"]["label"] for i in c.get("/v1/wallet/certificates").json()}
    assert labels[cert_id] == "已换发"

    # A bound code, signed in the page.
    page.goto(stack.base_url + "/pages/wallet")
    page.click("text=出示这份证照")  # the superseded version offers no button
    page.wait_for_function("() => document.getElementById('holder-key').dataset.script === '1'")
    assert page.get_attribute("#holder-key", "data-ready") == "1"
    assert "本机持有" in page.inner_text("#holder-key-status")
    page.fill("#purpose", "办理企业登记")
    page.click("#choose-form button[type=submit]")
    page.wait_for_function("() => location.pathname.endsWith('/signed') || "
                           "document.querySelector('#holder-key-status.field-error') !== null")
    page.wait_for_load_state()
    assert page.locator("#qr").count() == 1, page.inner_text("main")
    assert "已由本机绑定的持证人密钥签名" in page.inner_text("#holder-signed")
    code = page.input_value("#presentation-text")
    p = decode(code)
    assert p.holder_signature is not None and "holder.address" in p.disclosed()
    with stack.client(holder) as c:
        [item] = [i for i in c.get("/v1/wallet/certificates").json() if i["cert_id"] == new_id]
    assert p.suite == item["suite"]  # a 国密 stack's code is suite 2: its leaves are SM3

    # A window that requires binding: VALID, and says the code was bound.
    answer = _verify(stack, code)
    assert answer["verdict"] == "VALID", answer["checks"]
    assert answer["holder_bound"] is True
    # Stripped or replaced holder signature: HOLDER_BINDING_FAILED.
    stripped = _verify(stack, encode(replace(p, holder_signature=None)))
    assert stripped["verdict"] == "HOLDER_BINDING_FAILED" and stripped["holder_bound"] is False
    forged = sign_digest(bytes(range(7, 39)), holder_signing_digest(stack.app.state.runtime.domain, p))
    assert _verify(stack, encode(replace(p, holder_signature=forged)))["verdict"] == "HOLDER_BINDING_FAILED"

    # The automatic refresh signs again in the page.
    first = page.get_attribute("#qr", "src")
    page.click("#refresh-now")
    page.wait_for_function("src => document.getElementById('qr').src !== src", arg=first)
    refreshed = page.input_value("#presentation-text")
    assert _verify(stack, refreshed)["verdict"] == "VALID"

    # The key never left the page: not in any URL, header or body the browser sent.
    secret = bytes(page.evaluate("""id => new Promise((resolve, reject) => {
        const open = indexedDB.open('huren-wallet', 1);
        open.onsuccess = () => {
          const get = open.result.transaction('holder-keys').objectStore('holder-keys').get(id);
          get.onsuccess = () => resolve(Array.from(get.result.secret));
          get.onerror = () => reject(get.error);
        };
      })""", new_id))
    assert len(secret) == 32
    forms = [secret.hex().encode(), secret.hex().upper().encode(), secret, base64.b64encode(secret),
             base64.urlsafe_b64encode(secret).rstrip(b"="), ",".join(map(str, secret)).encode()]
    assert len(sent) > 5
    for request in sent:
        for form in forms:
            assert form not in request, "the holder's key appeared in a request"
