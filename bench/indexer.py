"""Indexer benchmark: cold sync of many anchors and revocations, and status lookups.

    .venv/bin/python -m bench.indexer            # 20,000 anchors + 2,000 revocations
    .venv/bin/python -m bench.indexer --quick    # 2,000 anchors + 200 revocations

Fills a fresh anvil through the real contracts (every anchor is a real, authorised `anchor`
transaction; every revocation carries a real Merkle proof), then times a cold sync of a new
indexer into a fresh SQLite file, a status lookup in the indexed read model, and the same
lookup done the naive way — one `eth_call` per fact. Last line:
`indexer events_per_s=<x> cold_sync_s=<y> lookup_us=<z> n=<n> ...`
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from eth_account import Account

from bench.machine import describe
from common.document import type_code_bytes32
from common.merkle import StandardMerkleTree
from ledger import store as st
from ledger.anvil import start_anvil
from ledger.chainview import IndexedChainView, RpcChainView
from ledger.devnet import start_devnet
from ledger.indexer import Indexer
from ledger.rpc import RpcClient

LICENCE = "11100000000013338W032"
BJ = 110000
DOCS_PER_BATCH = 4
SEND_CHUNK = 250


def fill(net, anchors: int, revocations: int) -> tuple[list[bytes], list[tuple[bytes, bytes]]]:  # type: ignore[no-untyped-def]
    """Anchor `anchors` batch roots and revoke `revocations` certificates, as fast as anvil takes them."""
    net.define_type(LICENCE, "营业执照")
    key = Account.create()
    net.fund([key.address])
    issuer = net.register_issuer(BJ, "91110000802100433B", "北京市市场监督管理局", [key.address], [LICENCE])
    sender = net.sender(key)
    ledger = net.manifest.addresses["AnchorLedger"]
    anchor_fn = net.abis["AnchorLedger"].fn("anchor")
    revoke_fn = net.abis["AnchorLedger"].fn("revokeCertificate")
    code = type_code_bytes32(LICENCE)
    nonce = int(net.rpc.call("eth_getTransactionCount", [key.address, "pending"]), 16)
    roots: list[bytes] = []
    trees: list[tuple[StandardMerkleTree, list[bytes]]] = []
    raws: list[bytes] = []
    for i in range(anchors):
        docs = [i.to_bytes(8, "big") + j.to_bytes(24, "big") for j in range(DOCS_PER_BATCH)]
        tree = StandardMerkleTree.of(docs)
        trees.append((tree, docs))
        roots.append(tree.root)
        raws.append(sender.sign(ledger, anchor_fn.encode(tree.root, code, DOCS_PER_BATCH), 120_000, nonce)[0])
        nonce += 1
    revoked: list[tuple[bytes, bytes]] = []
    for i in random.Random(7).sample(range(anchors), revocations):
        tree, docs = trees[i]
        data = revoke_fn.encode(docs[0], tree.root, tree.proof(0), 1)
        raws.append(sender.sign(ledger, data, 150_000, nonce)[0])
        revoked.append((docs[0], issuer))
        nonce += 1
    # Mine many transactions per block (as a real network does) instead of one block each:
    # anvil's automine of thousands of queued transactions is very slow.
    net.rpc.call("evm_setAutomine", [False])
    first = nonce - len(raws)
    for i in range(0, len(raws), SEND_CHUNK):
        net.rpc.batch([("eth_sendRawTransaction", ["0x" + r.hex()]) for r in raws[i:i + SEND_CHUNK]])
        target = first + min(i + SEND_CHUNK, len(raws))
        while int(net.rpc.call("eth_getTransactionCount", [key.address, "latest"]), 16) < target:
            net.rpc.call("evm_mine")
    net.rpc.call("evm_setAutomine", [True])
    return roots, revoked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 anchors instead of 20,000")
    parser.add_argument("--anchors", type=int)
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    anchors = args.anchors or (2_000 if args.quick else 20_000)
    revocations = anchors // 10
    print(describe())
    node = start_anvil()
    try:
        net = start_devnet(node)
        t0 = time.perf_counter()
        roots, revoked = fill(net, anchors, revocations)
        print(f"filled chain: {anchors} anchors + {revocations} revocations in {time.perf_counter() - t0:.1f} s "
              f"(head {net.rpc.block_number()})")
        with tempfile.TemporaryDirectory() as tmp:
            engine = st.make_engine(f"sqlite:///{Path(tmp) / 'index.sqlite'}")
            t0 = time.perf_counter()
            indexer = Indexer(RpcClient(node.url), net.manifest, net.abis, st.IndexStore(engine))
            indexer.sync()
            cold = time.perf_counter() - t0
            events = indexer.stats.events
            assert len(indexer.model.anchors) == anchors, "indexer lost anchors"
            assert len(indexer.model.cert_status) == revocations, "indexer lost revocations"
            view = IndexedChainView(indexer)
            rng = random.Random(1)
            sample = [rng.choice(roots) for _ in range(args.lookups)]
            issuer = revoked[0][1]
            t0 = time.perf_counter()
            for root in sample:
                facts = view.anchor(root)
                view.certificate_status(root, issuer)
            lookup_us = (time.perf_counter() - t0) / len(sample) * 1e6
            assert facts is not None
            naive = RpcChainView(RpcClient(node.url), net.manifest, net.abis)
            n_naive = 300
            t0 = time.perf_counter()
            for root in sample[:n_naive]:
                naive.anchor(root)
                naive.certificate_status(root, issuer)
            naive_us = (time.perf_counter() - t0) / n_naive * 1e6
            times = []
            for _ in range(3):  # repeatability of the cold sync (fresh database each time)
                eng = st.make_engine(f"sqlite:///{Path(tmp) / f'again{len(times)}.sqlite'}")
                t0 = time.perf_counter()
                Indexer(RpcClient(node.url), net.manifest, net.abis, st.IndexStore(eng)).sync()
                times.append(time.perf_counter() - t0)
        print(f"cold sync: {events} events in {cold:.2f} s; repeats {', '.join(f'{t:.2f}' for t in times)} s "
              f"(median {statistics.median(times):.2f} s)")
        print(f"status lookup (anchor + certificate status): indexed {lookup_us:.2f} us, "
              f"naive eth_call {naive_us:.0f} us -> indexed is {naive_us / lookup_us:.0f}x faster")
        print(f"indexer events_per_s={events / cold:.0f} cold_sync_s={cold:.2f} lookup_us={lookup_us:.2f} "
              f"n={events} naive_lookup_us={naive_us:.0f} speedup={naive_us / lookup_us:.0f}")
    finally:
        node.stop()


if __name__ == "__main__":
    main()
