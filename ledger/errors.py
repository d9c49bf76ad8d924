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
