"""The tamper-evident verification log (核验日志): who verified which certificate, when, with what verdict.

Why it exists: an auditor must be able to trust the record of verifications even though the
operator of the verifier service controls its database. So the log is a hash chain —

    entry_hash(n) = keccak256(entry_hash(n-1) || JCS({v, seq, time, credential, region,
                                                      certificateHash, verdict, purpose, nonce}))

with entry_hash(0) = 32 zero bytes — and its head is anchored on chain from time to time
(contracts/VerificationLogAnchor.sol, by the operator's key). Editing, deleting, reordering or
re-writing entries then either breaks the chain locally or no longer reproduces an anchored head.
`check_log` recomputes everything and names the FIRST broken link, in Chinese and English.

What is in an entry, and why nothing more: the verifier credential id and its region (who
asked), the certificate's document root (which certificate, as a hash), the verdict, the
purpose (事由, the 加注件's "制作事由", up to 200 characters) and the presentation nonce (which
presentation). No names, ID numbers or disclosed field values: the log must be shareable with
auditors without becoming a second copy of personal data.

Concurrency: several API worker processes append to one database. Appends are serialised by
a lock on the single row of `vlog_head` (PostgreSQL: SELECT ... FOR UPDATE) or by taking the
SQLite write lock up front (BEGIN IMMEDIATE), so seq has no gaps and every prev_hash is the
hash of the entry written just before. `LogWriter` batches appends of many request threads
into one transaction (group commit), which is what keeps the log off the critical path at
1,000+ verifications/s.

Use in the API:
  * start-up: `log = VerificationLog(engine)`; `writer = LogWriter(log); writer.start()`;
    in ONE place per deployment (or in every worker: a database lease, ledger/lease.py, elects one) start
    `LogAnchorer(log, operator_sender, manifest, interval=...).start()`.
  * per verification: `entry = writer.append(record_for(result, credential.id, credential.region))`
    (or `log.append(...)` directly) and print `entry.receipt()` on the 核验回执.
  * shutdown: `anchorer.stop()`, `writer.close()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import json
import logging
import os
import queue
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, TypeVar

from eth_abi import decode as abi_decode
from eth_utils import is_address, to_checksum_address
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

import migrations
from common.canonical import CanonicalisationError, canonicalize
from common.dbfault import database_fault
from common.hashing import keccak
from ledger.abi import ContractABI
from ledger.errors import ContractRefused, LedgerError
from ledger.lease import LeaseTable, LeaseTerms, SendingLease
from ledger.manifest import Manifest
from ledger.rpc import RpcClient, RpcError
from ledger.store import lock_for_ddl, make_engine
from verifier.verdicts import Verdict

if TYPE_CHECKING:
    from ledger.sender import TxSender
    from verifier.engine import VerificationResult

__all__ = [
    "GENESIS_HASH",
    "LOG_ANCHOR_ABI",
    "AnchorRecord",
    "AnchoredHead",
    "LogAnchorer",
    "LogBroken",
    "LogCheckReport",
    "LogEntry",
    "LogHead",
    "LogProblem",
    "LogRecord",
    "LogWriter",
    "ProblemKind",
    "VerificationLog",
    "chain_hash",
    "check_entries",
    "check_log",
    "read_anchored_heads",
    "record_for",
]

log = logging.getLogger("huren.auditlog")

#: The hash "before" entry 1. Zero, so the empty log needs no special case anywhere.
GENESIS_HASH: Final[bytes] = bytes(32)
#: Version of the hashed entry layout; part of every hashed entry so a future layout can never collide.
FORMAT_VERSION: Final[int] = 1
#: 事由: free text up to 200 characters, as the national sharing API demands.
PURPOSE_MAX_CHARS: Final[int] = 200
MAX_SAFE_INTEGER: Final[int] = 2**53 - 1

_CREDENTIAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}")
_VERDICTS: Final[frozenset[str]] = frozenset(v.value for v in Verdict)
# Bidirectional controls can make a purpose display differently from what was hashed (the verifier
# refuses them too); other control characters cannot be stored faithfully (PostgreSQL refuses NUL).
_BIDI_CONTROLS: Final[frozenset[str]] = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                                  "\u2066\u2067\u2068\u2069")

# --------------------------------------------------------------------------------------------
# Tables (own MetaData: created by VerificationLog, never by the indexer's store)

metadata = MetaData()
entries_table = Table(
    "vlog_entries", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time_ms", BigInteger, nullable=False, index=True),
    Column("credential_id", String(128), nullable=False),
    Column("region", Integer, nullable=False),
    Column("certificate_hash", LargeBinary(32), index=True),
    Column("verdict", String(32), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("nonce", LargeBinary(32)),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("entry_hash", LargeBinary(32), nullable=False),
)
#: One row (id = 1): the log's own memory of its head, and the row every append locks.
head_table = Table(
    "vlog_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", LargeBinary(32), nullable=False),
    Column("time_ms", BigInteger, nullable=False),
)
#: Heads this deployment anchored (a local note; the chain is the authority the check reads).
anchors_table = Table(
    "vlog_anchors", metadata,
    Column("operator", String(42), primary_key=True),
    Column("anchor_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("entries", BigInteger, nullable=False),
    Column("head", LargeBinary(32), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("tx_hash", LargeBinary(32)),
    Column("block_number", BigInteger),
)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _hex(b: bytes | None) -> str | None:
    return None if b is None else "0x" + b.hex()


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------
# Entries


@dataclass(frozen=True)
class LogRecord:
    """What the verifier route knows about one verification; validated on construction.

    Validation is strict because whatever is appended is permanent: a value that cannot be
    stored and re-read byte for byte (a NUL, an over-long purpose, a float time) would later
    look like tampering.
    """

    credential_id: str
    region: int
    certificate_hash: bytes | None
    verdict: str
    purpose: str = ""
    nonce: bytes | None = None
    at_ms: int = field(default_factory=_now_ms)

    def __post_init__(self) -> None:
        if type(self.credential_id) is not str or not _CREDENTIAL_ID.fullmatch(self.credential_id):
            raise ValueError("credential_id must be 1-128 characters of [A-Za-z0-9._:@/+-] (an id, not a name)")
        if type(self.region) is not int or not 100000 <= self.region <= 999999:
            raise ValueError(f"region must be a 6-digit GB/T 2260 code, got {self.region!r}")
        if self.certificate_hash is not None and (type(self.certificate_hash) is not bytes
                                                  or len(self.certificate_hash) != 32):
            raise ValueError("certificate_hash must be 32 bytes (the document root) or None")
        verdict = str(self.verdict.value if isinstance(self.verdict, Verdict) else self.verdict)
        if verdict not in _VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        object.__setattr__(self, "verdict", verdict)
        if type(self.purpose) is not str:
            raise ValueError("purpose must be a string")
        if len(self.purpose) > PURPOSE_MAX_CHARS:
            raise ValueError(f"purpose is {len(self.purpose)} characters; at most {PURPOSE_MAX_CHARS} are allowed")
        for ch in self.purpose:
            if ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
                raise ValueError(f"purpose contains the control character U+{ord(ch):04X}")
        if self.nonce is not None and (type(self.nonce) is not bytes or not 1 <= len(self.nonce) <= 32):
            raise ValueError("nonce must be 1-32 bytes or None")
        if type(self.at_ms) is not int or not 0 <= self.at_ms <= MAX_SAFE_INTEGER:
            raise ValueError("at_ms must be a non-negative integer (unix milliseconds)")


def record_for(result: VerificationResult, credential_id: str, region: int) -> LogRecord:
    """The log record of one verification result; `credential_id` / `region` come from the credential."""
    return LogRecord(
        credential_id=credential_id,
        region=region,
        certificate_hash=result.certificate_hash,
        verdict=str(result.verdict),
        purpose=result.purpose or "",
        nonce=result.nonce,
    )


def entry_fields(seq: int, r: LogRecord | LogEntry) -> dict[str, object]:
    """The hashed content of entry `seq` (everything but the two hashes), as a JSON object."""
    return {
        "v": FORMAT_VERSION,
        "seq": seq,
        "time": r.at_ms,
        "credential": r.credential_id,
        "region": r.region,
        "certificateHash": _hex(r.certificate_hash),
        "verdict": r.verdict,
        "purpose": r.purpose,
        "nonce": _hex(r.nonce),
    }


def canonical_fields(fields: dict[str, object]) -> bytes:
    """RFC 8785 (JCS) bytes of an entry's fields, about 20x faster than the general canonicaliser.

    The entry is a flat object with fixed ASCII keys whose values are null, safe integers and
    strings without lone surrogates (LogRecord enforces all of it). For exactly such objects
    Python's json with sorted keys, no whitespace and ensure_ascii=False writes the JCS bytes:
    ASCII keys sort the same by code point as by UTF-16 unit, integers print as decimals, and
    strings escape only '"', '\\' and U+0000-U+001F, with the same short forms and lower-case
    \\u00xx. The unit tests hold it to `common.canonical.canonicalize` on generated entries.
    Anything outside that shape (only a tampered row can be) goes through `canonicalize`.
    """
    if all(type(v) is str or type(v) is int or v is None for v in fields.values()) and all(
            type(v) is not int or -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER for v in fields.values()):
        try:
            return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        except UnicodeEncodeError:  # a lone surrogate: let the canonicaliser name the problem
            pass
    return canonicalize(fields)


def chain_hash(prev_hash: bytes, fields: dict[str, object]) -> bytes:
    """entry_hash = keccak256(prev_hash || RFC 8785 canonical JSON of the entry's fields)."""
    return keccak(prev_hash + canonical_fields(fields))


@dataclass(frozen=True)
class LogEntry:
    """One stored entry, exactly as read back from the database."""

    seq: int
    at_ms: int
    credential_id: str
    region: int
    certificate_hash: bytes | None
    verdict: str
    purpose: str
    nonce: bytes | None
    prev_hash: bytes
    entry_hash: bytes

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.at_ms / 1000, UTC)

    def fields(self) -> dict[str, object]:
        return entry_fields(self.seq, self)

    def recomputed_hash(self) -> bytes:
        """The hash this entry's content and stored prev_hash call for (≠ entry_hash if edited)."""
        return chain_hash(self.prev_hash, self.fields())

    def receipt(self) -> dict[str, object]:
        """What the printed verification receipt (核验回执) shows: the entry's number and hash."""
        return {"logSeq": self.seq, "entryHash": _hex(self.entry_hash), "time": _iso(self.at_ms),
                "verdict": self.verdict}

    def to_dict(self) -> dict[str, object]:
        return {**self.fields(), "prevHash": _hex(self.prev_hash), "entryHash": _hex(self.entry_hash)}

    @classmethod
    def _from_row(cls, r: Any) -> LogEntry:
        return cls(
            seq=int(r.seq), at_ms=int(r.time_ms), credential_id=r.credential_id, region=int(r.region),
            certificate_hash=None if r.certificate_hash is None else bytes(r.certificate_hash),
            verdict=r.verdict, purpose=r.purpose, nonce=None if r.nonce is None else bytes(r.nonce),
            prev_hash=bytes(r.prev_hash), entry_hash=bytes(r.entry_hash),
        )


