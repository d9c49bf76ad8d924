"""Signing this node's outgoing requests to other nodes (RFC 9421 HTTP Message Signatures).

What a signature covers, and why:
- `@method` and `@target-uri` (scheme, authority, path and query): the signature is for this
  request to that node only; replayed at another node or another path it does not verify.
- `content-digest` (RFC 9530, SHA-256, computed here from the exact body bytes sent): the body
  cannot be swapped under the signature.
- parameters `created` and `expires` (a short validity, `VALIDITY_S`), a random `nonce` (the
  receiver remembers it for the validity window, so the request cannot be replayed inside it),
  `keyid` ("<region>:<registry key id>", the receiver looks the key up in the chain's registry
  at `created`), `alg` = the key's algorithm (ed25519 in suite 1, sm2-sm3 in suite 2 国密;
  federation.algorithms), and `tag` = `REQUEST_TAG`.

The tag separates domains: a node request's signature base always ends with
`tag="huren-node-request/1"`, so no node request signature can be taken for a 加注件 stamp (which
a later issue signs with another tag, over another structure, with keys of another registry
purpose) or the other way round.

The signing itself is the maintained `http-message-signatures` library's; this module only fixes
the profile and adapts it to httpx (the library's own hooks are for the `httpx2` fork).
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections.abc import Callable, Generator

import httpx
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver

from federation.algorithms import library_algorithm
from federation.node_key import NodeSigningKey

#: The domain-separation tag of node-to-node request signatures.
REQUEST_TAG = "huren-node-request/1"
#: The signature label (not covered by the signature; the receiver selects by `tag`).
LABEL = "huren"
COVERED_COMPONENTS = ("@method", "@target-uri", "content-digest")
#: How long a request signature is valid; the receiver refuses longer validities.
VALIDITY_S = 60
#: Random bytes in a nonce (base64url: 22 characters).
NONCE_BYTES = 16

Clock = Callable[[], float]


class _OneKey(HTTPSignatureKeyResolver):
    """The library asks a resolver for the key by keyid; a signing node has exactly one."""

    def __init__(self, key: NodeSigningKey) -> None:
        self._key = key

    def resolve_private_key(self, key_id: str):  # type: ignore[no-untyped-def]
        if key_id != self._key.keyid:
            raise KeyError(key_id)
        return self._key.private_key

    def resolve_public_key(self, key_id: str):  # type: ignore[no-untyped-def]
        return self._key.private_key.public_key() if key_id == self._key.keyid else None


def new_nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def sign_request(request: httpx.Request, key: NodeSigningKey, *, now: float | None = None,
                 nonce: str | None = None, validity_s: int = VALIDITY_S) -> None:
    """Add Content-Digest, Signature-Input and Signature to `request` (in place).

    `now` and `nonce` are for tests; a node always signs with the current time and a fresh nonce.
    Any Content-Digest already on the request is replaced by the digest of its actual body.
    """
    created = int(time.time() if now is None else now)
    body = request.read()
    if "content-digest" in request.headers:
        del request.headers["content-digest"]
    HTTPMessageSigner(signature_algorithm=library_algorithm(key.algorithm), key_resolver=_OneKey(key)).sign(
        request,
        key_id=key.keyid,
        created=datetime.datetime.fromtimestamp(created, datetime.UTC),
        expires=datetime.datetime.fromtimestamp(created + validity_s, datetime.UTC),
        nonce=new_nonce() if nonce is None else nonce,
        label=LABEL,
        tag=REQUEST_TAG,
        covered_component_ids=COVERED_COMPONENTS,
        body=body,
    )


class NodeRequestAuth(httpx.Auth):
    """httpx authentication that signs every request with the node's key just before it is sent.

    Signed per attempt: a retried request gets a new `created` and nonce, as it must (the
    receiver would refuse the first attempt's nonce as a replay).
    """

    requires_request_body = True

    def __init__(self, key: NodeSigningKey, clock: Clock = time.time) -> None:
        self._key = key
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sign_request(request, self._key, now=self._clock())
        yield request
