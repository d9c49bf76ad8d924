"""Prometheus metrics: verifications by verdict, latency, index lag, outbox depth.

A single process keeps its figures in memory and `/metrics` exports this module's `REGISTRY`.
With several uvicorn workers each worker is a separate process with figures of its own, so a
scrape (or the public registry page) answered by one worker would show only that worker's
share and jump between answers. `huren serve --workers N` therefore sets PROMETHEUS_MULTIPROC_DIR
for its workers (api/cli.py): prometheus_client then keeps every worker's figures in files in that
directory, and `exposition()` / `verification_counts()` merge them (counters and histograms summed,
gauges by their `multiprocess_mode`). Routes and pages read the figures
only through those two functions, so they never need to know which mode the process is in.
"""

from __future__ import annotations

import asyncio
import glob
import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from common.freshness import facts_age_s

# prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when it is first imported, to choose
# between in-memory values and per-process files; it is imported by this module, so the
# variable as seen now is the mode this process's metrics are really in.
MULTIPROC_DIR: str | None = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

REGISTRY = CollectorRegistry(auto_describe=True)

VERIFICATIONS_NAME = "huren_verifications"
VERIFICATIONS = Counter(
    VERIFICATIONS_NAME, "Verifications answered, by verdict and verifier region",
    ["verdict", "region"], registry=REGISTRY,
)
VERIFY_LATENCY = Histogram(
    "huren_verify_seconds", "Time to answer a verification request (decode + engine + log)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0), registry=REGISTRY,
)
REQUEST_LATENCY = Histogram(
    "huren_http_request_seconds", "HTTP request latency by route", ["route", "method"], registry=REGISTRY,
)
# Gauges across workers. Each worker follows the chain with an index of its own, so the index
# gauges describe one worker each and the merged figure is the one an operator must act on.
# "live" modes drop a worker's figure when it shuts down cleanly (`forget_this_worker`); a
# worker that crashed leaves its last figure until the directory is emptied at the next start.
# The chain head: the newest head any worker has seen is the chain's head.
INDEX_HEAD = Gauge("huren_index_head_block", "Chain head seen by the indexer", registry=REGISTRY,
                   multiprocess_mode="livemax")
# The read model: a verification is only as current as the index of the worker that answers
# it, so the block every worker has reached (the least) is what the service can vouch for.
INDEX_BLOCK = Gauge("huren_index_indexed_block", "Last block in the local read model", registry=REGISTRY,
                    multiprocess_mode="livemin")
# Lag and staleness: the worst worker, the one whose answers may be UNAVAILABLE or outdated.
INDEX_LAG = Gauge("huren_index_lag_blocks", "Blocks between the chain head and the read model", registry=REGISTRY,
                  multiprocess_mode="livemax")
INDEX_AGE = Gauge("huren_index_age_seconds", "Age of the index's facts: now minus the newest indexed block's "
                  "timestamp (verdicts are UNAVAILABLE above HUREN_MAX_FACTS_AGE_S)", registry=REGISTRY,
                  multiprocess_mode="livemax")
# The outbox lives in the shared database: every worker reads the same figures, so summing would
# multiply them by the number of workers, and a maximum would keep a backlog that has since
# drained; the newest reading, whichever worker took it, is the current one.
OUTBOX_DEPTH = Gauge("huren_outbox_batches", "Issuance batches by outbox state", ["state"], registry=REGISTRY,
                     multiprocess_mode="livemostrecent")
ISSUED = Counter("huren_certificates_issued", "Certificates accepted for issuance", registry=REGISTRY)
# Anchored batch roots are the same chain facts in every worker's read model (not a per-worker
# share, so not summed); the most advanced worker has seen the most of them.
ANCHORED = Gauge("huren_anchored_batches", "Batch roots anchored on chain (read model)", registry=REGISTRY,
                 multiprocess_mode="livemax")