@dataclass(frozen=True)
class LogHead:
    """The log's head: `seq` entries, the last one hashing to `entry_hash` (GENESIS_HASH when empty)."""

    seq: int
    entry_hash: bytes
    at_ms: int


@dataclass(frozen=True)
class AnchorRecord:
    """A head of this log anchored by `operator` on chain (local note of what the anchorer did)."""

    operator: str
    anchor_seq: int
    entries: int
    head: bytes
    at: int
    tx_hash: bytes | None = None
    block_number: int | None = None


class LogBroken(LedgerError):
    """The log fails its own chain check; raised instead of anchoring a tampered log."""

    def __init__(self, problem: LogProblem) -> None:
        self.problem = problem
        super().__init__(f"{problem.zh} / {problem.en}")


_T = TypeVar("_T")

# The append's statements, built once: building them per append (and SQLAlchemy computing their
# cache keys) cost more than the rest of a one-entry transaction (1.0 -> 0.45 ms per append).
_HEAD_FOR_UPDATE = select(head_table).where(head_table.c.id == bindparam("head_id")).with_for_update()
_INSERT_ENTRIES = insert(entries_table)
_UPDATE_HEAD = (update(head_table).where(head_table.c.id == bindparam("head_id"))
                .values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash"), time_ms=bindparam("new_time")))


class _DriverStatement:
    """A statement compiled once for the engine's driver and run on the raw DB-API cursor.

    Why: for an append of a few entries, SQLAlchemy's execution path (parameter processing,
    result set-up; three statements) cost about as much CPU as SQLite's commit, and the append
    is on the path of every verification answer. The statements never change, so they are
    compiled once; parameters go to the driver as it wants them (positional for SQLite's
    qmark style, a mapping for psycopg's named style).
    """

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._order: tuple[str, ...] | None = tuple(compiled.positiontup) if compiled.positional else None

    def params(self, values: dict[str, object]) -> tuple[object, ...] | dict[str, object]:
        return values if self._order is None else tuple(values[name] for name in self._order)


@dataclass(frozen=True)
class AppendStatements:
    """The three statements of an append, compiled for one driver (the sync and async writers share them)."""

    head: _DriverStatement
    insert: _DriverStatement
    update: _DriverStatement

    @classmethod
    def for_dialect(cls, dialect: Any) -> AppendStatements:
        return cls(_DriverStatement(_HEAD_FOR_UPDATE, dialect), _DriverStatement(_INSERT_ENTRIES, dialect),
                   _DriverStatement(_UPDATE_HEAD, dialect))

    def head_params(self) -> tuple[object, ...] | dict[str, object]:
        return self.head.params({"head_id": 1})

    def insert_params(self, entries: Sequence[LogEntry]) -> list[tuple[object, ...] | dict[str, object]]:
        return [self.insert.params({
            "seq": e.seq, "time_ms": e.at_ms, "credential_id": e.credential_id, "region": e.region,
            "certificate_hash": e.certificate_hash, "verdict": e.verdict, "purpose": e.purpose,
            "nonce": e.nonce, "prev_hash": e.prev_hash, "entry_hash": e.entry_hash}) for e in entries]

    def update_params(self, entries: Sequence[LogEntry]) -> tuple[object, ...] | dict[str, object]:
        last = entries[-1]
        return self.update.params({"new_seq": last.seq, "new_hash": last.entry_hash, "new_time": last.at_ms,
                                   "head_id": 1})


def head_from_row(row: Sequence[Any] | None) -> LogHead:
    """The locked head row (id, seq, entry_hash, time_ms) as a LogHead; refuses a missing head."""
    if row is None:
        raise LedgerError("核验日志的头记录不存在，拒绝追加 / the verification log's head record is missing "
                          "(deleted?): refusing to append (run verify-log)")
    _, seq, entry_hash, time_ms = row
    return LogHead(int(seq), bytes(entry_hash), int(time_ms))


def chain_onto(head: LogHead, records: Sequence[LogRecord]) -> list[LogEntry]:
    """The entries `records` become when appended after `head` (numbered and hash-chained)."""
    seq, prev = head.seq, head.entry_hash
    out: list[LogEntry] = []
    for r in records:
        seq += 1
        h = chain_hash(prev, entry_fields(seq, r))
        out.append(LogEntry(seq, r.at_ms, r.credential_id, r.region, r.certificate_hash, r.verdict,
                            r.purpose, r.nonce, prev, h))
        prev = h
    return out


def head_behind(head: LogHead) -> LedgerError:
    """The refusal when an entry numbered after the head already exists (the head row was rolled back)."""
    return LedgerError(
        f"核验日志头记录（第 {head.seq} 条）落后于已有记录，日志可能被篡改，拒绝追加 / "
        f"the log's head record (seq {head.seq}) is behind the stored entries; the log may have been "
        "tampered with: refusing to append (run verify-log)")


class _SqliteWriterLock:
    """Hands the log's write turn between processes on one SQLite file without sleeping.

    SQLite's own lock is polled: a writer that finds it taken sleeps 1, 2, 5 ... 100 ms
    before trying again (its busy handler), so two API workers appending to one log take
    turns with gaps of tens of milliseconds — the HTTP benchmark's p99 was 1.4 s on an idle
    machine. An flock on a file beside the database queues the writers in the kernel, which
    wakes the next one the moment the lock is released. SQLite's lock stays the guarantee
    (BEGIN IMMEDIATE); this only orders the writers. A dead process's flock is released by the OS.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @classmethod
    def for_engine(cls, engine: Engine) -> _SqliteWriterLock:
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        return cls(database + ".log-lock" if database and database != ":memory:" else None)

    def __enter__(self) -> None:
        self._thread_lock.acquire()  # threads of one process share the descriptor: flock cannot order them
        if self.path is None:
            return
        try:
            if self._fd is None or self._pid != os.getpid():  # a forked child must not share the parent's lock
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self.path is not None and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


class VerificationLog:
    """The hash-chained log in SQL (SQLite or PostgreSQL, chosen by the engine's URL)."""

    def __init__(self, engine: Engine, page_size: int = 5_000, busy_retries: int = 30) -> None:
        self.engine = engine
        self.page_size = page_size
        self.busy_retries = busy_retries
        self._sqlite = engine.dialect.name == "sqlite"
        self._writer_lock = _SqliteWriterLock.for_engine(engine)
        self.statements = AppendStatements.for_dialect(engine.dialect)
        dbapi = engine.dialect.dbapi
        self._driver_integrity_error: type[Exception] = getattr(dbapi, "IntegrityError", IntegrityError)
        self._driver_operational_error: type[Exception] = getattr(dbapi, "OperationalError", OperationalError)
        self._init_schema()

    @classmethod
    def from_url(cls, url: str) -> VerificationLog:
        return cls(make_engine(url))

    # -- schema and the writer lock ----------------------------------------------------------
    def _init_schema(self) -> None:
        migrations.upgrade(self.engine)

        def create(c: Connection) -> None:
            # A missing head row is created for a NEW log only: recreating it under existing entries
            # would paper over a deletion (appends then refuse, and the check reports it).
            if (c.execute(select(head_table.c.id).where(head_table.c.id == 1)).first() is None
                    and c.execute(select(entries_table.c.seq).limit(1)).first() is None):
                c.execute(insert(head_table).values(id=1, seq=0, entry_hash=GENESIS_HASH, time_ms=0))

        self._serialised(create, schema=True)

    def _serialised(self, fn: Callable[[Connection], _T], schema: bool = False,
                    connection: Connection | None = None) -> _T:
        """Run `fn` in one transaction that holds the log's write lock; commit; return its result.

        SQLite: BEGIN IMMEDIATE takes the database's single write lock before anything is read,
        so two writers cannot both read the same head. PostgreSQL: the head row is locked with
        SELECT ... FOR UPDATE (by `fn`), or an advisory lock guards schema creation. A SQLite
        writer that times out waiting is retried (nothing was written); other errors propagate —
        in particular a lost PostgreSQL connection is NOT retried, since the commit may have landed.
        `connection`: a connection the caller holds open (the writer thread's), else one from the pool.
        """
        delay = 0.005
        for attempt in itertools.count():
            try:
                with self._writer_lock, (contextlib.nullcontext(connection) if connection is not None
                                         else self.engine.connect()) as conn:
                    conn.begin()  # explicit: `fn` may work on the raw driver cursor, which SQLAlchemy does not see
                    try:
                        if self._sqlite:
                            conn.exec_driver_sql("BEGIN IMMEDIATE")
                        elif schema:
                            lock_for_ddl(conn, "huren.vlog.schema")
                        result = fn(conn)
                        conn.commit()
                    except BaseException as exc:
                        if database_fault(exc) is not None:
                            # down, full or read-only: the raw cursor's error bypasses the engine's
                            # own handling (common.dbfault.watch_engine), so reopen it here
                            conn.invalidate()
                        elif connection is not None and conn.in_transaction():
                            conn.rollback()  # a held connection outlives this call: leave it clean
                        raise
                    return result
            except (OperationalError, self._driver_operational_error) as exc:
                busy = self._sqlite and ("locked" in str(exc) or "busy" in str(exc))
                if not busy or attempt >= self.busy_retries:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- appending ---------------------------------------------------------------------------
    def append(
        self,
        *,
        credential_id: str,
        region: int,
        certificate_hash: bytes | None,
        verdict: str,
        purpose: str = "",
        nonce: bytes | None = None,
        at_ms: int | None = None,
    ) -> LogEntry:
        """Append one verification; return the stored entry (its `seq` goes on the receipt)."""
        record = LogRecord(credential_id, region, certificate_hash, verdict, purpose, nonce,
                           _now_ms() if at_ms is None else at_ms)
        return self.append_many([record])[0]

    def append_record(self, record: LogRecord) -> LogEntry:
        return self.append_many([record])[0]

    def append_many(self, records: Sequence[LogRecord], connection: Connection | None = None) -> list[LogEntry]:
        """Append `records` in order, atomically, in one transaction under the write lock.

        The new entries chain onto the head row (the log's own memory of its last entry), not
        onto whatever row happens to be last: if the last entry was deleted behind the log's
        back, the next entry still points at it, and the check reports the deletion.
        """
        if not records:
            return []
        for r in records:
            if not isinstance(r, LogRecord):
                raise TypeError(f"expected LogRecord, got {type(r).__name__}")
        statements = self.statements

        def write(conn: Connection) -> list[LogEntry]:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(statements.head.sql, statements.head_params())
            head = head_from_row(cursor.fetchone())
            out = chain_onto(head, records)
            try:
                cursor.executemany(statements.insert.sql, statements.insert_params(out))
            except (IntegrityError, self._driver_integrity_error):
                raise head_behind(head) from None
            cursor.execute(statements.update.sql, statements.update_params(out))
            cursor.close()
            return out

        return self._serialised(write, connection=connection)

    # -- reading -----------------------------------------------------------------------------
    def get(self, seq: int) -> LogEntry | None:
        with self.engine.connect() as c:
            row = c.execute(select(entries_table).where(entries_table.c.seq == seq)).first()
        return None if row is None else LogEntry._from_row(row)

    def head(self) -> LogHead:
        """The head as the log itself records it (seq 0 and GENESIS_HASH for an empty log)."""
        with self.engine.connect() as c:
            row = c.execute(select(head_table).where(head_table.c.id == 1)).first()
        if row is None:
            raise LedgerError("核验日志的头记录不存在（被删除？） / the verification log's head record is missing "
                              "(deleted?): run verify-log")
        return LogHead(int(row.seq), bytes(row.entry_hash), int(row.time_ms))

    def entries(self, first: int = 1, last: int | None = None) -> Iterator[LogEntry]:
        """Entries with first <= seq <= last (all from `first` when last is None), in seq order.

        Read page by page (no connection is held between pages), so a check of millions of
        entries neither loads them all nor blocks writers.
        """
        after = first - 1
        while True:
            q = select(entries_table).where(entries_table.c.seq > after)
            if last is not None:
                q = q.where(entries_table.c.seq <= last)
            with self.engine.connect() as c:
                rows = c.execute(q.order_by(entries_table.c.seq).limit(self.page_size)).all()
            for r in rows:
                yield LogEntry._from_row(r)
            if len(rows) < self.page_size:
                return
            after = int(rows[-1].seq)

    def anchors(self, operator: str | None = None) -> list[AnchorRecord]:
        """Anchors this deployment recorded locally (the chain's events are the authority)."""
        q = select(anchors_table)
        if operator is not None:
            q = q.where(anchors_table.c.operator == to_checksum_address(operator))
        with self.engine.connect() as c:
            rows = c.execute(q.order_by(anchors_table.c.operator, anchors_table.c.anchor_seq)).all()
        return [AnchorRecord(r.operator, int(r.anchor_seq), int(r.entries), bytes(r.head), int(r.at),
                             None if r.tx_hash is None else bytes(r.tx_hash),
                             None if r.block_number is None else int(r.block_number)) for r in rows]

    def anchor_covering(self, seq: int, operator: str) -> AnchorRecord | None:
        """The first recorded anchor whose head covers entry `seq` (for a receipt: "anchored in tx ...")."""
        q = (select(anchors_table)
             .where(and_(anchors_table.c.operator == to_checksum_address(operator), anchors_table.c.entries >= seq))
             .order_by(anchors_table.c.entries).limit(1))
        with self.engine.connect() as c:
            r = c.execute(q).first()
        if r is None:
            return None
        return AnchorRecord(r.operator, int(r.anchor_seq), int(r.entries), bytes(r.head), int(r.at),
                            None if r.tx_hash is None else bytes(r.tx_hash),
                            None if r.block_number is None else int(r.block_number))

    def record_anchor(self, a: AnchorRecord) -> None:
        """Note an anchor locally; idempotent (an anchor already noted keeps its first record).

        Unless the chain now holds a different head under that number: after a rollback the
        number was anchored again, and the chain is the authority.
        """
        key = and_(anchors_table.c.operator == a.operator, anchors_table.c.anchor_seq == a.anchor_seq)
        with self.engine.begin() as c:
            exists = c.execute(select(anchors_table.c.entries, anchors_table.c.head).where(key)).first()
            if exists is None:
                c.execute(insert(anchors_table).values(
                    operator=a.operator, anchor_seq=a.anchor_seq, entries=a.entries, head=a.head, at=a.at,
                    tx_hash=a.tx_hash, block_number=a.block_number))
            elif (int(exists.entries), bytes(exists.head)) != (a.entries, a.head):
                c.execute(update(anchors_table).where(key).values(
                    entries=a.entries, head=a.head, at=a.at, tx_hash=a.tx_hash, block_number=a.block_number))

    def forget_anchors_from(self, operator: str, anchor_seq: int) -> int:
        """Drop the local records of `operator`'s anchors numbered `anchor_seq` and up; return how many.

        For anchors the chain no longer has (it rolled back: a node restored from an older
        state, a reorganisation deeper than the confirmations): a receipt must not name one as
        covering its entry, and the anchorer anchors the head again.
        """
        with self.engine.begin() as c:
            gone = c.execute(delete(anchors_table).where(and_(
                anchors_table.c.operator == to_checksum_address(operator), anchors_table.c.anchor_seq >= anchor_seq)))
        return int(gone.rowcount or 0)


# --------------------------------------------------------------------------------------------
# Group commit


_Waiter = Future[LogEntry] | tuple[asyncio.AbstractEventLoop, "asyncio.Future[LogEntry]"]


#: A log writer's kept connection unused this long is pinged before its next batch (see _write).
IDLE_PING_S = 2.0


class LogWriter:
    """Appends from many requests in few transactions (group commit).

    A verification must not finish before its log entry is durable (the receipt prints the
    entry's seq), but one transaction per verification serialises every request on the log's
    lock. The writer thread takes whatever has queued up — up to `max_batch` records — and
    appends it in one transaction; callers wait for their own entry: threads on a Future,
    coroutines on an asyncio future that the writer resolves with one wake-up of their event
    loop per batch (a wake-up per entry cost a system call and a loop iteration each).
    """

    def __init__(self, log_: VerificationLog, max_batch: int = 512, max_queue: int = 100_000,
                 linger_s: float = 0.002) -> None:
        self.log = log_
        self.max_batch = max_batch
        self.linger_s = linger_s
        self._queue: queue.Queue[tuple[LogRecord, _Waiter] | None] = queue.Queue(max_queue)
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None  # the writer thread's own (see _write)
        self._last_ok = 0.0  # time.monotonic() of the kept connection's last good batch
        self._closed = False
        self.batches = 0
        self.appended = 0

    def start(self) -> LogWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vlog-writer", daemon=True)
            self._thread.start()
        return self

    def _check_running(self) -> None:
        if self._closed or self._thread is None:
            raise RuntimeError("LogWriter is not running (call start())")

    def submit(self, record: LogRecord) -> Future[LogEntry]:
        """Queue `record`; the Future resolves to its stored entry (or the append's exception)."""
        self._check_running()
        fut: Future[LogEntry] = Future()
        self._queue.put((record, fut))
        return fut

    def submit_async(self, record: LogRecord) -> asyncio.Future[LogEntry]:
        """Queue `record` from a coroutine; await the result for its stored entry."""
        self._check_running()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[LogEntry] = loop.create_future()
        self._queue.put((record, (loop, fut)))
        return fut

    def append(self, record: LogRecord, timeout: float = 30.0) -> LogEntry:
        """Append `record` and wait until it is committed; return the entry."""
        return self.submit(record).result(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued so far, then stop the thread."""
        if self._thread is None or self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            stopping = self._drain(batch)
            if not stopping and 1 < len(batch) < self.max_batch and self.linger_s > 0:
                # Others queued behind the first: requests are arriving faster than one per
                # transaction. Wait a moment for more, so the commit (most of a batch's cost)
                # is shared by more entries; an idle log (batch of one) writes at once.
                time.sleep(self.linger_s)
                stopping = self._drain(batch)
            self._write(batch)
        self._drop_connection()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # a broken connection may fail to close; the pool discards it
                log.warning("closing the log writer's connection failed: %s", exc)

    def _drain(self, batch: list[tuple[LogRecord, _Waiter]]) -> bool:
        """Move what is queued into `batch` (up to max_batch); True if the stop marker was met."""
        while len(batch) < self.max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                return False
            if nxt is None:
                return True
            batch.append(nxt)
        return False

    def _write(self, batch: list[tuple[LogRecord, _Waiter]]) -> None:
        outcomes: list[LogEntry] | BaseException
        try:
            # The thread keeps one connection: a pool checkout per batch pings the server first
            # (pool_pre_ping), a round trip that cost ~6% of the API's throughput on PostgreSQL.
            # A connection idle for a while is pinged before use instead: after a database restart
            # it is dead, and without the ping the first verification after recovery answered 503.
            if self._connection is not None and time.monotonic() - self._last_ok > IDLE_PING_S:
                try:
                    self._connection.exec_driver_sql("SELECT 1")
                except Exception:  # a dead connection: the next line takes a fresh, pinged one
                    self._drop_connection()
            if self._connection is None:
                self._connection = self.log.engine.connect()
            outcomes = self.log.append_many([r for r, _ in batch], connection=self._connection)
            self._last_ok = time.monotonic()
        except BaseException as exc:  # every waiter must learn the outcome
            log.exception("verification log append failed for %d records", len(batch))
            outcomes = exc
            self._drop_connection()  # it may be broken: the next batch takes a fresh, pinged one
        else:
            self.batches += 1
            self.appended += len(outcomes)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[LogEntry], LogEntry | None]]] = {}
        for i, (_, waiter) in enumerate(batch):
            entry = None if isinstance(outcomes, BaseException) else outcomes[i]
            if isinstance(waiter, Future):
                if entry is None:
                    waiter.set_exception(outcomes)  # type: ignore[arg-type]
                else:
                    waiter.set_result(entry)
            else:
                by_loop.setdefault(waiter[0], []).append((waiter[1], entry))
        error = outcomes if isinstance(outcomes, BaseException) else None
        for loop, waiting in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits any more
                loop.call_soon_threadsafe(_resolve, waiting, error)


def _resolve(waiting: list[tuple[asyncio.Future[LogEntry], LogEntry | None]], error: BaseException | None) -> None:
    """In the waiters' event loop: hand each coroutine its entry (or the append's exception)."""
    for fut, entry in waiting:
        if fut.done():  # its request was cancelled (client gone, time-out)
            continue
        if entry is None:
            fut.set_exception(error if error is not None else RuntimeError("log append failed"))
        else:
            fut.set_result(entry)


# --------------------------------------------------------------------------------------------
# The contract, as this module needs it (a hand-written subset of the compiled ABI, so an API
# worker never compiles Solidity; a test checks it against the compiled artifact).

LOG_ANCHOR_ABI: Final[list[dict[str, Any]]] = [
    {"type": "function", "name": "anchorHead", "stateMutability": "nonpayable",
     "inputs": [{"name": "head", "type": "bytes32"}, {"name": "entries", "type": "uint64"}],
     "outputs": [{"name": "seq", "type": "uint64"}]},
    {"type": "function", "name": "latest", "stateMutability": "view",
     "inputs": [{"name": "operator", "type": "address"}],
     "outputs": [{"name": "seq", "type": "uint64"}, {"name": "head", "type": "bytes32"},
                 {"name": "entries", "type": "uint64"}, {"name": "at", "type": "uint64"}]},
    {"type": "function", "name": "headAt", "stateMutability": "view",
     "inputs": [{"name": "operator", "type": "address"}, {"name": "seq", "type": "uint64"}],
     "outputs": [{"name": "head", "type": "bytes32"}, {"name": "entries", "type": "uint64"},
                 {"name": "at", "type": "uint64"}]},
    {"type": "function", "name": "count", "stateMutability": "view",
     "inputs": [{"name": "operator", "type": "address"}], "outputs": [{"name": "", "type": "uint64"}]},
    {"type": "event", "name": "LogHeadAnchored", "anonymous": False,
     "inputs": [{"name": "operator", "type": "address", "indexed": True},
                {"name": "seq", "type": "uint64", "indexed": True},
                {"name": "head", "type": "bytes32", "indexed": False},
                {"name": "entries", "type": "uint64", "indexed": False},
                {"name": "at", "type": "uint64", "indexed": False}]},
    {"type": "error", "name": "EmptyHead", "inputs": []},
    {"type": "error", "name": "LogDidNotGrow",
     "inputs": [{"name": "operator", "type": "address"}, {"name": "latestEntries", "type": "uint64"},
                {"name": "entries", "type": "uint64"}]},
    {"type": "error", "name": "NoHeadAnchored", "inputs": [{"name": "operator", "type": "address"}]},
    {"type": "error", "name": "UnknownAnchor",
     "inputs": [{"name": "operator", "type": "address"}, {"name": "seq", "type": "uint64"},
                {"name": "count", "type": "uint64"}]},
]
_ABI = ContractABI(LOG_ANCHOR_ABI)
_EVENT = _ABI.events["LogHeadAnchored"]
CONTRACT_NAME: Final[str] = "VerificationLogAnchor"


def _revert_name(exc: RpcError) -> str | None:
    """The custom error of this contract a reverted call names in its data, if any."""
    data = exc.data if isinstance(exc.data, str) else None
    if data is None or not data.startswith("0x") or len(data) < 10:
        return None
    try:
        selector = bytes.fromhex(data[2:10])
    except ValueError:
        return None
    err = _ABI.errors_by_selector.get(selector)
    return None if err is None else err.name


def _contract_address(manifest: Manifest) -> str:
    try:
        return manifest.addresses[CONTRACT_NAME]
    except KeyError:
        raise LedgerError(
            f"部署清单中没有 {CONTRACT_NAME} 合约（旧部署？请重新部署） / the deployment manifest has no "
            f"{CONTRACT_NAME} (an older deployment: redeploy)"
        ) from None


def _call(rpc: RpcClient, address: str, fn: str, *args: Any, block: int | str = "latest") -> tuple[Any, ...]:
    f = _ABI.fn(fn)
    return f.decode_output(rpc.eth_call(address, f.encode(*args), block))


@dataclass(frozen=True)
class AnchoredHead:
    """A head of the operator's log as the chain holds it."""

    anchor_seq: int
    head: bytes
    entries: int
    at: int
    block_number: int | None = None
    tx_hash: bytes | None = None


def read_anchored_heads(rpc: RpcClient, manifest: Manifest, operator: str,
                        chunk_blocks: int = 10_000) -> list[AnchoredHead]:
    """Every head `operator` anchored, from its LogHeadAnchored events, in anchoring order.

    Events give block and transaction (for the report); the contract's `count` at the same block
    is the cross-check that the node returned all of them (a node with pruned or capped logs
    must not make a truncated log look fine).
    """
    address = _contract_address(manifest)
    operator = to_checksum_address(operator)
    tip = rpc.block_number()
    topics = [_hex(_EVENT.topic), "0x" + bytes(12).hex() + operator[2:].lower()]
    ranges = [(a, min(a + chunk_blocks - 1, tip)) for a in range(manifest.deployment_block, tip + 1, chunk_blocks)]
    raw: list[dict[str, Any]] = []
    for i in range(0, len(ranges), 20):
        calls = [("eth_getLogs", [{"address": address, "topics": topics, "fromBlock": hex(a), "toBlock": hex(b)}])
                 for a, b in ranges[i:i + 20]]
        for result in rpc.batch(calls):
            assert isinstance(result, list)
            raw.extend(x for x in result if not x.get("removed"))
    heads: list[AnchoredHead] = []
    for x in raw:
        t = [bytes.fromhex(s[2:]) for s in x["topics"]]
        head, entries, at = abi_decode(["bytes32", "uint64", "uint64"], bytes.fromhex(x["data"][2:]))
        heads.append(AnchoredHead(int.from_bytes(t[2], "big"), bytes(head), int(entries), int(at),
                                  int(x["blockNumber"], 16), bytes.fromhex(x["transactionHash"][2:])))
    heads.sort(key=lambda h: h.anchor_seq)
    (count,) = _call(rpc, address, "count", operator, block=tip)
    if [h.anchor_seq for h in heads] != list(range(int(count))):
        raise LedgerError(
            f"节点返回的锚定事件不完整（{len(heads)} 条，合约记录 {count} 次） / the node returned "
            f"{len(heads)} LogHeadAnchored events but the contract counts {count} anchors for {operator}"
        )
    return heads


# --------------------------------------------------------------------------------------------
# The check


class ProblemKind(StrEnum):
    MISSING = "MISSING"  # seq gap: entries deleted
    LINK_BROKEN = "LINK_BROKEN"  # prev_hash is not the previous entry's hash: deleted / inserted / reordered
    EDITED = "EDITED"  # the entry's content no longer hashes to its entry_hash
    ANCHOR_MISMATCH = "ANCHOR_MISMATCH"  # the recomputed chain does not reach an anchored head
    TRUNCATED = "TRUNCATED"  # an anchor covers more entries than the log has
    HEAD_MISMATCH = "HEAD_MISMATCH"  # the log's head record disagrees with its last entry


@dataclass(frozen=True)
class LogProblem:
    """One broken link: where (seq) and what, in plain Chinese and English."""

    kind: ProblemKind
    seq: int
    zh: str
    en: str

    def to_dict(self) -> dict[str, object]:
        return {"kind": str(self.kind), "seq": self.seq, "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class LogCheckReport:
    """The outcome of checking the whole log (and, when a chain was given, its anchored heads)."""

    entries: int  # entries read
    last_seq: int  # seq of the last entry read (0 if none)
    head_hash: bytes  # stored hash of the last entry (GENESIS_HASH if none)
    anchors: list[AnchoredHead]
    anchors_matched: int
    chain_checked: bool  # False: anchors were not read (no chain given)
    problems: list[LogProblem]
    problems_total: int  # problems found, including those not kept in `problems`
    operator: str | None = None

    @property
    def ok(self) -> bool:
        return self.problems_total == 0

    @property
    def first_broken(self) -> LogProblem | None:
        return self.problems[0] if self.problems else None

    @property
    def anchored_entries(self) -> int:
        """How many leading entries the latest anchored head covers."""
        return max((a.entries for a in self.anchors), default=0)

    def summary(self) -> tuple[str, str]:
        """One sentence each in Chinese and English."""
        if not self.ok:
            first = self.first_broken
            assert first is not None
            more = self.problems_total - 1
            return (f"核验日志已被破坏：第一个断点在第 {first.seq} 条。{first.zh}"
                    + (f"（另有 {more} 处问题）" if more else ""),
                    f"Verification log BROKEN: first broken link at seq {first.seq}. {first.en}"
                    + (f" ({more} further problem(s))" if more else ""))
        if not self.chain_checked:
            return (f"核验日志哈希链完整（共 {self.entries} 条），未对照链上锚定。",
                    f"Verification log hash chain intact ({self.entries} entries); not compared with on-chain anchors.")
        tail = self.last_seq - self.anchored_entries
        zh = (f"核验日志完整：共 {self.entries} 条记录，链上锚定 {len(self.anchors)} 次，全部一致"
              + (f"，已锚定至第 {self.anchored_entries} 条" if self.anchors else "")
              + (f"；第 {self.anchored_entries + 1}–{self.last_seq} 条尚未锚定（只校验了哈希链）" if tail > 0 else "")
              + "。")
        en = (f"Verification log intact: {self.entries} entries, {len(self.anchors)} anchored head(s), all matching"
              + (f", anchored up to seq {self.anchored_entries}" if self.anchors else "")
              + (f"; seq {self.anchored_entries + 1}-{self.last_seq} not yet anchored (hash chain only)"
                 if tail > 0 else "")
              + ".")
        return zh, en

    def text(self) -> str:
        """The printable report (the verify-log command's output)."""
        zh, en = self.summary()
        lines = [zh, en]
        if self.operator:
            lines.append(f"运营方地址 / operator: {self.operator}")
        lines.append(f"最后一条 / last entry: seq {self.last_seq}, hash {_hex(self.head_hash)}")
        for a in self.anchors:
            where = f", block {a.block_number}, tx {_hex(a.tx_hash)}" if a.block_number is not None else ""
            lines.append(f"锚定 / anchor #{a.anchor_seq}: seq {a.entries}, head {_hex(a.head)}, "
                         f"{_iso(a.at * 1000)}{where}")
        if self.problems:
            lines.append("问题 / problems:")
            for p in self.problems:
                lines.append(f"  [{p.kind}] seq {p.seq}: {p.zh}")
                lines.append(f"  {' ' * (len(str(p.kind)) + 2)} {' ' * len(f'seq {p.seq}:')} {p.en}")
            if self.problems_total > len(self.problems):
                lines.append(f"  …另有 {self.problems_total - len(self.problems)} 处 / "
                             f"{self.problems_total - len(self.problems)} more not listed")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        zh, en = self.summary()
        return {
            "ok": self.ok, "summary": {"zh": zh, "en": en}, "entries": self.entries, "lastSeq": self.last_seq,
            "headHash": _hex(self.head_hash), "chainChecked": self.chain_checked, "operator": self.operator,
            "anchors": [{"anchorSeq": a.anchor_seq, "entries": a.entries, "head": _hex(a.head), "at": a.at,
                         "blockNumber": a.block_number, "txHash": _hex(a.tx_hash)} for a in self.anchors],
            "anchorsMatched": self.anchors_matched,
            "firstBroken": None if self.first_broken is None else self.first_broken.to_dict(),
            "problems": [p.to_dict() for p in self.problems], "problemsTotal": self.problems_total,
        }


class _Walker:
    """Walks entries in seq order and collects problems; pure (no I/O), so it is unit-tested alone.

    Two hashes are carried along:
    * `prev_stored` — the previous row's stored entry_hash: the local link check (is this row's
      prev_hash really the previous row's hash?) and the self check (does this row's content
      hash to its entry_hash?) are made against what is stored, so one bad row is reported once
      instead of breaking every later comparison;
    * `prev_true` — the chain recomputed from the rows' content alone, ignoring every stored hash:
      this is what must reproduce each anchored head. A rewrite that recomputed all stored hashes
      consistently passes the local checks and is caught here.
    """

    def __init__(self, anchors: Sequence[AnchoredHead], start_seq: int = 0, start_hash: bytes = GENESIS_HASH,
                 keep: int = 100) -> None:
        self.anchors = list(anchors)
        self.by_entries = {a.entries: a for a in anchors}
        self.expected = start_seq + 1
        self.prev_stored: bytes | None = start_hash
        self.prev_true = start_hash
        self.last_matched = start_seq  # highest seq confirmed by an anchor (or the trusted start)
        self.matched = 0
        self.count = 0
        self.last_seq = start_seq
        self.keep = keep
        self.problems: list[LogProblem] = []
        self.total = 0

    def _problem(self, kind: ProblemKind, seq: int, zh: str, en: str) -> None:
        self.total += 1
        if len(self.problems) < self.keep:
            self.problems.append(LogProblem(kind, seq, zh, en))

    def feed(self, e: LogEntry) -> None:
        self.count += 1
        if e.seq != self.expected:
            if e.seq > self.expected:
                a, b = self.expected, e.seq - 1
                span_zh = f"第 {a} 条" if a == b else f"第 {a}–{b} 条"
                span_en = f"entry {a} is" if a == b else f"entries {a}-{b} are"
                self._problem(ProblemKind.MISSING, a,
                              f"{span_zh}记录缺失：第 {a - 1} 条之后紧接着是第 {e.seq} 条，记录被删除。",
                              f"{span_en} missing: seq {a - 1} is followed by seq {e.seq}; entries were deleted.")
                for missing in range(a, b + 1):
                    if missing in self.by_entries:  # an anchored position that no longer exists
                        self._anchor_unreachable(self.by_entries[missing])
            else:  # cannot happen with a primary key on seq; kept for hand-fed input
                self._problem(ProblemKind.LINK_BROKEN, e.seq,
                              f"第 {e.seq} 条记录重复或顺序错乱（应为第 {self.expected} 条）。",
                              f"entry {e.seq} is duplicated or out of order (expected seq {self.expected}).")
            self.prev_stored = None  # the link into the row after a gap cannot be judged
        if self.prev_stored is not None and e.prev_hash != self.prev_stored:
            self._problem(ProblemKind.LINK_BROKEN, e.seq,
                          f"第 {e.seq} 条记录与前一条不衔接：它记录的前一哈希不是第 {e.seq - 1} 条的哈希"
                          "（记录被删除、插入或调换了顺序）。",
                          f"entry {e.seq} does not follow entry {e.seq - 1}: its prev_hash is not the previous "
                          "entry's hash (an entry was deleted, inserted or reordered).")
        try:
            content = canonical_fields(e.fields())  # once per entry: canonical JSON is the costly part
        except CanonicalisationError:  # only a tampered row can hold a value JSON cannot carry
            content = b"\xff unencodable " + e.entry_hash
        if keccak(e.prev_hash + content) != e.entry_hash:
            self._problem(ProblemKind.EDITED, e.seq,
                          f"第 {e.seq} 条记录被修改：按其内容重算的哈希与记录中的哈希不一致。",
                          f"entry {e.seq} was edited: the hash recomputed from its content does not match "
                          "its stored hash.")
        self.prev_true = keccak(self.prev_true + content)
        anchor = self.by_entries.get(e.seq)
        if anchor is not None:
            if anchor.head == self.prev_true:
                self.matched += 1
                self.last_matched = e.seq
            else:
                self._problem(ProblemKind.ANCHOR_MISMATCH, e.seq, *self._anchor_words(anchor))
        self.prev_stored = e.entry_hash
        self.last_seq = e.seq
        self.expected = e.seq + 1

    def _anchor_where(self, a: AnchoredHead) -> tuple[str, str]:
        block = f"，区块 {a.block_number}" if a.block_number is not None else ""
        block_en = f", block {a.block_number}" if a.block_number is not None else ""
        return (f"链上第 {a.anchor_seq} 次锚定（{_iso(a.at * 1000)}{block}）",
                f"on-chain anchor #{a.anchor_seq} ({_iso(a.at * 1000)}{block_en})")

    def _anchor_words(self, a: AnchoredHead) -> tuple[str, str]:
        where_zh, where_en = self._anchor_where(a)
        lo = self.last_matched + 1
        return (f"{where_zh}记录的第 {a.entries} 条时的日志哈希为 {_hex(a.head)}，按现有记录重算为 "
                f"{_hex(self.prev_true)}：第 {lo}–{a.entries} 条之间的记录在锚定后被改写。",
                f"{where_en} holds the log hash {_hex(a.head)} at seq {a.entries}, but the entries now "
                f"recompute to {_hex(self.prev_true)}: entries between seq {lo} and {a.entries} were rewritten "
                "after they were anchored.")

    def _anchor_unreachable(self, a: AnchoredHead) -> None:
        where_zh, where_en = self._anchor_where(a)
        self._problem(ProblemKind.ANCHOR_MISMATCH, a.entries,
                      f"{where_zh}覆盖到第 {a.entries} 条，但该条记录已不存在。",
                      f"{where_en} covers seq {a.entries}, but that entry no longer exists.")

    def finish(self, head: LogHead | None) -> None:
        last = self.last_seq
        beyond = [a for a in self.anchors if a.entries > last]
        if beyond:
            a = max(beyond, key=lambda x: x.entries)
            where_zh, where_en = self._anchor_where(a)
            self._problem(ProblemKind.TRUNCATED, last + 1,
                          f"日志只到第 {last} 条，但{where_zh}已覆盖 {a.entries} 条：第 {last + 1}–{a.entries} 条"
                          "记录被删除（日志被截短）。",
                          f"the log ends at seq {last}, but {where_en} covers {a.entries} entries: entries "
                          f"{last + 1}-{a.entries} were deleted (the log was truncated).")
        if head is not None and (head.seq != last or (self.prev_stored is not None
                                                      and head.entry_hash != self.prev_stored)):
            at = last if head.seq == last else min(head.seq, last) + 1
            self._problem(ProblemKind.HEAD_MISMATCH, at,
                          f"日志头记录为第 {head.seq} 条（哈希 {_hex(head.entry_hash)}），与实际最后一条"
                          f"（第 {last} 条，哈希 {_hex(self.prev_stored)}）不一致：末尾记录被删除或改写。",
                          f"the log's head record says seq {head.seq} (hash {_hex(head.entry_hash)}) but the last "
                          f"entry is seq {last} (hash {_hex(self.prev_stored)}): tail entries were deleted or "
                          "rewritten.")


def check_entries(entries: Iterable[LogEntry], anchors: Sequence[AnchoredHead] = (), head: LogHead | None = None,
                  *, chain_checked: bool = True, operator: str | None = None) -> LogCheckReport:
    """Check a sequence of entries (seq order) against anchored heads; pure, no I/O."""
    w = _Walker(sorted(anchors, key=lambda a: a.entries))
    for e in entries:
        w.feed(e)
    w.finish(head)
    problems = sorted(w.problems, key=lambda p: p.seq)  # stable: same-seq problems keep walk order
    return LogCheckReport(
        entries=w.count, last_seq=w.last_seq, head_hash=w.prev_stored if w.prev_stored is not None else GENESIS_HASH,
        anchors=list(anchors), anchors_matched=w.matched, chain_checked=chain_checked, problems=problems,
        problems_total=w.total, operator=operator,
    )


def check_log(log_: VerificationLog, rpc: RpcClient | None, manifest: Manifest | None,
              operator_address: str | None) -> LogCheckReport:
    """Recompute the whole log and compare it with every head `operator_address` anchored on chain.

    With `rpc` None only the hash chain is checked (reported as such: `chain_checked` False).
    Raises NodeUnavailable / LedgerError when the chain was asked for but cannot be read: a check
    that could not see the anchors must not say "intact".
    """
    anchors: list[AnchoredHead] = []
    operator = None
    if rpc is not None:
        if manifest is None or operator_address is None:
            raise ValueError("checking against the chain needs the manifest and the operator address")
        if not is_address(operator_address):
            raise ValueError(f"not an address: {operator_address!r}")
        operator = to_checksum_address(operator_address)
        anchors = read_anchored_heads(rpc, manifest, operator)
    # Read the head record first: entries appended after it are then simply "more" entries,
    # which the head comparison tolerates only in that direction (see below).
    try:
        head: LogHead | None = log_.head()
    except LedgerError:
        head = None
    entries = log_.entries(1, None)
    report = check_entries(entries, anchors, None, chain_checked=rpc is not None, operator=operator)
    # Concurrent appends may have moved the head past what we read as the head record: compare
    # the head record with the entry at its own seq instead of with the last entry read.
    head_problem = _head_record_problem(log_, head, report)
    if head_problem is None:
        return report
    problems = sorted([*report.problems, head_problem], key=lambda p: p.seq)
    return LogCheckReport(report.entries, report.last_seq, report.head_hash, report.anchors, report.anchors_matched,
                          report.chain_checked, problems, report.problems_total + 1, report.operator)


def _head_record_problem(log_: VerificationLog, head: LogHead | None, report: LogCheckReport) -> LogProblem | None:
    if head is None:
        return LogProblem(ProblemKind.HEAD_MISMATCH, report.last_seq + 1,
                          "日志头记录被删除：无法确认末尾记录是否完整。",
                          "the log's head record was deleted: the end of the log cannot be confirmed.")
    if head.seq == 0:
        if report.last_seq == 0:
            return None
        entry = None
    else:
        entry = log_.get(head.seq)
    if entry is not None and entry.entry_hash == head.entry_hash:
        return None
    found = entry.entry_hash if entry is not None else None
    if head.seq == 0:
        zh = f"日志头记录为空日志，但表中有 {report.entries} 条记录：日志头被改写。"
        en = f"the log's head record says the log is empty, but it holds {report.entries} entries: head rewritten."
        at = 1
    elif entry is None:
        zh = (f"日志头记录为第 {head.seq} 条，但该条记录不存在（现有记录到第 {report.last_seq} 条）："
              "末尾记录被删除。")
        en = (f"the log's head record says seq {head.seq}, but that entry does not exist (entries end at seq "
              f"{report.last_seq}): tail entries were deleted.")
        at = min(head.seq, report.last_seq + 1)
    else:
        zh = (f"日志头记录的第 {head.seq} 条哈希为 {_hex(head.entry_hash)}，但该条记录的哈希是 {_hex(found)}："
              "记录在写入后被改写。")
        en = (f"the log's head record holds hash {_hex(head.entry_hash)} for seq {head.seq}, but that entry's hash "
              f"is {_hex(found)}: the entry was rewritten after it was written.")
        at = head.seq
    return LogProblem(ProblemKind.HEAD_MISMATCH, at, zh, en)


# --------------------------------------------------------------------------------------------
# Anchoring


class LogAnchorer:
    """Anchors the log's head on chain whenever it has advanced (background thread or one-shot).

    The anchoring key is the operator's (the address the region publishes for its verification
    service). Before anchoring, the entries added since the last anchored head are re-checked:
    anchoring a tampered log would launder the tampering, so a broken log raises `LogBroken`
    and is never anchored. Several workers may each run an anchorer: a database lease
    (`vlog-anchor:<operator>`, ledger/lease.py) lets only one of them anchor at a time.

    It runs for the life of the process, so it must follow the chain rather than remember it:
    the sender takes the key's pending nonce from the chain on every send and gives up on a
    transaction that can never be mined (ledger/sender.py), and each round starts from the
    chain's latest anchor, forgetting local records of anchors the chain no longer has. After
    a rollback (a node restored from an older state) the next round anchors the head again,
    without a restart.
    """

    def __init__(self, log_: VerificationLog, sender: TxSender, manifest: Manifest, interval: float = 60.0,
                 min_new_entries: int = 1, lease_ttl: float | None = None) -> None:
        self.log = log_
        self.sender = sender
        self.rpc = sender.rpc
        self.manifest = manifest
        self.address = _contract_address(manifest)
        self.operator = to_checksum_address(sender.address)
        self.interval = interval
        self.min_new_entries = max(1, min_new_entries)
        self.lease_ttl = lease_ttl if lease_ttl is not None else max(120.0, 3 * interval)
        # Renewed once per round (anchor_once), so the ttl must outlast a round: 3 intervals.
        self.lease = SendingLease(LeaseTable(log_.engine), f"vlog-anchor:{self.operator}", sender,
                                  LeaseTerms(ttl_s=self.lease_ttl, renew_s=min(1.0, self.lease_ttl / 2)))
        self.holder = self.lease.holder
        self.last_error: str = ""
        self.last_anchor: AnchorRecord | None = None
        #: Why the last anchor_once() returned None: "lease" (another process anchors), "unchanged"
        #: (the head has not advanced enough) or "raced" (the same key anchored meanwhile).
        self.skipped: str = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def chain_latest(self) -> AnchoredHead | None:
        """The operator's latest anchored head (None before the first), read in ONE view call.

        Why not `count` then `latest`: two reads can meet two states of the chain (a head rolled
        back or a block replaced between them; anvil after a rollback even answered one block
        number from two states in CI), and `count` 1 then `latest` reverting NoHeadAnchored made the
        anchorer's poll raise. One call sees one state; its NoHeadAnchored revert means "none yet".
        """
        try:
            seq, head, entries, at = _call(self.rpc, self.address, "latest", self.operator)
        except RpcError as exc:
            if _revert_name(exc) == "NoHeadAnchored":
                return None
            raise
        return AnchoredHead(int(seq), bytes(head), int(entries), int(at))

    def anchor_once(self) -> AnchorRecord | None:
        """Anchor the current head if it advanced; return the new anchor, or None if nothing to do.

        Raises LogBroken (the new segment fails its check, or the log is shorter than an
        anchored head), NodeUnavailable / TransactionFailed (chain problems; retried next round).
        """
        self.skipped = ""
        if not self.lease.hold(force=True):
            self.skipped = "lease"
            return None
        latest = self.chain_latest()
        on_chain = latest.anchor_seq + 1 if latest is not None else 0
        vanished = self.log.forget_anchors_from(self.operator, on_chain)
        if vanished:
            log.warning("verification log: %d anchor(s) of %s from #%d on are no longer on chain (it rolled back); "
                        "anchoring the head again", vanished, self.operator, on_chain)
        if latest is not None:
            self.log.record_anchor(AnchorRecord(self.operator, latest.anchor_seq, latest.entries, latest.head,
                                                latest.at))
        anchored = latest.entries if latest is not None else 0
        head = self.log.head()
        if head.seq < anchored:
            raise LogBroken(LogProblem(
                ProblemKind.TRUNCATED, head.seq + 1,
                f"日志只到第 {head.seq} 条，但链上已锚定到第 {anchored} 条：日志被截短，拒绝继续锚定。",
                f"the log ends at seq {head.seq} but the chain has it anchored up to seq {anchored}: the log was "
                "truncated; refusing to anchor."))
        if head.seq - anchored < self.min_new_entries:
            self.skipped = "unchanged"
            return None
        self._check_segment(latest, head)
        try:
            receipt = self.sender.transact(self.address, _ABI.fn("anchorHead").encode(head.entry_hash, head.seq),
                                           "anchor verification log head")
        except ContractRefused as refused:
            if refused.error == "LogDidNotGrow":  # another anchorer of this key got there first
                self.skipped = "raced"
                return None
            raise
        record = None
        for lg in receipt.logs:
            if lg.address.lower() == self.address.lower() and lg.topics and lg.topics[0] == _EVENT.topic:
                ev = _EVENT.decode(lg.topics, lg.data)
                record = AnchorRecord(self.operator, int(ev["seq"]), int(ev["entries"]), bytes(ev["head"]),
                                      int(ev["at"]), receipt.tx_hash, receipt.block_number)
        if record is None:
            raise LedgerError("anchorHead succeeded but emitted no LogHeadAnchored event")
        self.log.record_anchor(record)
        self.last_anchor = record
        log.info("verification log anchored: seq %d head 0x%s (anchor #%d, block %d)", record.entries,
                 record.head.hex(), record.anchor_seq, receipt.block_number)
        return record

    def _check_segment(self, latest: AnchoredHead | None, head: LogHead) -> None:
        """Entries after the last anchored head up to `head` must chain onto it and hash correctly."""
        start_seq = latest.entries if latest is not None else 0
        start_hash = latest.head if latest is not None else GENESIS_HASH
        w = _Walker((), start_seq, start_hash, keep=1)
        for e in self.log.entries(start_seq + 1, head.seq):
            w.feed(e)
        if w.last_seq != head.seq:
            w._problem(ProblemKind.MISSING, w.last_seq + 1,
                       f"第 {w.last_seq + 1}–{head.seq} 条记录缺失。",
                       f"entries {w.last_seq + 1}-{head.seq} are missing.")
        elif w.prev_true != head.entry_hash:
            w._problem(ProblemKind.HEAD_MISMATCH, head.seq,
                       f"日志头记录的哈希与第 {head.seq} 条记录重算的哈希不一致。",
                       f"the head record's hash does not match the recomputed hash of seq {head.seq}.")
        if w.problems:
            raise LogBroken(w.problems[0])

    # -- background thread -------------------------------------------------------------------
    def start(self) -> LogAnchorer:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="vlog-anchorer", daemon=True)
            self._thread.start()
        return self

    def stop(self, final_anchor: bool = True, timeout: float = 60.0) -> None:
        """Stop the thread; by default anchor once more so a clean shutdown leaves nothing unanchored."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout)
            self._thread = None
        if final_anchor:
            self._round()
        self.release_lease()

    def release_lease(self) -> None:
        """Hand the anchoring lease back, so another process's anchorer takes over at its next round."""
        self.lease.release()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._round()

    def _round(self) -> None:
        try:
            self.anchor_once()
            self.last_error = ""
        except LogBroken as exc:
            self.last_error = str(exc)
            log.error("verification log NOT anchored: %s", exc)
        except Exception as exc:  # chain down, node refusing: try again next round
            self.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("verification log anchoring failed (will retry): %s", self.last_error)
