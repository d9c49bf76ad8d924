"""The holder's status badge follows the verifier's freshness rule: stale facts are not shown as 有效 or 已撤销."""

from __future__ import annotations

import time
from types import SimpleNamespace

from api.routes.wallet import wallet_status
from common.facts import CertStatus, Freshness

BOUND = 30


def _runtime(status: CertStatus, head_age_s: float) -> SimpleNamespace:
    head_time = int(time.time() - head_age_s)
    view = SimpleNamespace(certificate_status=lambda root, issuer: SimpleNamespace(status=status),
                           freshness=lambda: Freshness(height=7, head_time=head_time, source="index"))
    model = SimpleNamespace(anchors={b"batch": SimpleNamespace(issuer_id=b"issuer")})
    return SimpleNamespace(view=view, indexer=SimpleNamespace(model=model),
                           settings=SimpleNamespace(max_facts_age_s=BOUND))


ISSUED = SimpleNamespace(batch_root=b"batch", document_root=b"root", document={"validUntil": None})


def test_fresh_facts_give_the_certificates_status():
    assert wallet_status(_runtime(CertStatus.NONE, 2), ISSUED)["code"] == "VALID"
    assert wallet_status(_runtime(CertStatus.REVOKED, 2), ISSUED)["code"] == "REVOKED"


def test_facts_older_than_the_bound_give_unknown_with_the_age_in_words():
    status = wallet_status(_runtime(CertStatus.NONE, BOUND + 20), ISSUED)
    assert status["code"] == "UNKNOWN" and status["label"] == "状态暂不可查"
    assert "秒没有更新" in status["detail"]
