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
3. **Confirm** a submitted batch: a receipt moves it to `anchored`. No receipt and the node
   does not know the tx: re-broadcast the saved bytes; if the node refuses them (nonce taken
   by another transaction), ask the chain whether the root is anchored; if not, back to
   `pending` to be signed afresh. A reverted receipt is checked the same way.
4. **Finalise** an anchored batch after N confirmations, if its block is still canonical;
   a replaced block sends it back to `submitted` (re-broadcast of the same tx).

And the contract refuses a second anchor of the same root, so even a bug here could not make
a batch count twice on chain. A dead node is a `NodeUnavailable` from any step: the worker
backs off (up to `max_backoff`) and retries; issuance never waits for it.

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

`HUREN_FAULT_POINT` (crash tests only) names a point at which the process SIGKILLs itself:
`batch_closed`, `submit_saved` (signed tx saved, not broadcast), `broadcast` (sent, state not
yet read back), `receipt` (mined, state not yet saved).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass

from common.document import issuer_id as issuer_id_of
from common.document import type_code_bytes32
from issuers.chain_link import ChainLink
from issuers.store import Batch, BatchState, CertificateStore
from ledger.errors import ContractRefused, NodeUnavailable
from ledger.lease import LeaseTable, LeaseTerms, SendingLease
from ledger.rpc import RpcError

__all__ = ["AnchorPolicy", "AnchorWorker", "WorkerStatus"]

log = logging.getLogger("huren.issuers.anchoring")

FAULT_ENV = "HUREN_FAULT_POINT"


def _fault(point: str) -> None:
    """Crash-test hook: die here, like a power cut, if told to (never set in production)."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class AnchorPolicy:
    """How batches close and when an anchor counts as final."""

    batch_size: int = 1024
    batch_max_age: float = 2.0  # seconds an accepted certificate may wait for its batch to fill
    confirmations: int = 6  # blocks including the anchor's own; 1 = final once mined (QBFT)
    poll_interval: float = 0.1
    max_backoff: float = 10.0  # longest wait between attempts while the node is down
    refused_backoff: float = 60.0  # longest wait before retrying a batch the chain refused

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


class AnchorWorker:
    """Closes batches and moves them through pending -> submitted -> anchored -> final."""

    def __init__(self, store: CertificateStore, chain: ChainLink, issuer_code: str,
                 policy: AnchorPolicy | None = None, leases: LeaseTable | None = None,
                 lease_terms: LeaseTerms | None = None) -> None:
        """`leases`: run only while this process holds `anchor:<issuer_code>` (API processes);
        None (CLI, runner, tests of one worker) runs unconditionally, as the only worker."""
        self.store = store
        self.chain = chain
        self.issuer_code = issuer_code
        self.issuer_id = issuer_id_of(issuer_code)
        self.policy = policy or AnchorPolicy()
        self.status = WorkerStatus()
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
            _fault("batch_closed")
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
        if self._adopt_existing(batch):
            return 1
        data = self.chain.huren.encode("AnchorLedger", "anchor", batch.root, type_code_bytes32(batch.type_code),
                                       batch.cert_count)
        to = self.chain.ledger_address
        with self.chain.lock():
            try:
                gas = self._sender.estimate_gas(to, data, "anchor")
            except ContractRefused as refusal:
                if refusal.error == "RootAlreadyAnchored":
                    return 0  # landed meanwhile; the next step adopts it
                self._refused(batch, f"链上拒绝锚定（{refusal.error}）：{refusal.explanation}")
                return 0
            nonce = self.chain.pending_nonce()
            raw, tx_hash = self._sender.sign(to, data, gas, nonce)
            if not self.store.mark_submitted(batch.id, tx_hash, raw, nonce):
                return 0  # another worker moved it; nothing was broadcast by us
            _fault("submit_saved")
            self._broadcast(raw)
        log.info("batch %d submitted: tx 0x%s nonce %d", batch.id, tx_hash.hex(), nonce)
        _fault("broadcast")
        return 1

    def _confirm(self, batch: Batch) -> int:
        """submitted -> anchored, or re-broadcast, or back to pending if the tx was dropped."""
        assert batch.tx_hash is not None and batch.raw_tx is not None
        tx = "0x" + batch.tx_hash.hex()
        receipt = self.chain.rpc.call("eth_getTransactionReceipt", [tx])
        if isinstance(receipt, dict) and receipt.get("blockNumber"):
            _fault("receipt")
            if int(str(receipt["status"]), 16) == 1:
                block = int(str(receipt["blockNumber"]), 16)
                self.store.mark_anchored(batch.id, batch.tx_hash, block, bytes.fromhex(str(receipt["blockHash"])[2:]))
                log.info("batch %d anchored in block %d", batch.id, block)
                return 1
            if self._adopt_existing(batch):
                return 1
            self.store.back_to_pending(batch.id, "锚定交易执行失败（已回滚），将重新提交")
            return 1
        if self.chain.rpc.call("eth_getTransactionByHash", [tx]) is not None:
            return 0  # waiting to be mined
        try:
            with self.chain.lock():
                self.chain.rpc.call("eth_sendRawTransaction", ["0x" + batch.raw_tx.hex()])
            log.info("batch %d: re-broadcast tx %s", batch.id, tx)
            return 0
        except RpcError as err:
            if "already known" in err.message.lower():
                return 0
            if self._adopt_existing(batch):
                return 1
            self.store.back_to_pending(batch.id, f"已保存的锚定交易未被节点接受（{err.message}），将重新签名提交")
            log.warning("batch %d: saved tx %s dropped (%s); back to pending", batch.id, tx, err.message)
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

    def _adopt_existing(self, batch: Batch) -> bool:
        """If the chain already holds this root, record that anchor (it is ours or a loud error)."""
        record = self.chain.huren.anchor_of(batch.root)
        if record is None:
            return False
        if record["issuerId"] != self.issuer_id:
            self._refused(batch, "该批次根哈希已由其他发证部门锚定（不应发生，请联系运维）")
            return False
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

    def _refused(self, batch: Batch, message: str) -> None:
        delay = min(self.policy.refused_backoff, 0.5 * 2 ** min(batch.attempts, 10))
        self.store.note_failure(batch.id, message, time.time() + delay)
        self.status.last_error = message
        log.error("batch %d (%s): %s; retry in %.1f s", batch.id, batch.type_code, message, delay)
