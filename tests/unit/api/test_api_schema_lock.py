"""API workers start together: their start-up CREATE TABLEs on one database must not race."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ledger import store as st
from migrations import schema_lock


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
