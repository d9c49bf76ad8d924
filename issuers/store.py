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
              --(deep and old enough, and re-checked on chain)--> settled
      pending | submitted --(the chain refuses for good)--> dead
      final | settled --(re-check: the anchor is not on the chain any more)--> pending

  A crash anywhere leaves a state that the anchoring worker resumes from (see
  `issuers.anchoring`); the chain refuses a second anchor of the same root, so nothing can
  be anchored twice, and a certificate's `batch_id` is written once (`WHERE batch_id IS
  NULL`), so no certificate is in two batches. `final` is what verifiers need (their
  confirmations); it is not the end: a node restored from an older state or a rollback deeper
  than the confirmations can drop a final anchor, so final batches are re-checked against the
  chain (`issuers.reconcile`) until they are `settled`. A `dead` batch was refused by the chain
  for a reason retrying cannot cure (type not authorised, department revoked): it is never
  sent again, never reconciled, and shown to the department until an operator re-queues it.
* `iss_status_changes` — the department's record of revocations, suspensions, reinstatements.
* `api_holdings` — the holders' wallets: which certificates a holder holds, keyed by a hash of
  the holder's id number (`holder_hash`, never the number). Written in the same transaction as
  the certificate, on every path that accepts one (API, bulk page, department CLI), so no
  accepted certificate is missing from its holder's wallet after a crash; re-submitting an
  accepted certificate writes its entry if it is missing. `iss_holdings_pending` lists entries
  of an older database that only the department's field key can complete (the holder's id
  number is sealed): the department's store completes them when it opens (revision 0002).
* `iss_status_sync` — per certificate, the status its last recorded change set and whether the
  current chain still shows it (open → settled, or dead); the reconciler re-sends a status
  that vanished. A table of its own (revision 0004), not columns on `iss_status_changes` (the
  record of what was done, never rewritten); back-filled from it by the start-up pass.

Every state change is a compare-and-set on the expected state, so two workers racing (which
the deployment should not run, but might by mistake) cannot corrupt the outbox.
"""

from __future__ import annotations

import hashlib
import json
import logging
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
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

import migrations
from common.dbfault import watch_engine
from common.document import SaltedField, unflatten
from common.merkle import StandardMerkleTree
from common.suites import digest_of
from issuers.errors import FieldKeyError
from issuers.field_cipher import FieldCipher

__all__ = [
    "OPEN_STATES",
    "AddOutcome",
    "AddResult",
    "Batch",
    "BatchState",
    "CertificateStore",
    "PreparedCertificate",
    "StatusChange",
    "StatusSync",
    "StoredCertificate",
    "SyncState",
    "holder_hash",
    "holdings",
    "make_engine",
    "metadata",
]

log = logging.getLogger("huren.issuers.store")

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
    Column("suite", Integer, nullable=False, server_default="1"),  # common/suites.py: its tree's hash
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
    Column("suite", Integer, nullable=False, server_default="1"),  # the crypto suite it was sealed in
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

# One row per certificate whose status was ever changed: what the chain should show (the last
# recorded change) and whether it was seen there deep enough to stop checking (issuers.reconcile).
status_sync = Table(
    "iss_status_sync", metadata,
    Column("cert_id", String(160), primary_key=True),
    Column("issuer_code", String(18), nullable=False),
    Column("change_id", _ID, nullable=False),  # the iss_status_changes row whose status is the target
    Column("action", String(12), nullable=False),
    Column("reason", Integer, nullable=False),
    Column("state", String(12), nullable=False),  # SyncState
    Column("tx_hash", LargeBinary(32)),  # the transaction that set it on the current chain, as far as we know
    Column("block_number", BigInteger),
    Column("resent", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("next_attempt_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_iss_status_sync_open", "issuer_code", "state"),
)  # fmt: skip

# Which certificates a holder holds, by a hash of the holder's id number (never the number).
holdings = Table(
    "api_holdings", metadata,
    Column("holder_hash", String(64), primary_key=True),
    Column("cert_id", String(160), primary_key=True),
    Column("issuer_code", String(18), nullable=False),
    Column("type_code", String(32), nullable=False),
    Column("accepted_at", BigInteger, nullable=False),
    Index("ix_api_holdings_cert", "cert_id"),
)  # fmt: skip

# Wallet entries an older database lacked whose holder id number is sealed (revision 0002).
holdings_pending = Table(
    "iss_holdings_pending", metadata,
    Column("cert_id", String(160), primary_key=True),
    Column("key_id", String(16), nullable=False, index=True),
)  # fmt: skip

_IN_CHUNK: Final[int] = 500  # bound parameters per IN (...) list: far below every backend's limit
WRITE_OPTION: Final[str] = "huren_write"  # execution option: this transaction will write


class BatchState(StrEnum):
    PENDING = "pending"  # members and root fixed, nothing sent (or a sent tx was dropped, or the anchor vanished)
    SUBMITTED = "submitted"  # signed tx saved (and broadcast, or about to be)
    ANCHORED = "anchored"  # mined in block_number
    FINAL = "final"  # enough confirmations and the block is still canonical; re-checked until settled
    SETTLED = "settled"  # deep and old enough, and seen on chain when re-checked: no longer checked
    DEAD = "dead"  # refused by the chain for good (last_error says why): never sent again

    @property
    def label(self) -> str:
        return _BATCH_LABELS[self.value]

    @property
    def on_chain(self) -> bool:
        """The anchor is in a block (as far as the outbox knows): status changes may refer to it."""
        return self in (BatchState.ANCHORED, BatchState.FINAL, BatchState.SETTLED)


_BATCH_LABELS: Final[dict[str, str]] = {
    "pending": "待上链", "submitted": "已提交", "anchored": "已锚定", "final": "已确认", "settled": "已核实",
    "dead": "链上拒绝（需处理）",
}
#: States the anchoring worker still drives forward.
OPEN_STATES: Final[tuple[BatchState, ...]] = (BatchState.PENDING, BatchState.SUBMITTED, BatchState.ANCHORED)


class SyncState(StrEnum):
    """Where a certificate's last recorded status change stands against the current chain."""

    OPEN = "open"  # not yet seen on chain deep enough: checked, re-sent if missing
    SETTLED = "settled"  # seen on chain, deep and old enough: no longer checked (except at start-up)
    DEAD = "dead"  # the chain refuses it for good (last_error says why)


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
    holder_hash: str | None = None  # the holder's wallet key (`holder_hash`); None: no wallet entry
    suite: int = 1  # crypto suite it was sealed in (common/suites.py)


def holder_hash(id_number: str) -> str:
    """The key of a holder's wallet and holder credentials: a hash, so no table holds id numbers."""
    return hashlib.sha256(("huren-holder:" + id_number.strip().upper()).encode()).hexdigest()


def _insert_new(c: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT rows, skipping those whose key is already stored (another writer's, or an earlier run's)."""
    if not rows:
        return
    if c.dialect.name == "postgresql":
        c.execute(pg_insert(table).on_conflict_do_nothing(), rows)
    elif c.dialect.name == "sqlite":
        c.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)
    else:  # pragma: no cover - the project runs on SQLite and PostgreSQL
        for row in rows:
            if c.execute(select(table).filter_by(**{k.name: row[k.name] for k in table.primary_key})).first() is None:
                c.execute(insert(table), [row])


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
    suite: int = 1  # its tree's hash and the contract functions it is anchored and changed through

    @classmethod
    def _from_row(cls, row: Any) -> Batch:
        m = row._mapping
        return cls(
            id=int(m["id"]), issuer_code=m["issuer_code"], type_code=m["type_code"], root=bytes(m["root"]),
            cert_count=int(m["cert_count"]), state=BatchState(m["state"]), created_at=float(m["created_at"]),
            updated_at=float(m["updated_at"]), tx_hash=_b(m["tx_hash"]), raw_tx=_b(m["raw_tx"]),
            nonce=m["nonce"], block_number=m["block_number"], block_hash=_b(m["block_hash"]),
            attempts=int(m["attempts"]), last_error=m["last_error"], suite=int(m["suite"]),
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
    suite: int = 1

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


@dataclass(frozen=True, slots=True)
class StatusSync:
    """A certificate's last recorded status change as the reconciler tracks it (`iss_status_sync`)."""

    cert_id: str
    issuer_code: str
    change_id: int
    action: str  # the last recorded action: the status the chain must show
    reason: int
    state: SyncState
    tx_hash: bytes | None
    block_number: int | None
    resent: int
    attempts: int
    last_error: str | None

    @classmethod
    def _from_row(cls, row: Any) -> StatusSync:
        m = row._mapping
        return cls(cert_id=m["cert_id"], issuer_code=m["issuer_code"], change_id=int(m["change_id"]),
                   action=m["action"], reason=int(m["reason"]), state=SyncState(m["state"]),
                   tx_hash=_b(m["tx_hash"]), block_number=m["block_number"], resent=int(m["resent"]),
                   attempts=int(m["attempts"]), last_error=m["last_error"])


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
        # connect_timeout: a server behind a dead network answers nothing; fail the request, not hang it
        return watch_engine(create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5}))
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

    return watch_engine(engine)


def _wallet_entry(row: PreparedCertificate, accepted_at: float) -> dict[str, Any]:
    return {"holder_hash": row.holder_hash, "cert_id": row.cert_id, "issuer_code": row.issuer_code,
            "type_code": row.type_code, "accepted_at": int(accepted_at)}


class CertificateStore:
    """All reads and writes of the issuer tables. Thread-safe (one connection per operation)."""

    def __init__(self, engine: Engine | str, cipher: FieldCipher) -> None:
        self.engine = make_engine(engine) if isinstance(engine, str) else engine
        self.cipher = cipher
        self._postgres = self.engine.dialect.name == "postgresql"
        migrations.upgrade(self.engine)
        self.complete_pending_holdings()
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
                outcomes, fresh, wallet = self._classify(c, rows, accepted_at)
                if all_or_nothing and AddOutcome.CONFLICT in outcomes:
                    raise _Abandon(AddResult(ids, [AddOutcome.NOT_WRITTEN if o is AddOutcome.INSERTED else o
                                                   for o in outcomes]))
                if fresh:
                    c.execute(insert(certificates), fresh)
                # The holder's wallet entry commits with the certificate; an accepted certificate
                # submitted again gets its entry back if an older release lost it.
                _insert_new(c, holdings, wallet)
        except _Abandon as abandoned:  # raised inside the transaction: it rolled back, nothing written
            return abandoned.result
        return AddResult(ids, outcomes)

    @staticmethod
    def _classify(c: Connection, rows: Sequence[PreparedCertificate],
                  accepted_at: float) -> tuple[list[AddOutcome], list[dict[str, Any]], list[dict[str, Any]]]:
        """Outcome per row, the certificate rows to insert, and the wallet entries they (and the
        already accepted rows) must have."""
        known: dict[str, tuple[bytes, float]] = {}
        ids = list(dict.fromkeys(r.cert_id for r in rows))
        for i in range(0, len(ids), _IN_CHUNK):
            q = select(certificates.c.cert_id, certificates.c.input_mac, certificates.c.accepted_at).where(
                certificates.c.cert_id.in_(ids[i : i + _IN_CHUNK])
            )
            known.update((cid, (bytes(mac), float(at))) for cid, mac, at in c.execute(q))
        outcomes: list[AddOutcome] = []
        fresh: list[dict[str, Any]] = []
        wallet: dict[str, dict[str, Any]] = {}
        for r in rows:
            stored = known.get(r.cert_id)
            if stored is not None:
                same = stored[0] == r.input_mac
                outcomes.append(AddOutcome.ALREADY_ACCEPTED if same else AddOutcome.CONFLICT)
                if same and r.holder_hash is not None:
                    wallet[r.cert_id] = _wallet_entry(r, stored[1])
                continue
            known[r.cert_id] = (r.input_mac, accepted_at)
            outcomes.append(AddOutcome.INSERTED)
            if r.holder_hash is not None:
                wallet[r.cert_id] = _wallet_entry(r, accepted_at)
            fresh.append({
                "cert_id": r.cert_id, "type_code": r.type_code, "issuer_code": r.issuer_code,
                "document_root": r.document_root, "signature": r.signature, "fields": r.fields_json,
                "sealed": r.sealed, "key_id": r.key_id, "input_mac": r.input_mac, "suite": r.suite,
                "accepted_at": accepted_at, "batch_id": None,
            })  # fmt: skip
        return outcomes, fresh, list(wallet.values())

    # ------------------------------------------------------------------ wallets

    def complete_pending_holdings(self) -> int:
        """Write the wallet entries revision 0002 could not (the holder's id number is sealed with
        this store's field key); returns how many. Cheap when there are none: one indexed read."""
        done = 0
        after = ""
        while True:
            with self.engine.connect() as c:
                ids = list(c.execute(select(holdings_pending.c.cert_id)
                                     .where(holdings_pending.c.key_id == self.cipher.key_id,
                                            holdings_pending.c.cert_id > after)
                                     .order_by(holdings_pending.c.cert_id).limit(_IN_CHUNK)).scalars())
            if not ids:
                return done
            after = ids[-1]
            entries: list[dict[str, Any]] = []
            completed: list[str] = []
            for cert_id in ids:
                try:
                    cert = self.certificate(cert_id)
                except FieldKeyError as exc:
                    log.error("wallet entry of %s not written: %s", cert_id, exc)
                    continue
                completed.append(cert_id)
                number = cert.document.get("holder", {}).get("idNumber") if cert is not None else None
                if cert is not None and isinstance(number, str):
                    entries.append({"holder_hash": holder_hash(number), "cert_id": cert_id,
                                    "issuer_code": cert.issuer_code, "type_code": cert.type_code,
                                    "accepted_at": int(cert.accepted_at)})
            with self._write() as c:
                _insert_new(c, holdings, entries)
                if completed:
                    c.execute(delete(holdings_pending).where(holdings_pending.c.cert_id.in_(completed)))
            done += len(entries)

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
            sensitive_paths=sensitive, accepted_at=float(m["accepted_at"]), batch=batch, suite=int(m["suite"]),
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
            with self.engine.connect() as c:
                suite = c.execute(select(batches.c.suite).where(batches.c.id == batch_id)).scalar_one()
            tree = StandardMerkleTree.of([root for _, root in self.members(batch_id)], digest_of(suite))
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
        # A batch holds one type and one crypto suite (its tree is built with that suite's hash).
        groups = (select(certificates.c.type_code, certificates.c.suite, func.count(),
                         func.min(certificates.c.accepted_at))
                  .where(unbatched).group_by(certificates.c.type_code, certificates.c.suite)
                  .order_by(certificates.c.type_code, certificates.c.suite))  # fmt: skip
        with self.engine.connect() as c:  # a cheap read first: the worker polls this often
            if not any(force or n >= size or oldest <= cutoff for _, _, n, oldest in c.execute(groups)):
                return None
        with self._write() as c:
            due = [(t, s) for t, s, n, oldest in c.execute(groups) if force or n >= size or oldest <= cutoff]
            if not due:
                return None
            type_code, suite = due[0]
            q = (select(certificates.c.seq, certificates.c.document_root)
                 .where(unbatched, certificates.c.type_code == type_code, certificates.c.suite == suite)
                 .order_by(certificates.c.seq).limit(size))  # fmt: skip
            if self._postgres:
                q = q.with_for_update()
            members = c.execute(q).all()
            root = StandardMerkleTree.of([bytes(r) for _, r in members], digest_of(suite)).root
            values = {
                "issuer_code": issuer_code, "type_code": type_code, "root": root, "cert_count": len(members),
                "state": BatchState.PENDING.value, "created_at": now, "updated_at": now, "attempts": 0,
                "next_attempt_at": 0.0, "suite": suite,
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
        """Batches not final yet (nor dead) whose retry time has come, oldest first (the worker's to-do list)."""
        now = time.time() if now is None else now
        q = (select(batches).where(batches.c.issuer_code == issuer_code,
                                   batches.c.state.in_([s.value for s in OPEN_STATES]),
                                   batches.c.next_attempt_at <= now)
             .order_by(batches.c.id))  # fmt: skip
        with self.engine.connect() as c:
            return [Batch._from_row(r) for r in c.execute(q)]

    def has_unfinished(self, issuer_code: str) -> bool:
        """True while any certificate is unbatched or any batch is still on its way to final.

        A dead batch is finished in this sense: nothing more happens to it without an operator.
        """
        with self.engine.connect() as c:
            a = c.execute(select(func.count()).select_from(certificates).where(
                certificates.c.issuer_code == issuer_code, certificates.c.batch_id.is_(None))).scalar_one()
            b = c.execute(select(func.count()).select_from(batches).where(
                batches.c.issuer_code == issuer_code,
                batches.c.state.in_([s.value for s in OPEN_STATES]))).scalar_one()
        return bool(a or b)

    def batches_in(self, issuer_code: str, states: Sequence[BatchState]) -> list[Batch]:
        """The department's batches in `states`, oldest first (reconciliation, the dead-batch list)."""
        q = (select(batches).where(batches.c.issuer_code == issuer_code,
                                   batches.c.state.in_([s.value for s in states]))
             .order_by(batches.c.id))  # fmt: skip
        with self.engine.connect() as c:
            return [Batch._from_row(r) for r in c.execute(q)]

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

    def mark_settled(self, batch_id: int, block_number: int, block_hash: bytes) -> bool:
        """final -> settled: re-checked on chain, deep and old enough; stop checking it."""
        return self._transition(batch_id, [BatchState.FINAL], state=BatchState.SETTLED.value,
                                block_number=block_number, block_hash=block_hash, last_error=None)

    def mark_moved(self, batch_id: int, block_number: int, block_hash: bytes) -> bool:
        """final|settled stay as they are, in the block the chain now says (a reorg re-included it)."""
        return self._transition(batch_id, [BatchState.FINAL, BatchState.SETTLED], block_number=block_number,
                                block_hash=block_hash)

    def mark_vanished(self, batch_id: int, reason: str) -> bool:
        """final|settled -> pending: the re-check found no anchor of the root on the chain any more.

        The saved transaction is forgotten (its nonce belongs to a chain that is gone): the batch
        is signed afresh, same root, with the chain's next nonce.
        """
        return self._transition(batch_id, [BatchState.FINAL, BatchState.SETTLED], state=BatchState.PENDING.value,
                                tx_hash=None, raw_tx=None, nonce=None, block_number=None, block_hash=None,
                                last_error=reason[:2000], attempts=0, next_attempt_at=0.0)

    def mark_dead(self, batch_id: int, reason: str) -> bool:
        """pending|submitted -> dead: the chain refuses this anchor for good; `reason` says why."""
        return self._transition(batch_id, [BatchState.PENDING, BatchState.SUBMITTED], state=BatchState.DEAD.value,
                                last_error=reason[:2000], raw_tx=None, next_attempt_at=0.0)

    def requeue_dead(self, batch_id: int) -> bool:
        """dead -> pending: an operator removed the cause (e.g. the type is authorised now)."""
        return self._transition(batch_id, [BatchState.DEAD], state=BatchState.PENDING.value, tx_hash=None,
                                raw_tx=None, nonce=None, attempts=0, next_attempt_at=0.0,
                                last_error="由操作员重新排队")

    def note_failure(self, batch_id: int, error: str, retry_at: float) -> None:
        """Record why a step failed and when to try again (state unchanged)."""
        with self._write() as c:
            c.execute(update(batches).where(batches.c.id == batch_id).values(
                attempts=batches.c.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at,
                updated_at=time.time()))

    # ------------------------------------------------------------------ status changes

    def record_status_change(self, change: StatusChange) -> None:
        """Record a status change made on chain, and make it the status the reconciler keeps there."""
        with self._write() as c:
            change_id = int(c.execute(insert(status_changes).values(
                cert_id=change.cert_id, action=change.action, reason=change.reason, note=change.note,
                tx_hash=change.tx_hash, block_number=change.block_number, at=change.at)).inserted_primary_key[0])
            issuer = c.execute(select(certificates.c.issuer_code)
                               .where(certificates.c.cert_id == change.cert_id)).scalar_one()
            values = {"issuer_code": issuer, "change_id": change_id, "action": change.action,
                      "reason": change.reason, "state": SyncState.OPEN.value, "tx_hash": change.tx_hash,
                      "block_number": change.block_number, "attempts": 0, "last_error": None,
                      "next_attempt_at": 0.0, "updated_at": change.at}
            res = c.execute(update(status_sync).where(status_sync.c.cert_id == change.cert_id).values(**values))
            if res.rowcount == 0:
                c.execute(insert(status_sync).values(cert_id=change.cert_id, resent=0, **values))

    def backfill_status_sync(self, issuer_code: str) -> int:
        """Track every certificate whose status changes predate `iss_status_sync` (an older database).

        The last recorded change of each such certificate becomes its target, open (to be
        checked). Returns how many were added.
        """
        last = (select(func.max(status_changes.c.id).label("id"))
                .select_from(status_changes.join(certificates, certificates.c.cert_id == status_changes.c.cert_id))
                .where(certificates.c.issuer_code == issuer_code,
                       status_changes.c.cert_id.not_in(select(status_sync.c.cert_id)))
                .group_by(status_changes.c.cert_id)).subquery()  # fmt: skip
        with self._write() as c:
            rows = c.execute(select(status_changes).where(status_changes.c.id.in_(select(last.c.id)))).all()
            now = time.time()
            if rows:
                c.execute(insert(status_sync), [{
                    "cert_id": r.cert_id, "issuer_code": issuer_code, "change_id": int(r.id), "action": r.action,
                    "reason": int(r.reason), "state": SyncState.OPEN.value, "tx_hash": bytes(r.tx_hash),
                    "block_number": int(r.block_number), "resent": 0, "attempts": 0, "last_error": None,
                    "next_attempt_at": 0.0, "updated_at": now} for r in rows])  # fmt: skip
        return len(rows)

    def status_syncs(self, issuer_code: str, states: Sequence[SyncState], now: float | None = None,
                     limit: int | None = None) -> list[StatusSync]:
        """Tracked statuses of the department in `states` whose next check is due, oldest change first."""
        now = time.time() if now is None else now
        q = (select(status_sync).where(status_sync.c.issuer_code == issuer_code,
                                       status_sync.c.state.in_([s.value for s in states]),
                                       status_sync.c.next_attempt_at <= now)
             .order_by(status_sync.c.change_id))  # fmt: skip
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as c:
            return [StatusSync._from_row(r) for r in c.execute(q)]

    def _sync_update(self, sync: StatusSync, **values: Any) -> bool:
        """Update a tracked status unless a newer change replaced its target meanwhile (compare-and-set)."""
        values.setdefault("updated_at", time.time())
        with self._write() as c:
            res = c.execute(update(status_sync).where(status_sync.c.cert_id == sync.cert_id,
                                                      status_sync.c.change_id == sync.change_id).values(**values))
            return res.rowcount == 1

    def sync_seen(self, sync: StatusSync, *, settled: bool, block_number: int | None = None) -> bool:
        """The chain shows the target status; settled when it is also deep and old enough."""
        values: dict[str, Any] = {"state": (SyncState.SETTLED if settled else SyncState.OPEN).value,
                                  "attempts": 0, "last_error": None, "next_attempt_at": 0.0}
        if block_number is not None:
            values["block_number"] = block_number
        return self._sync_update(sync, **values)

    def sync_resent(self, sync: StatusSync, tx_hash: bytes, block_number: int, reason: str) -> bool:
        """The status had vanished from the chain and was sent again (mined in `block_number`)."""
        return self._sync_update(sync, state=SyncState.OPEN.value, tx_hash=tx_hash, block_number=block_number,
                                 resent=status_sync.c.resent + 1, attempts=0, last_error=reason[:2000],
                                 next_attempt_at=0.0)

    def sync_failure(self, sync: StatusSync, error: str, retry_at: float) -> bool:
        return self._sync_update(sync, attempts=status_sync.c.attempts + 1, last_error=error[:2000],
                                 next_attempt_at=retry_at)

    def sync_dead(self, sync: StatusSync, reason: str) -> bool:
        """The chain refuses the target status for good (e.g. the department was revoked)."""
        return self._sync_update(sync, state=SyncState.DEAD.value, last_error=reason[:2000])

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
