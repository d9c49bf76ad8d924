"""Reason codes recorded on chain with a status change, and how clerks name them."""

from __future__ import annotations

import pytest

from issuers.status_actions import REASON_CODES, StatusAction, parse_reason, reason_of_code
from issuers.status_codes import RevocationReason


@pytest.mark.parametrize(("text", "reason"), [
    ("吊销", RevocationReason.PENALTY), ("撤销", RevocationReason.WITHDRAWN), ("注销", RevocationReason.CANCELLED),
    ("换发", RevocationReason.SUPERSEDED), ("办理转出", RevocationReason.TRANSFERRED_OUT),
    ("penalty", RevocationReason.PENALTY), (" Withdrawn ", RevocationReason.WITHDRAWN),
])  # fmt: skip
def test_reasons_are_accepted_by_chinese_label_or_english_name(text, reason):
    assert parse_reason(text) is reason


def test_no_reason_is_none():
    assert parse_reason(None) is None and parse_reason("  ") is None


def test_unknown_reason_lists_the_accepted_words():
    with pytest.raises(ValueError, match=r"无法识别的原因.*吊销"):
        parse_reason("because")


def test_every_reason_has_its_own_uint8_code_and_maps_back():
    codes = list(REASON_CODES.values())
    assert len(set(codes)) == len(RevocationReason) and all(0 < c < 256 for c in codes)
    assert all(reason_of_code(code) is reason for reason, code in REASON_CODES.items())
    assert reason_of_code(0) is None


def test_actions_have_chinese_labels():
    assert [a.label for a in StatusAction] == ["撤销", "暂扣", "恢复"]
