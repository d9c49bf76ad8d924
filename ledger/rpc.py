"""A small JSON-RPC client with fail-over between endpoints.

We speak JSON-RPC directly (httpx) rather than through web3.py's provider stack because the
indexer and the transaction sender need batching, precise error classes and speed (web3.py
managed ~130 calls/s here). A production consortium has one or more nodes per province:
configure several URLs and the client moves to the next one when a node stops answering.

A node that answers but stopped following the network is not caught by fail-over on errors:
`heads()` asks every endpoint for its newest block, and the indexer compares them on its poll
(common/freshness.py) and moves the client to the best one with `use()`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from common.freshness import NodeHead
from common.json_input import parse_json
from ledger.errors import NodeUnavailable


def endpoint_name(url: str) -> str:
    """An endpoint as an operator names it (host:port): no credentials or path, which may hold a key."""
    parts = urlsplit(url)
    if not parts.hostname:
        return "?"
    return parts.hostname + (f":{parts.port}" if parts.port else "")


@dataclass
class RpcError(Exception):
    """The node answered with a JSON-RPC error (not a transport failure)."""

    code: int
    message: str
    data: object = None

    def __str__(self) -> str:
        return f"JSON-RPC error {self.code}: {self.message}"


class RpcClient:
    def __init__(self, urls: str | Sequence[str], timeout: float = 10.0) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls:
            raise ValueError("at least one JSON-RPC URL is required")
        self._active = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=32))

    @property
    def url(self) -> str:
        return self.urls[self._active]

    @property
    def active(self) -> int:
        """Index of the endpoint requests go to first."""
        return self._active

    def close(self) -> None:
        self._client.close()

    def _post(self, payload: object) -> object:
        errors: list[str] = []
        for attempt in range(len(self.urls)):
            index = (self._active + attempt) % len(self.urls)
            url = self.urls[index]
            try:
                reply = self._client.post(url, json=payload)
                if reply.status_code >= 500:
                    errors.append(f"{url}: HTTP {reply.status_code}")
                    continue
                reply.raise_for_status()
                self._active = index
                return parse_json(reply.content)  # a node's reply is input too: depth-limited (issue 13)
            except (httpx.TransportError, httpx.HTTPStatusError, ValueError) as exc:
                errors.append(f"{url}: {type(exc).__name__}: {exc}"[:200])
        raise NodeUnavailable("no chain node answered: " + "; ".join(errors))

    def use(self, index: int) -> None:
        """Read from endpoint `index` from now on (fail-over on errors still moves on from it)."""
        if not 0 <= index < len(self.urls):
            raise ValueError(f"no endpoint {index}: {len(self.urls)} configured")
        self._active = index

    def heads(self, timeout: float = 2.0) -> list[NodeHead]:
        """Every endpoint's newest block (number, timestamp), each asked directly, no fail-over.

        A short timeout: this runs on the indexer's poll, and a black-holed endpoint must not
        hold the poll for the client's full timeout.
        """
        out: list[NodeHead] = []
        for url in self.urls:
            with self._lock:
                request_id = next(self._ids)
            payload = {"jsonrpc": "2.0", "id": request_id, "method": "eth_getBlockByNumber",
                       "params": ["latest", False]}
            try:
                reply = self._client.post(url, json=payload, timeout=timeout)
                reply.raise_for_status()
                block = parse_json(reply.content).get("result")
                out.append(NodeHead(url, int(str(block["number"]), 16), int(str(block["timestamp"]), 16)))
            except (httpx.TransportError, httpx.HTTPStatusError, ValueError, TypeError, KeyError,
                    AttributeError) as exc:
                out.append(NodeHead(url, None, None, f"{type(exc).__name__}: {exc}"[:200]))
        return out

    def call(self, method: str, params: Sequence[object] = ()) -> object:
        with self._lock:
            request_id = next(self._ids)
        body = self._post({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
        assert isinstance(body, dict)
        if "error" in body:
            err = body["error"]
            raise RpcError(int(err.get("code", 0)), str(err.get("message", "")), err.get("data"))
        return body["result"]

    def batch(self, calls: Sequence[tuple[str, Sequence[object]]]) -> list[object]:
        """Send many requests in one HTTP round trip; results in order; raises the first error."""
        if not calls:
            return []
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in enumerate(calls)]
        body = self._post(payload)
        if not isinstance(body, list):
            raise RpcError(-32600, f"batch request not supported by {self.url}: {body}")
        by_id = {item["id"]: item for item in body}
        results: list[object] = []
        for i in range(len(calls)):
            item = by_id[i]
            if "error" in item:
                err = item["error"]
                raise RpcError(int(err.get("code", 0)), str(err.get("message", "")), err.get("data"))
            results.append(item["result"])
        return results

    # Frequently used reads, typed.
    def chain_id(self) -> int:
        return int(str(self.call("eth_chainId")), 16)

    def block_number(self) -> int:
        return int(str(self.call("eth_blockNumber")), 16)

    def get_block(self, number: int | str, full: bool = False) -> dict[str, object] | None:
        tag = hex(number) if isinstance(number, int) else number
        block = self.call("eth_getBlockByNumber", [tag, full])
        return block if isinstance(block, dict) else None

    def eth_call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        tag = hex(block) if isinstance(block, int) else block
        result = self.call("eth_call", [{"to": to, "data": "0x" + data.hex()}, tag])
        return bytes.fromhex(str(result)[2:])
