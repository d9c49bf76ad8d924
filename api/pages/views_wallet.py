"""持证人 · 我的证照: the holder's certificates, field choice with presets, purpose, and the
dynamic QR code (the 加注件) with a visible countdown, auto-refresh, manual refresh and pause.

Why the presentation is made by the wallet API's own function: one code path decides what may
be shown (anchored, not revoked, known fields, the purpose rules) for the app and the page.
Certificates are addressed in URLs by a hash of their identifier, not the identifier itself,
and the holder's choices travel in POST bodies: nothing about the holder appears in a URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from api.credentials import Credential
from api.errors import ApiError
from api.pages.common import (
    PageError,
    PageRoute,
    api_call,
    beijing_time,
    render,
    require_csrf,
    require_page_role,
    wants_fragment,
)
from api.routes.wallet import PresentationRequest, my_certificates, presentation
from common.document import ALWAYS_DISCLOSED
from issuers.catalogue import default_catalogue
from verifier.qr import qr_svg

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PURPOSE_MAX = 200
PURPOSE_SUGGESTIONS = ("办理企业登记", "办理银行开户", "办理政务服务事项", "招投标资格审查", "租房登记", "求职入职")

#: Type-specific presets beyond the catalogue's default ("推荐"), the minimum and everything.
TYPE_PRESETS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "11100000MB0143028R001": [  # 营业执照
        ("basic", "企业基本信息（名称、信用代码、类型、法定代表人、住所）",
         ("claims.entityName", "claims.creditCode", "claims.entityType", "claims.legalRepresentative",
          "claims.domicile")),
    ],
    "11100000HR0000001A002": [  # 机动车驾驶证
        ("class", "准驾车型（姓名、准驾车型）", ("claims.name", "claims.vehicleClass")),
    ],
}

STATUS_BADGE = {"VALID": ("ok", "✓"), "REVOKED": ("bad", "✗"), "SUSPENDED": ("warn", "!"),
                "EXPIRED": ("bad", "✗"), "PENDING": ("info", "…"), "UNKNOWN": ("grey", "?")}


def cert_key(cert_id: str) -> str:
    """A URL handle for a certificate: a hash, so the identifier itself stays out of URLs and logs."""
    return hashlib.sha256(("huren-page:" + cert_id).encode()).hexdigest()[:20]


@dataclass
class Preset:
    key: str
    label: str
    paths: list[str]


def presets_for(cert: dict[str, Any]) -> list[Preset]:
    """The choices offered for one certificate: recommended, type-specific, minimum, everything."""
    all_paths = [f["path"] for f in cert["fields"] if not f["always"]]
    default = [f["path"] for f in cert["fields"] if f["default"] and not f["always"]]
    out = [Preset("recommended", "推荐（本类证照的常用出示项）", default)]
    for key, label, paths in TYPE_PRESETS.get(cert["type_code"], []):
        out.append(Preset(key, label, [p for p in paths if p in all_paths]))
    out.append(Preset("minimum", "最少（只出示证照类型、发证部门和有效期）", []))
    out.append(Preset("all", "全部信息（含个人敏感信息，请谨慎）", all_paths))
    return out


def _certificates(request: Request, cred: Credential) -> list[dict[str, Any]]:
    certs = api_call(my_certificates, request, cred)
    ctypes = default_catalogue()
    for c in certs:
        c["key"] = cert_key(c["cert_id"])
        badge = STATUS_BADGE.get(c["status"]["code"], ("grey", "?"))
        c["badge_class"], c["badge_icon"] = badge
        ctype = ctypes.get(c["type_code"])
        sensitive = ctype.sensitive_paths if ctype else frozenset()
        for f in c["fields"]:
            f["sensitive"] = f["path"] in sensitive
    return certs


def _find(request: Request, cred: Credential, key: str) -> dict[str, Any]:
    for c in _certificates(request, cred):
        if c["key"] == key:
            return c
    raise PageError(404, "找不到这份证照", "您的证照中没有这一份，或它已不在本服务上。", "请从“我的证照”列表中选择。",
                    links=[("/pages/wallet", "回到我的证照")])


@router.get("/pages/wallet")
def wallet(request: Request) -> Response:
    cred = require_page_role(request, "holder")
    return render(request, "wallet.html", {"title": "我的证照", "certs": _certificates(request, cred)})


@router.get("/pages/wallet/c/{key}")
def wallet_cert(request: Request, key: str) -> Response:
    cred = require_page_role(request, "holder")
    cert = _find(request, cred, key)
    presets = presets_for(cert)
    return render(request, "wallet_cert.html", {
        "title": "出示证照", "cert": cert, "presets": presets, "chosen": set(presets[0].paths), "preset": "recommended",
        "purpose": "", "suggestions": PURPOSE_SUGGESTIONS, "errors": {},
    })


def _qr_data_url(text: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(text).encode()).decode()


@router.post("/pages/wallet/c/{key}")
def wallet_present(request: Request, key: str, csrf: str = Form(""), preset: str = Form("custom"),
                   fields: list[str] = Form([]), purpose: str = Form("")) -> Response:
    """Make a presentation from the submitted choice; a page, or JSON for the page's auto-refresh."""
    require_csrf(request, csrf)
    cred = require_page_role(request, "holder")
    cert = _find(request, cred, key)
    presets = presets_for(cert)
    chosen_preset = next((p for p in presets if p.key == preset), None)
    known = {f["path"] for f in cert["fields"] if not f["always"]}
    if chosen_preset is not None:
        paths = list(chosen_preset.paths)
    else:
        preset = "custom"
        paths = [p for p in fields if p in known]
    purpose = purpose.strip()
    errors: dict[str, str] = {}
    if not purpose:
        errors["purpose"] = "请填写事由（出示这份证照是为了办理什么），例如“办理企业登记”。"
    elif len(purpose) > PURPOSE_MAX:
        errors["purpose"] = f"事由最多 {PURPOSE_MAX} 个字，现在有 {len(purpose)} 个字。"
    made: dict[str, Any] | None = None
    if not errors:
        try:
            body = PresentationRequest(fields=paths, purpose=purpose, reference=True)
            response = api_call(presentation, request, cert["cert_id"], body, "json", cred)
            made = json.loads(bytes(response.body))
        except ValidationError:
            errors["purpose"] = "事由含有不允许的字符，请只用文字、数字和常用标点。"
        except ApiError as exc:
            errors["present"] = exc.message.split(" (")[0] + ("；" + exc.hint if exc.hint else "")
    if made is None:
        if wants_fragment(request):
            failure = {"title": "未能生成出示码", "message": "；".join(errors.values()), "hint": ""}
            return JSONResponse({"error": failure}, status_code=422, headers={"Cache-Control": "no-store"})
        return render(request, "wallet_cert.html", {
            "title": "出示证照", "cert": cert, "presets": presets, "chosen": set(paths), "preset": preset,
            "purpose": purpose, "suggestions": PURPOSE_SUGGESTIONS, "errors": errors}, status=422)
    shown = _shown(made)
    if wants_fragment(request):
        return JSONResponse(shown, headers={"Cache-Control": "no-store"})
    titles = {f["path"]: f["title"] for f in cert["fields"]}
    return render(request, "wallet_qr.html", {
        "title": "出示码", "cert": cert, "shown": shown, "paths": paths, "preset": preset, "purpose": purpose,
        "disclosed_titles": [titles.get(p, p) for p in made["disclosed"] if p not in ALWAYS_DISCLOSED],
        "ttl": made["expires_at"] - made["created_at"],
    })


def _shown(made: dict[str, Any]) -> dict[str, Any]:
    """What the page (and its refresh script) needs of a fresh presentation."""
    return {
        "qr": _qr_data_url(made["presentation"]),
        "text": made["presentation"],
        "qr_version": made["qr_version"],
        "created_at": made["created_at"],
        "expires_at": made["expires_at"],
        "created_text": beijing_time(made["created_at"], with_date=False),
        "expires_text": beijing_time(made["expires_at"], with_date=False),
        "reference": made.get("reference"),
        "reference_qr": _qr_data_url(made["reference"]) if made.get("reference") else None,
    }
