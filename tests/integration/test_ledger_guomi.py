"""Crypto suite 2 (国密) on a real anvil: SM2 keys in the issuer registry, suite-2 batches in the
anchor ledger, and status changes that carry their SM3 proof unchecked — read back through the
indexed view and the RPC view alike, refusals included (issue 17; sm3-status-on-chain.md)."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address
from sqlalchemy import select

from common.facts import CertStatus
from common.gm import SM2PublicKeyError, sm2_generate_keypair, sm3
from common.suites import sm2_key_id
from ledger import store as st
from ledger.chainview import IndexedChainView, RpcChainView
from ledger.clients import sm2_registry_key
from ledger.errors import ContractRefused
from ledger.indexer import Indexer
from ledger.rpc import RpcClient
from tests.conftest import BJ, LICENCE, SH


def _indexer(net, db_url: str) -> Indexer:
    return Indexer(RpcClient(net.node.url), net.manifest, net.abis, st.IndexStore(st.make_engine(db_url)))


def _views(net, db_url: str) -> tuple[IndexedChainView, RpcChainView, Indexer]:
    indexer = _indexer(net, db_url)
    indexer.sync()
    return IndexedChainView(indexer), RpcChainView(net.rpc, net.manifest, net.abis), indexer


def _sm3_pair_batch(seed: int) -> tuple[bytes, list[bytes], list[list[bytes]]]:
    """A two-certificate SM3 tree (StandardMerkleTree layout, SM3 for keccak): root, documents, proofs."""
    docs = [sm3(bytes([seed, i])) for i in range(2)]
    leaves = [sm3(sm3(d)) for d in docs]
    root = sm3(min(leaves) + max(leaves))
    return root, docs, [[leaves[1]], [leaves[0]]]


def _key_id(public_key: bytes) -> str:
    return str(to_checksum_address("0x" + sm2_key_id(public_key).hex()))


# ---------------------------------------------------------------- SM2 keys


def test_an_sm2_key_added_by_k_of_n_is_given_with_its_public_key_by_the_indexed_and_the_rpc_view(licensed, db_url):
    pair = sm2_generate_keypair()
    key_id = licensed.add_sm2_key(BJ, licensed.issuer_id, pair.public_key)
    assert key_id == _key_id(pair.public_key)

    indexed, direct, indexer = _views(licensed, db_url)
    a, b = indexed.key(key_id), direct.key(key_id)
    assert a is not None and a.sm2_public_key == pair.public_key and len(a.sm2_public_key) == 65
    assert a == b
    assert a.issuer_id == licensed.issuer_id and a.valid_until is None
    with indexer.store.engine.connect() as c:
        stored = c.execute(select(st.keys.c.sm2_public_key).where(st.keys.c.address == key_id)).scalar()
    assert stored == pair.public_key


def test_a_secp256k1_key_has_no_sm2_public_key_in_either_view(licensed, db_url):
    indexed, direct, _ = _views(licensed, db_url)
    address = licensed.issuer_key.address
    assert indexed.key(address).sm2_public_key is None
    assert direct.key(address).sm2_public_key is None
    assert licensed.huren.sm2_public_key(address) is None


def test_register_issuer_adds_its_sm2_keys_through_proposals(devnet):
    devnet.define_type(LICENCE, "营业执照")
    sender = devnet.new_account()
    pairs = [sm2_generate_keypair() for _ in range(2)]
    iid = devnet.register_issuer(SH, "91310000MA1FL4B24G", "上海市某区市场监督管理局", [sender.address], [LICENCE],
                                 sm2_keys=[p.public_key for p in pairs])
    for p in pairs:
        info = devnet.huren.key_info(_key_id(p.public_key))
        assert info is not None and info[0] == iid
        assert devnet.huren.sm2_public_key(_key_id(p.public_key)) == p.public_key


def test_a_retired_sm2_key_keeps_its_public_key_and_shows_its_window_in_both_views(licensed, db_url):
    pair = sm2_generate_keypair()
    key_id = licensed.add_sm2_key(BJ, licensed.issuer_id, pair.public_key)
    until = licensed.now() + 1
    licensed.regional(BJ, "IssuerRegistry", "retireKey", BJ, licensed.issuer_id, key_id, until)
    indexed, direct, _ = _views(licensed, db_url)
    assert indexed.key(key_id) == direct.key(key_id)
    assert indexed.key(key_id).valid_until == until
    assert indexed.key(key_id).sm2_public_key == pair.public_key


def test_an_sm2_key_off_the_curve_is_refused_before_and_by_the_registry(licensed):
    bad = bytearray(sm2_generate_keypair().public_key[1:])
    bad[-1] ^= 1
    with pytest.raises(SM2PublicKeyError):
        sm2_registry_key(bytes(bad))
    with pytest.raises(ContractRefused) as refused:
        licensed.regional(BJ, "IssuerRegistry", "addSM2Key", BJ, licensed.issuer_id, bytes(bad), 0)
    assert refused.value.error == "SM2KeyNotOnCurve"


def test_an_sm2_key_in_the_65_byte_form_is_refused_by_the_registry(licensed):
    with pytest.raises(ContractRefused) as refused:
        licensed.regional(BJ, "IssuerRegistry", "addSM2Key", BJ, licensed.issuer_id,
                          sm2_generate_keypair().public_key, 0)
    assert refused.value.error == "SM2KeyWrongLength"


def test_an_sm2_key_of_another_regions_department_is_refused(licensed):
    with pytest.raises(ContractRefused) as refused:
        licensed.regional(SH, "IssuerRegistry", "addSM2Key", SH, licensed.issuer_id,
                          sm2_registry_key(sm2_generate_keypair().public_key), 0)
    assert refused.value.error == "IssuerWrongRegion"


# ---------------------------------------------------------------- suite-2 batches and their statuses


def test_a_guomi_batch_is_anchored_revoked_and_suspended_and_both_views_read_the_statuses(licensed, db_url):
    key = licensed.sender(licensed.issuer_key)
    root, docs, proofs = _sm3_pair_batch(1)
    result = licensed.huren.anchor(key, root, LICENCE, len(docs), suite=2)
    assert not result.already_anchored
    assert licensed.huren.batch_suite(root) == 2
    licensed.huren.set_certificate_status(key, "revoke", docs[0], root, proofs[0], reason=3, suite=2)
    licensed.huren.set_certificate_status(key, "suspend", docs[1], root, proofs[1], reason=1, suite=2)

    indexed, direct, indexer = _views(licensed, db_url)
    for doc, want in ((docs[0], CertStatus.REVOKED), (docs[1], CertStatus.SUSPENDED)):
        got = indexed.certificate_status(doc, licensed.issuer_id)
        assert got == direct.certificate_status(doc, licensed.issuer_id)
        assert got.status == want
    a, b = indexed.anchor(root), direct.anchor(root)
    assert (a.issuer_id, a.key, a.block_number, a.timestamp) == (b.issuer_id, b.key, b.block_number, b.timestamp)
    assert indexer.model.batch_suite(root) == 2
    with indexer.store.engine.connect() as c:
        assert c.execute(select(st.anchors.c.suite).where(st.anchors.c.batch_root == root)).scalar() == 2

    licensed.huren.set_certificate_status(key, "reinstate", docs[1], root, proofs[1], suite=2)
    indexer.sync()
    direct.refresh()  # the RPC view reads at the head it saw first; a new transaction needs a new head
    reinstated = indexed.certificate_status(docs[1], licensed.issuer_id)
    assert reinstated == direct.certificate_status(docs[1], licensed.issuer_id)
    assert reinstated.status == CertStatus.NONE


def test_a_suite_1_batch_is_suite_1_in_the_index_and_on_chain(licensed, db_url):
    from common.merkle import StandardMerkleTree

    tree = StandardMerkleTree.of([bytes([7, i]) * 16 for i in range(4)])
    licensed.huren.anchor(licensed.sender(licensed.issuer_key), tree.root, LICENCE, 4)
    _, _, indexer = _views(licensed, db_url)
    assert licensed.huren.batch_suite(tree.root) == 1 == indexer.model.batch_suite(tree.root)
    assert licensed.huren.batch_suite(b"\x09" * 32) == 0 == indexer.model.batch_suite(b"\x09" * 32)


def test_anchoring_a_guomi_batch_again_counts_as_done_but_not_in_the_other_suite(licensed):
    key = licensed.sender(licensed.issuer_key)
    root, _docs, _ = _sm3_pair_batch(2)
    licensed.huren.anchor(key, root, LICENCE, 2, suite=2)
    assert licensed.huren.anchor(key, root, LICENCE, 2, suite=2).already_anchored
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.anchor(key, root, LICENCE, 2, suite=1)
    assert refused.value.error == "RootAlreadyAnchored"


def test_a_guomi_status_change_of_a_suite_1_batch_is_refused(licensed):
    from common.merkle import StandardMerkleTree

    key = licensed.sender(licensed.issuer_key)
    docs = [bytes([8, i]) * 16 for i in range(2)]
    tree = StandardMerkleTree.of(docs)
    licensed.huren.anchor(key, tree.root, LICENCE, 2)
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.set_certificate_status(key, "revoke", docs[0], tree.root, tree.proof(0), 1, suite=2)
    assert refused.value.error == "NotGuomiBatch"


def test_a_guomi_batch_is_revoked_once(licensed):
    key = licensed.sender(licensed.issuer_key)
    root, docs, proofs = _sm3_pair_batch(3)
    licensed.huren.anchor(key, root, LICENCE, 2, suite=2)
    licensed.huren.set_certificate_status(key, "revoke", docs[0], root, proofs[0], 1, suite=2)
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.set_certificate_status(key, "revoke", docs[0], root, proofs[0], 1, suite=2)
    assert refused.value.error == "CertificateRevoked"


def test_a_guomi_status_change_by_another_departments_key_is_refused(licensed):
    root, docs, proofs = _sm3_pair_batch(4)
    licensed.huren.anchor(licensed.sender(licensed.issuer_key), root, LICENCE, 2, suite=2)
    other = licensed.new_account()
    licensed.register_issuer(SH, "91310000MA1FL4B24G", "上海市某区市场监督管理局", [other.address], [LICENCE])
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.set_certificate_status(licensed.sender(other), "revoke", docs[0], root, proofs[0], 1, suite=2)
    assert refused.value.error == "NotCertificateIssuer"


def test_a_guomi_status_change_of_a_revoked_department_is_refused(licensed):
    key = licensed.sender(licensed.issuer_key)
    root, docs, proofs = _sm3_pair_batch(5)
    licensed.huren.anchor(key, root, LICENCE, 2, suite=2)
    licensed.regional(BJ, "IssuerRegistry", "revokeIssuer", BJ, licensed.issuer_id, licensed.now())
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.set_certificate_status(key, "suspend", docs[0], root, proofs[0], 1, suite=2)
    assert refused.value.error == "IssuerRevoked"


def test_a_guomi_status_change_by_a_retired_key_is_refused(licensed):
    key = licensed.sender(licensed.issuer_key)
    root, docs, proofs = _sm3_pair_batch(6)
    licensed.huren.anchor(key, root, LICENCE, 2, suite=2)
    licensed.regional(BJ, "IssuerRegistry", "retireKey", BJ, licensed.issuer_id, licensed.issuer_key.address,
                      licensed.now())
    with pytest.raises(ContractRefused) as refused:
        licensed.huren.set_certificate_status(key, "revoke", docs[0], root, proofs[0], 1, suite=2)
    assert refused.value.error == "NotCertificateIssuer"


def test_an_unknown_suite_is_refused_before_anything_is_sent(licensed):
    with pytest.raises(ValueError, match="unknown crypto suite"):
        licensed.huren.anchor(licensed.sender(licensed.issuer_key), b"\x05" * 32, LICENCE, 1, suite=3)
    with pytest.raises(ValueError, match="unknown crypto suite"):
        licensed.huren.set_certificate_status(licensed.sender(licensed.issuer_key), "revoke", b"\x05" * 32,
                                              b"\x06" * 32, [], 1, suite=0)
