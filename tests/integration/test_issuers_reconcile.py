"""Reconciliation and the dead state of the outbox, against a real anvil and a real store.

The chain is rolled back with anvil's own snapshot/revert (`evm_snapshot`, `evm_revert`): the
blocks after the snapshot, and the anchors and status changes in them, are gone — what a node
restored from an older state, or a rollback deeper than the confirmations, does to a department.
The counters are the API's real Prometheus metrics (`api.metrics.OUTBOX_OBSERVER`).
"""

from __future__ import annotations

import pytest

from api.metrics import OUTBOX_OBSERVER, REGISTRY
from issuers.anchoring import AnchorPolicy, AnchorWorker
from issuers.reconcile import SettlePolicy
from issuers.service import IssuerService
from issuers.store import BatchState, SyncState
from tests.integration.issuer_env import BJ, ID_CARD, LICENCE, DeptEnv, define_types, register_department

STRICT = AnchorPolicy(batch_size=64, batch_max_age=0.0, confirmations=1, poll_interval=0.02, max_backoff=0.5,
                      reconcile=SettlePolicy(interval_s=0.1, settle_blocks=3, settle_age_s=0))


def _counted(name: str, kind: str) -> float:
    return REGISTRY.get_sample_value(f"huren_outbox_{name}_total", {"kind": kind}) or 0.0


def _worker(dept: DeptEnv, service: IssuerService, policy: AnchorPolicy = STRICT) -> AnchorWorker:
    return AnchorWorker(service.store, dept.chain, dept.department.credit_code, policy, observer=OUTBOX_OBSERVER)


@pytest.fixture
def dept(devnet) -> DeptEnv:  # type: ignore[no-untyped-def]
    return register_department(devnet)


def _snapshot(dept: DeptEnv) -> str:
    return str(dept.net.node.rpc("evm_snapshot"))


def _roll_back(dept: DeptEnv, snapshot: str) -> None:
    assert dept.net.node.rpc("evm_revert", [snapshot]) is True


def _only_batch(service: IssuerService):  # type: ignore[no-untyped-def]
    [batch] = service.store.batches()
    return batch


# ---------------------------------------------------------------------------- anchors


def test_final_batch_whose_anchor_vanished_is_anchored_again_with_the_same_root(dept, db_url):
    service = dept.service(db_url)
    worker = _worker(dept, service)
    before = _snapshot(dept)
    service.issue_many(dept.documents(5, types=(LICENCE,)))
    assert worker.drain(timeout=30)
    root = _only_batch(service).root
    resent = _counted("resent", "anchor")
    _roll_back(dept, before)
    assert dept.net.huren.anchor_of(root) is None

    assert worker.reconcile() == 1
    assert _only_batch(service).state is BatchState.PENDING
    assert "重新上链" in (_only_batch(service).last_error or "")
    assert _counted("resent", "anchor") == resent + 1
    assert worker.drain(timeout=30)
    assert _only_batch(service).state is BatchState.FINAL and _only_batch(service).root == root
    assert dept.net.huren.anchor_of(root)["issuerId"] == dept.net.huren.key_info(dept.account.address)[0]


def test_anchor_still_on_chain_is_left_alone_until_deep_enough_then_settled(dept, db_url):
    service = dept.service(db_url)
    worker = _worker(dept, service)
    service.issue_many(dept.documents(3, types=(LICENCE,)))
    assert worker.drain(timeout=30)
    assert worker.reconcile() == 0
    assert _only_batch(service).state is BatchState.FINAL
    dept.net.node.rpc("anvil_mine", [hex(STRICT.reconcile.settle_blocks)])
    assert worker.reconcile() == 1
    assert _only_batch(service).state is BatchState.SETTLED


def test_settled_batch_is_checked_again_only_by_a_start_up_pass(dept, db_url):
    service = dept.service(db_url)
    worker = _worker(dept, service)
    before = _snapshot(dept)
    service.issue_many(dept.documents(3, types=(LICENCE,)))
    assert worker.drain(timeout=30)
    dept.net.node.rpc("anvil_mine", [hex(STRICT.reconcile.settle_blocks)])
    worker.reconcile()
    assert _only_batch(service).state is BatchState.SETTLED
    _roll_back(dept, before)

    assert worker.reconcile() == 0  # a periodic pass no longer looks at settled batches
    assert _only_batch(service).state is BatchState.SETTLED
    assert worker.reconcile(full=True) == 1
    assert _only_batch(service).state is BatchState.PENDING


def test_a_new_worker_reconciles_everything_before_its_first_anchor(dept, db_url):
    service = dept.service(db_url)
    before = _snapshot(dept)
    service.issue_many(dept.documents(3, types=(LICENCE,)))
    assert _worker(dept, service).drain(timeout=30)
    root = _only_batch(service).root
    _roll_back(dept, before)

    restarted = _worker(dept, service)  # a process start: its first drain or run starts with a full pass
    assert restarted.drain(timeout=30)
    assert _only_batch(service).state is BatchState.FINAL
    assert dept.net.huren.anchor_of(root) is not None


