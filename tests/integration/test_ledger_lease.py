"""The database lease (ledger/lease.py) on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ledger.lease import Grant, LeaseTable, new_holder_id
from ledger.store import make_engine

NAME = "anchor:91110000802100433B"


@pytest.fixture
def leases(db_url):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    yield LeaseTable(engine)
    engine.dispose()


def test_only_one_of_two_holders_gets_a_free_lease(leases):
    first, second = new_holder_id(), new_holder_id()
    assert leases.take(NAME, first, 30)
    assert not leases.take(NAME, second, 30)
    assert leases.holder(NAME) == first


def test_leases_of_different_names_are_held_independently(leases):
    first, second = new_holder_id(), new_holder_id()
    assert leases.take(NAME, first, 30)
    assert leases.take("anchor:91310000MA1FL0000X", second, 30)


def test_holder_renewing_its_lease_keeps_it_past_the_first_ttl(leases):
    holder, other = new_holder_id(), new_holder_id()
    assert leases.acquire(NAME, holder, 1.0) is Grant.ACQUIRED
    time.sleep(0.6)
    assert leases.acquire(NAME, holder, 1.0) is Grant.RENEWED
    time.sleep(0.6)  # past the first ttl, within the renewed one
    assert not leases.take(NAME, other, 1.0)
    assert leases.holder(NAME) == holder


def test_lease_that_ran_out_is_taken_over_by_another_holder(leases):
    dead, standby = new_holder_id(), new_holder_id()
    assert leases.take(NAME, dead, 0.3)
    assert not leases.take(NAME, standby, 30)
    time.sleep(0.5)
    assert leases.holder(NAME) is None
    assert leases.acquire(NAME, standby, 30) is Grant.ACQUIRED
    assert not leases.take(NAME, dead, 30), "the old holder does not get it back while the new one holds it"


def test_holder_taking_back_its_own_run_out_lease_counts_as_a_new_acquisition(leases):
    # Someone may have held it in between: the caller must treat its nonce as stale.
    holder = new_holder_id()
    assert leases.take(NAME, holder, 0.2)
    time.sleep(0.4)
    assert leases.acquire(NAME, holder, 30) is Grant.ACQUIRED


def test_released_lease_is_taken_by_another_holder_at_once(leases):
    first, second = new_holder_id(), new_holder_id()
    assert leases.take(NAME, first, 30)
    leases.release(NAME, first)
    assert leases.acquire(NAME, second, 30) is Grant.ACQUIRED
    assert leases.holder(NAME) == second


def test_release_by_a_non_holder_leaves_the_lease_alone(leases):
    holder, other = new_holder_id(), new_holder_id()
    assert leases.take(NAME, holder, 30)
    leases.release(NAME, other)
    assert leases.holder(NAME) == holder


def test_holder_ids_differ_within_one_process():
    ids = {new_holder_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(i.count(":") >= 2 for i in ids)


TAKER = """
import sys
from ledger.lease import LeaseTable, new_holder_id
from ledger.store import make_engine
leases = LeaseTable(make_engine(sys.argv[1]))
print("held" if leases.take("anchor:x", new_holder_id(), 60) else "standby")
"""


def test_processes_starting_together_create_the_table_once_and_elect_one_holder(db_url):
    procs = [subprocess.Popen([sys.executable, "-c", TAKER, db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(6)]
    answers = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
        answers.append(out.decode().strip())
    assert sorted(answers) == ["held"] + ["standby"] * 5
