"""Calling another region's node: by region, through the registry, signed, with tight timeouts.

A code or an authorisation names only a *region*; the URL comes from the chain's node registry,
so no code can make this node call an address of its holder's choosing (a server-side request
forgery). For the same reason the path must be a plain absolute path (no scheme, no `//host`,
no backslashes or control characters), redirects are never followed (a redirect could point
anywhere) and the final URL's origin is checked against the registry's.

A peer that cannot be reached — refused or timed-out connection, a broken answer, or a 502/503/504
from its proxy — is `PeerUnavailable`, which the verdict layer shows as UNAVAILABLE ("发证地节点
暂时无法访问"), never as "invalid". A peer that refuses our signature (401/403) is
`PeerRefusedUs` with the peer's code: that is a registry or key problem on our side, not the
holder's. Any other answer is returned for the caller to judge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from federation.directory import NodeDirectory
from federation.node_key import NodeSigningKey
from federation.signing import Clock, NodeRequestAuth

#: Connect fast or call the peer down; a peer answer (a fetch of one presentation) is small.
DEFAULT_TIMEOUT = httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=2.0)
#: Larger peer answers are refused: nothing the protocol fetches comes near it.
MAX_ANSWER_BYTES = 1_000_000


class PeerError(Exception):
    """A call to another node that did not give an answer to judge."""

    def __init__(self, region: int, message: str) -> None:
        super().__init__(message)
        self.region = region
        self.message = message


class PeerNotRegistered(PeerError):
    """The region has no node in the chain's registry (never registered, or removed)."""


class PeerUnavailable(PeerError):
    """The region's node is registered but cannot be reached now (down, too slow, broken answer)."""


class PeerRefusedUs(PeerError):
    """The peer refused our signature (401/403); `code` is its reason (e.g. NODE_KEY_RETIRED)."""

    def __init__(self, region: int, status: int, code: str, message: str) -> None:
        super().__init__(region, message)
        self.status = status
        self.code = code


class UnsafePeerPath(ValueError):
    """A path that could leave the peer's origin; a programming error, never sent."""


@dataclass(frozen=True)
class PeerAnswer:
    status: int
    body: Any
    region: int


def _check_path(path: str) -> None:
    if (not path.startswith("/") or path.startswith("//") or "\\" in path or "#" in path
            or not path.isascii() or not path.isprintable() or " " in path):
        raise UnsafePeerPath(f"peer path must be a plain absolute path, got {path[:100]!r}")


class PeerClient:
    """Signed calls to other nodes (synchronous: the API calls it from its thread pool)."""

    def __init__(self, directory: NodeDirectory, key: NodeSigningKey, *,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT, clock: Clock = time.time,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.directory = directory
        self.key = key
        self._client = httpx.Client(auth=NodeRequestAuth(key, clock), timeout=timeout, follow_redirects=False,
                                    trust_env=False, transport=transport,
                                    headers={"User-Agent": f"huren-node/{key.region}"})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url_for(self, region: int, path: str) -> str:
        """The registry's base URL of `region` joined with `path`, never leaving its origin."""
        _check_path(path)
        base = self.directory.node_of(region)
        if base is None:
            raise PeerNotRegistered(region, f"地区 {region} 在链上节点注册表中没有节点 (no registered node)")
        base_url = httpx.URL(base)
        url = httpx.URL(base.rstrip("/") + path)
        if (url.scheme, url.host, url.port) != (base_url.scheme, base_url.host, base_url.port):
            raise UnsafePeerPath(f"peer path {path[:100]!r} leaves the origin of region {region}")
        return str(url)

    def call(self, region: int, method: str, path: str, json: Any = None) -> PeerAnswer:
        url = self.url_for(region, path)
        try:
            with self._client.stream(method.upper(), url, json=json) as response:
                raw = bytearray()
                for chunk in response.iter_bytes():
                    raw.extend(chunk)
                    if len(raw) > MAX_ANSWER_BYTES:
                        raise PeerUnavailable(region, f"地区 {region} 节点的应答超过 {MAX_ANSWER_BYTES} 字节")
        except httpx.TransportError as exc:
            raise PeerUnavailable(region, f"地区 {region} 的节点暂时无法访问 (peer unreachable: "
                                          f"{type(exc).__name__})") from None
        if response.status_code in (502, 503, 504):
            raise PeerUnavailable(region, f"地区 {region} 的节点暂时无法访问 (peer answered {response.status_code})")
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            raise PeerUnavailable(region, f"地区 {region} 节点的应答不是 JSON (peer answer is not JSON)") from None
        if response.status_code in (401, 403):
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise PeerRefusedUs(region, response.status_code, str(error.get("code", "UNKNOWN")),
                                str(error.get("message", "")))
        return PeerAnswer(response.status_code, body, region)
