"""One shape for every refusal the API gives, and handlers that never leak a stack trace.

Every error body is `{"error": {"code", "message", "hint"}}`: `code` is stable for programs,
`message` says in plain Chinese (with an English gloss) what is wrong, `hint` what to do.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("huren.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, hint: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.headers = headers
        self.extra: dict[str, object] = {}


def error_body(code: str, message: str, hint: str = "") -> dict[str, object]:
    return {"error": {"code": code, "message": message, "hint": hint}}


def _loc(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "请求"


_STATUS_WORDS = {
    400: ("BAD_REQUEST", "请求格式错误 (bad request)"),
    401: ("UNAUTHENTICATED", "缺少或无效的凭证 (missing or invalid credentials)"),
    403: ("FORBIDDEN", "无权执行此操作 (forbidden)"),
    404: ("NOT_FOUND", "找不到请求的资源 (not found)"),
    405: ("METHOD_NOT_ALLOWED", "不支持该请求方法 (method not allowed)"),
    406: ("NOT_ACCEPTABLE", "无法提供所要求的格式 (not acceptable)"),
    413: ("TOO_LARGE", "请求内容过大 (request too large)"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的内容类型 (unsupported media type)"),
    429: ("RATE_LIMITED", "请求过于频繁，请稍后再试 (rate limited)"),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        body = error_body(exc.code, exc.message, exc.hint)
        body["error"].update(exc.extra)  # type: ignore[union-attr]
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors()[:10]:
            problems.append(f"{_loc(tuple(e.get('loc', ())))}: {e.get('msg', '')}")
        return JSONResponse(
            error_body("INVALID_REQUEST", "请求内容不符合要求 (invalid request): " + "; ".join(problems),
                       "请对照接口文档 /docs 检查字段名称、类型和必填项。"),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, words = _STATUS_WORDS.get(exc.status_code, ("HTTP_ERROR", "请求无法处理"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found",) else ""
        message = f"{words}{': ' + detail if detail else ''}"
        return JSONResponse(error_body(code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not a user error: log it (without the request body) and answer without internals.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("INTERNAL", "服务内部错误，已记录；请稍后重试或联系运维 (internal error, logged)"),
            status_code=500,
        )
