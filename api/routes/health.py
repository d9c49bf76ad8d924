"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from api import metrics
from api.dbhealth import DatabaseHealth
from common.dbfault import RETRY_AFTER_S
from common.freshness import facts_age_s, within_bound
from ledger.rpc import endpoint_name

router = APIRouter(tags=["运维 operations"])


@router.get("/healthz", summary="进程存活 (liveness)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="可以核验吗 (readiness: chain facts fresh by the chain's own clock)",
            responses={503: {"description": "链上数据过旧（链节点不可达或已停止同步），"
                                            "或数据库无法连接、已满、只读，暂时无法核验"}})
def readyz(request: Request) -> JSONResponse:
    rt = request.app.state.runtime
    fresh, body = chain_readiness(rt, time.time())
    # The databases must answer and take a committed write (api/dbhealth.py; probed every few seconds).
    health: DatabaseHealth | None = getattr(rt, "db_health", None)
    databases = health.status() if health is not None else []
    stored = all(d.ok for d in databases)
    if not stored:
        body["reason"] = "；".join(r for r in [*(d.reason for d in databases if not d.ok), body["reason"]] if r)
    ready = fresh and stored
    return JSONResponse({"ready": ready, **body, "databases": [d.as_json() for d in databases]},
                        status_code=200 if ready else 503,
                        headers=None if stored else {"Retry-After": str(RETRY_AFTER_S)})


def chain_readiness(rt: Any, now: float) -> tuple[bool, dict[str, object]]:
    """Ready when the index's facts are within the verifiers' bound, by the same rule as a verdict.

    The age is `now` minus the newest indexed block's timestamp (common/freshness.py), so a
    node that answers but stopped following the network makes this worker not ready within the
    bound, exactly when its verdicts turn UNAVAILABLE. Also shown: the observed block period
    (the bound must exceed it) and, with several RPC URLs, every endpoint's head.
    """
    s = rt.indexer.stats
    bound = rt.settings.max_facts_age_s
    age = facts_age_s(now, s.head_time) if s.head_time else None
    fresh = age is not None and within_bound(age, bound)
    period = s.block_period_s
    reason = None
    if not fresh:
        if age is None:
            reason = "尚未从链节点读到任何区块：" + (s.last_error or "索引尚未与链同步")
        else:
            reason = (f"链上数据过旧：最新区块产生于 {age:.0f} 秒前，超过允许的 {bound} 秒"
                      + (f"（链节点无法访问：{s.last_error}）" if s.last_error else "（链节点可能已停止同步）"))
    nodes = [
        {"endpoint": endpoint_name(h.url), "head_block": h.number, "head_time": h.timestamp,
         "stale": h.url in s.stale_nodes, "active": i == rt.rpc.active, "error": h.error or None}
        for i, h in enumerate(s.nodes)
    ]
    return fresh, {
        "chain_head": s.head,
        "indexed_block": s.indexed,
        "lag_blocks": s.lag_blocks,
        "head_time": s.head_time or None,
        "head_age_s": None if age is None else round(age, 1),
        "max_facts_age_s": bound,
        "block_period_s": None if period is None else round(period, 2),
        "warning": (f"观测到的出块间隔 {period:.1f} 秒不小于允许的数据时效 {bound} 秒：请调大 HUREN_MAX_FACTS_AGE_S"
                    if period is not None and period >= bound else None),
        "nodes": nodes,
        "node_note": s.node_note or None,
        "last_error": s.last_error or None,
        "reason": reason,
    }


@router.get("/metrics", summary="Prometheus 指标", response_class=Response)
def prometheus(request: Request) -> Response:
    """The whole service's figures: every worker's when several serve (api.metrics.exposition)."""
    rt = request.app.state.runtime
    metrics.publish_index(rt)  # this worker's index figures as of now; other workers publish on a timer
    metrics.publish_outbox(rt)  # the shared outbox, as of now
    for hook in rt.extras.get("metrics_hooks", []):  # type: ignore[union-attr]
        hook()
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
