"""A FastAPI dependency that admits only requests signed by another registered node.

A route for peers declares `peer: VerifiedPeer = Depends(guard)`; the route then knows the
caller's region from its signature. A refused request never reaches the route: it is answered
401/403 in the API's error shape with the refusal's code and a message naming the reason
(`install_refusal_handler`). Without that handler the refusal is still a 401/403 (a Starlette
HTTPException carrying the message), never a 500.

The check reads the registry and writes the nonce table, both blocking, so it runs in the
thread pool. The target URI is rebuilt from the raw path and query on the wire (as the signer
saw them) and this node's registered origin — not from the Host header, which the caller chooses.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from federation.checking import IncomingRequest, NotAFederationMember, RequestChecker, VerifiedPeer
from federation.refusals import RequestRefused


class PeerRequestRefused(HTTPException):
    """The HTTP form of a `RequestRefused`, raised by the guard."""

    def __init__(self, refusal: RequestRefused) -> None:
        super().__init__(refusal.status, detail=refusal.message,
                         headers={"Cache-Control": "no-store", "WWW-Authenticate": 'Signature realm="huren-node"'}
                         if refusal.status == 401 else {"Cache-Control": "no-store"})
        self.refusal = refusal


class PeerRequestGuard:
    """The dependency: checks the request with `checker` and returns the signing node."""

    def __init__(self, checker: RequestChecker) -> None:
        self.checker = checker

    async def __call__(self, request: Request) -> VerifiedPeer:
        body = await request.body()
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        query = request.scope.get("query_string", b"")
        target = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
        incoming = IncomingRequest(method=request.method, path_and_query=target,
                                   headers=tuple(request.headers.items()), body=body)
        try:
            return await run_in_threadpool(self.checker.check, incoming)
        except RequestRefused as refusal:
            raise PeerRequestRefused(refusal) from None
        except NotAFederationMember as exc:
            raise HTTPException(503, detail=str(exc)) from None


def install_refusal_handler(app: FastAPI) -> None:
    """Answer a refused peer request with its own code and message (API error shape)."""

    @app.exception_handler(PeerRequestRefused)
    async def _refused(_: Request, exc: PeerRequestRefused) -> JSONResponse:
        return JSONResponse(exc.refusal.as_body(), status_code=exc.status_code, headers=exc.headers)
