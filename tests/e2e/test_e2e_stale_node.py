"""A node that answers but stops following the network never makes the API say VALID (issue 12).

Real processes: two anvils (the primary makes a block every second and on every transaction;
the replica is loaded from the primary's state and then mines nothing — a partitioned
validator, a replica that fell behind), a JSON-RPC proxy between the API and its node, and
the API over HTTP. The proxy moves to the replica, the certificate is revoked on the primary,
and verifiers must get UNAVAILABLE once the replica's newest block is older than the bound —
never VALID on older facts — and REVOKED once the proxy is back on the primary.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ledger.anvil import IDLE_BLOCK_TIME_S, Anvil, start_anvil
from ledger.clients import Huren
from ledger.devnet import wait_for
from ledger.rpc import RpcClient
from tests.e2e.conftest import issue_licence, present
from tests.e2e.rpc_proxy import RpcProxy
from tests.e2e.stack import Stack, running_stack, wait_anchored

pytestmark = pytest.mark.slow

BOUND_S = 5  # HUREN_MAX_FACTS_AGE_S for this API: above the 1 s block period and the 0.5 s index poll
VERIFIER = "verifier-130000"


@dataclass
class Field:
    stack: Stack
    primary: Anvil
    proxy: RpcProxy


@pytest.fixture(scope="module")
def field(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Field]:
    primary = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)
    proxy = RpcProxy(primary.url)
    try:
        with running_stack(primary, tmp_path_factory.mktemp("stale-node"), presentation_ttl_s=300,
                           rpc_urls=[proxy.url], max_facts_age_s=BOUND_S) as stack:
            yield Field(stack, primary, proxy)
    finally:
        proxy.close()
        primary.stop()


def _verify(f: Field, code: str) -> dict[str, Any]:
    with f.stack.client(VERIFIER) as c:
        reply = c.post("/v1/verify", json={"presentation": code})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _age(answer: dict[str, Any]) -> int:
    return int(answer["verified_at"]) - int(answer["freshness"]["head_time"])


def _revoke_on(node: Anvil, f: Field, cert_id: str) -> int:
    """Revoke on `node` directly, as the department's other office on the network would; the block's time."""
    dept = next(d for d in f.stack.app.state.runtime.departments.values()
                if d.credit_code == f.stack.world.department("bj-amr").credit_code)
    stored = dept.service.store.certificate(cert_id, decrypt=False)
    tree = dept.service.store.batch_tree(stored.batch.id)
    proof = tree.proof(tree.values.index(stored.document_root))
    rpc = RpcClient(node.url)
    huren = Huren(rpc, f.stack.app.state.runtime.manifest, f.stack.app.state.runtime.abis)
    receipt = huren.set_certificate_status(huren.sender(dept.service.chain.account), "revoke",
                                           stored.document_root, stored.batch.root, proof, reason=3)
    block = rpc.get_block(receipt.block_number)
    assert block is not None
    return int(str(block["timestamp"]), 16)


def test_a_node_that_stops_following_gives_unavailable_never_valid_then_revoked_after_switching_back(
    field: Field,
) -> None:
    f = field
    cert_id, _, holder = issue_licence(f.stack, 1)
    wait_anchored(f.stack, holder, cert_id)
    code = present(f.stack, holder, cert_id)
    assert wait_for(lambda: _verify(f, code)["verdict"] == "VALID", timeout=30)

    replica = start_anvil(extra=["--no-mining"])
    try:
        replica.rpc("anvil_loadState", [f.primary.rpc("anvil_dumpState")])
        replica_head = RpcClient(replica.url).get_block("latest")
        assert replica_head is not None
        replica_time = int(str(replica_head["timestamp"]), 16)
        f.proxy.switch(replica.url)
        revoked_at = _revoke_on(f.primary, f, cert_id)
        assert revoked_at >= replica_time  # the replica never sees the revocation

        seen: list[dict[str, Any]] = []

        def unavailable() -> bool:
            seen.append(_verify(f, code))
            return bool(seen[-1]["verdict"] == "UNAVAILABLE")

        assert wait_for(unavailable, timeout=60, interval=0.25), [(a["verdict"], _age(a)) for a in seen]
        for answer in seen:
            assert answer["verdict"] in ("VALID", "UNAVAILABLE"), answer["verdict"]
            if answer["verdict"] == "VALID":  # only on facts within the bound, never older ones
                assert _age(answer) <= BOUND_S, answer["freshness"]
        stale = seen[-1]
        assert _age(stale) > BOUND_S
        assert stale["freshness"]["head_time"] <= replica_time
        detail = next(c["detail"] for c in stale["checks"] if c["name"] == "status_freshness")
        assert "最新区块" in detail and f"{BOUND_S} 秒" in detail, detail
        assert [_verify(f, code)["verdict"] for _ in range(5)] == ["UNAVAILABLE"] * 5

        with httpx.Client(base_url=f.stack.base_url, timeout=30) as c:
            ready = c.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["ready"] is False and body["head_age_s"] > BOUND_S and body["max_facts_age_s"] == BOUND_S
        assert body["block_period_s"] is not None and body["block_period_s"] < BOUND_S
        assert "链上数据过旧" in body["reason"]

        f.proxy.switch(f.primary.url)
        after: list[str] = []

        def revoked() -> bool:
            after.append(_verify(f, code)["verdict"])
            return after[-1] == "REVOKED"

        assert wait_for(revoked, timeout=60, interval=0.25), after
        assert set(after) <= {"UNAVAILABLE", "REVOKED"}, after
        with httpx.Client(base_url=f.stack.base_url, timeout=30) as c:
            assert wait_for(lambda: c.get("/readyz").status_code == 200, timeout=30)
    finally:
        f.proxy.switch(f.primary.url)
        replica.stop()
