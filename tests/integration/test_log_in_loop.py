"""The in-loop log writer (api/log_in_loop.py) against real databases (SQLite file and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import update

from api.auditlog import GENESIS_HASH, LogRecord, LogWriter, check_log, head_table
from api.log_in_loop import InLoopLogWriter
from api.runtime import log_writer_for
from ledger.errors import LedgerError
from tests.fresh_loop import run_in_fresh_loop

HE = 130000
DOC = bytes.fromhex("5a" * 32)


@pytest.fixture
def writer(log):  # type: ignore[no-untyped-def]
    return InLoopLogWriter(log)


def _record(k: int) -> LogRecord:
    return LogRecord(f"clerk-{k % 4}", HE, DOC, "VALID", "办理企业登记", k.to_bytes(4, "big"))


def test_coroutines_get_their_own_entries_in_submission_order(log, writer):
    async def verify_many() -> list[int]:
        entries = await asyncio.gather(*(writer.submit_async(_record(k)) for k in range(120)))
        return [e.seq for e in entries]

    assert run_in_fresh_loop(verify_many()) == list(range(1, 121))
    assert check_log(log, None, None, None).ok


def test_entries_submitted_in_one_loop_turn_share_one_transaction(log, writer):
    async def one_turn() -> None:
        futures = [writer.submit_async(_record(k)) for k in range(50)]  # no await in between: one turn
        await asyncio.gather(*futures)

    run_in_fresh_loop(one_turn())
    assert (writer.batches, writer.appended) == (1, 50)


def test_a_failed_append_reaches_every_waiting_coroutine(log, writer):
    writer.append(_record(0))
    with log.engine.begin() as c:  # the head record rolled back behind entry 1, as an insider might
        c.execute(update(head_table).values(seq=0, entry_hash=GENESIS_HASH))

    async def verify_two() -> list[object]:
        outcomes = await asyncio.gather(writer.submit_async(_record(1)), writer.submit_async(_record(2)),
                                        return_exceptions=True)
        return outcomes

    outcomes = run_in_fresh_loop(verify_two())
    assert all(isinstance(o, LedgerError) and "behind the stored entries" in str(o) for o in outcomes)


def test_threads_and_the_loop_append_to_one_gap_free_chain(log, writer):

    def clerk_thread(k: int) -> None:
        for i in range(20):
            writer.append(_record(1000 * k + i))

    async def loop_side() -> None:
        for i in range(20):
            await asyncio.gather(*(writer.submit_async(_record(i * 10 + j)) for j in range(5)))

    threads = [threading.Thread(target=clerk_thread, args=(k,)) for k in range(1, 4)]
    for t in threads:
        t.start()
    run_in_fresh_loop(loop_side())
    for t in threads:
        t.join()
    assert [e.seq for e in log.entries()] == list(range(1, 161))
    assert check_log(log, None, None, None).ok


def test_a_sqlite_log_is_written_in_the_loop_and_a_server_log_by_a_thread(log):
    expected = {"sqlite": InLoopLogWriter, "postgresql": LogWriter}[log.engine.dialect.name]
    assert type(log_writer_for(log)) is expected
