"""Typed failures of the chain layer, worded so an operator or clerk knows what to do."""

from __future__ import annotations


class LedgerError(Exception):
    """Base class for everything ledger/ raises on purpose."""


class CompileError(LedgerError):
    """The contracts did not compile; the message carries solc's own diagnostics."""


class NodeUnavailable(LedgerError):
    """No configured JSON-RPC endpoint answered. Nothing was sent; retry when a node is back."""


class TransactionFailed(LedgerError):
    """A transaction was mined but reverted, or could not be sent for a non-transient reason."""


class ContractRefused(TransactionFailed):
    """A contract refused an action with one of its custom errors.

    `error` is the Solidity error name (e.g. "TypeNotAuthorised"), `args` its decoded
    arguments; `str()` is a sentence saying what was refused and why.
    """

    def __init__(self, action: str, error: str, args: dict[str, object], explanation: str) -> None:
        self.action = action
        self.error = error
        self.args_ = args
        self.explanation = explanation
        super().__init__(f"{action} refused by the contract: {error} — {explanation}")


class KeystoreError(LedgerError):
    """A keystore file is missing, unreadable, or the passphrase is wrong."""


class NonceRefused(TransactionFailed):
    """The node refused the transaction's nonce even after the sender re-read it from the chain.

    Another sender keeps taking this key's nonces (a second process without the lease, an
    operator's wallet). Nothing of ours is pending with that nonce; retry later, and find out
    who else sends from the key.
    """

    def __init__(self, action: str, address: str, nonce: int, reason: str, attempts: int) -> None:
        self.action = action
        self.address = address
        self.nonce = nonce
        self.reason = reason
        super().__init__(f"{action}: the node refused nonce {nonce} of {address} {attempts} times ({reason}), "
                         "re-reading it from the chain each time; is another program sending from this key?")


class TransactionNotMined(TransactionFailed):
    """A transaction this process signed has no receipt, and waiting longer will not give it one.

    `tx_hash` and `nonce` name it. Subclasses say why; all of them mean the sender has dropped
    its own nonce count, so its next send takes the chain's pending nonce.
    """

    def __init__(self, message: str, tx_hash: bytes, nonce: int | None) -> None:
        self.tx_hash = tx_hash
        self.nonce = nonce
        super().__init__(message)


class ReceiptTimeout(TransactionNotMined):
    """Still waiting in the node's pool when the wait ran out: it may yet be mined.

    Do not sign the same call again blindly (it could then happen twice); check the saved
    transaction again later (`ledger.sender.check_saved_tx`).
    """


class TransactionReplaced(TransactionNotMined):
    """Its nonce was used by another transaction (mined, or waiting in the pool): it will never be mined.

    Sign the call again if it is still wanted; the contract refuses duplicates of anchors.
    """


class TransactionStranded(TransactionNotMined):
    """Its nonce is ahead of the chain's next nonce, so the node would hold it for ever.

    The chain rolled back below it (a node restored from an older state, a reorganisation
    deeper than the confirmations) or an earlier transaction of the key was dropped. Sign the
    call again: the sender now uses the chain's pending nonce.
    """


class TransactionDropped(TransactionNotMined):
    """The node no longer has it and did not take it back when it was sent again; the message says why."""
