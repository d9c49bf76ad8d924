"""GB/T 36904 certificate identifiers: make, parse, and one error per faulty segment."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuers.rules import RuleViolation, make_cert_id, make_credit_code, parse_cert_id
from issuers.rules.cert_id import OID_PREFIX, cert_id_check_char, check_type_code
from issuers.rules.iso7064 import mod_37_36_check_char

WILD = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"
TYPE = "11100000MB0143028R001"  # 营业执照, as defined by 国家市场监督管理总局
ISSUER = "11330105002500287C"


def violation(value: str, **kw: object) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        parse_cert_id(value, **kw)  # type: ignore[arg-type]
    return info.value


def test_design_example_from_the_wild_verifies() -> None:
    cid = parse_cert_id(WILD)
    assert cid.type_code == "11100000000013338W009"
    assert cid.defining_authority_code == "11100000000013338W"
    assert cid.type_number == "009"
    assert cid.issuer_code == "11330105002500287C"
    assert cid.serial == "2025052201"
    assert cid.version == "002" and cid.version_number == 2
    assert cid.check == "0"
    assert str(cid) == WILD


def test_check_is_over_the_four_segments_only() -> None:
    # Pins the reading of the algorithm that reproduces the published check character "0":
    # type + issuer + serial + version, no dots, no OID prefix.
    assert mod_37_36_check_char("11100000000013338W00911330105002500287C2025052201002") == "0"
    assert mod_37_36_check_char("11100000000013338W00911330105002500287C2025052201") != "0"
    assert mod_37_36_check_char("121563005211100000000013338W00911330105002500287C2025052201002") != "0"


def test_make_builds_the_dotted_form_with_check() -> None:
    cid = make_cert_id(TYPE, ISSUER, "20250001", 1)
    assert cid.startswith(OID_PREFIX + "." + TYPE + "." + ISSUER + ".20250001.001.")
    assert cid[-1] == cert_id_check_char(TYPE, ISSUER, "20250001", "001")


def test_make_accepts_version_as_three_digit_string() -> None:
    assert make_cert_id(TYPE, ISSUER, "7", "010") == make_cert_id(TYPE, ISSUER, "7", 10)


def test_wrong_check_char_names_the_expected_one() -> None:
    err = violation(WILD[:-1] + "1")
    assert err.code == "check_char"
    assert err.rule == "GB/T 36904"
    assert "应为0" in err.message


def test_wrong_prefix_is_refused() -> None:
    assert violation(WILD.replace("1.2.156.3005.2", "1.2.156.3005.1")).code == "prefix"


def test_missing_segment_is_refused() -> None:
    assert violation(WILD.rsplit(".", 1)[0]).code == "segments"


def test_bad_type_code_segment_is_named() -> None:
    err = violation(WILD.replace("11100000000013338W009", "11100000000013338X009"))
    assert err.code == "type_code"
    assert "证照类型代码" in err.message


def test_type_code_suffix_must_be_digits() -> None:
    with pytest.raises(RuleViolation) as info:
        check_type_code("11100000000013338W0A9")
    assert "后3位" in info.value.message


def test_bad_issuer_code_segment_is_named() -> None:
    err = violation(WILD.replace("11330105002500287C", "11330105002500287D"))
    assert err.code == "issuer_code"
    assert "颁发机构代码" in err.message


@pytest.mark.parametrize("serial", ["", "2025-01", "abc", "1" * 41])
def test_bad_serial_is_refused(serial: str) -> None:
    with pytest.raises(RuleViolation) as info:
        make_cert_id(TYPE, ISSUER, serial, 1)
    assert info.value.code == "serial"


@pytest.mark.parametrize("version", ["1", "0001", "01A", -1, 1000])
def test_bad_version_is_refused(version: str | int) -> None:
    with pytest.raises(RuleViolation) as info:
        make_cert_id(TYPE, ISSUER, "1", version)
    assert info.value.code == "version"


def test_unverified_codes_mode_still_checks_the_check_char() -> None:
    legacy = "1.2.156.3005.2.11100000000013338W009.91350100M0001TGQXM.1.001."
    body = "11100000000013338W00991350100M0001TGQXM1001"
    good = legacy + mod_37_36_check_char(body)
    assert violation(good).code == "issuer_code"
    assert parse_cert_id(good, verify_codes=False).issuer_code == "91350100M0001TGQXM"
    assert violation(good[:-1] + ("0" if good[-1] != "0" else "1"), verify_codes=False).code == "check_char"


def test_non_string_is_refused() -> None:
    assert violation(42).code == "type"  # type: ignore[arg-type]


# ----------------------------------------------------------------- properties

CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
credit_codes = st.builds(
    lambda org, head: make_credit_code(head + org),
    st.text(alphabet=CODE_CHARS, min_size=9, max_size=9),
    st.sampled_from(["11100000", "11330105", "91440300", "12110000"]),
)


@given(
    authority=credit_codes,
    number=st.integers(0, 999),
    issuer=credit_codes,
    serial=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=40),
    version=st.integers(0, 999),
)
def test_make_parse_round_trip(authority: str, number: int, issuer: str, serial: str, version: int) -> None:
    type_code = f"{authority}{number:03d}"
    text = make_cert_id(type_code, issuer, serial, version)
    cid = parse_cert_id(text)
    assert (cid.type_code, cid.issuer_code, cid.serial, cid.version_number) == (
        type_code,
        issuer,
        serial,
        version,
    )
    assert str(cid) == text
