"""Sensitive fields sealed with SM4-GCM (the 国密 choice, issue 17) in the issuer's real store (SQLite
file and PostgreSQL): sealed, read back, refused under another key, and a store that moves from
AES-256-GCM to SM4-GCM keeps reading the rows it sealed before."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from issuers.errors import FieldKeyError
from issuers.field_cipher import SM4_MAGIC, FieldCipher, new_field_key
from issuers.intake import IntakeSpec
from issuers.service import IssuerService
from issuers.store import CertificateStore
from tests.integration.test_issuers_store import DOMAIN, Desk


@pytest.fixture
def sm4_desk(db_url) -> Desk:  # type: ignore[no-untyped-def]
    d = Desk(db_url, new_field_key(2))
    yield d
    d.store.close()


def _sealed_rows(desk: Desk) -> list[bytes]:
    with desk.store.engine.connect() as c:
        return [bytes(r[0]) for r in c.execute(text("SELECT sealed FROM iss_certificates ORDER BY cert_id"))]


def test_a_certificate_issued_under_an_sm4_key_is_sealed_with_sm4_and_reads_back(sm4_desk):
    doc = sm4_desk.docs(2)[1]  # a resident ID card: has sensitive fields
    cert = sm4_desk.service.certificate(sm4_desk.service.issue(doc).cert_id)
    assert cert.document == doc and {"holder.idNumber"} <= cert.sensitive_paths
    (sealed,) = _sealed_rows(sm4_desk)
    assert sealed.startswith(SM4_MAGIC) and doc["holder"]["idNumber"].encode() not in sealed


def test_resubmitting_the_same_input_under_an_sm4_key_is_recognised(sm4_desk):
    doc = sm4_desk.docs(1)[0]
    first = sm4_desk.service.issue(doc)
    assert sm4_desk.service.issue(doc).already_accepted and sm4_desk.store.overview()["certificates"] == 1
    assert first.cert_id


def test_sm4_sealed_fields_are_refused_under_another_sm4_key(sm4_desk, db_url):
    cert_id = sm4_desk.service.issue(sm4_desk.docs(2)[1]).cert_id
    stranger = CertificateStore(db_url, FieldCipher.from_key_text(new_field_key(2)))
    with pytest.raises(FieldKeyError, match="另一把字段加密密钥"):
        stranger.certificate(cert_id)
    stranger.close()


def test_a_store_moved_from_aes_to_sm4_reads_its_old_and_new_rows(db_url):
    desk = Desk(db_url)  # the department's key text: bare hex, AES-256-GCM
    old = desk.service.issue(desk.docs(2)[1]).cert_id
    desk.store.close()
    moved_key = "sm4-gcm:" + desk.field_key.strip()  # the same master key, now naming SM4-GCM
    spec = IntakeSpec(desk.department, bytes(desk.account.key), DOMAIN, moved_key)
    desk.service = IssuerService(CertificateStore(db_url, FieldCipher.from_key_text(moved_key)), spec)
    desk.store = desk.service.store
    new = desk.service.issue(desk.docs(4, seed=1)[3]).cert_id
    try:
        assert sorted(s[:len(SM4_MAGIC)] == SM4_MAGIC for s in _sealed_rows(desk)) == [False, True]
        for cert_id in (old, new):
            assert desk.service.certificate(cert_id).sensitive_paths
    finally:
        desk.store.close()
