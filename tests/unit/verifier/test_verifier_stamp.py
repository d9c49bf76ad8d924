"""The 加注 stamp: a code's window, 事由 and nonce are authenticated, so re-timing, re-purposing,
forwarding and splicing each get a precise verdict with the check that failed (issue 15, item 1).

The attacks work on the decoded form and re-encode it (as an attacker with the open format
would), then verify the text: exactly what a clerk's scanner would get.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from verifier_world import NOW, SHANGHAI, ZHEJIANG_HANGZHOU, World, replace_field, stamp_signer_of

from common.document import field_leaf
from common.merkle import process_multiproof, process_proof
from verifier.codec import decode, encode
from verifier.engine import VerificationResult, verify, verify_text
from verifier.presentation import Presentation
from verifier.verdicts import Verdict


def as_sent(p: Presentation) -> str:
    """The text an attacker with the open format makes from `p`: HR2 carries neither root, so a
    changed field or batch proof simply leads a verifier to other roots."""
    if p.format == 2:
        leaves = [field_leaf(f.salt, f.path, f.value) for f in p.disclosure.fields]
        root = process_multiproof(leaves, p.disclosure.proof, p.disclosure.flags)
        p = replace(p, document_root=root, batch_root=process_proof(root, p.batch_proof))
    return encode(p)


def check(world: World, p: Presentation, **policy: object) -> VerificationResult:
    """Encode (as the attacker hands it over), then verify the text as a scanner would."""
    return verify_text(as_sent(p), world.view, replace(world.policy, **policy), world.now)


def failed(result: VerificationResult) -> tuple[Verdict, str]:
    return result.verdict, result.checks[-1].name


def test_a_stamped_code_is_valid_and_says_who_stamped_it(world: World) -> None:
    result = check(world, world.present())
    assert result.verdict is Verdict.VALID
    stamp = next(c for c in result.checks if c.name == "stamp_signature")
    assert str(ZHEJIANG_HANGZHOU) in stamp.detail and "加注签章" in stamp.detail


def test_a_retimed_code_is_tampered_at_the_stamp(world: World) -> None:
    p = world.present(created_at=NOW - 3000)  # made long ago: expired
    assert failed(check(world, p)) == (Verdict.PRESENTATION_EXPIRED, "presentation_window")
    retimed = replace(p, created_at=NOW - 5, expires_at=NOW + 86_395)
    assert failed(check(world, retimed)) == (Verdict.TAMPERED, "stamp_signature")


def test_an_extended_expiry_is_tampered_at_the_stamp(world: World) -> None:
    p = world.present()
    assert failed(check(world, replace(p, expires_at=p.expires_at + 600))) == (Verdict.TAMPERED, "stamp_signature")


def test_a_repurposed_code_is_tampered_at_the_stamp(world: World) -> None:
    p = replace(world.present(purpose="办理食品经营许可变更"), purpose="办理贷款")
    assert failed(check(world, p)) == (Verdict.TAMPERED, "stamp_signature")


def test_a_renonced_code_is_tampered_at_the_stamp(world: World) -> None:
    p = replace(world.present(), nonce=bytes(range(100, 112)))
    assert failed(check(world, p)) == (Verdict.TAMPERED, "stamp_signature")


def test_a_forwarded_code_past_its_window_is_expired(world: World) -> None:
    p = world.present(ttl_s=300)
    world.now = p.expires_at + world.policy.clock_skew_s + 1
    assert failed(check(world, p)) == (Verdict.PRESENTATION_EXPIRED, "presentation_window")


def test_a_stamp_spliced_from_another_code_is_tampered(world: World) -> None:
    a = world.present(1, purpose="事由甲")
    b = world.present(2, purpose="事由甲")
    assert failed(check(world, replace(b, stamp=a.stamp))) == (Verdict.TAMPERED, "stamp_signature")


def test_an_envelope_spliced_onto_another_certificate_is_tampered(world: World) -> None:
    a = world.present(1, created_at=NOW - 20)
    b = world.present(2, created_at=NOW - 100)
    spliced = replace(b, created_at=a.created_at, expires_at=a.expires_at, nonce=a.nonce, purpose=a.purpose,
                      stamp=a.stamp)
    assert failed(check(world, spliced)) == (Verdict.TAMPERED, "stamp_signature")


def test_a_field_shown_that_the_stamp_did_not_cover_is_tampered(world: World) -> None:
    narrow = world.present(1, ("holder.name",))
    wide = world.present(1, ("holder.name", "claims.licenceNo"))
    assert failed(check(world, replace(wide, stamp=narrow.stamp))) == (Verdict.TAMPERED, "stamp_signature")


def test_a_changed_field_value_is_tampered(world: World) -> None:
    p = replace_field(world.present(), "holder.name", value="李四")
    assert failed(check(world, p)) == (Verdict.TAMPERED, "stamp_signature")


def test_a_changed_field_value_in_an_unstamped_holder_signed_code_fails_the_binding(world: World) -> None:
    p = replace_field(world.present(0, bound=True, stamped=False), "holder.name", value="李四")
    assert failed(check(world, p)) == (Verdict.HOLDER_BINDING_FAILED, "holder_binding")


def test_a_stripped_stamp_leaves_the_window_unauthenticated(world: World) -> None:
    result = check(world, replace(world.present(), stamp=None))
    assert failed(result) == (Verdict.PRESENTATION_EXPIRED, "stamp")
    assert "请持证人刷新出示码" in result.checks[-1].detail


def test_a_stamp_by_another_regions_node_is_tampered(world: World) -> None:
    shanghai = stamp_signer_of("node-310000/stamp-1", SHANGHAI)
    world.view.add_stamp_key(shanghai)
    p = world.present()
    forged = replace(p, stamp=shanghai.private_key.sign(b"anything"))
    assert failed(check(world, forged)) == (Verdict.TAMPERED, "stamp_signature")


def test_a_stamp_by_an_unregistered_key_is_tampered(world: World) -> None:
    rogue = stamp_signer_of("rogue", ZHEJIANG_HANGZHOU)
    p = world.present()
    honest = replace(world, stamp_signer=rogue).present()
    assert p.stamp != honest.stamp
    assert failed(check(world, honest)) == (Verdict.TAMPERED, "stamp_signature")


def test_a_stamp_made_outside_the_keys_window_is_tampered(world: World) -> None:
    world.view.stamping[0] = replace(world.view.stamping[0], valid_until=NOW - 60)
    result = check(world, world.present(created_at=NOW - 30))
    assert failed(result) == (Verdict.TAMPERED, "stamp_signature")
    assert "没有地区" in result.checks[-1].detail


def test_a_stamp_made_before_the_key_was_retired_still_counts(world: World) -> None:
    world.view.stamping[0] = replace(world.view.stamping[0], valid_until=NOW - 10)
    assert check(world, world.present(created_at=NOW - 30)).verdict is Verdict.VALID


def test_a_request_signing_key_cannot_stand_in_for_a_stamping_key(world: World) -> None:
    world.view.stamping[0] = replace(world.view.stamping[0], purpose=1)  # request signing
    assert failed(check(world, world.present())) == (Verdict.TAMPERED, "stamp_signature")


def test_a_code_for_another_audience_is_refused_here(world: World) -> None:
    p = world.present(audience=SHANGHAI)
    result = check(world, p)
    assert failed(result) == (Verdict.PRESENTATION_EXPIRED, "stamp_signature")
    assert str(SHANGHAI) in result.checks[-1].detail


def test_a_code_for_this_audience_is_valid(world: World) -> None:
    assert check(world, world.present(audience=ZHEJIANG_HANGZHOU)).verdict is Verdict.VALID


def test_a_changed_audience_is_tampered(world: World) -> None:
    p = replace(world.present(audience=SHANGHAI), audience=ZHEJIANG_HANGZHOU)
    assert failed(check(world, p)) == (Verdict.TAMPERED, "stamp_signature")


def test_a_removed_audience_is_tampered(world: World) -> None:
    p = replace(world.present(audience=SHANGHAI), audience=None)
    assert failed(check(world, p)) == (Verdict.TAMPERED, "stamp_signature")


def test_a_changed_batch_proof_is_tampered_not_unanchored(world: World) -> None:
    p = world.present()
    proof = list(p.batch_proof)
    proof[0] = bytes(32)
    assert failed(check(world, replace(p, batch_proof=proof))) == (Verdict.TAMPERED, "stamp_signature")


def test_an_unsigned_hr1_code_fails_the_stamp_check(world: World) -> None:
    result = check(world, world.present(format=1))
    assert failed(result) == (Verdict.PRESENTATION_EXPIRED, "stamp")
    assert "请持证人刷新出示码" in result.checks[-1].detail


def test_a_holder_signed_hr1_code_is_still_valid(world: World) -> None:
    result = check(world, world.present(0, bound=True, format=1))
    assert result.verdict is Verdict.VALID
    assert result.holder_bound


def test_a_verifier_may_refuse_hr1_altogether(world: World) -> None:
    result = check(world, world.present(0, bound=True, format=1), accept_hr1=False)
    assert failed(result) == (Verdict.PRESENTATION_EXPIRED, "stamp")


def test_an_unstamped_holder_signed_hr2_code_is_valid(world: World) -> None:
    assert check(world, world.present(0, bound=True, stamped=False)).verdict is Verdict.VALID


def test_a_retimed_holder_signed_unstamped_code_fails_binding(world: World) -> None:
    p = world.present(0, bound=True, stamped=False)
    retimed = replace(p, created_at=p.created_at + 10, expires_at=p.expires_at + 10)
    assert failed(check(world, retimed)) == (Verdict.HOLDER_BINDING_FAILED, "holder_binding")


def test_an_unstamped_code_naming_an_audience_is_refused(world: World) -> None:
    p = replace(world.present(audience=ZHEJIANG_HANGZHOU), stamp=None)
    assert failed(check(world, p)) == (Verdict.PRESENTATION_EXPIRED, "stamp")


def test_a_stamp_is_checked_before_the_anchor(world: World) -> None:
    world.view.anchors.clear()
    p = replace(world.present(), purpose="改过的事由")
    assert failed(check(world, p)) == (Verdict.TAMPERED, "stamp_signature")


def test_an_unstamped_unsigned_code_is_refused_without_asking_the_chain(world: World) -> None:
    world.view.fail_on = "*"
    result = check(world, world.present(stamped=False))
    assert failed(result) == (Verdict.PRESENTATION_EXPIRED, "stamp")
    assert world.view.calls == []


def test_with_the_chain_down_a_stamped_code_is_unavailable(world: World) -> None:
    world.view.fail_on = "stamp_keys"
    assert verify(world.present(), world.view, world.policy, world.now).verdict is Verdict.UNAVAILABLE


@pytest.mark.parametrize("offline", [False, True])
def test_a_snapshot_carries_the_stamping_keys(world: World, offline: bool) -> None:
    from verifier.snapshot import SnapshotChainView

    view = SnapshotChainView(world.view.to_snapshot()) if offline else world.view
    assert verify(decode(encode(world.present())), view, world.policy, world.now).verdict is Verdict.VALID


def test_a_creation_time_beyond_the_calendar_is_answered_not_raised(world: World) -> None:
    p = replace(world.present(stamped=False), created_at=2**62, expires_at=2**62 + 300)
    result = verify_text(encode(p), world.view, world.policy, world.now)
    assert failed(result) == (Verdict.MALFORMED, "presentation_window")
    assert "超出可显示的日期范围" in result.checks[-1].detail


def test_a_bound_code_for_another_region_cannot_be_stripped_of_stamp_and_audience(world: World) -> None:
    p = world.present(0, bound=True, audience=SHANGHAI)
    assert failed(check(world, p)) == (Verdict.PRESENTATION_EXPIRED, "stamp_signature")
    stripped = replace(p, stamp=None, audience=None)
    assert failed(check(world, stripped)) == (Verdict.HOLDER_BINDING_FAILED, "holder_binding")


def test_an_hr1_holder_signature_does_not_verify_as_hr2(world: World) -> None:
    hr1 = world.present(0, bound=True, format=1)
    as_hr2 = replace(hr1, format=2)
    assert failed(check(world, as_hr2)) == (Verdict.HOLDER_BINDING_FAILED, "holder_binding")
