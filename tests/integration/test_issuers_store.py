"""The issuer's off-chain store on real databases (SQLite file and PostgreSQL): acceptance,
encryption at rest, idempotent re-submission, bulk semantics, batch closing, the outbox."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import text

from common.document import document_root
from common.eip712 import Domain, recover_signer
from common.merkle import verify_proof
from issuers.errors import DuplicateCertificate, FieldKeyError
from issuers.field_cipher import FieldCipher, new_field_key
from issuers.intake import Department, IntakeSpec
from issuers.model import CertificateInvalid, Issuer
from issuers.samples import TYPE_CODES, sample_document, sample_issuer
from issuers.service import IssuerService
from issuers.store import BatchState, CertificateStore

LICENCE = TYPE_CODES["business_licence"]
ID_CARD = TYPE_CODES["resident_id_card"]
DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")


class Desk:
    """A department's service without a chain: issuance and the store need none."""

    def __init__(self, db_url: str, field_key: str | None = None) -> None:
        self.account = Account.create()
        template = sample_issuer(LICENCE, "110105")
        self.department = Department(template.credit_code, template.region, template.name)
        self.issuer = Issuer(template.credit_code, template.region, template.name, self.account.address)
        self.field_key = field_key or new_field_key()
        spec = IntakeSpec(self.department, bytes(self.account.key), DOMAIN, self.field_key)
        self.service = IssuerService(CertificateStore(db_url, FieldCipher.from_key_text(self.field_key)), spec)
        self.store = self.service.store

    def docs(self, n: int, seed: int = 0, types: tuple[str, ...] = (LICENCE, ID_CARD)) -> list[dict[str, Any]]:
        return [sample_document(types[i % len(types)], seed * 1000 + i, issuer=self.issuer) for i in range(n)]


@pytest.fixture
def desk(db_url) -> Desk:  # type: ignore[no-untyped-def]
    d = Desk(db_url)
    yield d
    d.store.close()


def test_accepted_certificate_reads_back_with_fields_that_rebuild_its_root(desk):
    doc = desk.docs(2)[1]  # a resident ID card: has sensitive fields
    receipt = desk.service.issue(doc)
    cert = desk.service.certificate(receipt.cert_id)
    assert cert.document == doc
    assert document_root(list(cert.fields)) == cert.document_root == receipt.document_root
    assert recover_signer(DOMAIN, cert.document_root, cert.signature) == desk.account.address
    assert {"holder.idNumber", "claims.idNumber", "claims.birthDate"} <= cert.sensitive_paths
    assert cert.anchor_state == "accepted" and cert.batch_root is None


def test_sensitive_values_and_their_salts_are_not_stored_in_clear(desk, db_url):
    doc = desk.docs(2)[1]
    cert = desk.service.certificate(desk.service.issue(doc).cert_id)
    secrets = [f for f in cert.fields if f.path in cert.sensitive_paths]
    with desk.store.engine.connect() as c:
        row = c.execute(text("SELECT fields, sealed FROM iss_certificates")).one()
    stored = (row[0].encode() + bytes(row[1])).decode("latin-1")
    for field in secrets:
        assert str(field.value) not in row[0] and field.salt.hex() not in stored
    assert doc["holder"]["idNumber"] not in stored
    assert doc["holder"]["name"] in row[0]  # not sensitive: stored as is


def test_sensitive_fields_need_the_key_they_were_sealed_with(desk, db_url):
    cert_id = desk.service.issue(desk.docs(2)[1]).cert_id
    stranger = CertificateStore(db_url, FieldCipher.from_key_text(new_field_key()))
    with pytest.raises(FieldKeyError) as refused:
        stranger.certificate(cert_id)
    assert "另一把字段加密密钥" in str(refused.value)
    assert stranger.certificate(cert_id, decrypt=False).document_root  # the rest stays readable
    stranger.close()


def test_resubmitting_the_same_input_is_recognised_not_issued_twice(desk):
    doc = desk.docs(1)[0]
    first = desk.service.issue(doc)
    again = desk.service.issue(doc)
    assert again.already_accepted and again.document_root == first.document_root
    assert desk.store.overview()["certificates"] == 1


def test_same_identifier_with_different_content_is_refused(desk):
    doc = desk.docs(1)[0]
    desk.service.issue(doc)
    changed = {**doc, "claims": {**doc["claims"], "registeredCapital": "1万元人民币"}}
    with pytest.raises(DuplicateCertificate) as refused:
        desk.service.issue(changed)
    assert doc["id"] in str(refused.value)


def test_invalid_certificate_is_not_stored(desk):
    doc = desk.docs(1)[0]
    doc["holder"]["idNumber"] = doc["holder"]["idNumber"][:-1] + ("0" if doc["holder"]["idNumber"][-1] != "0" else "1")
    with pytest.raises(CertificateInvalid) as refused:
        desk.service.issue(doc)
    assert "holder.idNumber" in refused.value.paths
    assert desk.store.overview()["certificates"] == 0


