"""Offline mode: signed trust snapshots, refused when forged or foreign, UNAVAILABLE when stale,
and otherwise the same verdicts as the live chain view."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
from test_verifier_verdicts import ROWS, Row
from verifier_world import DOMAIN, NOW, World, key_of, replace_field

from common.canonical import canonicalize
from common.eip712 import Domain
from common.facts import ChainView, RecognitionRule
from verifier._ecdsa import address_of
from verifier.engine import verify
from verifier.snapshot import SnapshotChainView, SnapshotError, load_snapshot, sign_snapshot
from verifier.verdicts import Verdict

PUBLISHER_KEY = key_of("snapshot-publisher")
PUBLISHER = address_of(PUBLISHER_KEY)


def signed_file(world: World, created_at: int | None = None) -> str:
    return sign_snapshot(world.view.to_snapshot(created_at), PUBLISHER_KEY, DOMAIN)


def offline_view(world: World, created_at: int | None = None, head_time: int | None = None) -> SnapshotChainView:
    """A snapshot of the world's facts, read at a block stamped `head_time` and signed at `created_at`."""
    if head_time is not None:
        world.view.head_time = head_time
    return SnapshotChainView(load_snapshot(signed_file(world, created_at), PUBLISHER, DOMAIN))


HOUR = 3600


def test_signed_snapshot_loads_back_to_the_same_facts(world: World) -> None:
    snapshot = world.view.to_snapshot()
    loaded = load_snapshot(sign_snapshot(snapshot, PUBLISHER_KEY, DOMAIN), PUBLISHER, DOMAIN)
    assert loaded.to_json_obj() == snapshot.to_json_obj()
    assert loaded.content_hash() == snapshot.content_hash()


def test_snapshot_file_is_canonical_json(world: World) -> None:
    text = signed_file(world)
    assert canonicalize(json.loads(text)).decode() == text


def test_snapshot_signed_by_someone_else_is_refused(world: World) -> None:
    forged = sign_snapshot(world.view.to_snapshot(), key_of("impostor"), DOMAIN)
    with pytest.raises(SnapshotError, match="not by the configured publisher"):
        load_snapshot(forged, PUBLISHER, DOMAIN)


def test_snapshot_with_tampered_signature_is_refused(world: World) -> None:
    envelope = json.loads(signed_file(world))
    sig = bytearray.fromhex(envelope["signature"][2:])
    sig[5] ^= 0x01
    envelope["signature"] = "0x" + sig.hex()
    with pytest.raises(SnapshotError, match="not by the configured publisher"):
        load_snapshot(canonicalize(envelope), PUBLISHER, DOMAIN)


def test_snapshot_with_tampered_content_is_refused(world: World) -> None:
    envelope = json.loads(signed_file(world))
    envelope["snapshot"]["issuers"][0]["revokedFrom"] = None
    envelope["snapshot"]["issuers"][0]["status"] = "ACTIVE"
    envelope["snapshot"]["certificateStatuses"] = []  # e.g. hide a revocation
    envelope["snapshot"]["createdAt"] += 3600  # or pretend to be fresher
    with pytest.raises(SnapshotError, match="not by the configured publisher"):
        load_snapshot(canonicalize(envelope), PUBLISHER, DOMAIN)


def test_snapshot_for_another_deployment_is_refused(world: World) -> None:
    other = Domain(chain_id=1, verifying_contract=DOMAIN.verifying_contract)
    with pytest.raises(SnapshotError, match="is for chain 31337"):
        load_snapshot(signed_file(world), PUBLISHER, other)


def test_snapshot_with_duplicate_keys_is_refused(world: World) -> None:
    text = signed_file(world)
    with pytest.raises(SnapshotError, match="duplicate key"):
        load_snapshot(text.replace('{"signature":', '{"signature":"0x00","signature":', 1), PUBLISHER, DOMAIN)


def test_snapshot_with_unsorted_lists_is_refused(world: World) -> None:
    world.view.rules.extend([RecognitionRule(310000, "T1", 0, 1, None), RecognitionRule(320000, "T1", 0, 1, None)])
    envelope = json.loads(signed_file(world))
    envelope["snapshot"]["recognition"].reverse()
    with pytest.raises(SnapshotError, match="canonical form"):
        load_snapshot(canonicalize(envelope), PUBLISHER, DOMAIN)


