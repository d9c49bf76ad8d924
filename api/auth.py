"""Authentication and role checks for API routes (bearer tokens; pages add cookie sessions)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.credentials import Credential, Role
from api.errors import ApiError

bearer = HTTPBearer(auto_error=False, description="凭证令牌 (Authorization: Bearer hr_...)")

ROLE_NAMES = {"department": "发证部门", "verifier": "核验窗口", "holder": "持证人", "officer": "地区管理员"}


async def current_credential(
    request: Request, token: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Credential:
    # async: no awaiting inside, but FastAPI runs a plain `def` dependency in its thread pool,
    # and two thread hops per request (this and `require`) cost more than the lookup itself
    # (a dict hit; on a miss, one indexed SELECT, once per token per cache period).
    runtime = request.app.state.runtime
    raw = token.credentials if token else None
    if raw is None:
        cred = getattr(request.state, "session_credential", None)
        if cred is not None:
            return cred  # type: ignore[no-any-return]
        raise ApiError(401, "UNAUTHENTICATED",
                       "缺少凭证：请在 Authorization 头中提供 Bearer 令牌 (missing credentials)",
                       "向本地区管理员申请凭证。", headers={"WWW-Authenticate": "Bearer"})
    cred = runtime.credentials.lookup(raw)
    if cred is None:
        raise ApiError(401, "UNAUTHENTICATED", "凭证无效或已停用 (invalid or disabled credentials)",
                       "检查令牌是否抄写完整；已停用的令牌请重新申请。", headers={"WWW-Authenticate": "Bearer"})
    return cred  # its rate limit was applied before the route (api.ratelimit.RateLimitMiddleware)


def require(*roles: Role) -> Callable[..., Awaitable[Credential]]:
    async def dependency(cred: Credential = Depends(current_credential)) -> Credential:
        if cred.role not in roles:
            wanted = "、".join(ROLE_NAMES[r] for r in roles)
            raise ApiError(403, "WRONG_ROLE",
                           f"此操作需要{wanted}凭证，当前凭证属于{ROLE_NAMES.get(cred.role, cred.role)} "
                           f"(this action needs a {'/'.join(roles)} credential)")
        return cred

    return dependency
