"""Sending transactions reliably: local signing, nonces that follow the chain, retries, receipts.

Keys never leave this process: transactions are signed locally with eth-account (from an
encrypted keystore, see ledger/keystore.py) and sent raw, so the node never holds a key.

Why each piece is here:
- **Nonces follow the chain.** Every send reads the key's pending nonce from the node (one
  call, under a process-wide lock per key) instead of counting locally: a count kept in
  memory goes wrong whenever the chain changes under it (a node restored from an older
  state, a rollback deeper than the confirmations, another process sending from the key),
  and a nonce ahead of the chain is not refused, it is *queued* by the node for ever. A
  refusal about the nonce ('nonce too low/high', 'replacement transaction underpriced')
  makes the sender re-read it and sign again, a few times, before `NonceRefused`.
- **A sent transaction is judged from the chain, not waited on blindly** (`check_saved_tx`):
  mined; pending in the pool; not in the pool (sent again, same bytes); its nonce used by
  another transaction (`TransactionReplaced`); or its nonce ahead of the chain's
  (`TransactionStranded`): the last two are re-signed by the caller, never waited on.
  `TxSender.wait` runs that check while it waits, so a rollback under a waiting sender ends
  its wait at once instead of at the timeout. The department outbox (issuers/anchoring.py),
  which saves signed bytes before broadcasting them, calls the same function on what it saved.
- gas is estimated first, which also turns a refusal into a typed `ContractRefused` *before*
  anything is signed or a nonce is spent;
- a transient node failure is retried with the *same* signed bytes (same hash), so a retry can
  never become a second transaction.

One known leftover: a transaction queued ahead of a rolled-back chain stays in that node's
pool; once the re-signed transactions fill the gap it is mined after them. Anchors and log
heads are refused by the contracts the second time (`RootAlreadyAnchored`, `LogDidNotGrow`),
so it costs gas, never a duplicate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.abi import ContractABI, decode_revert
from ledger.errors import (
    ContractRefused,
    NodeUnavailable,
    NonceRefused,
    ReceiptTimeout,
    TransactionDropped,
    TransactionFailed,
    TransactionNotMined,
    TransactionReplaced,
    TransactionStranded,
)
from ledger.explain import explain
from ledger.rpc import RpcClient, RpcError

__all__ = [
    "Log", "NonceTrouble", "Receipt", "SavedTx", "SavedTxCheck", "TxFate", "TxSender", "check_saved_tx",
    "key_lock", "nonce_trouble", "pending_nonce", "revert_data",
]

log = logging.getLogger("huren.ledger.sender")


@dataclass(frozen=True)
class Log:
    address: str
    topics: list[bytes]
    data: bytes
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int

    @classmethod
    def from_rpc(cls, raw: dict[str, Any]) -> Log:
        return cls(
            address=raw["address"],
            topics=[bytes.fromhex(t[2:]) for t in raw["topics"]],
            data=bytes.fromhex(raw["data"][2:]),
            block_number=int(raw["blockNumber"], 16),
            block_hash=bytes.fromhex(raw["blockHash"][2:]),
            tx_hash=bytes.fromhex(raw["transactionHash"][2:]),
            log_index=int(raw["logIndex"], 16),
        )


@dataclass(frozen=True)
class Receipt:
    tx_hash: bytes
    block_number: int
    block_hash: bytes
    status: int
    gas_used: int
    logs: list[Log]
    contract_address: str | None = None

    @classmethod
    def from_rpc(cls, raw: dict[str, Any]) -> Receipt:
        return cls(
            tx_hash=bytes.fromhex(raw["transactionHash"][2:]),
            block_number=int(raw["blockNumber"], 16),
            block_hash=bytes.fromhex(raw["blockHash"][2:]),
            status=int(raw["status"], 16),
            gas_used=int(raw["gasUsed"], 16),
            logs=[Log.from_rpc(x) for x in raw["logs"]],
            contract_address=raw.get("contractAddress"),
        )


def revert_data(err: RpcError) -> bytes | None:
    """Nodes put revert data in `error.data` as hex (anvil, geth) or inside a dict (some Besu)."""
    data = err.data
    if isinstance(data, dict):
        data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


class NonceTrouble(Enum):
    """What a node's refusal of a raw transaction says about its nonce (see `nonce_trouble`)."""

    KNOWN = "known"  # these very bytes are in the pool already: they were sent before
    TOO_LOW = "too low"  # the nonce is used on chain: by another transaction, or by this one mined
    TOO_HIGH = "too high"  # further ahead of the chain than the node queues (Besu: "too far in future")
    UNDERPRICED = "underpriced"  # another transaction with this nonce waits in the pool


