"""A dead chain node makes issuance queue, not fail; the queue drains when the node returns.

The node is a real anvil started with a state file (`--state`, dumped every second), so that
after a SIGKILL (`Anvil.kill`) and a restart on the same port it comes back with the same
chain: the deployment, the department's registration and the anchors made before the outage.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from issuers.errors import ChainUnreachable
from issuers.store import BatchState
from ledger.anvil import Anvil, start_anvil
from ledger.devnet import start_devnet, wait_for
from tests.integration.issuer_env import DeptEnv, anchored_events, register_department


@pytest.fixture
def persistent_node(tmp_path) -> Iterator[Anvil]:  # type: ignore[no-untyped-def]
    node = start_anvil(state_file=tmp_path / "anvil-state.json", extra=["--state-interval", "1"])
    yield node
    node.stop()


@pytest.fixture
def dept(persistent_node, artifacts) -> DeptEnv:  # type: ignore[no-untyped-def]
    net = start_devnet(persistent_node, artifacts=artifacts)
    env = register_department(net)
    time.sleep(1.5)  # let anvil write the deployment to its state file before anything is killed
    return env


def test_issuance_while_the_node_is_dead_is_accepted_and_anchored_when_it_returns(dept, persistent_node, db_url):
    service = dept.service(db_url)
    worker = dept.worker(service)
    before = service.issue_many(dept.documents(40, seed=1)).accepted
    assert worker.drain(timeout=30)
    time.sleep(1.5)  # state file now holds these anchors too
    persistent_node.kill()

    worker.start()  # the worker keeps running through the outage
    during = service.issue_many(dept.documents(300, seed=2))
    one = service.issue(dept.documents(1, seed=3)[0])
    assert len(during.accepted) == 300 and not during.rejected and not one.already_accepted
    assert wait_for(lambda: not worker.status.node_available, timeout=10)
    assert wait_for(lambda: service.store.overview()["unbatched"] == 0, timeout=10)  # batches close offline
    queued = service.store.overview()
    assert queued["pending"] + queued["submitted"] > 0

    persistent_node.restart()
    assert wait_for(lambda: not service.store.has_unfinished(dept.department.credit_code), timeout=60)
    worker.stop()
    assert worker.status.node_available

    batches = service.store.batches()
    assert all(b.state is BatchState.FINAL for b in batches)
    roots = [bytes(e["batchRoot"]) for e in anchored_events(dept.net)]
    assert len(roots) == len(set(roots)) and set(roots) == {b.root for b in batches}
    members = sorted(cid for b in batches for cid, _ in service.store.members(b.id))
    assert members == sorted([*before, *during.accepted, one.cert_id])


def test_status_change_without_a_node_is_refused_as_unreachable_and_changes_nothing(dept, persistent_node,
                                                                                     db_url):
    service = dept.service(db_url)
    cert_id = service.issue(dept.documents(1)[0]).cert_id
    assert dept.worker(service).drain(timeout=30)
    time.sleep(1.5)
    persistent_node.kill()
    with pytest.raises(ChainUnreachable) as refused:
        service.change_status(cert_id, "revoke", "withdrawn")
    assert "链节点不可用" in str(refused.value)
    persistent_node.restart()
    assert service.chain_status(cert_id).status == 0
    assert service.store.status_changes(cert_id) == []
