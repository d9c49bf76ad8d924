"""From a submitted document to a row ready to commit: complete, validate, seal, encrypt.

    submitted JSON -> complete (the department's own issuer block, issuedAt, id from a
    serial) -> validate_certificate + department checks -> Sealer (salts, root, EIP-712
    signature) -> sensitive fields sealed with the field key -> PreparedCertificate

Everything here is CPU work with no I/O, so bulk imports and the benchmark run it in a pool
of worker processes (`prepare_parallel`); the store commits the results in the parent.

A department's service issues only as itself: a document naming another 颁发机构 (credit
code, region, name or signing key) is refused, field by field, like any other invalid data.
If the chain told us which types the department is authorised for, an unauthorised type is
refused at the counter instead of being accepted and then refused by the chain.

Import of existing certificates (`existing_ids=True`, bulk only): a department bringing the
certificates a provincial platform already issued keeps their 证照标识. Each row must then carry
its `id` (no serial: nothing is minted), and the id is read by `parse_imported_cert_id`, which
also accepts the variants found on provincial platforms (README, "Certificate identifiers").
Ids minted here, from a serial, and ids given on ordinary issuance stay strict.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from common.eip712 import Domain
from issuers.catalogue.catalogue import Catalogue, default_catalogue
from issuers.field_cipher import FieldCipher
from issuers.model import (
    DOCUMENT_VERSION,
    CertificateInvalid,
    FieldError,
    format_issued_at,
    sensitive_paths,
    validate_certificate,
)
from issuers.rules.cert_id import make_cert_id
from issuers.rules.errors import RuleViolation
from issuers.sealing import SealedCertificate, Sealer
from issuers.store import PreparedCertificate, holder_hash

__all__ = [
    "DEPARTMENT_RULE",
    "IMPORT_RULE",
    "Department",
    "Intake",
    "IntakeSpec",
    "Rejected",
    "prepare_parallel",
]

#: Rule name reported when a document names another department than the service's own.
DEPARTMENT_RULE: Final[str] = "本部门签发"
AUTHORISATION_RULE: Final[str] = "链上授权"
#: Rule name reported when an imported row does not carry the identifier it already has.
IMPORT_RULE: Final[str] = "导入已有证照"


@dataclass(frozen=True, slots=True)
class Department:
    """The issuing department (发证部门) a service instance acts for."""

    credit_code: str
    region: int
    name: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """A submitted document that was not accepted: its position in the input and every problem."""

    index: int
    errors: tuple[FieldError, ...]


class Intake:
    """Turns submitted documents into `PreparedCertificate`s for one department and key."""

    def __init__(
        self,
        department: Department,
        sealer: Sealer,
        cipher: FieldCipher,
        catalogue: Catalogue | None = None,
        authorised_types: frozenset[str] | None = None,
    ) -> None:
        self.department = department
        self.sealer = sealer
        self.cipher = cipher
        self.catalogue = catalogue if catalogue is not None else default_catalogue()
        #: Types the chain authorises this department for; None = unknown (chain not asked).
        self.authorised_types = authorised_types

    @property
    def issuer_block(self) -> dict[str, Any]:
        d = self.department
        return {"creditCode": d.credit_code, "region": d.region, "name": d.name,
                "signingAddress": self.sealer.address}  # fmt: skip

    def complete(self, submitted: Mapping[str, Any], now: datetime, *, existing_ids: bool = False) -> dict[str, Any]:
        """Fill what the department need not type: its own issuer block, `version`, `issuedAt`
        (now), and `id` built from a `serial` (GB/T 36904, version 001) when no id is given.

        Present values are kept as they are (and checked by `prepare`), never overwritten.
        With `existing_ids` no id is built: a row without its `id` is refused (rule 导入已有证照).
        """
        if existing_ids and "id" not in submitted:
            raise CertificateInvalid([FieldError(
                "id", IMPORT_RULE,
                "导入已有证照时每行须填写原证照标识（id，省级平台签发时的证照标识）；新证照请用批量签发",
                "an import of existing certificates needs each row's existing identifier (id); "
                "issue new certificates with an ordinary bulk issuance", "id_required",
            )])  # fmt: skip
        doc = dict(submitted)
        issuer = doc.get("issuer")
        if issuer is None:
            doc["issuer"] = self.issuer_block
        elif isinstance(issuer, Mapping):
            doc["issuer"] = {**self.issuer_block, **issuer}
        doc.setdefault("version", DOCUMENT_VERSION)
        doc.setdefault("issuedAt", format_issued_at(now))
        serial = doc.pop("serial", None)
        if "id" not in doc and serial is not None and isinstance(doc.get("type"), str):
            try:
                doc["id"] = make_cert_id(doc["type"], self.department.credit_code, str(serial), 1, field="serial")
            except RuleViolation as exc:
                raise CertificateInvalid([FieldError("serial", exc.rule, exc.message, exc.message_en, exc.code)]) \
                    from None
        return doc

    def _department_errors(self, doc: Mapping[str, Any]) -> list[FieldError]:
        errors: list[FieldError] = []
        issuer = doc.get("issuer")
        if isinstance(issuer, Mapping):
            mine = self.issuer_block
            labels = {"creditCode": "颁发机构代码", "region": "所属管辖属地编码", "name": "颁发机构",
                      "signingAddress": "颁发机构签名地址"}  # fmt: skip
            for key, label in labels.items():
                if key in issuer and issuer[key] != mine[key]:
                    errors.append(FieldError(
                        f"issuer.{key}", DEPARTMENT_RULE,
                        f"{label}与本部门（{mine[key]}）不一致：本服务只能以本部门名义签发证照",
                        f"issuer.{key} is not this department's ({mine[key]})", "not_this_department",
                    ))  # fmt: skip
        type_code = doc.get("type")
        if self.authorised_types is not None and isinstance(type_code, str) and type_code in self.catalogue \
                and type_code not in self.authorised_types:
            name = self.catalogue[type_code].name
            errors.append(FieldError(
                "type", AUTHORISATION_RULE,
                f"本部门未获授权签发{name}（{type_code}），请联系本地区管理员在链上授权",
                f"this department is not authorised on chain for type {type_code}", "type_not_authorised",
            ))  # fmt: skip
        return errors

    def validate(self, submitted: Mapping[str, Any], now: datetime | None = None, *,
                 existing_ids: bool = False) -> Any:
        """Complete and validate; returns the `Certificate`. Raises CertificateInvalid with every problem.

        `existing_ids`: an imported certificate keeping its provincial platform's id (module docstring).
        """
        now = datetime.now(UTC) if now is None else now
        if not isinstance(submitted, Mapping):
            raise CertificateInvalid([FieldError("", "JSON Schema", "证照文档应为JSON对象",
                                                 "a document must be a JSON object", "type")])
        doc = self.complete(submitted, now, existing_ids=existing_ids)
        errors = self._department_errors(doc)
        try:
            certificate = validate_certificate(doc, self.catalogue, now=now, existing_ids=existing_ids)
        except CertificateInvalid as exc:
            raise CertificateInvalid([*exc.errors, *errors]) from None
        if errors:
            raise CertificateInvalid(errors)
        return certificate

    def prepare(self, submitted: Mapping[str, Any], now: datetime | None = None, *,
                existing_ids: bool = False) -> PreparedCertificate:
        """Validate, seal and encrypt one submitted document. Raises CertificateInvalid."""
        try:
            # Deterministic for equal inputs, which is all a fingerprint needs (and C-fast).
            text = json.dumps(submitted, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise CertificateInvalid([FieldError("", "JSON", f"证照文档含有不是JSON的值：{exc}",
                                                 str(exc), "not_json")]) from None
        fingerprint = self.cipher.fingerprint(text.encode("utf-8"))
        certificate = self.validate(submitted, now, existing_ids=existing_ids)
        return self.row(self.sealer.seal(certificate), fingerprint)

    def row(self, sealed: SealedCertificate, fingerprint: bytes) -> PreparedCertificate:
        """Lay a sealed certificate out as a store row; sensitive (salt, value) pairs go into the sealed blob."""
        cert = sealed.certificate
        secret_paths = sensitive_paths(cert)
        below = tuple(p + "." for p in secret_paths)
        plain: list[list[Any]] = []
        secret: dict[str, list[Any]] = {}
        for f in sealed.fields:
            if f.path in secret_paths or f.path.startswith(below):
                plain.append([f.path])
                secret[f.path] = [f.salt.hex(), f.value]
            else:
                plain.append([f.path, f.salt.hex(), f.value])
        blob = None
        if secret:
            blob = self.cipher.seal(json.dumps(secret, ensure_ascii=False, separators=(",", ":")).encode(),
                                    cert.id.encode())
        return PreparedCertificate(
            cert_id=cert.id, type_code=cert.type_code, issuer_code=cert.issuer.credit_code,
            document_root=sealed.document_root, signature=sealed.signature,
            fields_json=json.dumps(plain, ensure_ascii=False, separators=(",", ":")), sealed=blob,
            key_id=self.cipher.key_id, input_mac=fingerprint, holder_hash=holder_hash(cert.holder.id_number),
            suite=int(self.sealer.suite),
        )  # fmt: skip

    def prepare_many(
        self, documents: Iterable[Mapping[str, Any]], now: datetime | None = None, start: int = 0, *,
        existing_ids: bool = False,
    ) -> list[PreparedCertificate | Rejected]:
        """`prepare` each document; a failing one becomes `Rejected(index, errors)` instead of raising."""
        out: list[PreparedCertificate | Rejected] = []
        for i, doc in enumerate(documents, start):
            try:
                out.append(self.prepare(doc, now, existing_ids=existing_ids))
            except CertificateInvalid as exc:
                out.append(Rejected(i, exc.errors))
        return out


# ============================================================================ worker processes


@dataclass(frozen=True)
class IntakeSpec:
    """What a worker process needs to rebuild an `Intake` (key material travels over the pool's pipe only)."""

    department: Department
    signing_key: bytes
    domain: Domain
    field_key_text: str
    authorised_types: frozenset[str] | None = None
    #: Crypto suite the department seals in (common/suites.py); in suite 2 `signing_key` is SM2.
    suite: int = 1

    def __repr__(self) -> str:  # never show keys
        return f"IntakeSpec({self.department.credit_code}, suite {self.suite}, chain {self.domain.chain_id})"

    def build(self) -> Intake:
        return Intake(self.department, Sealer(self.signing_key, self.domain, self.suite),
                      FieldCipher.from_key_text(self.field_key_text), authorised_types=self.authorised_types)


_worker_intake: Intake | None = None


def _init_worker(spec: IntakeSpec) -> None:
    global _worker_intake
    _worker_intake = spec.build()


def _prepare_chunk(
    args: tuple[int, list[Mapping[str, Any]], datetime | None, bool],
) -> list[PreparedCertificate | Rejected]:
    start, docs, now, existing_ids = args
    assert _worker_intake is not None, "worker not initialised"
    return _worker_intake.prepare_many(docs, now, start, existing_ids=existing_ids)


def prepare_parallel(
    spec: IntakeSpec,
    documents: Sequence[Mapping[str, Any]],
    *,
    workers: int,
    chunk: int = 256,
    now: datetime | None = None,
    pool: ProcessPoolExecutor | None = None,
    existing_ids: bool = False,
) -> Iterator[list[PreparedCertificate | Rejected]]:
    """Prepare documents in `workers` processes; yields results chunk by chunk, in input order.

    Processes are started with "spawn" (not fork): the caller may have threads (the anchoring
    worker, an HTTP server) whose locks a forked child would inherit in a held state.
    Pass a long-lived `pool` (see `make_pool`) to avoid paying process start-up per call.
    """
    own = pool is None
    pool = pool if pool is not None else make_pool(spec, workers)
    try:
        jobs = [(i, list(documents[i : i + chunk]), now, existing_ids) for i in range(0, len(documents), chunk)]
        yield from pool.map(_prepare_chunk, jobs)
    finally:
        if own:
            pool.shutdown()


def make_pool(spec: IntakeSpec, workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers each hold an `Intake` built from `spec`, all started now.

    (An executor starts processes lazily, one per submitted task; starting them all here
    keeps their start-up — seconds, with imports and the catalogue — out of the first import.)
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(spec,))
    for future in [pool.submit(_ready) for _ in range(workers)]:
        future.result()
    return pool


def _ready() -> bool:
    return _worker_intake is not None
