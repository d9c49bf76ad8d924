"""The FastAPI application: routes for departments, holders, verifiers, the public and operators."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import metrics, pages
from api.dbhealth import DatabaseFaultMiddleware
from api.errors import install_error_handlers
from api.fastlane import VerifyFastLane
from api.jsonbody import JsonBodyGuard
from api.logrepeat import install_repeat_filter
from api.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from api.ratelimit import RateLimitMiddleware
from api.routes import health, issuer, peers, registry, verify, wallet, wallet_binding
from api.runtime import Runtime, build_runtime
from api.settings import Settings
from common.recursion import check_recursion_limit, restore_recursion_limit
from federation.fastapi_guard import install_refusal_handler

DESCRIPTION = """
互认 Huren — 电子证照上链存证与跨地区互认。

* **发证部门** (department credential): 签发、批量签发、撤销、暂扣、恢复本部门的证照。
* **持证人** (holder credential): 选择披露字段，生成动态出示码（加注件）。
* **核验窗口** (verifier credential, region-scoped): 扫码核验，得到结论和理由。
* **公开目录**: 地区、发证部门、证照类型、互认规则。

Every error is `{"error": {"code", "message", "hint"}}` with a 4xx status and a message that says
what is wrong. Authenticate with `Authorization: Bearer <token>`.
"""


# Operators read Prometheus metrics (/metrics). FastAPI's native OpenTelemetry support (0.165+)
# asks three global OpenTelemetry providers on every request whether anyone listens; with it
# off a request skips that and one middleware layer.
_NO_NATIVE_TELEMETRY: dict[str, object] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI).parameters else {}
)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    restore_recursion_limit()  # the imports above raised it (py_ecc): deep input could crash the process

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_repeat_filter(settings.log_repeat_interval_s)  # before anything can fail over and over
        rt = runtime or build_runtime(settings)
        check_recursion_limit()  # nothing imported since create_app may have raised it again
        app.state.runtime = rt
        rt.start()
        # Everything built so far (modules, the app, the read model) lives as long as the process:
        # take it out of the cyclic GC's view, so full collections stop walking ~150,000 objects
        # (measured: GC time per verification request down ~3x, fewer latency spikes).
        gc.freeze()
        # Several workers: a scrape reaches one of them, which can refresh only its own index
        # gauges, so each worker publishes its figures on a timer (api.metrics).
        publisher = (asyncio.create_task(metrics.publish_index_periodically(rt))
                     if metrics.MULTIPROC_DIR is not None else None)
        try:
            yield
        finally:
            if publisher is not None:
                publisher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await publisher
            rt.stop()
            metrics.forget_this_worker()
            gc.unfreeze()  # an app in a test process is not the last one: let its garbage go

    app = FastAPI(title="互认 Huren", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  **_NO_NATIVE_TELEMETRY)
    install_error_handlers(app)
    install_refusal_handler(app)  # a refused node request: 401/403 with its own code (federation/)
    app.add_middleware(VerifyFastLane)  # innermost: the body limit and security headers apply to its answers too
    app.add_middleware(RateLimitMiddleware)  # every verifying, issuing, signing-in request, fast lane included
    app.add_middleware(JsonBodyGuard)  # every JSON body parsed, depth-limited, before anything else sees it
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    # a down, full or read-only database: 503 from whichever layer met it (rate limits, fast lane, routes)
    app.add_middleware(DatabaseFaultMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(health.router)
    app.include_router(registry.router)
    app.include_router(verify.router)
    app.include_router(issuer.router)
    app.include_router(wallet.router)
    app.include_router(wallet_binding.router)
    app.include_router(peers.router)  # node-to-node, signed requests only
    pages.install(app)  # web pages (api/pages/): zh-CN, server-rendered, assets served here
    return app
