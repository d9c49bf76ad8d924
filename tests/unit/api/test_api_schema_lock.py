"""API workers start together: their start-up CREATE TABLEs on one database must not race."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from pathlib import Path

from api.runtime import schema_lock
from ledger import store as st


def _build_stores(url: str, go: mp.synchronize.Event, results: mp.Queue) -> None:  # type: ignore[name-defined]
    from api.auditlog import VerificationLog
    from api.credentials import CredentialStore
    from api.departments import Holdings
    from api.references import ReferenceStore

    engine = st.make_engine(url)
    go.wait()
    try:
        with schema_lock(engine):
            VerificationLog(engine), CredentialStore(engine), ReferenceStore(engine), Holdings(engine)
        results.put("ok")
    except Exception as exc:  # the failure is the test's evidence, reported to the parent
        results.put(f"{type(exc).__name__}: {exc}")


def test_workers_creating_the_schema_of_one_sqlite_file_together_all_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    ctx = mp.get_context("fork")
    go, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_build_stores, args=(url, go, results)) for _ in range(8)]
    for w in workers:
        w.start()
    time.sleep(0.5)  # every worker has its engine and waits at the gate
    go.set()
    outcomes = [results.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    assert outcomes == ["ok"] * 8


def test_a_second_holder_of_the_sqlite_schema_lock_waits_for_the_first(tmp_path: Path) -> None:
    engine = st.make_engine(f"sqlite:///{tmp_path / 'api.sqlite'}")
    order: list[str] = []
    inside = threading.Event()

    def second() -> None:
        inside.wait()
        with schema_lock(engine):
            order.append("second")

    t = threading.Thread(target=second)
    t.start()
    with schema_lock(engine):
        inside.set()
        time.sleep(0.3)
        order.append("first")
    t.join(timeout=10)
    assert order == ["first", "second"]
