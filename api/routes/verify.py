"""Verifier routes: a presentation (text, reference URL or QR photo) in, a verdict with reasons out.

The verifier's region comes from its credential, never from the request: a Hebei window
cannot ask "would Shanghai accept this?" by editing a field. Every answer is written to the
tamper-evident verification log before it is returned, and carries the log entry's number
for the printed receipt (核验回执).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api import metrics
from api.auth import require
from api.credentials import Credential
from api.errors import ApiError, error_body
from api.jsonbody import FastJSONResponse
from api.photo_intake import decode_qr_image
from api.references import TAKE_REFUSALS, take_refused
from api.routes.peers import TAKE_AUTHORISATION_PATH, TAKE_REFERENCE_PATH, authorisation_refused
from api.routes.wallet import release_authorised
from federation.authorisation import REFUSALS, AuthorisationCodeError, Refusal, TakeAsk, is_code, parse_code, refusal
from federation.peers import PeerNotRegistered, PeerRefusedUs, PeerUnavailable
from verifier.checks import CheckResult
from verifier.codec import REGION_REFERENCE_PREFIX, PresentationDecodeError, parse_reference, parse_region_reference
from verifier.engine import VerificationResult, verify_text
from verifier.verdicts import Verdict

log = logging.getLogger("huren.api.verify")

#: What the clerk reads when the node holding a reference cannot give it now: not "invalid".
ISSUING_NODE_UNAVAILABLE = "发证地节点暂时无法访问，请持证人改用完整出示码"

router = APIRouter(prefix="/v1/verify", tags=["核验 verification"])

EXAMPLE_RESULT: dict[str, Any] = {
    "verdict": "VALID", "label": "有效", "advice": "证照真实有效，本地区认可。", "outcome": "accept",
    "checks": [{"name": "disclosure_proof", "ok": True, "detail": "披露的 4 个字段与证照根哈希一致"}],
    "disclosed": {"claims.entityName": "北京示例科技有限公司", "claims.creditCode": "91110108MA01ABCD5X"},
    "issuer": {"issuer_id": "0x5c1f...", "credit_code": "11110000000021135M", "region": 110000,
               "name": "北京市市场监督管理局", "status": "ACTIVE"},
    "anchor": {"tx_hash": "0xab12...", "block_number": 120, "timestamp": 1795615067, "confirmations": 5},
    "freshness": {"height": 124, "source": "index", "age_s": 0},
    "log_entry": 42,
}


class VerifyRequest(BaseModel):
    """Exactly one of `presentation` (the QR text, "HR2:..."; legacy "HR1:..." is read too) or `reference`
    (the short form: "HRR1:<region>:<token>", this node's own reference URL, or a holder's 用证码
    "HRA1:<region>:XXXX-XXXX-XXXX-XXXX")."""

    presentation: str | None = Field(None, max_length=8192, examples=["HR2:NCF..."])
    reference: str | None = Field(None, max_length=512, examples=["HRR1:110000:q2Vb0FQmF1cXmR1x0k3a8w"])

    @model_validator(mode="after")
    def _one_of(self) -> VerifyRequest:
        if (self.presentation is None) == (self.reference is None):
            raise ValueError("请提供 presentation（出示码文本）或 reference（引用网址）二者之一")
        return self


def _finish(request: Request, cred: Credential, result: VerificationResult, started: float) -> JSONResponse:
    return _respond(cred, result, request.app.state.runtime.record_verification(cred, result), started)


def _respond(cred: Credential, result: VerificationResult, entry: dict[str, object], started: float) -> JSONResponse:
    status, body = answer_for(cred, result, entry)
    metrics.VERIFY_LATENCY.observe(time.perf_counter() - started)
    return FastJSONResponse(body, status_code=status)


def answer_for(cred: Credential, result: VerificationResult, entry: dict[str, object]) -> tuple[int, dict[str, object]]:
    """The HTTP status and body for a logged verification (this route and api.fastlane answer alike).

    Counts the verification in the metrics: every answer goes through here exactly once.
    """
    metrics.VERIFICATIONS.labels(str(result.verdict), str(cred.region)).inc()
    body = result.to_dict()
    body["log_entry"] = entry  # the 核验回执: log sequence number and entry hash
    body["verifier_region"] = cred.region
    if result.verdict is Verdict.MALFORMED:
        body.update(error_body("MALFORMED_PRESENTATION", f"出示码无法解析或不完整：{result.reason or ''}".strip("："),
                               "请持证人刷新出示码后重新扫描；仍失败请改用引用网址或粘贴文本。"))
        return 400, body
    return 200, body


def _verify_text(request: Request, cred: Credential, text: str, started: float) -> JSONResponse:
    rt = request.app.state.runtime
    assert cred.region is not None
    result = verify_text(text.strip(), rt.view, rt.policy_for(cred.region), int(time.time()))
    return _finish(request, cred, result, started)


@router.post("", summary="核验出示码（文本或引用网址）",
             responses={200: {"description": "核验结论（任何结论，含未认可、暂时无法核验）",
                              "content": {"application/json": {"example": EXAMPLE_RESULT}}},
                        400: {"description": "出示码无法解析 (verdict MALFORMED)"},
                        401: {"description": "缺少或无效凭证"}, 403: {"description": "不是核验窗口凭证"},
                        404: {"description": "引用码不存在、已用过或已过期；没有这个用证码"},
                        409: {"description": "用证码未授权本地区或本部门、已使用、或本地区未认可该类证照"},
                        410: {"description": "用证码已过期或已被持证人撤回"}})
async def verify(request: Request, body: VerifyRequest,
                 cred: Credential = Depends(require("verifier"))) -> JSONResponse:
    # async: the engine is pure CPU (about half a millisecond) and the log append is awaited,
    # so a text verification needs no thread of the pool; a thread hop and a blocked thread
    # woken per request cost about as much CPU as the verification itself.
    started = time.perf_counter()
    if body.reference is not None:  # the one-time token is taken in the database: off the event loop
        return await run_in_threadpool(_verify_reference, request, cred, body.reference, started)
    rt = request.app.state.runtime
    assert body.presentation is not None and cred.region is not None
    result = verify_text(body.presentation.strip(), rt.view, rt.policy_for(cred.region), int(time.time()))
    return _respond(cred, result, await rt.record_verification_async(cred, result), started)


def is_reference(text: str) -> bool:
    """Whether a scanned or pasted text is a reference (region form or URL) rather than a presentation."""
    return (text.startswith(REGION_REFERENCE_PREFIX) or text.lower().startswith(("http://", "https://"))
            or is_code(text))


def _verify_reference(request: Request, cred: Credential, reference: str, started: float) -> JSONResponse:
    """A reference made here is taken here; one of another region is fetched from that region's node.

    The other node is found only through the chain's node registry (never an address in the code)
    and asked by a signed request; what it gives is verified here, with this region's policy, and
    logged here like any verification. A node that cannot answer is UNAVAILABLE, never "invalid".
    """
    rt = request.app.state.runtime
    text = reference.strip()
    if is_code(text):
        return _verify_authorisation(request, cred, text, started)
    try:
        if text.startswith(REGION_REFERENCE_PREFIX):
            region, token = parse_region_reference(text)
        else:
            region, token = None, parse_reference(text, rt.settings.public_base_url)
    except PresentationDecodeError as exc:
        raise ApiError(400, "BAD_REFERENCE", f"引用码无效：{exc}", "请扫描持证人手机上的引用二维码。") from None
    node = rt.node
    if region is not None and (node is None or region != node.region):
        if node is None:
            raise ApiError(400, "REFERENCE_OF_ANOTHER_NODE",
                           f"这是地区 {region} 节点的引用码，本服务未加入节点联盟，无法取回 (not a federation node)",
                           "请持证人改用完整出示码。")
        fetched = _fetch_from_issuing_node(rt, cred, region, token)
        if isinstance(fetched, VerificationResult):
            return _finish(request, cred, fetched, started)
        return _verify_text(request, cred, fetched, started)
    presentation, why = rt.references.take(token, int(time.time()))
    if presentation is None:
        raise take_refused(why)
    return _verify_text(request, cred, presentation, started)


def _issuing_node_unavailable(region: int, why: str) -> VerificationResult:
    detail = f"{ISSUING_NODE_UNAVAILABLE}（地区 {region} 节点：{why}）"
    return VerificationResult(verdict=Verdict.UNAVAILABLE,
                              checks=[CheckResult("issuing_node", False, detail, Verdict.UNAVAILABLE)],
                              disclosed={}, issuer=None, anchor=None, certificate_hash=None, freshness=None,
                              verified_at=int(time.time()), purpose=None, reason=ISSUING_NODE_UNAVAILABLE)


#: How long a fetched presentation waits for this node's index to reach the block the issuing node's
#: index had when it released it (normally one poll, under a second).
INDEX_CATCH_UP_S = 5.0


def _caught_up(rt: Any, region: int, body: dict[str, Any]) -> VerificationResult | None:
    """None once this node's index has reached the issuing node's block; else the UNAVAILABLE result.

    Why: the issuing node released a presentation of a certificate its own index shows anchored;
    verified on an index a block or two behind, a genuine certificate would read NOT_ANCHORED — and
    the one-time code is spent. Each node indexes the chain on its own, so wait a moment instead.
    """
    target = body.get("indexedBlock")
    if not isinstance(target, int) or isinstance(target, bool) or target < 0:
        return None  # an older node that does not say: verify as it is
    deadline = time.monotonic() + INDEX_CATCH_UP_S
    while (own := rt.indexer.stats.indexed) < target:
        if time.monotonic() >= deadline:
            log.warning("presentation from region %s: own index at block %s, behind the issuing node's %s",
                        region, own, target)
            detail = (f"本节点的链上数据（区块 {own}）落后于发证地节点（区块 {target}），暂时无法核验，"
                      "请稍后请持证人重新出示")
            return VerificationResult(verdict=Verdict.UNAVAILABLE,
                                      checks=[CheckResult("index_caught_up", False, detail, Verdict.UNAVAILABLE)],
                                      disclosed={}, issuer=None, anchor=None, certificate_hash=None, freshness=None,
                                      verified_at=int(time.time()), purpose=None, reason=detail)
        time.sleep(0.1)
    return None


def _fetch_from_issuing_node(rt: Any, cred: Credential, region: int, token: str) -> str | VerificationResult:
    """The presentation behind `region`'s token, from that region's node; or the UNAVAILABLE result."""
    try:
        answer = rt.node.peers.call(region, "POST", TAKE_REFERENCE_PATH, json={"token": token})
    except PeerNotRegistered:
        raise ApiError(404, "REFERENCE_REGION_HAS_NO_NODE",
                       f"引用码所属地区 {region} 在链上节点注册表中没有登记节点，无法取回出示码 "
                       "(no registered node for the reference's region)", "请持证人改用完整出示码。") from None
    except PeerUnavailable as exc:
        log.warning("reference of region %s for window %s: issuing node unavailable: %s", region, cred.id, exc.message)
        return _issuing_node_unavailable(region, "无法连接")
    except PeerRefusedUs as exc:
        log.error("reference of region %s: its node refused our signed request: %s %s", region, exc.code, exc.message)
        return _issuing_node_unavailable(region, f"拒绝了本节点的请求 {exc.code}")
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 200 and isinstance(body.get("presentation"), str):
        return _caught_up(rt, region, body) or str(body["presentation"])
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = str(error.get("code", ""))
    why = code.removeprefix("REFERENCE_").lower()
    if answer.status == 404 and code.startswith("REFERENCE_") and why in TAKE_REFUSALS:
        raise take_refused(why)
    log.warning("reference of region %s: unexpected answer %s %s", region, answer.status, code)
    return _issuing_node_unavailable(region, f"应答异常 {answer.status}")


def _verify_authorisation(request: Request, cred: Credential, text: str, started: float) -> JSONResponse:
    """A holder's 用证码: the authorised fields, from the node of the region that made it, verified here.

    As for a reference, the issuing node is found only through the chain's node registry and asked by
    a signed request; this node vouches for its clerk's department (the credential's scope). What it
    gives is verified with this region's engine and policy and logged here; a refusal is relayed with
    the issuing node's code and words; a node that cannot answer is UNAVAILABLE, never "invalid".
    """
    rt = request.app.state.runtime
    try:
        region, token = parse_code(text)
    except AuthorisationCodeError as exc:
        raise ApiError(400, "BAD_AUTHORISATION_CODE", f"用证码无效：{exc.zh}", "请核对持证人提供的用证码。") from None
    node = rt.node
    if node is None:
        raise ApiError(400, "AUTHORISATION_OF_ANOTHER_NODE",
                       f"这是地区 {region} 节点的用证码，本服务未加入节点联盟，无法取得 (not a federation node)",
                       "请持证人改用出示码。")
    assert cred.region is not None
    if region == node.region:  # made here: released by this node itself, to its own window
        released = release_authorised(rt, token, TakeAsk(cred.region, cred.credit_code, None),
                                      (cred.region, f"window:{cred.id}"))
        if isinstance(released, Refusal):
            raise authorisation_refused(released)
        return _verify_text(request, cred, released, started)
    fetched = _fetch_authorised(rt, cred, region, token)
    if isinstance(fetched, VerificationResult):
        return _finish(request, cred, fetched, started)
    return _verify_text(request, cred, fetched, started)


def _fetch_authorised(rt: Any, cred: Credential, region: int, token: str) -> str | VerificationResult:
    """The authorised presentation from `region`'s node; or the UNAVAILABLE result; refusals relayed."""
    try:
        answer = rt.node.peers.call(region, "POST", TAKE_AUTHORISATION_PATH,
                                    json={"token": token, "department": cred.credit_code})
    except PeerNotRegistered:
        raise ApiError(404, "AUTHORISATION_REGION_HAS_NO_NODE",
                       f"用证码所属地区 {region} 在链上节点注册表中没有登记节点，无法取得 "
                       "(no registered node for the code's region)", "请持证人改用出示码。") from None
    except PeerUnavailable as exc:
        log.warning("authorisation of region %s for window %s: issuing node unavailable: %s", region, cred.id,
                    exc.message)
        return _issuing_node_unavailable(region, "无法连接")
    except PeerRefusedUs as exc:
        log.error("authorisation of region %s: its node refused our signed request: %s %s", region, exc.code,
                  exc.message)
        return _issuing_node_unavailable(region, f"拒绝了本节点的请求 {exc.code}")
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 200 and isinstance(body.get("presentation"), str):
        return _caught_up(rt, region, body) or str(body["presentation"])
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = str(error.get("code", ""))
    if code in REFUSALS and answer.status == REFUSALS[code][0]:
        raise authorisation_refused(refusal(code))  # our own words for the code, not the peer's text
    log.warning("authorisation of region %s: unexpected answer %s %s", region, answer.status, code)
    return _issuing_node_unavailable(region, f"应答异常 {answer.status}")


@router.post("/image", summary="核验二维码照片（PNG/JPEG 上传）",
             responses={200: {"description": "核验结论"},
                        400: {"description": "图片无法读取、像素过多（上限 1600 万）或没有二维码"},
                        401: {"description": "缺少或无效凭证"}, 403: {"description": "不是核验窗口凭证"},
                        415: {"description": "不是 PNG 或 JPEG（按文件头判断，与文件名无关）"},
                        503: {"description": "图片识别繁忙（Retry-After 秒后重试）"}})
def verify_image(request: Request, image: UploadFile = File(..., description="含二维码的照片"),
                 cred: Credential = Depends(require("verifier"))) -> JSONResponse:
    started = time.perf_counter()
    data = image.file.read()
    text = decode_qr_image(data)
    if is_reference(text):
        return _verify_reference(request, cred, text, started)
    return _verify_text(request, cred, text, started)
