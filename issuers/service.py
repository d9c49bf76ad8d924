"""The issuer service: what the HTTP API and the department CLI call.

    issue(document)              -> IssueReceipt     accepted = committed to the store
    issue_many(documents, ...)   -> BulkResult       per-row outcome, never half a row
    certificate(cert_id)         -> IssuedCertificate salted fields + signature + batch proof
    change_status(cert_id, ...)  -> StatusChange     revoke / suspend / reinstate on chain
    chain_status(cert_id)        -> CertStatusFacts  what the chain says now

Issuance never touches the chain: a certificate is accepted when its row commits, and the
anchoring worker (`issuers.anchoring`) anchors it later, so a dead node makes issuance queue,
not fail. Status changes do need the chain (the status lives there) and report a
`ChainUnreachable` when no node answers.

A service instance acts for ONE department with ONE signing key: it refuses to issue in
another department's name and to change the status of certificates it did not issue
(`NotOwnCertificate`); the AnchorLedger refuses the latter independently (status is keyed by
the issuer that anchored the batch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from common.document import SaltedField
from common.document import issuer_id as issuer_id_of
from common.facts import CertStatus, CertStatusFacts
from common.faults import fault_point
from issuers.chain_link import ChainLink
from issuers.errors import (
    CertificateNotFound,
    ChainUnreachable,
    DuplicateCertificate,
    NotOwnCertificate,
    NotYetAnchored,
    StatusChangeRefused,
    TypeNotAuthorised,
)
from issuers.intake import Intake, IntakeSpec, Rejected, make_pool, prepare_parallel
from issuers.model import FieldError
from issuers.status_actions import REASON_CODES, StatusAction, parse_reason
from issuers.status_calls import status_call
from issuers.status_codes import RevocationReason
from issuers.store import AddOutcome, CertificateStore, PreparedCertificate, StatusChange
from ledger.errors import ContractRefused, NodeUnavailable, TransactionFailed

__all__ = ["BulkResult", "IssueReceipt", "IssuedCertificate", "IssuerService"]

UNIQUENESS_RULE = "证照标识唯一"


@dataclass(frozen=True, slots=True)
class IssueReceipt:
    """The answer to an issuance: the certificate is committed (accepted) when this exists."""

    cert_id: str
    document_root: bytes
    signature: bytes
    already_accepted: bool = False  # the same input had been accepted before (safe retry)


@dataclass
class BulkResult:
    """Outcome of a bulk issuance, row by row (rows are input positions, 0-based)."""

    total: int
    accepted: list[str] = field(default_factory=list)
    already_accepted: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    stored: bool = True  # False: strict mode found errors and stored nothing

    @property
    def ok(self) -> bool:
        return not self.rejected


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate as the department holds it: everything a holder's presentation is built from.

    `fields`, `batch_root`, `batch_proof` and `signature` are exactly the inputs of
    `verifier.presentation.make_presentation(fields, paths, batch_root=..., batch_proof=...,
    issuer_signature=...)`. `batch_root`/`batch_proof` are None until the certificate's batch
    is closed; `anchor_state` says how far anchoring got ("accepted" = not batched yet).
    """

    cert_id: str
    type_code: str
    issuer_code: str
    document: dict[str, Any]
    fields: tuple[SaltedField, ...]
    sensitive_paths: frozenset[str]
    document_root: bytes
    signature: bytes
    accepted_at: float
    anchor_state: str
    batch_root: bytes | None
    batch_proof: list[bytes] | None
    tx_hash: bytes | None
    block_number: int | None
    suite: int = 1  # crypto suite it was sealed in: `make_presentation(..., suite=...)` needs it


