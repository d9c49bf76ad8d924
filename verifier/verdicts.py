"""The verdicts a verification can end in, with the words a clerk sees.

Each verdict has a short Chinese label (the headline on the clerk's screen) and plain advice:
what it means for the citizen in front of them and what to do next. Two verdicts are not
"invalid" and are worded so they never look like it (DESIGN.md, Verdict):

* NOT_RECOGNISED — the certificate is genuine, but this region does not accept that type from
  that region (a policy answer, not a forgery finding);
* UNAVAILABLE — status facts cannot be had now ("cannot check now"), not "invalid".

`outcome` groups verdicts for colour/icon choice in the UI (never the only cue):
"valid", "invalid", "retry" (ask again: a fresh code or a few minutes later), "not_accepted",
"unavailable".
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Final, Literal

__all__ = ["FRESHNESS_SOURCES", "Outcome", "Verdict", "facts_fresh_text", "facts_stale_text"]

Outcome = Literal["valid", "invalid", "retry", "not_accepted", "unavailable"]


class Verdict(StrEnum):
    """The one answer of a verification. The value is the stable machine code (API, log)."""

    VALID = "VALID"
    TAMPERED = "TAMPERED"
    NOT_ANCHORED = "NOT_ANCHORED"
    PENDING_FINALITY = "PENDING_FINALITY"
    UNKNOWN_ISSUER = "UNKNOWN_ISSUER"
    ISSUER_NOT_AUTHORISED = "ISSUER_NOT_AUTHORISED"
    ISSUER_REVOKED = "ISSUER_REVOKED"
    REVOKED = "REVOKED"
    SUSPENDED = "SUSPENDED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    NOT_RECOGNISED = "NOT_RECOGNISED"
    PRESENTATION_EXPIRED = "PRESENTATION_EXPIRED"
    HOLDER_BINDING_FAILED = "HOLDER_BINDING_FAILED"
    MALFORMED = "MALFORMED"
    UNAVAILABLE = "UNAVAILABLE"

    @property
    def label(self) -> str:
        """Short Chinese headline, e.g. "已撤销"."""
        return _TEXT[self][0]

    @property
    def advice(self) -> str:
        """Plain-Chinese explanation and next step for the clerk."""
        return _TEXT[self][1]

    @property
    def outcome(self) -> Outcome:
        """Coarse group of the verdict, for presentation (colour, icon, sound)."""
        return _OUTCOME[self]


_TEXT: Final[dict[Verdict, tuple[str, str]]] = {
    Verdict.VALID: (
        "核验通过",
        "证照真实有效，已在区块链存证，发证部门有权发放，本地区认可该类证照。可按出示的信息办理业务。",
    ),
    Verdict.TAMPERED: (
        "内容被篡改",
        "出示码中的信息与发证部门签发的原件不一致，不能作为证明。请持证人从官方渠道重新生成出示码；如仍不一致，请联系发证部门。",
    ),
    Verdict.NOT_ANCHORED: (
        "未查到存证记录",
        "区块链上没有该证照所属批次的存证记录，无法确认证照由发证部门发放。请持证人联系发证部门核实。",
    ),
    Verdict.PENDING_FINALITY: (
        "存证确认中",
        "该证照刚刚存证，区块链尚未完成足够确认。请几分钟后重新扫码核验。",
    ),
    Verdict.UNKNOWN_ISSUER: (
        "发证部门未登记",
        "存证该证照的发证部门不在登记名录中，不能作为有效证明。请持证人联系发证部门核实。",
    ),
    Verdict.ISSUER_NOT_AUTHORISED: (
        "发证部门无权发放",
        "签发或存证该证照的密钥不属于发证部门，或在当时无权使用，不能作为有效证明。请持证人联系发证部门。",
    ),
    Verdict.ISSUER_REVOKED: (
        "发证部门资格已撤销",
        "该证照存证时，发证部门的发证资格已被撤销（如密钥泄露），该证照不能作为有效证明。请持证人联系发证部门重新办理。",
    ),
    Verdict.REVOKED: (
        "已撤销",
        "该证照已被发证部门撤销，不能作为有效证明；请持证人联系发证部门。",
    ),
    Verdict.SUSPENDED: (
        "已暂扣",
        "该证照目前被发证部门暂停使用，暂不能作为有效证明；请持证人联系发证部门了解恢复条件。",
    ),
    Verdict.EXPIRED: (
        "已过有效期",
        "证照真实，但已超过有效期截止日期，不能作为有效证明。请持证人办理延续或换证。",
    ),
    Verdict.NOT_YET_VALID: (
        "尚未生效",
        "证照真实，但有效期尚未开始，目前不能作为有效证明。请在有效期起始日后再核验。",
    ),
    Verdict.NOT_RECOGNISED: (
        "本地区未认可该类证照",
        "证照真实有效，但本地区目前未认可该地区发放的这类证照，不属于证照无效。请按本地规定请持证人提供其他材料，或咨询本地主管部门。",
    ),
    Verdict.PRESENTATION_EXPIRED: (
        "出示码已过期",
        "出示码已超过有效时间（可能是截图或旧码）。请持证人在手机上重新生成出示码后再扫。",
    ),
    Verdict.HOLDER_BINDING_FAILED: (
        "持证人签名不符",
        "出示码未由证照绑定的持证人本人签署，不能确认出示人就是持证人。请持证人使用本人绑定的设备重新生成出示码。",
    ),
    Verdict.MALFORMED: (
        "出示码无法识别",
        "出示码格式不正确或内容不完整，无法核验。请持证人重新生成出示码，或改用短链接方式出示。",
    ),
    Verdict.UNAVAILABLE: (
        "暂时无法核验",
        "目前无法取得证照的最新状态（链上数据或离线名录暂不可用），这不表示证照无效。请稍后重试，或按本单位应急流程处理。",
    ),
}

_OUTCOME: Final[dict[Verdict, Outcome]] = {
    Verdict.VALID: "valid",
    Verdict.TAMPERED: "invalid",
    Verdict.NOT_ANCHORED: "invalid",
    Verdict.PENDING_FINALITY: "retry",
    Verdict.UNKNOWN_ISSUER: "invalid",
    Verdict.ISSUER_NOT_AUTHORISED: "invalid",
    Verdict.ISSUER_REVOKED: "invalid",
    Verdict.REVOKED: "invalid",
    Verdict.SUSPENDED: "invalid",
    Verdict.EXPIRED: "invalid",
    Verdict.NOT_YET_VALID: "invalid",
    Verdict.NOT_RECOGNISED: "not_accepted",
    Verdict.PRESENTATION_EXPIRED: "retry",
    Verdict.HOLDER_BINDING_FAILED: "invalid",
    Verdict.MALFORMED: "retry",
    Verdict.UNAVAILABLE: "unavailable",
}


# --------------------------------------------------------------------------- freshness words
# The status_freshness check's details (DESIGN.md, Trust: facts older than the policy's bound
# give UNAVAILABLE). Kept here with the verdict texts so the clerk's words are in one place.

#: Where a verdict's status facts came from, as the clerk reads it.
FRESHNESS_SOURCES: Final[dict[str, str]] = {"index": "本地链上索引", "rpc": "区块链节点", "snapshot": "离线可信名录"}


def _age_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} 秒"
    if seconds < 7200:
        return f"{seconds // 60} 分钟"
    if seconds < 3 * 86400:
        return f"{seconds // 3600} 小时"
    return f"{seconds // 86400} 天"


@lru_cache(maxsize=256)
def facts_fresh_text(source: str, height: int, age_s: int, bound_s: int, note: str = "") -> str:
    """Detail of a passed freshness check: where the facts come from and how old they are.

    Cached: it is said on every verification, and within a second all of them rest on the same
    block (formatting it each time cost about 2% of a verification)."""
    text = (f"状态信息来自{FRESHNESS_SOURCES.get(source, source)}第 {height} 块，该块产生于 {_age_words(age_s)}前"
            f"（本处允许 {_age_words(bound_s)}以内）")
    return text + (f"；{note}" if note else "")


def facts_stale_text(source: str, height: int, head_time: int, age_s: int, bound_s: int, note: str = "") -> str:
    """Detail (and UNAVAILABLE reason) of a failed freshness check, in words a clerk can act on."""
    where = FRESHNESS_SOURCES.get(source, source)
    if head_time <= 0:
        text = f"暂时无法核验：{where}尚未取得任何链上区块，无法确认证照的最新状态（如是否已撤销）"
    else:
        text = (f"暂时无法核验：{where}的最新区块（第 {height} 块）产生于 {_age_words(age_s)}前，"
                f"超过本处允许的 {_age_words(bound_s)}；此后的撤销、暂扣等变化可能尚未同步到本处，"
                "因此不能判定为有效")
    return text + (f"（{note}）" if note else "")
