"""From a submitted document to a store row: completion, department checks, sealing, encryption."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from eth_account import Account

from common.eip712 import Domain, recover_signer
from issuers.field_cipher import FieldCipher, new_field_key
from issuers.intake import Department, Intake, IntakeSpec, Rejected, prepare_parallel
from issuers.model import CertificateInvalid, Issuer
from issuers.rules.cert_id import parse_cert_id
from issuers.samples import TYPE_CODES, sample_document, sample_issuer
from issuers.sealing import Sealer
from issuers.store import PreparedCertificate

LICENCE = TYPE_CODES["business_licence"]
ID_CARD = TYPE_CODES["resident_id_card"]
DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
NOW = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def spec() -> IntakeSpec:
    template = sample_issuer(LICENCE, "110105")
    return IntakeSpec(Department(template.credit_code, template.region, template.name), bytes(Account.create().key),
                      DOMAIN, new_field_key())


@pytest.fixture
def intake(spec) -> Intake:
    return spec.build()


def _doc(intake: Intake, type_code: str = LICENCE, seed: int = 1) -> dict:
    d = intake.department
    return sample_document(type_code, seed, issuer=Issuer(d.credit_code, d.region, d.name, intake.sealer.address))


def test_missing_issuer_block_and_issuance_time_are_filled_in(intake):
    doc = _doc(intake)
    del doc["issuer"], doc["issuedAt"]
    cert = intake.validate(doc, NOW)
    assert cert.issuer.credit_code == intake.department.credit_code
    assert cert.issuer.signing_address == intake.sealer.address and cert.issued_at == NOW


def test_a_serial_becomes_a_gbt36904_identifier_of_this_department(intake):
    doc = _doc(intake)
    del doc["id"]
    doc["serial"] = "2026000123"
    cert = intake.validate(doc, NOW)
    parsed = parse_cert_id(cert.id)
    assert (parsed.type_code, parsed.issuer_code, parsed.serial, parsed.version) == (
        LICENCE, intake.department.credit_code, "2026000123", "001")


def test_document_in_another_departments_name_is_refused_field_by_field(intake):
    doc = _doc(intake)
    doc["issuer"]["name"] = "北京市海淀区市场监督管理局"
    doc["issuer"]["signingAddress"] = Account.create().address
    with pytest.raises(CertificateInvalid) as refused:
        intake.prepare(doc, NOW)
    assert {e.path for e in refused.value.errors if e.rule == "本部门签发"} == {"issuer.name", "issuer.signingAddress"}


def test_type_the_chain_does_not_authorise_is_refused_once_authorisation_is_known(spec):
    intake = spec.build()
    intake.authorised_types = frozenset({ID_CARD})
    with pytest.raises(CertificateInvalid) as refused:
        intake.prepare(_doc(intake), NOW)
    [error] = refused.value.for_path("type")
    assert error.rule == "链上授权" and "营业执照" in error.message


def test_sensitive_values_and_salts_live_only_in_the_sealed_blob(intake, spec):
    doc = _doc(intake, ID_CARD)
    row = intake.prepare(doc, NOW)
    plain = json.loads(row.fields_json)
    sealed_paths = {e[0] for e in plain if len(e) == 1}
    assert {"holder.idNumber", "claims.idNumber", "claims.birthDate", "claims.address"} <= sealed_paths
    assert doc["holder"]["idNumber"] not in row.fields_json
    opened = json.loads(FieldCipher.from_key_text(spec.field_key_text).open(row.sealed, row.cert_id.encode()))
    salt_hex, value = opened["holder.idNumber"]
    assert value == doc["holder"]["idNumber"] and len(bytes.fromhex(salt_hex)) == 16


def test_prepared_row_carries_a_root_and_a_signature_that_verify(intake):
    row = intake.prepare(_doc(intake), NOW)
    assert recover_signer(DOMAIN, row.document_root, row.signature) == intake.sealer.address
    assert row.key_id == intake.cipher.key_id and len(row.input_mac) == 32


def test_certificate_without_sensitive_fields_has_no_sealed_blob(intake):
    assert intake.prepare(_doc(intake, LICENCE), NOW).sealed is None  # a company's licence: nothing personal


def test_prepare_many_reports_bad_rows_by_position(intake):
    docs = [_doc(intake, seed=i) for i in range(4)]
    docs[2]["validFrom"] = "not a date"
    out = intake.prepare_many(docs, NOW)
    assert [type(o) for o in out] == [PreparedCertificate, PreparedCertificate, Rejected, PreparedCertificate]
    assert out[2].index == 2 and out[2].errors[0].path == "validFrom"


def test_worker_processes_prepare_the_same_certificates_as_this_process(spec):
    intake = spec.build()
    docs = [_doc(intake, LICENCE if i % 2 else ID_CARD, i) for i in range(12)]
    docs[5]["holder"]["idType"] = "999"
    parallel = [p for chunk in prepare_parallel(spec, docs, workers=2, chunk=4, now=NOW) for p in chunk]
    serial = intake.prepare_many(docs, NOW)
    assert [type(p) for p in parallel] == [type(s) for s in serial]
    for p, s in zip(parallel, serial, strict=True):
        if isinstance(p, PreparedCertificate):
            assert p.cert_id == s.cert_id and p.input_mac == s.input_mac
            assert recover_signer(DOMAIN, p.document_root, p.signature) == intake.sealer.address
        else:
            assert p.index == s.index == 5


def test_sealer_and_spec_reprs_hide_keys(spec):
    assert spec.signing_key.hex() not in repr(spec) and spec.field_key_text not in repr(spec)
    assert spec.signing_key.hex() not in repr(Sealer(spec.signing_key, DOMAIN))


def test_same_input_gets_the_same_fingerprint_but_fresh_salts(intake):
    doc = _doc(intake)
    first, second = intake.prepare(doc, NOW), intake.prepare(doc, NOW)
    assert first.input_mac == second.input_mac
    assert first.document_root != second.document_root
