"""The nonce table against replay (federation.replay), on a real SQLite database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from federation.refusals import Replayed
from federation.replay import NonceCache, seen_nonces

HE, TJ = 130000, 120000
NOW = 1_800_000_000.0


def _rows(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(seen_nonces)).scalar_one())


def test_a_nonce_is_accepted_once_and_refused_the_second_time(engine):
    cache = NonceCache(engine)
    cache.remember(HE, "n" * 22, NOW + 65, NOW)
    with pytest.raises(Replayed, match=str(HE)):
        cache.remember(HE, "n" * 22, NOW + 65, NOW + 1)


def test_the_same_nonce_from_two_regions_does_not_collide(engine):
    cache = NonceCache(engine)
    cache.remember(HE, "n" * 22, NOW + 65, NOW)
    cache.remember(TJ, "n" * 22, NOW + 65, NOW)
    assert _rows(engine) == 2


def test_nonces_past_their_forget_time_are_purged_and_live_ones_kept(engine):
    cache = NonceCache(engine, purge_interval_s=30)
    cache.remember(HE, "old" * 8, NOW + 65, NOW)
    cache.remember(HE, "new" * 8, NOW + 130, NOW + 60)
    assert _rows(engine) == 2
    cache.remember(HE, "later" * 5, NOW + 165, NOW + 100)  # purge due: "old" is past NOW + 65
    with engine.connect() as c:
        kept = {r.nonce for r in c.execute(select(seen_nonces.c.nonce))}
    assert kept == {"new" * 8, "later" * 5}


def test_no_purge_runs_before_its_interval(engine):
    cache = NonceCache(engine, purge_interval_s=30)
    cache.remember(HE, "old" * 8, NOW + 1, NOW)
    cache.remember(HE, "new" * 8, NOW + 70, NOW + 10)
    assert _rows(engine) == 2
