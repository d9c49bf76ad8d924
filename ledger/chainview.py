"""ChainView implementations for the verification engine.

- `IndexedChainView`: answers from the indexer's in-memory read model — no RPC per question;
  this is what verifier workers use.
- `RpcChainView`: answers each question with its own `eth_call` — the naive reference used as
  a correctness oracle in tests and as the benchmark baseline, and the fallback for a verifier
  without an index.

Both say how old their facts are the same way (common/freshness.py): by the timestamp of the
newest block the facts come from — the newest indexed block, or the block the RPC view's calls
ran at (each verification's calls are pinned to one block, so they are facts of that block).
The engine holds that age against the policy's one bound.
"""

from __future__ import annotations

from eth_utils import to_checksum_address

from common.document import type_code_bytes32, type_code_from_bytes32
from common.facts import (
    AnchorFacts,
    CertStatus,
    CertStatusFacts,
    ChainUnavailable,
    Freshness,
    IssuerFacts,
    IssuerStatus,
    KeyFacts,
    RecognitionRule,
    TypeFacts,
)
from common.gm import sm2_normalize_public_key
from common.nodes import NodeKey, NodeKeyPurpose, NodeStatus
from ledger.abi import ContractABI
from ledger.errors import NodeUnavailable
from ledger.indexer import Indexer
from ledger.manifest import Manifest
from ledger.rpc import RpcClient, RpcError


class IndexedChainView:
    """Facts from the local index, as of the newest indexed block (no I/O per question)."""

    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer

    def freshness(self) -> Freshness:
        return self.indexer.freshness()

    def anchor(self, batch_root: bytes) -> AnchorFacts | None:
        return self.indexer.model.anchor_facts(batch_root, self.indexer.stats.head or self.indexer.stats.indexed)

    def issuer(self, issuer_id: bytes) -> IssuerFacts | None:
        return self.indexer.model.issuers.get(issuer_id)

    def key(self, address: str) -> KeyFacts | None:
        return self.indexer.model.keys.get(address)

    def certificate_status(self, cert_hash: bytes, issuer_id: bytes) -> CertStatusFacts:
        return self.indexer.model.certificate_status(cert_hash, issuer_id)

    def type_info(self, type_code: str) -> TypeFacts | None:
        return self.indexer.model.types.get(type_code)

    def recognition(self, verifier_region: int, type_code: str, issuer_region: int, at: int) -> RecognitionRule | None:
        return self.indexer.model.recognition(verifier_region, type_code, issuer_region, at)

    def stamp_keys(self, region: int, at: int) -> list[NodeKey]:
        model = self.indexer.model
        return [k for k in model.node_keys(region)
                if model.node_key(region, k.key_id, at, NodeKeyPurpose.STAMPING) is not None]


