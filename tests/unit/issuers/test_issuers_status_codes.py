"""Our on-chain states exported as national 证照状态 codes."""

from __future__ import annotations

from datetime import date

import pytest

from common.facts import CertStatus
from issuers.status_codes import NationalStatus, RevocationReason, chain_status_of, national_status

TODAY = date(2026, 1, 1)


def status(chain: CertStatus, **kw: object) -> NationalStatus:
    return national_status(chain, on=kw.pop("on", TODAY), valid_until=kw.pop("valid_until", None), **kw)  # type: ignore[arg-type]


def test_codes_and_labels_follow_the_national_list() -> None:
    assert {s.value: s.label for s in NationalStatus} == {
        "01": "有效", "02": "暂扣", "03": "撤销", "04": "注销",
        "05": "失效", "06": "办理转出", "07": "吊销", "99": "其他",
    }  # fmt: skip


def test_in_force_certificate_is_01() -> None:
    assert status(CertStatus.NONE) is NationalStatus.VALID


def test_suspended_is_02() -> None:
    assert status(CertStatus.SUSPENDED) is NationalStatus.SUSPENDED


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (RevocationReason.PENALTY, "07"),
        (RevocationReason.WITHDRAWN, "03"),
        (RevocationReason.CANCELLED, "04"),
        (RevocationReason.SUPERSEDED, "05"),
        (RevocationReason.TRANSFERRED_OUT, "06"),
        (RevocationReason.OTHER, "99"),
    ],
)
def test_revoked_maps_by_reason(reason: RevocationReason, code: str) -> None:
    assert status(CertStatus.REVOKED, reason=reason).value == code


def test_revoked_without_recorded_reason_is_03_never_07() -> None:
    assert status(CertStatus.REVOKED) is NationalStatus.WITHDRAWN


def test_expired_is_05() -> None:
    assert status(CertStatus.NONE, valid_until=date(2025, 12, 31)) is NationalStatus.LAPSED


def test_last_day_of_validity_is_still_01() -> None:
    assert status(CertStatus.NONE, valid_until=TODAY) is NationalStatus.VALID


def test_void_by_issuer_revocation_is_05() -> None:
    assert status(CertStatus.NONE, void_by_issuer_revocation=True) is NationalStatus.LAPSED


def test_revocation_outranks_suspension_and_expiry() -> None:
    assert status(CertStatus.REVOKED, valid_until=date(2000, 1, 1)) is NationalStatus.WITHDRAWN


def test_suspension_outranks_expiry() -> None:
    assert status(CertStatus.SUSPENDED, valid_until=date(2000, 1, 1)) is NationalStatus.SUSPENDED


def test_reason_is_ignored_unless_revoked() -> None:
    assert status(CertStatus.NONE, reason=RevocationReason.PENALTY) is NationalStatus.VALID


@pytest.mark.parametrize(
    ("code", "chain"),
    [("01", CertStatus.NONE), ("02", CertStatus.SUSPENDED), ("03", CertStatus.REVOKED), ("07", CertStatus.REVOKED)],
)
def test_import_maps_national_codes_to_chain_states(code: str, chain: CertStatus) -> None:
    assert chain_status_of(code) is chain


def test_import_refuses_unknown_codes() -> None:
    with pytest.raises(ValueError):
        chain_status_of("08")
