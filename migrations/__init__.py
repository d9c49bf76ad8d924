"""Schema migrations of the API database (`HUREN_DB_URL`): Alembic, run in code at start-up.

Every table of that database — certificates and outbox (`issuers.store`), wallet entries,
credentials, short references, page sessions (`api.*`), the verification log
(`api.auditlog`), anchoring leases (`ledger.lease`) — is created and changed only by the
revisions in `migrations/versions/`, never by `create_all`. Each store calls `upgrade(engine)`
when it opens, so the API, the department CLI and the tests all run on an up-to-date schema;
a database already at the head costs one read of `alembic_version`. The upgrade runs under
the start-up lock (`schema_lock`: an advisory lock on PostgreSQL, an flock beside a SQLite
file), in one transaction (PostgreSQL and SQLite both have transactional DDL), so workers
starting together migrate once and a failed migration leaves the old schema intact.

A database made by a release before migrations (tables from `create_all`, no
`alembic_version`) needs nothing special: the baseline revision creates only the tables that
are missing, and the revisions after it run as on any database.

The indexer's read model (`HUREN_INDEX_DB_URL`, `ledger.store`) is NOT migrated: it is a cache
rebuilt from the chain, so a change to its tables drops and re-syncs it (`ledger.store.IndexStore`).

How a later change adds a revision (a new column, table, index or data repair):

1. Change the table definition where it lives (e.g. `issuers/store.py`), as the code will read it.
2. Write the revision: `.venv/bin/python -m migrations revision -m "outbox: dead state"`
   makes `migrations/versions/NNNN_outbox_dead_state.py` with the next number, chained after the
   current head, its `upgrade()` drafted from the difference between the table definitions and
   a database at the head (check the draft: renames look like drop + add; data changes are
   never drafted). Use `op.batch_alter_table` for ALTERs (SQLite rebuilds the table), give new
   NOT NULL columns a `server_default`, and never import live table definitions or application
   code in a revision: a revision is frozen at the schema of its day.
3. `tests/integration/test_migrations.py` then checks, on SQLite and PostgreSQL, that the head
   matches the table definitions, that there is one head (two changes made in parallel each
   chained after the same revision must be put one after the other: edit `down_revision`), and
   that the previous release's databases upgrade with their data intact.

Revisions only go forward (no downgrades): a deployment rolls back by restoring its backup.
"""

from __future__ import annotations

import fcntl
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

__all__ = ["alembic_config", "current", "head", "schema_lock", "upgrade"]

HERE = Path(__file__).resolve().parent
_SCHEMA_LOCK_KEY = 0x48_75_72_65_6E_01  # "Huren" + 1: PostgreSQL advisory lock for start-up DDL

_migrated: weakref.WeakSet[Engine] = weakref.WeakSet()
_migrated_lock = threading.Lock()
_script: ScriptDirectory | None = None


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code (no alembic.ini, no dependence on the working directory)."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    global _script
    if _script is None:
        _script = ScriptDirectory.from_config(alembic_config())
    return _script


def head() -> str:
    """The newest revision (exactly one: `test_migrations` refuses two heads)."""
    heads = _scripts().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations/versions has {len(heads)} heads {heads}: chain the newer revision after "
                           "the other (its down_revision)")
    return heads[0]


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated — empty, or made by create_all)."""
    with engine.connect() as c:
        return MigrationContext.configure(c).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database of `engine` to the newest revision, once per engine and process.

    Cheap when there is nothing to do (one read); otherwise migrates under `schema_lock`, in
    one transaction, and any other process starting at the same time waits and finds it done.
    """
    with _migrated_lock:
        if engine in _migrated:
            return
    target = head()
    if current(engine) != target:
        with schema_lock(engine), _migration_connection(engine) as conn:
            command.upgrade(alembic_config(conn), "head")
    with _migrated_lock:
        _migrated.add(engine)


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that covers DDL too, committed at the end.

    SQLite's Python driver leaves DDL outside transactions unless told otherwise, so a file
    database is migrated over a private connection that issues BEGIN IMMEDIATE itself (the
    engines of the stores have their own transaction settings, which this must not depend on).
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        with engine.connect() as conn, conn.begin():
            yield conn
        return
    private = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(private, "connect")
    def _connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(private, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with private.connect() as conn, conn.begin():
            yield conn
    finally:
        private.dispose()


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Serialise start-up schema changes across API workers and hosts.

    uvicorn starts its workers together and each opens the stores. Without a lock two workers
    both see the schema behind and both migrate: the second fails (PostgreSQL: a pg_type unique
    violation; SQLite: "table already exists"; seen in the HTTP benchmark). PostgreSQL: an
    advisory lock; a SQLite file: an flock on a lock file beside it (released by the OS if the
    worker dies; a migration longer than SQLite's busy timeout still waits here).
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as c:
            c.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                c.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _SCHEMA_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".schema-lock")
    with open(lock_path, "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