# Lower-case fragments of the refusals of anvil, geth, Besu and Nethermind.
_TROUBLES: tuple[tuple[NonceTrouble, tuple[str, ...]], ...] = (
    (NonceTrouble.KNOWN, ("already known", "already imported", "known transaction", "alreadyknown")),
    (NonceTrouble.UNDERPRICED, ("replacement transaction underpriced", "replacement underpriced",
                                "replacement_underpriced", "replacementnotallowed")),
    (NonceTrouble.TOO_LOW, ("nonce too low", "nonce_too_low", "oldnonce", "nonce is too low")),
    (NonceTrouble.TOO_HIGH, ("nonce too high", "nonce_too_high", "too far in future", "too_far_in_future",
                             "noncegap", "nonce too far")),
)


def nonce_trouble(message: str) -> NonceTrouble | None:
    """Classify a node's refusal of a raw transaction; None if it is not about the nonce."""
    msg = message.lower()
    for trouble, fragments in _TROUBLES:
        if any(f in msg for f in fragments):
            return trouble
    return None


_KEY_LOCKS: dict[str, threading.RLock] = {}
_KEY_LOCKS_GUARD = threading.Lock()


def key_lock(address: str) -> threading.RLock:
    """The process-wide lock for sending from `address`: read nonce, sign, broadcast under it.

    Shared by every `TxSender` of the address in this process (a department's anchoring worker
    and its status changes each make their own), so two threads never sign one nonce twice.
    Re-entrant: a caller may hold it around several sender calls (sign, save, broadcast).
    """
    with _KEY_LOCKS_GUARD:
        return _KEY_LOCKS.setdefault(address.lower(), threading.RLock())


def pending_nonce(rpc: RpcClient, address: str) -> int:
    """The chain's next nonce for `address`, counting the node's pool (what the next send must use)."""
    return int(str(rpc.call("eth_getTransactionCount", [address, "pending"])), 16)


def _mined_nonce(rpc: RpcClient, address: str) -> int:
    """The nonce count as of the newest block the node *serves* (number read first, then pinned).

    Why pinned: anvil answers "latest" state queries from the block it is mining before that
    block's receipts are served, so an unpinned count can include our own transaction while its
    receipt is still missing — which would look like another transaction took the nonce.
    """
    head = str(rpc.call("eth_blockNumber", []))
    return int(str(rpc.call("eth_getTransactionCount", [address, head])), 16)


def _receipt(rpc: RpcClient, tx_hash: bytes) -> Receipt | None:
    raw = rpc.call("eth_getTransactionReceipt", ["0x" + tx_hash.hex()])
    if isinstance(raw, dict) and raw.get("blockNumber"):
        return Receipt.from_rpc(raw)
    return None


@dataclass(frozen=True)
class SavedTx:
    """A signed transaction as a sender (or an outbox row) keeps it: enough to judge and re-send it.

    `raw` may be None when only the hash and nonce were kept; then a transaction the node
    has lost cannot be sent again and counts as dropped.
    """

    tx_hash: bytes
    nonce: int
    raw: bytes | None = field(default=None, repr=False)


class TxFate(Enum):
    """Where a saved transaction stands on the current chain (see `check_saved_tx`)."""

    MINED = "mined"  # in a block of the current chain; `receipt` says whether it reverted
    PENDING = "pending"  # in the node's pool with a nonce the chain reaches: wait for it
    REBROADCAST = "rebroadcast"  # the node had lost it; the saved bytes were sent again: wait
    REPLACED = "replaced"  # its nonce is used by another transaction: never mined -> sign again
    STRANDED = "stranded"  # its nonce is ahead of the chain's next one: held for ever -> sign again
    DROPPED = "dropped"  # lost by the node and not taken back when sent again -> sign again


