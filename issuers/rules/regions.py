"""GB/T 2260 administrative division codes (行政区划代码), at provincial level.

A division code has six digits: two for the province (省级), two for the prefecture (地级),
two for the county (县级). Certificates carry them in three places: the issuer's region
(所属管辖属地编码), digits 1-6 of a resident ID number (GB 11643), and characters 3-8 of a
统一社会信用代码 (GB 32100).

What is bundled and why: all 31 provincial-level divisions of the mainland plus the three
codes GB/T 2260 reserves for 台湾省 (710000), 香港特别行政区 (810000) and 澳门特别行政区
(820000), marked `special` because no mainland authority issues ID numbers or registers
departments under them. The full county list (about 3,000 codes, revised yearly by the
Ministry of Civil Affairs, and old ID numbers keep codes of divisions that no longer exist)
is NOT bundled: a lower-level code is accepted when its province is known and its shape is
possible. That catches typos in the province digits and impossible shapes such as 110001
(a county under no prefecture), but not a well-shaped code for a county that does not exist.
A deployment that needs the exact list can check `is_valid_region` against its own copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from issuers.rules.errors import RuleViolation

__all__ = [
    "NATIONAL_CODE",
    "PROVINCES",
    "RULE",
    "Province",
    "ProvinceKind",
    "RegionCode",
    "check_region",
    "is_valid_region",
    "normalise_region_code",
    "province_of",
    "region_name",
]

RULE: Final[str] = "GB/T 2260"

#: "100000" is not a division but the national level; GB 32100 uses it in the credit codes
#: of central-government bodies (e.g. 11100000000013338W, 住房和城乡建设部). Only the credit
#: code rule accepts it.
NATIONAL_CODE: Final[str] = "100000"


class ProvinceKind(StrEnum):
    PROVINCE = "省"
    AUTONOMOUS_REGION = "自治区"
    MUNICIPALITY = "直辖市"
    SPECIAL_ADMINISTRATIVE_REGION = "特别行政区"
    TAIWAN = "台湾省"


@dataclass(frozen=True, slots=True)
class Province:
    """One provincial-level division.

    `special` is True for 台湾省, 香港特别行政区 and 澳门特别行政区: they have GB/T 2260 codes
    but no subdivisions in the standard, and no mainland issuing department sits there.
    """

    code: str
    name: str
    kind: ProvinceKind
    special: bool = False


def _p(code: str, name: str, kind: ProvinceKind, special: bool = False) -> tuple[str, Province]:
    return code, Province(code, name, kind, special)


_P, _A, _M = ProvinceKind.PROVINCE, ProvinceKind.AUTONOMOUS_REGION, ProvinceKind.MUNICIPALITY

#: code -> Province, in GB/T 2260 order.
PROVINCES: Final[dict[str, Province]] = dict(
    [
        _p("110000", "北京市", _M),
        _p("120000", "天津市", _M),
        _p("130000", "河北省", _P),
        _p("140000", "山西省", _P),
        _p("150000", "内蒙古自治区", _A),
        _p("210000", "辽宁省", _P),
        _p("220000", "吉林省", _P),
        _p("230000", "黑龙江省", _P),
        _p("310000", "上海市", _M),
        _p("320000", "江苏省", _P),
        _p("330000", "浙江省", _P),
        _p("340000", "安徽省", _P),
        _p("350000", "福建省", _P),
        _p("360000", "江西省", _P),
        _p("370000", "山东省", _P),
        _p("410000", "河南省", _P),
        _p("420000", "湖北省", _P),
        _p("430000", "湖南省", _P),
        _p("440000", "广东省", _P),
        _p("450000", "广西壮族自治区", _A),
        _p("460000", "海南省", _P),
        _p("500000", "重庆市", _M),
        _p("510000", "四川省", _P),
        _p("520000", "贵州省", _P),
        _p("530000", "云南省", _P),
        _p("540000", "西藏自治区", _A),
        _p("610000", "陕西省", _P),
        _p("620000", "甘肃省", _P),
        _p("630000", "青海省", _P),
        _p("640000", "宁夏回族自治区", _A),
        _p("650000", "新疆维吾尔自治区", _A),
        _p("710000", "台湾省", ProvinceKind.TAIWAN, special=True),
        _p("810000", "香港特别行政区", ProvinceKind.SPECIAL_ADMINISTRATIVE_REGION, special=True),
        _p("820000", "澳门特别行政区", ProvinceKind.SPECIAL_ADMINISTRATIVE_REGION, special=True),
    ]
)

_SIX_DIGITS = re.compile(r"[0-9]{6}")


@dataclass(frozen=True, slots=True)
class RegionCode:
    """A shape-checked division code and what we can say about it without the county list."""

    code: str
    province: Province

    @property
    def level(self) -> str:
        """ "province", "prefecture" or "county", read off the code's shape."""
        if self.code.endswith("0000"):
            return "province"
        if self.code.endswith("00"):
            return "prefecture"
        return "county"

    def __int__(self) -> int:
        return int(self.code)


