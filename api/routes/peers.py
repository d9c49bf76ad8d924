"""Routes other regions' nodes call: signed node-to-node requests only (federation.fastapi_guard).

The caller's region is what its signature proves, checked against the chain's node registry at
the request's time; no credential, cookie or field of the body can claim it. A node without a
federation identity (settings.node_region) has no peers and answers that it is not a node.

`POST /v1/federation/references/take` releases the presentation behind one of this node's
reference tokens to the verifying node of another region, once: the token is consumed here, and the
release (which region, which of its keys, when) is recorded in the same transaction.

`POST /v1/federation/authorisations/take` gives a holder's 授权用证 to the node of the region it
authorises: a presentation this node builds with exactly the authorised fields (never more; a request
asking for more is refused, not trimmed), once, if the receiving region recognises the type. The
receiving node vouches for its clerk's department (`department`, the 统一社会信用代码 its window
credential is scoped to): its signature covers the body, and a department is only ever narrower than
the region the signature proves.

`POST /v1/federation/uses/report` takes another region's report of a use of one of this node's
certificates (federation/use_reports.py), for the holder's 用证记录: stored once per report id, for the
region the signature proves — a body naming another region is refused, never believed.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from api.errors import ApiError
from api.references import take_refused
from api.routes.wallet import release_authorised, served_cert
from federation.authorisation import TOKEN_CHARS, Refusal, TakeAsk
from federation.checking import VerifiedPeer
from federation.use_reports import REPORT_USE_PATH, UseReport
from verifier.presentation import PURPOSE_MAX_CHARS, unsafe_text
from verifier.verdicts import Verdict

log = logging.getLogger("huren.api.federation")

router = APIRouter(prefix="/v1/federation", tags=["节点间 federation"])

TAKE_REFERENCE_PATH = "/v1/federation/references/take"
TAKE_AUTHORISATION_PATH = "/v1/federation/authorisations/take"


async def signed_peer(request: Request) -> VerifiedPeer:
    """The node that signed this request (401/403 naming the reason otherwise)."""
    node = request.app.state.runtime.node
    if node is None:
        raise ApiError(404, "NOT_A_FEDERATION_NODE",
                       "本服务未配置为联盟节点，不接受其他节点的请求 (not a federation node)",
                       "运维人员：设置 HUREN_NODE_REGION 与 HUREN_NODE_KEY_FILE。")
    peer: VerifiedPeer = await node.guard(request)
    return peer


class TakeReference(BaseModel):
    token: str = Field(..., min_length=22, max_length=22, pattern=r"^[A-Za-z0-9_-]{22}$",
                       description="引用码中的一次性令牌")


@router.post("/references/take", summary="其他地区节点取回本节点引用码对应的出示码（一次性，须节点签名）",
             responses={200: {"description": "出示码文本"}, 401: {"description": "签名缺失或无效"},
                        403: {"description": "签名节点或密钥不被链上注册表认可"},
                        404: {"description": "引用码不存在、已用过或已过期"}})
def take_reference(request: Request, body: TakeReference, peer: VerifiedPeer = Depends(signed_peer)) -> JSONResponse:
    rt = request.app.state.runtime
    text, why = rt.references.take(body.token, int(time.time()), peer=(peer.region, peer.key_id))
    if text is None:
        log.info("reference asked by region %s: %s", peer.region, why)
        raise take_refused(why)
    log.info("reference released to region %s (node key %s)", peer.region, peer.key_id)
    return JSONResponse({"presentation": text, "region": rt.node.region, "indexedBlock": rt.indexer.stats.indexed},
                        headers={"Cache-Control": "no-store"})


class TakeAuthorisation(BaseModel):
    token: str = Field(..., min_length=TOKEN_CHARS, max_length=TOKEN_CHARS, pattern=r"^[0-9A-HJKMNP-TV-Z]+$",
                       description="用证码中的令牌（规范形式：16 位，无连字符）")
    department: str | None = Field(None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$",
                                   description="核验窗口所属部门的统一社会信用代码（由本请求的签名节点担保）")
    fields: list[str] | None = Field(None, max_length=64, description="要取得的字段；省略则为授权的全部字段")


def authorisation_refused(refused: Refusal) -> ApiError:
    """The answer for a refused 授权用证, the same at the issuing node and relayed by the receiving one."""
    return ApiError(refused.status, refused.code, refused.message, refused.hint)


@router.post("/authorisations/take", summary="其他地区节点取得持证人授权的证照信息（一次性，须节点签名）",
             responses={200: {"description": "只含授权字段的出示码文本"},
                        401: {"description": "签名缺失或无效"},
                        403: {"description": "签名节点或密钥不被链上注册表认可"},
                        404: {"description": "没有这个用证码"},
                        409: {"description": "非授权地区或部门、已使用、超出授权字段、或本地区未认可该类证照"},
                        410: {"description": "已过期或已撤回"}})
def take_authorisation(request: Request, body: TakeAuthorisation,
                       peer: VerifiedPeer = Depends(signed_peer)) -> JSONResponse:
    rt = request.app.state.runtime
    ask = TakeAsk(peer.region, body.department, tuple(body.fields) if body.fields is not None else None)
    released = release_authorised(rt, body.token, ask, (peer.region, peer.key_id))
    if isinstance(released, Refusal):
        log.info("authorisation asked by region %s: %s", peer.region, released.code)
        raise authorisation_refused(released)
    log.info("authorisation released to region %s (node key %s)", peer.region, peer.key_id)
    return JSONResponse({"presentation": released, "region": rt.node.region,
                         "indexedBlock": rt.indexer.stats.indexed}, headers={"Cache-Control": "no-store"})


VerdictName = Literal[tuple(v.value for v in Verdict)]  # type: ignore[valid-type]


class ReportUse(BaseModel):
    report_id: str = Field(..., pattern=r"^[0-9a-f]{32}$", description="报告编号（重试时不变）")
    region: int = Field(..., ge=100000, le=999999, description="核验地区（须与请求签名的节点地区一致）")
    cert_id: str = Field(..., min_length=1, max_length=160, description="证照标识")
    certificate_hash: str = Field(..., pattern=r"^[0-9a-f]{64}$", description="证照文档根哈希（十六进制）")
    verified_at: int = Field(..., ge=0, le=2**53 - 1, description="核验时间（Unix 秒）")
    verdict: VerdictName = Field(..., description="核验结论")
    purpose: str = Field(..., max_length=PURPOSE_MAX_CHARS, description="事由")
    window: str = Field(..., min_length=1, max_length=200, description="核验窗口名称（不含个人信息）")
    department: str | None = Field(None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$", description="窗口所属部门")

    @field_validator("purpose", "window")
    @classmethod
    def _safe_text(cls, text: str) -> str:
        if unsafe_text(text):
            raise ValueError("不能含控制字符或文字方向控制符 (control or bidi characters)")
        return text


@router.post(REPORT_USE_PATH.removeprefix("/v1/federation"),
             summary="其他地区节点报告本节点证照的一次使用（用证记录，须节点签名）",
             responses={200: {"description": "已记录（重复的报告不重复记录）"},
                        401: {"description": "签名缺失或无效"},
                        403: {"description": "签名节点或密钥不被链上注册表认可；报告的地区与签名节点不符"},
                        404: {"description": "本节点没有这份证照"}})
def report_use(request: Request, body: ReportUse, peer: VerifiedPeer = Depends(signed_peer)) -> JSONResponse:
    if body.region != peer.region:
        log.warning("use report %s signed by region %s names region %s: refused", body.report_id, peer.region,
                    body.region)
        raise ApiError(403, "REPORT_REGION_MISMATCH",
                       f"报告所称的核验地区 {body.region} 与签名节点的地区 {peer.region} 不符 "
                       "(the report's region is not the signing node's)",
                       "节点只能报告本地区的核验。")
    rt = request.app.state.runtime
    try:
        _, issued = served_cert(rt, body.cert_id)
    except ApiError:
        issued = None
    if issued is None or bytes(issued.document_root).hex() != body.certificate_hash:
        raise ApiError(404, "CERTIFICATE_UNKNOWN", "本节点没有签发这份证照 (no such certificate issued here)",
                       "请核对发证地区。")
    report = UseReport(report_id=body.report_id, region=peer.region, cert_id=body.cert_id,
                       certificate_hash=body.certificate_hash, verified_at=body.verified_at, verdict=body.verdict,
                       purpose=body.purpose, window=body.window, department=body.department)
    recorded = rt.received_uses.record(peer.region, report, int(time.time()))
    log.info("use of %s reported by region %s (%s)", body.cert_id, peer.region, "recorded" if recorded else "repeat")
    return JSONResponse({"recorded": recorded})
