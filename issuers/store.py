"""The issuer's off-chain store: certificates, batches, and the anchoring outbox.

SQLite file by default (WAL, zero set-up), PostgreSQL by URL. Three tables:

* `iss_certificates` — one row per accepted certificate: identifier, type, issuing
  department, document root, EIP-712 signature, and every field's (path, salt, value);
  sensitive fields' salts and values only inside an AES-GCM blob (see
  `issuers.field_cipher`). A certificate is *accepted* when its row is committed, and not
  before: the API and the CLI answer only after that commit.
* `iss_batches` — the outbox. A batch is created, with its members assigned and its Merkle
  root computed, in ONE transaction before anything is sent; from then on its root never
  changes, so every later step is a retry of the same idempotent act ("anchor this root"):

      pending --(signed tx saved, then broadcast)--> submitted --(receipt)--> anchored
              --(N confirmations, block still canonical)--> final

  A crash anywhere leaves a state that the anchoring worker resumes from (see
  `issuers.anchoring`); the chain refuses a second anchor of the same root, so nothing can
  be anchored twice, and a certificate's `batch_id` is written once (`WHERE batch_id IS
  NULL`), so no certificate is in two batches.
* `iss_status_changes` — the department's record of revocations, suspensions, reinstatements.

Every state change is a compare-and-set on the expected state, so two workers racing (which
the deployment should not run, but might by mistake) cannot corrupt the outbox.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from common.document import SaltedField, unflatten
from common.merkle import StandardMerkleTree
from issuers.field_cipher import FieldCipher

__all__ = [
    "AddOutcome",
    "AddResult",
    "Batch",
    "BatchState",
    "CertificateStore",
    "PreparedCertificate",
    "StatusChange",
    "StoredCertificate",
    "make_engine",
    "metadata",
]

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

metadata = MetaData()

batches = Table(
    "iss_batches", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("issuer_code", String(18), nullable=False),
    Column("type_code", String(32), nullable=False),
    Column("root", LargeBinary(32), nullable=False, unique=True),
    Column("cert_count", Integer, nullable=False),
    Column("state", String(12), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("tx_hash", LargeBinary(32)),
    Column("raw_tx", LargeBinary),  # the signed anchor transaction, saved before it is broadcast
    Column("nonce", BigInteger),
    Column("block_number", BigInteger),
    Column("block_hash", LargeBinary(32)),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("next_attempt_at", Float, nullable=False),
    Index("ix_iss_batches_open", "issuer_code", "state"),
)  # fmt: skip

certificates = Table(
    "iss_certificates", metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("cert_id", String(160), nullable=False, unique=True),
    Column("type_code", String(32), nullable=False),
    Column("issuer_code", String(18), nullable=False),
    Column("document_root", LargeBinary(32), nullable=False, unique=True),
    Column("signature", LargeBinary(65), nullable=False),
    Column("fields", Text, nullable=False),  # JSON [[path, salt hex, value] | [path] (sealed)], document order
    Column("sealed", LargeBinary),  # AES-GCM of JSON {path: [salt hex, value]} for sensitive fields
    Column("key_id", String(16), nullable=False),
    Column("input_mac", LargeBinary(32), nullable=False),  # keyed fingerprint of the submitted input
    Column("accepted_at", Float, nullable=False),
    Column("batch_id", _ID, ForeignKey("iss_batches.id"), index=True),
    Index("ix_iss_certificates_unbatched", "issuer_code", "type_code", "seq",
          sqlite_where=text("batch_id IS NULL"), postgresql_where=text("batch_id IS NULL")),
)  # fmt: skip

status_changes = Table(
    "iss_status_changes", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("cert_id", String(160), nullable=False, index=True),
    Column("action", String(12), nullable=False),
    Column("reason", Integer, nullable=False),
    Column("note", Text, nullable=False),
    Column("tx_hash", LargeBinary(32), nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("at", Float, nullable=False),
)  # fmt: skip

_IN_CHUNK: Final[int] = 500  # bound parameters per IN (...) list: far below every backend's limit
WRITE_OPTION: Final[str] = "huren_write"  # execution option: this transaction will write


class BatchState(StrEnum):
    PENDING = "pending"  # members and root fixed, nothing sent (or a sent tx was dropped)
    SUBMITTED = "submitted"  # signed tx saved (and broadcast, or about to be)
    ANCHORED = "anchored"  # mined in block_number
    FINAL = "final"  # enough confirmations and the block is still canonical

    @property
    def label(self) -> str:
        return {"pending": "待上链", "submitted": "已提交", "anchored": "已锚定", "final": "已确认"}[self.value]


@dataclass(frozen=True, slots=True)
class PreparedCertificate:
    """A validated, sealed certificate as one row, ready to be committed (built by `issuers.intake`)."""

    cert_id: str
    type_code: str
    issuer_code: str
    document_root: bytes
    signature: bytes
    fields_json: str
    sealed: bytes | None
    key_id: str
    input_mac: bytes


@dataclass(frozen=True, slots=True)
class Batch:
    id: int
    issuer_code: str
    type_code: str
    root: bytes
    cert_count: int
    state: BatchState
    created_at: float
    updated_at: float
    tx_hash: bytes | None
    raw_tx: bytes | None
    nonce: int | None
    block_number: int | None
    block_hash: bytes | None
    attempts: int
    last_error: str | None

    @classmethod
    def _from_row(cls, row: Any) -> Batch:
        m = row._mapping
        return cls(
            id=int(m["id"]), issuer_code=m["issuer_code"], type_code=m["type_code"], root=bytes(m["root"]),
            cert_count=int(m["cert_count"]), state=BatchState(m["state"]), created_at=float(m["created_at"]),
            updated_at=float(m["updated_at"]), tx_hash=_b(m["tx_hash"]), raw_tx=_b(m["raw_tx"]),
            nonce=m["nonce"], block_number=m["block_number"], block_hash=_b(m["block_hash"]),
            attempts=int(m["attempts"]), last_error=m["last_error"],
        )  # fmt: skip


def _b(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


@dataclass(frozen=True, slots=True)
class StoredCertificate:
    """A certificate as stored: everything needed to hand the holder its salted document."""

    cert_id: str
    type_code: str
    issuer_code: str
    document_root: bytes
    signature: bytes
    fields: tuple[SaltedField, ...]  # decrypted; empty if read with `decrypt=False`
    sensitive_paths: frozenset[str]
    accepted_at: float
    batch: Batch | None

    @property
    def document(self) -> dict[str, Any]:
        """The certificate document rebuilt from its fields (requires a decrypted read)."""
        return unflatten({f.path: f.value for f in self.fields})


class AddOutcome(StrEnum):
    INSERTED = "inserted"  # committed now: accepted
    ALREADY_ACCEPTED = "already_accepted"  # same id, same submitted input, accepted earlier (a safe re-run)
    CONFLICT = "conflict"  # same id, different input: refused
    NOT_WRITTEN = "not_written"  # valid, but an all-or-nothing add was abandoned because of a conflict


class _Abandon(Exception):
    def __init__(self, result: AddResult) -> None:
        self.result = result


@dataclass(frozen=True, slots=True)
class AddResult:
    """Outcome of `CertificateStore.add`, one entry per input row, in input order."""

    cert_ids: list[str]
    outcomes: list[AddOutcome]

    def _ids(self, outcome: AddOutcome) -> list[str]:
        return [c for c, o in zip(self.cert_ids, self.outcomes, strict=True) if o is outcome]

    @property
    def inserted(self) -> list[str]:
        return self._ids(AddOutcome.INSERTED)

    @property
    def already_accepted(self) -> list[str]:
        return self._ids(AddOutcome.ALREADY_ACCEPTED)

    @property
    def conflicts(self) -> list[str]:
        return self._ids(AddOutcome.CONFLICT)


@dataclass(frozen=True, slots=True)
class StatusChange:
    cert_id: str
    action: str
    reason: int
    note: str
    tx_hash: bytes
    block_number: int
    at: float


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and serialised (BEGIN IMMEDIATE) write transactions.

    Why BEGIN IMMEDIATE: with SQLite's default deferred transactions, a transaction that reads
    and then writes fails at once (SQLITE_BUSY, no waiting) when another connection wrote in
    between; taking the write lock at BEGIN makes writers queue on busy_timeout instead.
    Only connections marked as writers (`WRITE_OPTION`, see `CertificateStore._write`) take
    it; reads stay deferred, so in WAL mode they never wait for a writer.
    `postgresql://` URLs get the psycopg 3 driver this project installs.
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")

    return engine


class CertificateStore:
    """All reads and writes of the issuer tables. Thread-safe (one connection per operation)."""

    def __init__(self, engine: Engine | str, cipher: FieldCipher) -> None:
        self.engine = make_engine(engine) if isinstance(engine, str) else engine
        self.cipher = cipher
        self._postgres = self.engine.dialect.name == "postgresql"
        metadata.create_all(self.engine)
        self._trees: OrderedDict[int, StandardMerkleTree] = OrderedDict()
        self._trees_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite); commits on success, rolls back on error."""
        with self.engine.connect() as c:
            c = c.execution_options(**{WRITE_OPTION: True})
            with c.begin():
                yield c

    # ------------------------------------------------------------------ acceptance

    def add(self, rows: Sequence[PreparedCertificate], now: float | None = None, *,
            all_or_nothing: bool = False) -> AddResult:
        """Commit new certificates in one transaction; the commit is the moment of acceptance.

        A row whose id is already stored (or appears earlier in `rows`) with the same input
        fingerprint is ALREADY_ACCEPTED (re-running an import after a crash is safe); with a
        different input it is a CONFLICT. Neither is written. With `all_or_nothing`, any
        conflict means nothing at all is written (every other row is then reported as not
        inserted: CONFLICT rows as such, the rest keep ALREADY_ACCEPTED or are dropped from
        `inserted`). Returns only after the commit.
        """
        if not rows:
            return AddResult([], [])
        accepted_at = time.time() if now is None else now
        try:
            return self._add(rows, accepted_at, all_or_nothing)
        except IntegrityError:
            # A concurrent writer took one of these ids between our check and our insert
            # (PostgreSQL; SQLite serialises writers). Retry row by row to say which.
            if all_or_nothing:
                return self._add(rows, accepted_at, all_or_nothing)
            outcomes: list[AddOutcome] = []
            for row in rows:
                try:
                    outcomes.extend(self._add([row], accepted_at, False).outcomes)
                except IntegrityError:
                    outcomes.append(AddOutcome.CONFLICT)
            return AddResult([r.cert_id for r in rows], outcomes)

    def _add(self, rows: Sequence[PreparedCertificate], accepted_at: float, all_or_nothing: bool) -> AddResult:
        ids = [r.cert_id for r in rows]
        try:
            with self._write() as c:
                outcomes, fresh = self._classify(c, rows, accepted_at)
                if all_or_nothing and AddOutcome.CONFLICT in outcomes:
                    raise _Abandon(AddResult(ids, [AddOutcome.NOT_WRITTEN if o is AddOutcome.INSERTED else o
                                                   for o in outcomes]))
                if fresh:
                    c.execute(insert(certificates), fresh)
        except _Abandon as abandoned:  # raised inside the transaction: it rolled back, nothing written
            return abandoned.result
        return AddResult(ids, outcomes)

    @staticmethod
    def _classify(c: Connection, rows: Sequence[PreparedCertificate],
                  accepted_at: float) -> tuple[list[AddOutcome], list[dict[str, Any]]]:
        known: dict[str, bytes] = {}
        ids = list(dict.fromkeys(r.cert_id for r in rows))
        for i in range(0, len(ids), _IN_CHUNK):
            q = select(certificates.c.cert_id, certificates.c.input_mac).where(
                certificates.c.cert_id.in_(ids[i : i + _IN_CHUNK])
            )
            known.update((cid, bytes(mac)) for cid, mac in c.execute(q))
        outcomes: list[AddOutcome] = []
        fresh: list[dict[str, Any]] = []
        for r in rows:
            mac = known.get(r.cert_id)
            if mac is not None:
                outcomes.append(AddOutcome.ALREADY_ACCEPTED if mac == r.input_mac else AddOutcome.CONFLICT)
                continue
            known[r.cert_id] = r.input_mac
            outcomes.append(AddOutcome.INSERTED)
            fresh.append({
                "cert_id": r.cert_id, "type_code": r.type_code, "issuer_code": r.issuer_code,
                "document_root": r.document_root, "signature": r.signature, "fields": r.fields_json,
                "sealed": r.sealed, "key_id": r.key_id, "input_mac": r.input_mac,
                "accepted_at": accepted_at, "batch_id": None,
            })  # fmt: skip
        return outcomes, fresh

    # ------------------------------------------------------------------ reading

    def certificate(self, cert_id: str, *, decrypt: bool = True) -> StoredCertificate | None:
        """A stored certificate with its batch; sensitive fields decrypted unless `decrypt=False`."""
        with self.engine.connect() as c:
            row = c.execute(select(certificates).where(certificates.c.cert_id == cert_id)).first()
            if row is None:
                return None
            m = row._mapping
            batch = None
            if m["batch_id"] is not None:
                brow = c.execute(select(batches).where(batches.c.id == m["batch_id"])).first()
                batch = Batch._from_row(brow) if brow is not None else None
        entries = json.loads(m["fields"])
        sensitive = frozenset(e[0] for e in entries if len(e) == 1)
        fields: tuple[SaltedField, ...] = ()
        if decrypt:
            secret: dict[str, list[Any]] = {}
            if m["sealed"] is not None:
                secret = json.loads(self.cipher.open(bytes(m["sealed"]), m["cert_id"].encode(), m["key_id"]))
            fields = tuple(
                SaltedField(e[0], e[2], bytes.fromhex(e[1])) if len(e) == 3
                else SaltedField(e[0], secret[e[0]][1], bytes.fromhex(secret[e[0]][0]))
                for e in entries
            )  # fmt: skip
        return StoredCertificate(
            cert_id=m["cert_id"], type_code=m["type_code"], issuer_code=m["issuer_code"],
            document_root=bytes(m["document_root"]), signature=bytes(m["signature"]), fields=fields,
            sensitive_paths=sensitive, accepted_at=float(m["accepted_at"]), batch=batch,
        )  # fmt: skip

    def batch(self, batch_id: int) -> Batch | None:
        with self.engine.connect() as c:
            row = c.execute(select(batches).where(batches.c.id == batch_id)).first()
        return Batch._from_row(row) if row is not None else None

    def batches(self, issuer_code: str | None = None) -> list[Batch]:
        q = select(batches).order_by(batches.c.id)
        if issuer_code is not None:
            q = q.where(batches.c.issuer_code == issuer_code)
        with self.engine.connect() as c:
            return [Batch._from_row(r) for r in c.execute(q)]

    def batch_counts(self, issuer_code: str) -> dict[BatchState, int]:
        """How many of the issuer's batches are in each state (every state present, zero if none).

        For the outbox-depth metric: one indexed GROUP BY, not a read of every batch.
        """
        q = (select(batches.c.state, func.count()).where(batches.c.issuer_code == issuer_code)
             .group_by(batches.c.state))  # fmt: skip
        counts = dict.fromkeys(BatchState, 0)
        with self.engine.connect() as c:
            for state, n in c.execute(q):
                counts[BatchState(state)] = int(n)
        return counts

    def members(self, batch_id: int) -> list[tuple[str, bytes]]:
        """(cert id, document root) of every certificate in a batch, in acceptance order."""
        q = (select(certificates.c.cert_id, certificates.c.document_root)
             .where(certificates.c.batch_id == batch_id).order_by(certificates.c.seq))  # fmt: skip
        with self.engine.connect() as c:
            return [(cid, bytes(root)) for cid, root in c.execute(q)]

    def batch_tree(self, batch_id: int) -> StandardMerkleTree:
        """The batch's Merkle tree, rebuilt from its members (cached: a closed batch never changes).

        The tree (OZ StandardMerkleTree) sorts its leaves, so member order does not matter.
        """
        with self._trees_lock:
            tree = self._trees.get(batch_id)
        if tree is None:
            tree = StandardMerkleTree.of([root for _, root in self.members(batch_id)])
            with self._trees_lock:
                self._trees[batch_id] = tree
                while len(self._trees) > 64:
                    self._trees.popitem(last=False)
        return tree

    def certificate_ids(self, issuer_code: str | None = None) -> list[str]:
        q = select(certificates.c.cert_id).order_by(certificates.c.seq)
        if issuer_code is not None:
            q = q.where(certificates.c.issuer_code == issuer_code)
        with self.engine.connect() as c:
            return list(c.execute(q).scalars())

    def overview(self, issuer_code: str | None = None) -> dict[str, int]:
        """Counts for operators: certificates, unbatched certificates, batches per outbox state."""
        cq = select(func.count(), func.count(certificates.c.batch_id)).select_from(certificates)
        bq = select(batches.c.state, func.count()).group_by(batches.c.state)
        if issuer_code is not None:
            cq = cq.where(certificates.c.issuer_code == issuer_code)
            bq = bq.where(batches.c.issuer_code == issuer_code)
        with self.engine.connect() as c:
            total, batched = c.execute(cq).one()
            states = dict(c.execute(bq).all())
        out = {"certificates": int(total), "unbatched": int(total) - int(batched)}
        for state in BatchState:
            out[state.value] = int(states.get(state.value, 0))
        return out

    # ------------------------------------------------------------------ batching

    def close_batches(
        self, issuer_code: str, *, size: int, max_age: float, now: float | None = None, force: bool = False
    ) -> list[Batch]:
        """Close every batch that is due: `size` unbatched certificates of one type, or any
        unbatched certificate older than `max_age` seconds (or any at all with `force`).

        Each batch is one transaction: pick the members, compute the root, insert the batch
        as pending, assign the members (only those still unbatched; anything else aborts).
        """
        if size < 1:
            raise ValueError("batch size must be at least 1")
        now = time.time() if now is None else now
        closed: list[Batch] = []
        while True:
            batch = self._close_one(issuer_code, size, now - max_age, force, now)
            if batch is None:
                return closed
            closed.append(batch)

    def _close_one(self, issuer_code: str, size: int, cutoff: float, force: bool, now: float) -> Batch | None:
        unbatched = (certificates.c.issuer_code == issuer_code) & certificates.c.batch_id.is_(None)
        groups = (select(certificates.c.type_code, func.count(), func.min(certificates.c.accepted_at))
                  .where(unbatched).group_by(certificates.c.type_code).order_by(certificates.c.type_code))  # fmt: skip
        with self.engine.connect() as c:  # a cheap read first: the worker polls this often
            if not any(force or n >= size or oldest <= cutoff for _, n, oldest in c.execute(groups)):
                return None
        with self._write() as c:
            due = [t for t, n, oldest in c.execute(groups) if force or n >= size or oldest <= cutoff]
            if not due:
                return None
            q = (select(certificates.c.seq, certificates.c.document_root)
                 .where(unbatched, certificates.c.type_code == due[0])
                 .order_by(certificates.c.seq).limit(size))  # fmt: skip
            if self._postgres:
                q = q.with_for_update()
            members = c.execute(q).all()
            root = StandardMerkleTree.of([bytes(r) for _, r in members]).root
            values = {
                "issuer_code": issuer_code, "type_code": due[0], "root": root, "cert_count": len(members),
                "state": BatchState.PENDING.value, "created_at": now, "updated_at": now, "attempts": 0,
                "next_attempt_at": 0.0,
            }  # fmt: skip
            batch_id = int(c.execute(insert(batches).values(**values)).inserted_primary_key[0])
            seqs = [s for s, _ in members]
            assigned = 0
            for i in range(0, len(seqs), _IN_CHUNK):
                res = c.execute(
                    update(certificates)
                    .where(certificates.c.seq.in_(seqs[i : i + _IN_CHUNK]), certificates.c.batch_id.is_(None))
                    .values(batch_id=batch_id)
                )
                assigned += res.rowcount
            if assigned != len(seqs):
                raise RuntimeError("certificates were batched concurrently; batch closing aborted")
            row = c.execute(select(batches).where(batches.c.id == batch_id)).one()
        return Batch._from_row(row)

    def open_batches(self, issuer_code: str, now: float | None = None) -> list[Batch]:
        """Batches not final yet whose retry time has come, oldest first (the worker's to-do list)."""
        now = time.time() if now is None else now
        q = (select(batches).where(batches.c.issuer_code == issuer_code,
                                   batches.c.state != BatchState.FINAL.value,
                                   batches.c.next_attempt_at <= now)
             .order_by(batches.c.id))  # fmt: skip
        with self.engine.connect() as c:
            return [Batch._from_row(r) for r in c.execute(q)]

    def has_unfinished(self, issuer_code: str) -> bool:
        """True while any certificate is unbatched or any batch is not final."""
        with self.engine.connect() as c:
            a = c.execute(select(func.count()).select_from(certificates).where(
                certificates.c.issuer_code == issuer_code, certificates.c.batch_id.is_(None))).scalar_one()
            b = c.execute(select(func.count()).select_from(batches).where(
                batches.c.issuer_code == issuer_code, batches.c.state != BatchState.FINAL.value)).scalar_one()
        return bool(a or b)

    # ------------------------------------------------------------------ outbox transitions

    def _transition(self, batch_id: int, expected: Sequence[BatchState], **values: Any) -> bool:
        values.setdefault("updated_at", time.time())
        with self._write() as c:
            res = c.execute(
                update(batches)
                .where(batches.c.id == batch_id, batches.c.state.in_([s.value for s in expected]))
                .values(**values)
            )
            return res.rowcount == 1

    def mark_submitted(self, batch_id: int, tx_hash: bytes, raw_tx: bytes, nonce: int) -> bool:
        """pending -> submitted, saving the signed transaction *before* it is broadcast."""
        return self._transition(batch_id, [BatchState.PENDING], state=BatchState.SUBMITTED.value,
                                tx_hash=tx_hash, raw_tx=raw_tx, nonce=nonce, last_error=None)

    def mark_anchored(self, batch_id: int, tx_hash: bytes | None, block_number: int, block_hash: bytes) -> bool:
        """pending|submitted -> anchored (the anchor is in `block_number`)."""
        values: dict[str, Any] = {"state": BatchState.ANCHORED.value, "block_number": block_number,
                                  "block_hash": block_hash, "last_error": None, "next_attempt_at": 0.0}
        if tx_hash:
            values["tx_hash"] = tx_hash
        return self._transition(batch_id, [BatchState.PENDING, BatchState.SUBMITTED], **values)

    def mark_final(self, batch_id: int) -> bool:
        return self._transition(batch_id, [BatchState.ANCHORED], state=BatchState.FINAL.value)

    def back_to_pending(self, batch_id: int, reason: str) -> bool:
        """submitted -> pending: the saved transaction was dropped and the root is not on chain."""
        return self._transition(batch_id, [BatchState.SUBMITTED], state=BatchState.PENDING.value, tx_hash=None,
                                raw_tx=None, nonce=None, last_error=reason)

    def mark_reorged(self, batch_id: int) -> bool:
        """anchored -> submitted: the anchor's block left the canonical chain; re-send the same tx."""
        return self._transition(batch_id, [BatchState.ANCHORED], state=BatchState.SUBMITTED.value,
                                block_number=None, block_hash=None, last_error="区块重组：锚定交易所在区块已被替换")

    def note_failure(self, batch_id: int, error: str, retry_at: float) -> None:
        """Record why a step failed and when to try again (state unchanged)."""
        with self._write() as c:
            c.execute(update(batches).where(batches.c.id == batch_id).values(
                attempts=batches.c.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at,
                updated_at=time.time()))

    # ------------------------------------------------------------------ status changes

    def record_status_change(self, change: StatusChange) -> None:
        with self._write() as c:
            c.execute(insert(status_changes).values(
                cert_id=change.cert_id, action=change.action, reason=change.reason, note=change.note,
                tx_hash=change.tx_hash, block_number=change.block_number, at=change.at))

    def status_changes(self, cert_id: str) -> list[StatusChange]:
        q = select(status_changes).where(status_changes.c.cert_id == cert_id).order_by(status_changes.c.id)
        with self.engine.connect() as c:
            return [StatusChange(r.cert_id, r.action, int(r.reason), r.note, bytes(r.tx_hash), int(r.block_number),
                                 float(r.at)) for r in c.execute(q)]

    def iter_certificates(self, issuer_code: str, chunk: int = 1000) -> Iterator[tuple[str, bytes, int | None]]:
        """(cert id, document root, batch id) of every certificate of a department, in acceptance order."""
        q = (select(certificates.c.cert_id, certificates.c.document_root, certificates.c.batch_id)
             .where(certificates.c.issuer_code == issuer_code).order_by(certificates.c.seq))  # fmt: skip
        with self.engine.connect() as c:
            for cid, root, bid in c.execution_options(yield_per=chunk).execute(q):
                yield cid, bytes(root), bid