class RpcChainView:
    """Every fact by its own `eth_call` against the contracts (no index)."""

    def __init__(self, rpc: RpcClient, manifest: Manifest, abis: dict[str, ContractABI]) -> None:
        self.rpc = rpc
        self.m = manifest
        self.abis = abis
        self._head: tuple[int, int] | None = None

    def _call(self, contract: str, fn: str, *args: object) -> tuple[object, ...]:
        f = self.abis[contract].fn(fn)
        head, _ = self._head_block()
        try:
            # At the head block read by freshness(), not "latest": the facts are then exactly
            # as old as the block whose timestamp the answer reports.
            out = self.rpc.eth_call(self.m.addresses[contract], f.encode(*args), head)
        except (NodeUnavailable, RpcError) as exc:
            raise ChainUnavailable(f"链节点无法访问：{exc}") from None
        return f.decode_output(out)

    def _head_block(self) -> tuple[int, int]:
        if self._head is None:
            try:
                block = self.rpc.get_block("latest")
            except (NodeUnavailable, RpcError) as exc:
                raise ChainUnavailable(f"链节点无法访问：{exc}") from None
            assert block is not None
            self._head = (int(str(block["number"]), 16), int(str(block["timestamp"]), 16))
        return self._head

    def refresh(self) -> None:
        """Forget the cached head: call once per verification so confirmations are current."""
        self._head = None

    def freshness(self) -> Freshness:
        number, ts = self._head_block()
        return Freshness(number, ts, "rpc")

    def anchor(self, batch_root: bytes) -> AnchorFacts | None:
        anchored, issuer_id, key, type_code, block_number, timestamp = self._call(
            "AnchorLedger", "anchorOf", batch_root)
        if not anchored:
            return None
        head, _ = self._head_block()
        block = self.rpc.get_block(int(block_number))  # type: ignore[arg-type]
        block_hash = bytes.fromhex(str(block["hash"])[2:]) if block else b""
        return AnchorFacts(batch_root, issuer_id, to_checksum_address(key), type_code_from_bytes32(type_code),  # type: ignore[arg-type]
                           0, int(block_number), block_hash, b"", int(timestamp),  # type: ignore[call-overload]
                           max(0, head - int(block_number) + 1))  # type: ignore[call-overload]

    def issuer(self, issuer_id: bytes) -> IssuerFacts | None:
        region, status, since, revoked_from, _name = self._call("IssuerRegistry", "issuer", issuer_id)
        if int(status) == 0:  # type: ignore[call-overload]
            return None
        return IssuerFacts(issuer_id, int(region), IssuerStatus(int(status)), int(since),  # type: ignore[call-overload]
                           int(revoked_from) or None, _AuthorisedTypes(self, issuer_id))  # type: ignore[call-overload, arg-type]

    def key(self, address: str) -> KeyFacts | None:
        issuer_id, valid_from, valid_until = self._call("IssuerRegistry", "keyInfo", address)
        if issuer_id == b"\x00" * 32:
            return None
        # A second call for every key: the registry keeps SM2 public keys (suite 2) beside the window.
        (sm2_public,) = self._call("IssuerRegistry", "sm2PublicKey", address)
        sm2 = sm2_normalize_public_key(bytes(sm2_public)) if sm2_public else None  # type: ignore[arg-type]
        return KeyFacts(to_checksum_address(address), issuer_id, int(valid_from), int(valid_until) or None,  # type: ignore[arg-type, call-overload]
                        sm2)

    def certificate_status(self, cert_hash: bytes, issuer_id: bytes) -> CertStatusFacts:
        status, since, reason = self._call("AnchorLedger", "certificateStatus", cert_hash, issuer_id)
        return CertStatusFacts(cert_hash, CertStatus(int(status)), int(since), int(reason))  # type: ignore[call-overload]

    def type_info(self, type_code: str) -> TypeFacts | None:
        _index, defined, active, version, schema_hash, name = self._call(
            "Consortium", "typeInfo", type_code_bytes32(type_code))
        if not defined:
            return None
        return TypeFacts(type_code, str(name), schema_hash, int(version), bool(active))  # type: ignore[arg-type, call-overload]

    def recognition(self, verifier_region: int, type_code: str, issuer_region: int, at: int) -> RecognitionRule | None:
        (ok,) = self._call("RecognitionPolicy", "isRecognised", verifier_region, type_code_bytes32(type_code),
                           issuer_region, at)
        # The contract answers yes/no; the window is not needed by the engine beyond "in force now".
        return RecognitionRule(verifier_region, type_code, issuer_region, 0, None) if ok else None

    def stamp_keys(self, region: int, at: int) -> list[NodeKey]:
        status, _url, _registered, _updated, _count = self._call("NodeRegistry", "nodeOf", region)
        (member,) = self._call("Consortium", "isMember", region)
        if int(status) != int(NodeStatus.ACTIVE) or not member:
            return []
        (ids,) = self._call("NodeRegistry", "keyIdsOf", region)
        keys = []
        for kid in ids:
            (ok,) = self._call("NodeRegistry", "isNodeKeyValidAt", kid, region, int(NodeKeyPurpose.STAMPING), at)
            if not ok:
                continue
            k_region, suite, algorithm, purpose, public, valid_from, valid_until = self._call(
                "NodeRegistry", "nodeKey", kid)
            keys.append(NodeKey("0x" + bytes(kid).hex(), int(k_region), int(suite), int(algorithm), int(purpose),
                                bytes(public), int(valid_from), int(valid_until) or None))
        return keys


class _AuthorisedTypes(frozenset[str]):
    """A lazy `in` test against the registry, so the naive view asks only what is checked."""

    def __new__(cls, view: RpcChainView, issuer_id: bytes) -> _AuthorisedTypes:
        obj = super().__new__(cls)
        obj._view = view  # type: ignore[attr-defined]
        obj._issuer = issuer_id  # type: ignore[attr-defined]
        return obj

    def __contains__(self, type_code: object) -> bool:
        (ok,) = self._view._call("IssuerRegistry", "isAuthorised", self._issuer,  # type: ignore[attr-defined]
                                 type_code_bytes32(str(type_code)))
        return bool(ok)
