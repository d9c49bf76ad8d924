"""Import of existing certificates: a row keeps the id its provincial platform gave it.

Only `existing_ids=True` reads ids with the import rules (issuers.rules.cert_id); ordinary
issuance — a serial, or an id given in this system's form — stays strict.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eth_account import Account

from common.eip712 import Domain
from issuers.field_cipher import new_field_key
from issuers.intake import IMPORT_RULE, Department, Intake, IntakeSpec, prepare_parallel
from issuers.model import CertificateInvalid, FieldError, Issuer
from issuers.rules import IssuerCodeKind
from issuers.rules.cert_id import OID_PREFIX, cert_id_check_char
from issuers.samples import TYPE_CODES, sample_document, sample_issuer
from issuers.store import PreparedCertificate

LICENCE = TYPE_CODES["business_licence"]
DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
NOW = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)
REGION = "110105"  # the department's own area (北京市朝阳区)


@pytest.fixture(scope="module")
def spec() -> IntakeSpec:
    template = sample_issuer(LICENCE, REGION)
    return IntakeSpec(Department(template.credit_code, template.region, template.name), bytes(Account.create().key),
                      DOMAIN, new_field_key())


@pytest.fixture
def intake(spec: IntakeSpec) -> Intake:
    return spec.build()


def platform_id(issuer_segment: str, serial: str = "000000016", version: str = "001") -> str:
    """An id as a provincial platform mints it, with its MOD 37,36 check character."""
    check = cert_id_check_char(LICENCE, issuer_segment, serial, version)
    return f"{OID_PREFIX}.{LICENCE}.{issuer_segment}.{serial}.{version}.{check}"


def imported_doc(intake: Intake, cert_id: str, seed: int = 1) -> dict:
    d = intake.department
    doc = sample_document(LICENCE, seed, issuer=Issuer(d.credit_code, d.region, d.name, intake.sealer.address))
    doc["id"] = cert_id
    return doc


def refusal(intake: Intake, doc: dict, *, existing_ids: bool) -> FieldError:
    with pytest.raises(CertificateInvalid) as refused:
        intake.prepare(doc, NOW, existing_ids=existing_ids)
    [error] = refused.value.for_path("id")
    return error


@pytest.mark.parametrize("segment", [REGION, REGION[:4] + "00", REGION[:2] + "0000"])
def test_an_id_naming_the_departments_area_or_one_above_it_is_imported(intake, segment):
    cert_id = platform_id(segment)
    row = intake.prepare(imported_doc(intake, cert_id), NOW, existing_ids=True)
    assert isinstance(row, PreparedCertificate)
    assert row.cert_id == cert_id
    cert = intake.validate(imported_doc(intake, cert_id), NOW, existing_ids=True)
    assert cert.cert_id.issuer_kind is IssuerCodeKind.REGION_CODE
    assert cert.issuer.credit_code == intake.department.credit_code  # the issuer block stays the department's


def test_the_same_id_is_refused_on_ordinary_issuance_naming_the_issuer_segment(intake):
    error = refusal(intake, imported_doc(intake, platform_id(REGION)), existing_ids=False)
    assert error.code == "issuer_code_region" and error.rule == "GB/T 36904"
    assert "六位行政区划代码" in error.message and "division code" in error.message_en


def test_an_id_naming_another_area_is_refused_on_import(intake):
    for other in ("110106", "340100"):
        error = refusal(intake, imported_doc(intake, platform_id(other)), existing_ids=True)
        assert error.code == "id_issuer_mismatch"
        assert "issuer.region" in error.message


def test_an_imported_id_with_a_wrong_check_char_names_the_expected_one(intake):
    good = platform_id(REGION)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    error = refusal(intake, imported_doc(intake, wrong), existing_ids=True)
    assert error.code == "check_char"
    assert f"应为{good[-1]}" in error.message


def test_an_import_row_without_its_id_is_refused_not_minted(intake):
    doc = imported_doc(intake, platform_id(REGION))
    del doc["id"]
    doc["serial"] = "2026000123"
    error = refusal(intake, doc, existing_ids=True)
    assert error.rule == IMPORT_RULE and error.code == "id_required"


def test_an_existing_id_in_the_strict_form_is_imported_too(intake):
    d = intake.department
    check = cert_id_check_char(LICENCE, d.credit_code, "2019000001", "002")
    cert_id = f"{OID_PREFIX}.{LICENCE}.{d.credit_code}.2019000001.002.{check}"
    cert = intake.validate(imported_doc(intake, cert_id), NOW, existing_ids=True)
    assert cert.cert_id.issuer_kind is IssuerCodeKind.CREDIT_CODE and cert.cert_version == 2


def test_worker_processes_read_imported_ids_with_the_import_rules(spec):
    intake = spec.build()
    docs = [imported_doc(intake, platform_id(REGION, serial=f"{n:09d}"), seed=n) for n in range(1, 4)]
    rows = [p for chunk in prepare_parallel(spec, docs, workers=1, chunk=2, now=NOW, existing_ids=True) for p in chunk]
    assert [r.cert_id for r in rows if isinstance(r, PreparedCertificate)] == [d["id"] for d in docs]
    strict = [p for chunk in prepare_parallel(spec, docs, workers=1, chunk=2, now=NOW) for p in chunk]
    assert not any(isinstance(r, PreparedCertificate) for r in strict)
