"""National 证照状态 codes, and how our on-chain states map onto them.

The national sharing system (and one ministry's code list, DESIGN "National formats")
knows: 01 有效, 02 暂扣, 03 撤销, 04 注销, 05 失效, 06 办理转出, 07 吊销, 99 其他.
Our chain knows less: a certificate is in force, suspended (reversible) or revoked
(final); its validity window lives in the document; an issuer can be revoked from a point
in time, voiding later anchors. The mapping chosen, in order of precedence:

* revoked on chain -> by the recorded reason: 07 吊销 (taken away as an administrative
  penalty), 03 撤销 (withdrawn: issued unlawfully or in error), 04 注销 (cancelled: holder
  surrendered it, entity dissolved, holder died), 05 失效 (superseded by a re-issued
  version), 06 办理转出 (transferred to another jurisdiction), 99 其他. With no reason on
  record, 03 撤销: it is the generic act of an issuer withdrawing its certificate, while 07
  吊销 is a penalty with legal consequences that we must not claim without a record of it.
* suspended on chain -> 02 暂扣 (reversible, like a licence held pending a decision).
* anchored after its issuer's revocation point (key compromise) -> 05 失效: the certificate
  was never decided against, it simply carries no force.
* past validUntil -> 05 失效 (lapsed).
* otherwise -> 01 有效, including a certificate whose validFrom is still ahead: it is
  issued and not withdrawn; the 有效期起始 exported beside the status tells the rest.

Revocation outranks suspension (a revoked certificate stays revoked whatever else is
recorded) and both outrank expiry, so an exported record never looks better than it is.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final

from common.facts import CertStatus

__all__ = [
    "NationalStatus",
    "RevocationReason",
    "chain_status_of",
    "national_status",
]


class NationalStatus(StrEnum):
    """证照状态 code; `.label` is the Chinese name."""

    VALID = "01"
    SUSPENDED = "02"
    WITHDRAWN = "03"
    CANCELLED = "04"
    LAPSED = "05"
    TRANSFERRED_OUT = "06"
    REVOKED = "07"
    OTHER = "99"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS: Final[dict[NationalStatus, str]] = {
    NationalStatus.VALID: "有效",
    NationalStatus.SUSPENDED: "暂扣",
    NationalStatus.WITHDRAWN: "撤销",
    NationalStatus.CANCELLED: "注销",
    NationalStatus.LAPSED: "失效",
    NationalStatus.TRANSFERRED_OUT: "办理转出",
    NationalStatus.REVOKED: "吊销",
    NationalStatus.OTHER: "其他",
}


class RevocationReason(StrEnum):
    """Why an issuer revoked a certificate; decides the exported code (see module docstring)."""

    PENALTY = "penalty"  # 吊销
    WITHDRAWN = "withdrawn"  # 撤销
    CANCELLED = "cancelled"  # 注销
    SUPERSEDED = "superseded"  # 换发/补发: replaced by a newer version
    TRANSFERRED_OUT = "transferred_out"  # 办理转出
    OTHER = "other"


_REVOKED_AS: Final[dict[RevocationReason, NationalStatus]] = {
    RevocationReason.PENALTY: NationalStatus.REVOKED,
    RevocationReason.WITHDRAWN: NationalStatus.WITHDRAWN,
    RevocationReason.CANCELLED: NationalStatus.CANCELLED,
    RevocationReason.SUPERSEDED: NationalStatus.LAPSED,
    RevocationReason.TRANSFERRED_OUT: NationalStatus.TRANSFERRED_OUT,
    RevocationReason.OTHER: NationalStatus.OTHER,
}


def national_status(
    chain_status: CertStatus,
    *,
    on: date,
    valid_until: date | None,
    reason: RevocationReason | None = None,
    void_by_issuer_revocation: bool = False,
) -> NationalStatus:
    """The 证照状态 code to export for a certificate as of day `on`.

    `chain_status` is what the anchor ledger records; `reason` is the revocation reason if
    the issuer recorded one (ignored unless revoked); `void_by_issuer_revocation` is True
    when the certificate's anchor falls at or after its issuer's revocation point.
    """
    if chain_status is CertStatus.REVOKED:
        return _REVOKED_AS[reason] if reason is not None else NationalStatus.WITHDRAWN
    if chain_status is CertStatus.SUSPENDED:
        return NationalStatus.SUSPENDED
    if void_by_issuer_revocation:
        return NationalStatus.LAPSED
    if valid_until is not None and on > valid_until:
        return NationalStatus.LAPSED
    return NationalStatus.VALID


def chain_status_of(code: str) -> CertStatus:
    """The on-chain state for a certificate imported with a national status code.

    For migrating existing national records: 01 -> in force, 02 -> suspended, every final
    code (03 04 05 06 07 99) -> revoked. (05 for a merely expired record should rather be
    imported as in force with its validUntil; callers that know the difference decide.)
    Raises ValueError for an unknown code.
    """
    status = NationalStatus(code)
    if status is NationalStatus.VALID:
        return CertStatus.NONE
    if status is NationalStatus.SUSPENDED:
        return CertStatus.SUSPENDED
    return CertStatus.REVOKED