def test_snapshot_with_unknown_fields_is_refused(world: World) -> None:
    envelope = json.loads(signed_file(world))
    envelope["snapshot"]["extra"] = 1
    with pytest.raises(SnapshotError, match="differ from expected"):
        load_snapshot(canonicalize(envelope), PUBLISHER, DOMAIN)


def test_snapshot_that_is_not_json_is_refused() -> None:
    with pytest.raises(SnapshotError, match="not valid JSON"):
        load_snapshot("{not json", PUBLISHER, DOMAIN)


def test_fresh_snapshot_answers_and_says_how_old_its_facts_are(world: World) -> None:
    view = offline_view(world, head_time=NOW - 1800)
    result = verify(world.present(), view, replace(world.policy, max_facts_age_s=HOUR), NOW)
    assert result.verdict is Verdict.VALID
    assert result.freshness is not None
    assert result.freshness.source == "snapshot"
    assert result.freshness.head_time == NOW - 1800
    assert result.facts_age_s == 1800
    assert "30 分钟前" in next(c.detail for c in result.checks if c.name == "status_freshness")


def test_stale_snapshot_gives_unavailable_with_its_age(world: World) -> None:
    view = offline_view(world, head_time=NOW - 7 * HOUR)
    result = verify(world.present(), view, replace(world.policy, max_facts_age_s=6 * HOUR), NOW)
    assert result.verdict is Verdict.UNAVAILABLE
    assert "7 小时前" in (result.reason or "")
    assert result.anchor is None  # no stale fact was used


def test_snapshot_facts_are_as_old_as_the_block_they_were_read_at_not_the_signature(world: World) -> None:
    view = offline_view(world, created_at=NOW, head_time=NOW - 7 * HOUR)  # signed now, of a node 7 hours behind
    result = verify(world.present(), view, replace(world.policy, max_facts_age_s=6 * HOUR), NOW)
    assert result.verdict is Verdict.UNAVAILABLE
    assert result.facts_age_s == 7 * HOUR


def test_stale_snapshot_still_catches_tampering(world: World) -> None:
    view = offline_view(world, head_time=NOW - 7 * HOUR)
    p = replace_field(world.present(), "holder.name", value="李四")
    assert verify(p, view, world.policy, NOW).verdict is Verdict.TAMPERED


def test_snapshot_age_limit_is_the_policys_one_bound(world: World) -> None:
    view = offline_view(world, head_time=NOW - 7 * HOUR)
    assert verify(world.present(), view, world.policy, NOW).verdict is Verdict.UNAVAILABLE
    lenient = replace(world.policy, max_facts_age_s=8 * HOUR)
    assert verify(world.present(), view, lenient, NOW).verdict is Verdict.VALID


def test_confirmations_are_counted_up_to_the_snapshot_height(world: World) -> None:
    view = offline_view(world)
    anchor = view.anchor(world.batch.root)
    assert anchor is not None
    assert anchor.confirmations == world.view.height - anchor.block_number + 1


# Rows whose setup needs the live view's failure switches do not apply to a snapshot.
_OFFLINE_ROWS = [row for row in ROWS if not row.name.startswith(("unavailable_when_", "stale_snapshot"))]


@pytest.mark.parametrize("row", _OFFLINE_ROWS, ids=[row.name for row in _OFFLINE_ROWS])
def test_fresh_snapshot_gives_the_same_verdict_as_the_chain_view(row: Row, world: World) -> None:
    presentation = row.setup(world)
    live = verify(presentation, world.view, world.policy, world.now)
    offline = verify(presentation, offline_view(copy.deepcopy(world)), world.policy, world.now)
    assert offline.verdict is live.verdict is row.verdict
    assert [c.name for c in offline.checks] == [c.name for c in live.checks]


def test_snapshot_view_is_a_chain_view(world: World) -> None:
    assert isinstance(offline_view(world), ChainView)
