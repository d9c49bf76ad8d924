"""Holder binding in the wallet (issue 15, item 2): the key is on the holder's device, the node relays.

    GET  /v1/wallet/certificates/{id}/binding                 what the holder's key signs to bind
    POST /v1/wallet/certificates/{id}/binding                 relay a signed binding statement to the
                                                              department (re-issue bound, old superseded)
    POST /v1/wallet/certificates/{id}/presentation/unsigned   a stamped code of a bound certificate,
                                                              holder.address disclosed, no holder signature
    POST /v1/wallet/certificates/{id}/presentation/signed     attach the holder's signature, made on the
                                                              device, after checking it; the final code

Why the server never signs for the holder and the device never signs a bare digest: the page
decodes the unsigned code itself, checks what it says (its certificate, its key's address, the
事由 typed, a window of minutes) and computes the EIP-712 HolderPresentation digest from it
(api/pages/static/wallet-holder.js); the digest returned here is for API clients' information.
The signed endpoint checks that the signature recovers to the certificate's bound address and
that the stamp is this node's own, so the node hands out only codes that verify.

Each call is charged to the holder's rate-limit bucket (api/ratelimit.py: every /v1 request);
a binding also costs the department a revocation transaction, so it is accepted once per
certificate (issuers/holder_binding.py: trust on first use, a change of key at the department).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.auth import require
from api.credentials import Credential
from api.errors import ApiError
from api.routes.wallet import PresentationRequest, _holder_cert, stamp_signer, stamped_presentation, wallet_status
from common.eip712 import to_checksum_address
from issuers.catalogue import default_catalogue
from issuers.errors import ChainUnreachable, StatusChangeRefused
from issuers.holder_binding import HOLDER_BINDING_TYPE, BindingRefused, bind_holder, check_binding_statement
from verifier.codec import (
    PresentationDecodeError,
    decode,
    encode,
    expand_signature,
    make_reference,
    make_region_reference,
    new_reference_token,
)
from verifier.presentation import (
    HOLDER_ADDRESS_PATH,
    holder_signing_digest,
    recover_holder_raw,
    stamped_envelope,
)
from verifier.qr import qr_version

router = APIRouter(prefix="/v1/wallet", tags=["持证人 holder wallet"])

_HEX_SIG = r"^0x[0-9a-fA-F]{128}([0-9a-fA-F]{2})?$"


class BindingRequest(BaseModel):
    address: str = Field(..., pattern=r"^0x[0-9a-fA-F]{40}$", description="持证人本机密钥的地址（secp256k1）")
    signed_at: int = Field(..., ge=0, lt=2**63, description="绑定声明的签署时间（unix 秒）")
    signature: str = Field(..., pattern=_HEX_SIG,
                           description="对 HolderBinding 的 EIP-712 签名（65 或 64 字节，十六进制）")


class SignedPresentationRequest(BaseModel):
    presentation: str = Field(..., min_length=5, max_length=8192, description="未签名的出示码（unsigned 接口所给）")
    holder_signature: str = Field(..., pattern=_HEX_SIG,
                                  description="持证人本机密钥对 HolderPresentation 的 EIP-712 签名（65 或 64 字节）")
    reference: bool = Field(True, description="同时生成一次性引用码（供老式扫码枪）")


def _sig(text: str) -> bytes:
    raw = bytes.fromhex(text[2:])
    return expand_signature(raw) if len(raw) == 64 else raw


def _bound_address(issued: Any) -> str | None:
    value = (issued.document.get("holder") or {}).get("address")
    return to_checksum_address(value) if isinstance(value, str) else None


@router.get("/certificates/{cert_id}/binding", summary="绑定持证人密钥：需签署的内容")
def binding_terms(request: Request, cert_id: str, cred: Credential = Depends(require("holder"))) -> dict[str, Any]:
    rt = request.app.state.runtime
    _, issued = _holder_cert(request, cred, cert_id)
    return {"cert_id": issued.cert_id, "document_root": "0x" + issued.document_root.hex(),
            "bound_address": _bound_address(issued), "type": HOLDER_BINDING_TYPE,
            "domain": {"name": "Huren", "version": "1", "chainId": rt.domain.chain_id,
                       "verifyingContract": rt.domain.verifying_contract}}


@router.post("/certificates/{cert_id}/binding", summary="绑定持证人密钥（发证部门换发绑定版本）",
             responses={409: {"description": "已绑定、尚未上链或已撤销"}, 422: {"description": "绑定声明无效"},
                        503: {"description": "链节点不可用（新版本已签发，稍后重试即可完成）"}})
def bind(request: Request, cert_id: str, body: BindingRequest,
         cred: Credential = Depends(require("holder"))) -> JSONResponse:
    rt = request.app.state.runtime
    dept, issued = _holder_cert(request, cred, cert_id)
    if issued.batch_root is None:
        raise ApiError(409, "NOT_YET_ANCHORED", "证照正在上链存证，暂不能绑定 (certificate not anchored yet)",
                       "通常几秒钟后即可，请稍后刷新。")
    if wallet_status(rt, issued)["code"] == "REVOKED":
        raise ApiError(409, "REVOKED", "该证照已被撤销，不能绑定 (certificate revoked)", "请出示换发后的新版本。")
    try:
        address = check_binding_statement(rt.domain, issued.cert_id, issued.document_root, body.address,
                                          body.signed_at, _sig(body.signature))
        result = bind_holder(dept.service, issued.cert_id, address)
    except BindingRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    except ChainUnreachable:
        raise ApiError(503, "CHAIN_UNAVAILABLE", "绑定版本已签发，但链节点暂不可用，旧版本尚未注销",
                       "请稍后再点一次“绑定”完成。") from None
    except StatusChangeRefused as exc:
        raise ApiError(409, "SUPERSEDE_REFUSED", f"旧版本未能注销：{exc.args[0]}") from None
    return JSONResponse({"cert_id": result.cert_id, "superseded": result.superseded, "address": result.address,
                         "revocation_tx": result.revocation_tx}, headers={"Cache-Control": "no-store"})


@router.post("/certificates/{cert_id}/presentation/unsigned", summary="绑定证照：生成待持证人签名的出示码",
             responses={409: {"description": "证照未绑定持证人密钥、尚未上链或已撤销"}})
def unsigned_presentation(request: Request, cert_id: str, body: PresentationRequest,
                          cred: Credential = Depends(require("holder"))) -> JSONResponse:
    rt = request.app.state.runtime
    _, issued = _holder_cert(request, cred, cert_id)
    if _bound_address(issued) is None:
        raise ApiError(409, "NOT_BOUND", "这份证照没有绑定持证人密钥 (certificate not bound)", "请先在本机绑定。")
    if issued.batch_root is None or issued.batch_proof is None:
        raise ApiError(409, "NOT_YET_ANCHORED", "证照正在上链存证，暂不能出示 (certificate not anchored yet)",
                       "通常几秒钟后即可，请稍后刷新。")
    if wallet_status(rt, issued)["code"] == "REVOKED":
        raise ApiError(409, "REVOKED", "该证照已被撤销，不能出示 (certificate revoked)", "请联系发证部门。")
    ctype = default_catalogue().get(issued.type_code)
    paths = body.fields if body.fields is not None else list(ctype.default_disclosure if ctype else ())
    paths = [*paths, HOLDER_ADDRESS_PATH] if HOLDER_ADDRESS_PATH not in paths else paths
    now = int(time.time())
    p = stamped_presentation(rt, issued, paths, body.purpose, now)
    parts = {  # what the holder's device computes the digest from (it checks them first)
        "version": p.version, "format": p.format, "suite": p.suite, "audience": p.audience,
        "fields": [{"path": f.path, "value": f.value, "salt": f.salt.hex()} for f in p.fields],
        "proof": [h.hex() for h in p.disclosure.proof], "flags": list(p.disclosure.flags),
        "batch_proof": [h.hex() for h in p.batch_proof], "issuer_signature": p.issuer_signature.hex(),
        "created_at": p.created_at, "expires_at": p.expires_at, "nonce": p.nonce.hex(), "purpose": p.purpose,
    }
    return JSONResponse({"presentation": encode(p), "parts": parts,
                         "digest": "0x" + holder_signing_digest(rt.domain, p).hex(),
                         "holder_address": _bound_address(issued), "created_at": p.created_at,
                         "expires_at": p.expires_at, "purpose": p.purpose},
                        headers={"Cache-Control": "no-store"})


@router.post("/certificates/{cert_id}/presentation/signed", summary="绑定证照：附上持证人签名，得到出示码",
             responses={422: {"description": "签名不是绑定的持证人所签，或出示码不是本节点为这份证照所制"}})
def signed_presentation(request: Request, cert_id: str, body: SignedPresentationRequest,
                        cred: Credential = Depends(require("holder"))) -> JSONResponse:
    rt = request.app.state.runtime
    _, issued = _holder_cert(request, cred, cert_id)
    bound = _bound_address(issued)
    if bound is None:
        raise ApiError(409, "NOT_BOUND", "这份证照没有绑定持证人密钥 (certificate not bound)", "请先在本机绑定。")
    try:
        p = decode(body.presentation)
    except PresentationDecodeError as exc:
        raise ApiError(422, "BAD_PRESENTATION", f"出示码无法识别：{exc}") from None
    disclosed = p.disclosed()
    if p.format != 2 or p.stamp is None or disclosed.get("id") != issued.cert_id \
            or p.document_root != issued.document_root:
        raise ApiError(422, "NOT_THIS_CERTIFICATE", "这不是本节点为这份证照生成的出示码 (not this certificate's code)")
    try:
        ours = stamp_signer(rt, issued).made(stamped_envelope(rt.domain, p), p.stamp)
    except ValueError:
        ours = False
    if not ours:
        raise ApiError(422, "NOT_THIS_NODES_STAMP", "出示码的加注签章不是本节点所盖，或内容已被改动 (stamp mismatch)",
                       "请重新生成出示码。")
    if p.expires_at <= time.time():
        raise ApiError(422, "PRESENTATION_EXPIRED", "出示码已过期，请重新生成 (presentation expired)")
    signed = replace(p, holder_signature=_sig(body.holder_signature))
    recovered = recover_holder_raw(rt.domain, signed)
    if disclosed.get(HOLDER_ADDRESS_PATH) is None or recovered is None or recovered != bytes.fromhex(bound[2:]):
        raise ApiError(422, "HOLDER_SIGNATURE_INVALID",
                       "持证人签名不是本证照绑定的密钥对这个出示码所签 (holder signature does not match)",
                       "请在绑定了这份证照的手机上生成出示码。")
    text = encode(signed)
    reference = None
    if body.reference:
        token = new_reference_token()
        rt.references.put(token, text, p.expires_at)
        reference = (make_region_reference(rt.node.region, token) if rt.node is not None
                     else make_reference(rt.settings.public_base_url, token))
    return JSONResponse({
        "presentation": text, "qr_version": qr_version(text), "created_at": p.created_at,
        "expires_at": p.expires_at, "purpose": p.purpose, "holder_bound": True,
        "disclosed": [f.path for f in p.fields], "reference": reference,
    }, headers={"Cache-Control": "no-store"})
