"""How old the facts behind a verdict are, measured on the chain's own clock: one rule for every source.

A verdict rests on the chain's state as of some block: the newest indexed block (index), the
block the one-call-per-fact reads ran at (RPC view), or the block a trust snapshot was read at
(offline). Its facts are as old as that block:

    age = max(0, now - timestamp of the newest block the facts come from)

and they may be used while `age <= bound` (the policy's one bound, whatever the source).

Why the chain's clock and not "when did we last hear from the node": a node that answers but
stopped following the network (a partitioned validator, a lagging replica) answers every poll
at once, so "time since the last successful poll" stays near zero while its state — and the
revocations it has not seen — gets older. Its newest block does not get newer. This is only
sound on a chain that makes blocks on a period even when idle (Besu QBFT does; the anvil the
project starts does with `--block-time`): the bound must exceed that period, or facts would
turn stale between two blocks of a healthy chain.

Several RPC endpoints are compared by their heads: one whose newest block is more than the
bound older than the best endpoint's is stale (`compare_heads`).

Pure functions only (no clock, no I/O): the callers pass `now`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["HeadComparison", "NodeHead", "block_period_s", "compare_heads", "facts_age_s", "within_bound"]


def facts_age_s(now: float, block_time: float) -> float:
    """Seconds between `now` and the newest block the facts come from; never negative.

    A block stamped after `now` (the chain's clock a little ahead of ours, or many blocks
    mined in one second on a test chain) counts as age 0, not as "fresher than now".
    """
    return max(0.0, now - block_time)


def within_bound(age_s: float, bound_s: float) -> bool:
    """Facts exactly `bound_s` old may still be used; one second more may not."""
    return age_s <= bound_s


def block_period_s(blocks: Sequence[tuple[int, int]]) -> float | None:
    """The mean time between blocks over (number, timestamp) samples, oldest first; None below two blocks.

    Samples need not be consecutive blocks (the indexer sees the head once per poll):
    the period is the time spanned divided by the blocks spanned.
    """
    if len(blocks) < 2:
        return None
    (n0, t0), (n1, t1) = blocks[0], blocks[-1]
    if n1 <= n0:
        return None
    return max(0.0, (t1 - t0) / (n1 - n0))


@dataclass(frozen=True, slots=True)
class NodeHead:
    """One RPC endpoint's newest block as it answered (number and timestamp None: it did not answer)."""

    url: str
    number: int | None
    timestamp: int | None
    error: str = ""

    @property
    def answered(self) -> bool:
        return self.number is not None and self.timestamp is not None


@dataclass(frozen=True, slots=True)
class HeadComparison:
    """Which endpoint to read from, and which ones are stale, after comparing their heads."""

    best: int | None  # index of the endpoint with the newest head (None: none answered)
    stale: frozenset[int]  # endpoints that answered with a head more than the bound behind the best
    lag_s: dict[int, int]  # seconds each answering endpoint's head is behind the best head


def compare_heads(heads: Sequence[NodeHead], bound_s: float) -> HeadComparison:
    """Compare the endpoints' newest blocks: one more than `bound_s` behind the best one is stale.

    "Behind" is measured in block time (the best head's timestamp minus this head's), the same
    clock and the same bound as the facts' age: a node that stopped following the network keeps
    its last head while the others' heads move on. Ties go to the earlier endpoint (the
    operator's order of preference).
    """
    answered = [(i, h) for i, h in enumerate(heads) if h.answered]
    if not answered:
        return HeadComparison(None, frozenset(), {})
    best, best_head = max(answered, key=lambda ih: (ih[1].timestamp, ih[1].number, -ih[0]))
    assert best_head.timestamp is not None
    lag = {i: max(0, best_head.timestamp - int(h.timestamp or 0)) for i, h in answered}
    stale = frozenset(i for i, seconds in lag.items() if not within_bound(seconds, bound_s))
    return HeadComparison(best, stale, lag)
