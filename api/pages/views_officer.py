"""区域管理: a region officer sees the region's pending dual-control proposals (双人双锁) with who
approved them, approves, and proposes recognition changes (which region's certificate types this
region accepts).

Officers sign on their own device (api/pages/officers.py): the page opens the officer's keystore
and signs each act in the browser; these routes check the signature is the signed-in officer's
and relay it. A post without a signature is refused in words; nothing is ever signed here.

Why the list comes from the indexer's read model and not from the chain: it is what every other
page and the verifier already read, so an officer sees the same state a clerk is judged by; after
a transaction the page nudges the indexer so the change shows at once.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from api.credentials import Credential
from api.pages import officers
from api.pages.common import PageRoute, beijing_time, region_label, render, require_csrf, require_page_role
from ledger.errors import (
    ContractRefused,
    LedgerError,
    NodeUnavailable,
    NonceRefused,
    ReceiptTimeout,
    TransactionNotMined,
)
from ledger.nodes import describe_node_call
from ledger.rpc import RpcError

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CHINA = timezone(timedelta(hours=8))


def _type_names(rt: Any) -> dict[str, str]:
    return {code: t.name for code, t in rt.indexer.model.types.items()}


def describe(rt: Any, contract: str, fn: str, args: dict[str, Any]) -> str:
    """A proposal in words an officer signs off on."""
    names = _type_names(rt)
    model = rt.indexer.model

    def tname(v: Any) -> str:
        return officers.type_name_of(v, names)

    def issuer(v: Any) -> str:
        return model.issuer_names.get(v, "0x" + v.hex()) if isinstance(v, bytes) else str(v)

    def day(t: Any) -> str:
        return beijing_time(int(t))[:10] if t else ""

    if fn == "setRecognition":
        window = f"，自 {day(args['validFrom'])} 起" if args.get("validFrom") else "，立即生效"
        window += f"，至 {day(args['validUntil'])} 止" if args.get("validUntil") else "，不设截止"
        return f"认可{region_label(args['issuerRegion'])}签发的{tname(args['typeCode'])}{window}"
    if fn == "withdrawRecognition":
        return f"撤回对{region_label(args['issuerRegion'])}签发的{tname(args['typeCode'])}的认可"
    if fn == "registerIssuer":
        return f"登记发证部门：{args.get('name')}"
    if fn == "grantType":
        return f"授权发证部门 {issuer(args['issuerId'])} 签发{tname(args['typeCode'])}"
    if fn == "withdrawType":
        return f"收回发证部门 {issuer(args['issuerId'])} 签发{tname(args['typeCode'])}的授权"
    if fn == "addKey":
        return f"为发证部门 {issuer(args['issuerId'])} 添加签名密钥 {args['key']}"
    if fn == "retireKey":
        return f"停用发证部门 {issuer(args['issuerId'])} 的签名密钥 {args['key']}"
    if fn in ("suspendIssuer", "reinstateIssuer", "revokeIssuer"):
        verb = {"suspendIssuer": "暂停", "reinstateIssuer": "恢复", "revokeIssuer": "撤销"}[fn]
        return f"{verb}发证部门 {issuer(args['issuerId'])} 的发证资格"
    node = describe_node_call(fn, args) if contract == "NodeRegistry" else None
    if node is not None:
        return node
    return f"{contract}.{fn or '未知操作'}"


def _officer_names(rt: Any) -> dict[str, str]:
    return {c.officer_address.lower(): c.name for c in rt.credentials.all() if c.officer_address}


def _proposals(rt: Any, cred: Credential) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    model = rt.indexer.model
    now = rt.indexer.stats.head_time if getattr(rt.indexer.stats, "head_time", None) else int(time.time())
    names = _officer_names(rt)
    pending, done = [], []
    for p in sorted(model.proposals.values(), key=lambda p: -p.id):
        if p.region != cred.region:
            continue
        contract, fn, args = officers.decode_call(rt, p.target, p.data)
        approvers = [names.get(a.lower(), a) for a in p.approvers]
        region = model.regions.get(p.region)
        required = p.required or (region.threshold if region else 0)
        expired = bool(p.expires_at) and p.expires_at <= now
        item = {
            "id": p.id, "what": describe(rt, contract, fn, args), "proposer": names.get(p.proposer.lower(), p.proposer),
            "approvers": approvers, "count": len(p.approvers), "required": required, "executed": p.executed,
            "expired": expired, "expires": beijing_time(p.expires_at) if p.expires_at else "不过期",
            "mine": (cred.officer_address or "").lower() in {a.lower() for a in p.approvers},
        }
        (pending if not p.executed and not expired else done).append(item)
    return pending, done[:10]


def _rules(rt: Any, region: int) -> list[dict[str, Any]]:
    names = _type_names(rt)
    now = int(time.time())
    out = []
    for r in sorted(rt.indexer.model.recognitions.values(), key=lambda r: (r.type_code, r.issuer_region)):
        if r.verifier_region != region:
            continue
        out.append({"type": names.get(r.type_code, r.type_code), "issuer": region_label(r.issuer_region),
                    "from": beijing_time(r.valid_from)[:10] if r.valid_from else "一直",
                    "until": beijing_time(r.valid_until)[:10] if r.valid_until else "不设截止",
                    "in_force": r.in_force_at(now)})
    return out


def _page(request: Request, cred: Credential, status: int = 200, **extra: Any) -> Response:
    rt = request.app.state.runtime
    pending, done = _proposals(rt, cred)
    regions = [(code, region_label(code)) for code in sorted(rt.indexer.model.regions)
               if code != cred.region and rt.indexer.model.regions[code].member]
    types = sorted(((code, t.name) for code, t in rt.indexer.model.types.items() if t.active), key=lambda x: x[0])
    region = rt.indexer.model.regions.get(cred.region)
    return render(request, "officer.html", {
        "title": "区域管理", "region_name": region_label(cred.region), "pending": pending, "done": done,
        "rules": _rules(rt, cred.region or 0), "regions": regions, "types": types,
        "threshold": region.threshold if region else None, "officer_count": len(region.officers) if region else None,
        "signing": officers.signing_context(rt, cred.officer_address or ""),
        "form": extra.pop("form", {}), **extra}, status=status)


@router.get("/pages/officer")
def officer(request: Request) -> Response:
    cred = require_page_role(request, "officer")
    return _page(request, cred)


def _chain_error(exc: Exception) -> str:
    if isinstance(exc, ContractRefused):
        return "链上合约拒绝了该操作：" + exc.explanation
    if isinstance(exc, NodeUnavailable | RpcError):
        return "链节点暂时不可用，操作没有执行。请稍后重试。"
    if isinstance(exc, ReceiptTimeout):
        return "交易已发出，但尚未上链确认。请稍后刷新本页查看提案状态，确认未生效前不要重复提交。"
    if isinstance(exc, TransactionNotMined):
        return "交易未能上链（链上状态已变化，例如节点回退到较早的状态），操作没有执行。请重新提交。"
    if isinstance(exc, NonceRefused):
        return "节点反复拒绝该签名密钥的交易序号，操作没有执行。可能有其他程序在使用同一密钥，请联系运维核查后重试。"
    return f"操作没有执行：{exc}"


@router.post("/pages/officer/approve")
def approve(request: Request, proposal_id: str = Form(""), nonce: str = Form(""), deadline: str = Form(""),
            signature: str = Form(""), csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    cred = require_page_role(request, "officer")
    rt = request.app.state.runtime
    try:
        pid = int(proposal_id)
    except ValueError:
        return _page(request, cred, 400, error="提案编号无效。")
    p = rt.indexer.model.proposals.get(pid)
    if p is None or p.region != cred.region:
        return _page(request, cred, 404, error=f"本地区没有编号为 {pid} 的提案。")
    try:
        signed = officers.parse_signed(nonce, deadline, signature)
        outcome = officers.approve(rt, cred.officer_address or "", pid, signed)
    except officers.SignedActRefused as exc:
        return _page(request, cred, exc.status, error=exc.message)
    except (LedgerError, RpcError) as exc:
        return _page(request, cred, 409, error=_chain_error(exc))
    rt.indexer_nudge()
    message = (f"已批准提案 #{pid}，达到门限，变更已生效。" if outcome.executed
               else f"已批准提案 #{pid}，还需其他管理员批准。")
    return _page(request, cred, notice=message)


def _day(text: str) -> int | None:
    """'2026-12-01' as the start of that day in China time (unix seconds)."""
    d = date.fromisoformat(text)
    return int(datetime(d.year, d.month, d.day, tzinfo=CHINA).timestamp())


def _recognition_form(rt: Any, cred: Credential, action: str, type_code: str, issuer_region: str,
                      valid_from: str, valid_until: str) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The recognition change's field errors, else its (target, calldata) as the officer signs it."""
    errors: dict[str, str] = {}
    if action not in ("set", "withdraw"):
        errors["action"] = "请选择“认可”或“撤回认可”。"
    if type_code not in rt.indexer.model.types:
        errors["type_code"] = "请选择证照类型。"
    try:
        region = int(issuer_region)
        if region != 0 and (region == cred.region or region not in rt.indexer.model.regions):
            raise ValueError
    except ValueError:
        errors["issuer_region"] = "请选择签发地区（不能是本地区）。"
        region = -1
    start = end = 0
    try:
        start = _day(valid_from) if valid_from else 0  # type: ignore[assignment]
    except ValueError:
        errors["valid_from"] = "起始日期格式应为 年-月-日，如 2026-12-01。"
    try:
        end = _day(valid_until) if valid_until else 0  # type: ignore[assignment]
    except ValueError:
        errors["valid_until"] = "截止日期格式应为 年-月-日，如 2027-12-31。"
    if end and end <= start:
        errors["valid_until"] = "截止日期必须晚于起始日期。"
    if errors:
        return errors, None
    return {}, officers.recognition_call(rt, cred.region or 0, action, type_code, region, start, end)