FAST_LANE = Counter(
    "huren_verify_fast_lane", "POST /v1/verify requests answered by the fast lane (served) or handed to the route "
    "(passed_on: references, sessions, refusals)", ["outcome"], registry=REGISTRY,
)
# Reconciliation and refusals (issuers/reconcile.py). Counted by the worker process that anchors the
# department (the lease holder), so summing over workers counts each event once.
OUTBOX_RESENT = Counter(
    "huren_outbox_resent", "Anchors (kind=anchor) and status changes (kind=status) sent again because the chain "
    "no longer had them (node restored from an older state, rollback deeper than the confirmations)", ["kind"],
    registry=REGISTRY,
)
OUTBOX_DEAD = Counter(
    "huren_outbox_dead", "Batches (kind=anchor) and status changes (kind=status) the chain refused for good: "
    "never retried, shown to the department", ["kind"], registry=REGISTRY,
)


class OutboxMetrics:
    """The anchoring workers' observer (issuers.reconcile.OutboxObserver): re-sends and dead items as counters."""

    def resent(self, kind: str) -> None:
        OUTBOX_RESENT.labels(kind).inc()

    def dead(self, kind: str) -> None:
        OUTBOX_DEAD.labels(kind).inc()


OUTBOX_OBSERVER = OutboxMetrics()

# How often a worker writes its index gauges in multiprocess mode: a scrape is answered by one
# worker, which can refresh only its own figures, so the others publish theirs on a timer.
PUBLISH_INTERVAL_S = 1.0


def _registry() -> CollectorRegistry:
    """The registry that holds every worker's figures: this process's own in a single process,
    else a fresh one merging the workers' files (prometheus_client's documented multiprocess use;
    a collector must not be added to a registry that already has the live metrics)."""
    if MULTIPROC_DIR is None:
        return REGISTRY
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=MULTIPROC_DIR)
    return merged


def exposition() -> bytes:
    """The Prometheus text exposition of the whole service (all workers), for `/metrics`."""
    return generate_latest(_registry())


def verification_counts() -> dict[str, int]:
    """Verifications answered so far by verdict code (all regions, all workers), for the public page.

    Several workers: only the counter files are merged. The page is public and polls every 15 s;
    merging the histograms' files too made a read ~25x dearer (measured: 21 ms against 0.8 ms
    with four workers' files), which an unauthenticated page should not cost.
    """
    if MULTIPROC_DIR is None:
        families = list(VERIFICATIONS.collect())
    else:
        files = glob.glob(os.path.join(MULTIPROC_DIR, "counter_*.db"))
        families = [m for m in multiprocess.MultiProcessCollector.merge(files) if m.name == VERIFICATIONS_NAME]
    counts: dict[str, float] = {}
    for family in families:
        for sample in family.samples:
            if sample.name.endswith("_total"):
                code = sample.labels.get("verdict", "")
                counts[code] = counts.get(code, 0.0) + sample.value
    return {code: int(n) for code, n in counts.items()}


def publish_index(rt: Any) -> None:
    """Set the index gauges from this worker's indexer (`rt` is an api.runtime.Runtime)."""
    s = rt.indexer.stats
    INDEX_HEAD.set(s.head)
    INDEX_BLOCK.set(s.indexed)
    INDEX_LAG.set(s.lag_blocks)
    INDEX_AGE.set(facts_age_s(time.time(), s.head_time) if s.head_time else -1)
    ANCHORED.set(len(rt.indexer.model.anchors))


def publish_outbox(rt: Any) -> None:
    """Set the outbox gauge: this host's departments' batches by state (pending and submitted ones
    are the backlog still to anchor). Read from the shared database on each scrape."""
    totals: dict[str, int] = {}
    for dept in rt.departments.values():
        for state, n in dept.service.store.batch_counts(dept.credit_code).items():
            totals[state.value] = totals.get(state.value, 0) + n
    for state, n in totals.items():
        OUTBOX_DEPTH.labels(state).set(n)


async def publish_index_periodically(rt: Any, interval_s: float = PUBLISH_INTERVAL_S) -> None:
    """Keep this worker's index gauges current for scrapes answered by other workers (until cancelled)."""
    while True:
        publish_index(rt)
        await asyncio.sleep(interval_s)


def forget_this_worker() -> None:
    """Drop this worker's "live" gauge files as it shuts down, so a restarted or retired worker's
    last index figures stop counting towards the merged min/max. Nothing to do in a single process."""
    if MULTIPROC_DIR is not None:
        multiprocess.mark_process_dead(os.getpid(), MULTIPROC_DIR)
