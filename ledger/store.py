"""SQL persistence of the indexer: the event journal, block hashes, cursor and read-model tables.

The journal (raw logs, exactly as the node gave them) is the source of truth for the local
read model: on restart the model is replayed from it, and on a reorg the dropped blocks are
cut from it and the model is replayed again. The read-model tables (issuers, anchors,
certificate statuses, ...) are written alongside, in the same transaction, so that SQL
readers (registry pages, auditors, ops) see the same state as the in-memory model.
SQLite by default; PostgreSQL by URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.schema import CreateIndex, CreateTable

from common.dbfault import watch_engine
from common.hashing import keccak

log = logging.getLogger("huren.ledger.store")
metadata = MetaData()

journal = Table(
    "idx_journal", metadata,
    Column("block_number", BigInteger, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("block_hash", LargeBinary(32), nullable=False),
    Column("tx_hash", LargeBinary(32), nullable=False),
    Column("address", String(42), nullable=False),
    Column("topics", LargeBinary, nullable=False),  # topics concatenated, 32 bytes each
    Column("data", LargeBinary, nullable=False),
)
blocks = Table(
    "idx_blocks", metadata,
    Column("number", BigInteger, primary_key=True),
    Column("hash", LargeBinary(32), nullable=False),
)
cursor_table = Table(
    "idx_cursor", metadata,
    Column("id", Integer, primary_key=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("start_block", BigInteger, nullable=False),
    Column("last_block", BigInteger, nullable=False),
    Column("last_time", BigInteger, nullable=False),
    Column("manifest_hash", String(64), nullable=False),
)
anchors = Table(
    "rm_anchors", metadata,
    Column("batch_root", LargeBinary(32), primary_key=True),
    Column("issuer_id", LargeBinary(32), nullable=False, index=True),
    Column("key", String(42), nullable=False),
    Column("type_code", String(32), nullable=False),
    Column("cert_count", Integer, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", LargeBinary(32), nullable=False),
    Column("tx_hash", LargeBinary(32), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("suite", Integer, nullable=False),  # 1, or 2 for a 国密 (SM3-tree) batch
)
cert_status = Table(
    "rm_cert_status", metadata,
    Column("issuer_id", LargeBinary(32), primary_key=True),
    Column("cert_hash", LargeBinary(32), primary_key=True),
    Column("batch_root", LargeBinary(32), nullable=False),
    Column("status", Integer, nullable=False),
    Column("since", BigInteger, nullable=False),
    Column("reason", Integer, nullable=False),
)
issuers = Table(
    "rm_issuers", metadata,
    Column("issuer_id", LargeBinary(32), primary_key=True),
    Column("region", Integer, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("status_since", BigInteger, nullable=False),
    Column("revoked_from", BigInteger),
    Column("authorised_types", Text, nullable=False),  # JSON list
)
keys = Table(
    "rm_keys", metadata,
    Column("address", String(42), primary_key=True),
    Column("issuer_id", LargeBinary(32), nullable=False, index=True),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_until", BigInteger),
    Column("sm2_public_key", LargeBinary),  # 65 bytes 04 || x || y for a suite-2 (SM2) key, else NULL
)
types = Table(
    "rm_types", metadata,
    Column("type_code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("schema_hash", LargeBinary(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
)
recognitions = Table(
    "rm_recognitions", metadata,
    Column("verifier_region", Integer, primary_key=True),
    Column("type_code", String(32), primary_key=True),
    Column("issuer_region", Integer, primary_key=True),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_until", BigInteger),
)
regions = Table(
    "rm_regions", metadata,
    Column("code", Integer, primary_key=True),
    Column("member", Boolean, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("officers", Text, nullable=False),  # JSON list
)
proposals = Table(
    "rm_proposals", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("kind", Integer, nullable=False),
    Column("region", Integer, nullable=False, index=True),
    Column("target", String(42), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("proposer", String(42), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("approvers", Text, nullable=False),  # JSON list
    Column("required", Integer, nullable=False),
    Column("executed", Boolean, nullable=False),
)

nodes = Table(
    "rm_nodes", metadata,
    Column("region", Integer, primary_key=True),
    Column("base_url", Text, nullable=False),
    Column("status", Integer, nullable=False),  # common.nodes.NodeStatus
    Column("registered_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
node_keys = Table(
    "rm_node_keys", metadata,
    Column("key_id", String(66), primary_key=True),  # "0x" + keccak256(public_key) hex
    Column("region", Integer, nullable=False, index=True),
    Column("suite", Integer, nullable=False),
    Column("algorithm", Integer, nullable=False),
    Column("purpose", Integer, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_until", BigInteger),
)

READ_MODEL_TABLES = (anchors, cert_status, issuers, keys, types, recognitions, regions, proposals, nodes, node_keys)


@dataclass(frozen=True)
class RawLog:
    block_number: int
    log_index: int
    block_hash: bytes
    tx_hash: bytes
    address: str
    topics: list[bytes]
    data: bytes


@dataclass(frozen=True)
class Cursor:
    chain_id: int
    start_block: int
    last_block: int
    last_time: int
    manifest_hash: str


def lock_for_ddl(c: Connection, name: str) -> None:
    """Hold the transaction-scoped lock `name` for start-up DDL on PostgreSQL; nothing elsewhere.

    Workers start together and each creates its missing tables; on PostgreSQL two concurrent
    CREATE TABLEs of one name (even IF NOT EXISTS) fail with a pg_type unique violation. SQLite
    runs DDL under its single write lock already.
    """
    if c.dialect.name == "postgresql":
        key = int.from_bytes(keccak(name.encode())[:8], "big", signed=True)
        c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs for a single-writer indexer."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        return watch_engine(engine)
    # connect_timeout: a server behind a dead network answers nothing; fail the request, not hang it
    return watch_engine(create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5}))


#: The fingerprint of the tables above that the index was built with (one row).
_schema_stamp = Table(
    "idx_schema", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(64), nullable=False),
)


def schema_fingerprint(dialect: Dialect) -> str:
    """A hash of the DDL of the index's tables: changes whenever a table definition above changes."""
    ddl = [str(CreateTable(t).compile(dialect=dialect)) for t in metadata.sorted_tables]
    ddl += [str(CreateIndex(i).compile(dialect=dialect))
            for t in metadata.sorted_tables for i in sorted(t.indexes, key=lambda i: str(i.name))]
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()