@router.post("/pages/officer/propose/prepare")
def prepare(request: Request, action: str = Form("set"), type_code: str = Form(""), issuer_region: str = Form(""),
            valid_from: str = Form(""), valid_until: str = Form(""), csrf: str = Form("")) -> Response:
    """The exact call the officer is about to sign (JSON for the page's script); nothing is sent."""
    require_csrf(request, csrf)
    cred = require_page_role(request, "officer")
    rt = request.app.state.runtime
    errors, call = _recognition_form(rt, cred, action, type_code, issuer_region, valid_from, valid_until)
    if call is None:
        return JSONResponse({"errors": errors}, status_code=422)
    return JSONResponse({"region": cred.region, "target": call[0], "data": "0x" + call[1].hex()})


@router.post("/pages/officer/propose")
def propose(request: Request, action: str = Form("set"), type_code: str = Form(""), issuer_region: str = Form(""),
            valid_from: str = Form(""), valid_until: str = Form(""), nonce: str = Form(""), deadline: str = Form(""),
            signature: str = Form(""), csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    cred = require_page_role(request, "officer")
    rt = request.app.state.runtime
    form = {"action": action, "type_code": type_code, "issuer_region": issuer_region, "valid_from": valid_from,
            "valid_until": valid_until}
    errors, call = _recognition_form(rt, cred, action, type_code, issuer_region, valid_from, valid_until)
    if call is None:
        return _page(request, cred, 422, errors=errors, form=form)
    try:
        signed = officers.parse_signed(nonce, deadline, signature)
        outcome = officers.propose(rt, cred.officer_address or "", cred.region or 0, call[0], call[1], signed)
    except officers.SignedActRefused as exc:
        return _page(request, cred, exc.status, error=exc.message, form=form)
    except (LedgerError, RpcError) as exc:
        return _page(request, cred, 409, error=_chain_error(exc), form=form)
    rt.indexer_nudge()
    if outcome.executed:
        message = f"提案 #{outcome.proposal_id} 已生效（本地区门限为 1）。"
    else:
        message = (f"已提出提案 #{outcome.proposal_id}（您的提出即第一份批准），"
                   "等待本地区另一名管理员批准后生效（双人双锁）。")
    return _page(request, cred, notice=message)
