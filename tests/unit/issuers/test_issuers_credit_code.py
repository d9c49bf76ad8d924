"""GB 32100 统一社会信用代码: real published codes pass; each defect gets its own message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuers.rules import RuleViolation, check_credit_code, is_valid_credit_code, make_credit_code
from issuers.rules.credit_code import ALPHABET, FORBIDDEN_LETTERS, credit_code_check_char
from issuers.rules.regions import PROVINCES

#: Real codes as published (business licences, government directories). Each one's check
#: character was verified independently before it was put here.
REAL_CODES = {
    "91440300708461136T": "华为技术有限公司",
    "9144030071526726XG": "腾讯科技（深圳）有限公司",
    "91110108551385082Q": "小米科技有限责任公司",
    "91330100716105852F": "published enterprise code, Hangzhou",
    "91110000802100433B": "published enterprise code, Beijing",
    "914403001922038216": "published enterprise code, Shenzhen",
    "11100000000013338W": "中华人民共和国住房和城乡建设部 (defining authority in real type codes)",
    "11100000MB0143028R": "国家市场监督管理总局 (defining authority of 营业执照 11100000MB0143028R001)",
    "11330105002500287C": "issuing department in the DESIGN's example identifier (杭州市拱墅区)",
    "12110000400777687U": "public institution (事业单位), Beijing",
    "11220000013544541J": "government department, Jilin",
}


def violation(value: object) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        check_credit_code(value)
    return info.value


@pytest.mark.parametrize("code", sorted(REAL_CODES))
def test_real_published_code_passes(code: str) -> None:
    assert check_credit_code(code).code == code


def test_decodes_parts_of_a_code() -> None:
    cc = check_credit_code("91440300708461136T")
    assert cc.registration_authority_code == "9"
    assert cc.registration_authority == "工商（市场监督管理）"
    assert cc.category_code == "1"
    assert cc.region_code == "440300"
    assert cc.organisation_code == "708461136"
    assert cc.check_char == "T"
    assert not cc.is_national


def test_central_government_code_has_national_region_100000() -> None:
    assert check_credit_code("11100000000013338W").is_national


def test_unknown_registration_authority_char_is_accepted_but_unnamed() -> None:
    code = make_credit_code("B1110000MA0000001")
    assert check_credit_code(code).registration_authority is None


def test_wrong_check_char_says_what_it_should_be() -> None:
    err = violation("91440300708461136U")
    assert err.code == "check_digit"
    assert err.rule == "GB 32100"
    assert "应为T" in err.message


def test_pilot_area_code_failing_the_check_is_refused() -> None:
    # Early pilot-area code that predates the standard (its check character does not verify).
    assert violation("91350100M0001TGQXM").code == "check_digit"


def test_lowercase_letters_are_refused() -> None:
    err = violation("91440300708461136t")
    assert err.code == "lowercase"
    assert "大写" in err.message


@pytest.mark.parametrize("letter", list(FORBIDDEN_LETTERS))
def test_forbidden_letters_i_o_s_v_z_are_refused(letter: str) -> None:
    err = violation("9144030070846113" + letter + "T")
    assert err.code == "forbidden_letter"
    assert "I、O、S、V、Z" in err.message


def test_punctuation_is_refused() -> None:
    assert violation("91440300-08461136T").code == "format"


@pytest.mark.parametrize("value", ["9144030070846113", "91440300708461136TT", ""])
def test_wrong_length_is_refused(value: str) -> None:
    assert violation(value).code == "length"


def test_invalid_region_characters_are_refused() -> None:
    err = violation(make_credit_code("91990300708461136"))
    assert err.code == "region"
    assert "990300" in err.message


def test_non_string_is_refused() -> None:
    assert violation(None).code == "type"


def test_make_credit_code_completes_a_known_code() -> None:
    assert make_credit_code("91440300708461136") == "91440300708461136T"


def test_check_char_of_foreign_alphabet_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        credit_code_check_char("9144030070846113I")


# ----------------------------------------------------------------- properties

REGIONS = [*sorted(code for code, p in PROVINCES.items() if not p.special), "100000"]


@st.composite
def valid_codes(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from("159Y")) + draw(st.sampled_from("123"))
    region = draw(st.sampled_from(REGIONS))
    org = draw(st.text(alphabet=ALPHABET, min_size=9, max_size=9))
    return make_credit_code(head + region + org)


@given(valid_codes())
def test_any_generated_valid_code_passes(code: str) -> None:
    assert check_credit_code(code).code == code


@given(valid_codes(), st.integers(0, 17), st.sampled_from(ALPHABET + "IOSVZabc"))
def test_any_single_character_change_fails(code: str, position: int, replacement: str) -> None:
    if code[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    changed = code[:position] + replacement + code[position + 1 :]
    assert not is_valid_credit_code(changed)
