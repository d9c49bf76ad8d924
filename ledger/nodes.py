"""Changes to the chain's node registry, as values an officer proposes and another approves (双人双锁).

Why a type per change instead of raw `propose_regional(..., "addNodeKey", ...)` calls: the CLI, the
seed and the officer page must check a change the way the contract will (URL shape, key length,
suite of the algorithm) *before* the first officer signs — a proposal the contract refuses only on
execution wastes the second officer's approval and leaves a dead proposal behind. Each change also
says in Chinese what the officers are signing.

Reading the registry: the indexed read model (`ledger.readmodel.ReadModel.node_of` / `node_key`,
no RPC per question) or `ledger.clients.Huren.node` / `node_key` (one `eth_call` each).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.nodes import (
    NodeAlgorithm,
    NodeKeyPurpose,
    check_base_url,
    check_public_key,
    key_id,
    key_id_bytes,
)


@dataclass(frozen=True)
class RegisterNode:
    base_url: str

    def __post_init__(self) -> None:
        check_base_url(self.base_url)

    def call(self, region: int) -> tuple[str, tuple[Any, ...]]:
        return "registerNode", (region, self.base_url)

    def describe(self) -> str:
        return f"登记本地区节点，地址 {self.base_url}"


@dataclass(frozen=True)
class SetNodeUrl:
    base_url: str

    def __post_init__(self) -> None:
        check_base_url(self.base_url)

    def call(self, region: int) -> tuple[str, tuple[Any, ...]]:
        return "setNodeUrl", (region, self.base_url)

    def describe(self) -> str:
        return f"将本地区节点地址改为 {self.base_url}"


@dataclass(frozen=True)
class AddNodeKey:
    algorithm: NodeAlgorithm
    purpose: NodeKeyPurpose
    public_key: bytes
    valid_from: int = 0  # 0 (or a past time): from the block that executes the proposal

    def __post_init__(self) -> None:
        check_public_key(self.algorithm, self.public_key)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def call(self, region: int) -> tuple[str, tuple[Any, ...]]:
        return "addNodeKey", (region, int(self.algorithm.suite), int(self.algorithm), int(self.purpose),
                              self.public_key, self.valid_from)

    def describe(self) -> str:
        return f"为本地区节点添加{self.purpose.label}密钥（{self.algorithm.rfc9421}，{self.key_id[:18]}…）"


@dataclass(frozen=True)
class RetireNodeKey:
    key_id: str
    valid_until: int  # exclusive end of the window; may be backdated to a compromise time

    def __post_init__(self) -> None:
        key_id_bytes(self.key_id)
        if self.valid_until <= 0:
            raise ValueError("停用时间必须是正的 Unix 时间")

    def call(self, region: int) -> tuple[str, tuple[Any, ...]]:
        return "retireNodeKey", (region, key_id_bytes(self.key_id), self.valid_until)

    def describe(self) -> str:
        return f"停用本地区节点密钥 {self.key_id[:18]}…"


@dataclass(frozen=True)
class RemoveNode:
    def call(self, region: int) -> tuple[str, tuple[Any, ...]]:
        return "removeNode", (region,)

    def describe(self) -> str:
        return "将本地区节点移出联盟节点目录（其密钥同时停用）"


NodeChange = RegisterNode | SetNodeUrl | AddNodeKey | RetireNodeKey | RemoveNode


def describe_node_call(fn: str, args: dict[str, Any]) -> str | None:
    """A decoded NodeRegistry proposal in words an officer signs off on; None if `fn` is not one."""
    if fn == "registerNode":
        return f"登记本地区节点，地址 {args.get('baseUrl')}"
    if fn == "setNodeUrl":
        return f"将本地区节点地址改为 {args.get('baseUrl')}"
    if fn == "addNodeKey":
        try:
            alg = NodeAlgorithm(int(args["algorithm"])).rfc9421
            purpose = NodeKeyPurpose(int(args["purpose"])).label
        except (KeyError, ValueError):
            alg, purpose = f"算法 {args.get('algorithm')}", f"用途 {args.get('purpose')}"
        kid = key_id(bytes(args.get("publicKey", b"")))
        return f"为本地区节点添加{purpose}密钥（{alg}，{kid[:18]}…）"
    if fn == "retireNodeKey":
        raw = args.get("keyId", b"")
        return f"停用本地区节点密钥 0x{bytes(raw).hex()[:16]}…"
    if fn == "removeNode":
        return "将本地区节点移出联盟节点目录（其密钥同时停用）"
    return None
