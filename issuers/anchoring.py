"""The anchoring worker: drives the outbox (`issuers.store`) until every batch is final.

Exactly once, and why. Each step below is safe to repeat after a crash at any instruction:

1. **Close** (one DB transaction): pick unbatched certificates, compute the batch root,
   insert the batch as `pending`, assign the members. Before the commit nothing happened;
   after it, the root is fixed for good.
2. **Submit** a pending batch: first ask the chain whether this root is already anchored by
   us (a crash after a broadcast whose state was lost) and adopt that anchor if so. Else
   sign the anchor transaction, save the signed bytes and hash (`submitted`), THEN
   broadcast. A crash before the save leaves `pending` with nothing sent (or, at worst, a
   sent tx that step 2 finds anchored on retry); a crash after it leaves the exact bytes to
   re-broadcast: the same transaction, not a second one.
3. **Confirm** a submitted batch: a receipt moves it to `anchored`. No receipt: the saved
   transaction is judged against the chain (`ledger.sender.check_saved_tx`): still pending,
   or lost by the node and re-broadcast (same bytes): wait; its nonce taken by another
   transaction, or ahead of the chain's next nonce (a rollback: the node would queue it for
   ever), or refused when re-sent: ask the chain whether the root is anchored; if not, back
   to `pending` to be signed afresh with the chain's nonce. A reverted receipt likewise.
4. **Finalise** an anchored batch after N confirmations, if its block is still canonical;
   a replaced block sends it back to `submitted` (re-broadcast of the same tx).

And the contract refuses a second anchor of the same root, so even a bug here could not make
a batch count twice on chain. A dead node is a `NodeUnavailable` from any step: the worker
backs off (up to `max_backoff`) and retries; issuance never waits for it.

5. **Refused for good**: when the chain refuses an anchor for a reason retrying cannot cure
   (`issuers.reconcile.anchor_refusal`: type not authorised, department revoked ...) the batch
   goes to `dead` with the reason, counted (`observer.dead`) and shown to the department; it
   is never retried, until an operator re-queues it. Other refusals retry with backoff.
6. **Reconcile** (`issuers.reconcile`): when the worker starts (and when it takes over the
   lease) every final and settled batch, and every recorded status change, is checked
   against the chain; then, every `reconcile.interval_s`, those not settled yet. An anchor or
   status the chain lost is sent again.

One process at a time. Every API worker process serves every department, so each has an
AnchorWorker with the department's key. Given a `LeaseTable`, a worker anchors only while its
process holds the lease `anchor:<credit code>` (ledger/lease.py) and stands by otherwise:
one sender per key means no nonce contention and one poller per outbox. The lease is per
department, not per host, because the outbox and the key are per department: a department
served by only some hosts is still anchored, and departments spread over the processes.
Certificates accepted by any process land in the shared outbox and are anchored by the holder.
The standby takes over when the holder stops (it releases) or dies (its lease runs out after
`LeaseTerms.ttl_s`). The outbox's compare-and-set stays the guarantee; the lease only decides
who works.

`HUREN_FAULT_POINT` (crash tests only, common.faults) names a point at which the process SIGKILLs itself:
`batch_closed`, `submit_saved` (signed tx saved, not broadcast), `broadcast` (sent, state not
yet read back), `receipt` (mined, state not yet saved).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from common.document import issuer_id as issuer_id_of
from common.document import type_code_bytes32
from common.faults import fault_point
from issuers.chain_link import ChainLink
from issuers.reconcile import NO_OBSERVER, OutboxObserver, Reconciler, SettlePolicy, anchor_refusal
from issuers.store import Batch, BatchState, CertificateStore
from ledger.clients import anchor_function
from ledger.errors import ContractRefused, NodeUnavailable
from ledger.lease import LeaseTable, LeaseTerms, SendingLease
from ledger.rpc import RpcError
from ledger.sender import SavedTx, TxFate

__all__ = ["AnchorPolicy", "AnchorWorker", "WorkerStatus"]

log = logging.getLogger("huren.issuers.anchoring")

_NOT_MINED: dict[TxFate, str] = {
    TxFate.STRANDED: "已保存的锚定交易的nonce超出链上可达范围（链回滚或节点从旧状态恢复），节点将永远不会打包它",
    TxFate.REPLACED: "已保存的锚定交易的nonce已被其他交易占用",
}


@dataclass(frozen=True)
class AnchorPolicy:
    """How batches close and when an anchor counts as final."""

    batch_size: int = 1024
    batch_max_age: float = 2.0  # seconds an accepted certificate may wait for its batch to fill
    confirmations: int = 6  # blocks including the anchor's own; 1 = final once mined (QBFT)
    poll_interval: float = 0.1
    max_backoff: float = 10.0  # longest wait between attempts while the node is down
    refused_backoff: float = 60.0  # longest wait before retrying a batch the chain refused (not for good)
    reconcile: SettlePolicy = field(default_factory=SettlePolicy)  # re-checking what was sent (issuers.reconcile)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.batch_max_age < 0 or self.confirmations < 1:
            raise ValueError("batch_size >= 1, batch_max_age >= 0 and confirmations >= 1 are required")
        if self.batch_size > 2**32 - 1:
            raise ValueError("batch_size must fit the contract's uint32 certificate count")


@dataclass
class WorkerStatus:
    """What the worker last saw, for the CLI and health checks."""

    node_available: bool = True
    last_error: str | None = None
    last_progress_at: float = 0.0
    transitions: int = 0
    standby: bool = False  # another process holds this department's anchoring lease
    last_reconcile_at: float = 0.0  # wall time of the last completed reconciliation pass


class AnchorWorker:
    """Closes batches and moves them through pending -> submitted -> anchored -> final."""

    def __init__(self, store: CertificateStore, chain: ChainLink, issuer_code: str,
                 policy: AnchorPolicy | None = None, leases: LeaseTable | None = None,
                 lease_terms: LeaseTerms | None = None, observer: OutboxObserver = NO_OBSERVER) -> None:
        """`leases`: run only while this process holds `anchor:<issuer_code>` (API processes);
        None (CLI, runner, tests of one worker) runs unconditionally, as the only worker.
        `observer` is told of re-sent and dead items (the API counts them in metrics)."""
        self.store = store
        self.chain = chain
        self.issuer_code = issuer_code
        self.issuer_id = issuer_id_of(issuer_code)
        self.policy = policy or AnchorPolicy()
        self.status = WorkerStatus()
        self.observer = observer
        self.reconciler = Reconciler(store, chain, issuer_code, self.policy.reconcile, observer)
        self._acquisitions_seen = 0
        self._anchored_topic = chain.abis["AnchorLedger"].events["Anchored"].topic
        self._sender = chain.sender()
        # Submits read the node's pending nonce each time (status changes send from this key too),
        # so the lease's forget_nonce() on acquisition only keeps the sender's count honest.
        self.lease = (SendingLease(leases, f"anchor:{issuer_code}", self._sender, lease_terms)
                      if leases is not None else None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ running

    def step(self, *, force_close: bool = False) -> int:
        """One pass: close due batches, then advance every open batch. Returns transitions made.

        Raises NodeUnavailable when no node answers (batches are still closed first: that
        needs only the database).
        """
        closed = self.store.close_batches(self.issuer_code, size=self.policy.batch_size,
                                          max_age=self.policy.batch_max_age, force=force_close)
        for batch in closed:
            log.info("batch %d closed: %d certificates of %s, root 0x%s", batch.id, batch.cert_count,
                     batch.type_code, batch.root.hex())
            fault_point("batch_closed")
        done = len(closed)
        open_batches = self.store.open_batches(self.issuer_code)
        head: int | None = None
        for batch in open_batches:
            if batch.state is BatchState.PENDING:
                done += self._submit(batch)
            elif batch.state is BatchState.SUBMITTED:
                done += self._confirm(batch)
            elif batch.state is BatchState.ANCHORED:
                if head is None:
                    head = self.chain.rpc.block_number()
                done += self._finalise(batch, head)
        self.status.node_available = True
        if done:
            self.status.transitions += done
            self.status.last_progress_at = time.time()
        return done

    def run(self, stop: threading.Event | None = None) -> None:
        """Loop until `stop` is set; never raises (errors are logged and retried with backoff)."""
        stop = stop or self._stop
        backoff = self.policy.poll_interval
        while not stop.is_set():
            if not self._holds_lease():
                assert self.lease is not None
                stop.wait(self.lease.terms.renew_s)  # stand by; retry when a renewal would be due
                continue
            try:
                self._reconcile_if_due()
                if self.step():
                    backoff = self.policy.poll_interval
                    continue
                backoff = self.policy.poll_interval
                stop.wait(self.policy.poll_interval)
            except NodeUnavailable as exc:
                self._unavailable(exc, backoff)
                stop.wait(backoff)
                backoff = min(max(backoff, 0.2) * 2, self.policy.max_backoff)
            except Exception as exc:  # a database hiccup, an unexpected node answer: log, wait, retry
                log.exception("anchoring step failed; retrying in %.1f s", backoff)
                self.status.last_error = f"{type(exc).__name__}: {exc}"[:500]
                stop.wait(backoff)
                backoff = min(max(backoff, 0.2) * 2, self.policy.max_backoff)

    def reconcile(self, *, full: bool = False) -> int:
        """One reconciliation pass now (see issuers.reconcile); returns items changed."""
        changed = self.reconciler.run_pass(full=full)
        self.status.last_reconcile_at = time.time()
        return changed

    def _reconcile_if_due(self) -> None:
        """A full pass first (start-up, or this process just took the lease over), then periodic ones."""
        if self.lease is not None and self.lease.acquisitions != self._acquisitions_seen:
            self._acquisitions_seen = self.lease.acquisitions
            self.reconciler.full_done = False  # another process anchored meanwhile: look at everything
        if self.reconciler.due():
            self.reconcile(full=not self.reconciler.full_done)

    def _holds_lease(self) -> bool:
        """True if this process may anchor now: no lease configured, or it holds (or renewed) it."""
        if self.lease is None:
            return True
        try:
            held = self.lease.hold()
        except Exception as exc:  # the database is unreachable: no lease, and no outbox either
            log.warning("anchoring lease %s not renewed (%s); standing by", self.lease.name, exc)
            self.status.last_error = f"{type(exc).__name__}: {exc}"[:500]
            held = False
        self.status.standby = not held
        return held

    def start(self) -> None:
        """Run in a daemon thread (inside the API process)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="huren-anchoring", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread, then hand the lease back so a standby process takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.lease is not None and self.lease.held:
            try:
                self.lease.release()
            except Exception as exc:  # it runs out after its ttl anyway
                log.warning("anchoring lease %s not released (%s); it expires by itself", self.lease.name, exc)

    def drain(self, timeout: float = 120.0) -> bool:
        """Close every batch now and work until all are final; False if `timeout` passed first.

        Ignores the lease: an explicit drain (CLI, a stopping runner) is the one worker at work.
        """
        deadline = time.monotonic() + timeout
        backoff = self.policy.poll_interval
        while True:
            try:
                if not self.reconciler.full_done:  # a drain is a start-up too: what was sent is still there?
                    self.reconcile(full=True)
                progressed = self.step(force_close=True)
                backoff = self.policy.poll_interval
            except NodeUnavailable as exc:
                self._unavailable(exc, backoff)
                progressed = 0
                backoff = min(max(backoff, 0.2) * 2, self.policy.max_backoff)
            if not self.store.has_unfinished(self.issuer_code):
                return True
            if time.monotonic() > deadline:
                return False
            if not progressed:
                time.sleep(min(backoff, max(0.0, deadline - time.monotonic())))

    def _unavailable(self, exc: NodeUnavailable, backoff: float) -> None:
        if self.status.node_available:
            log.warning("链节点不可用，已受理的证照在本地排队，节点恢复后自动上链 (%s)", exc)
        self.status.node_available = False
        self.status.last_error = str(exc)[:500]

    # ------------------------------------------------------------------ outbox steps

    def _submit(self, batch: Batch) -> int:
        """pending -> submitted (or straight to anchored if the chain already has the root)."""
        adopted = self._adopt_existing(batch)
        if adopted is None:
            return 0
        if adopted:
            return 1
        # A 国密 batch is anchored as one (AnchorLedger.anchorGuomi): its statuses then change without
        # an on-chain keccak proof, which an SM3 tree could not give (issuers/status_calls.py).
        data = self.chain.huren.encode("AnchorLedger", anchor_function(batch.suite), batch.root,
                                       type_code_bytes32(batch.type_code), batch.cert_count)
        to = self.chain.ledger_address
        with self.chain.lock():
            try:
                gas = self._sender.estimate_gas(to, data, "anchor")
            except ContractRefused as refusal:
                if refusal.error == "RootAlreadyAnchored":
                    return 0  # landed meanwhile; the next step adopts it
                return self._refused(batch, refusal)
            saved = self._sender.sign_next(to, data, gas)  # the chain's pending nonce, read now
            assert saved.raw is not None
            if not self.store.mark_submitted(batch.id, saved.tx_hash, saved.raw, saved.nonce):
                return 0  # another worker moved it; nothing was broadcast by us
            fault_point("submit_saved")
            self._broadcast(saved.raw)
        log.info("batch %d submitted: tx 0x%s nonce %d", batch.id, saved.tx_hash.hex(), saved.nonce)
        fault_point("broadcast")
        return 1

    def _confirm(self, batch: Batch) -> int:
        """submitted -> anchored, or wait, or back to pending when the saved tx can never be mined.

        The saved transaction is judged from the chain as it is now (`ledger.sender.check_saved_tx`,
        the one mechanism every sender uses): mined; pending (or lost and re-sent, same bytes);
        or never to be mined as saved — its nonce taken by another transaction, or ahead of the
        chain's next nonce after a rollback (a node would queue it for ever), or refused when
        re-sent. Those are signed afresh with the chain's nonce, never waited on.
        """
        assert batch.tx_hash is not None and batch.raw_tx is not None and batch.nonce is not None
        with self.chain.lock():
            check = self._sender.check(SavedTx(batch.tx_hash, int(batch.nonce), batch.raw_tx))
        if check.fate is TxFate.MINED:
            assert check.receipt is not None
            fault_point("receipt")
            if check.receipt.status == 1:
                receipt = check.receipt
                self.store.mark_anchored(batch.id, batch.tx_hash, receipt.block_number, receipt.block_hash)
                log.info("batch %d anchored in block %d", batch.id, receipt.block_number)
                return 1
            adopted = self._adopt_existing(batch)
            if adopted is None:
                return 0
            if adopted:
                return 1
            self.store.back_to_pending(batch.id, "锚定交易执行失败（已回滚），将重新提交")
            return 1
        if check.waiting:
            if check.fate is TxFate.REBROADCAST:
                log.info("batch %d: re-broadcast tx 0x%s", batch.id, batch.tx_hash.hex())
            return 0
        adopted = self._adopt_existing(batch)
        if adopted is None:
            return 0
        if adopted:
            return 1
        why = _NOT_MINED.get(check.fate, "已保存的锚定交易未被节点接受")
        self.store.back_to_pending(batch.id, f"{why}，将以新的nonce重新签名提交")
        log.warning("batch %d: saved tx 0x%s %s; back to pending, to be signed again", batch.id,
                    batch.tx_hash.hex(), check.detail)
        return 1

    def _finalise(self, batch: Batch, head: int) -> int:
        """anchored -> final after N confirmations on a block that is still canonical."""
        assert batch.block_number is not None
        block = self.chain.rpc.get_block(batch.block_number)
        if block is None or bytes.fromhex(str(block["hash"])[2:]) != batch.block_hash:
            log.warning("batch %d: block %d was replaced (reorg); re-sending its transaction", batch.id,
                        batch.block_number)
            self.store.mark_reorged(batch.id)
            return 1
        if head - batch.block_number + 1 >= self.policy.confirmations:
            self.store.mark_final(batch.id)
            return 1
        return 0

    # ------------------------------------------------------------------ helpers

    def _adopt_existing(self, batch: Batch) -> bool | None:
        """If the chain already holds this root, record that anchor (it is ours or a loud error).

        None: the chain's state holds the anchor but the node does not serve its block yet (a
        node answers calls from the block it is mining before it serves that block's logs) —
        neither adopted nor absent; the caller looks again at its next step.
        """
        record = self.chain.huren.anchor_of(batch.root)
        if record is None:
            return False
        if record["issuerId"] != self.issuer_id:
            self._dead(batch, "该批次根哈希已由其他发证部门锚定，本部门无法再锚定（不应发生，请联系运维）")
            return False
        if int(record["blockNumber"]) > self.chain.rpc.block_number():
            log.info("batch %d: anchor seen in block %d, which the node does not serve yet", batch.id,
                     int(record["blockNumber"]))
            return None
        tx_hash, block_number, block_hash = self._find_anchor_log(batch.root, int(record["blockNumber"]))
        self.store.mark_anchored(batch.id, tx_hash, block_number, block_hash)
        log.info("batch %d: root already on chain (block %d); recorded, not re-sent", batch.id, block_number)
        return True

    def _find_anchor_log(self, root: bytes, block_number: int) -> tuple[bytes | None, int, bytes]:
        logs = self.chain.rpc.call("eth_getLogs", [{
            "address": self.chain.ledger_address, "fromBlock": hex(block_number), "toBlock": hex(block_number),
            "topics": ["0x" + self._anchored_topic.hex(), "0x" + root.hex()],
        }])  # fmt: skip
        if isinstance(logs, list) and logs:
            first = logs[0]
            return (bytes.fromhex(str(first["transactionHash"])[2:]), int(str(first["blockNumber"]), 16),
                    bytes.fromhex(str(first["blockHash"])[2:]))
        block = self.chain.rpc.get_block(block_number)
        assert block is not None
        return None, block_number, bytes.fromhex(str(block["hash"])[2:])

    def _broadcast(self, raw: bytes) -> None:
        """Send saved bytes; failures are left to `_confirm`, which re-checks from the chain."""
        try:
            self.chain.rpc.call("eth_sendRawTransaction", ["0x" + raw.hex()])
        except RpcError as err:
            log.warning("broadcast refused (%s); will re-check", err.message)
        except NodeUnavailable:
            log.warning("node unavailable while broadcasting; the saved tx will be re-sent")

    def _refused(self, batch: Batch, refusal: ContractRefused) -> int:
        """The chain refused the anchor: dead if retrying cannot help, else retry with backoff."""
        reason = anchor_refusal(refusal, batch.type_code, key_not_yet_valid=self._key_not_yet_valid(refusal))
        if reason is not None:
            return self._dead(batch, f"{reason}（{refusal.error}）")
        message = f"链上拒绝锚定（{refusal.error}）：{refusal.explanation}"
        delay = min(self.policy.refused_backoff, 0.5 * 2 ** min(batch.attempts, 10))
        self.store.note_failure(batch.id, message, time.time() + delay)
        self.status.last_error = message
        log.error("batch %d (%s): %s; retry in %.1f s", batch.id, batch.type_code, message, delay)
        return 0

    def _dead(self, batch: Batch, reason: str) -> int:
        if not self.store.mark_dead(batch.id, reason):
            return 0
        self.observer.dead("anchor")
        self.status.last_error = reason
        log.error("batch %d (%d certificates of %s) is dead, never retried: %s", batch.id, batch.cert_count,
                  batch.type_code, reason)
        return 1

    def _key_not_yet_valid(self, refusal: ContractRefused) -> bool:
        """For KeyNotValid: True if the key's window starts later (it becomes valid by itself)."""
        if refusal.error != "KeyNotValid":
            return False
        info = self.chain.huren.key_info(self.chain.address)
        return info is not None and info[1] > int(str(refusal.args_.get("at", 0)))
