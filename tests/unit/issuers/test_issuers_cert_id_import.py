"""GB/T 36904 identifiers as provincial platforms issued them: read on import, never minted here.

`parse_imported_cert_id` accepts what the strict `parse_cert_id` accepts and an issuer segment
that is a six-digit GB/T 2260 division code; every check character is still verified.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from issuers.rules import (
    IssuerCodeKind,
    RuleViolation,
    make_cert_id,
    make_credit_code,
    parse_cert_id,
    parse_imported_cert_id,
)
from issuers.rules.cert_id import OID_PREFIX, cert_id_check_char
from issuers.rules.iso7064 import ALPHANUMERIC
from issuers.rules.regions import PROVINCES

#: 安徽 (合肥) platform, 不动产权证书: the issuer segment is 合肥市's division code 340100.
HEFEI = "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9"
#: 浙江 platform: the strict form, for comparison (DESIGN's example).
ZHEJIANG = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"
#: Made by the faulty pre-2023 generator (module docstring of issuers.rules.cert_id): MOD 37,36 gives "D".
FAULTY_GENERATOR = ("1.2.156.3005.2.11100000000013661B006.113700000045046442."
                    "209FA4E88F9E4C878F3E9BED2CE7EA49.001.M")


def _dotted(type_code: str, issuer: str, serial: str, version: str, check: str) -> str:
    return f"{OID_PREFIX}.{type_code}.{issuer}.{serial}.{version}.{check}"


def refused(value: object, parse=parse_imported_cert_id) -> RuleViolation:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleViolation) as info:
        parse(value)
    return info.value


# ----------------------------------------------------------------- examples from the wild


def test_hefei_identifier_with_a_division_code_as_issuer_is_read_on_import() -> None:
    cid = parse_imported_cert_id(HEFEI)
    assert cid.issuer_kind is IssuerCodeKind.REGION_CODE
    assert (cid.type_code, cid.issuer_code, cid.serial, cid.version, cid.check) == (
        "11100000MB03271699022", "340100", "000000016", "001", "9")
    assert str(cid) == HEFEI


def test_hefei_identifier_is_refused_by_the_strict_parser_with_its_own_reason() -> None:
    err = refused(HEFEI, parse_cert_id)
    assert err.code == "issuer_code_region"
    assert "六位行政区划代码" in err.message and "导入已有证照" in err.message
    assert "division code" in err.message_en and "import" in err.message_en


def test_credit_code_form_reads_the_same_on_import_as_strictly() -> None:
    assert parse_imported_cert_id(ZHEJIANG) == parse_cert_id(ZHEJIANG)
    assert parse_imported_cert_id(ZHEJIANG).issuer_kind is IssuerCodeKind.CREDIT_CODE


def test_check_character_of_the_faulty_generator_is_refused_on_import() -> None:
    err = refused(FAULTY_GENERATOR)
    assert err.code == "check_char"
    assert "应为D" in err.message


# ----------------------------------------------------------------- each segment named on import


def test_wrong_check_char_of_a_division_code_id_names_the_expected_one() -> None:
    err = refused(HEFEI[:-1] + "8")
    assert err.code == "check_char"
    assert "应为9" in err.message and "expected 9" in err.message_en


def test_division_code_of_an_unknown_province_is_refused_on_import() -> None:
    segments = ("11100000MB03271699022", "990100", "000000016", "001")
    text = _dotted(*segments, cert_id_check_char(*segments))
    err = refused(text)
    assert err.code == "issuer_code"
    assert err.rule == "GB/T 2260"
    assert "六位行政区划代码" in err.message and "省级代码99不存在" in err.message


def test_issuer_segment_of_another_length_names_both_accepted_forms() -> None:
    text = HEFEI.replace(".340100.", ".3401000.")
    err = refused(text)
    assert err.code == "issuer_code"
    assert "统一社会信用代码（18位）或六位行政区划代码" in err.message and "7位" in err.message


def test_bad_credit_code_issuer_is_still_refused_on_import() -> None:
    err = refused(ZHEJIANG.replace("11330105002500287C", "11330105002500287D"))
    assert err.code == "issuer_code"
    assert err.rule == "GB 32100"


def test_bad_type_code_is_still_refused_on_import() -> None:
    assert refused(HEFEI.replace("11100000MB03271699022", "11100000MB03271698022")).code == "type_code"


def test_minting_never_takes_a_division_code_as_issuer() -> None:
    with pytest.raises(RuleViolation) as info:
        make_cert_id("11100000MB03271699022", "340100", "16", 1)
    assert info.value.code == "issuer_code_region"


# ----------------------------------------------------------------- properties

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SERIAL_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
credit_codes = st.builds(
    lambda org, head: make_credit_code(head + org),
    st.text(alphabet=CREDIT_CHARS, min_size=9, max_size=9),
    st.sampled_from(["11100000", "11340100", "91440300", "12110000"]),
)
type_codes = st.builds(lambda authority, n: f"{authority}{n:03d}", credit_codes, st.integers(0, 999))
_MAINLAND = sorted(code[:2] for code, p in PROVINCES.items() if not p.special)


@st.composite
def division_codes(draw: st.DrawFn) -> str:
    """A possible GB/T 2260 code at province, prefecture or county level."""
    province = draw(st.sampled_from(_MAINLAND))
    level = draw(st.sampled_from(["province", "prefecture", "county"]))
    if level == "province":
        return province + "0000"
    prefecture = f"{draw(st.integers(1, 99)):02d}"
    county = "00" if level == "prefecture" else f"{draw(st.integers(1, 99)):02d}"
    return province + prefecture + county


serials = st.text(alphabet=SERIAL_CHARS, min_size=1, max_size=40)
versions = st.integers(0, 999).map(lambda v: f"{v:03d}")


@st.composite
def variant_ids(draw: st.DrawFn) -> tuple[str, IssuerCodeKind]:
    """An identifier of either accepted form, with its correct check character."""
    kind = draw(st.sampled_from(list(IssuerCodeKind)))
    issuer = draw(division_codes() if kind is IssuerCodeKind.REGION_CODE else credit_codes)
    segments = (draw(type_codes), issuer, draw(serials), draw(versions))
    return _dotted(*segments, cert_id_check_char(*segments)), kind


@given(variant_ids())
def test_every_variant_with_its_check_char_is_read_on_import(case: tuple[str, IssuerCodeKind]) -> None:
    text, kind = case
    cid = parse_imported_cert_id(text)
    assert cid.issuer_kind is kind
    assert str(cid) == text


@given(variant_ids(), st.integers(1, 35))
def test_every_variant_with_another_check_char_is_refused_on_import(
    case: tuple[str, IssuerCodeKind], shift: int
) -> None:
    text, _ = case
    wrong = ALPHANUMERIC[(ALPHANUMERIC.index(text[-1]) + shift) % 36]
    err = refused(text[:-1] + wrong)
    assert err.code == "check_char"
    assert f"应为{text[-1]}" in err.message


@given(type_codes, division_codes(), serials, versions)
def test_strict_parser_refuses_every_division_code_variant(
    type_code: str, region: str, serial: str, version: str
) -> None:
    check = cert_id_check_char(type_code, region, serial, version)
    assert refused(_dotted(type_code, region, serial, version, check), parse_cert_id).code == "issuer_code_region"


@given(variant_ids(), st.integers(0, 3), st.sampled_from(SERIAL_CHARS))
def test_a_changed_character_in_any_segment_is_caught_on_import(
    case: tuple[str, IssuerCodeKind], segment: int, replacement: str
) -> None:
    # A single substitution anywhere in type, issuer, serial or version: MOD 37,36 (or the
    # embedded GB 32100 / GB/T 2260 rules) catch every one.
    text, _ = case
    parts = text[len(OID_PREFIX) + 1 :].split(".")
    target = parts[segment]
    position = len(target) // 2
    assume(target[position] != replacement)
    parts[segment] = target[:position] + replacement + target[position + 1 :]
    with pytest.raises(RuleViolation):
        parse_imported_cert_id(f"{OID_PREFIX}." + ".".join(parts))
