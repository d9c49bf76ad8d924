"""GB 32100 统一社会信用代码 (unified social credit code): 18 characters, checked and decoded.

Layout: 1 registration-authority character (登记管理部门代码, e.g. 1 机构编制, 5 民政,
9 工商/市场监管, Y 其他), 1 entity-category character (机构类别代码), 6-digit GB/T 2260
region code of the registering authority, 9-character organisation code (GB 11714 组织机构
代码), 1 check character. Alphabet: `0123456789ABCDEFGHJKLMNPQRTUWXY` (31 characters; no
I O S V Z, which are too easily misread as 1 0 5 U 2). Check character:
alphabet[(31 − Σ(value_i × weight_i) mod 31) mod 31] with weights
1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 (3^i mod 31).

What we check and why:
* Length, alphabet and upper case: the code is hashed and compared exactly.
* The check character: it catches every single mistyped character (31 is prime and no
  weight is 0 mod 31).
* Characters 3-8 are a GB/T 2260 region code, or 100000 for central-government bodies.

What we deliberately do NOT check:
* The registration-authority and category characters against the code tables: GB 32100's
  tables have been extended by later notices (2 外交, 3 司法行政, A, N ...) and refusing an
  unknown one would refuse real codes. `CreditCode.registration_authority` names the
  known ones.
* The embedded organisation code's own GB 11714 check digit: codes issued since 2015 with
  "MA..." organisation parts and several historic ones do not satisfy it, which is why
  python-stdnum's `cn.uscc` rejects some valid codes (DESIGN "National formats").
* Codes from early pilot areas that predate the standard and fail the check character
  (e.g. some Fujian codes of the form 91350100M0001xxxxx) are refused; they need a
  registry-side exception list, which is a policy decision outside this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from issuers.rules import regions
from issuers.rules.errors import RuleViolation

__all__ = [
    "ALPHABET",
    "FORBIDDEN_LETTERS",
    "REGISTRATION_AUTHORITIES",
    "RULE",
    "WEIGHTS",
    "CreditCode",
    "check_credit_code",
    "credit_code_check_char",
    "is_valid_credit_code",
    "make_credit_code",
]

RULE: Final[str] = "GB 32100"
ALPHABET: Final[str] = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: Final[tuple[int, ...]] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
FORBIDDEN_LETTERS: Final[str] = "IOSVZ"
_VALUE: Final[dict[str, int]] = {ch: i for i, ch in enumerate(ALPHABET)}

#: 登记管理部门代码 known to us (first character). Informational, not a validity rule.
REGISTRATION_AUTHORITIES: Final[dict[str, str]] = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商（市场监督管理）",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}


@dataclass(frozen=True, slots=True)
class CreditCode:
    """A valid 统一社会信用代码 and its parts."""

    code: str

    @property
    def registration_authority_code(self) -> str:
        return self.code[0]

    @property
    def registration_authority(self) -> str | None:
        """Name of the registering authority type, or None if not in our table."""
        return REGISTRATION_AUTHORITIES.get(self.code[0])

    @property
    def category_code(self) -> str:
        return self.code[1]

    @property
    def region_code(self) -> str:
        """GB/T 2260 code of the registering authority ("100000" for the national level)."""
        return self.code[2:8]

    @property
    def is_national(self) -> bool:
        return self.region_code == regions.NATIONAL_CODE

    @property
    def organisation_code(self) -> str:
        """The 9-character GB 11714 组织机构代码 embedded in characters 9-17."""
        return self.code[8:17]

    @property
    def check_char(self) -> str:
        return self.code[17]

    def __str__(self) -> str:
        return self.code


def credit_code_check_char(prefix17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code."""
    if len(prefix17) != 17:
        raise ValueError(f"need exactly 17 characters, got {len(prefix17)}: {prefix17!r}")
    try:
        total = sum(_VALUE[ch] * w for ch, w in zip(prefix17, WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not in the GB 32100 alphabet {ALPHABET}") from None
    return ALPHABET[(31 - total % 31) % 31]


def make_credit_code(prefix17: str) -> str:
    """Complete 17 characters with their check character (for samples, tests, demo data)."""
    return prefix17 + credit_code_check_char(prefix17)


def check_credit_code(value: object, *, field: str = "creditCode") -> CreditCode:
    """Validate a 统一社会信用代码; raise RuleViolation with an actionable message."""
    if not isinstance(value, str):
        raise _v(field, "统一社会信用代码应为字符串", "the credit code must be a string", "type")
    n = len(value)
    if n != 18:
        raise _v(field, f"统一社会信用代码应为18位，实为{n}位", f"must be 18 characters, got {n}", "length")
    for i, ch in enumerate(value, start=1):
        if ch in _VALUE:
            continue
        if ch.isascii() and ch.islower():
            raise _v(
                field,
                f"统一社会信用代码第{i}位“{ch}”应为大写字母",
                f"character {i} ({ch!r}) must be upper case",
                "lowercase",
            )
        if ch in FORBIDDEN_LETTERS:
            raise _v(
                field,
                f"统一社会信用代码第{i}位“{ch}”无效：代码不使用字母I、O、S、V、Z（请核对是否为1、0、5、U、2）",
                f"character {i} ({ch!r}): the letters I, O, S, V, Z are not used",
                "forbidden_letter",
            )
        raise _v(
            field,
            f"统一社会信用代码第{i}位“{ch}”不是有效字符（仅限数字和除I、O、S、V、Z外的大写字母）",
            f"character {i} ({ch!r}) is not in the GB 32100 alphabet",
            "format",
        )
    region_code = value[2:8]
    if region_code != regions.NATIONAL_CODE and not regions.is_valid_region(region_code):
        raise _v(
            field,
            f"统一社会信用代码第3-8位登记管理机关行政区划码{region_code}无效",
            f"characters 3-8 ({region_code}) are not a GB/T 2260 region code",
            "region",
        )
    expected = credit_code_check_char(value[:17])
    if value[17] != expected:
        raise _v(
            field,
            f"统一社会信用代码校验码错误：应为{expected}，实为{value[17]}",
            f"wrong check character: expected {expected}, got {value[17]}",
            "check_digit",
        )
    return CreditCode(value)


def is_valid_credit_code(value: object) -> bool:
    """True if `check_credit_code` accepts `value`."""
    try:
        check_credit_code(value)
    except RuleViolation:
        return False
    return True


def _v(field: str, zh: str, en: str, code: str) -> RuleViolation:
    return RuleViolation(field, RULE, zh, en, code)
