"""Which errors mean "the database is down, full or read-only" (503, retry) — and which are bugs (500).

Real driver exceptions: SQLite's from real files, psycopg's as the driver raises them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from common.dbfault import DatabaseUnavailable, FaultKind, database_fault


def _sqlite_error(tmp_path: Path, pragma: str, sql: str) -> sqlite3.Error:
    db = sqlite3.connect(tmp_path / "x.sqlite", isolation_level=None)
    db.execute("CREATE TABLE t (v BLOB)")
    db.execute(pragma)
    with pytest.raises(sqlite3.Error) as caught:
        db.execute(sql)
    return caught.value


def test_a_full_sqlite_database_is_full(tmp_path: Path):
    error = _sqlite_error(tmp_path, "PRAGMA max_page_count = 2", "INSERT INTO t VALUES (zeroblob(100000))")
    fault = database_fault(error)
    assert fault is not None and fault.kind is FaultKind.FULL
    assert "已满" in fault.message and fault.retry_after_s > 0


def test_a_sqlite_connection_that_may_not_write_is_read_only(tmp_path: Path):
    error = _sqlite_error(tmp_path, "PRAGMA query_only = 1", "INSERT INTO t VALUES (1)")
    fault = database_fault(error)
    assert fault is not None and fault.kind is FaultKind.READ_ONLY and "只读" in fault.message


def test_the_fault_is_found_inside_sqlalchemys_wrapping(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'y.sqlite'}")
    with engine.connect() as c:
        c.execute(text("CREATE TABLE t (v INTEGER)"))
        c.execute(text("PRAGMA query_only = 1"))
        with pytest.raises(OperationalError) as caught:
            c.execute(text("INSERT INTO t VALUES (1)"))
    fault = database_fault(caught.value)
    assert fault is not None and fault.kind is FaultKind.READ_ONLY


def test_a_fault_raised_from_another_is_found_through_the_cause():
    try:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.Error as inner:
            raise RuntimeError("the log writer failed") from inner
    except RuntimeError as outer:
        fault = database_fault(outer)
    assert fault is not None and fault.kind is FaultKind.FULL


def test_an_unreachable_postgresql_is_down():
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect("host=127.0.0.1 port=1 user=postgres dbname=x connect_timeout=2")
    fault = database_fault(caught.value)
    assert fault is not None and fault.kind is FaultKind.DOWN and "无法连接" in fault.message


@pytest.mark.parametrize(("error", "kind"), [
    (psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), FaultKind.READ_ONLY),
    (psycopg.errors.DiskFull("could not extend file"), FaultKind.FULL),
    (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), FaultKind.DOWN),
    (psycopg.errors.CannotConnectNow("the database system is starting up"), FaultKind.DOWN),
])
def test_postgresql_says_why_by_sqlstate(error: psycopg.Error, kind: FaultKind):
    fault = database_fault(error)
    assert fault is not None and fault.kind is kind


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("database is locked"),  # busy: the writers queue, it is not an outage
    sqlite3.OperationalError("no such table: certificates"),  # a bug or a missing migration
    psycopg.errors.UndefinedTable("relation does not exist"),
    psycopg.errors.UniqueViolation("duplicate key"),
    IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
    ValueError("database or disk is full"),  # the words alone, not from a driver
])
def test_other_errors_are_not_database_faults(error: Exception):
    assert database_fault(error) is None


def test_a_database_unavailable_is_its_own_fault():
    fault = DatabaseUnavailable(FaultKind.DOWN, "proxy cut")
    assert database_fault(fault) is fault
