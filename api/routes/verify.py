"""Verifier routes: a presentation (text, reference URL or QR photo) in, a verdict with reasons out.

The verifier's region comes from its credential, never from the request: a Hebei window
cannot ask "would Shanghai accept this?" by editing a field. Every answer is written to the
tamper-evident verification log before it is returned, and carries the log entry's number
for the printed receipt (核验回执).
"""

from __future__ import annotations

import io
import time
import warnings
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
from verifier.codec import PresentationDecodeError, parse_reference
from verifier.engine import VerificationResult, verify_text
from verifier.verdicts import Verdict

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
    """Exactly one of `presentation` (the QR text, "HR1:...") or `reference` (the short URL form)."""

    presentation: str | None = Field(None, max_length=8192, examples=["HR1:NCF..."])
    reference: str | None = Field(None, max_length=512, examples=["https://huren.example.gov.cn/r/q2Vb0..."])

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
                        404: {"description": "引用码不存在、已用过或已过期"}})
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


def _verify_reference(request: Request, cred: Credential, reference: str, started: float) -> JSONResponse:
    rt = request.app.state.runtime
    try:
        token = parse_reference(reference.strip(), rt.settings.public_base_url)
    except PresentationDecodeError as exc:
        raise ApiError(400, "BAD_REFERENCE", f"引用网址无效：{exc}", "请扫描持证人手机上的引用二维码。") from None
    text, why = rt.references.take(token, int(time.time()))
    if text is None:
        words = {"used": "该引用码已被使用过（一次性）", "expired": "该引用码已过期",
                 "unknown": "没有这个引用码"}[why]
        raise ApiError(404, "REFERENCE_" + why.upper(), f"{words} (reference {why})",
                       "请持证人刷新出示码后重新出示。")
    return _verify_text(request, cred, text, started)


MAX_IMAGE_PIXELS = 40_000_000


def decode_qr_image(data: bytes) -> str:
    """The text of the QR code in an uploaded photo; ApiError(400) with the reason otherwise."""
    from PIL import Image, UnidentifiedImageError
    from pyzbar.pyzbar import ZBarSymbol
    from pyzbar.pyzbar import decode as zbar_decode

    if not data:
        raise ApiError(400, "EMPTY_IMAGE", "上传的图片是空的 (empty image)", "请重新拍照或选择图片。")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
            image = Image.open(io.BytesIO(data))
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ApiError(400, "BAD_IMAGE", f"无法读取图片：文件损坏或格式不支持 (unreadable image: {type(exc).__name__})",
                       "请上传 PNG 或 JPEG 照片。") from None
    gray = image.convert("L")
    found = zbar_decode(gray, symbols=[ZBarSymbol.QRCODE])
    if not found:
        raise ApiError(400, "NO_QR_FOUND", "图片中没有找到可识别的二维码 (no QR code found in the image)",
                       "请让二维码完整、清晰地出现在画面中，避免反光，再拍一次。")
    try:
        return found[0].data.decode("ascii")
    except UnicodeDecodeError:
        raise ApiError(400, "NOT_A_PRESENTATION", "二维码内容不是本系统的出示码 (QR content is not a presentation)",
                       "请扫描持证人“我的证照”页面上的出示码。") from None


@router.post("/image", summary="核验二维码照片（PNG/JPEG 上传）",
             responses={200: {"description": "核验结论"}, 400: {"description": "图片无法读取或没有二维码"},
                        401: {"description": "缺少或无效凭证"}, 403: {"description": "不是核验窗口凭证"}})
def verify_image(request: Request, image: UploadFile = File(..., description="含二维码的照片"),
                 cred: Credential = Depends(require("verifier"))) -> JSONResponse:
    started = time.perf_counter()
    data = image.file.read()
    text = decode_qr_image(data)
    if text.startswith(("http://", "https://")):
        return _verify_reference(request, cred, text, started)
    return _verify_text(request, cred, text, started)
