"""Names and helpers shared by the federation unit tests."""

from __future__ import annotations

import httpx

from federation.checking import IncomingRequest

BJ, TJ, HE = 110000, 120000, 130000
BJ_URL, HE_URL = "https://bj.node.test", "https://he.node.test:8443"
NOW = 1_800_000_000


def as_received(request: httpx.Request) -> IncomingRequest:
    """What the receiving node sees of a request httpx would send."""
    return IncomingRequest(method=request.method, path_and_query=request.url.raw_path.decode("ascii"),
                           headers=tuple(request.headers.multi_items()), body=request.read())
