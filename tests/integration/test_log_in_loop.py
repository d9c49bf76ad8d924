"""The in-loop log writers (api/log_in_loop.py) against real databases (SQLite file and PostgreSQL).

`InLoopLogWriter` runs on both; `AsyncPgLogWriter` on PostgreSQL only (the `writer` fixture
gives each test every writer its database allows).
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import update

from api.auditlog import GENESIS_HASH, LogRecord, VerificationLog, check_log, head_table
from api.log_in_loop import AsyncPgLogWriter, InLoopLogWriter
from api.runtime import log_writer_for
from ledger.errors import LedgerError
from ledger.store import make_engine

HE = 130000
DOC = bytes.fromhex("5a" * 32)


@pytest.fixture
def log(db_url):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    yield VerificationLog(engine)
    engine.dispose()


@pytest.fixture
def kind(request) -> str:  # type: ignore[no-untyped-def]
    return str(request.param)


@pytest.fixture
def writer(kind, log):  # type: ignore[no-untyped-def]
    return InLoopLogWriter(log) if kind == "in_loop" else AsyncPgLogWriter(log)


#: Every writer on every database it writes: the in-loop writer on both, the asyncio one on PostgreSQL.
EACH_WRITER = pytest.mark.parametrize(("db_url", "kind"), [
    ("sqlite", "in_loop"), ("postgresql", "in_loop"), ("postgresql", "async_pg"),
], indirect=True)
POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _record(k: int) -> LogRecord:
    return LogRecord(f"clerk-{k % 4}", HE, DOC, "VALID", "办理企业登记", k.to_bytes(4, "big"))


@EACH_WRITER
def test_coroutines_get_their_own_entries_in_submission_order(log, writer):
    async def verify_many() -> list[int]:
        entries = await asyncio.gather(*(writer.submit_async(_record(k)) for k in range(120)))
        await writer.aclose()
        return [e.seq for e in entries]

    assert asyncio.run(verify_many()) == list(range(1, 121))
    assert check_log(log, None, None, None).ok


@EACH_WRITER
def test_entries_submitted_in_one_loop_turn_share_one_transaction(log, writer):
    async def one_turn() -> None:
        futures = [writer.submit_async(_record(k)) for k in range(50)]  # no await in between: one turn
        await asyncio.gather(*futures)
        await writer.aclose()

    asyncio.run(one_turn())
    assert (writer.batches, writer.appended) == (1, 50)


@EACH_WRITER
def test_a_failed_append_reaches_every_waiting_coroutine(log, writer):
    writer.append(_record(0))
    with log.engine.begin() as c:  # the head record rolled back behind entry 1, as an insider might
        c.execute(update(head_table).values(seq=0, entry_hash=GENESIS_HASH))

    async def verify_two() -> list[object]:
        outcomes = await asyncio.gather(writer.submit_async(_record(1)), writer.submit_async(_record(2)),
                                        return_exceptions=True)
        await writer.aclose()
        return outcomes

    outcomes = asyncio.run(verify_two())
    assert all(isinstance(o, LedgerError) and "behind the stored entries" in str(o) for o in outcomes)


@EACH_WRITER
def test_threads_and_the_loop_append_to_one_gap_free_chain(log, writer):

    def clerk_thread(k: int) -> None:
        for i in range(20):
            writer.append(_record(1000 * k + i))

    async def loop_side() -> None:
        for i in range(20):
            await asyncio.gather(*(writer.submit_async(_record(i * 10 + j)) for j in range(5)))
        await writer.aclose()

    threads = [threading.Thread(target=clerk_thread, args=(k,)) for k in range(1, 4)]
    for t in threads:
        t.start()
    asyncio.run(loop_side())
    for t in threads:
        t.join()
    assert [e.seq for e in log.entries()] == list(range(1, 161))
    assert check_log(log, None, None, None).ok


def test_a_sqlite_log_is_written_in_the_loop_and_a_postgresql_log_over_asyncio(log):
    expected = {"sqlite": InLoopLogWriter, "postgresql": AsyncPgLogWriter}[log.engine.dialect.name]
    assert type(log_writer_for(log)) is expected


def test_the_async_writer_refuses_a_sqlite_log(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'log.sqlite'}")
    with pytest.raises(ValueError, match="PostgreSQL"):
        AsyncPgLogWriter(VerificationLog(engine))
    engine.dispose()


@POSTGRESQL
def test_requests_queued_behind_a_commit_in_flight_go_into_the_next_batch(log):
    writer = AsyncPgLogWriter(log)

    async def waves() -> None:
        first = [writer.submit_async(_record(k)) for k in range(10)]
        await asyncio.sleep(0)  # the first batch's transaction is now under way
        second = [writer.submit_async(_record(100 + k)) for k in range(30)]
        await asyncio.gather(*first, *second)
        await writer.aclose()

    asyncio.run(waves())
    assert (writer.batches, writer.appended) == (2, 40)
    assert check_log(log, None, None, None).ok
