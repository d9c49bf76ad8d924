"""Governance through the typed clients on a real anvil: k-of-n, region scoping, refusals."""

from __future__ import annotations

import pytest

from common.document import type_code_bytes32
from ledger.errors import ContractRefused
from tests.conftest import BJ, BJ_AMR, HE, LICENCE, SH


def test_single_officer_proposal_does_not_execute(devnet):
    from common.document import issuer_id

    out = devnet.huren.propose_regional(devnet.officers[BJ][0], BJ, "IssuerRegistry", "registerIssuer", BJ,
                                        issuer_id(BJ_AMR), "北京市市场监督管理局")
    assert out.executed is False
    assert devnet.huren.issuer(issuer_id(BJ_AMR)) is None


def test_second_officer_approval_executes_registration(devnet):
    from common.document import issuer_id

    out = devnet.huren.regional(devnet.officers[BJ][:2], BJ, "IssuerRegistry", "registerIssuer", BJ,
                                issuer_id(BJ_AMR), "北京市市场监督管理局")
    assert out.executed is True
    assert devnet.huren.issuer(issuer_id(BJ_AMR))["region"] == BJ


def test_same_officer_cannot_approve_twice(devnet):
    from common.document import issuer_id

    officer = devnet.officers[BJ][0]
    out = devnet.huren.propose_regional(officer, BJ, "IssuerRegistry", "registerIssuer", BJ, issuer_id(BJ_AMR), "x")
    with pytest.raises(ContractRefused) as refused:
        devnet.huren.approve(officer, out.proposal_id)
    assert refused.value.error == "AlreadyApproved"


def test_officer_of_another_region_cannot_propose_for_beijing(devnet):
    from common.document import issuer_id

    with pytest.raises(ContractRefused) as refused:
        devnet.huren.propose_regional(devnet.officers[SH][0], BJ, "IssuerRegistry", "registerIssuer", BJ,
                                      issuer_id(BJ_AMR), "x")
    assert refused.value.error == "NotOfficer"


def test_officer_cannot_smuggle_another_region_into_the_call(devnet):
    from common.document import issuer_id

    with pytest.raises(ContractRefused) as refused:
        devnet.huren.propose_regional(devnet.officers[SH][0], SH, "IssuerRegistry", "registerIssuer", BJ,
                                      issuer_id(BJ_AMR), "x")
    assert refused.value.error == "RegionMismatch"


def test_officer_of_another_region_cannot_approve(devnet):
    from common.document import issuer_id

    out = devnet.huren.propose_regional(devnet.officers[BJ][0], BJ, "IssuerRegistry", "registerIssuer", BJ,
                                        issuer_id(BJ_AMR), "x")
    with pytest.raises(ContractRefused) as refused:
        devnet.huren.approve(devnet.officers[HE][0], out.proposal_id)
    assert refused.value.error == "NotOfficer"


def test_refusal_message_explains_in_plain_words(devnet):
    from common.document import issuer_id

    with pytest.raises(ContractRefused) as refused:
        devnet.huren.propose_regional(devnet.officers[SH][0], BJ, "IssuerRegistry", "registerIssuer", BJ,
                                      issuer_id(BJ_AMR), "x")
    assert "不是该地区的登记官员" in str(refused.value)


def test_type_definition_needs_a_quorum_of_regions(devnet):
    code = type_code_bytes32(LICENCE)
    first = devnet.huren.propose_consortium(devnet.officers[BJ][0], "Consortium", "defineType", code, "营业执照",
                                            b"\x22" * 32, 1, True)
    assert first.executed is False  # 1 of 4 regions
    second = devnet.huren.approve(devnet.officers[SH][0], first.proposal_id)
    assert second.executed is False  # 2 of 4: not a strict majority
    third = devnet.huren.approve(devnet.officers[HE][0], first.proposal_id)
    assert third.executed is True
    assert devnet.huren.call("Consortium", "typeInfo", code)[1] is True


def test_deployer_has_no_power_after_binding(devnet):
    with pytest.raises(ContractRefused):
        devnet.funder.transact(devnet.manifest.addresses["Consortium"], devnet.huren.encode(
            "Consortium", "bindContracts", devnet.funder.address, devnet.funder.address, devnet.funder.address,
            devnet.funder.address),
            "rebind")
