"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from api import metrics

router = APIRouter(tags=["运维 operations"])


@router.get("/healthz", summary="进程存活 (liveness)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="可以核验吗 (readiness: chain reachable, index fresh)",
            responses={503: {"description": "链节点不可达或索引落后，暂时无法核验"}})
def readyz(request: Request) -> JSONResponse:
    rt = request.app.state.runtime
    s = rt.indexer.stats
    age = time.time() - s.last_ok if s.last_ok else None
    fresh = age is not None and age <= rt.settings.max_index_staleness_s
    body = {
        "ready": fresh,
        "chain_head": s.head,
        "indexed_block": s.indexed,
        "lag_blocks": s.lag_blocks,
        "index_age_s": None if age is None else round(age, 1),
        "last_error": s.last_error or None,
        "reason": None if fresh else ("链节点不可达或索引落后：" + (s.last_error or "索引尚未与链同步")),
    }
    return JSONResponse(body, status_code=200 if fresh else 503)


@router.get("/metrics", summary="Prometheus 指标", response_class=Response)
def prometheus(request: Request) -> Response:
    """The whole service's figures: every worker's when several serve (api.metrics.exposition)."""
    rt = request.app.state.runtime
    metrics.publish_index(rt)  # this worker's index figures as of now; other workers publish on a timer
    metrics.publish_outbox(rt)  # the shared outbox, as of now
    for hook in rt.extras.get("metrics_hooks", []):  # type: ignore[union-attr]
        hook()
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