def open_schema(engine: Engine) -> bool:
    """Make the index's tables, or drop and remake them if they were made by other definitions.

    The index is not migrated (migrations/ serves the API database): it is a cache of the chain,
    rebuilt by re-syncing from the deployment block, so a change to these tables needs no
    revision — the stored fingerprint differs, the tables are remade empty, and the indexer
    starts over (an index of a release before the fingerprint is rebuilt once). Each worker
    has its own index, so a rebuild costs one sync per worker and nothing else.
    Returns True when the index was (re)built empty.
    """
    fingerprint = schema_fingerprint(engine.dialect)
    with engine.begin() as c:
        lock_for_ddl(c, "huren.index.schema")
        stamped = None
        if inspect(c).has_table(_schema_stamp.name):
            stamped = c.execute(select(_schema_stamp.c.fingerprint).where(_schema_stamp.c.id == 1)).scalar()
        if stamped == fingerprint:
            return False
        if stamped is not None or any(inspect(c).has_table(t.name) for t in metadata.sorted_tables):
            log.warning("the index's tables changed (or predate their fingerprint): rebuilding it from the chain")
        metadata.drop_all(c)
        metadata.create_all(c)
        _schema_stamp.create(c, checkfirst=True)
        c.execute(delete(_schema_stamp))
        c.execute(insert(_schema_stamp).values(id=1, fingerprint=fingerprint))
        return True


