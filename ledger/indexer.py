"""The reorg-safe event indexer that keeps the local read model of on-chain state.

Each `step()` reads the node's head, checks that the last indexed block is still on the
canonical chain (if not, finds the fork point among the remembered block hashes, cuts the
journal there and replays it), then fetches the next range of logs with one `eth_getLogs`,
applies them to the in-memory `ReadModel` and writes journal, block hash and read-model rows
in one database transaction. A crash between steps loses nothing: the cursor only moves with
the data it covers.

The indexer indexes up to the head. Finality is a property of the answer, not of the index:
each anchor carries its confirmation count, and the verifier's policy decides how many it needs.

Freshness is the chain's clock, not ours: the index's facts are as old as the newest indexed
block (`freshness()`, common/freshness.py). "Time since the last successful poll" would call a
node that answers but stopped following the network fresh. With several RPC endpoints the
indexer compares their heads once per poll (`compare_heads()`) and reads from the best one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from eth_utils import to_checksum_address
from sqlalchemy import Table

from common.facts import Freshness
from common.freshness import NodeHead, block_period_s, compare_heads
from ledger import store as st
from ledger.abi import ContractABI
from ledger.errors import NodeUnavailable
from ledger.manifest import Manifest
from ledger.readmodel import ChainEvent, ReadModel, _addr
from ledger.rpc import RpcClient, RpcError, endpoint_name

log = logging.getLogger("huren.indexer")

REORG_WINDOW = 256  # block hashes remembered for finding a fork point
PERIOD_SAMPLES = 32  # newest indexed blocks (number, timestamp) kept to estimate the block period


@dataclass
class IndexerStats:
    head: int = 0
    indexed: int = 0
    head_time: int = 0  # timestamp of block `indexed`: the index's facts are as old as this block
    last_ok: float = 0.0  # wall time of the last successful step
    last_error: str = ""
    reorgs: int = 0
    events: int = 0
    #: Every endpoint's head at the last comparison (several RPC URLs only), and which were stale.
    nodes: list[NodeHead] = field(default_factory=list)
    stale_nodes: frozenset[str] = frozenset()
    #: Said with every answer while a stale endpoint is avoided (Chinese, for the clerk).
    node_note: str = ""
    recent_blocks: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=PERIOD_SAMPLES))

    @property
    def lag_blocks(self) -> int:
        return max(0, self.head - self.indexed)

    @property
    def block_period_s(self) -> float | None:
        """Mean seconds between blocks over the newest indexed blocks (None until two were seen)."""
        return block_period_s(list(self.recent_blocks))


class Indexer:
    def __init__(
        self,
        rpc: RpcClient,
        manifest: Manifest,
        abis: Mapping[str, ContractABI],
        store: st.IndexStore,
        chunk_blocks: int = 2_000,
        max_facts_age_s: float = 30.0,
    ) -> None:
        self.rpc = rpc
        self.max_facts_age_s = max_facts_age_s  # also how far behind the best head an endpoint may be
        self.manifest = manifest
        self.store = store
        self.chunk_blocks = chunk_blocks
        self.by_address = {to_checksum_address(a).lower(): (n, abis[n]) for n, a in manifest.addresses.items()}
        self.model = ReadModel()
        self.stats = IndexerStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._open()

    # -- start-up --------------------------------------------------------------------------
    def _open(self) -> None:
        cur = self.store.cursor()
        if cur is None or cur.manifest_hash != self.manifest.digest() or cur.chain_id != self.manifest.chain_id:
            # A new deployment (or a database used for another one): start from scratch.
            cur = self.store.init_cursor(self.manifest.chain_id, self.manifest.deployment_block,
                                         self.manifest.digest())
        self.model = self._replay()
        self.stats.indexed = cur.last_block
        self.stats.head_time = cur.last_time
        if cur.last_time:
            self.stats.recent_blocks.append((cur.last_block, cur.last_time))

    def _decode(self, raw: st.RawLog) -> ChainEvent | None:
        entry = self.by_address.get(raw.address.lower())
        if entry is None or not raw.topics:
            return None
        name, abi = entry
        ev = abi.events_by_topic.get(raw.topics[0])
        if ev is None:
            return None
        return ChainEvent(name, ev.name, ev.decode(raw.topics, raw.data), raw.block_number, raw.block_hash,
                          raw.tx_hash, raw.log_index)

    def _replay(self) -> ReadModel:
        model = ReadModel()
        for raw in self.store.journal_logs():
            ev = self._decode(raw)
            if ev is not None:
                model.apply(ev)
        return model

    # -- one step --------------------------------------------------------------------------
    def step(self) -> int:
        """Index the next range of blocks; return how many blocks were covered (0 = at head)."""
        with self._lock:
            try:
                covered = self._step()
            except (NodeUnavailable, RpcError) as exc:
                self.stats.last_error = str(exc)[:300]
                raise
            self.stats.last_ok = time.time()
            self.stats.last_error = ""
            return covered

    def _step(self) -> int:
        head = self.rpc.block_number()
        self.stats.head = head
        last = self.stats.indexed
        if last >= self.manifest.deployment_block:
            fork = self._find_fork(last)
            if fork is not None:
                self._rewind(fork)
                last = fork
        if last >= head:
            return 0
        start, end = last + 1, min(head, last + self.chunk_blocks)
        end_block = self.rpc.get_block(end)
        if end_block is None:
            return 0
        logs = self._get_logs(start, end)
        check = self.rpc.get_block(end)
        if check is None or check["hash"] != end_block["hash"]:
            return 0  # the chain moved under us; next step sees the reorg properly
        end_hash = bytes.fromhex(str(end_block["hash"])[2:])
        end_time = int(str(end_block["timestamp"]), 16)
        self._apply(logs, end, end_hash, end_time)
        return end - start + 1

    def _get_logs(self, start: int, end: int) -> list[st.RawLog]:
        addresses = list(self.manifest.addresses.values())
        raw = self.rpc.call("eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(end), "address": addresses}])
        assert isinstance(raw, list)
        logs = [
            st.RawLog(
                int(x["blockNumber"], 16), int(x["logIndex"], 16), bytes.fromhex(x["blockHash"][2:]),
                bytes.fromhex(x["transactionHash"][2:]), str(x["address"]).lower(),
                [bytes.fromhex(t[2:]) for t in x["topics"]], bytes.fromhex(x["data"][2:]),
            )
            for x in raw
            if not x.get("removed")
        ]
        logs.sort(key=lambda x: (x.block_number, x.log_index))
        return logs

    def _apply(self, logs: list[st.RawLog], end: int, end_hash: bytes, end_time: int) -> None:
        touched: set[tuple[str, object]] = set()
        hashes: dict[int, bytes] = {end: end_hash}
        for raw in logs:
            hashes[raw.block_number] = raw.block_hash
            ev = self._decode(raw)
            if ev is None:
                continue
            self.model.apply(ev)
            touched.add(_touched(ev))
        rows, deleted = _rows_for(self.model, touched)
        self.store.append(logs, hashes, end, end_time, rows, deleted)
        self.stats.indexed = end
        self.stats.head_time = end_time
        self.stats.recent_blocks.append((end, end_time))
        self.stats.events += len(logs)

    # -- reorgs ----------------------------------------------------------------------------
    def _find_fork(self, last: int) -> int | None:
        """None if `last` is still canonical, else the newest remembered block that is."""
        # Common case first, one block: asking for the whole window at every poll (256 blocks
        # over JSON-RPC) cost an API worker ~3% of a core while idle.
        newest = self.store.recent_blocks(1)
        if newest and newest[0][0] == last and _hash(self.rpc.get_block(last)) == newest[0][1]:
            return None
        stored = self.store.recent_blocks(REORG_WINDOW)
        if not stored:
            return None
        calls = [("eth_getBlockByNumber", [hex(n), False]) for n, _ in stored]
        canonical = self.rpc.batch(calls)
        if stored[0][0] == last and _hash(canonical[0]) == stored[0][1]:
            return None
        for (number, h), block in zip(stored, canonical, strict=True):
            if _hash(block) == h:
                return number if number != last else None
        # Deeper than the window: replay from the deployment block.
        return self.manifest.deployment_block - 1

    def _rewind(self, fork: int) -> None:
        log.warning("chain reorganisation: rewinding index from %d to %d", self.stats.indexed, fork)
        # The facts are now as old as the fork block: keeping the dropped head's time would make
        # a node that fell back (restored, or a replica behind) look as fresh as the one before.
        fork_block = self.rpc.get_block(fork) if fork >= 0 else None
        fork_time = int(str(fork_block["timestamp"]), 16) if fork_block else 0
        # Cut the journal, then rebuild the model from what remains.
        self.store.rewind(fork, {}, fork_time)
        self.model = self._replay()
        rows, _ = _rows_for(self.model, None)
        self.store.rewind(fork, rows, fork_time)
        self.stats.indexed = fork
        self.stats.head_time = fork_time
        kept = [(n, t) for n, t in self.stats.recent_blocks if n <= fork]
        self.stats.recent_blocks.clear()
        self.stats.recent_blocks.extend(kept)
        self.stats.reorgs += 1

    # -- several endpoints -----------------------------------------------------------------
    def compare_heads(self) -> None:
        """With several RPC URLs, read from the endpoint with the newest head; name the stale ones.

        One `eth_getBlockByNumber("latest")` per endpoint, once per poll — never per
        verification. An endpoint whose head is more than the bound behind the best one is
        stale (common/freshness.py); if the client is reading from it, it moves to the best.
        """
        if len(self.rpc.urls) < 2:
            return
        heads = self.rpc.heads()
        verdict = compare_heads(heads, self.max_facts_age_s)
        stale = frozenset(heads[i].url for i in verdict.stale)
        note = ""
        if verdict.best is not None:
            active = self.rpc.active
            if active in verdict.stale or not heads[active].answered:
                log.warning("chain node %s is %s; reading from %s (newest head, block %s)", heads[active].url,
                            f"{verdict.lag_s[active]} s behind the best node" if heads[active].answered
                            else "not answering", heads[verdict.best].url, heads[verdict.best].number)
                self.rpc.use(verdict.best)
            if verdict.stale:
                behind = "、".join(f"{endpoint_name(heads[i].url)}（落后 {verdict.lag_s[i]} 秒）"
                                  for i in sorted(verdict.stale))
                note = f"已避开落后的链节点 {behind}，改用最新的节点 {endpoint_name(heads[verdict.best].url)}"
        self.stats.nodes = heads
        self.stats.stale_nodes = stale
        self.stats.node_note = note

    # -- running ---------------------------------------------------------------------------
    def sync(self, timeout: float = 600.0) -> None:
        """Index until the head as seen at the start (for tests, the demo and benchmarks)."""
        deadline = time.monotonic() + timeout
        self.compare_heads()
        while self.step() and time.monotonic() < deadline:
            pass

    def start(self, interval: float = 0.5) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.compare_heads()
                    while self.step():
                        pass
                except (NodeUnavailable, RpcError) as exc:
                    log.warning("indexer: %s", exc)
                except Exception:  # keep following the chain; the error is in the stats and log
                    log.exception("indexer step failed")
                self._stop.wait(interval)

        self._stop.clear()  # an indexer stopped (a paused node, a test) can follow the chain again
        self._thread = threading.Thread(target=loop, name="huren-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def freshness(self) -> Freshness:
        """What the index's facts rest on: the newest indexed block and its timestamp.

        No bound here: the verifier's policy applies the one rule to every source (the engine's
        status_freshness check). The note tells the clerk why the index may be behind.
        """
        s = self.stats
        notes = [s.node_note] if s.node_note else []
        if s.last_error:
            notes.append("本处最近一次读取链节点失败")
        return Freshness(s.indexed, s.head_time, "index", "；".join(notes))


def _hash(block: object) -> bytes | None:
    if isinstance(block, dict) and block.get("hash"):
        return bytes.fromhex(str(block["hash"])[2:])
    return None


def _touched(ev: ChainEvent) -> tuple[str, object]:
    a = ev.args
    n = ev.name
    if n.startswith("NodeKey"):
        return ("node_keys", "0x" + bytes(a["keyId"]).hex())
    if n.startswith("Node"):
        return ("nodes", int(a["region"]))
    if n.startswith("Region") or n.startswith("Officer"):
        return ("regions", int(a["region"]))
    if n == "TypeDefined":
        return ("types", a["typeCode"])
    if n.startswith("Issuer") or n in ("TypeGranted", "TypeWithdrawn"):
        return ("issuers", a["issuerId"])
    if n.startswith("Key") or n == "SM2KeyAdded":
        return ("keys", _addr(a["key"]))
    if n in ("Anchored", "GuomiBatchAnchored"):
        return ("anchors", a["batchRoot"])
    if n == "CertificateStatusChanged":
        return ("cert_status", (a["issuerId"], a["certHash"]))
    if n.startswith("Recognition"):
        from common.document import type_code_from_bytes32

        return ("recognitions", (int(a["verifierRegion"]), type_code_from_bytes32(a["typeCode"]),
                                 int(a["issuerRegion"])))
    if n.startswith("Proposal") and "id" in a:
        return ("proposals", int(a["id"]))
    return ("settings", n)


def _rows_for(
    model: ReadModel, touched: set[tuple[str, object]] | None
) -> tuple[dict[Table, list[dict[str, object]]], dict[Table, list[dict[str, object]]]]:
    """Rows of the read-model tables for the touched entities (all entities when None)."""
    from common.document import type_code_from_bytes32

    def want(kind: str) -> list[object]:
        coll = {"regions": model.regions, "types": model.types, "issuers": model.issuers, "keys": model.keys,
                "anchors": model.anchors, "cert_status": model.cert_status,
                "recognitions": model.recognitions, "proposals": model.proposals,
                "nodes": model.node_records, "node_keys": model.node_key_records}[kind]
        if touched is None:
            return list(coll)
        out = []
        for k, key in touched:
            if k == kind:
                out.append(type_code_from_bytes32(key) if kind == "types" else key)  # type: ignore[arg-type]
        return out

    rows: dict[Table, list[dict[str, object]]] = {}
    rows[st.regions] = [
        {"code": r.code, "member": r.member, "threshold": r.threshold, "officers": st.dumps(r.officers)}
        for r in (model.regions[k] for k in want("regions"))  # type: ignore[index]
    ]
    rows[st.types] = [
        {"type_code": t.type_code, "name": t.name, "schema_hash": t.schema_hash, "version": t.version,
         "active": t.active}
        for t in (model.types[k] for k in want("types"))  # type: ignore[index]
    ]
    rows[st.issuers] = [
        {"issuer_id": i.issuer_id, "region": i.region, "name": model.issuer_names.get(i.issuer_id, ""),
         "status": int(i.status), "status_since": i.status_since, "revoked_from": i.revoked_from,
         "authorised_types": st.dumps(i.authorised_types)}
        for i in (model.issuers[k] for k in want("issuers"))  # type: ignore[index]
    ]
    rows[st.keys] = [
        {"address": k.address, "issuer_id": k.issuer_id, "valid_from": k.valid_from, "valid_until": k.valid_until,
         "sm2_public_key": k.sm2_public_key}
        for k in (model.keys[x] for x in want("keys"))  # type: ignore[index]
    ]
    rows[st.anchors] = [
        {"batch_root": a.batch_root, "issuer_id": a.issuer_id, "key": a.key, "type_code": a.type_code,
         "cert_count": a.cert_count, "block_number": a.block_number, "block_hash": a.block_hash,
         "tx_hash": a.tx_hash, "timestamp": a.timestamp, "suite": a.suite}
        for a in (model.anchors[k] for k in want("anchors"))  # type: ignore[index]
    ]
    rows[st.cert_status] = [
        {"issuer_id": k[0], "cert_hash": c.cert_hash, "batch_root": model.cert_batch[k],  # type: ignore[index]
         "status": int(c.status), "since": c.since, "reason": c.reason}
        for k, c in ((k, model.cert_status[k]) for k in want("cert_status"))  # type: ignore[index]
    ]
    rows[st.recognitions] = [
        {"verifier_region": r.verifier_region, "type_code": r.type_code, "issuer_region": r.issuer_region,
         "valid_from": r.valid_from, "valid_until": r.valid_until}
        for r in (model.recognitions[k] for k in want("recognitions"))  # type: ignore[index]
    ]
    rows[st.proposals] = [
        {"id": p.id, "kind": p.kind, "region": p.region, "target": p.target, "data": p.data,
         "proposer": p.proposer, "expires_at": p.expires_at, "approvers": st.dumps(p.approvers),
         "required": p.required, "executed": p.executed}
        for p in (model.proposals[k] for k in want("proposals"))  # type: ignore[index]
    ]
    rows[st.nodes] = [
        {"region": n.region, "base_url": n.base_url, "status": int(n.status), "registered_at": n.registered_at,
         "updated_at": n.updated_at}
        for n in (model.node_records[k] for k in want("nodes"))  # type: ignore[index]
    ]
    rows[st.node_keys] = [
        {"key_id": k.key_id, "region": k.region, "suite": k.suite, "algorithm": k.algorithm, "purpose": k.purpose,
         "public_key": k.public_key, "valid_from": k.valid_from, "valid_until": k.valid_until}
        for k in (model.node_key_records[x] for x in want("node_keys"))  # type: ignore[index]
    ]
    return rows, {}
