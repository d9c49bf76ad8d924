"""Sign-in, sign-out, the large-text preference and the index page.

Sign-in takes a credential token (the same bearer token the API uses; the demo prints them)
and turns it into a cookie session, so the token is typed once, never put in a URL and never
kept by the browser. The large-text toggle (长辈模式) is a form, like everything that changes
state, and so carries a CSRF token too.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.pages import sessions as ss
from api.pages.common import HOME_OF, PageError, PageRoute, render, require_csrf, safe_next, wants_fragment

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/pages/", summary="页面首页")
def index(request: Request) -> Response:
    return render(request, "index.html", {"title": "首页"})


@router.get("/pages/signin")
def signin_form(request: Request, next: str = "") -> Response:
    return render(request, "signin.html", {"title": "登录", "next": safe_next(next, "")})


@router.post("/pages/signin")
def signin(request: Request, token: str = Form(""), csrf: str = Form(""), next: str = Form("")) -> Response:
    require_csrf(request, csrf)
    rt = request.app.state.runtime
    # Failed sign-ins per client address are limited before this runs (api.ratelimit).
    token = token.strip()
    error = None
    cred = None
    if not token:
        error = "请输入凭证令牌。"
    elif len(token) > 200:
        error = "凭证令牌过长，请检查是否粘贴了多余的内容。"
    else:
        cred = rt.credentials.lookup(token)
        if cred is None:
            error = "凭证无效或已停用。请检查令牌是否抄写完整；已停用的令牌请向本地区管理员重新申请。"
    if error is not None or cred is None:
        return render(request, "signin.html", {"title": "登录", "next": safe_next(next, ""), "error": error},
                      status=400)
    store = ss.sessions(request)
    old = request.cookies.get(ss.SESSION_COOKIE)
    if old:
        store.end(old)  # signing in as someone else ends the previous session, not just hides it
    sid = store.create(cred)
    home = HOME_OF.get(cred.role, "/pages/")
    target = safe_next(next, home)
    if target in HOME_OF.values() and target != home:
        target = home  # a next page of another role would only answer 403
    response = RedirectResponse(target, status_code=303)
    ss.set_session_cookie(request, response, sid)
    return response


@router.post("/pages/signout")
def signout(request: Request, csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    sid = request.cookies.get(ss.SESSION_COOKIE)
    if sid:
        ss.sessions(request).end(sid)
    response = RedirectResponse("/pages/signin?out=1", status_code=303)
    ss.clear_session_cookie(request, response)
    return response


fallback = APIRouter(route_class=PageRoute, include_in_schema=False)


@fallback.get("/pages/{rest:path}")
def not_found(request: Request, rest: str) -> Response:
    raise PageError(404, "找不到这个页面", "您要找的页面不存在，可能是网址抄错了，或页面已经移动。",
                    "请从首页进入。")


@router.post("/pages/prefs/elder")
def elder_toggle(request: Request, csrf: str = Form(""), on: str = Form(""), back: str = Form("")) -> Response:
    require_csrf(request, csrf)
    # A script toggles in place (the wallet's live code stays on screen); without scripts, go back.
    response: Response = (Response(status_code=204) if wants_fragment(request)
                          else RedirectResponse(safe_next(back, "/pages/"), status_code=303))
    ss.set_elder_cookie(request, response, on == "1")
    return response
