"""A JSON-RPC proxy on 127.0.0.1 that forwards each HTTP request to the node it currently points at.

Between the API and its node it plays the part of a load balancer or a DNS name that moves to
another replica: `switch()` changes the node for the next request. It works per HTTP request,
not per TCP connection, so the API's kept-alive connections follow a switch at once.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from ledger.anvil import free_port


class RpcProxy:
    def __init__(self, target: str) -> None:
        self.target = target
        self._client = httpx.Client(timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the API's client uses it

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    reply = proxy._client.post(proxy.target, content=body,
                                               headers={"Content-Type": "application/json"})
                    status, content = reply.status_code, reply.content
                except httpx.HTTPError as exc:
                    status, content = 502, f"proxy: {type(exc).__name__}: {exc}".encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="rpc-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def switch(self, target: str) -> None:
        """Forward every later request to `target`."""
        self.target = target

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