@dataclass(frozen=True)
class SavedTxCheck:
    """The verdict of `check_saved_tx`: the fate, the receipt if mined, the chain's next nonce."""

    saved: SavedTx
    fate: TxFate
    chain_nonce: int  # the key's pending nonce when checked: a re-signed transaction takes it
    detail: str  # why, in words for the log (English; the outbox words its own Chinese message)
    receipt: Receipt | None = None

    @property
    def must_resign(self) -> bool:
        """True when waiting is pointless: the call must be signed again with a fresh nonce."""
        return self.fate in (TxFate.REPLACED, TxFate.STRANDED, TxFate.DROPPED)

    @property
    def waiting(self) -> bool:
        """True when the transaction can still be mined as it is (pending, or just sent again)."""
        return self.fate in (TxFate.PENDING, TxFate.REBROADCAST)

    def error(self, action: str) -> TransactionNotMined:
        """The typed error for a transaction that was not mined (any fate but MINED)."""
        tx = "0x" + self.saved.tx_hash.hex()
        message = f"{action}: transaction {tx} (nonce {self.saved.nonce}) {self.detail}"
        cls: type[TransactionNotMined] = {
            TxFate.REPLACED: TransactionReplaced, TxFate.STRANDED: TransactionStranded,
            TxFate.DROPPED: TransactionDropped,
        }.get(self.fate, ReceiptTimeout)  # fmt: skip
        return cls(message, self.saved.tx_hash, self.saved.nonce)


def check_saved_tx(rpc: RpcClient, address: str, saved: SavedTx, *, rebroadcast: bool = True) -> SavedTxCheck:
    """Judge a transaction that `address` signed earlier against the chain as it is *now*.

    For anyone holding a signed transaction without its receipt (`TxSender.wait`, the
    department outbox's `submitted` batches): mined, still pending, or, when it can never be
    mined as saved, a fate whose `must_resign` is True. With `rebroadcast` (the default) a
    transaction the node has lost whose nonce is the chain's next is sent again (the same bytes,
    so never a second transaction). Raises NodeUnavailable when no node answers.

    The mined count is read *before* the receipt: a nonce the chain had used by then, with no
    receipt of ours after, was used by another transaction, even if ours is mined meanwhile.
    """
    mined = _mined_nonce(rpc, address)
    receipt = _receipt(rpc, saved.tx_hash)
    if receipt is not None:
        return SavedTxCheck(saved, TxFate.MINED, max(mined, saved.nonce + 1), f"mined in block {receipt.block_number}",
                            receipt)
    pending = max(pending_nonce(rpc, address), mined)
    seen = rpc.call("eth_getTransactionByHash", ["0x" + saved.tx_hash.hex()])
    if isinstance(seen, dict) and seen.get("blockNumber"):
        return SavedTxCheck(saved, TxFate.PENDING, pending, "is in a block whose receipt the node does not serve yet")
    if saved.nonce < mined:
        return SavedTxCheck(saved, TxFate.REPLACED, pending,
                            f"will never be mined: another transaction of the key used nonce {saved.nonce} "
                            f"(the chain's next nonce is {mined})")
    known = seen is not None
    if saved.nonce > pending:
        return SavedTxCheck(saved, TxFate.STRANDED, pending,
                            f"will never be mined: its nonce is ahead of the chain's next nonce {pending} (the chain "
                            "rolled back below it, or an earlier transaction of the key was dropped)")
    if known:
        return SavedTxCheck(saved, TxFate.PENDING, pending, "is waiting in the node's pool")
    if saved.nonce < pending:
        return SavedTxCheck(saved, TxFate.REPLACED, pending,
                            f"will never be mined: another transaction with nonce {saved.nonce} waits in the pool")
    if saved.raw is None or not rebroadcast:
        return SavedTxCheck(saved, TxFate.DROPPED, pending, "is no longer known to the node")
    try:
        rpc.call("eth_sendRawTransaction", ["0x" + saved.raw.hex()])
    except RpcError as err:
        trouble = nonce_trouble(err.message)
        if trouble is NonceTrouble.KNOWN:
            return SavedTxCheck(saved, TxFate.PENDING, pending, "is waiting in the node's pool")
        if trouble in (NonceTrouble.TOO_LOW, NonceTrouble.UNDERPRICED):
            return SavedTxCheck(saved, TxFate.REPLACED, pending,
                                f"will never be mined: another transaction took nonce {saved.nonce} ({err.message})")
        return SavedTxCheck(saved, TxFate.DROPPED, pending,
                            f"was lost by the node and refused when sent again ({err.message})")
    return SavedTxCheck(saved, TxFate.REBROADCAST, pending + 1, "was lost by the node; sent again (same bytes)")


