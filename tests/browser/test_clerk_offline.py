"""应急模式 in the browser (issue 16, item 3): the clerk page is opened once with the network, then the
network is cut and the page reloaded — the service worker brings the page back, and the page verifies
codes with the JavaScript verifier against the signed snapshot it kept: a valid code VALID, a revoked
one REVOKED, a changed one TAMPERED; with the page's clock moved past the offline bound the kept
facts are too old, and a fresh, genuine code reads UNAVAILABLE, never VALID."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from common.document import Disclosure, SaltedField
from tests.browser.conftest import issue_via_api, present_via_api, shot
from tests.e2e.stack import Stack, wait_anchored
from verifier.codec import decode, encode
from verifier.presentation import make_presentation
from verifier.snapshot import load_snapshot

HEBEI = "verifier-130000"


def _revoked_code(stack: Stack) -> tuple[str, bytes]:
    cert_id, _, holder = issue_via_api(stack, 41)
    wait_anchored(stack, holder, cert_id)
    code = present_via_api(stack, holder, cert_id)
    with stack.client("bj-amr") as c:
        assert c.post(f"/v1/certificates/{cert_id}/revoke", json={"reason": "撤销"}).status_code == 200
    rt = stack.app.state.runtime
    root = rt.departments[stack.world.department("bj-amr").credit_code].service.certificate(cert_id).document_root
    return code, root


def _tampered(code: str) -> str:
    p = decode(code)
    fields = [SaltedField(f.path, "冒名顶替有限公司" if f.path == "claims.entityName" else f.value, f.salt)
              for f in p.disclosure.fields]
    assert any(f.path == "claims.entityName" for f in fields)
    return encode(replace(p, disclosure=Disclosure(fields, p.disclosure.proof, p.disclosure.flags)))


def _code_made_at(stack: Stack, cert_id: str, at: int) -> str:
    """A genuine code, stamped by the issuing node, made at `at` (the page's moved clock)."""
    rt = stack.app.state.runtime
    issued = rt.departments[stack.world.department("bj-amr").credit_code].service.certificate(cert_id)
    assert issued.batch_root is not None and issued.batch_proof is not None
    p = make_presentation(list(issued.fields), ["claims.entityName"], batch_root=issued.batch_root,
                          batch_proof=issued.batch_proof, issuer_signature=issued.signature, purpose="应急核验",
                          domain=rt.domain, now=at, ttl_s=300,
                          stamp_signer=rt.stamp_signers[issued.document["issuer"]["region"]])
    return encode(p)


def _wait_snapshot_has(stack: Stack, cert_hash: bytes, timeout: float = 40) -> None:
    """The node's snapshot for Hebei lists the revocation (the page fetches that one)."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as c:
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/signin").text)
        assert csrf is not None
        c.post("/pages/signin", data={"token": stack.world.tokens[HEBEI], "csrf": csrf.group(1)})
        publisher = c.get("/pages/clerk/offline.json").json()["publisher"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = load_snapshot(c.get("/pages/clerk/snapshot.json").text, publisher, stack.app.state.runtime.domain)
            if any(s.status.cert_hash == cert_hash for s in snap.statuses):
                return
            time.sleep(1)
    raise AssertionError("the revocation did not reach the snapshot")


def _verify_in_page(page: Any, code: str, reasons: list[str] | None = None) -> str:
    """The verdict the page shows offline (and, into `reasons`, its list of checks as the clerk reads it)."""
    page.fill("#text", code)
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#result section.verdict[data-offline='1']")
    verdict = str(page.get_attribute("#result section.verdict", "data-verdict"))
    if reasons is not None:
        reasons.append(page.inner_text("#result ul.checks"))
    page.click("#result .js-clear")
    page.wait_for_function("() => !document.querySelector('#result section.verdict')")
    return verdict


def test_offline_reload_verifies_from_the_kept_snapshot(stack: Stack, open_page: Any, valid_licence: dict[str, Any],
                                                        output_dir: Any) -> None:
    valid = present_via_api(stack, valid_licence["holder"], valid_licence["cert_id"])
    revoked, revoked_root = _revoked_code(stack)
    _wait_snapshot_has(stack, revoked_root)
    bound = stack.app.state.runtime.settings.offline_max_facts_age_s
    later = int(time.time()) + bound + 600
    fresh_later = _code_made_at(stack, valid_licence["cert_id"], later)

    page = open_page(HEBEI)
    page.goto(stack.base_url + "/pages/clerk")
    page.wait_for_function("() => document.documentElement.dataset.offlineReady === 'yes'")
    page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.active.state)")
    assert "离线名录已备妥" in page.inner_text("#offline-status")

    page.context.set_offline(True)
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.offlineReady === 'yes'")
    assert page.is_visible("#offline-banner")
    assert re.match(r"应急模式：离线核验，名录时间 \d+ 秒前", page.inner_text("#offline-banner"))

    assert _verify_in_page(page, valid) == "VALID"
    shot(page, output_dir, "clerk-offline-valid")
    reasons: list[str] = []
    assert _verify_in_page(page, revoked, reasons) == "REVOKED"
    assert "证照已被撤销或暂扣" in reasons[0]  # each finding in the clerk's words, not the verifier's English
    assert _verify_in_page(page, _tampered(valid)) == "TAMPERED"

    page.clock.set_fixed_time(datetime.fromtimestamp(later + 5, tz=UTC))
    assert _verify_in_page(page, fresh_later) == "UNAVAILABLE"
    banner = page.inner_text("#offline-banner")
    assert "名录已超过允许的 8 小时" in banner and "小时前" in banner


def test_offline_without_a_kept_snapshot_says_so(stack: Stack, open_page: Any, valid_licence: dict[str, Any]) -> None:
    """A page that never fetched a snapshot does not pretend: the verification fails in words."""
    valid = present_via_api(stack, valid_licence["holder"], valid_licence["cert_id"])
    page = open_page(HEBEI)
    page.route("**/pages/clerk/snapshot.json", lambda route: route.abort())
    # The sign-in's own landing on the clerk page may already have kept a snapshot (it races the
    # route above): forget whatever was kept, then load the page with the snapshot unreachable.
    page.evaluate("() => caches.keys().then((keys) => Promise.all(keys.map((k) => caches.delete(k))))")
    page.goto(stack.base_url + "/pages/clerk")
    page.wait_for_function("() => document.documentElement.dataset.offlineReady === 'no'")
    page.context.set_offline(True)
    page.fill("#text", valid)
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#form-message:not([hidden])")
    assert "没有可用的离线名录" in page.inner_text("#form-message")
    assert page.query_selector("#result section.verdict") is None
