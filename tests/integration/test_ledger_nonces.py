"""Nonces that follow the chain (ledger/sender.py) against a real anvil.

Rollbacks are made with anvil's `evm_snapshot` / `evm_revert`: what a node restored from an
older state, or a reorganisation deeper than the confirmations, does to the senders of a
long-running API process. "Another process" is a real second process (or, for the exact
moment of a race, a real JSON-RPC proxy that lets a competing transaction in first).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from ledger.devnet import wait_for
from ledger.errors import NonceRefused, TransactionStranded
from ledger.rpc import RpcClient
from ledger.sender import SavedTx, TxFate, TxSender, check_saved_tx, pending_nonce


@pytest.fixture
def key(devnet):  # type: ignore[no-untyped-def]
    """A funded key of its own (funding is not undone by the tests' reverts: it comes first)."""
    return devnet.new_account()


@contextmanager
def automine_off(node) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Transactions wait in the pool until the block is left (the session's anvil mines per transaction)."""
    node.rpc("evm_setAutomine", [False])
    try:
        yield
    finally:
        node.rpc("evm_setAutomine", [True])


def _self_transfer(sender: TxSender) -> bytes:
    return sender.send(sender.address, b"", "self-transfer", gas=21_000)


def _nonce_of(devnet, tx_hash: bytes) -> int:  # type: ignore[no-untyped-def]
    tx = devnet.rpc.call("eth_getTransactionByHash", ["0x" + tx_hash.hex()])
    return int(tx["nonce"], 16)


# ------------------------------------------------------------------------------ TxSender


def test_sender_that_sent_before_a_revert_sends_its_next_transaction_after_it(devnet, key):
    sender = devnet.sender(key)
    snapshot = devnet.node.rpc("evm_snapshot")
    sender.wait(_self_transfer(sender))
    sender.wait(_self_transfer(sender))
    devnet.node.rpc("evm_revert", [snapshot])  # the chain forgets both: its nonce is 0 again
    receipt = sender.wait(_self_transfer(sender), timeout=120)
    assert receipt.status == 1 and _nonce_of(devnet, receipt.tx_hash) == 0
    assert sender.resyncs == 1


OTHER_PROCESS = """
import sys
from ledger.rpc import RpcClient
from ledger.sender import TxSender
sender = TxSender(RpcClient(sys.argv[1]), bytes.fromhex(sys.argv[2]))
for _ in range(3):
    sender.transact(sender.address, b"", "self-transfer", gas=21_000)
"""


def test_sender_follows_the_nonce_another_process_moved_on(devnet, key):
    sender = devnet.sender(key)
    sender.wait(_self_transfer(sender))
    subprocess.run([sys.executable, "-c", OTHER_PROCESS, devnet.node.url, bytes(key.key).hex()], check=True,
                   timeout=120)
    receipt = sender.wait(_self_transfer(sender), timeout=120)
    assert receipt.status == 1 and _nonce_of(devnet, receipt.tx_hash) == 4


class _RacingProxy:
    """A JSON-RPC proxy in front of the node: just before it forwards the first raw transaction,
    it runs `first` (which sends a competing transaction straight to the node)."""

    def __init__(self, upstream: str, first: Callable[[], None]) -> None:
        self.fired = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if b"eth_sendRawTransaction" in body and not proxy.fired:
                    proxy.fired = True
                    first()
                reply = httpx.post(upstream, content=body, headers={"Content-Type": "application/json"})
                self.send_response(reply.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_send_refused_as_nonce_too_low_reads_the_nonce_again_and_signs_again(devnet, key):
    competing: list[bytes] = []

    def another_process_sends() -> None:  # signed and sent straight to the node, outside this process's lock
        raw, tx_hash = devnet.sender(key).sign(key.address, b"\x01", 30_000, pending_nonce(devnet.rpc, key.address))
        devnet.rpc.call("eth_sendRawTransaction", ["0x" + raw.hex()])
        competing.append(tx_hash)

    proxy = _RacingProxy(devnet.node.url, another_process_sends)
    rpc = RpcClient(proxy.url)
    try:
        sender = TxSender(rpc, key, chain_id=devnet.manifest.chain_id)
        receipt = sender.wait(_self_transfer(sender), timeout=120)
    finally:
        rpc.close()
        proxy.close()
    assert proxy.fired, "the competing transaction went first"
    assert _nonce_of(devnet, competing[0]) == 0
    assert receipt.status == 1 and _nonce_of(devnet, receipt.tx_hash) == 1


def test_broadcast_of_a_signed_transaction_whose_nonce_was_taken_meanwhile_raises_nonce_refused(devnet, key):
    sender = devnet.sender(key)
    with sender.lock:
        saved = sender.sign_next(key.address, b"", 21_000)
    devnet.sender(key).wait(_self_transfer(devnet.sender(key)))  # another sender takes nonce 0
    with pytest.raises(NonceRefused) as refused:
        sender.broadcast(saved, "self-transfer")
    assert refused.value.nonce == 0 and "nonce too low" in refused.value.reason


def test_wait_on_a_transaction_stranded_ahead_of_a_rolled_back_chain_raises_transaction_stranded(devnet, key):
    sender = TxSender(devnet.rpc, key, chain_id=devnet.manifest.chain_id, fate_check_s=0.2)
    snapshot = devnet.node.rpc("evm_snapshot")
    sender.wait(_self_transfer(sender))  # nonce 0, mined
    with automine_off(devnet.node):
        stranded = _self_transfer(sender)  # nonce 1, waiting in the pool
        devnet.node.rpc("evm_revert", [snapshot])  # nonce 0 is gone; the chain's next nonce is 0 again
    with pytest.raises(TransactionStranded) as raised:
        sender.wait(stranded, "self-transfer", timeout=120)
    assert raised.value.nonce == 1
    receipt = sender.wait(_self_transfer(sender), timeout=120)
    assert _nonce_of(devnet, receipt.tx_hash) == 0


def test_wait_sends_again_a_transaction_the_node_dropped_from_its_pool(devnet, key):
    sender = TxSender(devnet.rpc, key, chain_id=devnet.manifest.chain_id, fate_check_s=0.2)
    with automine_off(devnet.node):
        lost = _self_transfer(sender)  # nonce 0, waiting in the pool
        devnet.node.rpc("anvil_dropTransaction", ["0x" + lost.hex()])  # evicted (a node restart does the same)
    assert devnet.rpc.call("eth_getTransactionByHash", ["0x" + lost.hex()]) is None
    receipt = sender.wait(lost, "self-transfer", timeout=120)
    assert receipt.tx_hash == lost and receipt.status == 1


# ------------------------------------------------------------------------------ check_saved_tx


def _signed(sender: TxSender, nonce: int, data: bytes = b"") -> SavedTx:
    raw, tx_hash = sender.sign(sender.address, data, 30_000, nonce)
    return SavedTx(tx_hash, nonce, raw)


def test_saved_transaction_that_was_mined_is_judged_mined_with_its_receipt(devnet, key):
    sender = devnet.sender(key)
    saved = _signed(sender, 0)
    sender.broadcast(saved)
    sender.wait(saved.tx_hash)  # anvil's automine answers the send before the block is in: wait for it
    check = check_saved_tx(devnet.rpc, key.address, saved)
    assert check.fate is TxFate.MINED and check.receipt is not None and check.receipt.tx_hash == saved.tx_hash


def test_saved_transaction_waiting_in_the_pool_is_judged_pending(devnet, key):
    sender = devnet.sender(key)
    saved = _signed(sender, 0)
    with automine_off(devnet.node):
        sender.broadcast(saved)
        check = check_saved_tx(devnet.rpc, key.address, saved)
    assert check.fate is TxFate.PENDING and check.waiting and not check.must_resign


def test_saved_transaction_the_node_lost_is_sent_again_with_the_same_bytes(devnet, key):
    saved = _signed(devnet.sender(key), 0)  # signed and saved, never sent (a crash before the broadcast)
    check = check_saved_tx(devnet.rpc, key.address, saved)
    assert check.fate is TxFate.REBROADCAST
    assert wait_for(lambda: check_saved_tx(devnet.rpc, key.address, saved).fate is TxFate.MINED, 30)


def test_saved_transaction_whose_nonce_another_transaction_used_is_judged_replaced(devnet, key):
    sender = devnet.sender(key)
    saved = _signed(sender, 0, b"\x01")
    sender.wait(_self_transfer(sender))  # takes nonce 0
    check = check_saved_tx(devnet.rpc, key.address, saved)
    assert check.fate is TxFate.REPLACED and check.must_resign and check.chain_nonce == 1


def test_saved_transaction_ahead_of_a_rolled_back_chain_is_judged_stranded_and_re_signed(devnet, key):
    sender = devnet.sender(key)
    snapshot = devnet.node.rpc("evm_snapshot")
    sender.wait(_self_transfer(sender))  # nonce 0
    saved = _signed(sender, 1)
    sender.broadcast(saved)
    sender.wait(saved.tx_hash)  # nonce 1, mined
    devnet.node.rpc("evm_revert", [snapshot])
    # Right after a revert anvil has answered the "pending" nonce from its state before it (2, in one
    # CI run of the full suite); what is judged here is a node that has rolled back, so wait for it.
    assert wait_for(lambda: pending_nonce(devnet.rpc, key.address) == 0, 10), "anvil did not roll back"
    check = check_saved_tx(devnet.rpc, key.address, saved)
    assert check.fate is TxFate.STRANDED and check.must_resign and check.chain_nonce == 0
    with sender.lock:
        again = sender.sign_next(key.address, b"", 30_000)
        sender.broadcast(again)
    sender.wait(again.tx_hash)
    assert again.nonce == 0 == check.chain_nonce
    assert check_saved_tx(devnet.rpc, key.address, again).fate is TxFate.MINED
    assert pending_nonce(devnet.rpc, key.address) == 1