class IndexStore:
    def __init__(self, engine: Engine, schema_prefix: str = "") -> None:
        self.engine = engine
        open_schema(engine)

    def cursor(self) -> Cursor | None:
        with self.engine.connect() as c:
            row = c.execute(select(cursor_table).where(cursor_table.c.id == 1)).first()
        if row is None:
            return None
        return Cursor(row.chain_id, row.start_block, row.last_block, row.last_time, row.manifest_hash)

    def init_cursor(self, chain_id: int, start_block: int, manifest_hash: str) -> Cursor:
        cur = Cursor(chain_id, start_block, start_block - 1, 0, manifest_hash)
        with self.engine.begin() as c:
            for table in (journal, blocks, cursor_table, *READ_MODEL_TABLES):
                c.execute(delete(table))
            c.execute(insert(cursor_table).values(id=1, chain_id=chain_id, start_block=start_block,
                                                  last_block=cur.last_block, last_time=0,
                                                  manifest_hash=manifest_hash))
        return cur

    def journal_logs(self) -> Iterator[RawLog]:
        with self.engine.connect() as c:
            rows = c.execute(select(journal).order_by(journal.c.block_number, journal.c.log_index))
            for r in rows:
                topics = [bytes(r.topics[i:i + 32]) for i in range(0, len(r.topics), 32)]
                yield RawLog(r.block_number, r.log_index, bytes(r.block_hash), bytes(r.tx_hash), r.address,
                             topics, bytes(r.data))

    def recent_blocks(self, limit: int) -> list[tuple[int, bytes]]:
        with self.engine.connect() as c:
            rows = c.execute(select(blocks).order_by(blocks.c.number.desc()).limit(limit))
            return [(r.number, bytes(r.hash)) for r in rows]

    def block_hash(self, number: int) -> bytes | None:
        with self.engine.connect() as c:
            h = c.execute(select(blocks.c.hash).where(blocks.c.number == number)).scalar()
        return bytes(h) if h is not None else None

    def append(
        self,
        logs: list[RawLog],
        block_hashes: dict[int, bytes],
        last_block: int,
        last_time: int,
        rows: dict[Table, list[dict[str, object]]],
        deleted: dict[Table, list[dict[str, object]]],
    ) -> None:
        """Journal new logs, remember block hashes, move the cursor and upsert read-model rows."""
        with self.engine.begin() as c:
            if logs:
                c.execute(insert(journal), [
                    {"block_number": x.block_number, "log_index": x.log_index, "block_hash": x.block_hash,
                     "tx_hash": x.tx_hash, "address": x.address, "topics": b"".join(x.topics), "data": x.data}
                    for x in logs
                ])
            if block_hashes:
                c.execute(delete(blocks).where(blocks.c.number.in_(list(block_hashes))))
                c.execute(insert(blocks), [{"number": n, "hash": h} for n, h in block_hashes.items()])
            self._upsert(c, rows, deleted)
            c.execute(update(cursor_table).where(cursor_table.c.id == 1)
                      .values(last_block=last_block, last_time=last_time))

    def rewind(self, fork_block: int, rows: dict[Table, list[dict[str, object]]], fork_time: int | None = None) -> None:
        """Drop everything after `fork_block` and replace the read-model tables wholesale.

        `fork_time` is the fork block's timestamp: the cursor's time must not stay that of a
        dropped block, or the index's facts would read newer than they are (common/freshness.py)."""
        with self.engine.begin() as c:
            c.execute(delete(journal).where(journal.c.block_number > fork_block))
            c.execute(delete(blocks).where(blocks.c.number > fork_block))
            for table in READ_MODEL_TABLES:
                c.execute(delete(table))
            for table, values in rows.items():
                if values:
                    c.execute(insert(table), values)
            moved: dict[str, int] = {"last_block": fork_block}
            if fork_time is not None:
                moved["last_time"] = fork_time
            c.execute(update(cursor_table).where(cursor_table.c.id == 1).values(**moved))

    @staticmethod
    def _upsert(c: Connection, rows: dict[Table, list[dict[str, object]]],
                deleted: dict[Table, list[dict[str, object]]]) -> None:
        # Portable upsert (SQLite and PostgreSQL): delete by primary key, then insert.
        for table in set(rows) | set(deleted):
            pk = list(table.primary_key.columns)
            gone = rows.get(table, []) + deleted.get(table, [])
            if gone:
                if len(pk) == 1:
                    col = pk[0]
                    values = [r[col.name] for r in gone]
                    for i in range(0, len(values), 500):
                        c.execute(delete(table).where(col.in_(values[i:i + 500])))
                else:
                    values = [tuple(r[col.name] for col in pk) for r in gone]
                    for i in range(0, len(values), 500):
                        c.execute(delete(table).where(tuple_(*pk).in_(values[i:i + 500])))
            if rows.get(table):
                c.execute(insert(table), rows[table])


def dumps(items: Iterable[str]) -> str:
    return json.dumps(sorted(items))
