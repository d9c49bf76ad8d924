"""Certificate documents: every problem reported at once, each naming the field and the rule."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from issuers.catalogue import default_catalogue
from issuers.model import (
    Certificate,
    CertificateDraft,
    CertificateInvalid,
    FieldError,
    Holder,
    format_issued_at,
    sensitive_paths,
    to_national_metadata,
    validate_certificate,
)
from issuers.rules import make_cert_id, make_resident_id
from issuers.rules.resident_id import resident_id_check_char
from issuers.samples import TYPE_CODES, sample_document, sample_draft
from issuers.status_codes import NationalStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CATALOGUE = default_catalogue()


def doc_of(kind: str, seed: int = 1) -> dict[str, Any]:
    return sample_document(TYPE_CODES[kind], seed)


def errors_of(doc: Any) -> tuple[FieldError, ...]:
    with pytest.raises(CertificateInvalid) as info:
        validate_certificate(doc, CATALOGUE, now=NOW)
    return info.value.errors


def only(errors: tuple[FieldError, ...], path: str) -> FieldError:
    found = [e for e in errors if e.path == path]
    assert len(found) == 1, errors
    return found[0]


def with_bad_check_digit(number: str) -> str:
    wrong = "0" if number[-1] != "0" else "1"
    return number[:-1] + wrong


def reissue_id(doc: dict[str, Any]) -> None:
    """Recompute doc["id"] after changing the issuer code, so only the intended fault remains."""
    serial, version = doc["id"].split(".")[-3:-1]
    doc["id"] = make_cert_id(doc["type"], doc["issuer"]["creditCode"], serial, version)


# ----------------------------------------------------------------- happy path


def test_valid_document_becomes_a_certificate() -> None:
    doc = doc_of("resident_id_card")
    cert = validate_certificate(doc, CATALOGUE, now=NOW)
    assert isinstance(cert, Certificate)
    assert cert.id == doc["id"] and cert.type_code == doc["type"]
    assert cert.holder.id_number == doc["holder"]["idNumber"]
    assert cert.issuer.region == doc["issuer"]["region"]
    assert cert.certificate_type.name == "居民身份证"
    assert cert.cert_version == 1


def test_certificate_to_document_round_trips_exactly() -> None:
    doc = doc_of("marriage")
    assert validate_certificate(doc, CATALOGUE, now=NOW).to_document() == doc


def test_certificate_claims_are_a_private_copy() -> None:
    doc = doc_of("degree")
    cert = validate_certificate(doc, CATALOGUE, now=NOW)
    doc["claims"]["name"] = "改名"
    assert cert.claims["name"] != "改名"


def test_validity_window_is_inclusive_and_open_ended_when_permanent() -> None:
    cert = validate_certificate(doc_of("degree"), CATALOGUE, now=NOW)
    assert cert.is_permanent
    assert cert.in_validity_window(cert.valid_from)
    assert not cert.in_validity_window(cert.valid_from - timedelta(days=1))
    assert cert.in_validity_window(date(2999, 1, 1))


def test_default_catalogue_and_clock_are_used_when_not_given() -> None:
    assert validate_certificate(doc_of("business_licence")).type_code == TYPE_CODES["business_licence"]


# ----------------------------------------------------------------- all problems at once


def test_every_problem_is_reported_at_once() -> None:
    doc = doc_of("resident_id_card")
    doc["holder"]["idNumber"] = with_bad_check_digit(doc["holder"]["idNumber"])
    doc["validUntil"] = "2000-01-01"
    doc["validFrom"] = "2020-01-01"
    doc["claims"]["favouriteColour"] = "red"
    doc["issuer"]["region"] = 990000
    paths = {e.path for e in errors_of(doc)}
    assert {"holder.idNumber", "validUntil", "claims.favouriteColour", "issuer.region"} <= paths


def test_error_text_names_field_message_and_rule() -> None:
    doc = doc_of("resident_id_card")
    doc["holder"]["idNumber"] = doc["claims"]["idNumber"] = with_bad_check_digit(doc["holder"]["idNumber"])
    err = only(errors_of(doc), "holder.idNumber")
    assert err.rule == "GB 11643"
    assert str(err).startswith("holder.idNumber: 公民身份号码校验位错误：应为")
    assert str(err).endswith("(GB 11643)")


def test_exception_message_lists_every_error() -> None:
    doc = doc_of("resident_id_card")
    doc["validFrom"], doc["validUntil"] = "2020-01-01", "2019-01-01"
    doc["issuer"]["name"] = ""
    with pytest.raises(CertificateInvalid) as info:
        validate_certificate(doc, CATALOGUE, now=NOW)
    text = str(info.value)
    assert "证照数据校验未通过（2项）" in text
    assert "validUntil" in text and "issuer.name" in text
    assert info.value.paths == ("issuer.name", "validUntil")


def test_a_field_failing_its_schema_is_not_reported_again_by_its_rule() -> None:
    doc = doc_of("resident_id_card")
    doc["holder"]["idNumber"] = "abc"
    assert len([e for e in errors_of(doc) if e.path == "holder.idNumber"]) == 1


def test_non_object_document_is_refused() -> None:
    (err,) = errors_of(["not", "a", "document"])
    assert err.path == "" and "JSON对象" in err.message


# ----------------------------------------------------------------- envelope


def test_missing_required_field_is_named_with_its_chinese_label() -> None:
    doc = doc_of("resident_id_card")
    del doc["claims"]["address"]
    err = only(errors_of(doc), "claims.address")
    assert err.code == "required"
    assert "住址" in err.message


def test_long_enumerations_are_summarised_not_listed() -> None:
    doc = doc_of("resident_id_card")
    doc["claims"]["ethnicity"] = "汉"
    err = only(errors_of(doc), "claims.ethnicity")
    assert err.message.startswith("民族取值不在允许的58个取值中（如汉族")


def test_short_enumerations_are_listed() -> None:
    doc = doc_of("resident_id_card")
    doc["claims"]["sex"] = "未知"
    assert only(errors_of(doc), "claims.sex").message == "性别取值应为以下之一：男、女"


def test_unexpected_top_level_field_is_refused() -> None:
    doc = doc_of("resident_id_card")
    doc["remark"] = "x"
    assert only(errors_of(doc), "remark").code == "unexpected"


def test_wrong_json_type_is_explained_in_chinese() -> None:
    doc = doc_of("resident_id_card")
    doc["issuer"]["region"] = "110105"
    err = only(errors_of(doc), "issuer.region")
    assert "整数" in err.message and err.rule == "JSON Schema"


def test_unknown_document_version_is_refused() -> None:
    doc = doc_of("resident_id_card")
    doc["version"] = 2
    assert only(errors_of(doc), "version").code == "const"


def test_issued_at_must_be_utc_to_the_second() -> None:
    doc = doc_of("resident_id_card")
    doc["issuedAt"] = doc["issuedAt"].replace("Z", "+08:00")
    assert only(errors_of(doc), "issuedAt").rule == "JSON Schema"


def test_issued_at_in_the_future_is_refused() -> None:
    doc = doc_of("resident_id_card")
    doc["issuedAt"] = format_issued_at(NOW + timedelta(hours=1))
    assert only(errors_of(doc), "issuedAt").code == "future"


def test_impossible_calendar_date_is_refused() -> None:
    doc = doc_of("social_security_card")
    doc["validFrom"] = "2023-02-30"
    assert only(errors_of(doc), "validFrom").code == "format"


# ----------------------------------------------------------------- identifier


def test_identifier_check_character_is_verified() -> None:
    doc = doc_of("business_licence")
    doc["id"] = doc["id"][:-1] + ("0" if doc["id"][-1] != "0" else "1")
    err = only(errors_of(doc), "id")
    assert err.rule == "GB/T 36904" and err.code == "check_char"


def test_identifier_must_carry_the_documents_type() -> None:
    doc = doc_of("driving_licence")
    other = doc_of("resident_id_card")
    doc["id"] = make_cert_id(other["type"], doc["issuer"]["creditCode"], "1", 1)
    assert only(errors_of(doc), "id").code == "id_type_mismatch"


def test_identifier_must_carry_the_documents_issuer() -> None:
    doc = doc_of("driving_licence")
    doc["id"] = make_cert_id(doc["type"], "91440300708461136T", "1", 1)
    assert only(errors_of(doc), "id").code == "id_issuer_mismatch"


def test_unknown_type_code_is_named_as_not_in_the_catalogue() -> None:
    doc = doc_of("resident_id_card")
    doc["type"] = "11100000MB0143028R999"
    err = only(errors_of(doc), "type")
    assert err.rule == "证照目录" and "未在证照目录中登记" in err.message


# ----------------------------------------------------------------- issuer


def test_issuer_credit_code_is_checked_under_gb_32100() -> None:
    doc = doc_of("marriage")
    doc["issuer"]["creditCode"] = with_bad_check_digit(doc["issuer"]["creditCode"])
    err = only(errors_of(doc), "issuer.creditCode")
    assert err.rule == "GB 32100" and err.code == "check_digit"


def test_issuer_region_must_be_a_gb_t_2260_code() -> None:
    doc = doc_of("marriage")
    doc["issuer"]["region"] = 990100
    assert only(errors_of(doc), "issuer.region").rule == "GB/T 2260"


def test_issuer_region_must_lie_in_the_province_of_its_credit_code() -> None:
    doc = doc_of("marriage", seed=2)
    doc["issuer"]["region"] = 650102 if not str(doc["issuer"]["region"]).startswith("65") else 110105
    assert only(errors_of(doc), "issuer.region").code == "region_mismatch"


def test_issuer_region_may_not_be_hong_kong() -> None:
    doc = doc_of("marriage")
    doc["issuer"]["region"] = 810000
    assert only(errors_of(doc), "issuer.region").code == "region"


def test_signing_address_must_be_eip55_checksummed() -> None:
    doc = doc_of("marriage")
    good = doc["issuer"]["signingAddress"]
    doc["issuer"]["signingAddress"] = good.lower()
    err = only(errors_of(doc), "issuer.signingAddress")
    assert err.rule == "EIP-55" and good in err.message


# ----------------------------------------------------------------- holder


def test_holder_id_type_must_be_allowed_by_the_certificate_type() -> None:
    doc = doc_of("resident_id_card")
    doc["holder"]["idType"] = "001"
    err = only(errors_of(doc), "holder.idType")
    assert "111（公民身份号码）" in err.message


def test_organisation_holder_is_checked_under_gb_32100() -> None:
    doc = doc_of("business_licence")
    bad = with_bad_check_digit(doc["holder"]["idNumber"])
    doc["holder"]["idNumber"] = doc["claims"]["creditCode"] = bad
    assert only(errors_of(doc), "holder.idNumber").rule == "GB 32100"
    assert only(errors_of(doc), "claims.creditCode").rule == "GB 32100"


def test_holder_born_after_issuance_is_refused() -> None:
    doc = doc_of("degree")
    issued = datetime.fromisoformat(doc["issuedAt"].replace("Z", "+00:00"))
    later = make_resident_id("110105", (issued + timedelta(days=40)).date(), 1)
    doc["holder"]["idNumber"] = later
    err = only(errors_of(doc), "holder.idNumber")
    assert err.code == "birth_date" and "将来" in err.message


def test_holder_address_must_be_an_address() -> None:
    doc = doc_of("degree")
    doc["holder"]["address"] = "0x1234"
    assert only(errors_of(doc), "holder.address").rule == "JSON Schema"


# ----------------------------------------------------------------- claims rules and cross-checks


def test_claims_id_numbers_are_checked_under_gb_11643() -> None:
    doc = doc_of("marriage")
    doc["claims"]["spouseB"]["idNumber"] = with_bad_check_digit(doc["claims"]["spouseB"]["idNumber"])
    assert only(errors_of(doc), "claims.spouseB.idNumber").rule == "GB 11643"


def test_claims_region_codes_are_checked_under_gb_t_2260() -> None:
    doc = doc_of("social_security_card")
    doc["claims"]["issuingRegion"] = "990000"
    assert only(errors_of(doc), "claims.issuingRegion").rule == "GB/T 2260"


def test_id_card_birth_date_must_match_the_id_number() -> None:
    doc = doc_of("resident_id_card")
    born = date.fromisoformat(doc["claims"]["birthDate"])
    doc["claims"]["birthDate"] = (born + timedelta(days=1)).isoformat()
    err = only(errors_of(doc), "claims.birthDate")
    assert err.rule == "GB 11643" and err.code == "birth_date_mismatch"
    assert "出生" in err.message


def test_id_card_sex_must_match_the_id_number() -> None:
    doc = doc_of("resident_id_card")
    doc["claims"]["sex"] = "女" if doc["claims"]["sex"] == "男" else "男"
    assert only(errors_of(doc), "claims.sex").code == "sex_mismatch"


def test_id_card_name_must_be_the_holders_name() -> None:
    doc = doc_of("resident_id_card")
    doc["claims"]["name"] = doc["claims"]["name"] + "甲"
    err = only(errors_of(doc), "claims.name")
    assert err.rule == "证照目录" and err.code == "mismatch"
    assert doc["claims"]["name"] not in err.message  # compared values are not echoed


def test_id_card_number_must_be_the_holders_number() -> None:
    doc = doc_of("resident_id_card")
    other = make_resident_id("110105", date(1980, 1, 1), 2)
    doc["holder"]["idNumber"] = other
    assert only(errors_of(doc), "claims.idNumber").code == "mismatch"


def test_marriage_certificate_holder_must_be_one_of_the_spouses() -> None:
    doc = doc_of("marriage")
    stranger = make_resident_id("310104", date(1985, 3, 3), 5)
    doc["holder"]["idNumber"] = stranger
    err = only(errors_of(doc), "holder")
    assert err.code == "holder_not_party"
    assert "登记当事人（一）" in err.message


def test_birth_certificate_holder_must_be_a_parent() -> None:
    doc = doc_of("birth_certificate")
    doc["holder"]["name"] = "某某"
    assert only(errors_of(doc), "holder").code == "holder_not_party"


def test_birth_certificate_cannot_be_issued_before_the_birth() -> None:
    doc = doc_of("birth_certificate")
    born = doc["claims"]["newborn"]["birthDateTime"]
    doc["claims"]["issueDate"] = (date.fromisoformat(born[:10]) - timedelta(days=1)).isoformat()
    assert only(errors_of(doc), "claims.newborn.birthDateTime").code == "date_order"


def test_driving_licence_first_issue_cannot_follow_the_validity_start() -> None:
    doc = doc_of("driving_licence")
    doc["claims"]["firstIssueDate"] = (date.fromisoformat(doc["validFrom"]) + timedelta(days=1)).isoformat()
    assert only(errors_of(doc), "claims.firstIssueDate").code == "date_order"


def test_wrong_birth_date_in_a_spouses_id_number_is_reported_once() -> None:
    doc = doc_of("marriage")
    number = doc["claims"]["spouseA"]["idNumber"]
    body = number[:6] + "19990230" + number[14:17]
    doc["claims"]["spouseA"]["idNumber"] = body + resident_id_check_char(body)
    errors = errors_of(doc)
    assert only(errors, "claims.spouseA.idNumber").code == "birth_date"
    assert not [e for e in errors if e.path in ("claims.spouseA.birthDate", "claims.spouseA.sex")]


# ----------------------------------------------------------------- validity


def test_valid_until_before_valid_from_is_refused() -> None:
    doc = doc_of("social_security_card")
    doc["validUntil"] = (date.fromisoformat(doc["validFrom"]) - timedelta(days=1)).isoformat()
    err = only(errors_of(doc), "validUntil")
    assert err.code == "validity_order" and err.rule == "GB/T 36903"


def test_valid_from_equal_to_valid_until_is_a_one_day_certificate() -> None:
    doc = doc_of("social_security_card")
    doc["validUntil"] = doc["validFrom"]
    assert validate_certificate(doc, CATALOGUE, now=NOW).valid_until == date.fromisoformat(doc["validFrom"])


def test_permanent_types_refuse_an_end_date() -> None:
    doc = doc_of("degree")
    doc["validUntil"] = "2099-12-31"
    assert only(errors_of(doc), "validUntil").code == "permanent"


# ----------------------------------------------------------------- drafts


def test_draft_issue_assigns_identifier_and_validates() -> None:
    spec = sample_draft(TYPE_CODES["business_licence"], 5)
    cert = spec.draft.issue(issuer=spec.issuer, serial="20250001", issued_at=spec.issued_at, catalogue=CATALOGUE)
    assert cert.serial == "20250001"
    assert cert.cert_id.issuer_code == spec.issuer.credit_code


def test_draft_issue_reports_a_bad_serial_under_id() -> None:
    spec = sample_draft(TYPE_CODES["business_licence"], 5)
    with pytest.raises(CertificateInvalid) as info:
        spec.draft.issue(issuer=spec.issuer, serial="2025-0001", issued_at=spec.issued_at)
    assert info.value.paths == ("id",)


def test_draft_issue_refuses_invalid_claims() -> None:
    spec = sample_draft(TYPE_CODES["resident_id_card"], 5)
    draft = CertificateDraft(spec.draft.type_code, spec.draft.holder, {}, spec.draft.valid_from, None)
    with pytest.raises(CertificateInvalid) as info:
        draft.issue(issuer=spec.issuer, serial="1", issued_at=spec.issued_at)
    assert "claims.name" in info.value.paths


def test_issued_at_is_written_in_utc_whole_seconds() -> None:
    moment = datetime(2025, 5, 22, 16, 30, 1, 999_999, tzinfo=timezone(timedelta(hours=8)))
    assert format_issued_at(moment) == "2025-05-22T08:30:01Z"


def test_naive_issued_at_is_refused() -> None:
    with pytest.raises(ValueError):
        format_issued_at(datetime(2025, 1, 1))


# ----------------------------------------------------------------- sensitivity and national metadata


def test_sensitive_paths_add_the_holders_id_number_for_people_only() -> None:
    person = validate_certificate(doc_of("resident_id_card"), CATALOGUE, now=NOW)
    company = validate_certificate(doc_of("business_licence"), CATALOGUE, now=NOW)
    assert {"holder.idNumber", "claims.idNumber", "claims.address", "claims.birthDate"} <= sensitive_paths(person)
    assert "holder.idNumber" not in sensitive_paths(company)


NATIONAL_LABELS = {
    "证照标识", "证照类型代码", "证照类型名称", "证照名称", "证照编号", "证照版本号", "颁发机构", "颁发机构代码",
    "颁发日期", "证照定义机构", "证照定义机构代码", "持证主体", "持证主体代码", "持证主体代码类型代码",
    "有效期起始", "有效期截止", "所属管辖属地编码", "证照状态",
}  # fmt: skip


def test_national_metadata_uses_the_gb_t_36903_labels() -> None:
    cert = validate_certificate(doc_of("business_licence"), CATALOGUE, now=NOW)
    meta = to_national_metadata(cert)
    assert set(meta) >= NATIONAL_LABELS
    assert meta["证照标识"] == cert.id
    assert meta["证照类型名称"] == "营业执照"
    assert meta["证照编号"] == cert.claims["creditCode"]
    assert meta["持证主体代码类型代码"] == "001"
    assert meta["证照定义机构代码"] == "11100000MB0143028R"
    assert meta["所属管辖属地编码"] == f"{cert.issuer.region:06d}"
    assert (meta["证照状态"], meta["证照状态名称"]) == ("01", "有效")
    assert "扩展业务信息" not in meta


def test_national_metadata_writes_open_validity_as_long_term() -> None:
    cert = validate_certificate(doc_of("marriage"), CATALOGUE, now=NOW)
    assert to_national_metadata(cert)["有效期截止"] == "长期"


def test_national_metadata_issue_date_is_the_china_calendar_date() -> None:
    doc = doc_of("degree")
    doc["issuedAt"] = "2025-01-01T17:00:00Z"  # 2025-01-02 01:00 in Beijing
    cert = validate_certificate(doc, CATALOGUE, now=NOW)
    assert to_national_metadata(cert)["颁发日期"] == "2025-01-02"


def test_national_metadata_carries_the_status_given() -> None:
    cert = validate_certificate(doc_of("driving_licence"), CATALOGUE, now=NOW)
    meta = to_national_metadata(cert, status=NationalStatus.REVOKED)
    assert (meta["证照状态"], meta["证照状态名称"]) == ("07", "吊销")


def test_national_metadata_claims_are_opt_in_and_keyed_by_chinese_titles() -> None:
    cert = validate_certificate(doc_of("marriage"), CATALOGUE, now=NOW)
    ext = to_national_metadata(cert, include_claims=True)["扩展业务信息"]
    assert ext["结婚证字号"] == cert.claims["certificateNumber"]
    assert ext["登记当事人（一）"]["身份证件号"] == cert.claims["spouseA"]["idNumber"]


def test_holder_dataclass_omits_absent_address() -> None:
    assert Holder("张三", "111", "11010519491231002X").to_document() == {
        "name": "张三",
        "idType": "111",
        "idNumber": "11010519491231002X",
    }


def test_validation_does_not_modify_the_input() -> None:
    doc = doc_of("birth_certificate")
    before = copy.deepcopy(doc)
    validate_certificate(doc, CATALOGUE, now=NOW)
    assert doc == before
