"""GB/T 36904 电子证照标识 (certificate identifier), as provincial platforms implement it.

    1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>

Segments, and why each is used:
* `1.2.156.3005.2` — fixed OID arc of the national e-certificate system (1.2.156 = China
  in ISO's member-body arc). Refusing anything else keeps foreign or test identifiers out.
* type code (证照类型代码) — the defining authority's 统一社会信用代码 (18) + 3 digits, e.g.
  11100000000013338W032. Tells a verifier which schema and which recognition policy apply
  before any field is disclosed.
* issuer code (颁发机构代码) — the issuing department's 统一社会信用代码. Binds the id to
  one department, so two departments can reuse serials without colliding, and lets a
  verifier spot an id presented under the wrong issuer.
* serial (证照编号 as the department numbers it) — 1 to 40 characters, digits and
  upper-case letters only (the check below is defined over 0-9A-Z; "." would break the
  segments).
* version (版本号) — 3 digits. We read it as the version of this certificate (001 on first
  issue, incremented on change or re-issue), not the schema version.
* check — one character, ISO 7064 MOD 37,36 over type + issuer + serial + version
  concatenated without dots (the OID prefix is not included).

Finding on the DESIGN's example seen in the wild,
`1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0`: MOD 37,36 over
"11100000000013338W009" "11330105002500287C" "2025052201" "002" gives "0", matching the
published check character, and both embedded credit codes verify under GB 32100. Leaving
out any segment or including the OID prefix gives a different character, so this reading
of the algorithm is the one the platform uses (one sample; a 1-in-36 coincidence is not
excluded). The unit tests pin it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from issuers.rules.credit_code import check_credit_code
from issuers.rules.errors import RuleViolation
from issuers.rules.iso7064 import mod_37_36_check_char

__all__ = [
    "MAX_SERIAL_LENGTH",
    "OID_PREFIX",
    "RULE",
    "CertId",
    "cert_id_check_char",
    "check_type_code",
    "make_cert_id",
    "parse_cert_id",
]

RULE: Final[str] = "GB/T 36904"
OID_PREFIX: Final[str] = "1.2.156.3005.2"
MAX_SERIAL_LENGTH: Final[int] = 40

_SERIAL = re.compile(rf"[0-9A-Z]{{1,{MAX_SERIAL_LENGTH}}}")
_VERSION = re.compile(r"[0-9]{3}")
_TYPE_SUFFIX = re.compile(r"[0-9]{3}")


@dataclass(frozen=True, slots=True)
class CertId:
    """A parsed, verified certificate identifier. `str(cert_id)` gives the dotted form."""

    type_code: str
    issuer_code: str
    serial: str
    version: str
    check: str

    @property
    def defining_authority_code(self) -> str:
        """统一社会信用代码 of the authority that defined the certificate type."""
        return self.type_code[:18]

    @property
    def type_number(self) -> str:
        """The authority's own 3-digit number for the type."""
        return self.type_code[18:]

    @property
    def version_number(self) -> int:
        return int(self.version)

    def __str__(self) -> str:
        return f"{OID_PREFIX}.{self.type_code}.{self.issuer_code}.{self.serial}.{self.version}.{self.check}"


def cert_id_check_char(type_code: str, issuer_code: str, serial: str, version: str) -> str:
    """ISO 7064 MOD 37,36 over the four segments concatenated (see the module docstring)."""
    return mod_37_36_check_char(type_code + issuer_code + serial + version)


def check_type_code(value: object, *, field: str = "type") -> str:
    """Validate a 证照类型代码: a valid 统一社会信用代码 followed by 3 digits."""
    if not isinstance(value, str) or len(value) != 21:
        shown = len(value) if isinstance(value, str) else type(value).__name__
        raise RuleViolation(
            field,
            RULE,
            f"证照类型代码应为21位（证照定义机构统一社会信用代码18位+3位数字），实为{shown}",
            f"a type code is 21 characters (authority credit code + 3 digits), got {shown}",
            "type_code",
        )
    try:
        check_credit_code(value[:18], field=field)
    except RuleViolation as exc:
        raise RuleViolation(
            field,
            exc.rule,
            f"证照类型代码前18位（证照定义机构代码）无效：{exc.message}",
            f"type code: the defining authority's credit code is invalid: {exc.message_en}",
            "type_code",
        ) from None
    if not _TYPE_SUFFIX.fullmatch(value[18:]):
        raise RuleViolation(
            field,
            RULE,
            f"证照类型代码后3位应为数字，实为“{value[18:]}”",
            f"the last 3 characters of a type code must be digits, got {value[18:]!r}",
            "type_code",
        )
    return value


