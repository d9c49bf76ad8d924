"""The reorg-safe event indexer that keeps the local read model of on-chain state.

Each `step()` reads the node's head, checks that the last indexed block is still on the
canonical chain (if not, finds the fork point among the remembered block hashes, cuts the
journal there and replays it), then fetches the next range of logs with one `eth_getLogs`,
applies them to the in-memory `ReadModel` and writes journal, block hash and read-model rows
in one database transaction. A crash between steps loses nothing: the cursor only moves with
the data it covers.

The indexer indexes up to the head. Finality is a property of the answer, not of the index:
each anchor carries its confirmation count, and the verifier's policy decides how many it needs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from eth_utils import to_checksum_address
from sqlalchemy import Table

from common.facts import ChainUnavailable, Freshness
from ledger import store as st
from ledger.abi import ContractABI
from ledger.errors import NodeUnavailable
from ledger.manifest import Manifest
from ledger.readmodel import ChainEvent, ReadModel, _addr
from ledger.rpc import RpcClient, RpcError

log = logging.getLogger("huren.indexer")

REORG_WINDOW = 256  # block hashes remembered for finding a fork point


@dataclass
class IndexerStats:
    head: int = 0
    indexed: int = 0
    head_time: int = 0
    last_ok: float = 0.0  # wall time of the last successful step
    last_error: str = ""
    reorgs: int = 0
    events: int = 0

    @property
    def lag_blocks(self) -> int:
        return max(0, self.head - self.indexed)


class Indexer:
    def __init__(
        self,
        rpc: RpcClient,
        manifest: Manifest,
        abis: Mapping[str, ContractABI],
        store: st.IndexStore,
        chunk_blocks: int = 2_000,
    ) -> None:
        self.rpc = rpc
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
        # Cut the journal, then rebuild the model from what remains.
        self.store.rewind(fork, {})
        self.model = self._replay()
        rows, _ = _rows_for(self.model, None)
        self.store.rewind(fork, rows)
        self.stats.indexed = fork
        self.stats.reorgs += 1

    # -- running ---------------------------------------------------------------------------
    def sync(self, timeout: float = 600.0) -> None:
        """Index until the head as seen at the start (for tests, the demo and benchmarks)."""
        deadline = time.monotonic() + timeout
        while self.step() and time.monotonic() < deadline:
            pass

    def start(self, interval: float = 0.5) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    while self.step():
                        pass
                except (NodeUnavailable, RpcError) as exc:
                    log.warning("indexer: %s", exc)
                except Exception:  # keep following the chain; the error is in the stats and log
                    log.exception("indexer step failed")
                self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="huren-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def freshness(self, max_staleness_s: float | None = None) -> Freshness:
        fresh = Freshness(self.stats.indexed, self.stats.head_time, int(self.stats.last_ok), "index")
        if max_staleness_s is not None:
            age = time.time() - self.stats.last_ok
            if self.stats.last_ok == 0 or age > max_staleness_s:
                why = self.stats.last_error or "the indexer has not reached the chain yet"
                raise ChainUnavailable(
                    f"链上状态无法确认：索引已 {age:.0f} 秒未更新（{why}）" if self.stats.last_ok
                    else f"链上状态无法确认：{why}"
                )
        return fresh


def _hash(block: object) -> bytes | None:
    if isinstance(block, dict) and block.get("hash"):
        return bytes.fromhex(str(block["hash"])[2:])
    return None


def _touched(ev: ChainEvent) -> tuple[str, object]:
    a = ev.args
    n = ev.name
    if n.startswith("Region") or n.startswith("Officer"):
        return ("regions", int(a["region"]))
    if n == "TypeDefined":
        return ("types", a["typeCode"])
    if n.startswith("Issuer") or n in ("TypeGranted", "TypeWithdrawn"):
        return ("issuers", a["issuerId"])
    if n.startswith("Key"):
        return ("keys", _addr(a["key"]))
    if n == "Anchored":
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
                "recognitions": model.recognitions, "proposals": model.proposals}[kind]
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
        {"address": k.address, "issuer_id": k.issuer_id, "valid_from": k.valid_from, "valid_until": k.valid_until}
        for k in (model.keys[x] for x in want("keys"))  # type: ignore[index]
    ]
    rows[st.anchors] = [
        {"batch_root": a.batch_root, "issuer_id": a.issuer_id, "key": a.key, "type_code": a.type_code,
         "cert_count": a.cert_count, "block_number": a.block_number, "block_hash": a.block_hash,
         "tx_hash": a.tx_hash, "timestamp": a.timestamp}
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
    return rows, {}
