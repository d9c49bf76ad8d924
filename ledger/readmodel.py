"""The local read model of on-chain state, rebuilt from contract events alone.

`ReadModel` is plain in-memory state (dicts of the fact dataclasses from common/facts.py),
changed only by `apply(event)`. Keeping it pure makes three things simple and obviously
correct: the indexer applies new events to it; a reorg is handled by replaying the stored
event journal minus the dropped blocks; and a verifier looks facts up in dictionaries
(microseconds) instead of asking a node (milliseconds).

Federation look-ups (for `federation/`; the node registry on chain, contracts/NodeRegistry.sol):

- `model.node_of(region) -> NodeRecord | None` — the region's node (base URL, status ACTIVE/REMOVED,
  key ids), None if the region never registered one. Use `record.url("/v1/...")` to build a URL.
- `model.nodes() -> list[NodeRecord]` — every node ever registered, by region code.
- `model.node_keys(region) -> list[NodeKey]` — every key of the region's node, oldest first.
- `model.node_key_info(key_id) -> NodeKey | None` — a key by id whatever its state (to name why a
  signature is refused: unknown key, another region's key, wrong purpose, retired).
- `model.node_key(region, key_id, at_time, purpose=REQUEST_SIGNING) -> NodeKey | None` — the key
  only if it is trusted for that purpose at `at_time`: registered to `region`, with that purpose, inside
  its window, the region a current consortium member and its node ACTIVE. Otherwise None.

A key id is "0x" + 64 hex digits, keccak256 of the public-key bytes (`common.nodes.key_id`); it is
what an RFC 9421 signature carries as `keyid`. Removing a node retires its keys on chain at the
removal time, so a key's window alone tells whether it was trusted at a past time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from eth_utils import to_checksum_address

from common.document import type_code_from_bytes32
from common.facts import (
    AnchorFacts,
    CertStatus,
    CertStatusFacts,
    IssuerFacts,
    IssuerStatus,
    KeyFacts,
    RecognitionRule,
    TypeFacts,
)
from common.gm import sm2_normalize_public_key
from common.nodes import NodeKey, NodeKeyPurpose, NodeRecord, NodeStatus
from common.nodes import key_id as node_key_id


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One decoded contract event with where it happened."""

    contract: str
    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int


@dataclass
class RegionState:
    code: int
    member: bool
    threshold: int
    officers: set[str] = field(default_factory=set)


@dataclass
class ProposalState:
    id: int
    kind: int
    region: int
    target: str
    data: bytes
    proposer: str
    expires_at: int
    approvers: list[str] = field(default_factory=list)
    required: int = 0
    executed: bool = False


@dataclass
class AnchorRecord:
    """An anchor as indexed; confirmations are computed against the current head on read."""

    batch_root: bytes
    issuer_id: bytes
    key: str
    type_code: str
    cert_count: int
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    timestamp: int
    suite: int = 1  # crypto suite of the batch's trees: 2 (国密, SM3) after GuomiBatchAnchored


@lru_cache(maxsize=65536)
def _addr(value: str) -> str:
    """Checksummed address; cached because the same few keys appear in thousands of events."""
    return str(to_checksum_address(value))


