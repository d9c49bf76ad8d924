"""Fixtures for the federation protocol's unit tests: keys, an in-test directory, a real SQLite nonce table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from federation_world import BJ, BJ_URL, HE, HE_URL, NOW
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from federation.checking import RequestChecker
from federation.node_key import NodeSigningKey
from federation.replay import NonceCache, metadata
from tests.federation_directory import InTestDirectory


@pytest.fixture
def he_key() -> NodeSigningKey:
    return NodeSigningKey(HE, "1", Ed25519PrivateKey.generate())


@pytest.fixture
def directory(he_key: NodeSigningKey) -> InTestDirectory:
    d = InTestDirectory()
    d.register(BJ, BJ_URL, "1", Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    d.register(HE, HE_URL, "1", he_key.public_bytes())
    return d


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    e = create_engine(f"sqlite:///{tmp_path / 'node.sqlite'}")
    metadata.create_all(e)
    yield e
    e.dispose()


@pytest.fixture
def checker(directory: InTestDirectory, engine: Engine) -> RequestChecker:
    """The 北京 node's checker, its clock at NOW."""
    return RequestChecker(directory, NonceCache(engine), BJ, clock=lambda: NOW)
