"""The 京津冀 story over real HTTP: Beijing issues, Hebei accepts, Shanghai does not recognise."""

from __future__ import annotations

import time

from tests.e2e.conftest import issue_licence, present, wait_anchored

HEBEI, SHANGHAI, BEIJING = "verifier-130000", "verifier-310000", "verifier-110000"


def _verify(stack, verifier: str, text: str):
    with stack.client(verifier) as c:
        return c.post("/v1/verify", json={"presentation": text})


def test_hebei_clerk_gets_valid_for_a_beijing_business_licence(stack):
    cert_id, doc, holder = issue_licence(stack, 1)
    wait_anchored(stack, holder, cert_id)
    reply = _verify(stack, HEBEI, present(stack, holder, cert_id))
    body = reply.json()
    assert reply.status_code == 200
    assert body["verdict"] == "VALID"
    assert body["disclosed"]["claims.entityName"] == doc["claims"]["entityName"]
    assert body["issuer"]["region"] == 110000
    assert body["anchor"]["block_number"] > 0
    assert body["log_entry"]["logSeq"] >= 1


def test_shanghai_clerk_gets_not_recognised_for_the_same_licence(stack):
    cert_id, _, holder = issue_licence(stack, 2)
    wait_anchored(stack, holder, cert_id)
    body = _verify(stack, SHANGHAI, present(stack, holder, cert_id)).json()
    assert body["verdict"] == "NOT_RECOGNISED"
    assert body["outcome"] != "reject" or "未认可" in body["label"]


def test_revoked_licence_reads_revoked(stack):
    cert_id, _, holder = issue_licence(stack, 3)
    wait_anchored(stack, holder, cert_id)
    text = present(stack, holder, cert_id)
    with stack.client("bj-amr") as c:
        assert c.post(f"/v1/certificates/{cert_id}/revoke", json={"reason": "撤销"}).status_code == 200
    assert _verify(stack, HEBEI, text).json()["verdict"] == "REVOKED"


def test_suspended_licence_reads_suspended_then_valid_after_reinstatement(stack):
    cert_id, _, holder = issue_licence(stack, 4)
    wait_anchored(stack, holder, cert_id)
    text = present(stack, holder, cert_id)
    with stack.client("bj-amr") as c:
        assert c.post(f"/v1/certificates/{cert_id}/suspend", json={"reason": "其他"}).status_code == 200
        assert _verify(stack, HEBEI, text).json()["verdict"] == "SUSPENDED"
        assert c.post(f"/v1/certificates/{cert_id}/reinstate", json={}).status_code == 200
    assert _verify(stack, HEBEI, text).json()["verdict"] == "VALID"


def test_changed_disclosed_value_reads_tampered(stack):
    from dataclasses import replace

    from common.document import Disclosure, SaltedField
    from verifier.codec import decode, encode

    cert_id, _, holder = issue_licence(stack, 5)
    wait_anchored(stack, holder, cert_id)
    p = decode(present(stack, holder, cert_id))
    fields = [SaltedField(f.path, "冒名顶替有限公司" if f.path == "claims.entityName" else f.value, f.salt)
              for f in p.disclosure.fields]
    forged = replace(p, disclosure=Disclosure(fields, p.disclosure.proof, p.disclosure.flags))
    assert _verify(stack, HEBEI, encode(forged)).json()["verdict"] == "TAMPERED"


def test_old_presentation_reads_presentation_expired(stack):
    from dataclasses import replace

    from verifier.codec import decode, encode

    cert_id, _, holder = issue_licence(stack, 6)
    wait_anchored(stack, holder, cert_id)
    p = decode(present(stack, holder, cert_id))
    old = replace(p, created_at=p.created_at - 3600, expires_at=p.expires_at - 3600)
    body = _verify(stack, HEBEI, encode(old)).json()
    assert body["verdict"] == "PRESENTATION_EXPIRED"


def test_verification_from_a_qr_png_upload(stack):
    cert_id, _, holder = issue_licence(stack, 7)
    wait_anchored(stack, holder, cert_id)
    with stack.client(holder) as c:
        png = c.post(f"/v1/wallet/certificates/{cert_id}/presentation?format=png",
                     json={"purpose": "窗口核验"}).content
    with stack.client(HEBEI) as c:
        reply = c.post("/v1/verify/image", files={"image": ("qr.png", png, "image/png")})
    assert reply.status_code == 200, reply.text
    assert reply.json()["verdict"] == "VALID"


def test_reference_url_resolves_once(stack):
    cert_id, _, holder = issue_licence(stack, 8)
    wait_anchored(stack, holder, cert_id)
    with stack.client(holder) as c:
        reference = c.post(f"/v1/wallet/certificates/{cert_id}/presentation",
                           json={"purpose": "老式扫码枪"}).json()["reference"]
    with stack.client(HEBEI) as c:
        first = c.post("/v1/verify", json={"reference": reference})
        again = c.post("/v1/verify", json={"reference": reference})
    assert first.json()["verdict"] == "VALID"
    assert again.status_code == 404
    assert "已被使用" in again.json()["error"]["message"]


def test_same_region_clerk_accepts_own_regions_licence(stack):
    cert_id, _, holder = issue_licence(stack, 9)
    wait_anchored(stack, holder, cert_id)
    assert _verify(stack, BEIJING, present(stack, holder, cert_id)).json()["verdict"] == "VALID"


def test_every_verification_is_logged_in_order(stack):
    cert_id, _, holder = issue_licence(stack, 10)
    wait_anchored(stack, holder, cert_id)
    text = present(stack, holder, cert_id)
    seqs = [_verify(stack, HEBEI, text).json()["log_entry"]["logSeq"] for _ in range(3)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    entry = stack.app.state.runtime.log.get(seqs[-1])
    assert entry.verdict == "VALID" and entry.region == 130000
    assert time.time() - entry.at_ms / 1000 < 60
