"""Typed clients for the Huren contracts: Python methods with domain types.

Writes go through a `TxSender` (the caller's key); refusals come back as `ContractRefused`
with the contract's custom error decoded and explained. Governance-controlled writes are not
called directly: an officer proposes them and other officers approve (双人双锁); see
`Governance.regional` and `Governance.consortium`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from common.document import type_code_bytes32, type_code_from_bytes32
from common.gm import sm2_normalize_public_key
from common.nodes import NodeKey, NodeRecord, NodeStatus, key_id_bytes
from ledger.abi import ContractABI
from ledger.errors import ContractRefused, LedgerError
from ledger.manifest import Manifest
from ledger.nodes import NodeChange
from ledger.officer_acts import OfficerAct, approve_act, propose_regional_act
from ledger.rpc import RpcClient
from ledger.sender import Receipt, TxSender


@dataclass(frozen=True)
class AnchorResult:
    batch_root: bytes
    tx_hash: bytes
    block_number: int
    already_anchored: bool  # True when an earlier attempt had already landed (idempotent retry)


#: AnchorLedger's status functions per crypto suite: suite 1 proves inclusion on chain with keccak,
#: suite 2 (国密, SM3 trees) carries the SM3 proof in calldata unchecked (sm3-status-on-chain.md).
_STATUS_FUNCTIONS: dict[int, dict[str, str]] = {
    1: {"revoke": "revokeCertificate", "suspend": "suspendCertificate", "reinstate": "reinstateCertificate"},
    2: {"revoke": "revokeGuomi", "suspend": "suspendGuomi", "reinstate": "reinstateGuomi"},
}
_ANCHOR_FUNCTIONS: dict[int, str] = {1: "anchor", 2: "anchorGuomi"}


def _suite_function(table: dict[int, Any], suite: int) -> Any:
    try:
        return table[suite]
    except (KeyError, TypeError):
        raise ValueError(f"unknown crypto suite {suite!r:.20} (1 = international, 2 = 国密)") from None


def anchor_function(suite: int) -> str:
    """The AnchorLedger function that anchors a batch of crypto `suite` (ValueError for another)."""
    return str(_suite_function(_ANCHOR_FUNCTIONS, suite))


def status_function(action: str, suite: int) -> str:
    """The AnchorLedger function for `action` ('revoke' | 'suspend' | 'reinstate') on a batch of `suite`."""
    return str(_suite_function(_STATUS_FUNCTIONS, suite)[action])


def sm2_registry_key(public_key: bytes) -> bytes:
    """The 64-byte x || y that IssuerRegistry.addSM2Key takes, from an SM2 public key given as
    04 || x || y or x || y; refuses (common.gm.SM2PublicKeyError) what is not a point on the curve,
    before an officer proposes it."""
    return sm2_normalize_public_key(public_key)[1:]


@dataclass(frozen=True)
class ProposalOutcome:
    proposal_id: int
    executed: bool
    receipts: list[Receipt]


class Huren:
    """All contract clients of one deployment."""

    def __init__(self, rpc: RpcClient, manifest: Manifest, abis: dict[str, ContractABI]) -> None:
        self.rpc = rpc
        self.manifest = manifest
        self.abis = abis
        self.all_abis = list(abis.values())

    def address(self, contract: str) -> str:
        return self.manifest.addresses[contract]

    def sender(self, key: Any) -> TxSender:
        return TxSender(self.rpc, key, self.all_abis, self.manifest.chain_id)

    def call(self, contract: str, fn: str, *args: Any) -> tuple[Any, ...]:
        f = self.abis[contract].fn(fn)
        return f.decode_output(self.rpc.eth_call(self.address(contract), f.encode(*args)))

    def encode(self, contract: str, fn: str, *args: Any) -> bytes:
        return self.abis[contract].fn(fn).encode(*args)

    def events(self, receipt: Receipt, contract: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Decoded events of our contracts in a receipt, in log order."""
        by_addr = {a.lower(): n for n, a in self.manifest.addresses.items()}
        out: list[tuple[str, dict[str, Any]]] = []
        for log in receipt.logs:
            name = by_addr.get(log.address.lower())
            if name is None or (contract and name != contract) or not log.topics:
                continue
            ev = self.abis[name].events_by_topic.get(log.topics[0])
            if ev is not None:
                out.append((ev.name, ev.decode(log.topics, log.data)))
        return out

    # -- governance --------------------------------------------------------------------------
    def propose_regional(self, officer: TxSender, region: int, target: str, fn: str, *args: Any) -> ProposalOutcome:
        data = self.encode(target, fn, *args)
        receipt = officer.transact(
            self.address("Consortium"),
            self.encode("Consortium", "proposeRegional", region, self.address(target), data),
            f"propose {fn}",
        )
        return self._outcome(receipt)

    def propose_consortium(self, officer: TxSender, target: str, fn: str, *args: Any) -> ProposalOutcome:
        data = self.encode(target, fn, *args)
        receipt = officer.transact(
            self.address("Consortium"),
            self.encode("Consortium", "proposeConsortium", self.address(target), data),
            f"propose {fn}",
        )
        return self._outcome(receipt)

    def approve(self, officer: TxSender, proposal_id: int) -> ProposalOutcome:
        receipt = officer.transact(
            self.address("Consortium"), self.encode("Consortium", "approve", proposal_id), f"approve #{proposal_id}"
        )
        out = self._outcome(receipt, proposal_id)
        return out

    # -- officers' signed acts, relayed by this node's own account ------------------------------
    def officer_nonce(self, officer: str) -> int:
        """The nonce the officer's next signed act must carry (Consortium.nonces)."""
        return int(self.call("Consortium", "nonces", to_checksum_address(officer))[0])

    def regional_call(self, target: str, fn: str, *args: Any) -> tuple[str, bytes]:
        """(target address, calldata) of a regional proposal, as an officer signs it."""
        return self.address(target), self.encode(target, fn, *args)

    def approve_act(self, proposal_id: int, officer: str, nonce: int, deadline: int) -> OfficerAct:
        return approve_act(self.manifest.chain_id, self.address("Consortium"), proposal_id, officer, nonce, deadline)

    def propose_regional_act(self, region: int, target: str, data: bytes, officer: str, nonce: int,
                             deadline: int) -> OfficerAct:
        return propose_regional_act(self.manifest.chain_id, self.address("Consortium"), region, target, data,
                                    officer, nonce, deadline)

    def approve_by_sig(self, relayer: TxSender, proposal_id: int, officer: str, nonce: int, deadline: int,
                       signature: bytes) -> ProposalOutcome:
        """Relay an officer's signed approval; the relayer's account pays and gains no power."""
        receipt = relayer.transact(
            self.address("Consortium"),
            self.encode("Consortium", "approveBySig", proposal_id, to_checksum_address(officer), nonce, deadline,
                        signature),
            f"relay approval #{proposal_id}",
        )
        return self._outcome(receipt, proposal_id)

    def propose_regional_by_sig(self, relayer: TxSender, region: int, target: str, data: bytes, officer: str,
                                nonce: int, deadline: int, signature: bytes) -> ProposalOutcome:
        """Relay an officer's signed regional proposal (`target` an address, `data` its calldata)."""
        receipt = relayer.transact(
            self.address("Consortium"),
            self.encode("Consortium", "proposeRegionalBySig", region, to_checksum_address(target), data,
                        to_checksum_address(officer), nonce, deadline, signature),
            "relay proposal",
        )
        return self._outcome(receipt)

    def _outcome(self, receipt: Receipt, proposal_id: int | None = None) -> ProposalOutcome:
        executed = False
        for name, args in self.events(receipt, "Consortium"):
            if name == "ProposalCreated":
                proposal_id = int(args["id"])
            elif name == "ProposalExecuted":
                executed = True
        if proposal_id is None:
            raise LedgerError("no ProposalCreated event in the receipt")
        return ProposalOutcome(proposal_id, executed, [receipt])

    def regional(self, officers: Sequence[TxSender], region: int, target: str, fn: str, *args: Any) -> ProposalOutcome:
        """Propose with the first officer, approve with the next ones until it executes (k of n)."""
        outcome = self.propose_regional(officers[0], region, target, fn, *args)
        receipts = list(outcome.receipts)
        for officer in officers[1:]:
            if outcome.executed:
                break
            outcome = self.approve(officer, outcome.proposal_id)
            receipts += outcome.receipts
        return ProposalOutcome(outcome.proposal_id, outcome.executed, receipts)

    def propose_node_change(self, officer: TxSender, region: int, change: NodeChange) -> ProposalOutcome:
        """Propose a change of `region`'s node registry entry; another officer of the region approves it."""
        fn, args = change.call(region)
        return self.propose_regional(officer, region, "NodeRegistry", fn, *args)

    def consortium(self, officers: Sequence[TxSender], target: str, fn: str, *args: Any) -> ProposalOutcome:
        """Propose with the first officer, approve with officers of other regions until quorum."""
        outcome = self.propose_consortium(officers[0], target, fn, *args)
        receipts = list(outcome.receipts)
        for officer in officers[1:]:
            if outcome.executed:
                break
            outcome = self.approve(officer, outcome.proposal_id)
            receipts += outcome.receipts
        return ProposalOutcome(outcome.proposal_id, outcome.executed, receipts)

    # -- anchor ledger -----------------------------------------------------------------------
    def anchor(self, key: TxSender, batch_root: bytes, type_code: str, cert_count: int,
               suite: int = 1) -> AnchorResult:
        """Anchor a batch root (suite 2, 国密: AnchorLedger.anchorGuomi, the batch then recorded as SM3);
        a root this key's issuer already anchored in the same suite counts as done."""
        fn = anchor_function(suite)
        data = self.encode("AnchorLedger", fn, batch_root, type_code_bytes32(type_code), cert_count)
        try:
            receipt = key.transact(self.address("AnchorLedger"), data, "anchor")
        except ContractRefused as refusal:
            if refusal.error != "RootAlreadyAnchored":
                raise
            existing = self.anchor_of(batch_root)
            mine = self.key_info(key.address)
            if existing is None or mine is None or existing["issuerId"] != mine[0]:
                raise
            if self.batch_suite(batch_root) != suite:
                raise  # the same root anchored in the other suite: not this batch's anchor
            return AnchorResult(batch_root, b"", int(existing["blockNumber"]), True)
        return AnchorResult(batch_root, receipt.tx_hash, receipt.block_number, False)

    def set_certificate_status(
        self, key: TxSender, action: str, cert_hash: bytes, batch_root: bytes, proof: Sequence[bytes], reason: int = 0,
        suite: int = 1,
    ) -> Receipt:
        """action: 'revoke' | 'suspend' | 'reinstate'. Suite 1 sends the keccak inclusion proof, checked on
        chain; suite 2 (国密) the SM3 proof, carried in calldata and not evaluated (the batch must have
        been anchored with suite 2, else the contract refuses with NotGuomiBatch)."""
        fn = status_function(action, suite)
        args: list[Any] = [cert_hash, batch_root, list(proof)]
        if action != "reinstate":
            args.append(reason)
        return key.transact(self.address("AnchorLedger"), self.encode("AnchorLedger", fn, *args), action)

    def anchor_of(self, batch_root: bytes) -> dict[str, Any] | None:
        anchored, issuer_id, key, type_code, block_number, timestamp = self.call("AnchorLedger", "anchorOf", batch_root)
        if not anchored:
            return None
        return {"issuerId": issuer_id, "key": to_checksum_address(key), "typeCode": type_code_from_bytes32(type_code),
                "blockNumber": block_number, "timestamp": timestamp}

    def batch_suite(self, batch_root: bytes) -> int:
        """AnchorLedger.batchSuite: 0 not anchored, 1 international (keccak trees), 2 国密 (SM3 trees)."""
        (suite,) = self.call("AnchorLedger", "batchSuite", batch_root)
        return int(suite)

    def certificate_status(self, cert_hash: bytes, issuer_id: bytes) -> tuple[int, int, int]:
        status, since, reason = self.call("AnchorLedger", "certificateStatus", cert_hash, issuer_id)
        return int(status), int(since), int(reason)

    def verify_inclusion(self, cert_hash: bytes, batch_root: bytes, proof: Sequence[bytes]) -> bool:
        (ok,) = self.call("AnchorLedger", "verifyInclusion", cert_hash, batch_root, list(proof))
        return bool(ok)

    # -- registry reads ----------------------------------------------------------------------
    def key_info(self, address: str) -> tuple[bytes, int, int] | None:
        issuer_id, valid_from, valid_until = self.call("IssuerRegistry", "keyInfo", address)
        return None if issuer_id == b"\x00" * 32 else (issuer_id, int(valid_from), int(valid_until))

    def sm2_public_key(self, address: str) -> bytes | None:
        """The SM2 public key (65 bytes 04 || x || y) of a suite-2 key id; None for a secp256k1 or unknown key."""
        (raw,) = self.call("IssuerRegistry", "sm2PublicKey", to_checksum_address(address))
        return sm2_normalize_public_key(bytes(raw)) if raw else None

    def issuer(self, issuer_id: bytes) -> dict[str, Any] | None:
        region, status, since, revoked_from, name = self.call("IssuerRegistry", "issuer", issuer_id)
        if int(status) == 0:
            return None
        return {"region": int(region), "status": int(status), "statusSince": int(since),
                "revokedFrom": int(revoked_from), "name": name}

    def is_authorised(self, issuer_id: bytes, type_code: str) -> bool:
        (ok,) = self.call("IssuerRegistry", "isAuthorised", issuer_id, type_code_bytes32(type_code))
        return bool(ok)

    def is_recognised(self, verifier_region: int, type_code: str, issuer_region: int, at: int) -> bool:
        (ok,) = self.call("RecognitionPolicy", "isRecognised", verifier_region, type_code_bytes32(type_code),
                          issuer_region, at)
        return bool(ok)

    def facts(self, batch_root: bytes, cert_hash: bytes, signer: str, verifier_region: int) -> dict[str, Any]:
        """The one-call status read (StatusReader.facts)."""
        f = self.abis["StatusReader"].fn("facts")
        out = self.rpc.eth_call(self.address("StatusReader"), f.encode(batch_root, cert_hash, signer, verifier_region))
        named = f.decode_named(out)
        return next(iter(named.values())) if len(named) == 1 else named

    # -- node registry reads (federation) ----------------------------------------------------
    def node(self, region: int) -> NodeRecord | None:
        """The region's node from the chain (two `eth_call`s); None if it never registered one."""
        status, base_url, registered_at, updated_at, _ = self.call("NodeRegistry", "nodeOf", region)
        if int(status) == 0:
            return None
        (ids,) = self.call("NodeRegistry", "keyIdsOf", region)
        return NodeRecord(region, str(base_url), NodeStatus(int(status)), int(registered_at), int(updated_at),
                          tuple("0x" + bytes(k).hex() for k in ids))

    def node_key(self, key_id: str) -> NodeKey | None:
        """A node key from the chain by id ("0x" + 64 hex); None if unknown."""
        raw = key_id_bytes(key_id)
        region, suite, algorithm, purpose, public_key, valid_from, valid_until = self.call(
            "NodeRegistry", "nodeKey", raw)
        if int(region) == 0:
            return None
        return NodeKey("0x" + raw.hex(), int(region), int(suite), int(algorithm), int(purpose), bytes(public_key),
                       int(valid_from), int(valid_until) or None)
