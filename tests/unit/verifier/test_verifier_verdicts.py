"""Every verdict, each reached through real hashing and signing and one changed fact.

Each row: a scenario name, how to set it up (change the fake chain's facts, the policy, or
the presentation the way an attacker or an accident would), the verdict, and the check that
decides it. The engine stops at the first failing check, so that check must be the last one
run and every earlier one must have passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from verifier_world import (
    ANCHOR_TIME,
    CREDIT_B,
    DOMAIN,
    KEY_FROM,
    NOW,
    SHANGHAI,
    TYPE_FOOD,
    TYPE_OTHER,
    ZHEJIANG_HANGZHOU,
    World,
    address_of,
    anchor_new_batch,
    key_of,
    make_batch,
    make_document,
    other_region_verifier,
    replace_field,
    set_status,
    with_fields,
)

from common.document import SaltedField, issuer_id
from common.eip712 import sign_document_root
from common.facts import (
    CertStatus,
    CertStatusFacts,
    IssuerFacts,
    IssuerStatus,
    KeyFacts,
    RecognitionRule,
)
from common.hashing import keccak
from verifier._ecdsa import sign_digest
from verifier.engine import verify
from verifier.presentation import Presentation, holder_signing_digest
from verifier.verdicts import Verdict

Setup = Callable[[World], Presentation]


@dataclass(frozen=True)
class Row:
    name: str
    setup: Setup
    verdict: Verdict
    deciding_check: str


def _register_issuer_b(w: World, signing_key: bytes) -> bytes:
    ib = issuer_id(CREDIT_B)
    w.view.issuers[ib] = IssuerFacts(ib, ZHEJIANG_HANGZHOU, IssuerStatus.ACTIVE, KEY_FROM, None, frozenset({TYPE_FOOD}))
    address = address_of(signing_key)
    w.view.keys[address] = KeyFacts(address, ib, KEY_FROM, None)
    return ib


# ----------------------------------------------------------------------------- VALID


def valid_in_own_region(w: World) -> Presentation:
    return w.present()


def valid_bound_holder_signed(w: World) -> Presentation:
    return w.present(0, bound=True)


def valid_recognised_by_region_rule(w: World) -> Presentation:
    other_region_verifier(w)
    w.view.rules.append(RecognitionRule(SHANGHAI, TYPE_FOOD, ZHEJIANG_HANGZHOU, ANCHOR_TIME, None))
    return w.present()


def valid_recognised_by_every_region_rule(w: World) -> Presentation:
    other_region_verifier(w)
    w.view.rules.append(RecognitionRule(SHANGHAI, TYPE_FOOD, 0, NOW - 10, NOW + 10))
    return w.present()


def valid_after_key_rotation(w: World) -> Presentation:
    w.view.keys[w.issuer_address] = replace(w.view.keys[w.issuer_address], valid_until=ANCHOR_TIME + 1)
    return w.present()


def valid_issuer_revoked_only_after_anchor(w: World) -> Presentation:
    ia = w.issuer_id
    w.view.issuers[ia] = replace(
        w.view.issuers[ia], status=IssuerStatus.REVOKED, status_since=NOW - 60, revoked_from=ANCHOR_TIME + 1
    )
    return w.present()


def valid_issuer_suspended_now(w: World) -> Presentation:
    w.view.issuers[w.issuer_id] = replace(
        w.view.issuers[w.issuer_id], status=IssuerStatus.SUSPENDED, status_since=NOW - 60
    )
    return w.present()


def valid_issuer_no_longer_authorised_for_type(w: World) -> Presentation:
    w.view.issuers[w.issuer_id] = replace(w.view.issuers[w.issuer_id], authorised_types=frozenset())
    return w.present()


def valid_on_last_day_china_time(w: World) -> Presentation:
    return anchor_new_batch(w, valid_until="2025-06-01")


def valid_without_end_date(w: World) -> Presentation:
    return anchor_new_batch(w, valid_until=None)


def valid_presentation_expired_within_clock_skew(w: World) -> Presentation:
    return w.present(created_at=NOW - 330, ttl_s=300)  # expired 30 s ago, skew is 60 s


def valid_with_every_field_disclosed(w: World) -> Presentation:
    return w.present(0, [f.path for f in w.batch.documents[0]], bound=True)


# ----------------------------------------------------------------------------- TAMPERED


def tampered_disclosed_value(w: World) -> Presentation:
    return replace_field(w.present(), "holder.name", value="李四")


def tampered_validity_date_extended(w: World) -> Presentation:
    return replace_field(w.present(), "validUntil", value="2039-12-31")


def tampered_salt(w: World) -> Presentation:
    return replace_field(w.present(), "holder.name", salt=bytes(16))


def tampered_path(w: World) -> Presentation:
    return replace_field(w.present(), "claims.licenceNo", path="claims.permitNo")


def tampered_hidden_field_injected(w: World) -> Presentation:
    p = w.present()
    fake = SaltedField("holder.idNumber", "110101199003077777", bytes(16))
    return with_fields(p, [*p.disclosure.fields, fake])


def tampered_multiproof_hash(w: World) -> Presentation:
    p = w.present()
    proof = [keccak(b"x"), *p.disclosure.proof[1:]]
    return replace(p, disclosure=replace(p.disclosure, proof=proof))


def tampered_multiproof_flags(w: World) -> Presentation:
    p = w.present()
    return replace(p, disclosure=replace(p.disclosure, flags=[not f for f in p.disclosure.flags]))


def tampered_document_root(w: World) -> Presentation:
    return replace(w.present(), document_root=keccak(b"another document"))


def tampered_batch_proof(w: World) -> Presentation:
    p = w.present()
    return replace(p, batch_proof=[*p.batch_proof[:-1], keccak(b"y")])


def tampered_batch_root(w: World) -> Presentation:
    return replace(w.present(), batch_root=keccak(b"someone else's batch"))


def tampered_issuer_signature_high_s(w: World) -> Presentation:
    p = w.present()
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(p.issuer_signature[32:64], "big")
    v = 55 - p.issuer_signature[64]  # 27 <-> 28
    return replace(p, issuer_signature=p.issuer_signature[:32] + (n - s).to_bytes(32, "big") + bytes((v,)))


def tampered_signature_of_another_document(w: World) -> Presentation:
    return replace(w.present(1), issuer_signature=w.batch.signatures[2])


def tampered_signed_by_outsider_key(w: World) -> Presentation:
    p = w.present()
    return replace(p, issuer_signature=sign_document_root(key_of("outsider"), DOMAIN, p.document_root))


def tampered_claims_other_issuer(w: World) -> Presentation:
    # Issuer B (registered, its own key) anchors a document that names issuer A as 颁发机构.
    key_b = key_of("issuer-b/signing-key")
    ib = _register_issuer_b(w, key_b)
    batch = make_batch(4, signer_key=key_b, holder_key=None)  # creditCode = CREDIT_A
    w.view.add_anchor(batch.root, issuer=ib, key=address_of(key_b))
    return w.present(1, batch=batch)


def tampered_type_differs_from_anchor(w: World) -> Presentation:
    anchor = w.view.anchors[w.batch.root]
    w.view.anchors[w.batch.root] = replace(anchor, type_code=TYPE_OTHER)
    return w.present()


def tampered_signing_address_differs(w: World) -> Presentation:
    def doc(n: int) -> dict[str, object]:
        return make_document(n, signing_address=address_of(key_of("not-the-signer")), holder_address=None)

    batch = make_batch(4, signer_key=w.issuer_key, holder_key=None, fill=doc)
    w.view.add_anchor(batch.root, issuer=w.issuer_id, key=w.issuer_address)
    return w.present(1, ("issuer.signingAddress",), batch=batch)


# ----------------------------------------------------------------------------- chain verdicts


def not_anchored(w: World) -> Presentation:
    del w.view.anchors[w.batch.root]
    return w.present()


def pending_finality(w: World) -> Presentation:
    w.view.set_confirmations(w.batch.root, 1)
    return w.present()


def unknown_issuer(w: World) -> Presentation:
    del w.view.issuers[w.issuer_id]
    return w.present()


def signing_key_of_another_issuer(w: World) -> Presentation:
    key_b = key_of("issuer-b/signing-key")
    _register_issuer_b(w, key_b)
    batch = make_batch(4, signer_key=key_b, holder_key=None)
    w.view.add_anchor(batch.root, issuer=w.issuer_id, key=w.issuer_address)
    return w.present(1, batch=batch)


def signing_key_not_yet_valid_at_anchor(w: World) -> Presentation:
    w.view.keys[w.issuer_address] = replace(w.view.keys[w.issuer_address], valid_from=ANCHOR_TIME + 1)
    return w.present()


def signing_key_retired_before_anchor(w: World) -> Presentation:
    w.view.keys[w.issuer_address] = replace(w.view.keys[w.issuer_address], valid_until=ANCHOR_TIME)
    return w.present()


def anchoring_key_unregistered(w: World) -> Presentation:
    anchor = w.view.anchors[w.batch.root]
    w.view.anchors[w.batch.root] = replace(anchor, key=address_of(key_of("stolen hot wallet")))
    return w.present()


def anchoring_key_of_another_issuer(w: World) -> Presentation:
    key_b = key_of("issuer-b/signing-key")
    _register_issuer_b(w, key_b)
    anchor = w.view.anchors[w.batch.root]
    w.view.anchors[w.batch.root] = replace(anchor, key=address_of(key_b))
    return w.present()


def region_differs_from_registry(w: World) -> Presentation:
    w.view.issuers[w.issuer_id] = replace(w.view.issuers[w.issuer_id], region=330100)
    return w.present()


def issuer_revoked_before_anchor(w: World) -> Presentation:
    w.view.issuers[w.issuer_id] = replace(
        w.view.issuers[w.issuer_id], status=IssuerStatus.REVOKED, status_since=NOW - 60, revoked_from=ANCHOR_TIME - 1
    )
    return w.present()


def issuer_revoked_at_anchor_time(w: World) -> Presentation:
    w.view.issuers[w.issuer_id] = replace(w.view.issuers[w.issuer_id], revoked_from=ANCHOR_TIME)
    return w.present()


def issuer_revoked_status_without_time(w: World) -> Presentation:
    w.view.issuers[w.issuer_id] = replace(
        w.view.issuers[w.issuer_id], status=IssuerStatus.REVOKED, status_since=ANCHOR_TIME - 5, revoked_from=None
    )
    return w.present()


def certificate_revoked(w: World) -> Presentation:
    return set_status(w, w.present(), CertStatus.REVOKED)


def certificate_suspended(w: World) -> Presentation:
    return set_status(w, w.present(), CertStatus.SUSPENDED)


def certificate_revoked_by_another_issuer_does_not_count(w: World) -> Presentation:
    p = w.present()
    w.view.statuses[(issuer_id(CREDIT_B), p.document_root)] = CertStatusFacts(
        p.document_root, CertStatus.REVOKED, NOW - 3600, 1
    )
    return p


def expired_yesterday(w: World) -> Presentation:
    return anchor_new_batch(w, valid_until="2025-05-31")


def expired_in_china_time_though_not_in_utc(w: World) -> Presentation:
    # 2025-06-01 00:30 in Beijing is still 2025-05-31 in UTC.
    w.now = 1748709000
    return anchor_new_batch(w, valid_until="2025-05-31")  # made at w.now - 30, stamped


def not_yet_valid(w: World) -> Presentation:
    return anchor_new_batch(w, valid_from="2025-06-02", valid_until="2030-06-01")


def not_recognised_without_rule(w: World) -> Presentation:
    other_region_verifier(w)
    return w.present()


def not_recognised_rule_for_other_type(w: World) -> Presentation:
    other_region_verifier(w)
    w.view.rules.append(RecognitionRule(SHANGHAI, TYPE_OTHER, ZHEJIANG_HANGZHOU, ANCHOR_TIME, None))
    return w.present()


def not_recognised_rule_ended(w: World) -> Presentation:
    other_region_verifier(w)
    w.view.rules.append(RecognitionRule(SHANGHAI, TYPE_FOOD, ZHEJIANG_HANGZHOU, ANCHOR_TIME, NOW))
    return w.present()


def not_recognised_rule_not_yet_in_force(w: World) -> Presentation:
    other_region_verifier(w)
    w.view.rules.append(RecognitionRule(SHANGHAI, TYPE_FOOD, ZHEJIANG_HANGZHOU, NOW + 1, None))
    return w.present()


def not_recognised_rule_for_other_issuer_region(w: World) -> Presentation:
    other_region_verifier(w)
    w.view.rules.append(RecognitionRule(SHANGHAI, TYPE_FOOD, 440000, ANCHOR_TIME, None))
    return w.present()


# ----------------------------------------------------------------------------- presentation verdicts


def presentation_expired(w: World) -> Presentation:
    return w.present(created_at=NOW - 400, ttl_s=300)


def presentation_too_old_for_policy(w: World) -> Presentation:
    return w.present(created_at=NOW - 700, ttl_s=3600)


def created_in_the_future(w: World) -> Presentation:
    return w.present(created_at=NOW + 120)


def holder_address_disclosed_without_signature(w: World) -> Presentation:
    return w.present(0, ("holder.name", "holder.address"))


def holder_signature_by_another_key(w: World) -> Presentation:
    p = w.present(0, ("holder.name", "holder.address"))
    return replace(p, holder_signature=sign_digest(key_of("thief"), holder_signing_digest(DOMAIN, p)))


def holder_signature_without_disclosed_address(w: World) -> Presentation:
    p = w.present(1)
    return replace(p, holder_signature=sign_digest(key_of("anyone"), holder_signing_digest(DOMAIN, p)))


def holder_signature_replayed_from_other_presentation(w: World) -> Presentation:
    earlier = w.present(0, bound=True, created_at=NOW - 200)
    later = w.present(0, ("holder.address",), created_at=NOW - 20)
    return replace(later, holder_signature=earlier.holder_signature)


def purpose_changed_after_holder_signed(w: World) -> Presentation:
    return replace(w.present(0, bound=True), purpose="办理贷款")


def expiry_extended_after_holder_signed(w: World) -> Presentation:
    p = w.present(0, bound=True)
    return replace(p, expires_at=p.expires_at + 200)


def binding_required_but_unbound(w: World) -> Presentation:
    w.policy = replace(w.policy, require_holder_binding=True)
    return w.present(1)


def missing_always_disclosed_field(w: World) -> Presentation:
    p = w.present()
    return with_fields(p, [f for f in p.disclosure.fields if f.path != "validUntil"])


def unsupported_document_version(w: World) -> Presentation:
    return replace_field(w.present(), "version", value=2)


def malformed_date(w: World) -> Presentation:
    return replace_field(w.present(), "validFrom", value="2025/01/01")


def unsupported_presentation_version(w: World) -> Presentation:
    return replace(w.present(), version=2)


def _unavailable_on(method: str) -> Setup:
    def setup(w: World) -> Presentation:
        w.view.fail_on = method
        if method == "recognition":
            other_region_verifier(w)
            w.view.rules.append(RecognitionRule(SHANGHAI, TYPE_FOOD, 0, ANCHOR_TIME, None))
        return w.present()

    setup.__name__ = f"unavailable_when_{method}_fails"
    return setup


def stale_snapshot_facts(w: World) -> Presentation:
    w.view.source = "snapshot"
    w.view.head_time = NOW - 7 * 3600
    return w.present()


V = Verdict
ROWS = [
    Row("valid_in_own_region", valid_in_own_region, V.VALID, "recognition"),
    Row("valid_bound_holder_signed", valid_bound_holder_signed, V.VALID, "recognition"),
    Row("valid_recognised_by_region_rule", valid_recognised_by_region_rule, V.VALID, "recognition"),
    Row("valid_recognised_by_every_region_rule", valid_recognised_by_every_region_rule, V.VALID, "recognition"),
    Row("valid_after_key_rotation", valid_after_key_rotation, V.VALID, "recognition"),
    Row("valid_issuer_revoked_only_after_anchor", valid_issuer_revoked_only_after_anchor, V.VALID, "recognition"),
    Row("valid_issuer_suspended_now", valid_issuer_suspended_now, V.VALID, "recognition"),
    Row("valid_type_authorisation_withdrawn_later", valid_issuer_no_longer_authorised_for_type, V.VALID, "recognition"),
    Row("valid_on_last_day_china_time", valid_on_last_day_china_time, V.VALID, "recognition"),
    Row("valid_without_end_date", valid_without_end_date, V.VALID, "recognition"),
    Row("valid_expired_within_clock_skew", valid_presentation_expired_within_clock_skew, V.VALID, "recognition"),
    Row("valid_with_every_field_disclosed", valid_with_every_field_disclosed, V.VALID, "recognition"),
    Row("tampered_disclosed_value", tampered_disclosed_value, V.TAMPERED, "disclosure_proof"),
    Row("tampered_validity_date_extended", tampered_validity_date_extended, V.TAMPERED, "disclosure_proof"),
    Row("tampered_salt", tampered_salt, V.TAMPERED, "disclosure_proof"),
    Row("tampered_path", tampered_path, V.TAMPERED, "disclosure_proof"),
    Row("tampered_hidden_field_injected", tampered_hidden_field_injected, V.TAMPERED, "disclosure_proof"),
    Row("tampered_multiproof_hash", tampered_multiproof_hash, V.TAMPERED, "disclosure_proof"),
    Row("tampered_multiproof_flags", tampered_multiproof_flags, V.TAMPERED, "disclosure_proof"),
    Row("tampered_document_root", tampered_document_root, V.TAMPERED, "disclosure_proof"),
    Row("tampered_batch_proof", tampered_batch_proof, V.TAMPERED, "batch_proof"),
    Row("tampered_batch_root", tampered_batch_root, V.TAMPERED, "batch_proof"),
    Row("tampered_issuer_signature_high_s", tampered_issuer_signature_high_s, V.TAMPERED, "issuer_signature"),
    Row("tampered_signing_address_differs", tampered_signing_address_differs, V.TAMPERED, "issuer_signature"),
    Row("tampered_claims_other_issuer", tampered_claims_other_issuer, V.TAMPERED, "issuer_identity"),
    Row("tampered_type_differs_from_anchor", tampered_type_differs_from_anchor, V.TAMPERED, "certificate_type"),
    Row("tampered_signature_of_other_document", tampered_signature_of_another_document, V.TAMPERED, "signing_key"),
    Row("tampered_signed_by_outsider_key", tampered_signed_by_outsider_key, V.TAMPERED, "signing_key"),
    Row("not_anchored", not_anchored, V.NOT_ANCHORED, "anchor"),
    Row("pending_finality", pending_finality, V.PENDING_FINALITY, "finality"),
    Row("unknown_issuer", unknown_issuer, V.UNKNOWN_ISSUER, "issuer_registered"),
    Row("signing_key_of_another_issuer", signing_key_of_another_issuer, V.ISSUER_NOT_AUTHORISED, "signing_key"),
    Row("signing_key_not_yet_valid", signing_key_not_yet_valid_at_anchor, V.ISSUER_NOT_AUTHORISED, "signing_key"),
    Row("signing_key_retired_before", signing_key_retired_before_anchor, V.ISSUER_NOT_AUTHORISED, "signing_key"),
    Row("anchoring_key_unregistered", anchoring_key_unregistered, V.ISSUER_NOT_AUTHORISED, "anchoring_key"),
    Row("anchoring_key_other_issuer", anchoring_key_of_another_issuer, V.ISSUER_NOT_AUTHORISED, "anchoring_key"),
    Row("region_differs_from_registry", region_differs_from_registry, V.ISSUER_NOT_AUTHORISED, "issuer_region"),
    Row("issuer_revoked_before_anchor", issuer_revoked_before_anchor, V.ISSUER_REVOKED, "issuer_standing"),
    Row("issuer_revoked_at_anchor_time", issuer_revoked_at_anchor_time, V.ISSUER_REVOKED, "issuer_standing"),
    Row("issuer_revoked_without_time", issuer_revoked_status_without_time, V.ISSUER_REVOKED, "issuer_standing"),
    Row("certificate_revoked", certificate_revoked, V.REVOKED, "certificate_status"),
    Row("certificate_suspended", certificate_suspended, V.SUSPENDED, "certificate_status"),
    Row(
        "status_set_by_other_issuer_ignored",
        certificate_revoked_by_another_issuer_does_not_count,
        V.VALID,
        "recognition",
    ),
    Row("expired_yesterday", expired_yesterday, V.EXPIRED, "validity_period"),
    Row("expired_in_china_time_not_utc", expired_in_china_time_though_not_in_utc, V.EXPIRED, "validity_period"),
    Row("not_yet_valid", not_yet_valid, V.NOT_YET_VALID, "validity_period"),
    Row("not_recognised_without_rule", not_recognised_without_rule, V.NOT_RECOGNISED, "recognition"),
    Row("not_recognised_rule_other_type", not_recognised_rule_for_other_type, V.NOT_RECOGNISED, "recognition"),
    Row("not_recognised_rule_ended", not_recognised_rule_ended, V.NOT_RECOGNISED, "recognition"),
    Row("not_recognised_rule_future", not_recognised_rule_not_yet_in_force, V.NOT_RECOGNISED, "recognition"),
    Row(
        "not_recognised_rule_other_region",
        not_recognised_rule_for_other_issuer_region,
        V.NOT_RECOGNISED,
        "recognition",
    ),
    Row("presentation_expired", presentation_expired, V.PRESENTATION_EXPIRED, "presentation_window"),
    Row("presentation_too_old", presentation_too_old_for_policy, V.PRESENTATION_EXPIRED, "presentation_window"),
    Row("created_in_the_future", created_in_the_future, V.MALFORMED, "presentation_window"),
    Row(
        "holder_address_without_signature",
        holder_address_disclosed_without_signature,
        V.HOLDER_BINDING_FAILED,
        "holder_binding",
    ),
    Row("holder_signature_other_key", holder_signature_by_another_key, V.HOLDER_BINDING_FAILED, "holder_binding"),
    Row(
        "holder_signature_without_address",
        holder_signature_without_disclosed_address,
        V.HOLDER_BINDING_FAILED,
        "holder_binding",
    ),
    Row(
        "holder_signature_replayed",
        holder_signature_replayed_from_other_presentation,
        V.HOLDER_BINDING_FAILED,
        "holder_binding",
    ),
    Row(
        "purpose_changed_after_signing", purpose_changed_after_holder_signed, V.HOLDER_BINDING_FAILED, "holder_binding"
    ),
    Row(
        "expiry_extended_after_signing", expiry_extended_after_holder_signed, V.HOLDER_BINDING_FAILED, "holder_binding"
    ),
    Row("binding_required_but_unbound", binding_required_but_unbound, V.HOLDER_BINDING_FAILED, "holder_binding"),
    Row("missing_always_disclosed_field", missing_always_disclosed_field, V.MALFORMED, "structure"),
    Row("unsupported_document_version", unsupported_document_version, V.MALFORMED, "structure"),
    Row("malformed_date", malformed_date, V.MALFORMED, "structure"),
    Row("unsupported_presentation_version", unsupported_presentation_version, V.MALFORMED, "structure"),
    *(
        Row(f"unavailable_when_{m}_fails", _unavailable_on(m), V.UNAVAILABLE, "chain_access")
        for m in ("freshness", "anchor", "type_info", "issuer", "key", "certificate_status", "recognition")
    ),
    Row("stale_snapshot_facts", stale_snapshot_facts, V.UNAVAILABLE, "status_freshness"),
]


def test_every_verdict_is_reached_by_some_row() -> None:
    assert {row.verdict for row in ROWS} == set(Verdict)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_verdict(row: Row, world: World) -> None:
    presentation = row.setup(world)
    result = verify(presentation, world.view, world.policy, world.now)
    assert result.verdict is row.verdict, [(c.name, c.ok, c.detail) for c in result.checks]
    *before, deciding = result.checks
    assert deciding.name == row.deciding_check
    assert all(check.ok for check in before)
    if row.verdict is Verdict.VALID:
        assert deciding.ok
    else:
        assert not deciding.ok
        assert deciding.verdict_if_failed is row.verdict
        assert deciding.detail  # a reason in words, never a bare flag
