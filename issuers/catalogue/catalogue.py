"""The certificate-type catalogue (证照目录): JSON Schema files, loaded and checked.

Each file in `types/` is one certificate type and is itself a JSON Schema (draft 2020-12)
whose instance is a certificate's `claims` object. Type-level facts ride along as `x-`
annotation keywords, which draft 2020-12 validators ignore, so the file stays a plain,
portable schema that any other JSON Schema implementation (Java, JS) can use as it is:

    x-type-code            证照类型代码: defining authority's 统一社会信用代码 + 3 digits
    x-type-name-en         English name
    x-version              version of this type definition (int; a new version is a new file
                           and a new schema hash)
    x-defining-authority   {name, creditCode, source: "published"|"synthetic", note}
    x-holder-id-types      allowed 持证主体代码类型代码: "111" 公民身份号码, "001" 统一社会信用代码
    x-default-disclosure   document paths a holder discloses by default (beyond
                           common.document.ALWAYS_DISCLOSED)
    x-certificate-number   path of the 证照编号 printed on the certificate, or null
    x-permanent-validity   true: validUntil must be null (长期), e.g. a degree
    x-cross-checks         consistency rules between fields (see `CrossCheck`)
  on properties:
    title                  the Chinese label shown to clerks and exported as metadata
    x-sensitive            personal data: never logged, hidden unless the holder discloses it
    x-rule                 national rule the value must satisfy: "GB 11643", "GB 32100", "GB/T 2260"

Why keep the type facts inside the schema: the schema hash registered on chain
(`schema_hash` = keccak256 of the RFC 8785 canonical bytes of the whole file) then covers
them too. Changing which fields are sensitive, or what is disclosed by default, changes the
hash and so needs a new type version through governance, like any other schema change.

Loading checks every file (valid draft 2020-12 schema, valid type code, known rules and
check kinds, every referenced path exists) and refuses the whole catalogue on the first
inconsistency: a broken catalogue must fail at start-up, not at the first issuance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from common.canonical import canonicalize
from common.hashing import keccak
from issuers.rules.cert_id import check_type_code
from issuers.rules.errors import RuleViolation

__all__ = [
    "HOLDER_ID_TYPES",
    "KNOWN_RULES",
    "Catalogue",
    "CatalogueError",
    "CertificateType",
    "CrossCheck",
    "DefiningAuthority",
    "default_catalogue",
    "document_leaf_paths",
    "document_schema",
    "document_validator",
    "leaf_paths",
    "load_catalogue",
    "schema_hash",
]

#: 持证主体代码类型代码 (GB/T 36903) accepted in this version.
HOLDER_ID_TYPES: Final[dict[str, str]] = {"111": "公民身份号码", "001": "统一社会信用代码"}

#: Values of `x-rule` the model knows how to enforce.
KNOWN_RULES: Final[frozenset[str]] = frozenset({"GB 11643", "GB 32100", "GB/T 2260"})

CheckKind = Literal["equals", "birthDateOf", "sexOf", "notAfter", "holderIsOneOf"]
_CHECK_ARGS: Final[dict[str, tuple[str, ...]]] = {
    "equals": ("path", "to"),
    "birthDateOf": ("path", "idNumber"),
    "sexOf": ("path", "idNumber"),
    "notAfter": ("path", "than"),
    "holderIsOneOf": ("parties",),
}

_PACKAGE: Final[str] = "issuers.catalogue"
_DOCUMENT_SCHEMA_FILE: Final[str] = "certificate.schema.json"
_TYPES_DIR: Final[str] = "types"


class CatalogueError(ValueError):
    """A catalogue file is malformed or inconsistent; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """One consistency rule between fields of a certificate document.

    kinds:
      equals         value at `path` == value at `other` (claims.name == holder.name)
      birthDateOf    date at `path` == birth date encoded in the GB 11643 number at `other`
      sexOf          sex at `path` == sex encoded in the GB 11643 number at `other`
      notAfter       date (or date-time) at `path` <= date at `other`
      holderIsOneOf  holder.name/holder.idNumber equal name/idNumber of one of `parties`
    A check whose inputs are absent (optional fields) is skipped: absence is the schema's
    business, not the cross-check's.
    """

    kind: CheckKind
    path: str | None = None
    other: str | None = None
    parties: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DefiningAuthority:
    """证照定义机构. `source` says whether the credit code is a published one or a placeholder."""

    name: str
    credit_code: str
    source: Literal["published", "synthetic"]
    note: str


