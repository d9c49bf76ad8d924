"""Pure parts of nonces that follow the chain (ledger/sender.py): refusal words, fates, typed errors."""

from __future__ import annotations

import pytest

from api.pages.views_officer import _chain_error
from ledger.errors import (
    NonceRefused,
    ReceiptTimeout,
    TransactionDropped,
    TransactionReplaced,
    TransactionStranded,
)
from ledger.sender import NonceTrouble, SavedTx, SavedTxCheck, TxFate, nonce_trouble

SAVED = SavedTx(b"\xab" * 32, 7, b"\x01\x02")


@pytest.mark.parametrize(("message", "trouble"), [
    ("nonce too low", NonceTrouble.TOO_LOW),  # anvil, geth
    ("Nonce too low", NonceTrouble.TOO_LOW),  # Besu
    ("OldNonce, Current nonce: 3, nonce of rejected tx: 1", NonceTrouble.TOO_LOW),  # Nethermind
    ("nonce too high", NonceTrouble.TOO_HIGH),
    ("Nonce too far in future", NonceTrouble.TOO_HIGH),  # Besu
    ("replacement transaction underpriced", NonceTrouble.UNDERPRICED),  # geth, anvil
    ("Replacement transaction underpriced", NonceTrouble.UNDERPRICED),  # Besu
    ("already known", NonceTrouble.KNOWN),  # geth
    ("transaction already imported", NonceTrouble.KNOWN),  # anvil
    ("Known transaction", NonceTrouble.KNOWN),  # Besu
])
def test_node_refusals_about_the_nonce_are_recognised_in_every_clients_words(message, trouble):
    assert nonce_trouble(message) is trouble


@pytest.mark.parametrize("message", ["insufficient funds for gas * price + value", "execution reverted",
                                     "intrinsic gas too low", "exceeds block gas limit"])
def test_refusals_not_about_the_nonce_are_not_mistaken_for_one(message):
    assert nonce_trouble(message) is None


@pytest.mark.parametrize(("fate", "must_resign", "waiting"), [
    (TxFate.MINED, False, False),
    (TxFate.PENDING, False, True),
    (TxFate.REBROADCAST, False, True),
    (TxFate.REPLACED, True, False),
    (TxFate.STRANDED, True, False),
    (TxFate.DROPPED, True, False),
])
def test_only_a_transaction_that_can_never_be_mined_must_be_signed_again(fate, must_resign, waiting):
    check = SavedTxCheck(SAVED, fate, 7, "detail")
    assert (check.must_resign, check.waiting) == (must_resign, waiting)


@pytest.mark.parametrize(("fate", "error"), [
    (TxFate.REPLACED, TransactionReplaced),
    (TxFate.STRANDED, TransactionStranded),
    (TxFate.DROPPED, TransactionDropped),
    (TxFate.PENDING, ReceiptTimeout),
])
def test_each_fate_that_is_not_mined_has_its_own_typed_error_naming_the_transaction(fate, error):
    raised = SavedTxCheck(SAVED, fate, 3, "will never be mined").error("anchor")
    assert type(raised) is error
    assert raised.tx_hash == SAVED.tx_hash and raised.nonce == 7
    assert "anchor" in str(raised) and "0x" + SAVED.tx_hash.hex() in str(raised)


def test_saved_transaction_does_not_print_its_signed_bytes():
    assert "raw" not in repr(SAVED)


@pytest.mark.parametrize(("exc", "words"), [
    (ReceiptTimeout("x", b"\x00" * 32, 1), "尚未上链确认"),
    (TransactionStranded("x", b"\x00" * 32, 1), "节点回退"),
    (TransactionReplaced("x", b"\x00" * 32, 1), "请重新提交"),
    (NonceRefused("approve", "0xabc", 1, "nonce too low", 4), "其他程序在使用同一密钥"),
])
def test_officer_page_says_in_chinese_what_became_of_a_transaction_that_was_not_mined(exc, words):
    message = _chain_error(exc)
    assert words in message and "0x" not in message
