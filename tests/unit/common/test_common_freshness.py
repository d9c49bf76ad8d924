"""The freshness rule (common/freshness.py): facts are as old as their newest block, one bound for all."""

from __future__ import annotations

import pytest

from common.freshness import NodeHead, block_period_s, compare_heads, facts_age_s, within_bound


def test_facts_are_as_old_as_the_newest_block_they_come_from() -> None:
    assert facts_age_s(now=1_000_030, block_time=1_000_000) == 30


def test_a_block_stamped_after_now_is_age_zero_not_negative() -> None:
    assert facts_age_s(now=1_000_000, block_time=1_000_005) == 0


def test_facts_exactly_at_the_bound_may_be_used() -> None:
    assert within_bound(30, 30)


def test_facts_one_second_past_the_bound_may_not() -> None:
    assert not within_bound(31, 30)


def test_facts_a_fraction_past_the_bound_may_not() -> None:
    assert not within_bound(30.001, 30)


def test_block_period_is_time_spanned_over_blocks_spanned() -> None:
    assert block_period_s([(100, 1_000), (102, 1_004), (110, 1_020)]) == 2.0


@pytest.mark.parametrize("samples", [[], [(5, 50)], [(5, 50), (5, 50)]])
def test_block_period_is_unknown_below_two_distinct_blocks(samples: list[tuple[int, int]]) -> None:
    assert block_period_s(samples) is None


def _head(url: str, number: int | None, timestamp: int | None) -> NodeHead:
    return NodeHead(url, number, timestamp, "" if number is not None else "ConnectError")


def test_a_node_more_than_the_bound_behind_the_best_is_stale() -> None:
    heads = [_head("http://a", 90, 1_000), _head("http://b", 131, 1_041)]
    result = compare_heads(heads, bound_s=40)
    assert (result.best, result.stale, result.lag_s) == (1, frozenset({0}), {0: 41, 1: 0})


def test_a_node_exactly_the_bound_behind_is_not_stale() -> None:
    heads = [_head("http://a", 90, 1_000), _head("http://b", 130, 1_040)]
    assert compare_heads(heads, bound_s=40).stale == frozenset()


def test_behind_is_measured_in_block_time_not_block_numbers() -> None:
    # Fewer blocks (a slower period) but a head as recent: not stale.
    heads = [_head("http://a", 10, 1_040), _head("http://b", 500, 1_041)]
    assert compare_heads(heads, bound_s=30).stale == frozenset()


def test_equal_heads_prefer_the_first_configured_node() -> None:
    heads = [_head("http://a", 7, 1_000), _head("http://b", 7, 1_000)]
    assert compare_heads(heads, bound_s=30).best == 0


def test_a_node_that_does_not_answer_is_neither_best_nor_stale() -> None:
    heads = [_head("http://a", None, None), _head("http://b", 7, 1_000)]
    result = compare_heads(heads, bound_s=30)
    assert (result.best, result.stale) == (1, frozenset())


def test_no_best_node_when_none_answers() -> None:
    assert compare_heads([_head("http://a", None, None)], bound_s=30).best is None