def normalise_region_code(code: str | int) -> str:
    """Six-digit string form of a code given as str or int (the document stores an int).

    Raises RuleViolation for anything that is not six ASCII digits (an int below 100000 has
    lost its leading digit and cannot be a division code: none starts with 0).
    """
    if isinstance(code, bool):  # bool is an int subclass; True is not a region
        raise _violation("region", f"{code!r}", "不是行政区划代码", "is not a division code", "type")
    if isinstance(code, int):
        text = str(code)
    elif isinstance(code, str):
        text = code
    else:
        raise _violation("region", repr(code), "应为6位数字", "must be six digits", "type")
    if not _SIX_DIGITS.fullmatch(text):
        raise _violation("region", text, "应为6位数字", "must be six digits", "format")
    return text


def check_region(code: str | int, *, field: str = "region") -> RegionCode:
    """Validate a division code at any level; return it with its province.

    Rules: six digits; the first two name a known provincial-level division; a special
    region (71/81/82) has no subdivisions; a county part without a prefecture part
    (xx00yy, yy != 00) is impossible. Province-administered county-level units carry the
    prefecture part 90 (e.g. 429004 仙桃市) and therefore pass.
    """
    try:
        text = normalise_region_code(code)
    except RuleViolation as exc:
        raise exc.at(field) from None
    province = PROVINCES.get(text[:2] + "0000")
    if province is None:
        raise _violation(
            field,
            text,
            f"省级代码{text[:2]}不存在",
            f"province code {text[:2]} does not exist",
            "province",
        )
    if province.special and text != province.code:
        raise _violation(
            field,
            text,
            f"{province.name}在GB/T 2260中无下级区划，应为{province.code}",
            f"{province.code} has no subdivisions in GB/T 2260",
            "shape",
        )
    if text[2:4] == "00" and text[4:6] != "00":
        raise _violation(
            field,
            text,
            "县级代码须在地级代码之下（第3-4位不能为00）",
            "a county code needs a prefecture part (digits 3-4 must not be 00)",
            "shape",
        )
    return RegionCode(text, province)


def is_valid_region(code: str | int) -> bool:
    """True if `code` is a possible GB/T 2260 code (see the module note on county codes)."""
    try:
        check_region(code)
    except RuleViolation:
        return False
    return True


def province_of(code: str | int) -> str:
    """The provincial-level code ("330000") of any valid division code ("330105")."""
    return check_region(code).province.code


def region_name(code: str | int) -> str:
    """Chinese name of a division.

    Exact for provincial codes ("北京市"). For lower-level codes the county list is not
    bundled, so the answer is the province followed by the code: "浙江省（330105）".
    Raises RuleViolation for an invalid code.
    """
    region = check_region(code)
    if region.code == region.province.code:
        return region.province.name
    return f"{region.province.name}（{region.code}）"


def _violation(field: str, value: str, zh: str, en: str, code: str) -> RuleViolation:
    return RuleViolation(field, RULE, f"行政区划代码{value}无效：{zh}", f"division code {value} is invalid: {en}", code)
