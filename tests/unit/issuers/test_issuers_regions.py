"""GB/T 2260 division codes at provincial level, and the shape rule for lower levels."""

from __future__ import annotations

import pytest

from issuers.rules import RuleViolation, check_region, is_valid_region, province_of, region_name
from issuers.rules.regions import PROVINCES, ProvinceKind


def test_all_31_mainland_provincial_divisions_are_bundled() -> None:
    mainland = [p for p in PROVINCES.values() if not p.special]
    assert len(mainland) == 31
    assert PROVINCES["110000"].name == "北京市"
    assert PROVINCES["650000"].name == "新疆维吾尔自治区"


def test_taiwan_hong_kong_macao_are_marked_special() -> None:
    special = {code: p.name for code, p in PROVINCES.items() if p.special}
    assert special == {"710000": "台湾省", "810000": "香港特别行政区", "820000": "澳门特别行政区"}
    assert PROVINCES["810000"].kind is ProvinceKind.SPECIAL_ADMINISTRATIVE_REGION


def test_four_municipalities_and_five_autonomous_regions() -> None:
    kinds = [p.kind for p in PROVINCES.values()]
    assert kinds.count(ProvinceKind.MUNICIPALITY) == 4
    assert kinds.count(ProvinceKind.AUTONOMOUS_REGION) == 5


def test_region_name_of_provincial_code_is_exact() -> None:
    assert region_name("440000") == "广东省"
    assert region_name(310000) == "上海市"


def test_region_name_of_county_code_names_the_province_and_keeps_the_code() -> None:
    assert region_name("330105") == "浙江省（330105）"


@pytest.mark.parametrize(("code", "province"), [("330105", "330000"), (440305, "440000"), ("429004", "420000")])
def test_province_of_lower_level_code(code: str | int, province: str) -> None:
    assert province_of(code) == province


@pytest.mark.parametrize("code", ["110105", "440300", "429004", "650000", 110000, "810000"])
def test_valid_codes_at_every_level(code: str | int) -> None:
    assert is_valid_region(code)


def test_levels_are_read_off_the_shape() -> None:
    assert [check_region(c).level for c in ("330000", "330100", "330105")] == [
        "province",
        "prefecture",
        "county",
    ]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("990000", "province"),  # no such province
        ("000000", "province"),
        ("100000", "province"),  # the national level is not a division (credit codes only)
        ("110005", "shape"),  # county under no prefecture
        ("810100", "shape"),  # Hong Kong has no GB/T 2260 subdivisions
        ("11010", "format"),
        ("11010a", "format"),
        (11010, "format"),  # an int that lost its leading digit
        (True, "type"),
        (None, "type"),
    ],
)
def test_invalid_codes_are_refused_with_reason(code: object, reason: str) -> None:
    with pytest.raises(RuleViolation) as info:
        check_region(code, field="issuer.region")  # type: ignore[arg-type]
    assert info.value.code == reason
    assert info.value.rule == "GB/T 2260"
    assert info.value.field == "issuer.region"
