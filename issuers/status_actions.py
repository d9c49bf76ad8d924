"""Status actions a department takes on its certificates, and the reason codes recorded on chain.

The AnchorLedger records a `uint8 reason` with every revocation and suspension. This fixes
what the numbers mean, so that an export (`issuers.status_codes.national_status`) can turn
an on-chain revocation into the right national 证照状态 (07 吊销 versus 03 撤销 ...):

    0 unspecified   1 withdrawn 撤销   2 penalty 吊销   3 cancelled 注销
    4 superseded 换发/补发   5 transferred out 办理转出   99 other 其他

A suspension (暂扣) carries a reason too (same table; usually 0 or 99); a reinstatement none.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from issuers.status_codes import RevocationReason

__all__ = ["REASON_CODES", "StatusAction", "parse_reason", "reason_of_code"]


class StatusAction(StrEnum):
    REVOKE = "revoke"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"

    @property
    def label(self) -> str:
        return {"revoke": "撤销", "suspend": "暂扣", "reinstate": "恢复"}[self.value]


REASON_CODES: Final[dict[RevocationReason, int]] = {
    RevocationReason.WITHDRAWN: 1,
    RevocationReason.PENALTY: 2,
    RevocationReason.CANCELLED: 3,
    RevocationReason.SUPERSEDED: 4,
    RevocationReason.TRANSFERRED_OUT: 5,
    RevocationReason.OTHER: 99,
}

_BY_LABEL: Final[dict[str, RevocationReason]] = {
    "撤销": RevocationReason.WITHDRAWN,
    "吊销": RevocationReason.PENALTY,
    "注销": RevocationReason.CANCELLED,
    "换发": RevocationReason.SUPERSEDED,
    "补发": RevocationReason.SUPERSEDED,
    "办理转出": RevocationReason.TRANSFERRED_OUT,
    "转出": RevocationReason.TRANSFERRED_OUT,
    "其他": RevocationReason.OTHER,
}


def parse_reason(value: str | RevocationReason | None) -> RevocationReason | None:
    """A reason given by name ("penalty"), Chinese label ("吊销") or enum; None for none.

    ValueError (message lists the accepted words) for anything else.
    """
    if value is None or isinstance(value, RevocationReason):
        return value
    text = value.strip()
    if not text:
        return None
    if text in _BY_LABEL:
        return _BY_LABEL[text]
    try:
        return RevocationReason(text.lower())
    except ValueError:
        words = "、".join([*_BY_LABEL, *(r.value for r in RevocationReason)])
        raise ValueError(f"无法识别的原因“{text}”，可用：{words}") from None


def reason_of_code(code: int) -> RevocationReason | None:
    """The reason behind an on-chain reason code (None for 0 or an unknown code)."""
    for reason, number in REASON_CODES.items():
        if number == code:
            return reason
    return None