class ReadModel:
    def __init__(self) -> None:
        self.regions: dict[int, RegionState] = {}
        self.types: dict[str, TypeFacts] = {}
        self.issuers: dict[bytes, IssuerFacts] = {}
        self.issuer_names: dict[bytes, str] = {}
        self.issuer_history: dict[bytes, list[tuple[IssuerStatus, int]]] = {}
        self.keys: dict[str, KeyFacts] = {}
        self.anchors: dict[bytes, AnchorRecord] = {}
        # Keyed by (issuer_id, cert_hash): on chain a status belongs to the issuer that set it.
        self.cert_status: dict[tuple[bytes, bytes], CertStatusFacts] = {}
        self.cert_batch: dict[tuple[bytes, bytes], bytes] = {}
        self.recognitions: dict[tuple[int, str, int], RecognitionRule] = {}
        self.proposals: dict[int, ProposalState] = {}
        self.node_records: dict[int, NodeRecord] = {}  # region -> its node
        self.node_key_records: dict[str, NodeKey] = {}  # key id ("0x...") -> key
        self.quorum_bps = 5000
        self.proposal_ttl = 0
        self.events_applied = 0

    # -- event application -----------------------------------------------------------------
    def apply(self, ev: ChainEvent) -> None:
        handler = getattr(self, f"_on_{ev.name}", None)
        if handler is not None:
            handler(ev, ev.args)
        self.events_applied += 1

    def _on_RegionAdmitted(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        self.regions[int(a["region"])] = RegionState(
            int(a["region"]), True, int(a["threshold"]), {_addr(o) for o in a["officers"]}
        )

    def _on_RegionRemoved(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        region = self.regions.get(int(a["region"]))
        if region:
            region.member = False
            region.officers.clear()

    def _on_OfficerAdded(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        self.regions[int(a["region"])].officers.add(_addr(a["officer"]))

    def _on_OfficerRemoved(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        self.regions[int(a["region"])].officers.discard(_addr(a["officer"]))

    def _on_RegionThresholdSet(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        self.regions[int(a["region"])].threshold = int(a["threshold"])

    def _on_QuorumSet(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        self.quorum_bps = int(a["bps"])

    def _on_ProposalTtlSet(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        self.proposal_ttl = int(a["ttl"])

    def _on_TypeDefined(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        code = type_code_from_bytes32(a["typeCode"])
        self.types[code] = TypeFacts(code, a["name"], a["schemaHash"], int(a["version"]), bool(a["active"]))

    def _on_IssuerRegistered(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        iid = a["issuerId"]
        at = int(a["at"])
        self.issuers[iid] = IssuerFacts(iid, int(a["region"]), IssuerStatus.ACTIVE, at, None, frozenset())
        self.issuer_names[iid] = a["name"]
        self.issuer_history[iid] = [(IssuerStatus.ACTIVE, at)]

    def _on_IssuerStatusChanged(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        iid = a["issuerId"]
        status = IssuerStatus(int(a["status"]))
        at = int(a["effectiveFrom"])
        old = self.issuers[iid]
        revoked_from = at if status == IssuerStatus.REVOKED else old.revoked_from
        self.issuers[iid] = replace(old, status=status, status_since=at, revoked_from=revoked_from)
        self.issuer_history[iid].append((status, at))

    def _on_KeyAdded(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        key = _addr(a["key"])
        self.keys[key] = KeyFacts(key, a["issuerId"], int(a["validFrom"]), None)

    def _on_SM2KeyAdded(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        # Emitted right after the key's KeyAdded. The registry admits only points on the SM2 curve,
        # so normalising (to 04 || x || y, the form common.gm verifies with) cannot fail here.
        key = _addr(a["key"])
        self.keys[key] = replace(self.keys[key], sm2_public_key=sm2_normalize_public_key(bytes(a["publicKey"])))

    def _on_KeyRetired(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        key = _addr(a["key"])
        self.keys[key] = replace(self.keys[key], valid_until=int(a["validUntil"]))

    def _on_TypeGranted(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        iid = a["issuerId"]
        old = self.issuers[iid]
        code = type_code_from_bytes32(a["typeCode"])
        self.issuers[iid] = replace(old, authorised_types=old.authorised_types | {code})

    def _on_TypeWithdrawn(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        iid = a["issuerId"]
        old = self.issuers[iid]
        code = type_code_from_bytes32(a["typeCode"])
        self.issuers[iid] = replace(old, authorised_types=old.authorised_types - {code})

    def _on_Anchored(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        root = a["batchRoot"]
        self.anchors[root] = AnchorRecord(
            root, a["issuerId"], _addr(a["key"]), type_code_from_bytes32(a["typeCode"]),
            int(a["certCount"]), ev.block_number, ev.block_hash, ev.tx_hash, int(a["timestamp"]),
        )

    def _on_GuomiBatchAnchored(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        # Emitted right after the batch's Anchored, in the same transaction.
        self.anchors[a["batchRoot"]].suite = 2

    def _on_CertificateStatusChanged(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        h = a["certHash"]
        key = (a["issuerId"], h)
        status = CertStatus(int(a["status"]))
        self.cert_status[key] = CertStatusFacts(h, status, int(a["at"]), int(a["reason"]))
        self.cert_batch[key] = a["batchRoot"]

    def _on_RecognitionSet(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        key = (int(a["verifierRegion"]), type_code_from_bytes32(a["typeCode"]), int(a["issuerRegion"]))
        until = int(a["validUntil"]) or None
        self.recognitions[key] = RecognitionRule(key[0], key[1], key[2], int(a["validFrom"]), until)

    def _on_RecognitionWithdrawn(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        key = (int(a["verifierRegion"]), type_code_from_bytes32(a["typeCode"]), int(a["issuerRegion"]))
        old = self.recognitions.get(key)
        if old is not None:
            self.recognitions[key] = replace(old, valid_until=int(a["at"]))

    def _on_ProposalCreated(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        pid = int(a["id"])
        self.proposals[pid] = ProposalState(
            pid, int(a["kind"]), int(a["region"]), _addr(a["target"]), bytes(a["data"]),
            _addr(a["proposer"]), int(a["expiresAt"]),
        )

    def _on_ProposalApproved(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        p = self.proposals[int(a["id"])]
        p.approvers.append(_addr(a["approver"]))
        p.required = int(a["required"])

    def _on_ProposalExecuted(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        self.proposals[int(a["id"])].executed = True

    def _on_NodeRegistered(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        region, at = int(a["region"]), int(a["at"])
        old = self.node_records.get(region)
        self.node_records[region] = NodeRecord(region, str(a["baseUrl"]), NodeStatus.ACTIVE, at, at,
                                               old.key_ids if old else ())

    def _on_NodeUrlChanged(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        region = int(a["region"])
        self.node_records[region] = replace(self.node_records[region], base_url=str(a["baseUrl"]),
                                            updated_at=int(a["at"]))

    def _on_NodeRemoved(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        region = int(a["region"])
        self.node_records[region] = replace(self.node_records[region], status=NodeStatus.REMOVED,
                                            updated_at=int(a["at"]))

    def _on_NodeKeyAdded(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        region = int(a["region"])
        public_key = bytes(a["publicKey"])
        kid = node_key_id(public_key)
        self.node_key_records[kid] = NodeKey(kid, region, int(a["suite"]), int(a["algorithm"]), int(a["purpose"]),
                                             public_key, int(a["validFrom"]), None)
        node = self.node_records[region]
        self.node_records[region] = replace(node, key_ids=(*node.key_ids, kid))

    def _on_NodeKeyRetired(self, ev: ChainEvent, a: dict[str, Any]) -> None:
        kid = "0x" + bytes(a["keyId"]).hex()
        self.node_key_records[kid] = replace(self.node_key_records[kid], valid_until=int(a["validUntil"]))

    # -- queries ---------------------------------------------------------------------------
    def node_of(self, region: int) -> NodeRecord | None:
        """The region's node as last registered (also when REMOVED), or None."""
        return self.node_records.get(region)

    def nodes(self) -> list[NodeRecord]:
        """Every node ever registered, by region code."""
        return [self.node_records[r] for r in sorted(self.node_records)]

    def node_keys(self, region: int) -> list[NodeKey]:
        """Every key the region's node ever had, oldest first (retired ones included)."""
        node = self.node_records.get(region)
        return [self.node_key_records[k] for k in node.key_ids] if node else []

    def node_key_info(self, key_id: str) -> NodeKey | None:
        """A node key by id ("0x" + 64 hex, any case), whatever its region, purpose or window."""
        return self.node_key_records.get(key_id.lower())

    def node_key(self, region: int, key_id: str, at_time: int,
                 purpose: NodeKeyPurpose = NodeKeyPurpose.REQUEST_SIGNING) -> NodeKey | None:
        """The key if `region`'s node may sign for `purpose` with it at `at_time`, else None.

        Trusted means: registered to `region` with that purpose, inside its window at `at_time`,
        the region a current member and its node ACTIVE now (a removed node or region is refused
        whatever the time a request claims).
        """
        key = self.node_key_records.get(key_id.lower())
        if key is None or key.region != region or key.purpose != int(purpose) or not key.valid_at(at_time):
            return None
        node = self.node_records.get(region)
        member = self.regions.get(region)
        if node is None or not node.active or member is None or not member.member:
            return None
        return key


    def anchor_facts(self, batch_root: bytes, head: int) -> AnchorFacts | None:
        r = self.anchors.get(batch_root)
        if r is None:
            return None
        return AnchorFacts(
            r.batch_root, r.issuer_id, r.key, r.type_code, r.cert_count, r.block_number,
            r.block_hash, r.tx_hash, r.timestamp, max(0, head - r.block_number + 1),
        )

    def batch_suite(self, batch_root: bytes) -> int:
        """The batch's crypto suite as AnchorLedger.batchSuite says it: 0 not anchored, 1, or 2 (国密)."""
        r = self.anchors.get(batch_root)
        return 0 if r is None else r.suite

    def certificate_status(self, cert_hash: bytes, issuer_id: bytes) -> CertStatusFacts:
        return self.cert_status.get((issuer_id, cert_hash)) or CertStatusFacts(cert_hash, CertStatus.NONE, 0, 0)

    def recognition(self, verifier_region: int, type_code: str, issuer_region: int, at: int) -> RecognitionRule | None:
        for region in (issuer_region, 0):
            rule = self.recognitions.get((verifier_region, type_code, region))
            if rule is not None and rule.in_force_at(at):
                return rule
        return None
