"""Anchoring and certificate status through the typed clients on a real anvil."""

from __future__ import annotations

import pytest

from common.merkle import StandardMerkleTree
from ledger.errors import ContractRefused
from tests.conftest import BJ, LICENCE

OTHER_TYPE = "11100000000013338W009"


def test_authorised_key_anchors_a_batch_root(licensed):
    result = licensed.huren.anchor(licensed.sender(licensed.issuer_key), b"\x01" * 32, LICENCE, 1024)
    assert result.already_anchored is False
    facts = licensed.huren.anchor_of(b"\x01" * 32)
    assert facts["issuerId"] == licensed.issuer_id
    assert facts["key"] == licensed.issuer_key.address
    assert facts["blockNumber"] == result.block_number


def test_reanchoring_the_same_root_is_recognised_as_done(licensed):
    key = licensed.sender(licensed.issuer_key)
    first = licensed.huren.anchor(key, b"\x02" * 32, LICENCE, 3)
    again = licensed.huren.anchor(key, b"\x02" * 32, LICENCE, 3)
    assert again.already_anchored is True
    assert again.block_number == first.block_number


def test_another_issuer_cannot_claim_an_anchored_root(licensed):
    other = licensed.new_account()
    licensed.register_issuer(BJ, "91110108MA01ABCD5X", "北京市海淀区民政局", [other.address], [LICENCE])
    licensed.huren.anchor(licensed.sender(licensed.issuer_key), b"\x03" * 32, LICENCE, 3)
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.anchor(licensed.sender(other), b"\x03" * 32, LICENCE, 3)
    assert refused.value.error == "RootAlreadyAnchored"


def test_unregistered_key_cannot_anchor(licensed):
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.anchor(licensed.sender(licensed.new_account()), b"\x04" * 32, LICENCE, 1)
    assert refused.value.error == "UnknownKey"


def test_issuer_cannot_anchor_a_type_it_is_not_authorised_for(licensed):
    licensed.define_type(OTHER_TYPE, "机动车驾驶证")
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.anchor(licensed.sender(licensed.issuer_key), b"\x05" * 32, OTHER_TYPE, 1)
    assert refused.value.error == "TypeNotAuthorised"


def test_suspended_issuer_cannot_anchor(licensed):
    licensed.regional(BJ, "IssuerRegistry", "suspendIssuer", BJ, licensed.issuer_id)
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.anchor(licensed.sender(licensed.issuer_key), b"\x06" * 32, LICENCE, 1)
    assert refused.value.error == "IssuerNotActive"


def _batch(n: int = 8) -> tuple[StandardMerkleTree, list[bytes]]:
    docs = [bytes([i + 1]) * 32 for i in range(n)]
    return StandardMerkleTree.of(docs), docs


def test_python_batch_proof_verifies_inside_the_contract(licensed):
    tree, docs = _batch(37 if False else 8)
    for i, doc in enumerate(docs):
        assert licensed.huren.verify_inclusion(doc, tree.root, tree.proof(i)) is True
    assert licensed.huren.verify_inclusion(b"\xee" * 32, tree.root, tree.proof(0)) is False


def test_issuer_revokes_its_own_certificate(licensed):
    tree, docs = _batch()
    key = licensed.sender(licensed.issuer_key)
    licensed.huren.anchor(key, tree.root, LICENCE, len(docs))
    licensed.huren.set_certificate_status(key, "revoke", docs[2], tree.root, tree.proof(2), reason=1)
    status, since, reason = licensed.huren.certificate_status(docs[2], licensed.issuer_id)
    assert (status, reason) == (2, 1) and since > 0


def test_revocation_is_final(licensed):
    tree, docs = _batch()
    key = licensed.sender(licensed.issuer_key)
    licensed.huren.anchor(key, tree.root, LICENCE, len(docs))
    licensed.huren.set_certificate_status(key, "revoke", docs[0], tree.root, tree.proof(0))
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.set_certificate_status(key, "reinstate", docs[0], tree.root, tree.proof(0))
    assert refused.value.error == "CertificateRevoked"


def test_suspension_is_reversible(licensed):
    tree, docs = _batch()
    key = licensed.sender(licensed.issuer_key)
    licensed.huren.anchor(key, tree.root, LICENCE, len(docs))
    licensed.huren.set_certificate_status(key, "suspend", docs[1], tree.root, tree.proof(1))
    assert licensed.huren.certificate_status(docs[1], licensed.issuer_id)[0] == 1
    licensed.huren.set_certificate_status(key, "reinstate", docs[1], tree.root, tree.proof(1))
    assert licensed.huren.certificate_status(docs[1], licensed.issuer_id)[0] == 0


def test_department_cannot_revoke_another_departments_certificate(licensed):
    tree, docs = _batch()
    licensed.huren.anchor(licensed.sender(licensed.issuer_key), tree.root, LICENCE, len(docs))
    other = licensed.new_account()
    licensed.register_issuer(BJ, "91110108MA01ABCD5X", "北京市海淀区民政局", [other.address], [LICENCE])
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.set_certificate_status(licensed.sender(other), "revoke", docs[0], tree.root, tree.proof(0))
    assert refused.value.error == "NotCertificateIssuer"


def test_status_change_needs_a_real_inclusion_proof(licensed):
    tree, docs = _batch()
    key = licensed.sender(licensed.issuer_key)
    licensed.huren.anchor(key, tree.root, LICENCE, len(docs))
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.set_certificate_status(key, "revoke", b"\x99" * 32, tree.root, tree.proof(0))
    assert refused.value.error == "NotInBatch"


def test_one_call_status_read_returns_everything(licensed):
    tree, docs = _batch()
    key = licensed.sender(licensed.issuer_key)
    licensed.huren.anchor(key, tree.root, LICENCE, len(docs))
    licensed.huren.set_certificate_status(key, "suspend", docs[3], tree.root, tree.proof(3))
    facts = licensed.huren.facts(tree.root, docs[3], licensed.issuer_key.address, 130000)
    assert facts["anchored"] is True
    assert facts["issuerId"] == licensed.issuer_id
    assert facts["issuerRegion"] == BJ
    assert facts["certStatus"] == 1
    assert facts["anchorKeyValidAtAnchor"] is True
    assert facts["recognisedNow"] is False  # Hebei has no recognition rule yet
