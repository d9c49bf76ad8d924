"""Sample certificates: valid for every type, and the same for the same seed."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from issuers.catalogue import default_catalogue
from issuers.model import validate_certificate
from issuers.rules import check_credit_code, check_region
from issuers.samples import (
    LATEST_ISSUANCE,
    LOCALITIES,
    TYPE_CODES,
    sample_certificate,
    sample_document,
    sample_documents,
    sample_issuer,
    sample_issuers,
)

CATALOGUE = default_catalogue()
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_there_is_a_sample_builder_for_every_catalogue_type() -> None:
    assert set(TYPE_CODES.values()) == set(CATALOGUE)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(TYPE_CODES.values())), st.integers(min_value=-(2**63), max_value=2**63))
def test_every_sample_validates(type_code: str, seed: int) -> None:
    cert = validate_certificate(sample_document(type_code, seed), CATALOGUE, now=NOW)
    assert cert.type_code == type_code
    assert cert.issued_at <= LATEST_ISSUANCE


def test_a_thousand_samples_across_all_types_validate() -> None:
    docs = sample_documents(1000, seed=7)
    assert {d["type"] for d in docs} == set(TYPE_CODES.values())
    for doc in docs:
        validate_certificate(doc, CATALOGUE, now=NOW)


def test_same_seed_same_document() -> None:
    assert sample_documents(20, seed=3) == sample_documents(20, seed=3)


def test_different_seeds_give_different_documents_and_identifiers() -> None:
    docs = sample_documents(500, seed=11)
    assert len({d["id"] for d in docs}) == 500
    assert sample_documents(5, seed=1) != sample_documents(5, seed=2)


def test_sample_certificate_returns_a_validated_certificate() -> None:
    cert = sample_certificate(TYPE_CODES["birth_certificate"], 9)
    assert cert.certificate_type.name == "出生医学证明"


def test_holder_address_can_be_forced_on_or_off() -> None:
    code = TYPE_CODES["degree"]
    addr = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert sample_document(code, 1, holder_address=addr)["holder"]["address"] == addr
    assert "address" not in sample_document(code, 1, holder_address=False)["holder"]


def test_issuer_can_be_overridden_with_a_real_signing_address() -> None:
    code = TYPE_CODES["resident_id_card"]
    issuer = sample_issuer(code, "440305", signing_address="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    doc = sample_document(code, 4, issuer=issuer)
    assert doc["issuer"]["signingAddress"] == issuer.signing_address
    assert doc["issuer"]["creditCode"] in doc["id"]
    validate_certificate(doc, CATALOGUE, now=NOW)


def test_sample_departments_are_deterministic_and_valid() -> None:
    for type_code in TYPE_CODES.values():
        for loc in LOCALITIES:
            issuer = sample_issuer(type_code, loc)
            assert issuer == sample_issuer(type_code, loc.code)
            credit = check_credit_code(issuer.credit_code)
            assert credit.region_code == f"{issuer.region:06d}"
            check_region(issuer.region)


def test_provincial_types_are_issued_by_the_province() -> None:
    issuer = sample_issuer(TYPE_CODES["construction_operator"], "330105")
    assert issuer.region == 330000
    assert issuer.name == "浙江省住房和城乡建设厅"


def test_sample_issuers_cover_every_type_without_duplicates() -> None:
    pairs = sample_issuers()
    assert {code for code, _ in pairs} == set(TYPE_CODES.values())
    assert len(pairs) == len(set((c, i.credit_code) for c, i in pairs))
