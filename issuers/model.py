"""The certificate document (DESIGN §2), its validation, and its GB/T 36903 metadata export.

Document shape (what is salted, hashed, anchored and disclosed field by field):

    {"version": 1,
     "id": "1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>",   GB/T 36904
     "type": "<defining authority credit code><3 digits>",
     "issuer": {"creditCode", "region" (int, GB/T 2260), "name", "signingAddress" (EIP-55)},
     "holder": {"name", "idType" ("111"|"001"), "idNumber", "address" (optional, EIP-55)},
     "claims": {...type-specific, see issuers/catalogue/types/...},
     "issuedAt": "YYYY-MM-DDTHH:MM:SSZ", "validFrom": "YYYY-MM-DD",
     "validUntil": "YYYY-MM-DD" | null (长期)}

Every value has exactly one accepted spelling (upper-case codes, EIP-55 addresses, UTC
timestamps to the second, ISO dates): the document is hashed, so two spellings of one
fact would be two different certificates. Validation therefore refuses rather than
normalises; input forms normalise before building a document.

`validate_certificate` reports every problem at once as `FieldError(path, rule, message)`
so a clerk fixes a form in one round trip instead of one error per submission. Messages
are Chinese, name the field's Chinese label and the rule ("GB 11643", "GB 32100",
"GB/T 2260", "GB/T 36904", "JSON Schema", "证照目录"). Cross-field messages never repeat
the values compared; rule messages may quote the part of a number that is wrong (e.g. a
birth date code), which is what the clerk needs to find the typo. Treat error text as
personal data when logging.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final, Literal

from jsonschema.exceptions import ValidationError

from common.eip712 import to_checksum_address
from issuers.catalogue.catalogue import (
    HOLDER_ID_TYPES,
    Catalogue,
    CertificateType,
    CrossCheck,
    default_catalogue,
    document_leaf_paths,
    document_validator,
)
from issuers.rules import regions
from issuers.rules.cert_id import CertId, IssuerCodeKind, make_cert_id, parse_cert_id, parse_imported_cert_id
from issuers.rules.credit_code import check_credit_code
from issuers.rules.errors import RuleViolation
from issuers.rules.resident_id import ResidentId, check_resident_id
from issuers.status_codes import NationalStatus

__all__ = [
    "CHINA_TZ",
    "DOCUMENT_VERSION",
    "ISSUED_AT_MAX_SKEW",
    "Certificate",
    "CertificateDraft",
    "CertificateInvalid",
    "FieldError",
    "Holder",
    "HolderIdType",
    "Issuer",
    "format_issued_at",
    "sensitive_paths",
    "to_national_metadata",
    "validate_certificate",
]

DOCUMENT_VERSION: Final[int] = 1

#: China Standard Time (no daylight saving): the national metadata's dates are local dates.
CHINA_TZ: Final[timezone] = timezone(timedelta(hours=8), "CST")

#: How far in the future an issuedAt may lie (clock skew between issuer service and validator).
ISSUED_AT_MAX_SKEW: Final[timedelta] = timedelta(minutes=5)

HolderIdType = Literal["111", "001"]

SCHEMA_RULE: Final[str] = "JSON Schema"
CATALOGUE_RULE: Final[str] = "证照目录"
VALIDITY_RULE: Final[str] = "GB/T 36903"


# ============================================================================ errors


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: where, under which rule, and what to do (Chinese)."""

    path: str
    rule: str
    message: str
    message_en: str = ""
    code: str = ""

    def __str__(self) -> str:
        return f"{self.path or '<文档>'}: {self.message} ({self.rule})"


