"""Group commit of the verification log in the event loop (no writer thread).

The thread writer (`api.auditlog.LogWriter`) hands each batch to a thread and back: its
wake-ups and the GIL passed to and fro cost more CPU than a small append itself (measured:
0.2-0.3 ms per verification, a sixth of the API's CPU). Two writers here do without it:

* `InLoopLogWriter`, for a log in a local SQLite file: a commit in WAL mode is a local write
  without fsync (about 0.2 ms), so every verification that reaches the log step within one
  turn of the event loop is written in one transaction at the end of that turn, in the
  loop's own thread.
* `AsyncPgLogWriter`, for PostgreSQL: a commit waits for the server's disk, which must not
  hold up the loop, so the batch is written over psycopg's asyncio connection; while one
  batch's commit is in flight the next requests queue up, and the next batch takes them all.

Either way each waiting coroutine gets its own entry, and threads (the thread-pool routes)
append through the log's ordinary synchronous path; the database orders the two.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg

from api.auditlog import (
    LogEntry,
    LogRecord,
    VerificationLog,
    chain_onto,
    check_records,
    head_behind,
    head_from_row,
)

log = logging.getLogger("huren.api")


class InLoopLogWriter:
    """Same interface as `LogWriter`: `submit_async` for coroutines, `append` for threads."""

    def __init__(self, log_: VerificationLog, max_batch: int = 512) -> None:
        self.log = log_
        self.max_batch = max_batch
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[LogRecord, asyncio.Future[LogEntry]]]] = {}
        self.batches = 0
        self.appended = 0

    def start(self) -> InLoopLogWriter:
        return self  # nothing runs in the background

    def close(self, timeout: float = 30.0) -> None:
        """Nothing to drain: a batch is written in the same loop turn its entries were submitted."""

    async def aclose(self) -> None:
        """Nothing is held in the loop."""

    def append(self, record: LogRecord, timeout: float = 30.0) -> LogEntry:
        """Append from a thread (the thread-pool routes); the log's writer lock orders it with the loop's batches."""
        entry = self.log.append_many([record])[0]
        self.batches += 1
        self.appended += 1
        return entry

    def submit_async(self, record: LogRecord) -> asyncio.Future[LogEntry]:
        """Queue `record` for the batch written at the end of this loop turn; await it for the entry."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[LogEntry] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._flush, loop)
        pending.append((record, fut))
        return fut

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting = self._pending.pop(loop, [])
        for start in range(0, len(waiting), self.max_batch):
            self._write(waiting[start:start + self.max_batch])

    def _write(self, batch: list[tuple[LogRecord, asyncio.Future[LogEntry]]]) -> None:
        try:
            entries = self.log.append_many([record for record, _ in batch])
        except Exception as exc:  # every waiter learns the outcome; the request answers with an error
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self.batches += 1
        self.appended += len(entries)
        for (_, fut), entry in zip(batch, entries, strict=True):
            if not fut.done():  # a cancelled request (client gone) still has its entry: it was verified
                fut.set_result(entry)


@dataclass
class _LoopState:
    """What one event loop's writer holds: its connection, the queue, whether a flush runs."""

    pending: list[tuple[LogRecord, asyncio.Future[LogEntry]]] = field(default_factory=list)
    connection: psycopg.AsyncConnection[Any] | None = None
    flushing: bool = False
    task: asyncio.Task[None] | None = None  # the running flush (held: the loop keeps only weak references)


class AsyncPgLogWriter:
    """Same interface as `LogWriter`, writing a PostgreSQL log over an asyncio connection."""

    def __init__(self, log_: VerificationLog, max_batch: int = 512) -> None:
        if log_.engine.dialect.name != "postgresql":
            raise ValueError("AsyncPgLogWriter writes a PostgreSQL log; use InLoopLogWriter for SQLite")
        self.log = log_
        self.max_batch = max_batch
        # libpq's URL form of the same database (the SQLAlchemy URL names its driver: postgresql+psycopg).
        self._conninfo = log_.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._states: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self.batches = 0
        self.appended = 0

    def start(self) -> AsyncPgLogWriter:
        return self  # connects on the first append, in the loop that makes it

    def close(self, timeout: float = 30.0) -> None:
        """Connections belong to their loops: `aclose` them there; a closed loop's one is dropped."""
        for loop, state in list(self._states.items()):
            if loop.is_closed() and state.connection is not None:
                state.connection = None
        self._states = {loop: st for loop, st in self._states.items() if not loop.is_closed()}

    async def aclose(self) -> None:
        """Close this loop's connection (the API's shutdown); waits for a batch in flight."""
        state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None and state.connection is not None:
            await state.connection.close()

    def append(self, record: LogRecord, timeout: float = 30.0) -> LogEntry:
        """Append from a thread through the synchronous path; the head row's lock orders it with the batches."""
        entry = self.log.append_many([record])[0]
        self.batches += 1
        self.appended += 1
        return entry

    def submit_async(self, record: LogRecord) -> asyncio.Future[LogEntry]:
        """Queue `record` for the next batch; await the result for its entry."""
        check_records([record])
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = _LoopState()
        fut: asyncio.Future[LogEntry] = loop.create_future()
        state.pending.append((record, fut))
        if not state.flushing:
            state.flushing = True
            state.task = loop.create_task(self._flush(state))
        return fut

    async def _flush(self, state: _LoopState) -> None:
        try:
            while state.pending:
                batch, state.pending = state.pending[:self.max_batch], state.pending[self.max_batch:]
                try:
                    entries = await self._write(state, [record for record, _ in batch])
                except Exception as exc:  # every waiter learns the outcome; its request answers with an error
                    if not isinstance(exc, psycopg.Error) or state.connection is None or state.connection.broken:
                        await self._drop_connection(state)
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                self.batches += 1
                self.appended += len(entries)
                for (_, fut), entry in zip(batch, entries, strict=True):
                    if not fut.done():  # a cancelled request (client gone) still has its entry
                        fut.set_result(entry)
        finally:
            state.flushing = False

    async def _write(self, state: _LoopState, records: list[LogRecord]) -> list[LogEntry]:
        """One transaction: lock the head row, insert the chained entries, move the head.

        A connection lost mid-commit is not retried: the commit may have landed, and a second
        try would append the same verifications twice. The waiting requests get the error.
        """
        if state.connection is None or state.connection.closed:
            state.connection = await psycopg.AsyncConnection.connect(self._conninfo)
        statements = self.log.statements
        head = None
        try:
            async with state.connection.transaction(), state.connection.cursor() as cursor:
                await cursor.execute(statements.head.sql, statements.head_params())
                head = head_from_row(await cursor.fetchone())
                entries = chain_onto(head, records)
                await cursor.executemany(statements.insert.sql, statements.insert_params(entries))
                await cursor.execute(statements.update.sql, statements.update_params(entries))
        except psycopg.errors.UniqueViolation:  # may surface at any later statement or the commit
            assert head is not None
            raise head_behind(head) from None
        return entries

    @staticmethod
    async def _drop_connection(state: _LoopState) -> None:
        connection, state.connection = state.connection, None
        if connection is not None and not connection.closed:
            try:
                await connection.close()
            except psycopg.Error as exc:  # already broken: nothing more to release
                log.warning("closing a broken log connection failed: %s", exc)
