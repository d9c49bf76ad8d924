"""Refusals over real HTTP: credentials, roles, regions, and other departments' certificates."""

from __future__ import annotations

from tests.e2e.conftest import issue_licence, present, wait_anchored


def test_verify_without_credential_is_401(stack):
    with stack.client() as c:
        reply = c.post("/v1/verify", json={"presentation": "HR1:XYZ"})
    assert reply.status_code == 401
    assert "缺少凭证" in reply.json()["error"]["message"]


def test_verify_with_a_wrong_token_is_401(stack):
    with stack.client() as c:
        reply = c.post("/v1/verify", json={"presentation": "HR1:XYZ"},
                       headers={"Authorization": "Bearer hr_not-a-real-token"})
    assert reply.status_code == 401


def test_department_credential_cannot_verify(stack):
    with stack.client("bj-amr") as c:
        reply = c.post("/v1/verify", json={"presentation": "HR1:XYZ"})
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "WRONG_ROLE"


def test_verifier_credential_cannot_issue(stack):
    with stack.client("verifier-130000") as c:
        reply = c.post("/v1/certificates", json={"document": {"type": "x"}})
    assert reply.status_code == 403


def test_region_comes_from_the_credential_not_the_body(stack):
    cert_id, _, holder = issue_licence(stack, 20)
    wait_anchored(stack, holder, cert_id)
    text = present(stack, holder, cert_id)
    with stack.client("verifier-310000") as c:
        reply = c.post("/v1/verify", json={"presentation": text, "region": 130000})
    # Shanghai's credential is Shanghai's answer, whatever the body claims (extra fields are ignored).
    assert reply.json()["verdict"] == "NOT_RECOGNISED"
    assert reply.json()["verifier_region"] == 310000


def test_department_cannot_revoke_another_departments_certificate(stack):
    cert_id, _, holder = issue_licence(stack, 21)
    wait_anchored(stack, holder, cert_id)
    with stack.client("tj-amr") as c:
        reply = c.post(f"/v1/certificates/{cert_id}/revoke", json={"reason": "撤销"})
        unknown = c.post(f"/v1/certificates/{cert_id[:-4]}0000/revoke", json={"reason": "撤销"})
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == unknown.json()["error"]["code"] == "CERTIFICATE_NOT_FOUND"
    with stack.client("verifier-130000") as c:
        assert c.post("/v1/verify", json={"presentation": present(stack, holder, cert_id)}).json()["verdict"] \
            == "VALID"


def test_another_departments_certificate_is_answered_as_an_unknown_id(stack):
    """404, as for an id that does not exist: a department cannot learn which ids others issued."""
    cert_id, _, _ = issue_licence(stack, 22)
    unknown_id = cert_id[:-4] + ("0000" if not cert_id.endswith("0000") else "1111")
    with stack.client("he-amr") as c:
        theirs, unknown = c.get(f"/v1/certificates/{cert_id}"), c.get(f"/v1/certificates/{unknown_id}")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"] == "CERTIFICATE_NOT_FOUND"
    assert theirs.json()["error"]["hint"] == unknown.json()["error"]["hint"]


def test_holder_cannot_present_someone_elses_certificate(stack):
    cert_id, _, _ = issue_licence(stack, 23)
    _, _, other_holder = issue_licence(stack, 24)
    with stack.client(other_holder) as c:
        reply = c.post(f"/v1/wallet/certificates/{cert_id}/presentation", json={"purpose": "冒用"})
    assert reply.status_code == 404


def test_document_naming_another_department_is_refused(stack):
    from issuers.model import Issuer
    from issuers.samples import sample_document

    tj = stack.world.department("tj-amr")
    doc = sample_document(tj.types[0], 99, issuer=Issuer(tj.credit_code, tj.region, tj.name, "0x" + "00" * 20))
    with stack.client("bj-amr") as c:
        reply = c.post("/v1/certificates", json={"document": doc})
    assert reply.status_code in (403, 422)
    assert reply.json()["error"]["message"]
