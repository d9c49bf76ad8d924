"""A rollback deeper than the confirmations under running senders: they recover without restart.

The verification-log anchorer and a department's anchoring worker run in this process, as
in the API, while the chain is rolled back (anvil's `evm_snapshot` / `evm_revert`: what a
node restored from an older state does). Transactions each had waiting in the node's pool
are then ahead of the chain's nonce, which a node queues for ever; the senders must notice,
sign again with the chain's nonce, and carry on (ledger/sender.py, issuers/anchoring.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from api.auditlog import LogAnchorer, VerificationLog, check_log, read_anchored_heads
from issuers.anchoring import AnchorPolicy, AnchorWorker
from issuers.store import BatchState
from ledger.devnet import wait_for
from tests.integration.issuer_env import LICENCE, anchored_events, register_department

HE = 130000
CONFIRMATIONS = 2
POLICY = AnchorPolicy(batch_size=64, batch_max_age=0.2, confirmations=CONFIRMATIONS, poll_interval=0.02,
                      max_backoff=0.5)


def _append(log: VerificationLog, n: int, start: int) -> None:
    for i in range(start, start + n):
        log.append(credential_id="hebei-clerk-1", region=HE, certificate_hash=bytes(32), verdict="VALID",
                   purpose="办理营业执照变更登记", nonce=i.to_bytes(12, "big"))


@contextmanager
def automine_off(node) -> Iterator[None]:  # type: ignore[no-untyped-def]
    node.rpc("evm_setAutomine", [False])
    try:
        yield
    finally:
        node.rpc("evm_setAutomine", [True])


@pytest.mark.slow
def test_log_anchorer_and_department_worker_recover_from_a_rollback_deeper_than_the_confirmations(log, devnet,
                                                                                                   db_url):
    node = devnet.node
    dept = register_department(devnet)
    service = dept.service(db_url)
    worker = AnchorWorker(service.store, dept.chain, dept.department.credit_code, POLICY)
    operator = devnet.sender(devnet.new_account())
    anchorer = LogAnchorer(log, operator, devnet.manifest, interval=0.1)

    def anchored_entries() -> int:
        latest = anchorer.chain_latest()
        return 0 if latest is None else latest.entries

    def final(batch_id: int) -> bool:
        node.rpc("anvil_mine", [hex(1)])  # confirmations need blocks; the session's anvil mines only per transaction
        return service.store.batch(batch_id).state is BatchState.FINAL

    snapshot = node.rpc("evm_snapshot")
    height_before = devnet.rpc.block_number()
    worker.start()
    anchorer.start()
    try:
        _append(log, 5, 0)
        assert wait_for(lambda: anchored_entries() == 5, 60)
        # A transaction of the department's key that the rollback drops and nobody sends again.
        devnet.sender(dept.account).transact(dept.account.address, b"", "self-transfer", gas=21_000)
        node.rpc("anvil_mine", [hex(CONFIRMATIONS + 1)])  # what the rollback drops is final by the policy
        with automine_off(node):
            service.issue_many(dept.documents(5, types=(LICENCE,)))
            assert wait_for(lambda: [b.state for b in service.store.batches()] == [BatchState.SUBMITTED], 60)
            _append(log, 5, 5)  # the anchorer signs head 10 and waits for it in the pool
            assert wait_for(lambda: int(devnet.rpc.call("txpool_status")["pending"], 16) == 2, 60)
            assert devnet.rpc.block_number() - height_before > CONFIRMATIONS
            node.rpc("evm_revert", [snapshot])  # deeper than the confirmations: both keys' nonces go back
        [stranded] = service.store.batches()

        assert wait_for(lambda: anchored_entries() == 10, 60), anchorer.last_error
        assert wait_for(lambda: final(stranded.id), 60), service.store.batch(stranded.id)
        _append(log, 5, 10)  # and both keep working afterwards
        service.issue_many(dept.documents(5, seed=1, types=(LICENCE,)))
        assert wait_for(lambda: anchored_entries() == 15, 60), anchorer.last_error
        assert wait_for(lambda: len(service.store.batches()) == 2 and all(final(b.id)
                                                                          for b in service.store.batches()), 60)
    finally:
        anchorer.stop(final_anchor=False)
        worker.stop()

    after = service.store.batch(stranded.id)
    assert after.tx_hash != stranded.tx_hash, "signed again, not waited on"
    roots = [bytes(e["batchRoot"]) for e in anchored_events(devnet)]
    assert sorted(roots) == sorted(b.root for b in service.store.batches()), "each batch anchored once"
    assert check_log(log, devnet.rpc, devnet.manifest, operator.address).ok
    on_chain = [(h.anchor_seq, h.entries, h.head) for h in read_anchored_heads(devnet.rpc, devnet.manifest,
                                                                                 operator.address)]
    assert [(a.anchor_seq, a.entries, a.head) for a in log.anchors(operator.address)] == on_chain
