"""Wallet routes: a holder lists their certificates and makes a presentation (the 加注件).

The holder chooses which fields to disclose (the type's default preset if none are given) and
states the purpose (事由). The presentation expires after minutes (settings.presentation_ttl_s):
a screenshot goes stale. A short one-time reference URL is made with it for old scanners.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import require
from api.credentials import Credential
from api.departments import DepartmentRuntime
from api.errors import ApiError
from common.document import ALWAYS_DISCLOSED, UnknownFieldError
from common.facts import CertStatus, ChainUnavailable
from issuers.catalogue import default_catalogue
from verifier.codec import encode, make_reference, new_reference_token
from verifier.presentation import make_presentation
from verifier.qr import qr_png, qr_svg, qr_version

router = APIRouter(prefix="/v1/wallet", tags=["持证人 holder wallet"])


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
    for dept in rt.departments.values():
        stored = dept.service.store.certificate(cert_id, decrypt=False)
        if stored is not None and stored.issuer_code == dept.credit_code:
            return dept, dept.service.certificate(cert_id)
    raise ApiError(404, "ISSUER_NOT_SERVED", "签发该证照的部门不在本服务上，无法生成出示码 (issuer not served here)")


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
            "status": wallet_status(rt, issued),
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
    try:
        p = make_presentation(list(issued.fields), paths, batch_root=issued.batch_root,
                              batch_proof=issued.batch_proof, issuer_signature=issued.signature,
                              purpose=body.purpose, domain=rt.domain, now=now, ttl_s=rt.settings.presentation_ttl_s)
    except UnknownFieldError as exc:
        raise ApiError(422, "UNKNOWN_FIELD", f"证照中没有这个字段：{exc} (unknown field)") from None
    except ValueError as exc:
        raise ApiError(422, "BAD_PRESENTATION_REQUEST", f"无法生成出示码：{exc}") from None
    text = encode(p)
    if format == "png":
        return Response(qr_png(text), media_type="image/png", headers={"Cache-Control": "no-store"})
    if format == "svg":
        return Response(qr_svg(text), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
    reference = None
    if body.reference:
        token = new_reference_token()
        rt.references.put(token, text, now + rt.settings.presentation_ttl_s)
        reference = make_reference(rt.settings.public_base_url, token)
    return JSONResponse({
        "presentation": text, "qr_version": qr_version(text), "created_at": now,
        "expires_at": now + rt.settings.presentation_ttl_s, "purpose": body.purpose,
        "disclosed": [f.path for f in p.fields], "reference": reference,
    }, headers={"Cache-Control": "no-store"})