class IssuerService:
    """One department's issuance, reads and status changes over a store and (optionally) a chain."""

    def __init__(
        self,
        store: CertificateStore,
        spec: IntakeSpec,
        chain: ChainLink | None = None,
        *,
        workers: int = 0,
        parallel_threshold: int = 2000,
    ) -> None:
        self.store = store
        self.spec = spec
        self.intake: Intake = spec.build()
        self.chain = chain
        self.department = spec.department
        self.workers = workers
        self.parallel_threshold = parallel_threshold
        self._pool: ProcessPoolExecutor | None = None
        #: Where the department's current on-chain authorisation comes from before each issuance
        #: (the API: its indexed read model, which follows the chain); None: only what
        #: `refresh_authorisation` last read (the CLI asks the chain when it starts).
        self.authorisation: Callable[[], frozenset[str] | None] | None = None
        self._authorisation_lock = threading.Lock()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def refresh_authorisation(self) -> frozenset[str] | None:
        """Ask the chain which catalogue types the department may issue (None if no node answers).

        Once known, documents of other types are refused at acceptance instead of queueing
        for an anchor the chain would refuse.
        """
        if self.chain is None:
            return None
        types = self.chain.authorised_types(self.department.credit_code, self.intake.catalogue)
        if types is not None:
            self._authorise(types)
        return types

    def _authorise(self, types: frozenset[str]) -> None:
        with self._authorisation_lock:
            if types == self.intake.authorised_types:
                return
            self.intake.authorised_types = types
            self.spec = replace(self.spec, authorised_types=types)
            self.close()  # a pool built with the old spec would accept stale types

    def _current_authorisation(self) -> frozenset[str] | None:
        """The authorised types as the source knows them now (kept in the intake); None = unknown.

        Unknown (no source answer, e.g. the index is behind the chain) keeps the last known
        answer: a type is refused only on facts that are current.
        """
        if self.authorisation is not None:
            types = self.authorisation()
            if types is not None:
                self._authorise(types)
        return self.intake.authorised_types

    def check_type(self, document: Mapping[str, Any]) -> None:
        """Refuse at once a document of a catalogue type the department is not authorised for.

        Raises TypeNotAuthorised (names the type). Anything else about the document is the
        intake's to judge; an unknown authorisation refuses nothing.
        """
        types = self._current_authorisation()
        code = document.get("type") if isinstance(document, Mapping) else None
        if types is None or not isinstance(code, str) or code not in self.intake.catalogue or code in types:
            return
        raise TypeNotAuthorised(code, self.intake.catalogue[code].name)

    # ------------------------------------------------------------------ issuance

    def issue(self, document: Mapping[str, Any], now: datetime | None = None) -> IssueReceipt:
        """Validate, seal and commit one certificate; returns after the commit.

        Raises TypeNotAuthorised (before anything else), CertificateInvalid (every problem, with
        field and rule) or DuplicateCertificate.
        """
        self.check_type(document)
        row = self.intake.prepare(document, now)
        result = self.store.add([row])
        if result.conflicts:
            raise DuplicateCertificate(row.cert_id)
        if result.already_accepted:
            stored = self.store.certificate(row.cert_id, decrypt=False)
            assert stored is not None
            return IssueReceipt(row.cert_id, stored.document_root, stored.signature, already_accepted=True)
        return IssueReceipt(row.cert_id, row.document_root, row.signature)

    def issue_many(
        self,
        documents: Sequence[Mapping[str, Any]],
        *,
        strict: bool = False,
        chunk: int = 512,
        progress: Callable[[int], None] | None = None,
        now: datetime | None = None,
        existing_ids: bool = False,
    ) -> BulkResult:
        """Issue many certificates; each row is stored completely or not at all.

        `existing_ids=True` imports certificates a provincial platform already issued: each row
        keeps its own `id`, read with the import rules (`parse_imported_cert_id`); ids minted
        here and ids of ordinary issuance stay strict (see `issuers.intake`).

        Default: a bad row is rejected on its own and every good row is accepted (committed in
        chunks of `chunk` rows). `strict=True`: the whole input is one unit — any rejected
        row means nothing is stored (`stored=False`), otherwise all rows commit in one
        transaction. `progress(n)` is called with the number of rows just handled.
        Duplicate identifiers are rejected rows (rule 证照标识唯一); identical re-submissions
        are reported in `already_accepted`.
        """
        now = datetime.now(UTC) if now is None else now
        self._current_authorisation()  # rows of types not authorised now are rejected (rule 链上授权)
        result = BulkResult(total=len(documents))
        held: list[tuple[int, PreparedCertificate]] = []
        for prepared in self._prepare(documents, chunk, now, existing_ids):
            rows = [(i, p) for i, p in prepared if isinstance(p, PreparedCertificate)]
            result.rejected.extend(p for _, p in prepared if isinstance(p, Rejected))
            if strict:
                held.extend(rows)
            else:
                self._commit(rows, result)
                fault_point("bulk.after_chunk")  # crash tests: killed between two committed chunks
            if progress is not None:
                progress(len(prepared))
        if strict:
            if result.rejected:
                result.stored = False
            else:
                self._commit(held, result, all_or_nothing=True)
        result.rejected.sort(key=lambda r: r.index)
        return result

    def _prepare(self, documents: Sequence[Mapping[str, Any]], chunk: int,
                 now: datetime, existing_ids: bool = False) -> Any:
        """Yield lists of (row index, PreparedCertificate | Rejected), chunk by chunk, in order."""
        if self.workers > 0 and len(documents) >= self.parallel_threshold:
            if self._pool is None:
                self._pool = make_pool(self.spec, self.workers)
            start = 0
            for out in prepare_parallel(self.spec, documents, workers=self.workers, chunk=chunk, now=now,
                                        pool=self._pool, existing_ids=existing_ids):
                yield [(start + k, p) for k, p in enumerate(out)]
                start += len(out)
            return
        for start in range(0, len(documents), chunk):
            out = self.intake.prepare_many(documents[start : start + chunk], now, start, existing_ids=existing_ids)
            yield [(start + k, p) for k, p in enumerate(out)]

    def _commit(self, rows: list[tuple[int, PreparedCertificate]], result: BulkResult,
                all_or_nothing: bool = False) -> None:
        if not rows:
            return
        added = self.store.add([p for _, p in rows], all_or_nothing=all_or_nothing)
        for (index, _), cert_id, outcome in zip(rows, added.cert_ids, added.outcomes, strict=True):
            if outcome is AddOutcome.INSERTED:
                result.accepted.append(cert_id)
            elif outcome is AddOutcome.ALREADY_ACCEPTED:
                result.already_accepted.append(cert_id)
            elif outcome is AddOutcome.CONFLICT:
                result.rejected.append(Rejected(index, (FieldError(
                    "id", UNIQUENESS_RULE,
                    "证照标识已被另一份内容不同的证照使用（或在本文件中重复出现），本行未导入",
                    "certificate id already used by a different certificate", "duplicate_id"),)))
        if AddOutcome.CONFLICT in added.outcomes and all_or_nothing:
            result.stored = False

    # ------------------------------------------------------------------ reading

    def certificate(self, cert_id: str) -> IssuedCertificate:
        """The stored certificate with salted fields (decrypted), signature and batch proof.

        Raises CertificateNotFound; FieldKeyError if the configured field key is not the one
        the sensitive fields were sealed with.
        """
        stored = self.store.certificate(cert_id)
        if stored is None:
            raise CertificateNotFound(cert_id)
        batch = stored.batch
        batch_root = batch_proof = None
        if batch is not None:
            tree = self.store.batch_tree(batch.id)
            batch_root = tree.root
            batch_proof = tree.proof(tree.values.index(stored.document_root))
        return IssuedCertificate(
            cert_id=stored.cert_id, type_code=stored.type_code, issuer_code=stored.issuer_code,
            document=stored.document, fields=stored.fields, sensitive_paths=stored.sensitive_paths,
            document_root=stored.document_root, signature=stored.signature, accepted_at=stored.accepted_at,
            anchor_state=batch.state.value if batch is not None else "accepted",
            batch_root=batch_root, batch_proof=batch_proof,
            tx_hash=batch.tx_hash if batch is not None else None,
            block_number=batch.block_number if batch is not None else None, suite=stored.suite,
        )  # fmt: skip

    def chain_status(self, cert_id: str) -> CertStatusFacts:
        """The certificate's status on chain now. Raises CertificateNotFound, ChainUnreachable."""
        stored = self.store.certificate(cert_id, decrypt=False)
        if stored is None:
            raise CertificateNotFound(cert_id)
        chain = self._need_chain()
        try:
            status, since, reason = chain.huren.certificate_status(stored.document_root,
                                                                   issuer_id_of(stored.issuer_code))
        except NodeUnavailable as exc:
            raise ChainUnreachable("链节点不可用，暂时无法查询链上状态，请稍后重试", str(exc)) from None
        return CertStatusFacts(stored.document_root, CertStatus(status), since, reason)

    # ------------------------------------------------------------------ status changes

    def change_status(
        self,
        cert_id: str,
        action: StatusAction | str,
        reason: RevocationReason | str | None = None,
        note: str = "",
        timeout: float = 60.0,
    ) -> StatusChange:
        """Revoke (final), suspend or reinstate one of this department's certificates on chain.

        Raises CertificateNotFound, NotOwnCertificate (another department's certificate),
        NotYetAnchored (its batch is not on chain yet), StatusChangeRefused (the chain said
        no, e.g. already revoked), ChainUnreachable (no node: nothing changed).
        """
        action = StatusAction(action)
        reason_code = 0
        if action is not StatusAction.REINSTATE:
            parsed = parse_reason(reason)
            reason_code = REASON_CODES[parsed] if parsed is not None else 0
        stored = self.store.certificate(cert_id, decrypt=False)
        if stored is None:
            raise CertificateNotFound(cert_id)
        if stored.issuer_code != self.department.credit_code:
            raise NotOwnCertificate(cert_id)
        batch = stored.batch
        if batch is None or not batch.state.on_chain:
            raise NotYetAnchored(cert_id, batch.state.label if batch is not None else "待组批")
        chain = self._need_chain()
        fn, args = status_call(self.store, stored, action.value, reason_code)
        data = chain.huren.encode("AnchorLedger", fn, *args)
        try:
            with chain.lock():
                sender = chain.sender()
                tx_hash = sender.send(chain.ledger_address, data, action.value)
            receipt = sender.wait(tx_hash, action.value, timeout=timeout)
        except ContractRefused as refusal:
            raise StatusChangeRefused(
                f"链上拒绝{action.label}证照{cert_id}：{refusal.explanation}",
                f"the chain refused to {action.value} {cert_id}: {refusal.error}", refusal.error,
            ) from None
        except NodeUnavailable as exc:
            raise ChainUnreachable(f"链节点不可用，证照{cert_id}的状态未变更，请稍后重试", str(exc)) from None
        except TransactionFailed as exc:
            raise StatusChangeRefused(f"{action.label}证照{cert_id}的交易失败：{exc}", str(exc), "") from None
        change = StatusChange(cert_id, action.value, reason_code, note, receipt.tx_hash, receipt.block_number,
                              time.time())
        self.store.record_status_change(change)
        return change

    def _need_chain(self) -> ChainLink:
        if self.chain is None:
            raise ChainUnreachable("本服务未配置链节点（RPC地址），无法访问链上状态", "no chain configured")
        return self.chain
