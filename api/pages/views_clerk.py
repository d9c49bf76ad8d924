"""窗口核验: the clerk's page. Camera scan (in the browser), photo upload or pasted text in; a
full-screen verdict with reasons, disclosed fields, issuer, anchor facts and a printable receipt out.

Why the verification goes through the API's own verify functions: one code path answers both
programs and clerks, writes the same tamper-evident log entry (the receipt's number) and
counts in the same metrics. The clerk's region comes from the session's credential, never
from the form. Nothing from the code is put in a URL, a title or a log line.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from api.credentials import Credential
from api.errors import ApiError
from api.pages import verdict_view
from api.pages.common import PageRoute, api_call, render, require_csrf, require_page_role, templates, wants_fragment
from api.routes.verify import VerifyRequest, decode_qr_image, verify

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_TEXT = 8192


@router.get("/pages/clerk")
def clerk(request: Request) -> Response:
    cred = require_page_role(request, "verifier")
    return render(request, "clerk.html", {"title": "窗口核验", "v": None, "verifier": cred})


def _answer(request: Request, cred: Credential, view: verdict_view.VerdictView, status: int = 200) -> Response:
    ctx = {"v": view, "verifier": cred}
    if wants_fragment(request):
        html = templates.get_template("_verdict.html").render(ctx)
        return Response(json.dumps({"html": html, "code": view.code}, ensure_ascii=False), status_code=200,
                        media_type="application/json", headers={"Cache-Control": "no-store"})
    return render(request, "clerk.html", {"title": "窗口核验", **ctx}, status=status)


def _run(request: Request, cred: Credential, text: str) -> verdict_view.VerdictView:
    """Verify a presentation text or a reference URL; refusals become a clerk-readable problem."""
    text = text.strip()
    try:
        if text.lower().startswith(("http://", "https://")):
            body = VerifyRequest(reference=text)
        else:
            body = VerifyRequest(presentation=text)
        response = api_call(verify, request, body, cred)
    except ValidationError:
        return verdict_view.problem("出示码文本过长，不是本系统的出示码",
                                    "请粘贴持证人手机上“复制出示码文本”得到的内容，或改用扫码。")
    except ApiError as exc:
        return verdict_view.problem(exc.message.split(" (")[0], exc.hint)
    result: dict[str, Any] = json.loads(bytes(response.body))
    issuer = result.get("issuer")
    if isinstance(issuer, dict) and not issuer.get("name") and issuer.get("issuer_id"):
        # The engine reports the issuer by id; the clerk reads its registered name (public registry data).
        names = request.app.state.runtime.indexer.model.issuer_names
        with contextlib.suppress(ValueError):
            issuer["name"] = names.get(bytes.fromhex(str(issuer["issuer_id"]).removeprefix("0x")))
    return verdict_view.build(result, cred.name, cred.region)


@router.post("/pages/clerk/verify")
def verify_text_form(request: Request, text: str = Form(""), csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    cred = require_page_role(request, "verifier")
    if not text.strip():
        view = verdict_view.problem("没有收到出示码",
                                    "请扫码，或把出示码文本（以 HR1: 开头）或引用网址粘贴到文本框里。")
    elif len(text) > MAX_TEXT:
        view = verdict_view.problem("出示码文本过长，不是本系统的出示码", "请检查粘贴的内容。")
    else:
        view = _run(request, cred, text)
    return _answer(request, cred, view)


@router.post("/pages/clerk/verify-image")
def verify_image_form(request: Request, image: UploadFile | None = File(None), csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    cred = require_page_role(request, "verifier")
    if image is None or not image.filename:
        view = verdict_view.problem("没有选择照片", "请先选择一张含二维码的照片（PNG 或 JPEG）。")
        return _answer(request, cred, view)
    try:
        text = decode_qr_image(image.file.read())
    except ApiError as exc:
        return _answer(request, cred, verdict_view.problem(exc.message.split(" (")[0], exc.hint))
    return _answer(request, cred, _run(request, cred, text))
