"""What a VerificationResult carries, the policy's own checks, decoding through the engine.

Speed is measured by bench/verify.py (bench/README.md), not asserted here: a timed test fails on
a slower host without anything having changed.
"""

from __future__ import annotations

import json

import pytest
from verifier_world import DOMAIN, NOW, World, replace_field

from common.document import issuer_id
from common.eip712 import Domain
from verifier.codec import encode
from verifier.engine import VerifierPolicy, verify, verify_text
from verifier.verdicts import Verdict


def test_result_carries_disclosed_fields_issuer_anchor_and_chain_height(world: World) -> None:
    p = world.present(0, ("holder.name", "issuer.name"), bound=True)
    result = verify(p, world.view, world.policy, world.now)
    anchor = world.view.anchors[world.batch.root]
    assert result.verdict is Verdict.VALID and result.ok
    assert result.disclosed["holder.name"] == "张三"
    assert result.disclosed["issuer.creditCode"] == "11330105002500287C"
    assert result.certificate_hash == p.document_root
    assert result.anchor == anchor
    assert result.issuer is not None
    assert result.issuer.issuer_id == issuer_id("11330105002500287C")
    assert result.issuer.name == "杭州市拱墅区市场监督管理局"
    assert result.issuer.region == 330105
    assert result.freshness is not None and result.freshness.height == world.view.height
    assert result.type_name == "食品经营许可证"
    assert result.holder_bound
    assert result.purpose == "办理食品经营许可变更"
    assert result.verified_at == NOW


def test_result_to_dict_is_json_with_hex_bytes(world: World) -> None:
    result = verify(world.present(), world.view, world.policy, world.now)
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["verdict"] == "VALID"
    assert data["label"] == "核验通过"
    assert data["anchor"]["tx_hash"].startswith("0x") and len(data["anchor"]["tx_hash"]) == 66
    assert data["anchor"]["block_number"] == 900
    assert data["freshness"] == {
        "height": 1000,
        "head_time": NOW - 5,
        "source": "index",
        "age_s": 5,
        "note": None,
    }
    assert data["certificate_hash"] == "0x" + result.certificate_hash.hex()  # type: ignore[union-attr]
    assert [c["name"] for c in data["checks"]][:3] == ["crypto_suite", "structure", "presentation_window"]
    assert data["checks"][0]["verdict_if_failed"] == "NOT_RECOGNISED"
    assert data["checks"][1]["verdict_if_failed"] == "MALFORMED"


def test_result_of_a_failed_verification_names_the_failed_check_in_words(world: World) -> None:
    result = verify(replace_field(world.present(), "holder.name", value="李四"), world.view, world.policy, NOW)
    failed = [c for c in result.checks if not c.ok]
    assert len(failed) == 1 and failed[0].name == "disclosure_proof"
    assert "不符" in failed[0].detail
    assert result.to_dict()["advice"] == Verdict.TAMPERED.advice


def test_unavailable_result_says_why_and_is_not_invalid(world: World) -> None:
    world.view.fail_on = "anchor"
    result = verify(world.present(), world.view, world.policy, NOW)
    assert result.verdict is Verdict.UNAVAILABLE
    assert result.reason == "node unreachable during anchor"
    assert result.to_dict()["outcome"] == "unavailable"


def test_verify_text_decodes_and_verifies(world: World) -> None:
    text = encode(world.present(0, bound=True))
    assert verify_text(text, world.view, world.policy, NOW).verdict is Verdict.VALID


def test_verify_text_turns_a_refused_code_into_malformed_with_the_reason(world: World) -> None:
    result = verify_text("XX1:ABC", world.view, world.policy, NOW)
    assert result.verdict is Verdict.MALFORMED
    assert result.checks[0].name == "decode"
    assert "未知版本前缀" in (result.reason or "")
    assert world.view.calls == []


def test_policy_refuses_a_region_that_is_not_a_gb2260_code() -> None:
    with pytest.raises(ValueError, match="six-digit"):
        VerifierPolicy(region=31, domain=DOMAIN)


def test_policy_refuses_negative_limits() -> None:
    with pytest.raises(ValueError, match="confirmations"):
        VerifierPolicy(region=310000, domain=DOMAIN, confirmations=-1)


def test_required_confirmations_come_from_the_policy(world: World) -> None:
    world.view.set_confirmations(world.batch.root, 5)
    strict = VerifierPolicy(region=world.policy.region, domain=DOMAIN, confirmations=6)
    assert verify(world.present(), world.view, strict, NOW).verdict is Verdict.PENDING_FINALITY
    assert verify(world.present(), world.view, world.policy, NOW).verdict is Verdict.VALID


def test_a_presentation_for_another_deployment_fails(world: World) -> None:
    other = VerifierPolicy(region=world.policy.region, domain=Domain(1, "0x" + "11" * 20))
    result = verify(world.present(), world.view, other, NOW)
    # The node stamped in the test deployment's domain: elsewhere the stamp does not verify
    # (and the issuer's signature would recover to a stranger, see the next test).
    assert result.verdict is Verdict.TAMPERED
    assert result.checks[-1].name == "stamp_signature"


def test_an_unstamped_holder_signed_code_is_valid_here_and_fails_in_another_deployment(world: World) -> None:
    other = VerifierPolicy(region=world.policy.region, domain=Domain(1, "0x" + "11" * 20))
    result = verify(world.present(0, bound=True, stamped=False), world.view, other, NOW)
    # Holder-signed, unstamped: the holder signature is in the other domain too, so it fails first.
    assert result.verdict is Verdict.HOLDER_BINDING_FAILED
    result = verify(world.present(0, bound=True, stamped=False), world.view,
                    VerifierPolicy(region=world.policy.region, domain=DOMAIN), NOW)
    assert result.verdict is Verdict.VALID
