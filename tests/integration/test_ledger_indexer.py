"""The indexed read model against a real anvil, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from common.facts import CertStatus, IssuerStatus
from common.merkle import StandardMerkleTree
from ledger import store as st
from ledger.anvil import start_anvil
from ledger.chainview import IndexedChainView, RpcChainView
from ledger.devnet import start_devnet
from ledger.errors import NodeUnavailable
from ledger.indexer import Indexer
from ledger.rpc import RpcClient
from tests.conftest import BJ, HE, LICENCE, SH


def _indexer(net, db_url: str) -> Indexer:
    return Indexer(RpcClient(net.node.url), net.manifest, net.abis, st.IndexStore(st.make_engine(db_url)))


def _batch(seed: int, n: int = 8) -> tuple[StandardMerkleTree, list[bytes]]:
    docs = [bytes([seed, i + 1]) * 16 for i in range(n)]
    return StandardMerkleTree.of(docs), docs


def _full_flow(net) -> tuple[StandardMerkleTree, list[bytes]]:
    key = net.sender(net.issuer_key)
    tree, docs = _batch(1)
    net.huren.anchor(key, tree.root, LICENCE, len(docs))
    net.huren.set_certificate_status(key, "revoke", docs[0], tree.root, tree.proof(0), reason=3)
    net.huren.set_certificate_status(key, "suspend", docs[1], tree.root, tree.proof(1), reason=1)
    net.recognise(HE, LICENCE, BJ)
    return tree, docs


def test_read_model_agrees_with_direct_contract_reads(licensed, db_url):
    tree, docs = _full_flow(licensed)
    indexer = _indexer(licensed, db_url)
    indexer.sync()
    indexed = IndexedChainView(indexer)
    direct = RpcChainView(licensed.rpc, licensed.manifest, licensed.abis)
    now = licensed.now()
    a, b = indexed.anchor(tree.root), direct.anchor(tree.root)
    assert (a.issuer_id, a.key, a.type_code, a.block_number, a.timestamp) == \
        (b.issuer_id, b.key, b.type_code, b.block_number, b.timestamp)
    i, j = indexed.issuer(licensed.issuer_id), direct.issuer(licensed.issuer_id)
    assert (i.region, i.status, i.revoked_from) == (j.region, j.status, j.revoked_from)
    assert LICENCE in i.authorised_types and LICENCE in j.authorised_types
    assert indexed.key(licensed.issuer_key.address) == direct.key(licensed.issuer_key.address)
    for doc in docs[:3]:
        assert indexed.certificate_status(doc, licensed.issuer_id) == direct.certificate_status(doc, licensed.issuer_id)
    assert indexed.type_info(LICENCE).schema_hash == direct.type_info(LICENCE).schema_hash
    assert (indexed.recognition(HE, LICENCE, BJ, now) is None) == (direct.recognition(HE, LICENCE, BJ, now) is None)
    assert (indexed.recognition(SH, LICENCE, BJ, now) is None) == (direct.recognition(SH, LICENCE, BJ, now) is None)


def test_read_model_tables_hold_the_indexed_state(licensed, db_url):
    tree, _ = _full_flow(licensed)
    indexer = _indexer(licensed, db_url)
    indexer.sync()
    with indexer.store.engine.connect() as c:
        assert c.execute(select(st.anchors.c.issuer_id).where(st.anchors.c.batch_root == tree.root)).scalar() \
            == licensed.issuer_id
        statuses = dict(c.execute(select(st.cert_status.c.cert_hash, st.cert_status.c.status)).all())
        assert sorted(statuses.values()) == [int(CertStatus.SUSPENDED), int(CertStatus.REVOKED)]
        assert c.execute(select(func.count()).select_from(st.regions)).scalar() == 4


def test_restarted_indexer_resumes_from_its_journal(licensed, db_url):
    _, docs = _full_flow(licensed)
    first = _indexer(licensed, db_url)
    first.sync()
    second = _indexer(licensed, db_url)
    assert second.stats.indexed == first.stats.indexed
    assert second.model.anchors.keys() == first.model.anchors.keys()
    assert second.model.certificate_status(docs[0], licensed.issuer_id).status == CertStatus.REVOKED


def test_indexer_follows_new_events_incrementally(licensed, db_url):
    indexer = _indexer(licensed, db_url)
    indexer.sync()
    tree, docs = _batch(7)
    licensed.huren.anchor(licensed.sender(licensed.issuer_key), tree.root, LICENCE, len(docs))
    assert tree.root not in indexer.model.anchors
    indexer.sync()
    assert indexer.model.anchors[tree.root].cert_count == len(docs)


def test_issuer_revocation_is_indexed_with_its_effective_time(licensed, db_url):
    indexer = _indexer(licensed, db_url)
    t = licensed.now()
    licensed.regional(BJ, "IssuerRegistry", "revokeIssuer", BJ, licensed.issuer_id, t)
    indexer.sync()
    facts = indexer.model.issuers[licensed.issuer_id]
    assert facts.status == IssuerStatus.REVOKED and facts.revoked_from == t


def test_confirmations_grow_with_new_blocks(licensed, db_url):
    tree, docs = _batch(9)
    licensed.huren.anchor(licensed.sender(licensed.issuer_key), tree.root, LICENCE, len(docs))
    indexer = _indexer(licensed, db_url)
    indexer.sync()
    view = IndexedChainView(indexer)
    before = view.anchor(tree.root).confirmations
    licensed.node.rpc("anvil_mine", [hex(3)])
    indexer.sync()
    assert view.anchor(tree.root).confirmations == before + 3


def test_anchor_in_a_dropped_block_disappears_and_its_replacement_appears(artifacts, tmp_path):
    node = start_anvil()
    try:
        net = start_devnet(node, artifacts=artifacts)
        net.define_type(LICENCE, "营业执照")
        key_account = net.new_account()
        net.register_issuer(BJ, "91110000802100433B", "北京市市场监督管理局", [key_account.address], [LICENCE])
        indexer = _indexer(net, f"sqlite:///{tmp_path / 'reorg.sqlite'}")
        indexer.sync()
        snapshot = node.rpc("evm_snapshot")
        dropped, _ = _batch(20)
        net.huren.anchor(net.sender(key_account), dropped.root, LICENCE, 8)
        node.rpc("anvil_mine", [hex(2)])
        indexer.sync()
        assert dropped.root in indexer.model.anchors
        node.rpc("evm_revert", [snapshot])
        replacement, _ = _batch(21)
        net.huren.anchor(net.sender(key_account), replacement.root, LICENCE, 8)
        node.rpc("anvil_mine", [hex(3)])  # the new branch is longer than the dropped one
        indexer.sync()
        assert dropped.root not in indexer.model.anchors
        assert replacement.root in indexer.model.anchors
        assert indexer.stats.reorgs == 1
        with indexer.store.engine.connect() as c:
            roots = {r for (r,) in c.execute(select(st.anchors.c.batch_root))}
        assert roots == {replacement.root}
    finally:
        node.stop()


def test_two_hundred_concurrent_transactions_all_land_without_nonce_gaps(licensed):
    sender = licensed.sender(licensed.issuer_key)
    start_nonce = int(licensed.rpc.call("eth_getTransactionCount", [sender.address, "latest"]), 16)
    roots = [bytes([0xA0, i // 256, i % 256]) + b"\x00" * 29 for i in range(200)]
    hashes: list[bytes] = []
    lock = threading.Lock()

    def worker(chunk: list[bytes]) -> None:
        for root in chunk:
            h = sender.send(licensed.manifest.addresses["AnchorLedger"],
                            licensed.huren.encode("AnchorLedger", "anchor", root,
                                                  LICENCE.encode().ljust(32, b"\0"), 1),
                            "anchor", gas=120_000)
            with lock:
                hashes.append(h)

    threads = [threading.Thread(target=worker, args=(roots[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    receipts = [sender.wait(h) for h in hashes]
    assert len({r.tx_hash for r in receipts}) == 200
    assert all(r.status == 1 for r in receipts)
    end_nonce = int(licensed.rpc.call("eth_getTransactionCount", [sender.address, "latest"]), 16)
    assert end_nonce - start_nonce == 200
    assert all(licensed.huren.anchor_of(r) is not None for r in roots)


def test_client_fails_over_to_the_next_endpoint(anvil_node):
    from ledger.anvil import free_port

    client = RpcClient([f"http://127.0.0.1:{free_port()}", anvil_node.url], timeout=2)
    assert client.block_number() >= 0
    assert client.url == anvil_node.url


def test_client_reports_no_node_when_every_endpoint_is_down():
    from ledger.anvil import free_port

    client = RpcClient([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"], timeout=1)
    with pytest.raises(NodeUnavailable, match="no chain node answered"):
        client.block_number()


def test_index_facts_do_not_get_newer_while_the_node_is_down(artifacts, tmp_path):
    node = start_anvil()
    try:
        net = start_devnet(node, artifacts=artifacts)
        indexer = _indexer(net, f"sqlite:///{tmp_path / 'stale.sqlite'}")
        indexer.sync()
        before = IndexedChainView(indexer).freshness()
        node.kill()
        with pytest.raises(NodeUnavailable):
            indexer.step()
        after = IndexedChainView(indexer).freshness()
        assert (after.height, after.head_time) == (before.height, before.head_time)
        assert "读取链节点失败" in after.note
    finally:
        node.stop()
