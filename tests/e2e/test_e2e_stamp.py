"""The 加注 stamp over real HTTP: codes made by the wallet endpoint, changed as a forwarder or forger
would with the open format, verified by a 河北 window. Each attack gets its precise verdict and the
name of the check that failed (issue 15, item 1)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import httpx
import pytest

from common.document import field_leaf
from common.merkle import process_multiproof, process_proof
from tests.e2e.conftest import issue_licence, present, wait_anchored
from verifier.codec import decode, encode
from verifier.presentation import Presentation

HEBEI = "verifier-130000"


def _verify(stack: Any, text: str) -> dict[str, Any]:
    with stack.client(HEBEI) as c:
        reply = c.post("/v1/verify", json={"presentation": text})
    assert reply.status_code in (200, 400), reply.text
    return dict(reply.json())


def _failed(body: dict[str, Any]) -> tuple[str, str]:
    return body["verdict"], body["checks"][-1]["name"]


def _sent(p: Presentation) -> str:
    """As a forger re-encodes it: HR2 carries no roots, so they follow the (changed) fields and proofs."""
    root = process_multiproof([field_leaf(f.salt, f.path, f.value) for f in p.disclosure.fields],
                              p.disclosure.proof, p.disclosure.flags)
    return encode(replace(p, document_root=root, batch_root=process_proof(root, p.batch_proof)))


@pytest.fixture(scope="module")
def licence(stack: Any) -> tuple[str, str]:
    cert_id, _, holder = issue_licence(stack, 61)
    wait_anchored(stack, holder, cert_id)
    return cert_id, holder


@pytest.fixture
def code(stack: Any, licence: tuple[str, str]) -> str:
    cert_id, holder = licence
    return present(stack, holder, cert_id, purpose="在河北办理营业执照异地经营备案")


def test_the_wallet_makes_stamped_hr2_codes_that_verify(stack: Any, code: str) -> None:
    assert code.startswith("HR2:") and decode(code).stamp is not None
    body = _verify(stack, code)
    assert body["verdict"] == "VALID"
    assert any(c["name"] == "stamp_signature" and c["ok"] for c in body["checks"])


def test_a_retimed_code_is_tampered(stack: Any, code: str) -> None:
    p = decode(code)
    body = _verify(stack, _sent(replace(p, created_at=p.created_at + 60, expires_at=p.expires_at + 86_000)))
    assert _failed(body) == ("TAMPERED", "stamp_signature")


def test_a_repurposed_code_is_tampered(stack: Any, code: str) -> None:
    body = _verify(stack, _sent(replace(decode(code), purpose="办理银行贷款")))
    assert _failed(body) == ("TAMPERED", "stamp_signature")


def test_a_renonced_code_is_tampered(stack: Any, code: str) -> None:
    body = _verify(stack, _sent(replace(decode(code), nonce=bytes(12))))
    assert _failed(body) == ("TAMPERED", "stamp_signature")


def test_a_code_with_its_stamp_stripped_must_be_refreshed(stack: Any, code: str) -> None:
    body = _verify(stack, _sent(replace(decode(code), stamp=None)))
    assert _failed(body) == ("PRESENTATION_EXPIRED", "stamp")
    assert "请持证人刷新出示码" in body["checks"][-1]["detail"]


def test_a_stamp_spliced_from_another_code_is_tampered(stack: Any, licence: tuple[str, str], code: str) -> None:
    cert_id, holder = licence
    other = decode(present(stack, holder, cert_id, purpose="在河北办理营业执照异地经营备案"))
    body = _verify(stack, _sent(replace(decode(code), stamp=other.stamp)))
    assert _failed(body) == ("TAMPERED", "stamp_signature")


def test_a_code_forwarded_beyond_its_window_is_expired(stack: Any, code: str) -> None:
    p = decode(code)
    stale = replace(p, created_at=p.created_at - 3600, expires_at=p.expires_at - 3600)  # as if made an hour ago
    body = _verify(stack, _sent(stale))
    assert _failed(body) == ("PRESENTATION_EXPIRED", "presentation_window")


def test_a_legacy_unsigned_hr1_code_must_be_refreshed(stack: Any, code: str) -> None:
    hr1 = _sent(replace(decode(code), format=1, stamp=None, audience=None))
    assert hr1.startswith("HR1:")
    body = _verify(stack, hr1)
    assert _failed(body) == ("PRESENTATION_EXPIRED", "stamp")


ATTACKS = {  # what a forwarder or forger does to a code -> words the clerk's page must show
    "re-timed": (lambda p: replace(p, created_at=p.created_at + 60, expires_at=p.expires_at + 86_000),
                 "加注签章与出示码内容不符"),
    "re-purposed": (lambda p: replace(p, purpose="办理银行贷款"), "加注签章与出示码内容不符"),
    "re-nonced": (lambda p: replace(p, nonce=bytes(12)), "加注签章与出示码内容不符"),
    "stamp stripped": (lambda p: replace(p, stamp=None), "制作时间、有效期与事由无法确认"),
    "forwarded late": (lambda p: replace(p, created_at=p.created_at - 3600, expires_at=p.expires_at - 3600),
                       "过期"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_clerk_page_names_each_attack_in_words(stack: Any, code: str, attack: str) -> None:
    change, words = ATTACKS[attack]
    text = _sent(change(decode(code)))
    c, csrf = _signed_in_clerk(stack)
    try:
        reply = c.post("/pages/clerk/verify", data={"text": text, "csrf": csrf},
                       headers={"Origin": stack.base_url})
    finally:
        c.close()
    assert reply.status_code in (200, 400), reply.text[:500]
    assert words in reply.text, attack
    assert "有效 · " not in reply.text  # never the VALID headline


def _signed_in_clerk(stack: Any) -> tuple[httpx.Client, str]:
    """A 河北 window's page session over real HTTP and the CSRF token of its forms."""
    c = httpx.Client(base_url=stack.base_url, timeout=30)
    form = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/signin").text)
    assert form is not None
    assert c.post("/pages/signin", data={"token": stack.world.tokens[HEBEI], "csrf": form.group(1)},
                  headers={"Origin": stack.base_url}).status_code == 303
    page = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/clerk").text)
    assert page is not None
    return c, page.group(1)


def test_a_region_reference_resolves_to_a_stamped_code(stack: Any, licence: tuple[str, str]) -> None:
    cert_id, holder = licence
    with stack.client(holder) as c:
        reply = c.post(f"/v1/wallet/certificates/{cert_id}/presentation", json={"purpose": "办理备案"})
    reference = reply.json()["reference"]
    assert reference is not None
    with stack.client(HEBEI) as c:
        body = c.post("/v1/verify", json={"reference": reference}).json()
    assert body["verdict"] == "VALID"
    assert any(c["name"] == "stamp_signature" and c["ok"] for c in body["checks"])