@dataclass(frozen=True, slots=True)
class CertificateType:
    """One certificate type of the catalogue, with its compiled claims validator."""

    type_code: str
    name: str
    name_en: str
    version: int
    description: str
    defining_authority: DefiningAuthority
    holder_id_types: tuple[str, ...]
    default_disclosure: tuple[str, ...]
    certificate_number_path: str | None
    permanent_validity: bool
    cross_checks: tuple[CrossCheck, ...]
    #: dotted document path ("claims.spouseA.idNumber") -> Chinese title
    titles: Mapping[str, str]
    #: claims leaf paths marked x-sensitive
    sensitive_paths: frozenset[str]
    #: (claims path, rule) for every property carrying x-rule
    rule_fields: tuple[tuple[str, str], ...]
    #: every leaf path a claims object of this type can have
    claim_paths: frozenset[str]
    schema: Mapping[str, Any] = field(repr=False)
    schema_hash: bytes = field(repr=False)
    validator: Draft202012Validator = field(repr=False, compare=False)
    source: str = field(default="", compare=False)

    @property
    def schema_hash_hex(self) -> str:
        return "0x" + self.schema_hash.hex()

    def title_of(self, path: str) -> str | None:
        """Chinese label of a document path, for messages and metadata export."""
        return self.titles.get(path)


