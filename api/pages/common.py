"""Shared machinery of the web pages: templates, the signed-in visitor, refusals as pages.

Why a custom route class: the API answers every problem as JSON, which is right for programs
and wrong for a clerk at a counter. `PageRoute` turns whatever a page handler raises (a
refusal of the API functions it reuses, a form that does not parse, a bug) into a Chinese
page with what happened and what to do — never a stack trace, never a JSON body.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import anyio.from_thread
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import ROLE_NAMES
from api.credentials import Credential, Role
from api.dbhealth import fault_headers, note_fault
from api.errors import ApiError
from api.middleware import TOO_LARGE_KEY
from api.pages import sessions as ss
from common.dbfault import DatabaseUnavailable, database_fault
from issuers.rules.regions import is_valid_region, region_name

log = logging.getLogger("huren.pages")

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

#: Where each role works after signing in.
HOME_OF: dict[str, str] = {
    "holder": "/pages/wallet",
    "verifier": "/pages/clerk",
    "department": "/pages/department",
    "officer": "/pages/officer",
}
PAGE_TITLES: dict[str, str] = {
    "/pages/wallet": "我的证照",
    "/pages/clerk": "窗口核验",
    "/pages/department": "发证部门",
    "/pages/officer": "区域管理",
    "/pages/registry": "公开目录",
}


async def _wait(awaitable: Any) -> Any:
    return await awaitable


def api_call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call one of the API's route functions from a page handler (which runs in the thread pool).

    Why: pages reuse the API's routes so that scope checks, validation and logging are one code
    path; those routes move between sync and async as the API is tuned. A coroutine is run on
    the event loop (anyio hands it over from this worker thread), a plain result passes through.
    """
    result = fn(*args)
    if inspect.isawaitable(result):
        return anyio.from_thread.run(_wait, result)
    return result


def region_label(code: int | None) -> str:
    """GB/T 2260 code -> name ("北京市"); 0 is the wildcard of recognition rules."""
    if code is None:
        return "—"
    if code == 0:
        return "所有地区"
    return region_name(code) if is_valid_region(code) else str(code)


def beijing_time(t: float | int | None, with_date: bool = True) -> str:
    """Unix seconds in China time (UTC+8), the clock every clerk and citizen reads."""
    if t is None or t == 0:
        return "—"
    fmt = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    return time.strftime(fmt, time.gmtime(float(t) + 8 * 3600))


templates.env.filters["region"] = region_label
templates.env.filters["bjtime"] = beijing_time
templates.env.globals["ROLE_NAMES"] = ROLE_NAMES


class PageRedirect(Exception):
    """Send the visitor elsewhere (e.g. to sign in) with a 303."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class PageError(Exception):
    """A refusal shown as a page: status, a Chinese headline, what happened and what to do."""

    def __init__(self, status: int, title: str, message: str, hint: str = "",
                 links: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.hint = hint
        self.links = links or []


def csrf_refused() -> PageError:
    return PageError(
        403, "表单校验未通过",
        "该表单缺少有效的安全校验码（CSRF），可能是页面已过期、已退出登录，或表单来自其他网站。本次操作没有执行。",
        "请返回上一页，刷新页面后重新提交。",
    )


def render(request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render a page with what every page needs (visitor, CSRF token, large-text mode)."""
    session = ss.current_session(request)
    ctx: dict[str, Any] = {
        "request": request,
        "session": session,
        "cred": session.credential if session else None,
        "csrf": ss.csrf_token(request),
        "elder": ss.elder_mode(request),
        "home_of": HOME_OF,
        "path": request.url.path,
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, template, ctx, status_code=status)
    # Pages can show personal data (wallet, department console): never cache them.
    response.headers["Cache-Control"] = "no-store"
    for k, v in (headers or {}).items():
        response.headers[k] = v
    ss.set_cookies(request, response)
    return response


def error_page(request: Request, err: PageError) -> HTMLResponse:
    return render(request, "error.html", {"err": err}, status=err.status)


def wants_fragment(request: Request) -> bool:
    """A script asked for a piece of a page (fetch), not a whole page."""
    return request.headers.get("x-requested-with") == "huren-page"


def require_page_role(request: Request, *roles: Role) -> Credential:
    """The signed-in credential if it has one of `roles`; otherwise sign-in (303) or a 403 page."""
    session = ss.current_session(request)
    if session is None:
        if wants_fragment(request):
            raise PageError(401, "请先登录", "登录已过期或尚未登录。", "请刷新页面并重新登录。")
        raise PageRedirect("/pages/signin?next=" + quote(request.url.path, safe="/"))
    cred = session.credential
    if cred.role not in roles:
        wanted = "、".join(ROLE_NAMES[r] for r in roles)
        have = ROLE_NAMES.get(cred.role, cred.role)
        raise PageError(
            403, "无权访问此页面",
            f"此页面需要{wanted}凭证，您当前以{have}身份登录（{cred.name}）。",
            "如需切换身份，请先退出登录，再用相应凭证登录。",
            links=[(HOME_OF.get(cred.role, "/pages/"), f"回到{have}页面")],
        )
    return cred