class CertificateInvalid(ValueError):
    """A certificate document failed validation; `errors` lists every problem found."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"证照数据校验未通过（{len(self.errors)}项）：\n{lines}")

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.path for e in self.errors))

    def for_path(self, path: str) -> tuple[FieldError, ...]:
        return tuple(e for e in self.errors if e.path == path)


# ============================================================================ model


@dataclass(frozen=True, slots=True)
class Issuer:
    """颁发机构: the issuing department as the document names it."""

    credit_code: str
    region: int
    name: str
    signing_address: str

    def to_document(self) -> dict[str, Any]:
        return {
            "creditCode": self.credit_code,
            "region": self.region,
            "name": self.name,
            "signingAddress": self.signing_address,
        }


@dataclass(frozen=True, slots=True)
class Holder:
    """持证主体: a citizen (111, 公民身份号码) or an organisation (001, 统一社会信用代码)."""

    name: str
    id_type: HolderIdType
    id_number: str
    address: str | None = None  # EIP-55 address for holder binding of presentations

    def to_document(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "idType": self.id_type, "idNumber": self.id_number}
        if self.address is not None:
            out["address"] = self.address
        return out


@dataclass(frozen=True, slots=True)
class CertificateDraft:
    """What a department fills in before issuance: no identifier, no issuance time yet.

    `issue` assigns both and validates the result, so an invalid certificate never gets an
    identifier.
    """

    type_code: str
    holder: Holder
    claims: Mapping[str, Any]
    valid_from: date
    valid_until: date | None = None

    def to_document(self, *, issuer: Issuer, serial: str, issued_at: datetime, version: int = 1) -> dict[str, Any]:
        """The document this draft becomes (unvalidated); RuleViolation if the id cannot be built."""
        return {
            "version": DOCUMENT_VERSION,
            "id": make_cert_id(self.type_code, issuer.credit_code, serial, version),
            "type": self.type_code,
            "issuer": issuer.to_document(),
            "holder": self.holder.to_document(),
            "claims": copy.deepcopy(dict(self.claims)),
            "issuedAt": format_issued_at(issued_at),
            "validFrom": self.valid_from.isoformat(),
            "validUntil": self.valid_until.isoformat() if self.valid_until is not None else None,
        }

    def issue(
        self,
        *,
        issuer: Issuer,
        serial: str,
        issued_at: datetime,
        version: int = 1,
        catalogue: Catalogue | None = None,
    ) -> Certificate:
        """Assign the GB/T 36904 identifier and issuance time, validate, return the certificate.

        Raises CertificateInvalid (a bad serial or version is reported under "id").
        """
        try:
            doc = self.to_document(issuer=issuer, serial=serial, issued_at=issued_at, version=version)
        except RuleViolation as exc:
            raise CertificateInvalid([_from_violation(exc, "id")]) from None
        return validate_certificate(doc, catalogue, now=issued_at)


@dataclass(frozen=True, slots=True)
class Certificate:
    """A validated certificate document. Build it with `validate_certificate`, not directly.

    Frozen at the top level; `claims` is a private deep copy (use `to_document()` to get a
    mutable one).
    """

    id: str
    cert_id: CertId
    type_code: str
    issuer: Issuer
    holder: Holder
    claims: Mapping[str, Any]
    issued_at: datetime
    valid_from: date
    valid_until: date | None
    certificate_type: CertificateType = field(repr=False, compare=False)

    @property
    def serial(self) -> str:
        return self.cert_id.serial

    @property
    def cert_version(self) -> int:
        """Version segment of the identifier (001 on first issue)."""
        return self.cert_id.version_number

    @property
    def is_permanent(self) -> bool:
        """长期有效: no validUntil."""
        return self.valid_until is None

    def in_validity_window(self, day: date) -> bool:
        """validFrom <= day <= validUntil (inclusive: a certificate is valid on its last day)."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def to_document(self) -> dict[str, Any]:
        """The JSON document (a fresh deep copy), exactly as validated and hashed."""
        return {
            "version": DOCUMENT_VERSION,
            "id": self.id,
            "type": self.type_code,
            "issuer": self.issuer.to_document(),
            "holder": self.holder.to_document(),
            "claims": copy.deepcopy(dict(self.claims)),
            "issuedAt": format_issued_at(self.issued_at),
            "validFrom": self.valid_from.isoformat(),
            "validUntil": self.valid_until.isoformat() if self.valid_until is not None else None,
        }


