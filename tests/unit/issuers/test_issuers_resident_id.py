"""GB 11643 resident ID numbers: real valid numbers pass, every kind of defect is named."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuers.rules import RuleViolation, Sex, check_resident_id, is_valid_resident_id, make_resident_id
from issuers.rules.iso7064 import mod_11_2_check_char
from issuers.rules.regions import PROVINCES
from issuers.rules.resident_id import (
    CHECK_CHARS,
    normalise_resident_id,
    resident_id_check_char,
)

TODAY = date(2026, 1, 1)

#: The worked example printed in GB 11643-1999 itself (北京市朝阳区, 1949-12-31, female).
STANDARD_EXAMPLE = "11010519491231002X"


def violation(value: str) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        check_resident_id(value, today=TODAY)
    return info.value


def test_standard_example_passes_and_decodes() -> None:
    rid = check_resident_id(STANDARD_EXAMPLE, today=TODAY)
    assert rid.region_code == "110105"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sequence == "002"
    assert rid.sex is Sex.FEMALE
    assert rid.province_code == "110000"


def test_odd_sequence_digit_means_male() -> None:
    number = make_resident_id("440305", date(1990, 5, 17), 123)
    assert check_resident_id(number, today=TODAY).sex is Sex.MALE


def test_sex_codes_follow_gb_t_2261() -> None:
    assert (Sex.MALE.code, Sex.FEMALE.code) == ("1", "2")


def test_check_digit_ten_is_written_x() -> None:
    assert STANDARD_EXAMPLE[-1] == "X" == resident_id_check_char(STANDARD_EXAMPLE[:17])


def test_wrong_check_digit_says_what_it_should_be() -> None:
    err = violation("110105194912310021")
    assert err.code == "check_digit"
    assert err.rule == "GB 11643"
    assert "应为X" in err.message and "校验位" in err.message
    assert "expected X" in err.message_en


def test_lowercase_x_is_refused_with_its_own_message() -> None:
    err = violation("11010519491231002x")
    assert err.code == "lowercase"
    assert "大写" in err.message


def test_normalise_upper_cases_and_strips_spaces_for_input_forms() -> None:
    assert normalise_resident_id(" 110105 19491231 002x ") == STANDARD_EXAMPLE


def test_impossible_birth_date_19990230_is_refused() -> None:
    number = make_resident_id("110105", date(1999, 2, 1), 2)  # valid shape, then patch the day
    body = number[:6] + "19990230" + number[14:17]
    err = violation(body + resident_id_check_char(body))
    assert err.code == "birth_date"
    assert "19990230" in err.message


def test_future_birth_date_is_refused() -> None:
    err = violation(make_resident_id("110105", date(2030, 1, 1), 2))
    assert err.code == "birth_date"
    assert "将来" in err.message and "20260101" in err.message


def test_birth_date_today_is_accepted() -> None:
    assert is_valid_resident_id(make_resident_id("110105", TODAY, 2), today=TODAY)


def test_birth_date_before_1900_is_refused() -> None:
    err = violation(make_resident_id("110105", date(1899, 12, 31), 2))
    assert err.code == "birth_date"
    assert "1900" in err.message


def test_unknown_province_is_refused_under_gb_t_2260() -> None:
    err = violation(make_resident_id("990105", date(1980, 1, 1), 2))
    assert err.code == "region"
    assert err.rule == "GB/T 2260"
    assert "99" in err.message


def test_taiwan_province_code_710000_issues_no_id_numbers() -> None:
    err = violation(make_resident_id("710000", date(1980, 1, 1), 2))
    assert err.code == "region"


@pytest.mark.parametrize("code", ["810000", "820000", "830000"])
def test_hong_kong_macao_taiwan_residence_permit_numbers_are_accepted(code: str) -> None:
    rid = check_resident_id(make_resident_id(code, date(1980, 1, 1), 1), today=TODAY)
    assert rid.is_residence_permit
    assert rid.province_code == code


def test_county_code_without_prefecture_is_refused() -> None:
    assert violation(make_resident_id("110005", date(1980, 1, 1), 2)).code == "region"


@pytest.mark.parametrize("value", ["11010519491231002", "11010519491231002XX", "", "1" * 15])
def test_wrong_length_is_refused(value: str) -> None:
    err = violation(value)
    assert err.code == "length"
    assert str(len(value)) in err.message


def test_letter_in_digit_positions_is_refused() -> None:
    err = violation("11010519491231A02X")
    assert err.code == "format"
    assert "第15位" in err.message


def test_x_anywhere_but_the_end_is_refused() -> None:
    assert violation("X10105194912310021").code == "format"


def test_full_width_digits_are_refused() -> None:
    assert violation("１10105194912310021").code == "format"


def test_non_string_is_refused() -> None:
    with pytest.raises(RuleViolation) as info:
        check_resident_id(110105194912310021)
    assert info.value.code == "type"


def test_field_name_is_carried_into_the_error() -> None:
    with pytest.raises(RuleViolation) as info:
        check_resident_id("110105194912310021", field="holder.idNumber", today=TODAY)
    assert info.value.field == "holder.idNumber"
    assert str(info.value).startswith("holder.idNumber: ")


def test_gb_11643_weights_are_iso_7064_mod_11_2() -> None:
    for body in ("11010519491231002", "44030519900517123", "65010120000229004"):
        assert resident_id_check_char(body) == mod_11_2_check_char(body)


# ----------------------------------------------------------------- properties

MAINLAND = sorted(code for code, p in PROVINCES.items() if not p.special)


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(MAINLAND))
    prefecture = draw(st.integers(1, 99))
    county = draw(st.integers(0, 99))
    region = f"{province[:2]}{prefecture:02d}{county:02d}"
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    return make_resident_id(region, birth, draw(st.integers(0, 999)))


@given(valid_ids())
def test_any_generated_valid_number_passes(number: str) -> None:
    rid = check_resident_id(number, today=TODAY)
    assert rid.number == number
    assert f"{rid.birth_date:%Y%m%d}" == number[6:14]


@given(valid_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_character_change_fails(number: str, position: int, replacement: str) -> None:
    if number[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    changed = number[:position] + replacement + number[position + 1 :]
    assert not is_valid_resident_id(changed, today=TODAY)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_char_is_always_one_of_the_eleven(body: str) -> None:
    assert resident_id_check_char(body) in CHECK_CHARS
