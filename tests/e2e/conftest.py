"""One demo-like stack for the end-to-end suite: real anvil, real contracts, real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.seed import add_holder, demo_documents
from ledger.anvil import IDLE_BLOCK_TIME_S, start_anvil
from tests.e2e.stack import Stack, running_stack, wait_anchored


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)  # ticks when idle, as a network does
    try:
        with running_stack(node, tmp_path_factory.mktemp("stack"), presentation_ttl_s=300) as s:
            yield s
    finally:
        node.stop()


def issue_licence(stack: Stack, seed_offset: int, dept: str = "bj-amr") -> tuple[str, dict[str, Any], str]:
    """Issue a business licence through the department API; returns (cert_id, document, holder handle)."""
    from api.seed import DEPARTMENTS
    from issuers.model import Issuer
    from issuers.samples import sample_document

    d = stack.world.department(dept)
    index = [x.key for x in DEPARTMENTS].index(dept)
    seed = 50_000 + 1_000 * index + seed_offset * 7
    while True:  # a licence in force today (samples may carry an expired 营业期限)
        doc = sample_document(d.types[0], seed, issuer=Issuer(d.credit_code, d.region, d.name, "0x" + "00" * 20))
        if doc.get("validUntil") is None or doc["validUntil"] > time.strftime("%Y-%m-%d"):
            break
        seed += 1
    doc.pop("issuer")
    reply = stack.client(dept).post("/v1/certificates", json={"document": doc})
    assert reply.status_code == 201, reply.text
    handle = f"holder-{dept}-{seed_offset}"
    add_holder(stack.world, handle, doc)
    return reply.json()["cert_id"], doc, handle


def present(stack: Stack, holder: str, cert_id: str, fields: list[str] | None = None,
            purpose: str = "办理企业登记") -> str:
    with stack.client(holder) as c:
        reply = c.post(f"/v1/wallet/certificates/{cert_id}/presentation",
                       json={"purpose": purpose, **({"fields": fields} if fields is not None else {})})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["presentation"])


__all__ = ["demo_documents", "issue_licence", "present", "wait_anchored"]
