"""Each API worker process gets a SQLite index of its own (uvicorn workers share one environment)."""

from __future__ import annotations

from pathlib import Path

from api.runtime import claim_index_db


def test_second_worker_on_the_host_gets_the_next_index_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    first, lock1 = claim_index_db(url)
    second, lock2 = claim_index_db(url)
    assert (first, second) == (url, f"sqlite:///{tmp_path / 'index-1.sqlite'}")
    assert lock1 is not None and lock2 is not None
    lock1.close()
    lock2.close()


def test_restarted_worker_takes_the_freed_slot_and_keeps_its_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    _, lock1 = claim_index_db(url)
    assert lock1 is not None
    lock1.close()  # the worker died: the OS releases its lock
    again, lock = claim_index_db(url)
    assert again == url
    assert lock is not None
    lock.close()


def test_non_file_urls_are_used_as_given() -> None:
    for url in ("postgresql+psycopg://huren@db/index", "sqlite:///:memory:"):
        assert claim_index_db(url) == (url, None)
