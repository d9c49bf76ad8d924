"""Revoke, suspend, reinstate through the issuer service onto a real chain.

Only a department's own certificates: its service refuses others' (typed error, nothing sent),
and the AnchorLedger refuses them too when a department's key tries directly.
"""

from __future__ import annotations

import pytest

from common.facts import CertStatus
from issuers.errors import NotOwnCertificate, NotYetAnchored, StatusChangeRefused
from issuers.status_actions import REASON_CODES
from issuers.status_codes import RevocationReason
from ledger.errors import ContractRefused
from tests.integration.issuer_env import DeptEnv, register_department


@pytest.fixture
def dept(devnet) -> DeptEnv:  # type: ignore[no-untyped-def]
    return register_department(devnet)


@pytest.fixture
def other(devnet, dept) -> DeptEnv:  # type: ignore[no-untyped-def]
    """A second Beijing department (another district), same types."""
    return register_department(devnet, locality="110108", define=False)


def _anchored(dept: DeptEnv, db_url: str, n: int = 3) -> tuple[object, list[str]]:
    service = dept.service(db_url)
    ids = service.issue_many(dept.documents(n)).accepted
    assert dept.worker(service).drain(timeout=30)
    return service, ids


def test_department_revokes_its_own_certificate_on_chain(dept, db_url):
    service, ids = _anchored(dept, db_url)
    change = service.change_status(ids[0], "revoke", "吊销", note="行政处罚决定书 京市监罚〔2026〕1号")
    facts = service.chain_status(ids[0])
    assert facts.status is CertStatus.REVOKED and facts.reason == REASON_CODES[RevocationReason.PENALTY]
    assert service.chain_status(ids[1]).status is CertStatus.NONE
    assert service.store.status_changes(ids[0]) == [change]


def test_suspended_certificate_can_be_reinstated(dept, db_url):
    service, ids = _anchored(dept, db_url)
    service.change_status(ids[1], "suspend", "other")
    assert service.chain_status(ids[1]).status is CertStatus.SUSPENDED
    service.change_status(ids[1], "reinstate")
    assert service.chain_status(ids[1]).status is CertStatus.NONE
    assert [c.action for c in service.store.status_changes(ids[1])] == ["suspend", "reinstate"]


def test_revoked_certificate_cannot_be_reinstated(dept, db_url):
    service, ids = _anchored(dept, db_url)
    service.change_status(ids[2], "revoke", "withdrawn")
    with pytest.raises(StatusChangeRefused) as refused:
        service.change_status(ids[2], "reinstate")
    assert refused.value.error == "CertificateRevoked"
    assert "撤销" in refused.value.message
    assert service.chain_status(ids[2]).status is CertStatus.REVOKED


def test_status_change_before_the_batch_is_anchored_is_refused(dept, db_url):
    service = dept.service(db_url)
    cert_id = service.issue(dept.documents(1)[0]).cert_id
    with pytest.raises(NotYetAnchored) as refused:
        service.change_status(cert_id, "suspend")
    assert "尚未完成上链锚定" in str(refused.value)


def test_service_refuses_to_change_another_departments_certificate(dept, other, db_url):
    service, ids = _anchored(dept, db_url)
    others = other.service(db_url)  # same store (e.g. a shared provincial database), other department
    with pytest.raises(NotOwnCertificate) as refused:
        others.change_status(ids[0], "revoke", "withdrawn")
    assert "不是本部门签发的" in str(refused.value)
    assert service.chain_status(ids[0]).status is CertStatus.NONE


def test_chain_refuses_another_departments_key_even_with_a_valid_proof(dept, other, db_url):
    service, ids = _anchored(dept, db_url)
    cert = service.certificate(ids[0])
    intruder = other.net.sender(other.account)
    with pytest.raises(ContractRefused) as refused:
        other.net.huren.set_certificate_status(intruder, "revoke", cert.document_root, cert.batch_root,
                                               cert.batch_proof, reason=1)
    assert refused.value.error == "NotCertificateIssuer"
    assert service.chain_status(ids[0]).status is CertStatus.NONE


def test_unknown_reason_is_refused_before_anything_is_sent(dept, db_url):
    service, ids = _anchored(dept, db_url, n=1)
    with pytest.raises(ValueError, match="无法识别的原因"):
        service.change_status(ids[0], "revoke", "because")
    assert service.store.status_changes(ids[0]) == []