# ---------------------------------------------------------------------------- status changes


def test_revocation_that_vanished_is_sent_again_once_its_batch_is_anchored_again(dept, db_url):
    service = dept.service(db_url)
    worker = _worker(dept, service)
    before = _snapshot(dept)
    cert_id = service.issue(dept.documents(1, types=(LICENCE,))[0]).cert_id
    assert worker.drain(timeout=30)
    service.change_status(cert_id, "revoke", "吊销")
    resent = _counted("resent", "status")
    _roll_back(dept, before)
    assert service.chain_status(cert_id).status == 0

    worker.reconcile()  # the anchor is missing: the batch goes back to pending, the revocation waits
    assert service.chain_status(cert_id).status == 0
    assert _counted("resent", "status") == resent
    assert worker.drain(timeout=30)
    worker.reconcile()
    facts = service.chain_status(cert_id)
    assert facts.status == 2 and facts.reason == 2  # revoked, reason 吊销, as recorded
    assert _counted("resent", "status") == resent + 1


def test_status_converges_to_the_last_recorded_change(dept, db_url):
    service = dept.service(db_url)
    worker = _worker(dept, service)
    cert_id = service.issue(dept.documents(1, types=(LICENCE,))[0]).cert_id
    assert worker.drain(timeout=30)
    before = _snapshot(dept)
    service.change_status(cert_id, "suspend", "其他")
    service.change_status(cert_id, "reinstate")
    service.change_status(cert_id, "suspend", "其他")
    _roll_back(dept, before)
    assert service.chain_status(cert_id).status == 0

    worker.reconcile()
    assert service.chain_status(cert_id).status == 1  # suspended: the last word, not the history replayed


def test_status_the_chain_can_no_longer_reach_is_dead_not_retried(dept, db_url):
    service = dept.service(db_url)
    worker = _worker(dept, service)
    cert_id = service.issue(dept.documents(1, types=(LICENCE,))[0]).cert_id
    assert worker.drain(timeout=30)
    service.change_status(cert_id, "suspend", "其他")
    # The record says "suspended", but the chain now shows a revocation: the chain cannot go back.
    service.store.record_status_change(service.store.status_changes(cert_id)[0])  # same target again
    dead = _counted("dead", "status")
    dept.chain.huren.set_certificate_status(
        dept.net.sender(dept.account), "revoke", service.certificate(cert_id).document_root,
        service.certificate(cert_id).batch_root, service.certificate(cert_id).batch_proof, 99)

    worker.reconcile()
    [sync] = service.store.status_syncs(dept.department.credit_code, list(SyncState))
    assert sync.state is SyncState.DEAD and "无法变更" in (sync.last_error or "")
    assert _counted("dead", "status") == dead + 1
    assert worker.reconcile(full=True) == 0  # never looked at again


# ---------------------------------------------------------------------------- dead batches


@pytest.fixture
def licence_only(devnet) -> DeptEnv:  # type: ignore[no-untyped-def]
    """A department the chain authorises for business licences only (both types are defined)."""
    define_types(devnet)
    return register_department(devnet, types=(LICENCE,), define=False)


def test_batch_the_chain_refuses_for_good_is_dead_with_the_reason_and_never_retried(licence_only, db_url):
    dept = licence_only
    service = dept.service(db_url)  # its intake was not told the authorisation: the chain refuses
    worker = _worker(dept, service)
    dead = _counted("dead", "anchor")
    service.issue_many(dept.documents(4, types=(ID_CARD,)))
    assert worker.drain(timeout=30)  # nothing is left to do: a dead batch does not hold a drain up

    batch = _only_batch(service)
    assert batch.state is BatchState.DEAD
    assert "未获链上授权" in (batch.last_error or "") and ID_CARD in (batch.last_error or "")
    assert _counted("dead", "anchor") == dead + 1
    nonce = dept.chain.pending_nonce()
    for _ in range(3):
        worker.step()
        worker.reconcile(full=True)
    assert _only_batch(service) == batch  # not retried, not reconciled: nothing about it changed
    assert dept.chain.pending_nonce() == nonce


def test_dead_batch_requeued_after_the_type_is_authorised_is_anchored(licence_only, db_url):
    dept = licence_only
    service = dept.service(db_url)
    worker = _worker(dept, service)
    service.issue_many(dept.documents(4, types=(ID_CARD,)))
    assert worker.drain(timeout=30)
    batch = _only_batch(service)
    from common.document import type_code_bytes32

    dept.net.regional(BJ, "IssuerRegistry", "grantType", BJ, dept.net.huren.key_info(dept.account.address)[0],
                      type_code_bytes32(ID_CARD))
    assert service.store.requeue_dead(batch.id)
    assert worker.drain(timeout=30)
    assert _only_batch(service).state is BatchState.FINAL
    assert dept.net.huren.anchor_of(batch.root) is not None
