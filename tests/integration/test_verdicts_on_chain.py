"""Every verdict, each reached from a real issuance on anvil, and the naive verifier agrees.

Each row of the table is a scenario as it happens in the field: departments registered by
k-of-n regional proposals, certificates sealed and signed by the IssuerService and anchored
by its AnchorWorker, status changes and recognition rules as transactions, the holder's
presentation encoded to its "HR1:" text. The verdict is read through the indexed view
(IndexedChainView over a synced Indexer); the same text at the same height is verified by
the naive verifier (RpcChainView, one eth_call per fact) and must give the same answer.

UNKNOWN_ISSUER cannot arise inside one consistent deployment: the AnchorLedger refuses an
anchor from a key the registry does not know (see the test below the table). It arises when
the registry a verifier trusts is not the one the anchor ledger consulted; the row builds
exactly that: the consortium moved its governance to a new suite (Consortium + registries)
while the old AnchorLedger stays the evidence store, and the department that anchored was
never registered in the new registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from ledger.anvil import start_anvil
from ledger.errors import ContractRefused, NodeUnavailable
from ledger.manifest import Manifest
from tests.integration.verdict_world import (
    BJ,
    CONFIRMATIONS,
    HE,
    LICENCE,
    LICENCE_PATHS,
    SH,
    Dept,
    Outcome,
    World,
    chain_views,
    comparable,
    days,
    holder_address,
    new_holder_key,
)
from verifier._ecdsa import sign_digest
from verifier.codec import encode
from verifier.engine import verify_text
from verifier.presentation import holder_signing_digest
from verifier.verdicts import Verdict


@pytest.fixture(scope="module")
def world(artifacts, tmp_path_factory) -> Iterator[World]:  # type: ignore[no-untyped-def]
    node = start_anvil()
    w = World.create(node, tmp_path_factory.mktemp("verdicts"), artifacts)
    w.register("bj-amr")
    yield w
    w.net.rpc.close()
    node.stop()


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    """Each row is built and verified once; both the verdict test and the agreement test read it."""
    return {}


# ============================================================================ scenarios


def _main(w: World) -> Dept:
    return w.departments["bj-amr"]


def valid_recognised_in_another_region(w: World) -> Outcome:
    cert = w.issue_one(_main(w))
    now = w.now()
    return w.verify(w.code(cert, now=now), HE, now=now)


def valid_in_own_region(w: World) -> Outcome:
    cert = w.issue_one(_main(w))
    now = w.now()
    return w.verify(w.code(cert, now=now), BJ, now=now)


def valid_signed_by_bound_holder(w: World) -> Outcome:
    key = new_holder_key()
    cert = w.issue_one(_main(w), holder=holder_address(key))
    now = w.now()
    return w.verify(w.code(cert, now=now, holder_key=key), HE, now=now)


def _tampered(w: World, change: Callable[..., object]) -> Outcome:
    certs = w.issue(_main(w), [w.document(_main(w)), w.document(_main(w))])
    now = w.now()
    p = w.presentation(certs[0], now=now)
    other = w.presentation(certs[1], now=now)
    return w.verify(encode(change(p, other)), HE, now=now)  # type: ignore[arg-type]


def _with_field(p, path: str, **change: object):  # type: ignore[no-untyped-def]
    fields = [replace(f, **change) if f.path == path else f for f in p.disclosure.fields]
    return replace(p, disclosure=replace(p.disclosure, fields=fields))


def tampered_value(w: World) -> Outcome:
    return _tampered(w, lambda p, _: _with_field(p, "claims.entityName", value="北京示例伪造科技有限公司"))


def tampered_salt(w: World) -> Outcome:
    return _tampered(w, lambda p, _: _with_field(p, "claims.domicile", salt=bytes(16)))


def tampered_swapped_batch_proof(w: World) -> Outcome:
    # The other certificate's proof, from the same anchored batch.
    return _tampered(w, lambda p, other: replace(p, batch_proof=other.batch_proof))


def tampered_swapped_issuer_signature(w: World) -> Outcome:
    # A real issuer signature, but over the other certificate: it recovers to no registered key.
    return _tampered(w, lambda p, other: replace(p, issuer_signature=other.issuer_signature))


def not_anchored(w: World) -> Outcome:
    # Batched by a service whose anchoring worker never ran (its own outbox, never sent).
    offline = w.second_store(_main(w), "bj-amr-offline")
    cert = w.issue_one(offline, anchor=False)
    now = w.now()
    return w.verify(w.code(cert, now=now), HE, now=now)


def pending_finality(w: World) -> Outcome:
    cert = w.issue_one(_main(w), settle=False)  # mined, no block on top of it yet
    now = w.now()
    return w.verify(w.code(cert, now=now), HE, now=now, confirmations=3)


def unknown_issuer(w: World) -> Outcome:
    cert = w.issue_one(_main(w))
    suite = w.new_suite()
    manifest = w.net.manifest
    migrated = Manifest(manifest.chain_id, manifest.deployment_block,
                        {**suite.manifest.addresses, "AnchorLedger": manifest.ledger_address},
                        suite.manifest.abi_hashes, suite.manifest.deployer)
    now = w.now()
    return w.verify(w.code(cert, now=now), HE, now=now, views=w.foreign_views(migrated, "migrated"))


def _key_retired(w: World) -> tuple[Outcome, Outcome]:
    """A key compromise found late: the key is retired from the moment of the later anchor."""
    dept = w.register("bj-retired-key")
    before = w.issue_one(dept)
    w.advance(30)
    after = w.issue_one(dept)
    anchored_at = w.net.huren.anchor_of(after.batch_root)["timestamp"]
    w.net.regional(BJ, "IssuerRegistry", "retireKey", BJ, dept.issuer_id, dept.account.address, anchored_at)
    now = w.now()
    return (w.verify(w.code(before, now=now), HE, now=now), w.verify(w.code(after, now=now), HE, now=now))


def issuer_not_authorised_key_retired_before_anchor(w: World) -> Outcome:
    return w.memo("key-retired", _key_retired)[1]


def valid_anchored_before_key_retirement(w: World) -> Outcome:
    return w.memo("key-retired", _key_retired)[0]


def issuer_not_authorised_other_departments_key(w: World) -> Outcome:
    # Signed with a sibling department's registered key, anchored by this department.
    sibling = w.register("bj-sibling")
    rogue = w.second_store(_main(w), "bj-amr-rogue", signing_key=bytes(sibling.account.key))
    cert = w.issue_one(rogue)
    now = w.now()
    return w.verify(w.code(cert, now=now), HE, now=now)


def _issuer_revoked(w: World) -> tuple[Outcome, Outcome]:
    """The issuer is revoked from the moment of its later anchor (backdated: found out afterwards)."""
    dept = w.register("bj-revoked")
    before = w.issue_one(dept)
    w.advance(30)
    after = w.issue_one(dept)
    anchored_at = w.net.huren.anchor_of(after.batch_root)["timestamp"]
    w.advance(30)
    w.net.regional(BJ, "IssuerRegistry", "revokeIssuer", BJ, dept.issuer_id, anchored_at)
    now = w.now()
    return (w.verify(w.code(before, now=now), HE, now=now), w.verify(w.code(after, now=now), HE, now=now))


def issuer_revoked_anchored_after_revocation(w: World) -> Outcome:
    return w.memo("issuer-revoked", _issuer_revoked)[1]


def valid_anchored_before_issuer_revocation(w: World) -> Outcome:
    return w.memo("issuer-revoked", _issuer_revoked)[0]


def _after_status_changes(w: World, *actions: str) -> Outcome:
    dept = _main(w)
    cert = w.issue_one(dept)
    for action in actions:
        w.change_status(dept, cert, action)
    now = w.now()
    return w.verify(w.code(cert, now=now), HE, now=now)


def revoked(w: World) -> Outcome:
    return _after_status_changes(w, "revoke")


def suspended(w: World) -> Outcome:
    return _after_status_changes(w, "suspend")


def valid_after_reinstatement(w: World) -> Outcome:
    return _after_status_changes(w, "suspend", "reinstate")


def revoked_after_suspension(w: World) -> Outcome:
    return _after_status_changes(w, "suspend", "revoke")


def expired(w: World) -> Outcome:
    today = w.today()
    cert = w.issue_one(_main(w), valid_until=today - days(1))  # the sample's validFrom is before late 2025
    now = w.now()
    return w.verify(w.code(cert, now=now), HE, now=now)


def not_yet_valid(w: World) -> Outcome:
    today = w.today()
    cert = w.issue_one(_main(w), valid_from=today + days(30), valid_until=today + days(30 + 5 * 365))
    now = w.now()
    return w.verify(w.code(cert, now=now), HE, now=now)


def not_recognised(w: World) -> Outcome:
    cert = w.issue_one(_main(w))
    now = w.now()
    return w.verify(w.code(cert, now=now), SH, now=now)


def presentation_expired(w: World) -> Outcome:
    cert = w.issue_one(_main(w))
    now = w.now()
    return w.verify(w.code(cert, now=now - 900, ttl_s=300), HE, now=now)  # a screenshot from 15 minutes ago


def presentation_made_in_the_future(w: World) -> Outcome:
    cert = w.issue_one(_main(w))
    now = w.now()
    return w.verify(w.code(cert, now=now + 3600), HE, now=now)


def holder_binding_resigned_by_another_key(w: World) -> Outcome:
    key = new_holder_key()
    cert = w.issue_one(_main(w), holder=holder_address(key))
    now = w.now()
    p = w.presentation(cert, now=now, holder_key=key)
    forged = replace(p, holder_signature=sign_digest(new_holder_key(), holder_signing_digest(w.domain, p)))
    return w.verify(encode(forged), HE, now=now)


def holder_binding_missing_signature(w: World) -> Outcome:
    cert = w.issue_one(_main(w), holder=holder_address(new_holder_key()))
    now = w.now()
    return w.verify(w.code(cert, now=now, paths=[*LICENCE_PATHS, "holder.address"]), HE, now=now)


def malformed_not_a_code(w: World) -> Outcome:
    return w.verify("HR1:THIS IS NOT A PRESENTATION", HE)


def malformed_truncated_code(w: World) -> Outcome:
    cert = w.issue_one(_main(w))
    now = w.now()
    text = w.code(cert, now=now)
    return w.verify(text[: len(text) * 2 // 3], HE, now=now)  # half-read by a poor camera


def unavailable_node_stopped_following(w: World) -> Outcome:
    """The node answers, but its newest block is older than the bound: it stopped following the
    network (partitioned, or a replica behind). Both views read it; neither may say VALID."""
    cert = w.issue_one(_main(w))
    made = w.now()
    text = w.code(cert, now=made)
    bound = w.policy(HE, CONFIRMATIONS).max_facts_age_s
    return w.verify(text, HE, now=w.chain_time() + bound + 1)  # no block since: the facts are bound + 1 s old


@dataclass(frozen=True)
class Row:
    name: str
    build: Callable[[World], Outcome]
    verdict: Verdict
    deciding_check: str | None  # the failed check that decides (None for VALID)


V = Verdict
TABLE: tuple[Row, ...] = (
    Row("valid, recognised in another region", valid_recognised_in_another_region, V.VALID, None),
    Row("valid in the issuing region", valid_in_own_region, V.VALID, None),
    Row("valid, signed by the bound holder", valid_signed_by_bound_holder, V.VALID, None),
    # HR2 carries neither root: a changed field, salt or batch proof leads to other roots, and the
    # first signature over them that the engine checks is the node's stamp.
    Row("tampered: changed disclosed value", tampered_value, V.TAMPERED, "stamp_signature"),
    Row("tampered: changed salt", tampered_salt, V.TAMPERED, "stamp_signature"),
    Row("tampered: swapped batch proof", tampered_swapped_batch_proof, V.TAMPERED, "stamp_signature"),
    Row("tampered: another certificate's issuer signature", tampered_swapped_issuer_signature, V.TAMPERED,
        "signing_key"),
    Row("not anchored: batch never sent", not_anchored, V.NOT_ANCHORED, "anchor"),
    Row("pending finality: anchor without enough confirmations", pending_finality, V.PENDING_FINALITY, "finality"),
    Row("unknown issuer: anchoring department not in the verifier's registry", unknown_issuer, V.UNKNOWN_ISSUER,
        "issuer_registered"),
    Row("issuer not authorised: signing key retired before the anchor",
        issuer_not_authorised_key_retired_before_anchor, V.ISSUER_NOT_AUTHORISED, "signing_key"),
    Row("valid: anchored before the key's retirement", valid_anchored_before_key_retirement, V.VALID, None),
    Row("issuer not authorised: another department's key", issuer_not_authorised_other_departments_key,
        V.ISSUER_NOT_AUTHORISED, "signing_key"),
    Row("issuer revoked: anchored after the backdated revocation", issuer_revoked_anchored_after_revocation,
        V.ISSUER_REVOKED, "issuer_standing"),
    Row("valid: anchored before the issuer's revocation", valid_anchored_before_issuer_revocation, V.VALID, None),
    Row("revoked", revoked, V.REVOKED, "certificate_status"),
    Row("revoked after a suspension", revoked_after_suspension, V.REVOKED, "certificate_status"),
    Row("suspended", suspended, V.SUSPENDED, "certificate_status"),
    Row("valid after suspension and reinstatement", valid_after_reinstatement, V.VALID, None),
    Row("expired", expired, V.EXPIRED, "validity_period"),
    Row("not yet valid", not_yet_valid, V.NOT_YET_VALID, "validity_period"),
    Row("not recognised in Shanghai", not_recognised, V.NOT_RECOGNISED, "recognition"),
    Row("presentation expired: a screenshot", presentation_expired, V.PRESENTATION_EXPIRED, "presentation_window"),
    Row("holder binding failed: re-signed by another key", holder_binding_resigned_by_another_key,
        V.HOLDER_BINDING_FAILED, "holder_binding"),
    Row("holder binding failed: bound but unsigned", holder_binding_missing_signature, V.HOLDER_BINDING_FAILED,
        "holder_binding"),
    Row("malformed: not a code", malformed_not_a_code, V.MALFORMED, "decode"),
    Row("malformed: truncated code", malformed_truncated_code, V.MALFORMED, "decode"),
    Row("malformed: presentation made in the future", presentation_made_in_the_future, V.MALFORMED,
        "presentation_window"),
    Row("unavailable: the node stopped following (newest block older than the bound)",
        unavailable_node_stopped_following, V.UNAVAILABLE, "status_freshness"),
)


def _outcome(row: Row, world: World, outcomes: dict[str, Outcome]) -> Outcome:
    if row.name not in outcomes:
        outcomes[row.name] = row.build(world)
    return outcomes[row.name]


@pytest.mark.parametrize("row", TABLE, ids=[r.name for r in TABLE])
def test_verdict_from_real_issuance(row: Row, world: World, outcomes: dict[str, Outcome]) -> None:
    outcome = _outcome(row, world, outcomes)
    assert outcome.verdict == row.verdict, [c.to_dict() for c in outcome.indexed.checks]
    assert outcome.deciding_check == row.deciding_check


@pytest.mark.parametrize("row", TABLE, ids=[r.name for r in TABLE])
def test_naive_verifier_agrees(row: Row, world: World, outcomes: dict[str, Outcome]) -> None:
    outcome = _outcome(row, world, outcomes)
    assert comparable(outcome.naive) == comparable(outcome.indexed)


def test_table_covers_every_verdict() -> None:
    assert {row.verdict for row in TABLE} == set(Verdict)


# ============================================================================ sequences and facts


def test_suspended_certificate_reads_valid_again_after_reinstatement(world: World) -> None:
    dept = world.departments["bj-amr"]
    cert = world.issue_one(dept)
    seen = []
    for action in (None, "suspend", "reinstate"):
        if action is not None:
            world.change_status(dept, cert, action)
        now = world.now()
        outcome = world.verify(world.code(cert, now=now), HE, now=now)
        assert comparable(outcome.naive) == comparable(outcome.indexed)
        seen.append(outcome.verdict)
    assert seen == ["VALID", "SUSPENDED", "VALID"]


def test_young_anchor_reads_valid_once_confirmed(world: World) -> None:
    cert = world.issue_one(world.departments["bj-amr"], settle=False)
    now = world.now()
    text = world.code(cert, now=now)
    assert world.verify(text, HE, now=now, confirmations=3).verdict == "PENDING_FINALITY"
    world.mine(2)
    assert world.verify(text, HE, now=now, confirmations=3).verdict == "VALID"


def test_valid_answer_names_the_anchor_transaction_and_chain_height(world: World) -> None:
    cert = world.issue_one(world.departments["bj-amr"])
    now = world.now()
    result = world.verify(world.code(cert, now=now), HE, now=now).indexed
    head = world.net.rpc.block_number()
    assert result.anchor is not None and result.freshness is not None
    assert (result.anchor.tx_hash, result.anchor.block_number) == (cert.tx_hash, cert.block_number)
    assert result.anchor.confirmations == head - cert.block_number + 1 >= CONFIRMATIONS
    assert result.freshness.height == head
    assert result.disclosed["claims.entityName"] == cert.document["claims"]["entityName"]


def test_index_that_stopped_following_reads_unavailable_while_the_node_moves_on(world: World) -> None:
    cert = world.issue_one(world.departments["bj-amr"])
    views = chain_views(world.net, world.net.manifest, world.tmp / "stale-index.sqlite")
    views.sync()
    bound = world.policy(HE, CONFIRMATIONS).max_facts_age_s
    world.advance(bound + 5)  # the chain makes a newer block; this index does not read it
    now = world.now()
    outcome = world.verify(world.code(cert, now=now), HE, now=now, views=views, sync=False)
    assert outcome.verdict == "UNAVAILABLE"
    assert "本地链上索引" in (outcome.indexed.reason or "")
    assert outcome.naive.verdict is Verdict.VALID  # the naive verifier reads the new block itself


def test_node_killed_reads_unavailable_once_the_index_is_older_than_the_bound(tmp_path: Path) -> None:
    from ledger.compile import compile_contracts

    node = start_anvil()
    try:
        field = World.create(node, tmp_path / "field-office", compile_contracts())
        cert = field.issue_one(field.register("bj-amr"))
        views = chain_views(field.net, field.net.manifest, field.tmp / "index.sqlite")
        views.sync()
        made = field.now()
        text = field.code(cert, now=made)
        bound = field.policy(HE, CONFIRMATIONS).max_facts_age_s
        node.kill()
        with pytest.raises(NodeUnavailable):
            views.indexer.step()
        policy = field.policy(HE, CONFIRMATIONS)
        within = verify_text(text, views.indexed, policy, views.indexer.stats.head_time + bound)
        past = verify_text(text, views.indexed, policy, views.indexer.stats.head_time + bound + 1)
        assert within.verdict is Verdict.VALID  # a short outage: the index's facts are still young enough
        assert past.verdict is Verdict.UNAVAILABLE
        assert "读取链节点失败" in (past.reason or "")
    finally:
        node.stop()


def test_one_deployment_refuses_an_anchor_from_an_unregistered_key(world: World) -> None:
    stranger = world.net.new_account()
    with pytest.raises(ContractRefused) as refused:
        world.net.huren.anchor(world.net.sender(stranger), b"\x42" * 32, LICENCE, 1)
    assert refused.value.error == "UnknownKey"