class TxSender:
    """Sends transactions from one account. Thread-safe; every send takes the chain's pending nonce.

    The API, for anyone who sends (see the module docstring for why):
    - `send` / `transact` / `wait`: sign with the chain's nonce, broadcast, wait; a wait that
      cannot end in a receipt raises a `TransactionNotMined` subclass (`ReceiptTimeout`,
      `TransactionReplaced`, `TransactionStranded`, `TransactionDropped`) and never leaves a
      stale nonce behind;
    - for an outbox that saves what it signs before broadcasting: under `with sender.lock:`,
      `saved = sender.sign_next(to, data, gas)` (chain's nonce), save it, `sender.broadcast(saved)`;
      later `sender.check(saved)` (or `check_saved_tx`) says mined / wait / sign again.
    """

    def __init__(
        self,
        rpc: RpcClient,
        account: LocalAccount | bytes,
        abis: Sequence[ContractABI] = (),
        chain_id: int | None = None,
        retries: int = 5,
        gas_margin: float = 1.25,
        nonce_retries: int = 3,
        fate_check_s: float = 2.0,
    ) -> None:
        """`retries`: re-sends of the same bytes while no node answers. `nonce_retries`: fresh
        nonces tried after the node refuses one. `fate_check_s`: how long `wait` polls for a
        receipt before it asks the chain whether the transaction can still be mined (and
        again every so often after)."""
        self.rpc = rpc
        self.account: LocalAccount = account if isinstance(account, LocalAccount) else Account.from_key(account)
        self.address: str = self.account.address
        self.abis = list(abis)
        self.chain_id = chain_id if chain_id is not None else rpc.chain_id()
        self.retries = retries
        self.gas_margin = gas_margin
        self.nonce_retries = nonce_retries
        self.fate_check_s = fate_check_s
        self._next: int | None = None  # the nonce this sender expects next (to notice, and log, a jump)
        self._gas_price: int | None = None
        self._sent: OrderedDict[bytes, SavedTx] = OrderedDict()  # recent sends, so `wait` can judge them
        self.resyncs = 0  #: times the chain's nonce differed from the one this sender expected

    def __repr__(self) -> str:  # never show the key
        return f"TxSender({self.address})"

    @property
    def lock(self) -> threading.RLock:
        """The process-wide lock of this key (`key_lock`): hold it from `sign_next` to `broadcast`."""
        return key_lock(self.address)

    # -- building blocks -------------------------------------------------------------------
    def _refusal(self, action: str, err: RpcError) -> TransactionFailed:
        data = revert_data(err)
        if data is None:
            return TransactionFailed(f"{action} failed: {err.message}")
        name, args = decode_revert(data, self.abis)
        return ContractRefused(action, name, args, explain(name, args))

    def estimate_gas(self, to: str | None, data: bytes, action: str, value: int = 0) -> int:
        tx: dict[str, Any] = {"from": self.address, "data": "0x" + data.hex(), "value": hex(value)}
        if to:
            tx["to"] = to
        try:
            gas = int(str(self.rpc.call("eth_estimateGas", [tx])), 16)
        except RpcError as err:
            raise self._refusal(action, err) from None
        return int(gas * self.gas_margin) + 5_000

    def gas_price(self) -> int:
        if self._gas_price is None:
            self._gas_price = int(str(self.rpc.call("eth_gasPrice")), 16)
        # The node's quote as is: paying above it would feed back into nodes whose quote is the
        # median of recent prices (anvil), compounding across thousands of transactions.
        return self._gas_price

    def pending_nonce(self) -> int:
        """The chain's next nonce for this key (pool included), noting when it is not the one expected."""
        nonce = pending_nonce(self.rpc, self.address)
        expected = self._next
        if expected is not None and expected != nonce:
            self.resyncs += 1
            if expected > nonce:
                log.warning("nonce of %s follows the chain back from %d to %d: the chain rolled back or dropped "
                            "transactions of this key", self.address, expected, nonce)
            else:
                log.info("nonce of %s follows the chain from %d to %d: another sender used this key",
                         self.address, expected, nonce)
        return nonce

    def sign(self, to: str | None, data: bytes, gas: int, nonce: int, value: int = 0) -> tuple[bytes, bytes]:
        tx: dict[str, Any] = {
            "nonce": nonce, "gasPrice": self.gas_price(), "gas": gas, "value": value,
            "data": data, "chainId": self.chain_id,
        }
        if to:
            tx["to"] = to
        signed = self.account.sign_transaction(tx)
        return bytes(signed.raw_transaction), bytes(signed.hash)

    def sign_next(self, to: str | None, data: bytes, gas: int, value: int = 0) -> SavedTx:
        """Sign with the chain's pending nonce; nothing is sent. Hold `lock` until it is broadcast.

        Between this and `broadcast` another send from the key would read the same nonce.
        """
        with self.lock:
            nonce = self.pending_nonce()
            raw, tx_hash = self.sign(to, data, gas, nonce, value)
            self._next = nonce + 1
            return SavedTx(tx_hash, nonce, raw)

    def broadcast(self, saved: SavedTx, action: str = "transaction") -> None:
        """Send signed bytes, retrying the same bytes while no node answers.

        Raises `NonceRefused` (attempts=1) when the node refuses the nonce (the caller signs
        again: `send` does), `ContractRefused` / `TransactionFailed` for other refusals,
        NodeUnavailable after `retries`. Bytes the node already holds count as sent.
        """
        assert saved.raw is not None, "only a transaction with its signed bytes can be broadcast"
        delay = 0.2
        with self.lock:
            for attempt in range(self.retries + 1):
                try:
                    self.rpc.call("eth_sendRawTransaction", ["0x" + saved.raw.hex()])
                    break
                except RpcError as err:
                    trouble = nonce_trouble(err.message)
                    if trouble is NonceTrouble.KNOWN:
                        break  # an earlier attempt (or an earlier sender of these bytes) reached the node
                    if trouble is NonceTrouble.TOO_LOW and attempt > 0 and self._is_known(saved.tx_hash):
                        break  # our earlier attempt got in and was mined
                    if trouble is not None:
                        self._next = None
                        raise NonceRefused(action, self.address, saved.nonce, err.message, 1) from None
                    raise self._refusal(action, err) from None
                except NodeUnavailable:
                    if attempt == self.retries:
                        self._next = None
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
            self._remember(saved)

    def _remember(self, saved: SavedTx) -> None:
        self._sent[saved.tx_hash] = saved
        while len(self._sent) > 256:
            self._sent.popitem(last=False)

    def _is_known(self, tx_hash: bytes) -> bool:
        return self.rpc.call("eth_getTransactionByHash", ["0x" + tx_hash.hex()]) is not None

    # -- public API ------------------------------------------------------------------------
    def forget_nonce(self) -> None:
        """Forget the nonce this sender expects next (a lease was newly acquired: ledger/lease.py).

        Every send reads the chain's pending nonce anyway; this only keeps the sender from
        logging the other process's sends as a surprise. (No lock: one assignment, and a
        sender blocked on a dead node must not block a lease renewal.)
        """
        self._next = None

    def check(self, saved: SavedTx) -> SavedTxCheck:
        """`check_saved_tx` for this key; a fate that must be re-signed also drops the expected nonce."""
        result = check_saved_tx(self.rpc, self.address, saved)
        if result.must_resign:
            self.forget_nonce()
        return result

    def send(self, to: str | None, data: bytes, action: str, gas: int | None = None, value: int = 0) -> bytes:
        """Sign with the chain's nonce and broadcast; return the tx hash.

        Raises ContractRefused before signing if it would revert. A refused nonce is read again
        from the chain and the call signed again, up to `nonce_retries` times (`NonceRefused`).
        """
        if gas is None:
            gas = self.estimate_gas(to, data, action, value)
        with self.lock:
            for attempt in range(1, self.nonce_retries + 2):
                saved = self.sign_next(to, data, gas, value)
                try:
                    self.broadcast(saved, action)
                    return saved.tx_hash
                except NonceRefused as refused:
                    if attempt > self.nonce_retries:
                        raise NonceRefused(action, self.address, saved.nonce, refused.reason, attempt) from None
                    log.info("%s: node refused nonce %d of %s (%s); re-reading it from the chain", action,
                             saved.nonce, self.address, refused.reason)
                    time.sleep(0.05 * attempt)
                except BaseException:
                    self._next = None
                    raise
        raise AssertionError("unreachable")

    def wait(self, tx_hash: bytes, action: str = "transaction", timeout: float = 60.0) -> Receipt:
        """The receipt of a sent transaction (raises `ContractRefused` if it reverted).

        Polls for the receipt; after `fate_check_s` without one, and again as often, asks the
        chain whether it can still be mined (`check_saved_tx`): a transaction replaced,
        stranded ahead of a rolled-back chain, or lost for good raises its
        `TransactionNotMined` at once, and one the node lost is sent again. At `timeout`,
        `ReceiptTimeout`. Each of these drops the expected nonce.
        """
        start = time.monotonic()
        deadline = start + timeout
        next_check = start + self.fate_check_s
        delay = 0.01
        while True:
            receipt = _receipt(self.rpc, tx_hash)
            now = time.monotonic()
            if receipt is None and (now >= next_check or now > deadline):
                receipt = self._judge(tx_hash, action, timed_out=now > deadline)
                next_check = time.monotonic() + self.fate_check_s
            if receipt is not None:
                if receipt.status != 1:
                    raise self._explain_failed(receipt, action)
                return receipt
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _judge(self, tx_hash: bytes, action: str, timed_out: bool) -> Receipt | None:
        """The receipt if the chain has it now; raise if it can never come (or time is up)."""
        saved = self._sent.get(tx_hash)
        if saved is None:  # sent by another object or process: judge by what the node knows of it
            tx = self.rpc.call("eth_getTransactionByHash", ["0x" + tx_hash.hex()])
            if isinstance(tx, dict):
                saved = SavedTx(tx_hash, int(str(tx["nonce"]), 16))
        if saved is None:
            result = None
        else:
            result = self.check(saved)
            if result.fate is TxFate.MINED:
                return result.receipt
            if result.must_resign:
                log.warning("%s", result.error(action))
                raise result.error(action)
        if not timed_out:
            return None
        self.forget_nonce()
        if result is None:
            raise ReceiptTimeout(f"{action}: no receipt for 0x{tx_hash.hex()}, and the node does not know it",
                                 tx_hash, None)
        raise ReceiptTimeout(f"{action}: no receipt for 0x{tx_hash.hex()} (nonce {result.saved.nonce}) yet; it "
                             f"{result.detail}", tx_hash, result.saved.nonce)

    def transact(self, to: str | None, data: bytes, action: str, gas: int | None = None, value: int = 0) -> Receipt:
        return self.wait(self.send(to, data, action, gas, value), action)

    def _explain_failed(self, receipt: Receipt, action: str) -> TransactionFailed:
        tx = self.rpc.call("eth_getTransactionByHash", ["0x" + receipt.tx_hash.hex()])
        assert isinstance(tx, dict)
        call = {"from": tx["from"], "to": tx.get("to"), "data": tx["input"]}
        try:
            self.rpc.call("eth_call", [call, hex(receipt.block_number)])
        except RpcError as err:
            return self._refusal(action, err)
        return TransactionFailed(f"{action} reverted in block {receipt.block_number} (no reason given)")
