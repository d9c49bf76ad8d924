"""Prometheus metrics: verifications by verdict, latency, index lag, outbox depth.

With several uvicorn workers set PROMETHEUS_MULTIPROC_DIR so the workers' figures are summed
(prometheus_client's multiprocess mode); a single process needs nothing.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

VERIFICATIONS = Counter(
    "huren_verifications", "Verifications answered, by verdict and verifier region",
    ["verdict", "region"], registry=REGISTRY,
)
VERIFY_LATENCY = Histogram(
    "huren_verify_seconds", "Time to answer a verification request (decode + engine + log)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0), registry=REGISTRY,
)
REQUEST_LATENCY = Histogram(
    "huren_http_request_seconds", "HTTP request latency by route", ["route", "method"], registry=REGISTRY,
)
INDEX_HEAD = Gauge("huren_index_head_block", "Chain head seen by the indexer", registry=REGISTRY)
INDEX_BLOCK = Gauge("huren_index_indexed_block", "Last block in the local read model", registry=REGISTRY)
INDEX_LAG = Gauge("huren_index_lag_blocks", "Blocks between the chain head and the read model", registry=REGISTRY)
INDEX_AGE = Gauge("huren_index_age_seconds", "Seconds since the indexer last reached the chain", registry=REGISTRY)
OUTBOX_DEPTH = Gauge("huren_outbox_batches", "Issuance batches by outbox state", ["state"], registry=REGISTRY)
ISSUED = Counter("huren_certificates_issued", "Certificates accepted for issuance", registry=REGISTRY)
ANCHORED = Gauge("huren_anchored_batches", "Batch roots anchored on chain (read model)", registry=REGISTRY)
FAST_LANE = Counter(
    "huren_verify_fast_lane", "POST /v1/verify requests answered by the fast lane (served) or handed to the route "
    "(passed_on: references, sessions, refusals)", ["outcome"], registry=REGISTRY,
)
