"""Shared fixtures: a real anvil, the real contracts compiled from contracts/, real databases.

Integration tests never fake the chain or the database (DEVELOPERS.md, non-negotiable 1).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from ledger.anvil import Anvil, start_anvil

# Property tests judge correctness, not speed: on a loaded 2-core CI machine Hypothesis's
# timing health checks and per-example deadlines would fail runs for reasons unrelated to the
# code. Speed has its own benchmarks under bench/.
settings.register_profile(
    "huren", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("huren")


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[Anvil]:
    node = start_anvil()
    yield node
    node.stop()


def _pg_url() -> str | None:
    # The Makefile exports the same default; this keeps a bare `pytest` run honest too.
    return os.environ.get("HUREN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test") or None


def _pg_reachable(url: str) -> bool:
    try:
        with create_engine(url).connect() as c:
            c.execute(text("select 1"))
        return True
    except Exception:
        return False


def db_backends() -> list[str]:
    return ["sqlite", "postgresql"]


@contextmanager
def fresh_pg_database(prefix: str = "huren_test") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of HUREN_TEST_PG_URL, dropped afterwards.

    In CI (CI=true) PostgreSQL must be reachable: a missing server fails the run instead of
    silently testing SQLite only; elsewhere the test is skipped.
    """
    url = _pg_url()
    if url is None or not _pg_reachable(url):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL not reachable at {url!r} (HUREN_TEST_PG_URL) but CI requires it")
        pytest.skip("PostgreSQL not reachable; set HUREN_TEST_PG_URL (CI requires it)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=db_backends())
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh, empty database: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'huren.sqlite'}"
        return
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def log(db_url):  # type: ignore[no-untyped-def]
    """The verification log (api.auditlog) in a fresh database of each backend."""
    from api.auditlog import VerificationLog
    from ledger.store import make_engine

    engine = make_engine(db_url)
    yield VerificationLog(engine)
    engine.dispose()


BJ, TJ, HE, SH = 110000, 120000, 130000, 310000
LICENCE = "11100000000013338W032"  # 营业执照 type code used across integration tests
BJ_AMR = "91110000802100433B"  # a Beijing issuing department's 统一社会信用代码


@pytest.fixture(scope="session")
def artifacts():  # type: ignore[no-untyped-def]
    from ledger.compile import compile_contracts

    return compile_contracts()


@pytest.fixture
def devnet(anvil_node, artifacts):  # type: ignore[no-untyped-def]
    """A fresh deployment (new addresses) with BJ, TJ, HE, SH as members, 3 officers each, k = 2."""
    from ledger.devnet import start_devnet

    net = start_devnet(anvil_node, artifacts=artifacts)
    yield net
    net.rpc.close()


@pytest.fixture
def licensed(devnet):  # type: ignore[no-untyped-def]
    """The devnet plus the business-licence type and a Beijing department with one signing key."""
    devnet.define_type(LICENCE, "营业执照")
    key = devnet.new_account()
    iid = devnet.register_issuer(BJ, BJ_AMR, "北京市市场监督管理局", [key.address], [LICENCE])
    devnet.issuer_key = key
    devnet.issuer_id = iid
    return devnet
