"""What the clerk sees: a verification result (the API's JSON) turned into words for a counter.

Why a separate view model: the verdict headline must be the words a clerk says to the citizen
("已撤销", "出示码已过期，请刷新"), paired with a colour *and* an icon *and* words — colour is
never the only cue. Only the fields the holder disclosed are shown, labelled with the
catalogue's Chinese titles; nothing else about the certificate is looked up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.pages.common import beijing_time, region_label
from issuers.catalogue import default_catalogue
from verifier.verdicts import FRESHNESS_SOURCES

#: Headlines where the issue wants different words than the engine's short label.
HEADLINES: dict[str, str] = {
    "REVOKED": "已撤销",
    "SUSPENDED": "已暂扣",
    "NOT_RECOGNISED": "本地区未认可该类证照",
    "EXPIRED": "已过期",
    "PRESENTATION_EXPIRED": "出示码已过期，请刷新",
    "TAMPERED": "内容被篡改",
    "MALFORMED": "出示码无法识别",
    "UNAVAILABLE": "暂时无法核验",
}

#: Every check of the engine, named as a clerk would say it.
CHECK_NAMES: dict[str, str] = {
    "crypto_suite": "本地区可以核验该出示码的密码套件",
    "structure": "出示码结构完整",
    "presentation_window": "出示码在有效时间内",
    "disclosure_proof": "出示的信息与原件一致",
    "batch_proof": "证照属于已存证的批次",
    "issuer_signature": "发证部门签名正确",
    "holder_binding": "持证人本人签名",
    "stamp": "有效期与事由有签章保护",
    "status_freshness": "状态数据足够新",
    "stamp_signature": "加注签章由发证地节点登记的密钥签署",
    "anchor": "区块链上有存证记录",
    "issuer_identity": "存证部门与发证部门一致",
    "certificate_type": "证照类型与存证一致",
    "finality": "存证已充分确认",
    "issuer_registered": "发证部门已登记",
    "sm2_issuer_signature": "发证部门的国密签名正确",
    "signing_key": "签名密钥属于发证部门",
    "anchoring_key": "存证密钥属于发证部门",
    "issuer_region": "发证部门所属地区一致",
    "issuer_standing": "发证部门发证资格有效",
    "certificate_status": "证照状态正常（未撤销、未暂扣）",
    "validity_period": "在有效期内",
    "recognition": "本地区认可该地区的这类证照",
    "decode": "出示码可以识别",
    "chain_access": "链上数据可以取得",
}

#: What a check found, in plain words, when it passed and when it did not: the clerk's offline page
#: shows these (its verifier's own details are technical English), the online page the engine's own.
CHECK_RESULTS: dict[str, tuple[str, str]] = {
    "decode": ("出示码可以识别", "出示码无法识别（不完整、被截断或不是本系统的出示码），请持证人重新出示"),
    "crypto_suite": ("本地区可以核验该出示码的密码套件", "本地区未启用该出示码使用的密码套件（国际算法或国密）"),
    "structure": ("出示码的必备信息齐全、格式正确", "出示码缺少必备信息或格式不正确"),
    "presentation_window": ("出示码在有效时间内", "出示码已过期或时间异常，请持证人刷新出示码"),
    "disclosure_proof": ("出示的信息与证照原件一致", "出示的信息与证照原件不符（内容被改动）"),
    "batch_proof": ("证照属于声明的存证批次", "证照不在声明的存证批次中（证明被改动）"),
    "issuer_signature": ("发证部门签名格式正确、可以核对", "发证部门的电子签名无效"),
    "holder_binding": ("持证人绑定要求已满足", "持证人本人签名缺失或不正确"),
    "stamp": ("出示码的有效期与事由有签章保护", "出示码的有效期与事由没有签章保护，请持证人刷新出示码"),
    "status_freshness": ("状态数据足够新", "状态数据过旧，暂时无法确认证照状态"),
    "stamp_signature": ("加注签章由发证地节点的登记密钥签署", "加注签章与出示码内容不符，或不是发证地节点所盖"),
    "anchor": ("区块链上有该证照批次的存证记录", "区块链上没有该证照批次的存证记录"),
    "issuer_identity": ("存证部门与证照上的发证部门一致", "存证部门与证照上的发证部门不一致"),
    "certificate_type": ("证照类型与存证记录一致", "证照类型与存证记录不一致"),
    "finality": ("存证已充分确认", "存证尚未充分确认，请稍后再核验"),
    "issuer_registered": ("发证部门已在联盟登记", "发证部门未在联盟登记"),
    "sm2_issuer_signature": ("发证部门的国密（SM2）签名与证照一致", "发证部门的国密（SM2）签名无效或密钥未登记"),
    "signing_key": ("签名密钥属于该发证部门，签发时有效", "签名密钥不属于该发证部门，或签发时不在有效期内"),
    "anchoring_key": ("存证密钥属于该发证部门，存证时有效", "存证密钥不属于该发证部门，或存证时不在有效期内"),
    "issuer_region": ("发证部门所属地区与证照一致", "发证部门所属地区与证照不一致"),
    "issuer_standing": ("发证部门发证资格有效", "发证部门已被撤销发证资格"),
    "certificate_status": ("证照未被撤销或暂扣", "证照已被撤销或暂扣"),
    "validity_period": ("证照在有效期内", "证照不在有效期内（已过期或尚未生效）"),
    "recognition": ("本地区认可该地区签发的这类证照", "本地区未认可该地区签发的这类证照"),
    "chain_access": ("链上数据可以取得", "暂时取不到链上数据"),
}

#: The outcome groups of verifier.verdicts, as icon and a word for the colour-blind and for print.
OUTCOME_WORDS: dict[str, str] = {
    "valid": "通过", "invalid": "不通过", "retry": "请重新出示", "not_accepted": "本地区不受理",
    "unavailable": "暂时无法核验",
}



#: Disclosed fields in the order a clerk reads a certificate: what, who holds it, content, when, format.
_ORDER: dict[str, int] = {"type": 0, "id": 1, "holder": 2, "claims": 3, "issuer": 4, "validFrom": 6, "validUntil": 7,
                          "issuedAt": 8, "version": 9}


@dataclass
class VerdictView:
    code: str
    outcome: str
    headline: str
    advice: str
    reason: str | None
    outcome_word: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    disclosed: list[tuple[str, str]] = field(default_factory=list)
    type_name: str | None = None
    issuer: list[tuple[str, str]] = field(default_factory=list)
    anchor: list[tuple[str, str]] = field(default_factory=list)
    height: str = "—"
    receipt: list[tuple[str, str]] = field(default_factory=list)
    log_seq: int | None = None
    problem: str | None = None  # a refusal before any verification (unreadable photo, used reference)


def _value(path: str, value: Any, type_name: str | None) -> str:
    if value is None:
        return "长期" if path == "validUntil" else "—"
    if path == "issuer.region" and isinstance(value, int):
        return f"{region_label(value)}（{value}）"
    if path == "type" and type_name:
        return f"{type_name}（{value}）"
    if path == "holder.idType":
        return {"111": "公民身份号码", "001": "统一社会信用代码"}.get(str(value), str(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def build(result: dict[str, Any], verifier_name: str, verifier_region: int | None) -> VerdictView:
    """The clerk's view of one verification answer (as the verify API returns it)."""
    code = str(result.get("verdict", "MALFORMED"))
    issuer = result.get("issuer") or {}
    disclosed: dict[str, Any] = result.get("disclosed") or {}
    type_code = disclosed.get("type")
    ctype = default_catalogue().get(type_code) if isinstance(type_code, str) else None
    type_name = result.get("type_name") or (ctype.name if ctype else None)
    headline = HEADLINES.get(code, str(result.get("label", code)))
    if code == "VALID":
        same = issuer.get("region") is not None and issuer.get("region") == verifier_region
        headline = "有效 · 本地区签发" if same else "有效 · 本地区认可"
    outcome = str(result.get("outcome", "retry"))
    view = VerdictView(code=code, outcome=outcome, headline=headline, advice=str(result.get("advice", "")),
                       reason=result.get("reason"), outcome_word=OUTCOME_WORDS.get(outcome, ""), type_name=type_name)
    for c in result.get("checks") or []:
        view.checks.append({"name": CHECK_NAMES.get(str(c.get("name")), str(c.get("name"))), "ok": bool(c.get("ok")),
                            "detail": str(c.get("detail") or "")})
    for path, value in sorted(disclosed.items(), key=lambda kv: _ORDER.get(kv[0].split(".")[0], 5)):
        title = (ctype.title_of(path) if ctype else None) or path
        view.disclosed.append((title, _value(path, value, type_name)))
    if issuer:
        view.issuer = [("发证部门", str(issuer.get("name") or "（未登记名称）")),
                       ("统一社会信用代码", str(issuer.get("credit_code") or "—")),
                       ("所属地区", f"{region_label(issuer.get('region'))}（{issuer.get('region') or '—'}）"),
                       ("登记状态", {"ACTIVE": "正常", "SUSPENDED": "暂停", "REVOKED": "已撤销"}.get(
                           str(issuer.get("status")), str(issuer.get("status") or "—")))]
    anchor = result.get("anchor")
    if anchor:
        view.anchor = [("存证交易", str(anchor.get("tx_hash"))), ("区块高度", str(anchor.get("block_number"))),
                       ("存证时间", beijing_time(anchor.get("timestamp")) + "（北京时间）"),
                       ("确认数", str(anchor.get("confirmations"))), ("批次根哈希", str(anchor.get("batch_root")))]
    fresh = result.get("freshness")
    if fresh:
        source = FRESHNESS_SOURCES.get(str(fresh.get("source")), str(fresh.get("source")))
        age = fresh.get("age_s")
        view.height = f"第 {fresh.get('height')} 块（{source}{'，' + str(age) + ' 秒前' if age is not None else ''}）"
    entry = result.get("log_entry") or {}
    view.log_seq = entry.get("logSeq")
    view.receipt = [
        ("核验窗口", f"{verifier_name}（{region_label(verifier_region)}）"),
        ("核验时间", beijing_time(result.get("verified_at")) + "（北京时间）"),
        ("结论", f"{headline}（{code}）"),
        ("证照类型", type_name or "—"),
        ("发证部门", str(issuer.get("name") or "—")),
        ("事由", str(result.get("purpose") or "—")),
        ("持证人签名", "有：由持证人绑定的设备签署" if result.get("holder_bound")
         else "无：未绑定持证人设备，持码即可出示"),
        ("出示码生成时间", beijing_time(result.get("presentation_created_at"))),
        ("出示码到期时间", beijing_time(result.get("presentation_expires_at"))),
        ("依据的区块高度", view.height),
        ("核验日志序号", str(entry.get("logSeq", "—"))),
        ("日志条目哈希", str(entry.get("entryHash", "—"))),
    ]
    return view


def problem(message: str, hint: str) -> VerdictView:
    """A refusal before verification (unreadable photo, no QR, used reference): not a verdict."""
    return VerdictView(code="PROBLEM", outcome="retry", headline=message, advice=hint, reason=None,
                       outcome_word="请重新出示", problem=message)
