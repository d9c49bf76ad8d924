"""GB 11643 公民身份号码 (resident ID number): 18 characters, checked and decoded.

Layout: 6-digit address code (GB/T 2260 county where the number was first registered),
8-digit birth date YYYYMMDD, 3-digit sequence (odd for men, even for women), 1 check
character. Check: Σ(digit_i × weight_i) mod 11 indexes "10X98765432" with weights
7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 (this is ISO 7064 MOD 11-2).

What we check and why:
* The check character catches every single mistyped digit, the most common clerk error.
* The birth date must be a real calendar date, not in the future and not before 1900:
  the check digit alone accepts 19990230 if the rest happens to sum right.
* The address code's province must exist. The full county list is not bundled (see
  `regions`); 港澳台居民居住证 numbers, which follow the same layout, start with 810000,
  820000 or 830000 and are accepted. 710000 (台湾省) is a GB/T 2260 code but no number is
  issued under it (Taiwan residents' permits use 830000), so it is refused.
* A lower-case "x" is refused with its own message rather than silently upper-cased:
  documents are hashed, and "x" and "X" would hash differently. Use
  `normalise_resident_id` on input forms before validation.

The old 15-digit numbers (pre-1999) are not accepted; they have no check digit and every
holder has long since been issued an 18-digit number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from issuers.rules import regions
from issuers.rules.errors import RuleViolation

__all__ = [
    "CHECK_CHARS",
    "EARLIEST_BIRTH_YEAR",
    "RESIDENCE_PERMIT_CODES",
    "RULE",
    "WEIGHTS",
    "ResidentId",
    "Sex",
    "check_resident_id",
    "is_valid_resident_id",
    "make_resident_id",
    "normalise_resident_id",
    "resident_id_check_char",
]

RULE: Final[str] = "GB 11643"
WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS: Final[str] = "10X98765432"
EARLIEST_BIRTH_YEAR: Final[int] = 1900

#: Address codes of 港澳台居民居住证 numbers (same layout and check digit as ID numbers):
#: 810000 Hong Kong, 820000 Macao, 830000 Taiwan. 830000 is not a GB/T 2260 code.
RESIDENCE_PERMIT_CODES: Final[dict[str, str]] = {
    "810000": "香港居民居住证",
    "820000": "澳门居民居住证",
    "830000": "台湾居民居住证",
}

_BODY = re.compile(r"[0-9]{17}")


class Sex(StrEnum):
    """Sex as printed on Chinese certificates; `.code` is the GB/T 2261.1 code."""

    MALE = "男"
    FEMALE = "女"

    @property
    def code(self) -> str:
        return "1" if self is Sex.MALE else "2"


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A valid resident ID number and what it encodes."""

    number: str
    region_code: str
    birth_date: date
    sequence: str
    sex: Sex

    @property
    def province_code(self) -> str:
        """The provincial code, or the residence-permit code (810000/820000/830000)."""
        if self.region_code in RESIDENCE_PERMIT_CODES:
            return self.region_code
        return self.region_code[:2] + "0000"

    @property
    def is_residence_permit(self) -> bool:
        """True for a 港澳台居民居住证 number rather than a mainland ID number."""
        return self.region_code in RESIDENCE_PERMIT_CODES

    def __str__(self) -> str:
        return self.number


def resident_id_check_char(body: str) -> str:
    """Check character for the first 17 digits of an ID number."""
    if not _BODY.fullmatch(body):
        raise ValueError(f"need exactly 17 digits, got {body!r}")
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalise_resident_id(value: str) -> str:
    """What an input form should do before validation: strip spaces, upper-case the x.

    Never applied implicitly by `check_resident_id` (see the module note on hashing).
    """
    return "".join(value.split()).upper()


