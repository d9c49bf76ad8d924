"""The packaged certificate-type catalogue: valid draft 2020-12 schemas with consistent annotations."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from common.canonical import canonicalize
from common.document import ALWAYS_DISCLOSED
from common.hashing import keccak
from issuers.catalogue import CatalogueError, default_catalogue, document_schema, load_catalogue, schema_hash
from issuers.catalogue.catalogue import KNOWN_RULES, CertificateType
from issuers.rules import check_credit_code, check_type_code

Edit = Callable[[dict[str, Any]], object]
TYPES_DIR = Path(__file__).resolve().parents[3] / "issuers" / "catalogue" / "types"
CATALOGUE = default_catalogue()
TYPES = CATALOGUE.types()
IDS = [t.type_code for t in TYPES]

REQUIRED_NAMES = {
    "居民身份证",
    "机动车驾驶证",
    "营业执照",
    "社会保障卡",
    "不动产权证书",
    "学位证书",
    "结婚证",
    "出生医学证明",
}
#: Property names that always hold personal data when they occur in claims.
PERSONAL_KEYS = {"idNumber", "address", "birthDate", "birthDateTime", "socialSecurityNumber", "licenceNumber"}


def test_catalogue_has_the_eight_required_types_and_more() -> None:
    assert {t.name for t in TYPES} >= REQUIRED_NAMES
    assert len(TYPES) >= 9


@pytest.mark.parametrize("ctype", TYPES, ids=IDS)
def test_every_schema_is_valid_draft_2020_12(ctype: CertificateType) -> None:
    assert ctype.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(ctype.schema)


def test_document_envelope_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(document_schema())


@pytest.mark.parametrize("ctype", TYPES, ids=IDS)
def test_type_code_is_authority_credit_code_plus_three_digits(ctype: CertificateType) -> None:
    check_type_code(ctype.type_code)
    check_credit_code(ctype.defining_authority.credit_code)
    assert ctype.type_code[:18] == ctype.defining_authority.credit_code


@pytest.mark.parametrize("ctype", TYPES, ids=IDS)
def test_schema_hash_is_keccak_of_rfc8785_canonical_schema(ctype: CertificateType) -> None:
    raw = json.loads((TYPES_DIR / ctype.source).read_text(encoding="utf-8"))
    assert ctype.schema_hash == keccak(canonicalize(raw)) == schema_hash(raw)
    assert len(ctype.schema_hash) == 32


def test_schema_hashes_are_distinct() -> None:
    assert len({t.schema_hash for t in TYPES}) == len(TYPES)


def test_schema_hash_ignores_key_order_and_whitespace() -> None:
    raw = json.loads((TYPES_DIR / "business_licence.json").read_text(encoding="utf-8"))
    reordered = json.loads(json.dumps(dict(reversed(list(raw.items())))))
    assert schema_hash(reordered) == CATALOGUE["11100000MB0143028R001"].schema_hash


@pytest.mark.parametrize("ctype", TYPES, ids=IDS)
def test_every_claim_has_a_chinese_title(ctype: CertificateType) -> None:
    for path in ctype.claim_paths:
        title = ctype.title_of(path)
        assert title and any("\u4e00" <= ch <= "\u9fff" for ch in title), path


@pytest.mark.parametrize("ctype", [t for t in TYPES if "111" in t.holder_id_types], ids=lambda t: t.type_code)
def test_types_about_people_mark_at_least_one_sensitive_field(ctype: CertificateType) -> None:
    assert ctype.sensitive_paths


@pytest.mark.parametrize("ctype", TYPES, ids=IDS)
def test_id_numbers_addresses_and_birth_dates_are_always_sensitive(ctype: CertificateType) -> None:
    for path in ctype.claim_paths:
        if path.rsplit(".", 1)[-1] in PERSONAL_KEYS:
            assert path in ctype.sensitive_paths, path


@pytest.mark.parametrize("ctype", TYPES, ids=IDS)
def test_resident_id_fields_are_sensitive(ctype: CertificateType) -> None:
    for path, rule in ctype.rule_fields:
        assert rule in KNOWN_RULES
        if rule == "GB 11643":
            assert path in ctype.sensitive_paths


@pytest.mark.parametrize("ctype", TYPES, ids=IDS)
def test_default_disclosure_reveals_no_sensitive_field(ctype: CertificateType) -> None:
    assert ctype.default_disclosure
    assert not set(ctype.default_disclosure) & ctype.sensitive_paths
    assert "holder.idNumber" not in ctype.default_disclosure


@pytest.mark.parametrize("ctype", TYPES, ids=IDS)
def test_default_disclosure_does_not_repeat_always_disclosed_fields(ctype: CertificateType) -> None:
    assert not set(ctype.default_disclosure) & set(ALWAYS_DISCLOSED)


def test_id_card_discloses_only_the_name_by_default() -> None:
    assert CATALOGUE.by_name("居民身份证").default_disclosure == ("claims.name",)


def test_business_licence_discloses_name_and_credit_code_by_default() -> None:
    ct = CATALOGUE.by_name("营业执照")
    assert ct.default_disclosure == ("claims.entityName", "claims.creditCode")
    assert ct.holder_id_types == ("001",)


def test_real_estate_title_may_be_held_by_people_or_organisations() -> None:
    assert set(CATALOGUE.by_name("不动产权证书").holder_id_types) == {"111", "001"}


def test_published_defining_authorities_are_marked_as_such() -> None:
    assert CATALOGUE.by_name("营业执照").defining_authority.source == "published"
    assert CATALOGUE["11100000000013338W032"].defining_authority.name == "中华人民共和国住房和城乡建设部"
    synthetic = [t for t in TYPES if t.defining_authority.source == "synthetic"]
    assert all("HR" in t.defining_authority.credit_code for t in synthetic)


def test_lookup_by_unknown_code_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        CATALOGUE["11100000MB0143028R999"]
    assert CATALOGUE.get("11100000MB0143028R999") is None


# ----------------------------------------------------------------- loader refuses broken files


def _broken_copy(tmp_path: Path, edit: Edit) -> Path:
    shutil.copy(TYPES_DIR / "business_licence.json", tmp_path / "a.json")
    raw = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    edit(raw)
    (tmp_path / "a.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def test_loader_accepts_a_directory_of_valid_types(tmp_path: Path) -> None:
    cat = load_catalogue(_broken_copy(tmp_path, lambda raw: None))
    assert list(cat) == ["11100000MB0143028R001"]


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda r: r.update({"x-type-code": "11100000MB0143028X001"}), "x-type-code"),
        (lambda r: r["x-default-disclosure"].append("claims.nope"), "x-default-disclosure"),
        (lambda r: r["properties"]["creditCode"].update({"x-rule": "GB 99999"}), "x-rule"),
        (lambda r: r["x-cross-checks"].append({"check": "sameAs", "path": "claims.entityName"}), "unknown check"),
        (lambda r: r["x-cross-checks"].append({"check": "equals", "path": "claims.x", "to": "holder.name"}), "path"),
        (lambda r: r.update({"x-holder-id-types": ["002"]}), "x-holder-id-types"),
        (lambda r: r["properties"]["entityName"].pop("title"), "title"),
        (lambda r: r.update({"type": "objekt"}), "draft 2020-12"),
        (lambda r: r.update({"$schema": "http://json-schema.org/draft-07/schema#"}), "$schema"),
    ],
)
def test_loader_refuses_inconsistent_type_file(tmp_path: Path, edit: Edit, fragment: str) -> None:
    with pytest.raises(CatalogueError, match=r"a\.json") as info:
        load_catalogue(_broken_copy(tmp_path, edit))
    assert fragment in str(info.value)


def test_loader_refuses_duplicate_type_codes(tmp_path: Path) -> None:
    _broken_copy(tmp_path, lambda raw: None)
    shutil.copy(tmp_path / "a.json", tmp_path / "b.json")
    with pytest.raises(CatalogueError, match="already defined"):
        load_catalogue(tmp_path)


def test_loader_refuses_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no certificate types"):
        load_catalogue(tmp_path)
