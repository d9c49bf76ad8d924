"""The anchoring worker against a real anvil and a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest

from common.document import disclose, document_root, verify_disclosure
from common.eip712 import recover_signer
from common.merkle import verify_proof
from issuers.anchoring import AnchorPolicy
from issuers.store import BatchState
from tests.integration.issuer_env import BJ, FAST, LICENCE, DeptEnv, anchored_events, register_department


def _step_until(worker, state: BatchState, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Step the worker until the (single) batch reaches `state` (a receipt can lag a send)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.step(force_close=True)
        if worker.store.batches()[0].state is state:
            return
        time.sleep(0.02)
    raise AssertionError(f"batch did not reach {state} in {timeout} s: {worker.store.batches()[0]}")


@pytest.fixture
def dept(devnet) -> DeptEnv:  # type: ignore[no-untyped-def]
    return register_department(devnet)


def test_worker_anchors_every_accepted_certificate_exactly_once(dept, db_url):
    service = dept.service(db_url)
    accepted = service.issue_many(dept.documents(300)).accepted
    assert dept.worker(service).drain(timeout=60)
    events = anchored_events(dept.net)
    roots = [bytes(e["batchRoot"]) for e in events]
    assert len(roots) == len(set(roots))
    batches = service.store.batches()
    assert {b.root for b in batches} == set(roots)
    assert all(b.state is BatchState.FINAL for b in batches)
    assert sum(int(e["certCount"]) for e in events) == len(accepted) == 300
    in_batches = [cid for b in batches for cid, _ in service.store.members(b.id)]
    assert sorted(in_batches) == sorted(accepted)


def test_batches_hold_one_certificate_type_each(dept, db_url):
    service = dept.service(db_url)
    service.issue_many(dept.documents(40))
    assert dept.worker(service).drain(timeout=60)
    events = anchored_events(dept.net)
    for batch in service.store.batches():
        types = {service.store.certificate(cid, decrypt=False).type_code for cid, _ in service.store.members(batch.id)}
        assert types == {batch.type_code}
    assert {e["typeCode"].rstrip(b"\x00").decode() for e in events} == {b.type_code for b in service.store.batches()}


def test_stored_batch_proof_verifies_inside_the_contract(dept, db_url):
    service = dept.service(db_url)
    cert_id = service.issue(dept.documents(1)[0]).cert_id
    service.issue_many(dept.documents(20, seed=1))
    assert dept.worker(service).drain(timeout=60)
    cert = service.certificate(cert_id)
    assert dept.net.huren.verify_inclusion(cert.document_root, cert.batch_root, cert.batch_proof) is True


def test_read_certificate_carries_everything_a_presentation_needs(dept, db_url):
    service = dept.service(db_url)
    cert_id = service.issue(dept.documents(1)[0]).cert_id
    assert dept.worker(service).drain(timeout=60)
    cert = service.certificate(cert_id)
    assert document_root(list(cert.fields)) == cert.document_root
    assert recover_signer(dept.chain.domain, cert.document_root, cert.signature) == dept.account.address
    assert verify_proof(cert.batch_root, cert.document_root, cert.batch_proof)
    shown = disclose(list(cert.fields), ["holder.name", "validUntil"])
    assert verify_disclosure(cert.document_root, shown)
    assert dept.net.huren.anchor_of(cert.batch_root)["issuerId"] == dept.net.huren.key_info(dept.account.address)[0]


def test_anchor_becomes_final_only_after_the_configured_confirmations(dept, db_url):
    service = dept.service(db_url)
    service.issue_many(dept.documents(5, types=(LICENCE,)))
    worker = dept.worker(service, AnchorPolicy(batch_size=64, batch_max_age=0, confirmations=3))
    _step_until(worker, BatchState.ANCHORED)
    dept.net.node.rpc("anvil_mine", [hex(1)])
    worker.step()
    assert service.store.batches()[0].state is BatchState.ANCHORED
    dept.net.node.rpc("anvil_mine", [hex(1)])
    worker.step()
    assert service.store.batches()[0].state is BatchState.FINAL


def test_root_already_on_chain_is_adopted_not_sent_again(dept, db_url):
    # What a crash between "tx broadcast" and "state saved" leaves behind: a pending batch
    # whose root the chain already holds.
    service = dept.service(db_url)
    service.issue_many(dept.documents(10, types=(LICENCE,)))
    [batch] = service.store.close_batches(dept.department.credit_code, size=64, max_age=0, force=True)
    earlier = dept.net.huren.anchor(dept.net.sender(dept.account), batch.root, batch.type_code, batch.cert_count)
    assert dept.worker(service).drain(timeout=30)
    [after] = service.store.batches()
    assert after.state is BatchState.FINAL
    assert after.tx_hash == earlier.tx_hash and after.block_number == earlier.block_number
    assert len(anchored_events(dept.net)) == 1


def test_saved_transaction_whose_nonce_was_taken_is_signed_again(dept, db_url):
    # A signed anchor tx saved but never broadcast, while another tx used its nonce
    # (e.g. a status change from another process): the worker re-signs and anchors once.
    service = dept.service(db_url)
    service.issue_many(dept.documents(10, types=(LICENCE,)))
    [batch] = service.store.close_batches(dept.department.credit_code, size=64, max_age=0, force=True)
    sender = dept.chain.sender()
    data = dept.chain.huren.encode("AnchorLedger", "anchor", batch.root, batch.type_code.encode().ljust(32, b"\0"),
                                   batch.cert_count)
    nonce = dept.chain.pending_nonce()
    raw, tx_hash = sender.sign(dept.chain.ledger_address, data, 200_000, nonce)
    assert service.store.mark_submitted(batch.id, tx_hash, raw, nonce)
    dept.net.sender(dept.account).transact(dept.account.address, b"", "self-transfer", gas=21_000)  # takes the nonce
    assert dept.worker(service).drain(timeout=30)
    [after] = service.store.batches()
    assert after.state is BatchState.FINAL and after.tx_hash != tx_hash
    assert [bytes(e["batchRoot"]) for e in anchored_events(dept.net)] == [batch.root]


def test_batch_whose_block_is_reorged_away_is_anchored_again(dept, db_url):
    service = dept.service(db_url)
    service.issue_many(dept.documents(10, types=(LICENCE,)))
    node = dept.net.node
    snapshot = node.rpc("evm_snapshot")
    worker = dept.worker(service, AnchorPolicy(batch_size=64, batch_max_age=0, confirmations=4))
    _step_until(worker, BatchState.ANCHORED)
    [batch] = service.store.batches()
    node.rpc("evm_revert", [snapshot])  # the anchor's block is gone
    node.rpc("anvil_mine", [hex(3)])  # a different block now stands at that height
    assert dept.net.huren.anchor_of(batch.root) is None
    for _ in range(50):  # automine makes no blocks by itself: mine while the worker works
        worker.step()
        node.rpc("anvil_mine", [hex(1)])
        time.sleep(0.02)
        if service.store.batches()[0].state is BatchState.FINAL:
            break
    [after] = service.store.batches()
    assert after.state is BatchState.FINAL
    assert dept.net.huren.anchor_of(batch.root) is not None
    assert [bytes(e["batchRoot"]) for e in anchored_events(dept.net)] == [batch.root]


def test_batch_the_chain_refuses_for_a_passing_reason_stays_queued_with_the_reason(devnet, db_url):
    # A suspended department may be reinstated: its batches wait. (A refusal for good — a type
    # not authorised, a revoked department — makes the batch dead: test_issuers_reconcile.py.)
    dept = register_department(devnet)
    service = dept.service(db_url)
    service.issue_many(dept.documents(3, types=(LICENCE,)))
    devnet.regional(BJ, "IssuerRegistry", "suspendIssuer", BJ, devnet.huren.key_info(dept.account.address)[0])
    worker = dept.worker(service, FAST)
    worker.step(force_close=True)
    [batch] = service.store.batches()
    assert batch.state is BatchState.PENDING
    assert "IssuerNotActive" in (batch.last_error or "")
    assert service.store.overview()["certificates"] == 3  # nothing lost: it waits for the reinstatement
