"""Group commit of the verification log in the event loop, for a log in a local SQLite file.

The thread writer (`api.auditlog.LogWriter`) hands each batch to a thread and back: its
wake-ups and the GIL passed to and fro cost more CPU than a small SQLite append itself
(measured: 0.2-0.3 ms per verification, a sixth of the API's CPU). A SQLite commit in WAL
mode is a local write without fsync (about 0.2 ms), so here every verification that reaches
the log step within one turn of the event loop is written in one transaction at the end of
that turn, in the loop's own thread; each waiting coroutine then gets its own entry. Threads
(the thread-pool routes) append through the log's ordinary synchronous path; the log's
writer lock orders the two.

PostgreSQL keeps the thread writer: a commit there waits for the server's disk, which must
not hold up the loop. (A writer on psycopg's asyncio connection was tried: the same API CPU
per verification and 10% fewer verifications/s than the thread writer, whose 2 ms linger
makes bigger batches; so it was not kept.)
"""

from __future__ import annotations

import asyncio

from api.auditlog import LogEntry, LogRecord, VerificationLog


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

