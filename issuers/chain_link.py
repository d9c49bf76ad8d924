"""The issuer service's connection to the chain: node(s), deployment, and the department's key.

All chain I/O goes through `ledger/` (JSON-RPC client, typed contract clients, transaction
signing); this only bundles what the anchoring worker and status changes share, plus one
lock per signing key: the anchoring worker and status changes send from the same account,
and each reads the node's pending nonce, signs and broadcasts while holding the lock, so
two threads of one process never sign two transactions with the same nonce.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from common.document import issuer_id as issuer_id_of
from common.document import type_code_bytes32
from common.eip712 import Domain
from ledger.abi import ContractABI
from ledger.clients import Huren
from ledger.errors import NodeUnavailable
from ledger.manifest import Manifest
from ledger.rpc import RpcClient, RpcError
from ledger.sender import TxSender, key_lock, pending_nonce

__all__ = ["ChainLink", "key_lock"]


@dataclass
class ChainLink:
    """Node(s) + deployment manifest + ABIs + the department's signing account."""

    rpc: RpcClient
    manifest: Manifest
    abis: dict[str, ContractABI]
    account: LocalAccount = field(repr=False)

    def __post_init__(self) -> None:
        self.huren = Huren(self.rpc, self.manifest, self.abis)

    @classmethod
    def connect(cls, urls: str | Iterable[str], manifest: Manifest, account: LocalAccount,
                abis: dict[str, ContractABI] | None = None, timeout: float = 10.0) -> ChainLink:
        """Build the link; no request is made (the node may well be down: issuance still works)."""
        if abis is None:
            from ledger.deploy import load_abis

            abis = load_abis()
        rpc = RpcClient(urls if isinstance(urls, str) else list(urls), timeout=timeout)
        return cls(rpc, manifest, abis, account)

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def domain(self) -> Domain:
        """The EIP-712 domain issuer signatures are made in (chain id + AnchorLedger address)."""
        return Domain(self.manifest.chain_id, self.manifest.ledger_address)

    @property
    def ledger_address(self) -> str:
        return self.manifest.ledger_address

    def lock(self) -> threading.RLock:
        """The key's process-wide lock, the same one its `TxSender`s take (ledger.sender.key_lock)."""
        return key_lock(self.address)

    def sender(self) -> TxSender:
        """A fresh sender (it reads the pending nonce itself on first use)."""
        return TxSender(self.rpc, self.account, self.huren.all_abis, self.manifest.chain_id)

    def pending_nonce(self) -> int:
        return pending_nonce(self.rpc, self.address)

    def authorised_types(self, credit_code: str, type_codes: Iterable[str]) -> frozenset[str] | None:
        """The types the chain authorises the department for, or None if no node answers."""
        iid = issuer_id_of(credit_code)
        fn = self.abis["IssuerRegistry"].fn("isAuthorised")
        codes = list(type_codes)
        try:
            results = self.rpc.batch([
                ("eth_call", [{"to": self.manifest.addresses["IssuerRegistry"],
                               "data": "0x" + fn.encode(iid, type_code_bytes32(c)).hex()}, "latest"])
                for c in codes
            ])  # fmt: skip
        except (NodeUnavailable, RpcError):
            return None
        return frozenset(c for c, r in zip(codes, results, strict=True) if fn.decode_output(bytes.fromhex(
            str(r)[2:]))[0])