def origin_refused() -> PageError:
    return PageError(
        403, "表单来源校验未通过",
        "该表单不是从本网站的页面提交的（浏览器报告的来源与本站不符），可能是其他网站冒用您的登录状态。本次操作没有执行。",
        "请直接打开本站页面（不要通过其他网站的链接或按钮），刷新后重新提交。",
    )


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request) -> bool:
    """Was this form posted from one of our own pages, as far as the browser says (Origin, else Referer)?

    Why as well as the CSRF token: the token proves the poster could read one of our pages; the
    Origin header is set by the browser itself, so a form on another site is refused even if a
    token leaked. Every current browser sends Origin with a form POST (the pages' Referrer-Policy
    is same-origin, which keeps it from being "null"); a request with neither header is not a
    browser's, so it cannot be a forged cross-site form, and the token alone decides. Our origin
    is the one the request was addressed to (Host) or the public base URL (behind a proxy).
    """
    claimed = request.headers.get("origin")
    if claimed is None:
        referer = request.headers.get("referer")
        if referer is None:
            return True
        claimed = _origin_of(referer)
    own = {f"{request.url.scheme}://{request.headers.get('host', '')}".lower(),
           _origin_of(request.app.state.runtime.settings.public_base_url)}
    return claimed.strip().lower() in own


def require_csrf(request: Request, submitted: str | None) -> None:
    """Every state-changing form: posted from our own origin, with this visitor's CSRF token."""
    if not same_origin(request):
        log.warning("cross-origin form refused on %s", request.url.path)  # the path only: no form content
        raise origin_refused()
    if not ss.csrf_valid(request, submitted):
        log.warning("CSRF refusal on %s", request.url.path)  # the path only: no form content in logs
        raise csrf_refused()


def _from_api_error(exc: ApiError) -> PageError:
    titles = {400: "无法处理", 401: "请先登录", 403: "无权执行此操作", 404: "找不到", 409: "暂时不能执行",
              413: "内容过大", 422: "内容有误", 429: "操作过于频繁", 503: "暂时无法完成"}
    message = exc.message.split(" (")[0] if " (" in exc.message else exc.message  # drop the English gloss
    return PageError(exc.status, titles.get(exc.status, "无法处理"), message, exc.hint)


class PageRoute(APIRoute):
    """An APIRoute whose failures are answered as Chinese HTML pages (or fragments for scripts)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            if TOO_LARGE_KEY in request.scope:  # declared too large: answered before anything is read
                return _answer(request, _too_large(request))
            try:
                return await original(request)
            except PageRedirect as redirect:
                return RedirectResponse(redirect.url, status_code=303)
            except PageError as err:
                return _answer(request, err)
            except ApiError as exc:
                return _answer(request, _from_api_error(exc))
            except RequestValidationError:
                return _answer_unless_too_large(request, PageError(
                    400, "表单内容不完整", "提交的表单缺少必要的内容或格式不对。", "请返回上一页，检查后重新提交。"))
            except StarletteHTTPException as exc:  # e.g. FastAPI's "error parsing the body"
                return _answer_unless_too_large(request, PageError(exc.status_code, "无法处理", "请求无法处理。",
                                                                   "请返回上一页重试。"))
            except Exception as exc:
                if TOO_LARGE_KEY in request.scope:  # the upload grew too large while being read
                    return _answer(request, _too_large(request))
                fault = database_fault(exc)
                if fault is not None:
                    return database_fault_page(request, fault)
                # A bug: log it with the path only (form bodies can hold personal data) and apologise.
                log.exception("page error on %s %s", request.method, request.url.path)
                return _answer(request, PageError(500, "系统出错了", "服务内部出错，已记录，本次操作可能没有完成。",
                                                  "请稍后重试；如仍出错，请联系运维人员。"))

        return handler


def database_fault_page(request: Request, fault: DatabaseUnavailable) -> Response:
    """503 with Retry-After: the database is down, full or read-only (common.dbfault), not a bug."""
    note_fault(request.scope, fault)
    if not hasattr(request.state, "page_session"):
        request.state.page_session = None  # the page itself must not ask the database who is signed in
    message = fault.message.split(" (")[0]  # drop the English gloss
    response = _answer(request, PageError(503, "暂时无法完成", message + "。", fault.hint))
    response.headers.update(fault_headers(fault))
    return response


def _too_large(request: Request) -> PageError:
    limit_mb = int(request.scope[TOO_LARGE_KEY]) / 1_000_000
    return PageError(413, "内容过大", f"上传的内容超过了 {limit_mb:g} MB 的上限，本次没有处理。",
                     "二维码照片请压缩到 2 MB 以内（或只截取二维码部分）后重新上传；也可以粘贴出示码文本。")


def _answer_unless_too_large(request: Request, err: PageError) -> Response:
    """`err` as a page, unless the failure came from an upload over the size limit (then that page)."""
    return _answer(request, _too_large(request) if TOO_LARGE_KEY in request.scope else err)


def answer_refusal(request: Request, err: PageError) -> Response:
    """A refusal given before any page route runs (e.g. the rate limiter): a page, or JSON for a page's script."""
    return _answer(request, err)


def _answer(request: Request, err: PageError) -> Response:
    if wants_fragment(request):
        return JSONResponse({"error": {"title": err.title, "message": err.message, "hint": err.hint}},
                            status_code=err.status, headers={"Cache-Control": "no-store"})
    return error_page(request, err)


def safe_next(value: str | None, default: str) -> str:
    """Only same-site paths under /pages/ may be redirect targets (no open redirect)."""
    if (value and value.startswith("/pages/") and "//" not in value and "\\" not in value and "\n" not in value
            and ".." not in value):
        return value
    return default