def _check_segments(
    type_code: str, issuer_code: str, serial: str, version: str, field: str, verify_codes: bool
) -> None:
    if verify_codes:
        check_type_code(type_code, field=field)
        try:
            check_credit_code(issuer_code, field=field)
        except RuleViolation as exc:
            raise RuleViolation(
                field,
                exc.rule,
                f"证照标识中的颁发机构代码无效：{exc.message}",
                f"issuer code segment is invalid: {exc.message_en}",
                "issuer_code",
            ) from None
    if not _SERIAL.fullmatch(serial):
        raise RuleViolation(
            field,
            RULE,
            f"证照标识中的证照编号应为1-{MAX_SERIAL_LENGTH}位数字或大写字母，实为“{serial}”",
            f"serial must be 1-{MAX_SERIAL_LENGTH} digits or upper-case letters, got {serial!r}",
            "serial",
        )
    if not _VERSION.fullmatch(version):
        raise RuleViolation(
            field,
            RULE,
            f"证照标识中的版本号应为3位数字，实为“{version}”",
            f"version must be 3 digits, got {version!r}",
            "version",
        )


def make_cert_id(type_code: str, issuer_code: str, serial: str, version: int | str = 1, *, field: str = "id") -> str:
    """Build the dotted identifier with its check character.

    `version` is an int 0-999 or a 3-digit string. Raises RuleViolation for a bad segment.
    """
    if isinstance(version, int) and not isinstance(version, bool):
        if not 0 <= version <= 999:
            raise RuleViolation(
                field,
                RULE,
                f"版本号应为0-999，实为{version}",
                f"version must be 0..999, got {version}",
                "version",
            )
        version = f"{version:03d}"
    if not isinstance(version, str):
        raise TypeError(f"version must be int or str, got {type(version).__name__}")
    _check_segments(type_code, issuer_code, serial, version, field, verify_codes=True)
    check = cert_id_check_char(type_code, issuer_code, serial, version)
    return str(CertId(type_code, issuer_code, serial, version, check))


def parse_cert_id(value: object, *, field: str = "id", verify_codes: bool = True) -> CertId:
    """Parse and verify an identifier; raise RuleViolation naming the faulty segment.

    `verify_codes=False` skips the GB 32100 checks of the embedded credit codes (for reading
    identifiers minted elsewhere by systems with known legacy codes); the shape and the
    MOD 37,36 check character are always verified.
    """
    if not isinstance(value, str):
        raise RuleViolation(field, RULE, "证照标识应为字符串", "the identifier must be a string", "type")
    if not value.startswith(OID_PREFIX + "."):
        raise RuleViolation(
            field,
            RULE,
            f"证照标识应以{OID_PREFIX}.开头",
            f"the identifier must start with {OID_PREFIX}.",
            "prefix",
        )
    parts = value[len(OID_PREFIX) + 1 :].split(".")
    if len(parts) != 5:
        raise RuleViolation(
            field,
            RULE,
            f"证照标识在前缀后应有5段（证照类型代码.颁发机构代码.证照编号.版本号.校验位），实为{len(parts)}段",
            f"expected 5 segments after the prefix (type.issuer.serial.version.check), got {len(parts)}",
            "segments",
        )
    type_code, issuer_code, serial, version, check = parts
    _check_segments(type_code, issuer_code, serial, version, field, verify_codes)
    if len(check) != 1:
        raise RuleViolation(
            field,
            RULE,
            f"证照标识校验位应为1个字符，实为“{check}”",
            f"the check segment must be one character, got {check!r}",
            "check_char",
        )
    try:
        expected = cert_id_check_char(type_code, issuer_code, serial, version)
    except ValueError:
        # Only reachable with verify_codes=False and a non-alphanumeric code segment.
        raise RuleViolation(
            field,
            RULE,
            "证照标识含有数字和大写字母以外的字符，无法计算校验位",
            "the identifier holds characters outside 0-9A-Z; no check character can be computed",
            "format",
        ) from None
    if check != expected:
        raise RuleViolation(
            field,
            RULE,
            f"证照标识校验位错误：应为{expected}，实为{check}（ISO 7064 MOD 37,36）",
            f"wrong check character: expected {expected}, got {check} (ISO 7064 MOD 37,36)",
            "check_char",
        )
    return CertId(type_code, issuer_code, serial, version, check)
