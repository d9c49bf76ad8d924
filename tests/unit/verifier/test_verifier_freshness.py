"""A verdict is never VALID on facts older than the policy's one bound, whatever their source.

Age = now - timestamp of the newest block the facts come from (common/freshness.py); the same
check (status_freshness) for the index, the one-call-per-fact RPC view and an offline snapshot.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from verifier_world import NOW, World

from verifier.engine import verify
from verifier.verdicts import Verdict

SOURCES = ["index", "rpc", "snapshot"]


@pytest.mark.parametrize("source", SOURCES)
def test_facts_exactly_as_old_as_the_bound_still_answer(world: World, source: str) -> None:
    world.view.source = source  # type: ignore[assignment]
    world.view.head_time = NOW - world.policy.max_facts_age_s
    assert verify(world.present(), world.view, world.policy, NOW).verdict is Verdict.VALID


@pytest.mark.parametrize("source", SOURCES)
def test_facts_one_second_older_than_the_bound_are_unavailable(world: World, source: str) -> None:
    world.view.source = source  # type: ignore[assignment]
    world.view.head_time = NOW - world.policy.max_facts_age_s - 1
    result = verify(world.present(), world.view, world.policy, NOW)
    assert result.verdict is Verdict.UNAVAILABLE
    assert [c.name for c in result.checks if not c.ok] == ["status_freshness"]


def test_stale_facts_are_not_used_even_for_a_revoked_certificate(world: World) -> None:
    """Stale facts say nothing either way: not VALID, and not REVOKED from an old read either."""
    world.view.head_time = NOW - 3600
    result = verify(world.present(), world.view, world.policy, NOW)
    assert result.verdict is Verdict.UNAVAILABLE
    assert "certificate_status" not in [c.name for c in result.checks]


def test_unavailable_for_stale_facts_says_how_old_and_the_bound_in_words(world: World) -> None:
    world.view.head_time = NOW - 95
    result = verify(world.present(), world.view, world.policy, NOW)
    assert result.reason is not None
    assert "95 秒前" in result.reason and "30 秒" in result.reason and "撤销" in result.reason


def test_a_source_that_never_read_a_block_is_unavailable(world: World) -> None:
    world.view.head_time = 0
    result = verify(world.present(), world.view, world.policy, NOW)
    assert result.verdict is Verdict.UNAVAILABLE
    assert "尚未取得任何链上区块" in (result.reason or "")


def test_the_sources_note_is_in_the_freshness_detail(world: World) -> None:
    world.view.note = "已避开落后的链节点 10.0.0.2:8545（落后 41 秒），改用最新的节点 10.0.0.1:8545"
    result = verify(world.present(), world.view, world.policy, NOW)
    detail = next(c.detail for c in result.checks if c.name == "status_freshness")
    assert result.verdict is Verdict.VALID and "已避开落后的链节点" in detail
    assert result.to_dict()["freshness"]["note"] == world.view.note  # type: ignore[index]


def test_the_bound_comes_from_the_policy(world: World) -> None:
    world.view.head_time = NOW - 100
    strict, lenient = world.policy, replace(world.policy, max_facts_age_s=100)
    assert verify(world.present(), world.view, strict, NOW).verdict is Verdict.UNAVAILABLE
    assert verify(world.present(), world.view, lenient, NOW).verdict is Verdict.VALID
