"""Configuration from the environment (or an env file), so the same build runs the demo and production.

Every setting has an environment variable `HUREN_<NAME>`; `HUREN_ENV_FILE` names a file of
`KEY=VALUE` lines read first (the process environment wins). Secrets are referenced by path
(keystore files, key files), never given as values, so they do not appear in `ps` or logs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path


def _env_file_values() -> dict[str, str]:
    path = os.environ.get("HUREN_ENV_FILE")
    if not path:
        return {}
    values: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, _, v = line.partition("=")
            values[k.strip()] = v.strip()
    return values


def _int_set(text: str, var: str, allowed: Callable[[int], bool], what: str, example: str,
             empty_ok: bool = True) -> frozenset[int]:
    """A comma-separated list of integers from `var`; ValueError naming the variable and an example."""
    try:
        found = frozenset(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        found = None
    if found is None or (not found and not empty_ok) or not all(allowed(x) for x in found):
        raise ValueError(f"{var} must list {what} (e.g. \"{example}\"), got {text!r}")
    return found


@dataclass
class Settings:
    rpc_urls: list[str] = field(default_factory=lambda: ["http://127.0.0.1:8545"])
    manifest: Path = Path(".huren/manifest.json")
    db_url: str = "sqlite:///.huren/huren.sqlite"  # certificates, outbox, credentials, verification log
    index_db_url: str = "sqlite:///.huren/index.sqlite"  # the indexer's read model (one per worker host)
    confirmations: int = 2
    # The one freshness bound (common/freshness.py): a verdict's facts may be this many seconds
    # old on the chain's clock (now - timestamp of the newest block they come from), whatever
    # the source; older gives UNAVAILABLE and /readyz not ready. Must exceed the block period.
    max_facts_age_s: int = 30
    index_poll_s: float = 0.5
    clock_skew_s: int = 60
    max_presentation_age_s: int = 600
    # Holder binding the verifying windows require (VerifierPolicy): comma-separated type codes
    # ("*" = every certificate) and issuing region codes; a code of a listed type or region that
    # is not signed on the holder's bound device answers HOLDER_BINDING_FAILED. Empty: none.
    holder_binding_types: str = ""
    holder_binding_regions: str = ""
    # Crypto suites the verifying windows read (VerifierPolicy.suites, common/suites.py): "1,2" both,
    # "2" only 国密 codes (a code of another suite answers NOT_RECOGNISED, in words).
    accept_suites: str = "1,2"
    presentation_ttl_s: int = 300
    public_base_url: str = "http://127.0.0.1:8000"
    departments_file: Path | None = None  # JSON list of departments served here (api/departments.py)
    relayer_keystore: Path | None = None  # this node's account relaying officers' signed acts (no power of its own)
    passphrase_file: Path | None = None  # passphrase for the keystores in keystore_dir
    field_key_file: Path | None = None  # key encrypting sensitive certificate fields at rest
    log_operator_keystore: Path | None = None  # key that anchors the verification log head
    log_anchor_interval_s: float = 60.0
    # This node in the federation (federation/local_node.py): its region and its request-signing key
    # (suite 1: an encrypted Ed25519 PEM, `<workdir>/node-keys/<region>.pem` of the demo seed; suite 2: an
    # SM4-GCM sealed SM2 keystore, `<region>.key.json`, common/node_keys.py), whose public
    # half the region's officers registered on chain. The key file's passphrase is node_key_passphrase_file,
    # else passphrase_file. Without both region and key file the node calls no other node.
    node_region: int | None = None
    node_key_file: Path | None = None
    node_key_passphrase_file: Path | None = None
    # The 加注 stamping keys (api/stamping.py): JSON [{"region", "keyFile"}], one per region served,
    # encrypted like the node key (same passphrase file). Without it the wallet cannot make codes.
    stamp_keys_file: Path | None = None
    # 离线可信名录 (api/snapshots.py): the key (eth keystore, passphrase_file) this node signs its
    # clerks' trust snapshots with; its address is served with the clerk page. None: no offline mode.
    snapshot_publisher_keystore: Path | None = None
    # How old (on the chain's clock) the kept snapshot's facts may be for the clerk page's offline
    # verdicts (应急模式); older gives UNAVAILABLE. 8 h: a working day's outage, revocations that late.
    offline_max_facts_age_s: int = 28800
    # A department's anchoring lease (one worker process anchors it): a standby takes over this
    # long after the holder died (at once after a clean stop); the holder renews every ttl/6.
    anchor_lease_ttl_s: float = 30.0
    # Rate limits (api/ratelimit.py). A credential without its own rate gets rate_per_s/rate_burst:
    # sized for one service window (a clerk scans a code every few seconds, a few in a row at
    # most), so one token cannot saturate a host; a province's throughput comes from its many
    # windows' credentials. Failed sign-ins (unknown tokens, the sign-in page) per client address.
    rate_per_s: float = 2.0
    rate_burst: int = 10
    signin_rate_per_s: float = 0.1
    signin_burst: int = 10
    # Where the buckets shared by this host's worker processes live (a memory-mapped file);
    # `huren serve --workers N` sets it to its private directory. None: this process alone.
    rate_dir: Path | None = None
    max_body_bytes: int = 2_000_000
    # A request body must arrive within this many seconds (2 MB at 70 kB/s): a client trickling
    # a body byte by byte otherwise holds its connection and a task for ever (408, then closed).
    body_timeout_s: float = 30.0
    # A warning or error repeated word for word is written once per this many seconds, with a
    # count (api/logrepeat.py): a lost database must not flood the log.
    log_repeat_interval_s: float = 10.0
    batch_size: int = 1024
    batch_age_s: float = 2.0
    # Reconciliation (issuers/reconcile.py): every reconcile_interval_s each department's sent anchors
    # and status changes not yet settled are re-checked on chain (all of them at start-up) and re-sent
    # if the chain lost them; settled = settle_blocks deep AND settle_age_s old. Set both beyond the
    # deepest rollback a node could be restored to (the age of its oldest snapshot).
    reconcile_interval_s: float = 30.0
    settle_blocks: int = 1000
    settle_age_s: float = 86_400.0

    def __post_init__(self) -> None:
        # Refused when the node starts (`huren serve` says which variable), not at the first verification.
        self.suites()
        self.binding_regions()

    def suites(self) -> frozenset[int]:
        """HUREN_ACCEPT_SUITES as the policy's set; ValueError naming the variable if it is not one."""
        return _int_set(self.accept_suites, "HUREN_ACCEPT_SUITES", lambda x: x in (1, 2), "crypto suites 1 and/or 2",
                        "1,2", empty_ok=False)

    def binding_regions(self) -> frozenset[int]:
        """HUREN_HOLDER_BINDING_REGIONS as six-digit region codes; ValueError naming the variable."""
        return _int_set(self.holder_binding_regions, "HUREN_HOLDER_BINDING_REGIONS", lambda r: 100000 <= r <= 999999,
                        "six-digit region codes", "110000,130000")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        merged = {**_env_file_values(), **os.environ}
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            raw = merged.get(f"HUREN_{f.name.upper()}")
            if raw is None:
                continue
            if f.name == "rpc_urls":
                kwargs[f.name] = [u.strip() for u in raw.split(",") if u.strip()]
            elif f.type in ("int", "int | None", "float"):
                try:
                    kwargs[f.name] = (float if f.type == "float" else int)(raw)
                except ValueError:
                    raise ValueError(f"HUREN_{f.name.upper()} must be a number, got {raw!r}") from None
            elif "Path" in str(f.type):
                kwargs[f.name] = Path(raw)
            else:
                kwargs[f.name] = raw
        kwargs.update(overrides)
        return cls(**kwargs)  # type: ignore[arg-type]
