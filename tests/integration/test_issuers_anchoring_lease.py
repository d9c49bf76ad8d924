"""One anchoring process per department: two API processes' department runtimes, one outbox.

Each runtime is what `api.departments.load_departments` builds in one API worker process: the
department's IssuerService and an AnchorWorker with the department's key, on one shared
database (SQLite file and PostgreSQL) and a real anvil. Certificates are issued through both;
only the lease holder may send anchoring transactions.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from api.departments import DepartmentRuntime, load_departments
from issuers.store import BatchState
from ledger.devnet import wait_for
from ledger.keystore import save_keystore
from ledger.lease import LeaseTerms
from tests.integration.issuer_env import FAST, DeptEnv, anchored_events, register_department

PASSPHRASE = "correct horse battery"
TERMS = LeaseTerms(ttl_s=3.0, renew_s=0.2)


@pytest.fixture
def dept(devnet) -> DeptEnv:  # type: ignore[no-untyped-def]
    return register_department(devnet)


@pytest.fixture
def departments_file(dept: DeptEnv, tmp_path: Path) -> Path:
    """The departments file every API worker process reads: one department, its keystore and field key."""
    save_keystore(tmp_path / "dept.keystore.json", bytes(dept.account.key), PASSPHRASE, iterations=2)
    (tmp_path / "dept.key").write_text(dept.field_key)
    (tmp_path / "passphrase").write_text(PASSPHRASE)
    d = dept.department
    path = tmp_path / "departments.json"
    path.write_text(json.dumps([{"creditCode": d.credit_code, "region": d.region, "name": d.name,
                                 "keystore": "dept.keystore.json", "fieldKeyFile": "dept.key"}]))
    return path


def _runtime(dept: DeptEnv, departments_file: Path, db_url: str, terms: LeaseTerms = TERMS) -> DepartmentRuntime:
    """The department as one more API worker process would load it."""
    net = dept.net
    [runtime] = load_departments(departments_file, net.rpc, net.manifest, net.abis, db_url, FAST,
                                 departments_file.parent / "passphrase", terms).values()
    return runtime


@pytest.fixture
def runtimes(dept, departments_file, db_url):  # type: ignore[no-untyped-def]
    """Two processes' runtimes of the same department; stopped (lease released) at the end."""
    pair = [_runtime(dept, departments_file, db_url), _runtime(dept, departments_file, db_url)]
    yield pair
    for rt in pair:
        rt.worker.stop()
        rt.service.close()


def _holder_and_standby(pair: list[DepartmentRuntime]) -> tuple[DepartmentRuntime, DepartmentRuntime]:
    for rt in pair:
        rt.worker.start()
    assert wait_for(lambda: sum(rt.worker.lease.held for rt in pair) == 1, 10), "one of them takes the lease"
    holder = next(rt for rt in pair if rt.worker.lease.held)
    return holder, next(rt for rt in pair if rt is not holder)


def _all_anchored(rt: DepartmentRuntime, timeout: float = 60) -> None:
    assert wait_for(lambda: not rt.service.store.has_unfinished(rt.credit_code), timeout), \
        rt.service.store.batches()


def _txs_sent_by(dept: DeptEnv) -> int:
    return int(str(dept.net.rpc.call("eth_getTransactionCount", [dept.account.address, "latest"])), 16)


def _anchoring_complaints(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Refused broadcasts, dropped transactions, failed steps: what a nonce race leaves in the log."""
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("huren.issuers.anchoring") and r.levelno >= logging.WARNING]


def _assert_each_certificate_anchored_once(dept: DeptEnv, rt: DepartmentRuntime, accepted: list[str]) -> None:
    store = rt.service.store
    batches = store.batches(rt.credit_code)
    roots = [bytes(e["batchRoot"]) for e in anchored_events(dept.net)]
    assert len(roots) == len(set(roots)) == len(batches)
    assert {b.root for b in batches} == set(roots)
    assert all(b.state is BatchState.FINAL for b in batches)
    members = [cid for b in batches for cid, _ in store.members(b.id)]
    assert sorted(members) == sorted(accepted)


def test_certificates_issued_through_two_processes_are_anchored_once_by_the_lease_holder_only(
        dept, runtimes, caplog):
    caplog.set_level(logging.INFO)
    holder, standby = _holder_and_standby(runtimes)
    accepted: list[str] = []
    for round_ in range(3):
        for i, rt in enumerate(runtimes):
            accepted += rt.service.issue_many(dept.documents(15, seed=10 * round_ + i)).accepted
        time.sleep(0.3)  # older than batch_max_age: the holder closes a batch per round
    _all_anchored(holder)
    assert len(accepted) == 90
    _assert_each_certificate_anchored_once(dept, holder, accepted)
    assert standby.worker.status.transitions == 0 and standby.worker.status.standby, "the standby never worked"
    assert _txs_sent_by(dept) == len(holder.service.store.batches()), "one transaction per batch, none wasted"
    assert _anchoring_complaints(caplog) == []


def test_standby_takes_over_when_the_holder_stops_and_its_first_anchor_succeeds(dept, runtimes, caplog):
    caplog.set_level(logging.INFO)
    holder, standby = _holder_and_standby(runtimes)
    accepted = holder.service.issue_many(dept.documents(10, seed=1)).accepted
    _all_anchored(holder)
    holder.worker.stop()  # a worker process shutting down: releases the lease
    # The key's nonce moves on meanwhile (a status change sent by some other process, say).
    dept.net.sender(dept.account).transact(dept.account.address, b"", "self-transfer", gas=21_000)
    accepted += holder.service.issue_many(dept.documents(10, seed=2)).accepted  # still accepting
    accepted += standby.service.issue_many(dept.documents(10, seed=3)).accepted
    assert wait_for(lambda: standby.worker.lease.held, 5 * TERMS.renew_s + 2), "taken over within a retry"
    _all_anchored(standby)
    assert standby.worker.lease.acquisitions == 1 and standby.worker.status.transitions > 0
    _assert_each_certificate_anchored_once(dept, standby, accepted)
    batches = standby.service.store.batches()
    assert _txs_sent_by(dept) == len(batches) + 1, "every anchor went through on its first transaction"
    assert _anchoring_complaints(caplog) == []


def test_standby_takes_over_once_a_dead_holders_lease_runs_out(dept, departments_file, db_url, caplog):
    caplog.set_level(logging.INFO)
    terms = LeaseTerms(ttl_s=1.5, renew_s=0.1)
    dead = _runtime(dept, departments_file, db_url, terms)
    standby = _runtime(dept, departments_file, db_url, terms)
    try:
        # The holder anchored, then its process was killed: no release, no more renewals.
        assert dead.worker.lease.hold()
        accepted = dead.service.issue_many(dept.documents(10, seed=1)).accepted
        assert dead.worker.drain(timeout=30)
        assert dead.worker.lease.hold(force=True)  # its last renewal
        died_at = time.monotonic()
        standby.worker.start()
        accepted += standby.service.issue_many(dept.documents(10, seed=2)).accepted
        time.sleep(0.5)
        assert not standby.worker.lease.held and standby.worker.status.transitions == 0, "not before the ttl"
        assert wait_for(lambda: standby.worker.lease.held, terms.ttl_s + 3), "taken over after the ttl"
        assert time.monotonic() - died_at >= terms.ttl_s - 0.2
        _all_anchored(standby)
        _assert_each_certificate_anchored_once(dept, standby, accepted)
        assert _txs_sent_by(dept) == len(standby.service.store.batches())
        assert _anchoring_complaints(caplog) == []
    finally:
        standby.worker.stop()
        for rt in (dead, standby):
            rt.service.close()