class Catalogue(Mapping[str, CertificateType]):
    """Certificate types by type code. Immutable once loaded."""

    def __init__(self, types: Mapping[str, CertificateType]) -> None:
        self._types = dict(types)

    def __getitem__(self, type_code: str) -> CertificateType:
        return self._types[type_code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def types(self) -> tuple[CertificateType, ...]:
        return tuple(self._types.values())

    def by_name(self, name: str) -> CertificateType:
        """The type with this Chinese name (e.g. "营业执照"); KeyError if none."""
        for t in self._types.values():
            if t.name == name:
                return t
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"Catalogue({', '.join(f'{c}={t.name}' for c, t in self._types.items())})"


# ----------------------------------------------------------------------------- hashing


def schema_hash(schema: Mapping[str, Any]) -> bytes:
    """keccak256 of the RFC 8785 canonical bytes of a schema: what the type registry stores."""
    return keccak(canonicalize(schema))


# ----------------------------------------------------------------------------- paths


def leaf_paths(schema: Mapping[str, Any], prefix: str) -> dict[str, Mapping[str, Any]]:
    """Leaf document paths of an object schema -> their property schemas.

    Objects with declared properties recurse (as `common.document.flatten` does with the
    values); everything else is a leaf.
    """
    out: dict[str, Mapping[str, Any]] = {}
    for key, prop in schema.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if prop.get("type") == "object" and prop.get("properties"):
            out.update(leaf_paths(prop, path))
        else:
            out[path] = prop
    return out


def _object_paths(schema: Mapping[str, Any], prefix: str) -> dict[str, Mapping[str, Any]]:
    """Every path (leaves and inner objects) -> property schema."""
    out: dict[str, Mapping[str, Any]] = {}
    for key, prop in schema.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        out[path] = prop
        if prop.get("type") == "object":
            out.update(_object_paths(prop, path))
    return out


# ----------------------------------------------------------------------------- loading


def _read_json(source: Traversable | Path, label: str) -> dict[str, Any]:
    try:
        value = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{label}: cannot read JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise CatalogueError(f"{label}: top level must be a JSON object")
    return value


def _compile(schema: Mapping[str, Any], label: str) -> Draft202012Validator:
    if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
        raise CatalogueError(f"{label}: $schema must be https://json-schema.org/draft/2020-12/schema")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise CatalogueError(f"{label}: not a valid draft 2020-12 schema: {exc.message}") from exc
    return Draft202012Validator(schema, format_checker=FormatChecker())


@cache
def document_schema() -> Mapping[str, Any]:
    """The common envelope schema (certificate.schema.json)."""
    source = resources.files(_PACKAGE).joinpath(_DOCUMENT_SCHEMA_FILE)
    return _read_json(source, _DOCUMENT_SCHEMA_FILE)


@cache
def document_validator() -> Draft202012Validator:
    return _compile(document_schema(), _DOCUMENT_SCHEMA_FILE)


@cache
def document_leaf_paths() -> dict[str, str]:
    """Envelope leaf paths ("issuer.creditCode", ...) -> Chinese title. "claims" is not a leaf."""
    return {
        path: str(prop.get("title", path))
        for path, prop in leaf_paths(document_schema(), "").items()
        if path != "claims"
    }


def _need(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], label: str) -> Any:
    if key not in raw:
        raise CatalogueError(f"{label}: missing {key}")
    value = raw[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise CatalogueError(f"{label}: {key} has the wrong JSON type")
    return value


def _parse_type(raw: dict[str, Any], label: str) -> CertificateType:
    validator = _compile(raw, label)
    if raw.get("type") != "object" or "properties" not in raw:
        raise CatalogueError(f"{label}: a claims schema must be an object schema with properties")

    type_code = _need(raw, "x-type-code", str, label)
    try:
        check_type_code(type_code, field="x-type-code")
    except RuleViolation as exc:
        raise CatalogueError(f"{label}: x-type-code: {exc.message_en}") from None
    auth = _need(raw, "x-defining-authority", dict, label)
    authority = DefiningAuthority(
        name=_need(auth, "name", str, label + " x-defining-authority"),
        credit_code=_need(auth, "creditCode", str, label + " x-defining-authority"),
        source=_need(auth, "source", str, label + " x-defining-authority"),
        note=str(auth.get("note", "")),
    )
    if authority.credit_code != type_code[:18]:
        raise CatalogueError(
            f"{label}: x-defining-authority.creditCode must be the first 18 characters of the type code"
        )
    if authority.source not in ("published", "synthetic"):
        raise CatalogueError(f"{label}: x-defining-authority.source must be 'published' or 'synthetic'")

    holder_types = tuple(_need(raw, "x-holder-id-types", list, label))
    if not holder_types or not set(holder_types) <= HOLDER_ID_TYPES.keys():
        raise CatalogueError(f"{label}: x-holder-id-types must be a non-empty subset of {sorted(HOLDER_ID_TYPES)}")

    claims = leaf_paths(raw, "claims")
    all_claims = _object_paths(raw, "claims")
    titles: dict[str, str] = dict(document_leaf_paths())
    sensitive: set[str] = set()
    rules: list[tuple[str, str]] = []
    for path, prop in all_claims.items():
        if not isinstance(prop.get("title"), str) or not prop["title"]:
            raise CatalogueError(f"{label}: {path} needs a Chinese title")
        titles[path] = prop["title"]
    for path, prop in claims.items():
        if prop.get("x-sensitive") is True:
            sensitive.add(path)
        if "x-rule" in prop:
            if prop["x-rule"] not in KNOWN_RULES:
                raise CatalogueError(f"{label}: {path}: unknown x-rule {prop['x-rule']!r}")
            rules.append((path, prop["x-rule"]))

    known_paths = set(claims) | set(document_leaf_paths())
    disclosure = tuple(_need(raw, "x-default-disclosure", list, label))
    for path in disclosure:
        if path not in known_paths:
            raise CatalogueError(f"{label}: x-default-disclosure names unknown path {path!r}")

    number_path = raw.get("x-certificate-number")
    if number_path is not None and number_path not in claims:
        raise CatalogueError(f"{label}: x-certificate-number names unknown path {number_path!r}")

    checks: list[CrossCheck] = []
    for i, spec in enumerate(_need(raw, "x-cross-checks", list, label)):
        where = f"{label}: x-cross-checks[{i}]"
        kind = spec.get("check") if isinstance(spec, dict) else None
        if kind not in _CHECK_ARGS:
            raise CatalogueError(f"{where}: unknown check {kind!r}")
        if set(spec) != {"check", *_CHECK_ARGS[kind]}:
            raise CatalogueError(f"{where}: {kind} takes exactly {', '.join(_CHECK_ARGS[kind])}")
        if kind == "holderIsOneOf":
            parties = tuple(spec["parties"])
            for party in parties:
                if f"{party}.name" not in claims or f"{party}.idNumber" not in claims:
                    raise CatalogueError(f"{where}: party {party!r} needs name and idNumber properties")
            checks.append(CrossCheck(kind, parties=parties))
            continue
        path, other = spec["path"], spec[_CHECK_ARGS[kind][1]]
        for p in (path, other):
            if p not in known_paths:
                raise CatalogueError(f"{where}: unknown path {p!r}")
        checks.append(CrossCheck(kind, path=path, other=other))

    return CertificateType(
        type_code=type_code,
        name=_need(raw, "title", str, label),
        name_en=_need(raw, "x-type-name-en", str, label),
        version=_need(raw, "x-version", int, label),
        description=str(raw.get("description", "")),
        defining_authority=authority,
        holder_id_types=holder_types,
        default_disclosure=disclosure,
        certificate_number_path=number_path,
        permanent_validity=bool(raw.get("x-permanent-validity", False)),
        cross_checks=tuple(checks),
        titles=titles,
        sensitive_paths=frozenset(sensitive),
        rule_fields=tuple(rules),
        claim_paths=frozenset(claims),
        schema=raw,
        schema_hash=schema_hash(raw),
        validator=validator,
        source=label,
    )


def load_catalogue(directory: str | Path | None = None) -> Catalogue:
    """Load every `*.json` type file from `directory` (default: the packaged `types/`).

    Raises CatalogueError on the first malformed or inconsistent file, or on two files
    claiming the same type code.
    """
    root: Traversable | Path = (
        Path(directory) if directory is not None else resources.files(_PACKAGE).joinpath(_TYPES_DIR)
    )
    files = sorted((f for f in root.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    types: dict[str, CertificateType] = {}
    for f in files:
        ct = _parse_type(_read_json(f, f.name), f.name)
        if ct.type_code in types:
            raise CatalogueError(f"{f.name}: type code {ct.type_code} already defined by {types[ct.type_code].source}")
        types[ct.type_code] = ct
    if not types:
        raise CatalogueError(f"no certificate types found in {root}")
    return Catalogue(types)


@cache
def default_catalogue() -> Catalogue:
    """The packaged catalogue, loaded once per process."""
    return load_catalogue()
