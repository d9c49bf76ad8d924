"""Configuration from the environment (or an env file), so the same build runs the demo and production.

Every setting has an environment variable `HUREN_<NAME>`; `HUREN_ENV_FILE` names a file of
`KEY=VALUE` lines read first (the process environment wins). Secrets are referenced by path
(keystore files, key files), never given as values, so they do not appear in `ps` or logs.
"""

from __future__ import annotations

import os
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


@dataclass
class Settings:
    rpc_urls: list[str] = field(default_factory=lambda: ["http://127.0.0.1:8545"])
    manifest: Path = Path(".huren/manifest.json")
    db_url: str = "sqlite:///.huren/huren.sqlite"  # certificates, outbox, credentials, verification log
    index_db_url: str = "sqlite:///.huren/index.sqlite"  # the indexer's read model (one per worker host)
    confirmations: int = 2
    max_index_staleness_s: float = 30.0
    index_poll_s: float = 0.5
    clock_skew_s: int = 60
    max_presentation_age_s: int = 600
    presentation_ttl_s: int = 300
    public_base_url: str = "http://127.0.0.1:8000"
    departments_file: Path | None = None  # JSON list of departments served here (api/departments.py)
    officers_file: Path | None = None  # JSON list of region officers' keystores for the officer pages
    passphrase_file: Path | None = None  # passphrase for the keystores in keystore_dir
    field_key_file: Path | None = None  # key encrypting sensitive certificate fields at rest
    log_operator_keystore: Path | None = None  # key that anchors the verification log head
    log_anchor_interval_s: float = 60.0
    # A department's anchoring lease (one worker process anchors it): a standby takes over this
    # long after the holder died (at once after a clean stop); the holder renews every ttl/6.
    anchor_lease_ttl_s: float = 30.0
    rate_per_s: float = 200.0
    rate_burst: int = 400
    max_body_bytes: int = 2_000_000
    batch_size: int = 1024
    batch_age_s: float = 2.0

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
            elif f.type in ("int",):
                kwargs[f.name] = int(raw)
            elif f.type in ("float",):
                kwargs[f.name] = float(raw)
            elif "Path" in str(f.type):
                kwargs[f.name] = Path(raw)
            else:
                kwargs[f.name] = raw
        kwargs.update(overrides)
        return cls(**kwargs)  # type: ignore[arg-type]