def format_issued_at(moment: datetime) -> str:
    """The one accepted spelling of issuedAt: UTC, whole seconds, "Z" suffix.

    A naive datetime is refused: guessing its zone would shift the 颁发日期 by a day for
    certificates issued around midnight.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("issuedAt must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def sensitive_paths(cert: Certificate) -> frozenset[str]:
    """Document paths holding personal data for this certificate: the type's x-sensitive
    claims, plus holder.idNumber when the holder is a person (a credit code is public)."""
    paths = set(cert.certificate_type.sensitive_paths)
    if cert.holder.id_type == "111":
        paths.add("holder.idNumber")
    return frozenset(paths)


# ============================================================================ validation

_MISSING: Final = object()


def _get(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _from_violation(exc: RuleViolation, path: str) -> FieldError:
    return FieldError(path, exc.rule, exc.message, exc.message_en, exc.code)


_TYPE_NAMES: Final[dict[str, str]] = {
    "string": "字符串",
    "integer": "整数",
    "number": "数字",
    "object": "对象",
    "array": "数组",
    "boolean": "布尔值",
    "null": "空值（null，长期）",
}


def _schema_errors(error: ValidationError, base: str, titles: Mapping[str, str]) -> Iterator[FieldError]:
    """Translate one jsonschema error into FieldErrors with Chinese messages."""
    location = ".".join(str(p) for p in error.absolute_path)
    path = ".".join(p for p in (base, location) if p)
    kind = error.validator
    value = error.validator_value

    def label(p: str) -> str:
        title = titles.get(p)
        return f"{title}（{p}）" if title else p

    if kind == "required" and isinstance(error.instance, Mapping):
        for name in value:
            if name not in error.instance:
                child = f"{path}.{name}" if path else name
                yield FieldError(child, SCHEMA_RULE, f"缺少必填字段{label(child)}", f"missing {child}", "required")
        return
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set(error.schema.get("properties", {}))
        for name in error.instance:
            if name not in known:
                child = f"{path}.{name}" if path else name
                yield FieldError(child, SCHEMA_RULE, f"不允许的字段{child}", f"unexpected field {child}", "unexpected")
        return
    prefix = titles.get(path, "")
    if kind == "type":
        wanted = "或".join(_TYPE_NAMES.get(t, t) for t in ([value] if isinstance(value, str) else value))
        zh = f"类型错误，应为{wanted}"
    elif kind == "enum" and len(value) > 8:
        zh = f"取值不在允许的{len(value)}个取值中（如" + "、".join(str(v) for v in value[:3]) + "……）"
    elif kind == "enum":
        zh = "取值应为以下之一：" + "、".join(str(v) for v in value)
    elif kind == "const":
        zh = f"取值应为{value}"
    elif kind == "pattern":
        zh = f"格式不符（应匹配 {value}）"
    elif kind == "format":
        zh = {"date": "不是有效日期（YYYY-MM-DD）", "date-time": "不是有效时间"}.get(value, f"格式不符（{value}）")
    elif kind == "minLength":
        zh = "不能为空" if value == 1 else f"长度不能少于{value}个字符"
    elif kind == "maxLength":
        zh = f"长度不能超过{value}个字符"
    elif kind == "minimum":
        zh = f"不能小于{value}"
    elif kind == "exclusiveMinimum":
        zh = f"应大于{value}"
    elif kind == "maximum":
        zh = f"不能大于{value}"
    else:
        zh = error.message
    yield FieldError(path, SCHEMA_RULE, f"{prefix}{zh}" if prefix else zh, error.message, str(kind))


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10]) if len(value) >= 10 else None
    except ValueError:
        return None


def _parse_issued_at(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.endswith("Z"):
        return None
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        return None
    return moment if format_issued_at(moment) == value else None


class _Validation:
    """One validation run: the document, the findings so far, and the paths already faulted."""

    def __init__(self, doc: Mapping[str, Any], catalogue: Catalogue, now: datetime,
                 existing_ids: bool = False) -> None:
        self.doc = doc
        self.catalogue = catalogue
        self.now = now
        self.existing_ids = existing_ids
        self.errors: list[FieldError] = []
        self.faulted: set[str] = set()
        self.ctype: CertificateType | None = None
        self.titles: dict[str, str] = dict(document_leaf_paths())
        self.resident_ids: dict[str, ResidentId] = {}
        self.cert_id: CertId | None = None

    # -- bookkeeping ------------------------------------------------------------------
    def add(self, err: FieldError) -> None:
        if err not in self.errors:
            self.errors.append(err)
        self.faulted.add(err.path)

    def fail(self, path: str, rule: str, zh: str, en: str, code: str) -> None:
        self.add(FieldError(path, rule, zh, en, code))

    def ok(self, path: str) -> bool:
        """True if nothing is known to be wrong at `path` or above/below it."""
        return not any(f == path or path.startswith(f + ".") or f.startswith(path + ".") for f in self.faulted)

    def title(self, path: str) -> str:
        return self.titles.get(path, path)

    def get(self, path: str) -> Any:
        return _get(self.doc, path)

    # -- passes -----------------------------------------------------------------------
    def run(self) -> None:
        for error in document_validator().iter_errors(self.doc):
            for fe in _schema_errors(error, "", self.titles):
                self.add(fe)
        self.check_type()
        if self.ctype is not None and isinstance(self.doc.get("claims"), Mapping):
            self.titles.update(self.ctype.titles)
            for error in self.ctype.validator.iter_errors(self.doc["claims"]):
                for fe in _schema_errors(error, "claims", self.titles):
                    self.add(fe)
        self.check_id()
        self.check_issuer()
        self.check_holder()
        self.check_claim_rules()
        self.check_dates()
        self.check_cross()

    def check_type(self) -> None:
        code = self.doc.get("type")
        if not isinstance(code, str) or not self.ok("type"):
            return
        self.ctype = self.catalogue.get(code)
        if self.ctype is None:
            self.fail(
                "type",
                CATALOGUE_RULE,
                f"证照类型代码{code}未在证照目录中登记",
                f"type code {code} is not in the catalogue",
                "unknown_type",
            )

    def check_id(self) -> None:
        value = self.get("id")
        if not isinstance(value, str) or not self.ok("id"):
            return
        parse = parse_imported_cert_id if self.existing_ids else parse_cert_id
        try:
            cid = self.cert_id = parse(value, field="id")
        except RuleViolation as exc:
            self.add(_from_violation(exc, "id"))
            return
        doc_type, issuer_code = self.get("type"), self.get("issuer.creditCode")
        if cid.issuer_kind is IssuerCodeKind.REGION_CODE:
            issuer_code = None  # the segment names an area, not the department: checked against issuer.region
            self.check_id_region(cid.issuer_code)
        if isinstance(doc_type, str) and cid.type_code != doc_type:
            self.fail(
                "id",
                "GB/T 36904",
                "证照标识中的证照类型代码与证照类型代码（type）不一致",
                "the identifier's type code differs from type",
                "id_type_mismatch",
            )
        if isinstance(issuer_code, str) and cid.issuer_code != issuer_code:
            self.fail(
                "id",
                "GB/T 36904",
                "证照标识中的颁发机构代码与颁发机构代码（issuer.creditCode）不一致",
                "the identifier's issuer code differs from issuer.creditCode",
                "id_issuer_mismatch",
            )

    def check_id_region(self, segment: str) -> None:
        """An imported id whose issuer segment is a division code: it must be the issuer's area or one above it.

        A provincial platform names the area of the authority that issued (合肥 = 340100 for a
        不动产登记 office of a district under it), so the issuer's own region, its prefecture and
        its province are the codes such an id can carry; any other names another issuer.
        """
        region = self.get("issuer.region")
        if not isinstance(region, int) or isinstance(region, bool) or not self.ok("issuer.region"):
            return
        own = f"{region:06d}"
        if segment not in (own, own[:4] + "00", own[:2] + "0000"):
            self.fail(
                "id",
                "GB/T 36904",
                "证照标识中的颁发机构代码（六位行政区划代码）不是颁发机构所属管辖属地（issuer.region）"
                "或其上级区划：这份证照不是本部门所在地区签发的",
                "the identifier's issuer segment (a division code) is neither issuer.region nor a division "
                "containing it: the certificate was not issued in this department's area",
                "id_issuer_mismatch",
            )

    def check_issuer(self) -> None:
        code = self.get("issuer.creditCode")
        credit = None
        if isinstance(code, str) and self.ok("issuer.creditCode"):
            try:
                credit = check_credit_code(code, field="issuer.creditCode")
            except RuleViolation as exc:
                self.add(_from_violation(exc, "issuer.creditCode"))
        region = self.get("issuer.region")
        if isinstance(region, int) and self.ok("issuer.region"):
            try:
                checked = regions.check_region(region, field="issuer.region")
            except RuleViolation as exc:
                self.add(_from_violation(exc, "issuer.region"))
            else:
                if checked.province.special:
                    self.fail(
                        "issuer.region",
                        regions.RULE,
                        f"所属管辖属地编码{checked.code}（{checked.province.name}）不是本系统的发证地区",
                        f"{checked.code} is not a region of this system",
                        "region",
                    )
                elif credit is not None and not credit.is_national and credit.region_code[:2] != checked.code[:2]:
                    self.fail(
                        "issuer.region",
                        regions.RULE,
                        f"所属管辖属地编码{checked.code}与颁发机构统一社会信用代码中的登记地"
                        f"{credit.region_code}不在同一省级行政区",
                        "issuer.region and the issuer's credit code are in different provinces",
                        "region_mismatch",
                    )
        self.check_address("issuer.signingAddress")

    def check_address(self, path: str) -> None:
        value = self.get(path)
        if not isinstance(value, str) or not self.ok(path):
            return
        try:
            checksummed = to_checksum_address(value)
        except ValueError:
            return  # the schema pattern already reported it
        if value != checksummed:
            self.fail(
                path,
                "EIP-55",
                f"{self.title(path)}应使用EIP-55校验大小写形式：{checksummed}",
                f"must be in EIP-55 checksum form: {checksummed}",
                "checksum",
            )

    def check_holder(self) -> None:
        id_type, number = self.get("holder.idType"), self.get("holder.idNumber")
        if self.ctype is not None and isinstance(id_type, str) and self.ok("holder.idType"):
            allowed = self.ctype.holder_id_types
            if id_type not in allowed:
                wanted = "或".join(f"{t}（{HOLDER_ID_TYPES[t]}）" for t in allowed)
                self.fail(
                    "holder.idType",
                    CATALOGUE_RULE,
                    f"{self.ctype.name}的持证主体代码类型应为{wanted}",
                    f"holder id type must be one of {', '.join(allowed)} for this type",
                    "holder_type",
                )
        if isinstance(number, str) and self.ok("holder.idNumber") and self.ok("holder.idType"):
            if id_type == "111":
                self.check_resident_id("holder.idNumber")
            elif id_type == "001":
                try:
                    check_credit_code(number, field="holder.idNumber")
                except RuleViolation as exc:
                    self.add(_from_violation(exc, "holder.idNumber"))
        self.check_address("holder.address")

    def reference_day(self) -> date:
        """Birth dates are bounded by the issuance date (China time), else by today."""
        issued = _parse_issued_at(self.get("issuedAt"))
        return (issued or self.now).astimezone(CHINA_TZ).date()

    def check_resident_id(self, path: str) -> ResidentId | None:
        if path in self.resident_ids:
            return self.resident_ids[path]
        try:
            rid = check_resident_id(self.get(path), field=path, today=self.reference_day())
        except RuleViolation as exc:
            self.add(_from_violation(exc, path))
            return None
        self.resident_ids[path] = rid
        return rid

    def check_claim_rules(self) -> None:
        if self.ctype is None:
            return
        for path, rule in self.ctype.rule_fields:
            value = self.get(path)
            if not isinstance(value, str) or not self.ok(path):
                continue
            try:
                if rule == "GB 11643":
                    self.check_resident_id(path)
                elif rule == "GB 32100":
                    check_credit_code(value, field=path)
                elif rule == "GB/T 2260":
                    checked = regions.check_region(value, field=path)
                    if checked.province.special:
                        raise RuleViolation(
                            path,
                            regions.RULE,
                            f"行政区划代码{value}（{checked.province.name}）不适用于本证照",
                            f"{value} is not a mainland division",
                            "region",
                        )
            except RuleViolation as exc:
                self.add(_from_violation(exc, path))

    def check_dates(self) -> None:
        issued = self.get("issuedAt")
        if isinstance(issued, str) and self.ok("issuedAt"):
            moment = _parse_issued_at(issued)
            if moment is None:
                self.fail(
                    "issuedAt",
                    SCHEMA_RULE,
                    "颁发时间应为UTC时间，精确到秒，如2025-05-22T08:30:00Z",
                    "issuedAt must be UTC to the second, e.g. 2025-05-22T08:30:00Z",
                    "format",
                )
            elif moment > self.now + ISSUED_AT_MAX_SKEW:
                self.fail(
                    "issuedAt",
                    VALIDITY_RULE,
                    "颁发时间晚于当前时间",
                    "issuedAt is in the future",
                    "future",
                )
        start = _parse_date(self.get("validFrom")) if self.ok("validFrom") else None
        until_raw = self.get("validUntil")
        end = _parse_date(until_raw) if self.ok("validUntil") else None
        if start is not None and end is not None and end < start:
            self.fail(
                "validUntil",
                VALIDITY_RULE,
                f"有效期截止{end.isoformat()}早于有效期起始{start.isoformat()}",
                "validUntil is before validFrom",
                "validity_order",
            )
        if self.ctype is not None and self.ctype.permanent_validity and isinstance(until_raw, str):
            self.fail(
                "validUntil",
                CATALOGUE_RULE,
                f"{self.ctype.name}长期有效，有效期截止应为空（null，长期）",
                f"{self.ctype.name_en} is permanent: validUntil must be null",
                "permanent",
            )

    def check_cross(self) -> None:
        if self.ctype is None:
            return
        for check in self.ctype.cross_checks:
            self.cross(check)

    def cross(self, check: CrossCheck) -> None:
        if check.kind == "holderIsOneOf":
            self.holder_is_one_of(check.parties)
            return
        assert check.path is not None and check.other is not None
        path, other = check.path, check.other
        a, b = self.get(path), self.get(other)
        if a is _MISSING or b is _MISSING or not self.ok(path) or not self.ok(other):
            return
        if check.kind == "equals":
            if a != b:
                self.fail(
                    path,
                    CATALOGUE_RULE,
                    f"{self.title(path)}与{self.title(other)}（{other}）不一致",
                    f"{path} must equal {other}",
                    "mismatch",
                )
        elif check.kind in ("birthDateOf", "sexOf"):
            if other == "holder.idNumber" and (self.get("holder.idType") != "111" or not self.ok("holder.idType")):
                return  # not a resident ID number; the holder type error says so already
            rid = self.check_resident_id(other)
            if rid is None:
                return
            if check.kind == "birthDateOf" and _parse_date(a) != rid.birth_date:
                self.fail(
                    path,
                    "GB 11643",
                    f"{self.title(path)}与{self.title(other)}（{other}）中的出生日期码不一致",
                    f"{path} differs from the birth date encoded in {other}",
                    "birth_date_mismatch",
                )
            if check.kind == "sexOf" and a != rid.sex.value:
                self.fail(
                    path,
                    "GB 11643",
                    f"{self.title(path)}与{self.title(other)}（{other}）第17位所示性别不一致",
                    f"{path} differs from the sex encoded in {other}",
                    "sex_mismatch",
                )
        elif check.kind == "notAfter":
            da, db = _parse_date(a), _parse_date(b)
            if da is not None and db is not None and da > db:
                self.fail(
                    path,
                    CATALOGUE_RULE,
                    f"{self.title(path)}不能晚于{self.title(other)}（{other}）",
                    f"{path} must not be after {other}",
                    "date_order",
                )

    def holder_is_one_of(self, parties: tuple[str, ...]) -> None:
        name, number = self.get("holder.name"), self.get("holder.idNumber")
        if name is _MISSING or number is _MISSING:
            return
        present = [p for p in parties if self.get(p) is not _MISSING]
        if any(self.get(f"{p}.name") == name and self.get(f"{p}.idNumber") == number for p in present):
            return
        who = "或".join(self.title(p) for p in parties)
        self.fail(
            "holder",
            CATALOGUE_RULE,
            f"持证主体应为{who}之一（姓名和证件号码均须一致）",
            f"the holder must be one of {', '.join(parties)} (same name and ID number)",
            "holder_not_party",
        )

    # -- result -----------------------------------------------------------------------
    def certificate(self) -> Certificate:
        doc, ctype = self.doc, self.ctype
        assert ctype is not None
        issued = _parse_issued_at(doc["issuedAt"])
        start = _parse_date(doc["validFrom"])
        assert issued is not None and start is not None and self.cert_id is not None
        issuer, holder = doc["issuer"], doc["holder"]
        return Certificate(
            id=doc["id"],
            cert_id=self.cert_id,
            type_code=doc["type"],
            issuer=Issuer(issuer["creditCode"], issuer["region"], issuer["name"], issuer["signingAddress"]),
            holder=Holder(holder["name"], holder["idType"], holder["idNumber"], holder.get("address")),
            claims=copy.deepcopy(dict(doc["claims"])),
            issued_at=issued,
            valid_from=start,
            valid_until=_parse_date(doc["validUntil"]),
            certificate_type=ctype,
        )


def validate_certificate(
    doc: Mapping[str, Any],
    catalogue: Catalogue | None = None,
    *,
    now: datetime | None = None,
    existing_ids: bool = False,
) -> Certificate:
    """Validate a certificate document completely; return it as a `Certificate`.

    Runs the envelope schema, the type's claims schema, the national rules (GB/T 36904 id,
    GB 32100 issuer and holder codes, GB/T 2260 regions, GB 11643 ID numbers, EIP-55
    addresses), the validity window, and the type's cross-field checks. Raises
    `CertificateInvalid` with every problem found; a field that already failed one check is
    not re-reported by checks that depend on it.

    `catalogue` defaults to the packaged one; `now` (default: the current UTC time) bounds
    issuedAt. ID-number birth dates are bounded by the issuance date.

    `existing_ids=True` is for certificates a department imports with the identifiers a
    provincial platform gave them: the id is read by `parse_imported_cert_id` (also a six-digit
    division code as issuer segment, which must then be issuer.region or a division above it).
    Everything else is judged as for a certificate issued here.
    """
    catalogue = catalogue if catalogue is not None else default_catalogue()
    now = now if now is not None else datetime.now(UTC)
    if not isinstance(doc, Mapping):
        raise CertificateInvalid(
            [FieldError("", SCHEMA_RULE, "证照文档应为JSON对象", "a document must be a JSON object", "type")]
        )
    run = _Validation(doc, catalogue, now, existing_ids)
    run.run()
    if run.errors:
        raise CertificateInvalid(run.errors)
    return run.certificate()


# ============================================================================ GB/T 36903 export


def to_national_metadata(
    cert: Certificate,
    *,
    status: NationalStatus = NationalStatus.VALID,
    include_claims: bool = False,
) -> dict[str, Any]:
    """The certificate's metadata under the GB/T 36903 labels of the national sharing system.

    Dates are China-time calendar dates (YYYY-MM-DD); an open validity ends in "长期".
    `status` is the exported 证照状态 (compute it with `status_codes.national_status`).
    The type-specific claims go under 扩展业务信息 only when `include_claims` is set, keyed
    by their Chinese titles: the metadata record is for catalogues and indexes, and should
    not carry personal data by default.
    """
    ct = cert.certificate_type
    number_path = ct.certificate_number_path
    number = _get(cert.to_document(), number_path) if number_path else _MISSING
    meta: dict[str, Any] = {
        "证照标识": cert.id,
        "证照类型代码": cert.type_code,
        "证照类型名称": ct.name,
        "证照名称": ct.name,
        "证照编号": str(number) if number is not _MISSING else cert.serial,
        "证照版本号": cert.cert_id.version,
        "颁发机构": cert.issuer.name,
        "颁发机构代码": cert.issuer.credit_code,
        "颁发日期": cert.issued_at.astimezone(CHINA_TZ).date().isoformat(),
        "证照定义机构": ct.defining_authority.name,
        "证照定义机构代码": ct.defining_authority.credit_code,
        "持证主体": cert.holder.name,
        "持证主体代码": cert.holder.id_number,
        "持证主体代码类型": HOLDER_ID_TYPES[cert.holder.id_type],
        "持证主体代码类型代码": cert.holder.id_type,
        "有效期起始": cert.valid_from.isoformat(),
        "有效期截止": cert.valid_until.isoformat() if cert.valid_until is not None else "长期",
        "所属管辖属地编码": f"{cert.issuer.region:06d}",
        "证照状态": status.value,
        "证照状态名称": status.label,
    }
    if include_claims:
        meta["扩展业务信息"] = _titled(cert.claims, "claims", ct)
    return meta


def _titled(value: Mapping[str, Any], prefix: str, ct: CertificateType) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}.{key}"
        label = ct.title_of(path) or key
        out[label] = _titled(item, path, ct) if isinstance(item, Mapping) else copy.deepcopy(item)
    return out
