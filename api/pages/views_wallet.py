"""持证人 · 我的证照: the holder's certificates, field choice with presets, purpose, and the
dynamic QR code (the 加注件) with a visible countdown, auto-refresh, manual refresh and pause;
and 授权用证: authorising another region's node to obtain chosen fields (the 用证码), the list of
authorisations and their withdrawal.

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
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.credentials import Credential
from api.errors import ApiError
from api.pages.common import (
    PageError,
    PageRoute,
    api_call,
    beijing_time,
    region_label,
    render,
    require_csrf,
    require_page_role,
    wants_fragment,
)
from api.routes.wallet import (
    AuthoriseRequest,
    PresentationRequest,
    authorise,
    my_authorisations,
    my_certificates,
    my_uses,
    presentation,
    withdraw_authorisation,
)
from api.routes.wallet_binding import (
    BindingRequest,
    SignedPresentationRequest,
    bind,
    binding_terms,
    signed_presentation,
    unsigned_presentation,
)
from common.document import ALWAYS_DISCLOSED
from common.nodes import NodeStatus
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

#: Never in a preset: disclosing the holder's key address asks the verifier for holder binding,
#: which a presentation made here cannot pass yet (the wallet does not hold the holder's key;
#: the signed 加注件 issue), so every such code answered HOLDER_BINDING_FAILED. Presets give
#: codes that verify; the field can still be ticked by hand.
NOT_IN_PRESETS = frozenset({"holder.address"})

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
    """The choices offered for one certificate: recommended, type-specific, minimum, everything (see NOT_IN_PRESETS)."""
    offered = [f for f in cert["fields"] if not f["always"] and f["path"] not in NOT_IN_PRESETS]
    all_paths = [f["path"] for f in offered]
    default = [f["path"] for f in offered if f["default"]]
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
    return render(request, "wallet.html", {"title": "我的证照", "certs": _certificates(request, cred),
                                           "federated": request.app.state.runtime.node is not None})


def _binding(request: Request, cred: Credential, cert: dict[str, Any]) -> dict[str, Any]:
    """What the page's holder-key script needs (api/pages/static/wallet-holder.mjs): the certificate,
    its document root, the bound address if any, the EIP-712 domain, and where to post."""
    terms = api_call(binding_terms, request, cert["cert_id"], cred)
    base = f"/pages/wallet/c/{cert['key']}"
    return {**terms, "chain_id": terms["domain"]["chainId"], "contract": terms["domain"]["verifyingContract"],
            "bind_url": base + "/bind", "unsigned_url": base + "/unsigned", "signed_url": base + "/signed"}


@router.get("/pages/wallet/c/{key}")
def wallet_cert(request: Request, key: str) -> Response:
    cred = require_page_role(request, "holder")
    cert = _find(request, cred, key)
    presets = presets_for(cert)
    return render(request, "wallet_cert.html", {
        "title": "出示证照", "cert": cert, "presets": presets, "chosen": set(presets[0].paths), "preset": "recommended",
        "purpose": "", "suggestions": PURPOSE_SUGGESTIONS, "errors": {}, "binding": _binding(request, cred, cert),
    })


def _json_error(exc: ApiError) -> JSONResponse:
    failure = {"code": exc.code, "message": exc.message.split(" (")[0] + ("；" + exc.hint if exc.hint else "")}
    return JSONResponse({"error": failure}, status_code=exc.status, headers={"Cache-Control": "no-store"})


@router.post("/pages/wallet/c/{key}/bind")
def wallet_bind(request: Request, key: str, csrf: str = Form(""), address: str = Form(""),
                signed_at: str = Form(""), signature: str = Form("")) -> Response:
    """Relay the binding statement signed on the holder's device (JSON for the page's script)."""
    require_csrf(request, csrf)
    cred = require_page_role(request, "holder")
    cert = _find(request, cred, key)
    try:
        body = BindingRequest(address=address, signed_at=int(signed_at or -1), signature=signature)
        made = json.loads(bytes(api_call(bind, request, cert["cert_id"], body, cred).body))
    except (ValidationError, ValueError):
        return JSONResponse({"error": {"code": "BAD_BINDING", "message": "绑定声明格式无效，请刷新页面后重试"}},
                            status_code=422)
    except ApiError as exc:
        return _json_error(exc)
    return JSONResponse({**made, "next": "/pages/wallet"}, headers={"Cache-Control": "no-store"})


@router.post("/pages/wallet/c/{key}/unsigned")
def wallet_unsigned(request: Request, key: str, csrf: str = Form(""), preset: str = Form("custom"),
                    fields: list[str] = Form([]), purpose: str = Form("")) -> Response:
    """A stamped code of a bound certificate, not yet signed, with its parts (JSON for the script)."""
    require_csrf(request, csrf)
    cred = require_page_role(request, "holder")
    cert = _find(request, cred, key)
    chosen = next((p for p in presets_for(cert) if p.key == preset), None)
    known = {f["path"] for f in cert["fields"] if not f["always"]}
    paths = list(chosen.paths) if chosen is not None else [p for p in fields if p in known]
    try:
        body = PresentationRequest(fields=paths, purpose=purpose.strip(), reference=False)
        made = json.loads(bytes(api_call(unsigned_presentation, request, cert["cert_id"], body, cred).body))
    except ValidationError:
        return _json_error(ApiError(422, "BAD_PURPOSE", "请填写事由（最多 200 字，只用文字、数字和常用标点）"))
    except ApiError as exc:
        return _json_error(exc)
    return JSONResponse(made, headers={"Cache-Control": "no-store"})


@router.post("/pages/wallet/c/{key}/signed")
def wallet_signed(request: Request, key: str, csrf: str = Form(""), presentation: str = Form(""),
                  holder_signature: str = Form(""), fields: list[str] = Form([]),
                  purpose: str = Form("")) -> Response:
    """The code signed on the holder's device: its page, or JSON for the page's auto-refresh."""
    require_csrf(request, csrf)
    cred = require_page_role(request, "holder")
    cert = _find(request, cred, key)
    try:
        body = SignedPresentationRequest(presentation=presentation, holder_signature=holder_signature, reference=True)
        made = json.loads(bytes(api_call(signed_presentation, request, cert["cert_id"], body, cred).body))
    except ValidationError:
        exc = ApiError(422, "BAD_SIGNATURE", "持证人签名格式无效，请刷新页面后重试")
        made = None
    except ApiError as caught:
        exc, made = caught, None
    if made is None:
        if wants_fragment(request):
            return _json_error(exc)
        raise PageError(exc.status, "未能生成出示码", exc.message.split(" (")[0], exc.hint,
                        links=[(f"/pages/wallet/c/{key}", "重新生成")])
    shown = _shown(made)
    if wants_fragment(request):
        return JSONResponse(shown, headers={"Cache-Control": "no-store"})
    titles = {f["path"]: f["title"] for f in cert["fields"]}
    return render(request, "wallet_qr.html", {
        "title": "出示码", "cert": cert, "shown": shown, "paths": [p for p in fields if p in titles],
        "preset": "custom", "purpose": made["purpose"], "bound": True, "binding": _binding(request, cred, cert),
        "disclosed_titles": [titles.get(p, p) for p in made["disclosed"] if p not in ALWAYS_DISCLOSED],
        "ttl": made["expires_at"] - made["created_at"],
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
            "purpose": purpose, "suggestions": PURPOSE_SUGGESTIONS, "errors": errors,
            "binding": _binding(request, cred, cert)}, status=422)
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


# ---- 授权用证: authorise another region to obtain chosen fields (api/routes/wallet.py) ----

#: The windows offered (the API takes any length from an hour to a week).
AUTH_WINDOWS = ((3600, "1 小时"), (86400, "1 天（推荐）"), (3 * 86400, "3 天"), (7 * 86400, "7 天"))


def _regions(request: Request) -> list[tuple[int, str]]:
    """The regions whose node is in the federation (other than this one's), for the choice of region."""
    rt = request.app.state.runtime
    own = rt.node.region if rt.node is not None else None
    return [(n.region, region_label(n.region)) for n in rt.indexer.model.nodes()
            if n.region != own and n.status == NodeStatus.ACTIVE]


def _authorise_page(request: Request, cert: dict[str, Any], form: dict[str, Any], errors: dict[str, str],
                    status: int = 200) -> Response:
    return render(request, "wallet_authorise.html", {
        "title": "授权用证", "cert": cert, "form": form, "errors": errors, "regions": _regions(request),
        "windows": AUTH_WINDOWS, "suggestions": PURPOSE_SUGGESTIONS}, status=status)


@router.get("/pages/wallet/c/{key}/authorise")
def wallet_authorise_form(request: Request, key: str) -> Response:
    cred = require_page_role(request, "holder")
    cert = _find(request, cred, key)
    chosen = {f["path"] for f in cert["fields"] if f["default"] and not f["always"]} - NOT_IN_PRESETS
    form = {"region": "", "department": "", "fields": chosen, "purpose": "", "window": 86400}
    return _authorise_page(request, cert, form, {})


@router.post("/pages/wallet/c/{key}/authorise")
def wallet_authorise(request: Request, key: str, csrf: str = Form(""), region: str = Form(""),
                     department: str = Form(""), fields: list[str] = Form([]), purpose: str = Form(""),
                     window: str = Form("86400")) -> Response:
    """Make the authorisation and show its 用证码 once (only a hash of it is kept)."""
    require_csrf(request, csrf)
    cred = require_page_role(request, "holder")
    cert = _find(request, cred, key)
    known = {f["path"] for f in cert["fields"] if not f["always"]}
    paths = [p for p in fields if p in known]
    purpose, department = purpose.strip(), department.strip().upper()
    form = {"region": region.strip(), "department": department, "fields": set(paths), "purpose": purpose,
            "window": window}
    errors: dict[str, str] = {}
    if not region.strip().isdigit() or len(region.strip()) != 6:
        errors["region"] = "请选择获准用证的地区。"
    if not purpose:
        errors["purpose"] = "请填写事由（授权对方办理什么事项），例如“办理企业登记”。"
    elif len(purpose) > PURPOSE_MAX:
        errors["purpose"] = f"事由最多 {PURPOSE_MAX} 个字，现在有 {len(purpose)} 个字。"
    if window not in {str(w) for w, _ in AUTH_WINDOWS}:
        errors["window"] = "请选择授权时长。"
    made: dict[str, Any] | None = None
    if not errors:
        try:
            body = AuthoriseRequest(region=int(region), department=department or None, fields=paths,
                                    purpose=purpose, window_s=int(window))
            made = json.loads(bytes(api_call(authorise, request, cert["cert_id"], body, cred).body))
        except ValidationError as exc:
            where = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
            if "department" in where:
                errors["department"] = "部门应为 18 位统一社会信用代码；不限部门请留空。"
            if "purpose" in where:
                errors["purpose"] = "事由含有不允许的字符，请只用文字、数字和常用标点。"
            if not errors:
                errors["region"] = "地区代码无效，请从列表中选择。"
        except ApiError as exc:
            errors["authorise"] = exc.message.split(" (")[0] + ("；" + exc.hint if exc.hint else "")
    if made is None:
        return _authorise_page(request, cert, form, errors, status=422)
    titles = {f["path"]: f["title"] for f in cert["fields"]}
    return render(request, "wallet_authorised.html", {
        "title": "用证码", "cert": cert, "made": made, "qr": _qr_data_url(made["code"]),
        "region_name": region_label(made["region"]), "titles": [titles.get(p, p) for p in made["fields"]],
        "expires_text": beijing_time(made["expires_at"]),
    }, headers={"Cache-Control": "no-store"})


@router.get("/pages/wallet/authorisations")
def wallet_authorisations(request: Request) -> Response:
    cred = require_page_role(request, "holder")
    names = {c["cert_id"]: c["type_name"] for c in _certificates(request, cred)}
    items = []
    for a in api_call(my_authorisations, request, cred):
        items.append({**a, "type_name": names.get(a["cert_id"], "证照"), "region_name": region_label(a["region"]),
                      "created_text": beijing_time(a["created_at"]), "expires_text": beijing_time(a["expires_at"])})
    return render(request, "wallet_authorisations.html", {"title": "我的授权", "items": items})


@router.post("/pages/wallet/authorisations/{auth_id}/withdraw")
def wallet_withdraw(request: Request, auth_id: str, csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    cred = require_page_role(request, "holder")
    try:
        api_call(withdraw_authorisation, request, auth_id, cred)
    except ApiError as exc:
        raise PageError(exc.status, "未能撤回授权", exc.message.split(" (")[0], exc.hint,
                        links=[("/pages/wallet/authorisations", "回到我的授权")]) from None
    return RedirectResponse("/pages/wallet/authorisations", status_code=303)


USE_BADGE = {"valid": "ok", "not_accepted": "info", "unavailable": "grey", "retry": "warn", "invalid": "bad"}


@router.get("/pages/wallet/uses")
def wallet_uses(request: Request) -> Response:
    """用证记录: the holder can notice a use they did not make, at this node or (reported) at another region's."""
    cred = require_page_role(request, "holder")
    items = [{**u, "region_name": region_label(u["region"]), "at_text": beijing_time(u["at"]),
              "badge_class": USE_BADGE.get(u["outcome"], "grey")}
             for u in api_call(my_uses, request, None, cred)]
    return render(request, "wallet_uses.html", {"title": "用证记录", "items": items})