def check_resident_id(value: object, *, field: str = "idNumber", today: date | None = None) -> ResidentId:
    """Validate a resident ID number and decode it; raise RuleViolation naming the problem.

    `today` bounds the birth date (default: the local date); pass it for reproducible checks
    (the certificate validator passes the issuance date: nobody is issued a certificate
    before being born).
    Checks run from the most specific to the most general (length, characters, address code,
    birth date, check character), so the message points at the part a clerk must look at.
    """
    if not isinstance(value, str):
        raise _v(field, "公民身份号码应为字符串", "the ID number must be a string", "type")
    n = len(value)
    if n != 18:
        raise _v(field, f"公民身份号码应为18位，实为{n}位", f"must be 18 characters, got {n}", "length")
    if value[17] == "x":
        raise _v(
            field,
            "公民身份号码校验位应为大写字母X，不应为小写x",
            "the check character must be upper-case X, not x",
            "lowercase",
        )
    for i, ch in enumerate(value[:17], start=1):
        if not ("0" <= ch <= "9"):
            raise _v(
                field,
                f"公民身份号码第{i}位应为数字，实为“{ch}”",
                f"character {i} must be a digit, got {ch!r}",
                "format",
            )
    if value[17] not in CHECK_CHARS:
        raise _v(
            field,
            f"公民身份号码第18位应为数字或X，实为“{value[17]}”",
            f"character 18 must be a digit or X, got {value[17]!r}",
            "format",
        )

    region_code = value[:6]
    if region_code not in RESIDENCE_PERMIT_CODES:
        try:
            region = regions.check_region(region_code, field=field)
        except RuleViolation as exc:
            raise RuleViolation(
                field,
                exc.rule,
                f"公民身份号码地址码{region_code}无效：{exc.message.split('：', 1)[-1]}",
                f"address code {region_code} is invalid: {exc.message_en.split(': ', 1)[-1]}",
                "region",
            ) from None
        if region.province.special:
            raise _v(
                field,
                f"公民身份号码地址码{region_code}无效：{region.province.name}不签发公民身份号码"
                "（台湾居民居住证使用830000）",
                f"address code {region_code}: no ID numbers are issued under it (Taiwan permits use 830000)",
                "region",
            )

    birth_text = value[6:14]
    try:
        birth = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:8]))
    except ValueError:
        raise _v(
            field,
            f"公民身份号码出生日期码{birth_text}不是有效日期",
            f"birth date {birth_text} is not a calendar date",
            "birth_date",
        ) from None
    if birth.year < EARLIEST_BIRTH_YEAR:
        raise _v(
            field,
            f"公民身份号码出生日期码{birth_text}早于{EARLIEST_BIRTH_YEAR}年",
            f"birth date {birth_text} is before {EARLIEST_BIRTH_YEAR}",
            "birth_date",
        )
    reference = today or date.today()
    if birth > reference:
        raise _v(
            field,
            f"公民身份号码出生日期码{birth_text}是将来的日期（晚于{reference:%Y%m%d}）",
            f"birth date {birth_text} is in the future (after {reference:%Y%m%d})",
            "birth_date",
        )

    expected = resident_id_check_char(value[:17])
    if value[17] != expected:
        raise _v(
            field,
            f"公民身份号码校验位错误：应为{expected}，实为{value[17]}",
            f"wrong check character: expected {expected}, got {value[17]}",
            "check_digit",
        )
    sequence = value[14:17]
    return ResidentId(
        number=value,
        region_code=region_code,
        birth_date=birth,
        sequence=sequence,
        sex=Sex.MALE if int(sequence[2]) % 2 else Sex.FEMALE,
    )


def is_valid_resident_id(value: object, *, today: date | None = None) -> bool:
    """True if `check_resident_id` accepts `value`."""
    try:
        check_resident_id(value, today=today)
    except RuleViolation:
        return False
    return True


def make_resident_id(region_code: str, birth_date: date, sequence: int) -> str:
    """Build an ID number with the right check character (for samples and tests).

    `sequence` is 0-999; its parity sets the sex (odd = male). The result is not checked
    against `today`: a future birth date makes a number `check_resident_id` will refuse.
    """
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0..999, got {sequence}")
    body = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    return body + resident_id_check_char(body)


def _v(field: str, zh: str, en: str, code: str) -> RuleViolation:
    return RuleViolation(field, RULE, zh, en, code)
