"""The words a clerk sees: every verdict has them, and two verdicts must never read as "invalid"."""

from __future__ import annotations

import pytest

from verifier.verdicts import Verdict

VERDICT_CODES = [
    "VALID",
    "TAMPERED",
    "NOT_ANCHORED",
    "PENDING_FINALITY",
    "UNKNOWN_ISSUER",
    "ISSUER_NOT_AUTHORISED",
    "ISSUER_REVOKED",
    "REVOKED",
    "SUSPENDED",
    "EXPIRED",
    "NOT_YET_VALID",
    "NOT_RECOGNISED",
    "PRESENTATION_EXPIRED",
    "HOLDER_BINDING_FAILED",
    "MALFORMED",
    "UNAVAILABLE",
]


def test_the_verdicts_are_exactly_the_designed_sixteen_with_stable_codes() -> None:
    assert [str(v) for v in Verdict] == VERDICT_CODES
    assert all(v.value == v.name for v in Verdict)


@pytest.mark.parametrize("verdict", list(Verdict), ids=[v.name for v in Verdict])
def test_every_verdict_has_a_chinese_label_and_advice(verdict: Verdict) -> None:
    assert verdict.label and verdict.advice
    assert any("\u4e00" <= ch <= "\u9fff" for ch in verdict.label)
    assert verdict.advice.endswith("。")


def test_revoked_reads_as_the_design_says() -> None:
    assert Verdict.REVOKED.label == "已撤销"
    assert Verdict.REVOKED.advice == "该证照已被发证部门撤销，不能作为有效证明；请持证人联系发证部门。"


@pytest.mark.parametrize("verdict", [Verdict.NOT_RECOGNISED, Verdict.UNAVAILABLE])
def test_not_recognised_and_unavailable_never_read_as_invalid(verdict: Verdict) -> None:
    assert verdict.outcome != "invalid"
    for word in ("无效", "伪造", "篡改", "失效", "不通过"):
        assert word not in verdict.label
    # The advice says so explicitly, in the negative.
    assert "不表示证照无效" in verdict.advice or "不属于证照无效" in verdict.advice


def test_unavailable_is_worded_as_cannot_check_now() -> None:
    assert Verdict.UNAVAILABLE.label == "暂时无法核验"
    assert "稍后重试" in Verdict.UNAVAILABLE.advice


def test_not_recognised_says_the_certificate_is_genuine() -> None:
    assert Verdict.NOT_RECOGNISED.label == "本地区未认可该类证照"
    assert "真实有效" in Verdict.NOT_RECOGNISED.advice


def test_only_valid_has_the_valid_outcome() -> None:
    assert [v for v in Verdict if v.outcome == "valid"] == [Verdict.VALID]
