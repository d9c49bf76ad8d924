"""窗口核验: the clerk's page. Camera scan (in the browser), photo upload or pasted text in; a
full-screen verdict with reasons, disclosed fields, issuer, anchor facts and a printable receipt out.

Offline (应急模式, issue 16 item 3): the page also keeps a signed trust snapshot of this node's index
(/pages/clerk/snapshot.json, api/snapshots.py) and its own configuration (/pages/clerk/offline.json:
the publisher's address, this window's policy with the offline bound, the clerk's words), and a
service worker (/pages/clerk/sw.js, scope /pages/clerk) keeps the page and its modules; when the
node cannot be reached, api/pages/static/clerk-offline.js verifies with the JavaScript verifier.

Why the verification goes through the API's own verify functions: one code path answers both
programs and clerks, writes the same tamper-evident log entry (the receipt's number) and
counts in the same metrics. The clerk's region comes from the session's credential, never
from the form. Nothing from the code is put in a URL, a title or a log line.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import ValidationError

from api.credentials import Credential
from api.errors import ApiError
from api.pages import verdict_view
from api.pages.common import (
    PageError,
    PageRoute,
    api_call,
    region_label,
    render,
    require_csrf,
    require_page_role,
    templates,
    wants_fragment,
)
from api.photo_intake import decode_qr_image
from api.routes.verify import VerifyRequest, is_reference, verify
from api.snapshots import SnapshotUnavailable, publisher_of
from issuers.catalogue import default_catalogue
from verifier.verdicts import FRESHNESS_SOURCES, Verdict

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_TEXT = 8192


@router.get("/pages/clerk")
def clerk(request: Request) -> Response:
    cred = require_page_role(request, "verifier")
    return render(request, "clerk.html", {"title": "窗口核验", "v": None, "verifier": cred})


def _answer(request: Request, cred: Credential, view: verdict_view.VerdictView, status: int = 200,
            headers: dict[str, str] | None = None) -> Response:
    ctx = {"v": view, "verifier": cred}
    if wants_fragment(request):
        html = templates.get_template("_verdict.html").render(ctx)
        return Response(json.dumps({"html": html, "code": view.code}, ensure_ascii=False), status_code=200,
                        media_type="application/json", headers={**(headers or {}), "Cache-Control": "no-store"})
    return render(request, "clerk.html", {"title": "窗口核验", **ctx}, status=status, headers=headers)


def _run(request: Request, cred: Credential, text: str) -> verdict_view.VerdictView:
    """Verify a presentation text or a reference (HRR1: or URL); refusals become a clerk-readable problem."""
    text = text.strip()
    try:
        body = VerifyRequest(reference=text) if is_reference(text) else VerifyRequest(presentation=text)
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
                                    "请扫码，或把出示码文本（以 HR2: 开头）或引用码粘贴到文本框里。")
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
    except ApiError as exc:  # a form posted without scripts gets the refusal's status (415, 503...) too
        return _answer(request, cred, verdict_view.problem(exc.message.split(" (")[0], exc.hint), exc.status,
                       exc.headers)  # Retry-After of a 503 (every decode slot busy) included
    return _answer(request, cred, _run(request, cred, text))


# ------------------------------------------------------------------ offline mode (应急模式)

#: Format of /pages/clerk/offline.json (what clerk-offline.js reads).
OFFLINE_CONFIG_FORMAT = "huren-clerk-offline/1"
#: How often an open clerk page fetches a new snapshot while the node answers (seconds).
SNAPSHOT_REFRESH_S = 300
_SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "clerk-sw.js"


def offline_words() -> dict[str, Any]:
    """The clerk's words for offline verdicts: the same tables the server's verdict view uses."""
    return {
        "verdicts": {v.value: {"label": v.label, "advice": v.advice, "outcome": v.outcome} for v in Verdict},
        "headlines": dict(verdict_view.HEADLINES),
        "checks": dict(verdict_view.CHECK_NAMES),
        "results": {name: list(texts) for name, texts in verdict_view.CHECK_RESULTS.items()},
        "outcomes": dict(verdict_view.OUTCOME_WORDS),
        "sources": dict(FRESHNESS_SOURCES),
    }


def _icons() -> dict[str, str]:
    """The verdict icons of _icons.html by outcome (server markup: the page inserts it as is)."""
    macro = templates.get_template("_icons.html").module.verdict_icon  # type: ignore[attr-defined]
    return {o: str(macro(o)) for o in ("valid", "invalid", "retry", "not_accepted", "unavailable")}


@router.get("/pages/clerk/offline.json")
def offline_config(request: Request) -> Response:
    """What the page needs to verify offline, besides the snapshot: whose signature to accept, this
    window's policy (with the offline bound on the facts' age), and the words to show."""
    cred = require_page_role(request, "verifier")
    assert cred.region is not None
    rt = request.app.state.runtime
    try:
        publisher: str | None = publisher_of(rt).address
        unavailable = None
    except SnapshotUnavailable as exc:
        publisher, unavailable = None, {"message": exc.zh, "hint": exc.hint}
    policy = rt.policy_for(cred.region)
    model = rt.indexer.model
    regions = sorted({cred.region, *model.regions, *(i.region for i in list(model.issuers.values()))})
    body = {
        "format": OFFLINE_CONFIG_FORMAT,
        "publisher": publisher,
        "unavailable": unavailable,
        "domain": {"chainId": rt.domain.chain_id, "verifyingContract": rt.domain.verifying_contract},
        "policy": {
            "region": policy.region,
            "domain": {"chainId": rt.domain.chain_id, "verifyingContract": rt.domain.verifying_contract},
            "confirmations": policy.confirmations, "clock_skew_s": policy.clock_skew_s,
            "max_presentation_age_s": policy.max_presentation_age_s,
            "max_facts_age_s": rt.settings.offline_max_facts_age_s,
            "require_holder_binding": policy.require_holder_binding,
            "holder_binding_types": sorted(policy.holder_binding_types),
            "holder_binding_regions": sorted(policy.holder_binding_regions),
            "accept_hr1": policy.accept_hr1,
            "suites": sorted(policy.suites),
        },
        "onlineMaxFactsAgeS": policy.max_facts_age_s,
        "refreshS": SNAPSHOT_REFRESH_S,
        "verifier": {"name": cred.name, "region": cred.region},
        "words": offline_words(),
        "icons": _icons(),
        "regions": {str(r): region_label(r) for r in regions},
        "types": {t.type_code: {"name": t.name, "titles": dict(t.titles)} for t in default_catalogue().types()},
        "issuerNames": {"0x" + k.hex(): v for k, v in list(model.issuer_names.items())},
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/pages/clerk/snapshot.json")
def trust_snapshot(request: Request) -> Response:
    """This window's signed trust snapshot (verifier/snapshot.py format), gzip when accepted.

    no-store: no HTTP cache keeps it; the page keeps the last good one itself (Cache Storage)."""
    cred = require_page_role(request, "verifier")
    assert cred.region is not None
    try:
        signed = publisher_of(request.app.state.runtime).signed(cred.region)
    except SnapshotUnavailable as exc:
        raise PageError(503, "离线名录暂不可用", exc.zh, exc.hint) from None
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding", "X-Huren-Snapshot-Height": str(signed.height)}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(signed.gzipped, media_type="application/json",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(signed.text.encode("utf-8"), media_type="application/json", headers=headers)


@router.get("/pages/clerk/sw.js")
def service_worker() -> Response:
    """The clerk page's service worker, same origin, its scope widened to /pages/clerk (the page's own
    path, which the default scope of /pages/clerk/ would not cover)."""
    return FileResponse(_SERVICE_WORKER, media_type="text/javascript; charset=utf-8",
                        headers={"Service-Worker-Allowed": "/pages/clerk", "Cache-Control": "no-cache"})
