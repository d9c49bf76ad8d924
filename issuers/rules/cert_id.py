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

Identifiers as found in the wild, and the two parsers (issue 16):
* `parse_cert_id` (strict) is what a document issued here must pass, and `make_cert_id` only
  builds that form: the issuer segment is the department's 统一社会信用代码.
* `parse_imported_cert_id` reads the identifiers of certificates a department brings with it
  from a provincial platform (bulk import of existing certificates, never issuance). It also
  accepts an issuer segment that is the six-digit GB/T 2260 行政区划代码 of the issuing
  authority's area instead of its credit code — seen in the answer of 合肥's e-certificate
  platform kept as a test stub by a 不动产登记 system calling it (不动产权证书,
  `1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9`; MOD 37,36 over the four
  segments, region code included, gives its "9": one sample, a 1-in-36 coincidence is not
  excluded). DESIGN.md records the same variant from a provincial platform. Everything else
  stays as strict as above: the code must be a possible GB/T 2260 code, the type code's
  credit code must pass GB 32100, and the check character must be the MOD 37,36 one.
  `CertId.issuer_kind` says which form was read.
* Not accepted anywhere: check characters made by a faulty generator found in one vendor's
  platform code (letters valued one too high, a different modulus chain; the vendor replaced
  it in 2023 with a correct MOD 37,36). It agrees with ISO 7064 on about 1 input in 36 (2.7 %
  of 20,000 random ones), e.g. `...11100000000013661B006.113700000045046442.209FA4E88F9E4C87
  8F3E9BED2CE7EA49.001.M`, where MOD 37,36 gives "D". Accepting it too would double the
  share of typing errors that slip through; ids it made may still be in use, so such an
  import is refused with the character MOD 37,36 expects, and the department has to ask its
  platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from issuers.rules.credit_code import check_credit_code
from issuers.rules.errors import RuleViolation
from issuers.rules.iso7064 import mod_37_36_check_char
from issuers.rules.regions import check_region

__all__ = [
    "MAX_SERIAL_LENGTH",
    "OID_PREFIX",
    "RULE",
    "CertId",
    "IssuerCodeKind",
    "cert_id_check_char",
    "check_type_code",
    "make_cert_id",
    "parse_cert_id",
    "parse_imported_cert_id",
]

RULE: Final[str] = "GB/T 36904"
OID_PREFIX: Final[str] = "1.2.156.3005.2"
MAX_SERIAL_LENGTH: Final[int] = 40

_SERIAL = re.compile(rf"[0-9A-Z]{{1,{MAX_SERIAL_LENGTH}}}")
_VERSION = re.compile(r"[0-9]{3}")
_TYPE_SUFFIX = re.compile(r"[0-9]{3}")
_REGION_SEGMENT = re.compile(r"[0-9]{6}")


class IssuerCodeKind(StrEnum):
    """What the issuer segment of an identifier holds."""

    #: 统一社会信用代码 (GB 32100) of the issuing department: the only form minted here.
    CREDIT_CODE = "credit_code"
    #: 六位行政区划代码 (GB/T 2260) of the issuing authority's area: read on import only.
    REGION_CODE = "region_code"


@dataclass(frozen=True, slots=True)
class CertId:
    """A parsed, verified certificate identifier. `str(cert_id)` gives the dotted form."""

    type_code: str
    issuer_code: str
    serial: str
    version: str
    check: str
    issuer_kind: IssuerCodeKind = IssuerCodeKind.CREDIT_CODE

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
    type_code: str,
    issuer_code: str,
    serial: str,
    version: str,
    field: str,
    verify_codes: bool,
    region_issuer: bool = False,
) -> IssuerCodeKind:
    """Check every segment but the check character; return the kind of issuer segment read.

    `region_issuer` (import only) also accepts a six-digit GB/T 2260 code as issuer segment.
    """
    kind = IssuerCodeKind.CREDIT_CODE
    if verify_codes:
        check_type_code(type_code, field=field)
        if _REGION_SEGMENT.fullmatch(issuer_code):
            kind = IssuerCodeKind.REGION_CODE
            _check_region_issuer(issuer_code, field, accepted=region_issuer)
        elif region_issuer and len(issuer_code) != 18:
            raise RuleViolation(
                field,
                RULE,
                f"证照标识中的颁发机构代码应为统一社会信用代码（18位）或六位行政区划代码，实为{len(issuer_code)}位",
                f"the issuer segment must be an 18-character unified social credit code or a six-digit "
                f"division code, got {len(issuer_code)} characters",
                "issuer_code",
            )
        else:
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
    return kind


def _check_region_issuer(code: str, field: str, *, accepted: bool) -> None:
    """A six-digit issuer segment: refused with its own reason when minting, checked on import."""
    if not accepted:
        raise RuleViolation(
            field,
            RULE,
            f"证照标识中的颁发机构代码“{code}”是六位行政区划代码：本系统签发的证照标识须使用颁发机构的"
            "统一社会信用代码（18位）；省级平台已签发的证照请以“导入已有证照”方式提交",
            f"the issuer segment {code} is a six-digit division code: identifiers issued here must carry "
            "the issuing department's 18-character unified social credit code; bring certificates a "
            "provincial platform already issued in as an import of existing certificates",
            "issuer_code_region",
        )
    try:
        check_region(code, field=field)
    except RuleViolation as exc:
        raise RuleViolation(
            field,
            exc.rule,
            f"证照标识中的颁发机构代码（六位行政区划代码）无效：{exc.message}",
            f"issuer segment (six-digit division code) is invalid: {exc.message_en}",
            "issuer_code",
        ) from None


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

    Strict: the form this system mints (issuer segment = credit code). A six-digit issuer
    segment is refused with its own code, "issuer_code_region", and a message pointing to the
    import of existing certificates. `verify_codes=False` skips the GB 32100 checks of the
    embedded credit codes (for reading identifiers minted elsewhere by systems with known
    legacy codes); the shape and the MOD 37,36 check character are always verified.
    """
    return _parse(value, field, verify_codes=verify_codes, region_issuer=False)


def parse_imported_cert_id(value: object, *, field: str = "id") -> CertId:
    """Parse and verify the identifier of an existing certificate brought in from a provincial platform.

    Accepts what `parse_cert_id` accepts, and an issuer segment that is a six-digit GB/T 2260
    division code (`issuer_kind` REGION_CODE). Every check character is still verified: the
    type code's GB 32100 one, the issuer credit code's when the segment is one, and the
    identifier's own MOD 37,36 one. Raise RuleViolation naming the faulty segment.
    """
    return _parse(value, field, verify_codes=True, region_issuer=True)


def _parse(value: object, field: str, *, verify_codes: bool, region_issuer: bool) -> CertId:
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
    kind = _check_segments(type_code, issuer_code, serial, version, field, verify_codes, region_issuer)
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
    return CertId(type_code, issuer_code, serial, version, check, kind)
