"""Federation nodes as the chain's NodeRegistry records them: plain values shared by ledger/ and federation/.

A region's node is found and trusted only through the chain (DESIGN.md, Federation). Its keys are
(suite, algorithm, public-key bytes) rather than addresses, because they sign off chain (RFC 9421
requests, 加注 stamps) and neither Ed25519 nor SM2 keys can be recovered from a signature.

The numbering below is the contract's (contracts/NodeRegistry.sol); algorithm ids are unique
across suites. `key_id` is what an HTTP signature carries as its `keyid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from urllib.parse import urlsplit

from common.hashing import keccak


class NodeSuite(IntEnum):
    """Crypto suite of a node key (DESIGN.md: 1 international, 2 国密)."""

    INTERNATIONAL = 1
    GUOMI = 2


class NodeAlgorithm(IntEnum):
    """Signature algorithm of a node key; `rfc9421` is its name in HTTP Message Signatures."""

    ED25519 = 1
    ECDSA_P256_SHA256 = 2
    ECDSA_P384_SHA384 = 3
    SM2_SM3 = 16  # suite 2 (国密): SM2 over SM3(Z || message), 64-byte r||s; 65-byte 04||x||y public keys
    #               (common/node_keys.py; stamps in common/stamp.py, requests in federation/algorithms.py)

    @property
    def suite(self) -> NodeSuite:
        return NodeSuite.GUOMI if self is NodeAlgorithm.SM2_SM3 else NodeSuite.INTERNATIONAL

    @property
    def rfc9421(self) -> str:
        return _RFC9421[self]

    @classmethod
    def from_name(cls, name: str) -> NodeAlgorithm:
        for alg, text in _RFC9421.items():
            if text == name:
                return alg
        raise ValueError(f"unknown node-key algorithm {name!r}; known: {', '.join(_RFC9421.values())}")


_RFC9421 = {
    NodeAlgorithm.ED25519: "ed25519",
    NodeAlgorithm.ECDSA_P256_SHA256: "ecdsa-p256-sha256",
    NodeAlgorithm.ECDSA_P384_SHA384: "ecdsa-p384-sha384",
    NodeAlgorithm.SM2_SM3: "sm2-sm3",
}


class NodeKeyPurpose(IntEnum):
    """What a node key may sign: one purpose per key, so a request-signing key is never a stamp key."""

    REQUEST_SIGNING = 1
    STAMPING = 2

    @property
    def label(self) -> str:
        return {NodeKeyPurpose.REQUEST_SIGNING: "节点间请求签名", NodeKeyPurpose.STAMPING: "加注件签章"}[self]

    @classmethod
    def from_name(cls, name: str) -> NodeKeyPurpose:
        try:
            return {"request-signing": cls.REQUEST_SIGNING, "stamping": cls.STAMPING}[name]
        except KeyError:
            raise ValueError(f"unknown node-key purpose {name!r}; known: request-signing, stamping") from None


class NodeStatus(IntEnum):
    """Matches `NodeRegistry.NodeStatus` on chain."""

    NONE = 0
    ACTIVE = 1
    REMOVED = 2


def key_id(public_key: bytes) -> str:
    """The key's id: "0x" + lowercase hex of keccak256(public-key bytes) — the RFC 9421 `keyid`."""
    return "0x" + keccak(public_key).hex()


def key_id_bytes(value: str | bytes) -> bytes:
    """The 32-byte key id of a "0x..." text (or the bytes themselves); ValueError if malformed."""
    if isinstance(value, bytes):
        raw = value
    else:
        text = value[2:] if value[:2].lower() == "0x" else value
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"key id {value!r} is not hexadecimal") from None
    if len(raw) != 32:
        raise ValueError(f"a key id is 32 bytes (64 hex digits), not {len(raw)}")
    return raw


def check_base_url(url: str) -> str:
    """The URL as the contract accepts it (http/https, printable ASCII, no spaces, <= 256 bytes).

    Raises ValueError with a message saying what is wrong, so a CLI refuses before sending a proposal
    the contract would refuse on execution (after the second officer already signed).
    """
    raw = url.encode("utf-8")
    if len(raw) > 256:
        raise ValueError("节点地址过长（最多 256 字节）")
    if any(b < 0x21 or b > 0x7E for b in raw):
        raise ValueError("节点地址只能含可打印 ASCII 字符（中文域名请用 punycode），不能有空格")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("节点地址必须以 https:// 或 http:// 开头并含主机名")
    return url


def check_public_key(algorithm: NodeAlgorithm, public_key: bytes) -> None:
    """The contract's shape check of a public key (length, SEC1 prefix); ValueError naming the problem."""
    if algorithm is NodeAlgorithm.ED25519:
        ok = len(public_key) == 32
    else:
        size = 48 if algorithm is NodeAlgorithm.ECDSA_P384_SHA384 else 32
        ok = (len(public_key) == size + 1 and public_key[:1] in (b"\x02", b"\x03")) or (
            len(public_key) == 2 * size + 1 and public_key[:1] == b"\x04")
    if not ok:
        raise ValueError(f"{algorithm.rfc9421} 公钥格式不对（{len(public_key)} 字节）")


@dataclass(frozen=True, slots=True)
class NodeKey:
    """A node key and the window in which other nodes accept what it signs."""

    key_id: str  # "0x" + 64 hex digits = keccak256(public_key)
    region: int
    suite: int  # NodeSuite value (kept as int: a future suite must not break indexing)
    algorithm: int  # NodeAlgorithm value
    purpose: int  # NodeKeyPurpose value
    public_key: bytes
    valid_from: int
    valid_until: int | None  # None: not retired

    @property
    def retired(self) -> bool:
        return self.valid_until is not None

    @property
    def algorithm_name(self) -> str:
        """RFC 9421 name ("ed25519", "ecdsa-p256-sha256", ...), or "algorithm-<n>" if unknown here."""
        try:
            return NodeAlgorithm(self.algorithm).rfc9421
        except ValueError:
            return f"algorithm-{self.algorithm}"

    def valid_at(self, t: int) -> bool:
        return self.valid_from <= t and (self.valid_until is None or t < self.valid_until)


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A region's node: where to reach it, and whether it is in the federation."""

    region: int
    base_url: str  # as registered; join paths with `url(path)`
    status: NodeStatus
    registered_at: int
    updated_at: int
    key_ids: tuple[str, ...]  # every key it ever had, oldest first

    @property
    def active(self) -> bool:
        return self.status is NodeStatus.ACTIVE

    def url(self, path: str) -> str:
        """`path` ("/v1/...") under the node's base URL (a trailing slash on the base is ignored)."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")
