"""/metrics tells an operator how many issuance batches wait to be anchored (the outbox depth)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import issue_licence, wait_anchored


def _outbox(stack) -> dict[str, float]:  # type: ignore[no-untyped-def]
    with stack.client() as c:
        text = c.get("/metrics").text
    return {s.labels["state"]: s.value for family in text_string_to_metric_families(text)
            if family.name == "huren_outbox_batches" for s in family.samples}


def test_metrics_count_the_outbox_batches_by_state(stack):
    cert_id, _, holder = issue_licence(stack, 50)
    wait_anchored(stack, holder, cert_id)
    counts = _outbox(stack)
    assert set(counts) == {"pending", "submitted", "anchored", "final", "settled", "dead"}
    store = stack.app.state.runtime.departments
    expected = sum(len(d.service.store.batches(d.credit_code)) for d in store.values())
    assert sum(counts.values()) == expected >= 1
    assert counts["anchored"] + counts["final"] >= 1
