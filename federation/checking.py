"""Checking a request another node signed: who sent it, and whether to believe it now.

A request is accepted only if, in this order (each failure its own `federation.refusals` type):
1. it carries exactly one signature tagged `REQUEST_TAG` (a 加注件 stamp's or any other tag is not
   a node request signature), with `keyid`, `created`, `expires` and a `nonce`, covering at least
   `@method`, `@target-uri` and `content-digest`;
2. it is fresh on this node's clock: `created` not more than `max_age_s` (+ skew) ago and not in
   the future (beyond the skew), `expires` not past, and a validity no longer than `max_age_s`
   (so a signer cannot mint a long-lived request);
3. the chain registry, asked at `created`, has a node for the signer's region and a key with that
   id, registered for request signing, not retired, whose window covers `created`;
4. the signature verifies with that key over the request as it reached *this* node (the target
   URI is rebuilt from this node's own registry URL, so a request signed for another node fails);
5. the signed Content-Digest is the digest of the body received;
6. its nonce was not used before by that region (`federation.replay`).
Only a request whose signature verified uses up a nonce, so unsigned junk cannot fill the cache.

The cryptography and the signature base are the `http-message-signatures` library's. Its own
time checks use the wall clock; they are replaced here by step 2 on an injectable clock, so tests
can check the time rules without waiting and every time refusal has its own type.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import http_sf
from http_message_signatures import ContentDigest, HTTPMessageVerifier, HTTPSignatureKeyResolver
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from federation.algorithms import ALGORITHMS
from federation.directory import REQUEST_SIGNING, NodeDirectory, NodeKey
from federation.node_key import parse_keyid
from federation.refusals import (
    DigestMismatch,
    KeyOutsideWindow,
    RetiredKey,
    SignatureExpired,
    SignatureFromFuture,
    SignatureInvalid,
    SignatureMissing,
    SignatureTooOld,
    UnknownKey,
    UnknownNode,
    WrongKey,
)
from federation.replay import NonceCache
from federation.signing import COVERED_COMPONENTS, REQUEST_TAG, VALIDITY_S

MAX_AGE_S = VALIDITY_S
CLOCK_SKEW_S = 5
#: Bounds of an acceptable nonce (ours are 22 characters of base64url).
NONCE_MIN, NONCE_MAX = 16, 64

# The algorithms (ed25519; sm2-sm3 under 国密) are federation.algorithms.ALGORITHMS, chosen by the
# registry's algorithm of the key, never by the request.
__all__ = ["ALGORITHMS", "IncomingRequest", "NotAFederationMember", "RequestChecker", "VerifiedPeer"]


class NotAFederationMember(Exception):
    """This node's own region has no node in the registry: it cannot tell what URL requests were signed for."""


@dataclass(frozen=True)
class IncomingRequest:
    """A request as received: `path_and_query` exactly as on the wire (percent-encoding kept)."""

    method: str
    path_and_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class VerifiedPeer:
    """The node a request came from, as proven by its signature."""

    region: int
    key_id: str
    created: int
    nonce: str


@dataclass(frozen=True)
class _Fields:
    pairs: tuple[tuple[str, str], ...]

    def items(self) -> Iterable[tuple[str, str]]:
        return self.pairs


@dataclass(frozen=True)
class _Message:
    """What the library reads of a request: method, absolute URL, header field lines."""

    method: str
    url: str
    headers: _Fields


class _KnownKey(HTTPSignatureKeyResolver):
    def __init__(self, keyid: str, key: Any) -> None:
        self._keyid, self._key = keyid, key

    def resolve_public_key(self, key_id: str):  # type: ignore[no-untyped-def]
        return self._key if key_id == self._keyid else None

    def resolve_private_key(self, key_id: str):  # type: ignore[no-untyped-def]
        raise KeyError(key_id)