def test_certificate_in_another_departments_name_is_refused_naming_the_field(desk):
    doc = desk.docs(1)[0]
    doc["issuer"] = {**doc["issuer"], "signingAddress": Account.create().address}
    with pytest.raises(CertificateInvalid) as refused:
        desk.service.issue(doc)
    assert [e.rule for e in refused.value.for_path("issuer.signingAddress")] == ["本部门签发"]


def test_bulk_bad_row_rejects_only_itself(desk):
    docs = desk.docs(6)
    docs[2]["validFrom"] = "2025-02-30"
    docs[4]["holder"].pop("name")
    result = desk.service.issue_many(docs, chunk=2)
    assert [r.index for r in result.rejected] == [2, 4]
    assert {e.path for e in result.rejected[0].errors} == {"validFrom"}
    assert sorted(result.accepted) == sorted(d["id"] for i, d in enumerate(docs) if i not in (2, 4))
    assert desk.store.overview()["certificates"] == 4


def test_strict_bulk_stores_nothing_when_any_row_is_bad(desk):
    docs = desk.docs(5)
    docs[3]["type"] = "11100000000000000X001"
    result = desk.service.issue_many(docs, strict=True)
    assert not result.stored and not result.accepted and [r.index for r in result.rejected] == [3]
    assert desk.store.overview()["certificates"] == 0


def test_strict_bulk_with_a_conflicting_identifier_stores_nothing(desk):
    docs = desk.docs(4, types=(LICENCE,))
    desk.service.issue({**docs[1], "claims": {**docs[1]["claims"], "registeredCapital": "1万元人民币"}})
    result = desk.service.issue_many(docs, strict=True)
    assert not result.stored and [r.index for r in result.rejected] == [1]
    assert desk.store.overview()["certificates"] == 1


def test_rerunning_a_bulk_import_accepts_nothing_twice(desk):
    docs = desk.docs(10)
    desk.service.issue_many(docs[:6])
    result = desk.service.issue_many(docs)
    assert len(result.already_accepted) == 6 and len(result.accepted) == 4
    assert desk.store.overview()["certificates"] == 10


def test_batch_closes_when_it_reaches_the_size(desk):
    desk.service.issue_many(desk.docs(25, types=(LICENCE,)))
    code = desk.department.credit_code
    closed = desk.store.close_batches(code, size=10, max_age=3600)
    assert [b.cert_count for b in closed] == [10, 10]
    assert desk.store.overview()["unbatched"] == 5


def test_batch_closes_when_its_oldest_certificate_is_old_enough(desk):
    desk.service.issue_many(desk.docs(3, types=(LICENCE,)))
    code = desk.department.credit_code
    accepted_at = desk.store.certificate(desk.docs(1, types=(LICENCE,))[0]["id"], decrypt=False).accepted_at
    assert desk.store.close_batches(code, size=1024, max_age=2.0, now=accepted_at + 1.0) == []
    [batch] = desk.store.close_batches(code, size=1024, max_age=2.0, now=accepted_at + 2.5)
    assert batch.cert_count == 3 and batch.state is BatchState.PENDING


def test_batch_root_commits_to_every_member(desk):
    ids = desk.service.issue_many(desk.docs(30, types=(LICENCE,))).accepted
    [batch] = desk.store.close_batches(desk.department.credit_code, size=64, max_age=0, force=True)
    for cert_id in ids:
        cert = desk.service.certificate(cert_id)
        assert cert.batch_root == batch.root and verify_proof(batch.root, cert.document_root, cert.batch_proof)


def test_concurrent_batch_closers_never_put_a_certificate_in_two_batches(desk):
    desk.service.issue_many(desk.docs(200, types=(LICENCE,)))
    code = desk.department.credit_code
    errors: list[Exception] = []

    def close() -> None:
        for _ in range(10):
            try:
                desk.store.close_batches(code, size=7, max_age=0)
            except Exception as exc:  # an aborted close is fine; a double assignment is not
                errors.append(exc)

    threads = [threading.Thread(target=close) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    desk.store.close_batches(code, size=7, max_age=0)
    members = [cid for b in desk.store.batches() for cid, _ in desk.store.members(b.id)]
    assert len(members) == len(set(members)) == 200
    assert all(b.cert_count == len(desk.store.members(b.id)) for b in desk.store.batches())


def test_outbox_moves_only_from_the_expected_state(desk):
    desk.service.issue_many(desk.docs(3, types=(LICENCE,)))
    [batch] = desk.store.close_batches(desk.department.credit_code, size=10, max_age=0, force=True)
    assert desk.store.mark_final(batch.id) is False  # pending cannot jump to final
    assert desk.store.mark_submitted(batch.id, b"\x01" * 32, b"raw", 7) is True
    assert desk.store.mark_submitted(batch.id, b"\x02" * 32, b"raw", 8) is False  # already submitted
    assert desk.store.mark_anchored(batch.id, b"\x01" * 32, 10, b"\x03" * 32) is True
    assert desk.store.back_to_pending(batch.id, "x") is False  # anchored is not dropped
    assert desk.store.mark_final(batch.id) is True
    assert desk.store.batch(batch.id).state is BatchState.FINAL
