"""Sending transactions reliably: local signing, nonces under concurrency, retries, receipts.

Keys never leave this process: transactions are signed locally with eth-account (from an
encrypted keystore, see ledger/keystore.py) and sent raw, so the node never holds a key.

Why each piece is here:
- one lock per sender hands out nonces, so many threads can send from one key without gaps or
  duplicates; a send that finally fails makes the sender re-read the node's pending nonce, and
  so does `forget_nonce()` (another process sent from the key meanwhile: a lease hand-over);
- gas is estimated first, which also turns a refusal into a typed `ContractRefused` *before*
  anything is signed or a nonce is spent;
- a transient node failure is retried with the *same* signed bytes (same hash), so a retry can
  never become a second transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.abi import ContractABI, decode_revert
from ledger.errors import ContractRefused, NodeUnavailable, TransactionFailed
from ledger.explain import explain
from ledger.rpc import RpcClient, RpcError


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


class TxSender:
    """Sends transactions from one account. Thread-safe."""

    def __init__(
        self,
        rpc: RpcClient,
        account: LocalAccount | bytes,
        abis: Sequence[ContractABI] = (),
        chain_id: int | None = None,
        retries: int = 5,
        gas_margin: float = 1.25,
    ) -> None:
        self.rpc = rpc
        self.account: LocalAccount = account if isinstance(account, LocalAccount) else Account.from_key(account)
        self.address: str = self.account.address
        self.abis = list(abis)
        self.chain_id = chain_id if chain_id is not None else rpc.chain_id()
        self.retries = retries
        self.gas_margin = gas_margin
        self._lock = threading.Lock()
        self._nonce: int | None = None
        self._gas_price: int | None = None

    def __repr__(self) -> str:  # never show the key
        return f"TxSender({self.address})"

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

    def _take_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = int(str(self.rpc.call("eth_getTransactionCount", [self.address, "pending"])), 16)
        nonce = self._nonce
        self._nonce += 1
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

    def _broadcast(self, raw: bytes, tx_hash: bytes, action: str) -> None:
        delay = 0.2
        for attempt in range(self.retries + 1):
            try:
                self.rpc.call("eth_sendRawTransaction", ["0x" + raw.hex()])
                return
            except RpcError as err:
                msg = err.message.lower()
                if "already known" in msg or "already imported" in msg:
                    return  # an earlier attempt reached the node: same bytes, same tx
                if "nonce too low" in msg and attempt > 0 and self._is_known(tx_hash):
                    return
                raise self._refusal(action, err) from None
            except NodeUnavailable:
                if attempt == self.retries:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _is_known(self, tx_hash: bytes) -> bool:
        return self.rpc.call("eth_getTransactionByHash", ["0x" + tx_hash.hex()]) is not None

    # -- public API ------------------------------------------------------------------------
    def forget_nonce(self) -> None:
        """Drop the locally counted nonce: the next send reads the node's pending count again.

        The count is only right while this object is the key's sole sender. Call this when
        another process may have sent from the key since (it took over a lease, see
        ledger/lease.py, and handed it back): the stale count would make the next send fail
        with "nonce too low" (or replace a pending transaction).
        """
        with self._lock:
            self._nonce = None

    def send(self, to: str | None, data: bytes, action: str, gas: int | None = None, value: int = 0) -> bytes:
        """Sign and broadcast; return the tx hash. Raises ContractRefused before signing if it would revert."""
        if gas is None:
            gas = self.estimate_gas(to, data, action, value)
        with self._lock:
            nonce = self._take_nonce()
            raw, tx_hash = self.sign(to, data, gas, nonce, value)
            try:
                self._broadcast(raw, tx_hash, action)
            except BaseException:
                # The nonce may be unused now: re-read it from the node before the next send.
                self._nonce = None
                raise
        return tx_hash

    def wait(self, tx_hash: bytes, action: str = "transaction", timeout: float = 60.0) -> Receipt:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            raw = self.rpc.call("eth_getTransactionReceipt", ["0x" + tx_hash.hex()])
            if isinstance(raw, dict) and raw.get("blockNumber"):
                receipt = Receipt.from_rpc(raw)
                if receipt.status != 1:
                    raise self._explain_failed(receipt, action)
                return receipt
            if time.monotonic() > deadline:
                raise TransactionFailed(f"{action}: no receipt for 0x{tx_hash.hex()} after {timeout:.0f} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

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