class _TimeCheckedVerifier(HTTPMessageVerifier):
    """The library's verifier without its wall-clock checks (RequestChecker checks times itself)."""

    def validate_created_and_expires(self, sig_input, max_age=None):  # type: ignore[no-untyped-def]
        return None


@dataclass(frozen=True)
class _SignatureInput:
    keyid: str
    created: int
    expires: int
    nonce: str
    components: tuple[str, ...]


def _field(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def read_signature_input(headers: tuple[tuple[str, str], ...]) -> _SignatureInput:
    """The parameters of the one node-request signature in `headers` (before any crypto)."""
    sig_input, signature = _field(headers, "signature-input"), _field(headers, "signature")
    if sig_input is None or signature is None:
        raise SignatureMissing("请求未签名：缺少 Signature-Input 或 Signature 头 (request is not signed)")
    try:
        members = http_sf.parse(sig_input.encode("latin-1"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeEncodeError):
        raise SignatureInvalid("Signature-Input 头格式错误 (malformed Signature-Input field)") from None
    ours = [(label, member) for label, member in members.items()
            if isinstance(member, tuple) and member[1].get("tag") == REQUEST_TAG]
    if not ours:
        tags = sorted({str(m[1].get("tag")) for m in members.values() if isinstance(m, tuple)})
        raise SignatureInvalid(f"请求没有节点请求签名 (no signature tagged {REQUEST_TAG!r}; found tags {tags})")
    if len(ours) > 1:
        raise SignatureInvalid(f"请求带有多个节点请求签名 (more than one signature tagged {REQUEST_TAG!r})")
    _label, (items, params) = ours[0]
    if not isinstance(items, list):
        raise SignatureInvalid("Signature-Input 成员须为列表 (Signature-Input member must be an inner list)")
    for name, kind in (("keyid", str), ("created", int), ("expires", int), ("nonce", str)):
        value = params.get(name)
        if type(value) is not kind:
            raise SignatureInvalid(f"签名缺少参数 {name} 或其类型错误 "
                                   f"(signature parameter {name!r} missing or mistyped)")
    nonce = params["nonce"]
    if not NONCE_MIN <= len(nonce) <= NONCE_MAX:
        raise SignatureInvalid(f"nonce 长度须在 {NONCE_MIN}–{NONCE_MAX} 之间 "
                               f"(nonce must be {NONCE_MIN}-{NONCE_MAX} characters)")
    components = tuple(str(value) for value, _params in items)
    missing = [c for c in COVERED_COMPONENTS if c not in components]
    if missing:
        raise SignatureInvalid(f"签名未覆盖必需的组件 {missing} (signature must cover {list(COVERED_COMPONENTS)})")
    return _SignatureInput(params["keyid"], params["created"], params["expires"], nonce, components)


def check_times(sig: _SignatureInput, now: float, max_age_s: int = MAX_AGE_S, skew_s: int = CLOCK_SKEW_S) -> None:
    """Refuse a signature that is not fresh on this node's clock (step 2 of the module docstring)."""
    if sig.created > now + skew_s:
        raise SignatureFromFuture(f"签名时间晚于本节点时间 {int(sig.created - now)} 秒 "
                                  "(signature created in the future)")
    if sig.created < now - max_age_s - skew_s:
        raise SignatureTooOld(f"签名已超过 {max_age_s} 秒有效期：签于 {int(now - sig.created)} 秒前 "
                              "(signature too old)")
    if sig.expires < now - skew_s:
        raise SignatureExpired(f"签名已于 {int(now - sig.expires)} 秒前过期 (signature expired)")
    if sig.expires < sig.created or sig.expires - sig.created > max_age_s:
        raise SignatureInvalid(f"签名有效期须在 0–{max_age_s} 秒之间 (expires - created must be 0..{max_age_s} s)")


def check_key(directory: NodeDirectory, keyid: str, created: int) -> NodeKey:
    """The registered key `keyid` names, if the registry lets it sign requests at `created`."""
    named = parse_keyid(keyid)
    if named is None:
        raise UnknownKey(f"keyid {keyid[:100]!r} 格式无效，应为 “地区代码:密钥编号” (keyid must be region:key-id)")
    region, key_id = named
    if directory.node_of(region) is None:
        raise UnknownNode(f"地区 {region} 在链上节点注册表中没有节点 (no registered node for region {region})")
    key = directory.node_key(region, key_id, created)
    if key is None or key.region != region:
        raise UnknownKey(f"地区 {region} 的节点未登记密钥 {key_id!r} (key not in the registry)")
    if key.purpose != REQUEST_SIGNING:
        raise WrongKey(f"密钥 {keyid} 登记用途为 {key.purpose!r}，不能签署节点请求 (key is not for request signing)")
    if key.retired:
        raise RetiredKey(f"密钥 {keyid} 已停用 (key retired)")
    if not key.covers(created):
        window = f"{key.valid_from}–{key.valid_until if key.valid_until is not None else '∞'}"
        raise KeyOutsideWindow(f"签名时间 {created} 不在密钥 {keyid} 的有效期 {window} 内 (key outside its window)")
    if key.algorithm not in ALGORITHMS:
        raise WrongKey(f"密钥 {keyid} 的算法 {key.algorithm!r} 不受支持 (unsupported algorithm)")
    return key


class RequestChecker:
    """Decides whether to accept a request signed by another node (see the module docstring)."""

    def __init__(self, directory: NodeDirectory, nonces: NonceCache, own_region: int, *,
                 max_age_s: int = MAX_AGE_S, clock_skew_s: int = CLOCK_SKEW_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.nonces = nonces
        self.own_region = own_region
        self.max_age_s = max_age_s
        self.clock_skew_s = clock_skew_s
        self.clock = clock

    def target_uri(self, path_and_query: str) -> str:
        """The URI the request must have been signed for: this node's registered origin + its path."""
        base = self.directory.node_of(self.own_region)
        if base is None:
            raise NotAFederationMember(f"本节点所在地区 {self.own_region} 未在链上节点注册表中登记节点")
        scheme, _, rest = base.partition("://")
        authority = rest.split("/", 1)[0]
        return f"{scheme.lower()}://{authority}{path_and_query}"

    def check(self, request: IncomingRequest) -> VerifiedPeer:
        now = self.clock()
        sig = read_signature_input(request.headers)
        check_times(sig, now, self.max_age_s, self.clock_skew_s)
        key = check_key(self.directory, sig.keyid, sig.created)
        algorithm, load = ALGORITHMS[key.algorithm]
        try:
            public_key = load(key.public_key)
        except ValueError:
            raise WrongKey(f"注册表中密钥 {sig.keyid} 不是有效的 {key.algorithm} 公钥 "
                           "(registered key bytes invalid)") from None
        message = _Message(request.method, self.target_uri(request.path_and_query), _Fields(request.headers))
        verifier = _TimeCheckedVerifier(signature_algorithm=algorithm, key_resolver=_KnownKey(sig.keyid, public_key))
        try:
            (result,) = verifier.verify(message, max_age=None, expect_tag=REQUEST_TAG,
                                        require_components=COVERED_COMPONENTS)
        except HTTPMessageSignaturesException as exc:
            raise SignatureInvalid(f"签名验证失败 (signature does not verify): {str(exc)[:200]}") from None
        try:
            ContentDigest.verify_components(result.covered_components, request.body)
        except HTTPMessageSignaturesException as exc:
            raise DigestMismatch(f"请求体与签名的 Content-Digest 不符 (content digest mismatch): {exc}") from None
        forget_after = max(sig.expires, sig.created + self.max_age_s) + self.clock_skew_s
        self.nonces.remember(key.region, sig.nonce, forget_after, now)
        return VerifiedPeer(key.region, key.key_id, sig.created, sig.nonce)
