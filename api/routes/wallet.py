"""Wallet routes: a holder lists their certificates and makes a presentation (the 加注件).

The holder chooses which fields to disclose (the type's default preset if none are given) and
states the purpose (事由). The presentation expires after minutes (settings.presentation_ttl_s):
a screenshot goes stale. A short one-time reference is made with it for old scanners: on a
federation node "HRR1:<region>:<token>" (verified at any node of the federation), else this
server's reference URL.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from api.auditlog import entries_table
from api.auth import require
from api.credentials import Credential
from api.credentials import credentials as credentials_table
from api.departments import DepartmentRuntime
from api.errors import ApiError
from common.document import ALWAYS_DISCLOSED, UnknownFieldError
from common.facts import CertStatus, ChainUnavailable
from common.freshness import facts_age_s, within_bound
from common.stamp import StampSigner, StampSuiteMismatch
from federation.authorisation import (
    DEFAULT_WINDOW_S,
    MAX_WINDOW_S,
    MIN_WINDOW_S,
    Authorisation,
    Refusal,
    TakeAsk,
    disclosed_fields,
    judge,
    make_code,
    new_token,
    refusal,
)
from federation.use_reports import Use
from issuers.catalogue import default_catalogue
from issuers.status_actions import REASON_CODES
from issuers.status_codes import RevocationReason
from verifier.codec import encode, make_reference, make_region_reference, new_reference_token
from verifier.presentation import PURPOSE_MAX_CHARS, Presentation, make_presentation, unsafe_text
from verifier.qr import qr_png, qr_svg, qr_version
from verifier.verdicts import Verdict

router = APIRouter(prefix="/v1/wallet", tags=["持证人 holder wallet"])

#: The on-chain reason code of a version replaced by a newer one (issuers/status_actions.py).
SUPERSEDED_REASON = REASON_CODES[RevocationReason.SUPERSEDED]


class PresentationRequest(BaseModel):
    fields: list[str] | None = Field(
        None, max_length=64, description="要披露的字段路径；省略则用该类证照的默认披露项",
        examples=[["claims.entityName", "claims.creditCode"]])
    purpose: str = Field(..., min_length=1, max_length=200, description="事由（加注件的制作事由）",
                         examples=["在河北省办理企业登记"])
    reference: bool = Field(True, description="同时生成一次性引用网址（供老式扫码枪）")


def wallet_status(rt: Any, issued: Any) -> dict[str, Any]:
    """A holder-facing status: 有效 / 暂扣 / 已撤销 / 上链中 / 已过期, from the local read model."""
    if issued.batch_root is None or rt.indexer.model.anchors.get(issued.batch_root) is None:
        return {"code": "PENDING", "label": "上链中", "detail": "证照已签发，正在上链存证，稍后即可出示。"}
    try:
        facts = rt.view.certificate_status(issued.document_root, rt.indexer.model.anchors[issued.batch_root].issuer_id)
    except ChainUnavailable:
        return {"code": "UNKNOWN", "label": "状态暂不可查", "detail": "链节点暂时不可用。"}
    # The verifier's freshness rule for the holder too: a stale index must not show a revoked certificate as 有效.
    head_time = rt.view.freshness().head_time
    age = facts_age_s(time.time(), head_time)
    if not head_time or not within_bound(age, rt.settings.max_facts_age_s):
        return {"code": "UNKNOWN", "label": "状态暂不可查",
                "detail": f"本服务的链上数据已 {int(age)} 秒没有更新，暂时无法确认最新状态；"
                          "出示码仍可生成，由核验方判断。"}
    if facts.status == CertStatus.REVOKED and getattr(facts, "reason", None) == SUPERSEDED_REASON:
        return {"code": "REVOKED", "label": "已换发", "detail": "已换发新版本（如绑定了持证人密钥），请出示新版本。"}
    if facts.status == CertStatus.REVOKED:
        return {"code": "REVOKED", "label": "已撤销", "detail": "发证部门已撤销该证照。"}
    if facts.status == CertStatus.SUSPENDED:
        return {"code": "SUSPENDED", "label": "暂扣", "detail": "发证部门已暂扣该证照。"}
    until = issued.document.get("validUntil")
    if isinstance(until, str) and until < time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600)):
        return {"code": "EXPIRED", "label": "已过期", "detail": f"有效期至 {until}。"}
    return {"code": "VALID", "label": "有效", "detail": ""}


def _holder_cert(request: Request, cred: Credential, cert_id: str) -> tuple[DepartmentRuntime, Any]:
    rt = request.app.state.runtime
    if not cred.holder_hash or not rt.holdings.holds(cred.holder_hash, cert_id):
        raise ApiError(404, "NOT_IN_WALLET", "您的证照中没有这一份 (not in your wallet)",
                       "请从“我的证照”列表中选择。")
    return served_cert(rt, cert_id)


def served_cert(rt: Any, cert_id: str) -> tuple[DepartmentRuntime, Any]:
    """The department of this node that issued `cert_id`, and the certificate (404 if none here)."""
    for dept in rt.departments.values():
        stored = dept.service.store.certificate(cert_id, decrypt=False)
        if stored is not None and stored.issuer_code == dept.credit_code:
            return dept, dept.service.certificate(cert_id)
    raise ApiError(404, "ISSUER_NOT_SERVED", "签发该证照的部门不在本服务上，无法生成出示码 (issuer not served here)")


def stamp_signer(rt: Any, issued: Any) -> StampSigner:
    """The stamping key of the certificate's issuing region (this node's, since it serves the issuer).

    Why refuse rather than hand out an unstamped code: a verifier answers PRESENTATION_EXPIRED to
    a code whose window no stamp covers, so the holder would only be sent back at the counter.
    """
    region = issued.document.get("issuer", {}).get("region")
    signer = rt.stamp_signers.get(region)
    if signer is None:
        raise ApiError(503, "STAMP_KEY_MISSING",
                       f"本节点没有地区 {region} 的加注签章密钥，暂时无法生成出示码 (no stamping key for this region)",
                       "请联系本节点的运维人员配置加注签章密钥（HUREN_STAMP_KEYS_FILE）。")
    return signer


def stamped_presentation(rt: Any, issued: Any, paths: list[str], purpose: str, now: int,
                         audience: int | None = None) -> Presentation:
    """A code of `issued` showing `paths`, stamped by this node: the wallet's codes and the unsigned
    codes a bound holder's device signs (api/routes/wallet_binding.py) are made alike. A path the
    certificate lacks or a bad 事由 is the holder's error (422), said in words."""
    try:
        return make_presentation(list(issued.fields), paths, batch_root=issued.batch_root,
                                 batch_proof=issued.batch_proof, issuer_signature=issued.signature,
                                 purpose=purpose, domain=rt.domain, now=now, ttl_s=rt.settings.presentation_ttl_s,
                                 stamp_signer=stamp_signer(rt, issued), audience=audience, suite=issued.suite)
    except UnknownFieldError as exc:
        raise ApiError(422, "UNKNOWN_FIELD", f"证照中没有这个字段：{exc} (unknown field)") from None
    except StampSuiteMismatch as exc:  # the node's configuration, not the holder's request
        raise ApiError(503, "STAMP_KEY_MISSING", f"暂时无法生成出示码：{exc.message} ({exc.message_en})",
                       "请联系本节点的运维人员配置加注签章密钥（HUREN_STAMP_KEYS_FILE）。") from None
    except ValueError as exc:
        raise ApiError(422, "BAD_PRESENTATION_REQUEST", f"无法生成出示码：{exc}") from None


