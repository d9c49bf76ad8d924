"""A chain node restored from an older state: what the department sent is sent again, and verifiers
get the right answers back — over real HTTP, with a real anvil killed and restarted.

Anvil runs with `--dump-state` (every second, `--state-interval 1`), as an operator's node keeps
snapshots. After the seed, a copy of its state file is the "older state". Then a business
licence is issued and anchored (final), a second one too, and the second is revoked; verifiers
see VALID and REVOKED. The node is SIGKILLed and restarted with `--load-state` from the older
copy: the anchor and the revocation are gone from the chain, while the department's outbox
says final. The API keeps running throughout.

Bound: with `HUREN_RECONCILE_INTERVAL_S` = 2 the next reconciliation pass finds the anchor
missing, the worker anchors the same root again with the chain's nonce, and the pass after it
re-sends the revocation; verifiers see VALID and REVOKED again within RESTORE_BOUND_S (the
interval, a few one-second blocks, the index's poll: a few seconds; the bound leaves room for
a loaded CI host). `huren_outbox_resent_total` counts both re-sends.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from issuers.store import BatchState
from ledger.anvil import IDLE_BLOCK_TIME_S, Anvil, start_anvil
from ledger.devnet import wait_for
from tests.e2e.conftest import issue_licence, present
from tests.e2e.stack import Stack, running_stack, wait_anchored

pytestmark = pytest.mark.slow

RECONCILE_INTERVAL_S = 2.0
RESTORE_BOUND_S = 60.0
HEBEI = "verifier-130000"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Anvil]:
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True,
                       extra=["--dump-state", str(tmp_path / "state.json"), "--state-interval", "1"])
    yield node
    node.stop()


@pytest.fixture
def stack(node: Anvil, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(node, tmp_path / "world", reconcile_interval_s=RECONCILE_INTERVAL_S) as s:
        yield s


def _older_state(node: Anvil, tmp_path: Path) -> Path:
    """A copy of the node's state file written after now (so it holds everything done so far)."""
    state, older = tmp_path / "state.json", tmp_path / "older-state.json"
    since = time.time()
    assert wait_for(lambda: state.exists() and state.stat().st_mtime > since + 0.2, timeout=10)
    shutil.copy(state, older)
    return older


def _restart_from(node: Anvil, older: Path) -> None:
    node.kill()
    node.args = [*node.args, "--load-state", str(older)]
    node.restart()


def _verdict(stack: Stack, presentation: str) -> str:
    with stack.client(HEBEI) as c:
        reply = c.post("/v1/verify", json={"presentation": presentation})
    return str(reply.json().get("verdict"))


def _resent(stack: Stack, kind: str) -> float:
    with stack.client() as c:
        text = c.get("/metrics").text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "huren_outbox_resent_total" and s.labels.get("kind") == kind)


def _batch_of(stack: Stack, cert_id: str):  # type: ignore[no-untyped-def]
    dept = stack.app.state.runtime.departments[stack.world.department("bj-amr").credit_code]
    stored = dept.service.store.certificate(cert_id, decrypt=False)
    return stored.batch if stored is not None else None


def test_anchor_and_revocation_lost_by_a_restored_node_are_sent_again_and_verify_again(stack, node, tmp_path):
    older = _older_state(node, tmp_path)  # the consortium, before any certificate
    valid_id, _, valid_holder = issue_licence(stack, 1)
    revoked_id, _, revoked_holder = issue_licence(stack, 2)
    for cert_id, holder in ((valid_id, valid_holder), (revoked_id, revoked_holder)):
        wait_anchored(stack, holder, cert_id)
        assert wait_for(lambda c=cert_id: _batch_of(stack, c).state is BatchState.FINAL, timeout=30)
    valid_code, revoked_code = present(stack, valid_holder, valid_id), present(stack, revoked_holder, revoked_id)
    with stack.client("bj-amr") as c:
        assert c.post(f"/v1/certificates/{revoked_id}/revoke", json={"reason": "吊销"}).status_code == 200
    assert (_verdict(stack, valid_code), _verdict(stack, revoked_code)) == ("VALID", "REVOKED")
    anchors, statuses = _resent(stack, "anchor"), _resent(stack, "status")

    indexer = stack.app.state.runtime.indexer
    rewinds = indexer.stats.reorgs
    _restart_from(node, older)
    assert stack.world.net.huren.anchor_of(_batch_of(stack, valid_id).root) is None  # the chain forgot
    # Until the API's index notices the older chain, verifiers still answer from the facts it had.
    assert wait_for(lambda: indexer.stats.reorgs > rewinds, timeout=30)

    restored = time.monotonic()
    assert wait_for(lambda: (_verdict(stack, valid_code), _verdict(stack, revoked_code)) == ("VALID", "REVOKED"),
                    timeout=RESTORE_BOUND_S, interval=0.5), \
        (f"not restored within {RESTORE_BOUND_S} s: {_verdict(stack, valid_code)}, {_verdict(stack, revoked_code)}; "
         f"batches {_batch_of(stack, valid_id)}, {_batch_of(stack, revoked_id)}")
    print(f"VALID and REVOKED again {time.monotonic() - restored:.1f} s after the restart")
    assert _resent(stack, "anchor") >= anchors + 1
    assert _resent(stack, "status") == statuses + 1
