"""What the chain says, as plain values: the contract between ledger/ and verifier/.

The verification engine is pure: it never talks to a node or a database. It receives a
`ChainView` and asks it for facts. `ledger/` implements the view from its indexed read model
(fast, no RPC), from one `eth_call` per question (the naive reference verifier), and
`verifier/` implements it from a signed trust-list snapshot (offline mode). Keeping the
facts here lets all three agree on their meaning without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal, Protocol, runtime_checkable

from common.nodes import NodeKey


class IssuerStatus(IntEnum):
    """Matches `IssuerRegistry.IssuerStatus` on chain."""

    UNKNOWN = 0
    ACTIVE = 1
    SUSPENDED = 2
    REVOKED = 3


class CertStatus(IntEnum):
    """Matches `AnchorLedger.CertStatus` on chain. NONE means 'never changed': in force."""

    NONE = 0
    SUSPENDED = 1
    REVOKED = 2


@dataclass(frozen=True, slots=True)
class AnchorFacts:
    """One anchored batch root: who anchored it, with which key, when and how final."""

    batch_root: bytes
    issuer_id: bytes
    key: str  # checksummed address of the signing key that sent the anchor transaction
    type_code: str
    cert_count: int
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    timestamp: int
    confirmations: int  # head height - block_number + 1, as seen by the view


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """A signing key of an issuing department and the window in which it may act."""

    address: str
    issuer_id: bytes
    valid_from: int
    valid_until: int | None  # None: not retired
    # Suite 2 (国密): the SM2 public key, 65 bytes 04 || x || y (common.gm.sm2_normalize_public_key),
    # whose id `address` is (common.suites.sm2_key_id); None for a secp256k1 key.
    sm2_public_key: bytes | None = None

    def valid_at(self, t: int) -> bool:
        return self.valid_from <= t and (self.valid_until is None or t < self.valid_until)


@dataclass(frozen=True, slots=True)
class IssuerFacts:
    """An issuing department (发证部门) as the registry knows it now."""

    issuer_id: bytes
    region: int
    status: IssuerStatus
    status_since: int
    revoked_from: int | None  # anchors at or after this time are void (key compromise)
    authorised_types: frozenset[str]


@dataclass(frozen=True, slots=True)
class TypeFacts:
    type_code: str
    name: str
    schema_hash: bytes
    version: int
    active: bool


@dataclass(frozen=True, slots=True)
class CertStatusFacts:
    cert_hash: bytes
    status: CertStatus
    since: int  # 0 when status is NONE
    reason: int


@dataclass(frozen=True, slots=True)
class RecognitionRule:
    """Region `verifier_region` accepts `type_code` from `issuer_region` (0 = every region)."""

    verifier_region: int
    type_code: str
    issuer_region: int
    valid_from: int
    valid_until: int | None

    def in_force_at(self, t: int) -> bool:
        return self.valid_from <= t and (self.valid_until is None or t < self.valid_until)


@dataclass(frozen=True, slots=True)
class Freshness:
    """What an answer rests on: the newest block its facts come from, and where they came from.

    The facts are as old as that block (`head_time`, the chain's own clock), whatever the
    source — common/freshness.py has the rule and the engine applies the policy's one bound.
    """

    height: int
    head_time: int  # timestamp of block `height`; 0 when no block has been read yet
    source: Literal["index", "rpc", "snapshot"]
    #: What the source adds for the clerk, in Chinese (e.g. a fail-over away from a stale node).
    note: str = ""


class ChainUnavailable(Exception):
    """Status facts cannot be had now (node down, index too stale, no fresh snapshot).

    Raised by a ChainView; the engine turns it into the UNAVAILABLE verdict ("cannot check
    now"), never into an 'invalid' one.
    """


@runtime_checkable
class ChainView(Protocol):
    """Read-only facts the verification engine needs. Implementations may raise ChainUnavailable."""

    def freshness(self) -> Freshness: ...

    def anchor(self, batch_root: bytes) -> AnchorFacts | None: ...

    def issuer(self, issuer_id: bytes) -> IssuerFacts | None: ...

    def key(self, address: str) -> KeyFacts | None: ...

    def certificate_status(self, cert_hash: bytes, issuer_id: bytes) -> CertStatusFacts:
        """Status as set by `issuer_id` (the anchoring issuer): statuses are per issuer on chain,
        so another department that put the same hash into its own batch cannot revoke it."""
        ...

    def type_info(self, type_code: str) -> TypeFacts | None: ...

    def recognition(
        self, verifier_region: int, type_code: str, issuer_region: int, at: int
    ) -> RecognitionRule | None:
        """The rule in force at `at` (specific region first, then the every-region rule)."""
        ...

    def stamp_keys(self, region: int, at: int) -> Sequence[NodeKey]:
        """The stamping keys `region`'s node may have used at `at` (the registry's key windows),
        while the region is a member and its node active; empty if none."""
        ...
