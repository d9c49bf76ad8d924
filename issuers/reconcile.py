"""Reconciliation: what the department sent must still be on the chain, or it is sent again.

A batch is `final` once it has the confirmations verifiers ask for, but finality on a
permissioned chain is a policy, not a law: a node restored from an older snapshot, or a
rollback deeper than the confirmations, drops anchors and status changes that the outbox
believes done — and verifiers would then tell a holder that a genuine certificate is not
genuine ("NOT_ANCHORED"), or that a revoked one is VALID. So the outbox keeps looking:

* **Batches.** Every `final` batch (on start-up: every `final` and `settled` one) is looked up
  with `AnchorLedger.anchorOf` at the current head. Missing: it goes back to `pending` and the
  worker anchors the same root again with the chain's next nonce (counted: `resent("anchor")`,
  logged as a warning). Present, and both deep (`settle_blocks`) and old (`settle_age_s`, by
  the chain's clock) enough: `settled`, no longer checked except at start-up.
* **Status changes.** Each certificate's last recorded change (`iss_status_sync`) is compared
  with `AnchorLedger.certificateStatus`. A status the chain no longer shows is sent again —
  only once the certificate's batch is back on chain (the contract needs the anchor) — so the
  chain converges to the department's last word (revoked, suspended, in force).
* **Dead is dead.** A batch or status the chain refused for good is never re-sent here.

Refusals are sorted into *permanent* (retrying cannot help: the type is not authorised, the
department or key is revoked, the type is withdrawn) and *transient* (the department is
suspended, the node is busy): `anchor_refusal` and `status_refusal` below.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from common.document import issuer_id as issuer_id_of
from issuers.catalogue import default_catalogue
from issuers.chain_link import ChainLink
from issuers.status_calls import status_call
from issuers.store import Batch, BatchState, CertificateStore, StatusSync, SyncState
from ledger.errors import ContractRefused, NodeUnavailable, TransactionFailed
from ledger.rpc import RpcError

__all__ = [
    "NO_OBSERVER",
    "OutboxObserver",
    "Reconciler",
    "SettlePolicy",
    "anchor_refusal",
    "status_refusal",
]

log = logging.getLogger("huren.issuers.reconcile")

_CALLS_PER_REQUEST: Final[int] = 100  # eth_calls per JSON-RPC batch request
_STATUS_TARGET: Final[dict[str, int]] = {"reinstate": 0, "suspend": 1, "revoke": 2}
_STATUS_WORDS: Final[dict[int, str]] = {0: "有效", 1: "暂扣", 2: "撤销"}
_ISSUER_SUSPENDED: Final[int] = 2  # IssuerRegistry.IssuerStatus.Suspended: may be lifted, so not permanent


class OutboxObserver(Protocol):
    """Told of every re-send and every dead item (the API counts them in Prometheus metrics)."""

    def resent(self, kind: str) -> None: ...

    def dead(self, kind: str) -> None: ...


class _NoObserver:
    def resent(self, kind: str) -> None:
        pass

    def dead(self, kind: str) -> None:
        pass


NO_OBSERVER: Final[OutboxObserver] = _NoObserver()


@dataclass(frozen=True)
class SettlePolicy:
    """When a re-checked anchor or status stops being checked, and how often checks run.

    Settled needs both: `settle_blocks` blocks deep (including its own) and `settle_age_s`
    seconds old by the chain's clock. Past that, only a start-up pass looks again. Set them
    beyond the deepest rollback you would restore a node from (a snapshot's age).
    """

    interval_s: float = 30.0
    settle_blocks: int = 1000
    settle_age_s: float = 86_400.0
    max_status_sends: int = 16  # per pass: a pass must not outlast the anchoring lease
    status_timeout_s: float = 30.0
    refused_backoff: float = 60.0

    def __post_init__(self) -> None:
        if self.interval_s <= 0 or self.settle_blocks < 1 or self.settle_age_s < 0:
            raise ValueError("interval_s > 0, settle_blocks >= 1 and settle_age_s >= 0 are required")


# ---------------------------------------------------------------------------- refusals


def _type_words(type_code: str) -> str:
    catalogue = default_catalogue()
    return f"{catalogue[type_code].name}（{type_code}）" if type_code in catalogue else type_code


def anchor_refusal(refusal: ContractRefused, type_code: str, *, key_not_yet_valid: bool = False) -> str | None:
    """The Chinese reason an anchor refusal is permanent (the batch is dead), or None if retrying may help.

    `key_not_yet_valid`: for KeyNotValid, the key's window starts in the future (it will become
    valid by itself), as opposed to a retired or expired key.
    """
    error, args = refusal.error, refusal.args_
    requeue = "排除原因后可由操作员重新排队（huren issuer requeue 批次号）"
    if error == "TypeNotAuthorised":
        return f"本部门未获链上授权签发{_type_words(type_code)}，该批次不会上链；请联系本地区管理员授权，{requeue}"
    if error in ("UnknownType", "TypeNotActive"):
        return f"联盟未定义或已停用证照类型{_type_words(type_code)}，该批次不会上链；{requeue}"
    if error == "IssuerNotActive" and int(str(args.get("status", -1))) != _ISSUER_SUSPENDED:
        return f"本部门在链上的登记已被吊销或不存在，该批次不会上链；{requeue}"
    if error == "UnknownKey":
        return f"本部门的签名密钥未在链上登记，该批次不会上链；请核对密钥配置，{requeue}"
    if error == "KeyNotValid" and not key_not_yet_valid:
        return f"本部门的签名密钥已停用或过期，该批次不会上链；请更换密钥，{requeue}"
    if error in ("EmptyRoot", "EmptyBatch"):
        return f"批次数据无效（{error}），该批次不会上链；请联系运维"
    return None


def status_refusal(refusal: ContractRefused, action: str) -> str | None:
    """The Chinese reason a status re-send is refused for good (dead), or None if it may succeed later.

    RootNotAnchored is transient here: the batch is being anchored again.
    """
    error = refusal.error
    if error == "IssuerRevoked":
        return "本部门在链上的登记已被吊销，无法再变更证照状态"
    if error == "NotCertificateIssuer":
        return "本部门当前的签名密钥无权变更该证照状态（密钥已停用或不属于签发部门）"
    if error == "NotInBatch":
        return "证照不在其批次中（默克尔证明不成立），请联系运维"
    if error == "CertificateRevoked" and action != "revoke":
        return "链上该证照已被撤销，无法恢复为其他状态"
    return None


# ---------------------------------------------------------------------------- the reconciler


class Reconciler:
    """Checks one department's sent anchors and status changes against the chain (see module doc)."""

    def __init__(self, store: CertificateStore, chain: ChainLink, issuer_code: str, policy: SettlePolicy,
                 observer: OutboxObserver = NO_OBSERVER) -> None:
        self.store = store
        self.chain = chain
        self.issuer_code = issuer_code
        self.issuer_id = issuer_id_of(issuer_code)
        self.policy = policy
        self.observer = observer
        self.last_pass_at = 0.0  # monotonic time of the last completed pass
        self.full_done = False  # a start-up pass (everything, settled included) has completed

    def due(self) -> bool:
        return not self.full_done or time.monotonic() - self.last_pass_at >= self.policy.interval_s

    def run_pass(self, *, full: bool = False) -> int:
        """Check batches, then statuses (they need their batch on chain). Returns items changed.

        `full`: also the settled ones (start-up). Raises NodeUnavailable (nothing is lost: the
        next pass starts over).
        """
        head = self.chain.rpc.get_block("latest")
        if head is None:
            raise NodeUnavailable("the node returned no latest block")
        number, now = int(str(head["number"]), 16), int(str(head["timestamp"]), 16)
        changed = self._batches(full, number, now) + self._statuses(full, number, now)
        self.last_pass_at = time.monotonic()
        if full:
            self.full_done = True
        return changed

    # -- batches ---------------------------------------------------------------------------

    def _batches(self, full: bool, head: int, now: int) -> int:
        states = [BatchState.FINAL, BatchState.SETTLED] if full else [BatchState.FINAL]
        todo = self.store.batches_in(self.issuer_code, states)
        records = self._calls("AnchorLedger", "anchorOf", [(b.root,) for b in todo], head)
        changed = 0
        for batch, record in zip(todo, records, strict=True):
            anchored, issuer, _key, _type, block, stamp = record
            if not anchored:
                changed += self._vanished(batch)
            elif issuer != self.issuer_id:
                log.error("batch %d: root 0x%s is anchored by another issuer on chain (0x%s)", batch.id,
                          batch.root.hex(), bytes(issuer).hex())
            else:
                changed += self._present(batch, int(block), int(stamp), head, now)
        return changed

    def _vanished(self, batch: Batch) -> int:
        reason = (f"链上已查不到该批次的锚定记录（原在区块{batch.block_number}；节点回滚或从旧状态恢复），"
                  "已以新的nonce重新上链（批次根不变）")
        if not self.store.mark_vanished(batch.id, reason):
            return 0
        self.observer.resent("anchor")
        log.warning("batch %d: anchor of root 0x%s (block %s) is no longer on the chain; anchoring it again",
                    batch.id, batch.root.hex(), batch.block_number)
        return 1

    def _present(self, batch: Batch, block: int, stamp: int, head: int, now: int) -> int:
        deep = head - block + 1 >= self.policy.settle_blocks and now - stamp >= self.policy.settle_age_s
        moved = block != batch.block_number
        if not (moved or (deep and batch.state is BatchState.FINAL)):
            return 0
        header = self.chain.rpc.get_block(block)
        if header is None:
            return 0  # the chain moved under us; the next pass looks again
        block_hash = bytes.fromhex(str(header["hash"])[2:])
        if deep and batch.state is BatchState.FINAL:
            return int(self.store.mark_settled(batch.id, block, block_hash))
        log.warning("batch %d: anchor now in block %d (was %s)", batch.id, block, batch.block_number)
        return int(self.store.mark_moved(batch.id, block, block_hash))

    # -- statuses --------------------------------------------------------------------------

    def _statuses(self, full: bool, head: int, now: int) -> int:
        if full:
            added = self.store.backfill_status_sync(self.issuer_code)
            if added:
                log.info("tracking %d status changes recorded before reconciliation existed", added)
        states = [SyncState.OPEN, SyncState.SETTLED] if full else [SyncState.OPEN]
        todo: list[tuple[StatusSync, Any]] = []
        for sync in self.store.status_syncs(self.issuer_code, states):
            stored = self.store.certificate(sync.cert_id, decrypt=False)
            if stored is not None and stored.batch is not None and stored.batch.state.on_chain:
                todo.append((sync, stored))  # else: wait until the batch is anchored (again)
        facts = self._calls("AnchorLedger", "certificateStatus",
                            [(stored.document_root, self.issuer_id) for _, stored in todo], head)
        changed = sends = 0
        for (sync, stored), (status, since, _reason) in zip(todo, facts, strict=True):
            target = _STATUS_TARGET[sync.action]
            if int(status) == target:
                deep = ((sync.block_number is None or head - sync.block_number + 1 >= self.policy.settle_blocks)
                        and now - int(since) >= self.policy.settle_age_s)
                if deep and sync.state is SyncState.OPEN:
                    changed += int(self.store.sync_seen(sync, settled=True))
                continue
            if sync.state is SyncState.SETTLED:  # settled, yet gone: track it again before anything else
                self.store.sync_seen(sync, settled=False)
            if sends >= self.policy.max_status_sends:
                continue  # the next pass sends it
            sends += 1
            changed += self._resend_status(sync, stored, int(status))
        return changed

    def _resend_status(self, sync: StatusSync, stored: Any, status: int) -> int:
        target = _STATUS_TARGET[sync.action]
        shown, wanted = _STATUS_WORDS.get(status, str(status)), _STATUS_WORDS[target]
        if (target == 1 and status != 0) or (target == 0 and status != 1):
            return self._status_dead(sync, f"链上状态为“{shown}”，无法变更为本部门最后记录的“{wanted}”")
        fn, args = status_call(self.store, stored, sync.action, sync.reason)
        data = self.chain.huren.encode("AnchorLedger", fn, *args)
        try:
            with self.chain.lock():
                sender = self.chain.sender()
                tx_hash = sender.send(self.chain.ledger_address, data, sync.action)
            receipt = sender.wait(tx_hash, sync.action, timeout=self.policy.status_timeout_s)
        except ContractRefused as refusal:
            reason = status_refusal(refusal, sync.action)
            if reason is not None:
                return self._status_dead(sync, reason)
            self._status_retry(sync, f"链上暂未接受重新发送的状态变更（{refusal.error}）：{refusal.explanation}")
            return 0
        except (TransactionFailed, RpcError) as exc:
            self._status_retry(sync, f"重新发送的状态变更未完成：{exc}")
            return 0
        self.store.sync_resent(sync, receipt.tx_hash, receipt.block_number,
                               f"链上状态“{shown}”与本部门最后记录的“{wanted}”不符（节点回滚或从旧状态恢复），已重新发送")
        self.observer.resent("status")
        log.warning("certificate %s: status %s was no longer on the chain (it showed %s); sent again in block %d",
                    sync.cert_id, sync.action, shown, receipt.block_number)
        return 1

    def _status_dead(self, sync: StatusSync, reason: str) -> int:
        if not self.store.sync_dead(sync, reason):
            return 0
        self.observer.dead("status")
        log.error("certificate %s: status %s cannot be restored on chain: %s", sync.cert_id, sync.action, reason)
        return 1

    def _status_retry(self, sync: StatusSync, reason: str) -> None:
        delay = min(self.policy.refused_backoff, 0.5 * 2 ** min(sync.attempts, 10))
        self.store.sync_failure(sync, reason, time.time() + delay)
        log.warning("certificate %s: %s; retry in %.1f s", sync.cert_id, reason, delay)

    # -- reading many facts at one block ---------------------------------------------------

    def _calls(self, contract: str, fn_name: str, arg_lists: Sequence[tuple[Any, ...]],
               block: int) -> list[tuple[Any, ...]]:
        """One view function over many argument lists, all at `block` (a consistent picture)."""
        fn = self.chain.abis[contract].fn(fn_name)
        to = self.chain.manifest.addresses[contract]
        out: list[tuple[Any, ...]] = []
        for i in range(0, len(arg_lists), _CALLS_PER_REQUEST):
            chunk = arg_lists[i : i + _CALLS_PER_REQUEST]
            results = self.chain.rpc.batch([
                ("eth_call", [{"to": to, "data": "0x" + fn.encode(*args).hex()}, hex(block)]) for args in chunk
            ])  # fmt: skip
            out.extend(fn.decode_output(bytes.fromhex(str(r)[2:])) for r in results)
        return out
