"""The log writer keeps one database connection for speed; after the PostgreSQL server dropped it
(a restart, a failover), the first verification after recovery must be logged, not answered 503
(seen in CI: test_everything_works_after_recovery_without_restart[pg-down])."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from api import auditlog
from api.auditlog import LogRecord, LogWriter, VerificationLog
from ledger.store import make_engine
from tests.conftest import fresh_pg_database

HE = 130000
DOC = bytes.fromhex("5a" * 32)


def _kill_other_connections(url: str) -> int:
    """What a server restart does to the writer's kept connection: terminate every backend of its database."""
    name = url.rpartition("/")[2]
    admin = create_engine(url.rpartition("/")[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            return len(c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name}).all())
    finally:
        admin.dispose()


@pytest.fixture
def pg_log():  # type: ignore[no-untyped-def]
    with fresh_pg_database() as url:
        engine = make_engine(url)
        yield url, VerificationLog(engine)
        engine.dispose()


def test_a_verification_after_the_server_dropped_the_writers_connection_is_logged(pg_log, monkeypatch):  # type: ignore[no-untyped-def]
    url, log = pg_log
    monkeypatch.setattr(auditlog, "IDLE_PING_S", 0.2)
    writer = LogWriter(log).start()
    try:
        first = writer.append(LogRecord("c1", HE, DOC, "VALID", "", bytes([1])))
        assert _kill_other_connections(url) >= 1
        time.sleep(0.3)  # idle past the ping threshold, as during an outage nothing reaches the writer
        second = writer.append(LogRecord("c1", HE, DOC, "VALID", "", bytes([2])))
    finally:
        writer.close()
    assert second.seq == first.seq + 1