@router.get("/certificates", summary="我的证照")
def my_certificates(request: Request, cred: Credential = Depends(require("holder"))) -> list[dict[str, Any]]:
    rt = request.app.state.runtime
    catalogue = default_catalogue()
    out = []
    for h in rt.holdings.of(cred.holder_hash or ""):
        try:
            _, issued = _holder_cert(request, cred, str(h["cert_id"]))
        except ApiError:
            continue
        ctype = catalogue.get(issued.type_code)
        out.append({
            "cert_id": issued.cert_id, "type_code": issued.type_code, "type_name": ctype.name if ctype else "",
            "issuer_name": issued.document.get("issuer", {}).get("name"),
            "valid_from": issued.document.get("validFrom"), "valid_until": issued.document.get("validUntil"),
            "status": wallet_status(rt, issued), "suite": issued.suite,
            "fields": [{"path": f.path, "title": (ctype.title_of(f.path) if ctype else None) or f.path,
                        "always": f.path in ALWAYS_DISCLOSED,
                        "default": bool(ctype and f.path in ctype.default_disclosure)} for f in issued.fields],
        })
    return out


@router.post("/certificates/{cert_id}/presentation", summary="生成出示码（加注件）",
             responses={200: {"description": "出示码文本、二维码版本、到期时间、引用网址；format=png/svg 返回图片",
                              "content": {"image/png": {}, "image/svg+xml": {}}},
                        404: {"description": "不是您的证照"}, 409: {"description": "证照尚未上链或已撤销"},
                        422: {"description": "字段或事由无效"}})
