"""When several things are wrong at once, which verdict wins (engine.py documents the order)."""

from __future__ import annotations

from dataclasses import replace

from verifier_world import (
    ANCHOR_TIME,
    DOMAIN,
    NOW,
    World,
    anchor_new_batch,
    key_of,
    other_region_verifier,
    replace_field,
    set_status,
    with_fields,
)

from common.facts import CertStatus, IssuerStatus
from verifier._ecdsa import address_of, sign_digest
from verifier.engine import verify
from verifier.presentation import holder_signing_digest
from verifier.verdicts import Verdict

DOCUMENTED_ORDER = [
    "crypto_suite",
    "structure",
    "presentation_window",
    "disclosure_proof",
    "batch_proof",
    "issuer_signature",
    "holder_binding",
    "stamp",
    "status_freshness",
    "stamp_signature",
    "anchor",
    "issuer_identity",
    "certificate_type",
    "finality",
    "issuer_registered",
    "signing_key",
    "anchoring_key",
    "issuer_region",
    "issuer_standing",
    "certificate_status",
    "validity_period",
    "recognition",
]


def run(w: World, p):  # type: ignore[no-untyped-def]
    return verify(p, w.view, w.policy, w.now)


def test_a_valid_certificate_runs_every_check_once_in_the_documented_order(world: World) -> None:
    result = run(world, world.present())
    assert [c.name for c in result.checks] == DOCUMENTED_ORDER
    assert all(c.ok for c in result.checks)


def test_revoked_beats_expired(world: World) -> None:
    p = anchor_new_batch(world, valid_until="2025-05-31")
    assert run(world, set_status(world, p, CertStatus.REVOKED)).verdict is Verdict.REVOKED


def test_suspended_beats_expired(world: World) -> None:
    p = anchor_new_batch(world, valid_until="2025-05-31")
    assert run(world, set_status(world, p, CertStatus.SUSPENDED)).verdict is Verdict.SUSPENDED


def test_revoked_beats_not_recognised(world: World) -> None:
    other_region_verifier(world)
    assert run(world, set_status(world, world.present(), CertStatus.REVOKED)).verdict is Verdict.REVOKED


def test_expired_beats_not_recognised(world: World) -> None:
    other_region_verifier(world)
    assert run(world, anchor_new_batch(world, valid_until="2025-05-31")).verdict is Verdict.EXPIRED


def test_issuer_revoked_beats_certificate_revoked(world: World) -> None:
    world.view.issuers[world.issuer_id] = replace(
        world.view.issuers[world.issuer_id], status=IssuerStatus.REVOKED, revoked_from=ANCHOR_TIME - 1
    )
    assert run(world, set_status(world, world.present(), CertStatus.REVOKED)).verdict is Verdict.ISSUER_REVOKED


def test_pending_finality_beats_unknown_issuer(world: World) -> None:
    world.view.set_confirmations(world.batch.root, 1)
    del world.view.issuers[world.issuer_id]
    assert run(world, world.present()).verdict is Verdict.PENDING_FINALITY


def test_type_mismatch_is_tampered_even_before_finality(world: World) -> None:
    world.view.set_confirmations(world.batch.root, 1)
    anchor = world.view.anchors[world.batch.root]
    world.view.anchors[world.batch.root] = replace(anchor, type_code="11100000000013338W009")
    assert run(world, world.present()).verdict is Verdict.TAMPERED


def test_tampered_beats_revoked_and_asks_the_chain_nothing(world: World) -> None:
    p = set_status(world, world.present(), CertStatus.REVOKED)
    result = run(world, replace_field(p, "holder.name", value="李四"))
    assert result.verdict is Verdict.TAMPERED
    assert world.view.calls == []


def test_tampered_is_reported_even_when_the_chain_is_unavailable(world: World) -> None:
    world.view.fail_on = "*"
    result = run(world, replace_field(world.present(), "holder.name", value="李四"))
    assert result.verdict is Verdict.TAMPERED


def test_malformed_beats_tampered(world: World) -> None:
    p = replace_field(world.present(), "holder.name", value="李四")
    p = with_fields(p, [f for f in p.disclosure.fields if f.path != "validFrom"])
    assert run(world, p).verdict is Verdict.MALFORMED


def test_expired_presentation_is_refused_before_any_cryptography_or_chain_query(world: World) -> None:
    p = replace_field(world.present(created_at=NOW - 1000), "holder.name", value="李四")
    result = run(world, p)
    assert result.verdict is Verdict.PRESENTATION_EXPIRED
    assert [c.name for c in result.checks] == ["crypto_suite", "structure", "presentation_window"]
    assert world.view.calls == []


def test_forged_holder_address_reads_tampered_not_binding_failure(world: World) -> None:
    thief = key_of("thief")
    p = replace_field(world.present(0, ("holder.address",)), "holder.address", value=address_of(thief))
    p = replace(p, holder_signature=sign_digest(thief, holder_signing_digest(DOMAIN, p)))
    assert run(world, p).verdict is Verdict.TAMPERED


def test_holder_binding_failure_asks_the_chain_nothing(world: World) -> None:
    result = run(world, world.present(0, ("holder.address",)))
    assert result.verdict is Verdict.HOLDER_BINDING_FAILED
    assert world.view.calls == []
    assert result.anchor is None


def test_unavailable_keeps_the_checks_run_so_far(world: World) -> None:
    world.view.fail_on = "issuer"
    result = run(world, world.present())
    assert result.verdict is Verdict.UNAVAILABLE
    assert [c.name for c in result.checks] == [
        *DOCUMENTED_ORDER[: DOCUMENTED_ORDER.index("issuer_registered")],
        "chain_access",
    ]
    assert result.reason == "node unreachable during issuer"


def test_not_recognised_is_only_reported_after_every_other_check_passed(world: World) -> None:
    other_region_verifier(world)
    result = run(world, world.present())
    assert result.verdict is Verdict.NOT_RECOGNISED
    assert [c.name for c in result.checks] == DOCUMENTED_ORDER
    assert all(c.ok for c in result.checks[:-1])
