"""Facts are as old as the block they come from, for the index and the RPC view, on a real anvil;
with several RPC URLs the indexer reads from the node whose head is newest (common/freshness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from common.facts import CertStatus
from common.merkle import StandardMerkleTree
from ledger import store as st
from ledger.anvil import IDLE_BLOCK_TIME_S, Anvil, start_anvil
from ledger.chainview import IndexedChainView, RpcChainView
from ledger.devnet import Devnet, start_devnet, wait_for
from ledger.indexer import Indexer
from ledger.rpc import RpcClient
from tests.conftest import LICENCE


def _block_time(rpc: RpcClient, number: int) -> int:
    block = rpc.get_block(number)
    assert block is not None
    return int(str(block["timestamp"]), 16)


def _anchored(net: Devnet) -> tuple[StandardMerkleTree, list[bytes]]:
    docs = [bytes([9, i + 1]) * 16 for i in range(4)]
    tree = StandardMerkleTree.of(docs)
    net.huren.anchor(net.sender(net.issuer_key), tree.root, LICENCE, len(docs))
    return tree, docs


def test_rpc_view_facts_are_as_old_as_the_block_its_calls_ran_at(licensed: Devnet) -> None:
    view = RpcChainView(licensed.rpc, licensed.manifest, licensed.abis)
    fresh = view.freshness()
    assert fresh.source == "rpc"
    assert fresh.head_time == _block_time(licensed.rpc, fresh.height)


def test_rpc_view_reads_every_fact_at_that_block_until_refreshed(licensed: Devnet) -> None:
    tree, docs = _anchored(licensed)
    view = RpcChainView(licensed.rpc, licensed.manifest, licensed.abis)
    view.refresh()
    view.freshness()
    licensed.huren.set_certificate_status(licensed.sender(licensed.issuer_key), "revoke", docs[0], tree.root,
                                          tree.proof(0), reason=3)
    # The revocation is in a newer block than the one this verification's facts are of.
    assert view.certificate_status(docs[0], licensed.issuer_id).status is CertStatus.NONE
    view.refresh()
    assert view.certificate_status(docs[0], licensed.issuer_id).status is CertStatus.REVOKED


def test_index_facts_are_as_old_as_the_newest_indexed_block(licensed: Devnet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _anchored(licensed)
    indexer = Indexer(licensed.rpc, licensed.manifest, licensed.abis,
                      st.IndexStore(st.make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")))
    indexer.sync()
    fresh = IndexedChainView(indexer).freshness()
    assert fresh.height == licensed.rpc.block_number()
    assert fresh.head_time == _block_time(licensed.rpc, fresh.height)


def test_rewinding_to_a_node_that_fell_back_takes_the_fork_blocks_time(artifacts, tmp_path) -> None:  # type: ignore[no-untyped-def]
    node = start_anvil()
    try:
        net = start_devnet(node, artifacts=artifacts)
        indexer = Indexer(net.rpc, net.manifest, net.abis,
                          st.IndexStore(st.make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")))
        indexer.sync()
        fork = net.rpc.block_number()
        snapshot = node.rpc("evm_snapshot")
        node.rpc("anvil_mine", [hex(3), hex(600)])  # three blocks, ten minutes apart
        indexer.sync()
        assert indexer.stats.head_time >= _block_time(net.rpc, fork) + 1800
        node.rpc("evm_revert", [snapshot])  # the node is back at the older state
        indexer.sync()
        assert indexer.stats.indexed == fork
        assert indexer.freshness().head_time == _block_time(net.rpc, fork)
        reopened = Indexer(net.rpc, net.manifest, net.abis,
                           st.IndexStore(st.make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")))
        assert reopened.freshness().head_time == _block_time(net.rpc, fork)  # the cursor's time moved back too
    finally:
        node.stop()


@pytest.fixture
def primary_and_stopped_replica(artifacts) -> Iterator[tuple[Devnet, Anvil]]:  # type: ignore[no-untyped-def]
    """A network-like node with the contracts, and a replica loaded from its state that mines nothing."""
    primary = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)
    replica = start_anvil(extra=["--no-mining"])
    try:
        net = start_devnet(primary, artifacts=artifacts)
        replica.rpc("anvil_loadState", [primary.rpc("anvil_dumpState")])
        yield net, replica
    finally:
        replica.stop()
        primary.stop()


def test_indexer_reads_from_the_newest_node_when_the_first_stopped_following(
    primary_and_stopped_replica: tuple[Devnet, Anvil], tmp_path  # type: ignore[no-untyped-def]
) -> None:
    net, replica = primary_and_stopped_replica
    bound = 2
    rpc = RpcClient([replica.url, net.node.url])  # the stale replica first: the operator's preferred node
    indexer = Indexer(rpc, net.manifest, net.abis,
                      st.IndexStore(st.make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")), max_facts_age_s=bound)
    replica_time = _block_time(RpcClient(replica.url), RpcClient(replica.url).block_number())
    assert wait_for(lambda: net.now() > replica_time + bound, timeout=30), "the primary made no newer blocks"
    indexer.sync()
    assert rpc.active == 1
    assert indexer.stats.stale_nodes == frozenset({replica.url})
    fresh = indexer.freshness()
    assert fresh.head_time > replica_time + bound
    assert f"127.0.0.1:{replica.port}" in fresh.note and "落后" in fresh.note


def test_nodes_within_the_bound_of_each_other_are_left_as_configured(
    primary_and_stopped_replica: tuple[Devnet, Anvil], tmp_path  # type: ignore[no-untyped-def]
) -> None:
    net, replica = primary_and_stopped_replica
    rpc = RpcClient([replica.url, net.node.url])
    indexer = Indexer(rpc, net.manifest, net.abis,
                      st.IndexStore(st.make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")), max_facts_age_s=3600)
    indexer.compare_heads()
    assert rpc.active == 0
    assert indexer.stats.stale_nodes == frozenset() and indexer.freshness().note == ""
