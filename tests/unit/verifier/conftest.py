"""Fixtures for the verifier's unit tests: one real world per session, a fresh fake chain per test."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from verifier_world import World, build_world


@pytest.fixture(scope="session")
def base_world() -> World:
    """Real documents, tree and signatures are expensive-ish: build them once."""
    return build_world(64)


@pytest.fixture
def world(base_world: World) -> World:
    """The base world with its own mutable chain view, so tests can change chain facts."""
    return replace(base_world, view=copy.deepcopy(base_world.view))