def presentation(request: Request, cert_id: str, body: PresentationRequest,
                 format: Literal["json", "png", "svg"] = "json",
                 cred: Credential = Depends(require("holder"))) -> Response:
    rt = request.app.state.runtime
    _, issued = _holder_cert(request, cred, cert_id)
    if issued.batch_root is None or issued.batch_proof is None:
        raise ApiError(409, "NOT_YET_ANCHORED", "证照正在上链存证，暂不能出示 (certificate not anchored yet)",
                       "通常几秒钟后即可，请稍后刷新。")
    status = wallet_status(rt, issued)
    if status["code"] == "REVOKED":
        raise ApiError(409, "REVOKED", "该证照已被撤销，不能出示 (certificate revoked)", "请联系发证部门。")
    ctype = default_catalogue().get(issued.type_code)
    paths = body.fields if body.fields is not None else list(ctype.default_disclosure if ctype else ())
    now = int(time.time())
    p = stamped_presentation(rt, issued, paths, body.purpose, now)
    text = encode(p)
    if format == "png":
        return Response(qr_png(text), media_type="image/png", headers={"Cache-Control": "no-store"})
    if format == "svg":
        return Response(qr_svg(text), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
    reference = None
    if body.reference:
        token = new_reference_token()
        rt.references.put(token, text, now + rt.settings.presentation_ttl_s)
        # A federation node names its region, never an address: another region's node finds this
        # one through the chain's node registry (api/routes/verify.py). Alone, the URL form.
        reference = (make_region_reference(rt.node.region, token) if rt.node is not None
                     else make_reference(rt.settings.public_base_url, token))
    return JSONResponse({
        "presentation": text, "qr_version": qr_version(text), "created_at": now,
        "expires_at": now + rt.settings.presentation_ttl_s, "purpose": body.purpose,
        "disclosed": [f.path for f in p.fields], "reference": reference,
    }, headers={"Cache-Control": "no-store"})


# ---- 授权用证: the holder authorises another region to obtain chosen fields (federation.authorisation) ----

class AuthoriseRequest(BaseModel):
    region: int = Field(..., ge=100000, le=999999, description="获准用证的地区（6 位行政区划代码）",
                        examples=[130000])
    department: str | None = Field(None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$",
                                   description="只授权该地区的这一个部门（统一社会信用代码）；省略则该地区任一部门",
                                   examples=[None])
    fields: list[str] = Field(..., max_length=64,
                              description="授权取得的字段路径（证照类型、发证部门、有效期总会提供）",
                              examples=[["claims.entityName", "claims.creditCode"]])
    # The same rules as a presentation's purpose: it becomes the purpose of the presentation released.
    purpose: str = Field(..., min_length=1, max_length=PURPOSE_MAX_CHARS, description="事由",
                         examples=["在河北省办理企业登记"])
    window_s: int = Field(DEFAULT_WINDOW_S, ge=MIN_WINDOW_S, le=MAX_WINDOW_S,
                          description="授权有效时长（秒）：1 小时至 7 天，默认 1 天")

    @field_validator("purpose")
    @classmethod
    def _safe_purpose(cls, purpose: str) -> str:
        if unsafe_text(purpose):
            raise ValueError("事由不能含控制字符或文字方向控制符 (purpose has control or bidi characters)")
        return purpose


def _auth_status(auth: Authorisation, now: int) -> dict[str, str]:
    if auth.withdrawn_at is not None:
        return {"code": "WITHDRAWN", "label": "已撤回"}
    if auth.used_at is not None:
        return {"code": "USED", "label": "已使用"}
    if now > auth.expires_at:
        return {"code": "EXPIRED", "label": "已过期"}
    return {"code": "UNUSED", "label": "未使用"}


def authorisation_json(auth: Authorisation, now: int) -> dict[str, Any]:
    return {"id": auth.id, "cert_id": auth.cert_id, "region": auth.region, "department": auth.department,
            "fields": list(auth.fields), "purpose": auth.purpose, "created_at": auth.created_at,
            "expires_at": auth.expires_at, "used_at": auth.used_at, "used_by_region": auth.used_by_region,
            "withdrawn_at": auth.withdrawn_at, "status": _auth_status(auth, now)}


def _federation_node(rt: Any) -> Any:
    if rt.node is None or rt.authorisations is None:
        raise ApiError(409, "NOT_A_FEDERATION_NODE",
                       "本服务未加入节点联盟，不能授权其他地区用证 (not a federation node)", "请改用出示码。")
    return rt.node


@router.post("/certificates/{cert_id}/authorisations", summary="授权用证：生成用证码",
             responses={200: {"description": "用证码（HRA1:<发证地区>:<令牌>，只显示这一次）与授权内容"},
                        404: {"description": "不是您的证照"},
                        409: {"description": "证照未上链、已撤销，或本服务不是联盟节点"},
                        422: {"description": "地区、部门、字段、事由或时长无效"}})
def authorise(request: Request, cert_id: str, body: AuthoriseRequest,
              cred: Credential = Depends(require("holder"))) -> JSONResponse:
    rt = request.app.state.runtime
    node = _federation_node(rt)
    _, issued = _holder_cert(request, cred, cert_id)
    if issued.batch_root is None or issued.batch_proof is None:
        raise ApiError(409, "NOT_YET_ANCHORED", "证照正在上链存证，暂不能授权 (certificate not anchored yet)",
                       "通常几秒钟后即可，请稍后刷新。")
    if wallet_status(rt, issued)["code"] == "REVOKED":
        raise ApiError(409, "REVOKED", "该证照已被撤销，不能授权 (certificate revoked)", "请联系发证部门。")
    known = {f.path for f in issued.fields}
    unknown = [p for p in body.fields if p not in known]
    if unknown:
        raise ApiError(422, "UNKNOWN_FIELD", f"证照中没有这个字段：{unknown[0]} (unknown field)")
    fields = list(dict.fromkeys(p for p in body.fields if p not in ALWAYS_DISCLOSED))
    now = int(time.time())
    token = new_token()
    assert cred.holder_hash is not None
    auth = rt.authorisations.add(token, holder_hash=cred.holder_hash, cert_id=cert_id, region=body.region,
                                 department=body.department, fields=fields, purpose=body.purpose, now=now,
                                 expires_at=now + body.window_s)
    return JSONResponse({**authorisation_json(auth, now), "code": make_code(node.region, token)},
                        headers={"Cache-Control": "no-store"})


@router.get("/authorisations", summary="我的授权（用证码）")
def my_authorisations(request: Request, cred: Credential = Depends(require("holder"))) -> list[dict[str, Any]]:
    rt = request.app.state.runtime
    if rt.authorisations is None or not cred.holder_hash:
        return []
    now = int(time.time())
    return [authorisation_json(a, now) for a in rt.authorisations.of_holder(cred.holder_hash)]


@router.post("/authorisations/{auth_id}/withdraw", summary="撤回未使用的授权",
             responses={200: {"description": "已撤回"}, 404: {"description": "没有这项授权"},
                        409: {"description": "授权已使用或已撤回"}})
def withdraw_authorisation(request: Request, auth_id: str,
                           cred: Credential = Depends(require("holder"))) -> dict[str, Any]:
    rt = request.app.state.runtime
    auth = rt.authorisations.by_id(auth_id[:64]) if rt.authorisations is not None else None
    if auth is None or auth.holder_hash != cred.holder_hash:
        raise ApiError(404, "AUTHORISATION_NOT_FOUND", "您没有这项授权 (no such authorisation)",
                       "请从“我的授权”列表中选择。")
    now = int(time.time())
    if not rt.authorisations.withdraw(auth.holder_hash, auth.id, now):
        status = _auth_status(rt.authorisations.by_id(auth.id), now)
        raise ApiError(409, "AUTHORISATION_NOT_WITHDRAWABLE",
                       f"该授权{status['label']}，不能撤回 (authorisation {status['code'].lower()})")
    return authorisation_json(rt.authorisations.by_id(auth.id), now)


def release_authorised(rt: Any, token: str, ask: TakeAsk, taker: tuple[int, str]) -> str | Refusal:
    """The issuing node's side of 授权用证: the presentation of exactly the authorised fields, or the refusal.

    Judged by `federation.authorisation.judge` and the receiving region's recognition of the type from
    this region (the chain's rules, read here as there); the presentation is built before the
    authorisation is marked used, so a failure to build never spends it, and the conditional update is
    what makes it one-time. `taker` is (region, node key id) recorded as the user.
    """
    now = int(time.time())
    auth = rt.authorisations.by_token(token) if rt.authorisations is not None else None
    refused = judge(auth, ask, now)
    if refused is not None:
        return refused
    assert auth is not None
    _, issued = served_cert(rt, auth.cert_id)
    if issued.batch_root is None or issued.batch_proof is None or wallet_status(rt, issued)["code"] == "REVOKED":
        raise ApiError(409, "CERTIFICATE_NOT_PRESENTABLE", "该证照尚未上链或已被撤销，无法提供 (not presentable)")
    try:
        recognised = ask.region == rt.node.region or rt.view.recognition(ask.region, issued.type_code,
                                                                         rt.node.region, now) is not None
    except ChainUnavailable:  # the receiving node shows a 503 of ours as UNAVAILABLE
        raise ApiError(503, "CHAIN_UNAVAILABLE", "链上认可规则暂时无法查询 (recognition rules unavailable)",
                       "请稍后再试。") from None
    if not recognised:
        return refusal("AUTHORISATION_NOT_RECOGNISED")
    p = stamped_presentation(rt, issued, disclosed_fields(auth, ask), auth.purpose, now, audience=ask.region)
    if not rt.authorisations.mark_used(auth.id, now, taker):
        return judge(rt.authorisations.by_id(auth.id), ask, now) or refusal("AUTHORISATION_USED")
    return encode(p)


# ---- 用证记录: every use of the holder's certificates, here and at other regions' nodes ----

def local_uses(rt: Any, roots: dict[bytes, str]) -> list[Use]:
    """Uses at this node's own windows, read from its verification log (not stored twice).

    The window is named by its credential's name (a window's, never a clerk's); an entry whose
    credential is gone still shows its region.
    """
    if not roots:
        return []
    e, c = entries_table, credentials_table
    query = (select(e.c.time_ms, e.c.region, e.c.verdict, e.c.purpose, e.c.certificate_hash, c.c.name, c.c.credit_code)
             .select_from(e.outerjoin(c, c.c.id == e.c.credential_id))
             .where(e.c.certificate_hash.in_(list(roots))))
    with rt.log.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [Use(roots[bytes(r.certificate_hash)], r.region, r.name or "核验窗口", r.credit_code, r.time_ms // 1000,
                r.purpose, r.verdict, False) for r in rows]


def use_json(use: Use, type_name: str) -> dict[str, Any]:
    verdict = Verdict(use.verdict) if use.verdict in Verdict.__members__ else None
    return {"cert_id": use.cert_id, "type_name": type_name, "region": use.region, "window": use.window,
            "department": use.department, "at": use.at, "purpose": use.purpose, "verdict": use.verdict,
            "verdict_label": verdict.label if verdict is not None else use.verdict,
            "outcome": verdict.outcome if verdict is not None else "invalid",
            "reported_by_other_node": use.reported}


@router.get("/uses", summary="用证记录：我的证照在何地、何部门、何时、为何事由被核验，结论如何")
def my_uses(request: Request, cert_id: str | None = None,
            cred: Credential = Depends(require("holder"))) -> list[dict[str, Any]]:
    """Newest first; only the holder's own certificates (another holder's cert_id gives nothing)."""
    rt = request.app.state.runtime
    catalogue = default_catalogue()
    roots: dict[bytes, str] = {}
    names: dict[str, str] = {}
    for h in rt.holdings.of(cred.holder_hash or ""):
        if cert_id is not None and h["cert_id"] != cert_id:
            continue
        try:
            _, issued = _holder_cert(request, cred, str(h["cert_id"]))
        except ApiError:
            continue
        roots[bytes(issued.document_root)] = issued.cert_id
        ctype = catalogue.get(issued.type_code)
        names[issued.cert_id] = ctype.name if ctype else ""
    uses = local_uses(rt, roots)
    if rt.received_uses is not None:
        uses += rt.received_uses.of(list(names))
    uses.sort(key=lambda u: u.at, reverse=True)
    return [use_json(u, names.get(u.cert_id, "")) for u in uses]
