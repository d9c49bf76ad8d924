"""离线可信名录: the trust snapshot this node signs for its clerks' pages (issue 16, item 3).

When the clerk's browser cannot reach the node, the page verifies a code itself (the JavaScript
verifier, api/pages/static/verifier/) against the last snapshot it kept. This module builds that
snapshot from the node's own index (ledger/readmodel.py through the runtime's indexer) in the
format of verifier/snapshot.py (huren-trust-snapshot/2) and signs it with the node's
snapshot-publisher key (EIP-712 TrustSnapshot in the deployment's domain).

What goes in, for one verifying region R (what the checks of a window of R can ask):

* every issuer, issuer key, certificate type and stamping key (a handful per department or
  region: they do not grow with use; stamping keys as the index's node registry holds them, with
  retired ones, since a code is judged at its created_at);
* the recognition rules whose verifying region is R (other regions' rules answer no question of R);
* the anchors a window of R can accept: those of issuers of R, and those of (type, issuer region)
  pairs R has a recognition rule for (any window: the engine judges the window). Anchors grow with
  every batch; those of certificates R does not accept would only turn a NOT_RECOGNISED into a
  NOT_ANCHORED, so they are left out — and the page says "not in the kept list" for a missing
  anchor instead of "never anchored" (an anchor newer than the snapshot is missing too);
* the revocations and suspensions of certificates in those batches (in-force entries omitted).

Size: each anchor is about 480 bytes of JSON (two thirds of it random hashes, so gzip saves about
40%); the response is gzip-encoded when the page accepts it. A region with 10,000 accepted batches
sends about 3 MB every refresh — the page refreshes every few minutes, not per verification.

The trust root: the publisher's address is served with the page (the page's own configuration,
`/pages/clerk/offline.json`, from the same node as the page and the verifier module, cached with
them by the service worker); the page refuses a snapshot signed by any other key or for another
deployment (chainId + ledger in the EIP-712 domain). It does not widen what the page trusts: the
node that serves the page already decides what code runs there. What the signature adds is that a
kept or carried snapshot (Cache Storage, a file brought to an offline site) cannot be changed or
swapped for another deployment's without the page noticing.
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from common.eip712 import Domain
from common.facts import AnchorFacts, CertStatus
from common.nodes import NodeKey, NodeKeyPurpose
from ledger.keystore import KeystoreError, load_keystore
from ledger.readmodel import ReadModel
from verifier.snapshot import StatusEntry, TrustSnapshot, sign_snapshot

if TYPE_CHECKING:
    from api.runtime import Runtime

__all__ = ["SignedSnapshot", "SnapshotPublisher", "SnapshotUnavailable", "build_snapshot", "publisher_of"]

log = logging.getLogger("huren.api.snapshots")

#: A region's signed snapshot is rebuilt at most this often (every clerk page of the region
#: fetches it every few minutes; building and signing is a JCS pass over all its anchors).
REBUILD_AFTER_S = 15.0


class SnapshotUnavailable(Exception):
    """This node cannot publish a snapshot now (no publisher key, nothing indexed yet)."""

    def __init__(self, zh: str, hint: str) -> None:
        self.zh = zh
        self.hint = hint
        super().__init__(zh)


def _stamp_keys(model: ReadModel) -> list[NodeKey]:
    """Every region's stamping keys as the index holds them (retired ones too, with their windows), of
    nodes that are active and regions that are members — as tests/vectors/generate.py reads them."""
    out = []
    for node in model.nodes():
        for key in model.node_keys(node.region):
            if key.purpose == int(NodeKeyPurpose.STAMPING) and model.node_key(
                    node.region, key.key_id, key.valid_from, NodeKeyPurpose.STAMPING) is not None:
                out.append(key)
    return out


def build_snapshot(model: ReadModel, height: int, head_time: int, domain: Domain, region: int,
                   created_at: int) -> TrustSnapshot:
    """The facts a window of `region` needs, from an index at `height` (see the module docstring).

    The caller holds the model still (the indexer's lock) or passes a model nobody changes.
    """
    rules = [r for r in model.recognitions.values() if r.verifier_region == region]
    recognised = {(r.type_code, r.issuer_region) for r in rules}
    issuers = dict(model.issuers)

    def accepted(anchor_issuer: bytes, type_code: str) -> bool:
        facts = issuers.get(anchor_issuer)
        if facts is None:
            return False  # the engine answers UNKNOWN_ISSUER whatever the anchor: the page says "not in the list"
        return (facts.region == region or (type_code, facts.region) in recognised
                or (type_code, 0) in recognised)

    anchors: list[AnchorFacts] = []
    for record in list(model.anchors.values()):
        if record.block_number <= height and accepted(record.issuer_id, record.type_code):
            facts = model.anchor_facts(record.batch_root, height)
            assert facts is not None
            anchors.append(facts)
    roots = {a.batch_root for a in anchors}
    statuses = []
    for key, status in list(model.cert_status.items()):
        batch = model.cert_batch.get(key)  # the batch the status change named (None: kept, to be safe)
        if status.status != CertStatus.NONE and (batch is None or batch in roots):
            statuses.append(StatusEntry(key[0], status))
    return TrustSnapshot(
        chain_id=domain.chain_id, ledger=domain.verifying_contract, height=height, head_time=head_time,
        created_at=created_at, issuers=tuple(issuers.values()), keys=tuple(model.keys.values()),
        types=tuple(model.types.values()), recognition=tuple(rules), statuses=tuple(statuses),
        anchors=tuple(anchors), stamp_keys=tuple(_stamp_keys(model)))


@dataclass(frozen=True)
class SignedSnapshot:
    """One region's published snapshot: the signed file (JCS text) and what the page shows of it."""

    region: int
    text: str
    height: int
    head_time: int
    created_at: int
    anchors: int
    built_at: float  # monotonic
    _gzipped: list[bytes]

    @property
    def gzipped(self) -> bytes:
        if not self._gzipped:
            self._gzipped.append(gzip.compress(self.text.encode("utf-8"), compresslevel=6, mtime=0))
        return self._gzipped[0]


class SnapshotPublisher:
    """Builds, signs and caches each verifying region's snapshot from the runtime's index."""

    def __init__(self, runtime: Runtime, account: LocalAccount) -> None:
        self.runtime = runtime
        self.account = account
        self.address: str = account.address
        self._lock = threading.Lock()
        self._cache: dict[int, SignedSnapshot] = {}

    def signed(self, region: int) -> SignedSnapshot:
        """The region's signed snapshot, rebuilt when the index moved on and the last one is
        REBUILD_AFTER_S old. SnapshotUnavailable before the index has read any block."""
        with self._lock:
            cached = self._cache.get(region)
            indexer = self.runtime.indexer
            if cached is not None and (cached.height == indexer.stats.indexed
                                       or time.monotonic() - cached.built_at < REBUILD_AFTER_S):
                return cached
            # The model and its height must match (an anchor above the height is refused by
            # load_snapshot): read them under the indexer's own lock, so no step runs meanwhile.
            with indexer._lock:  # the indexer offers no other way to read a consistent cut
                height, head_time = indexer.stats.indexed, indexer.stats.head_time
                if head_time <= 0:
                    raise SnapshotUnavailable("本节点尚未读取任何链上区块，暂不能生成离线名录",
                                              "请稍后再试；如持续出现，请联系系统管理员检查链节点。")
                snapshot = build_snapshot(indexer.model, height, head_time, self.runtime.domain, region,
                                          int(time.time()))
            text = sign_snapshot(snapshot, bytes(self.account.key), self.runtime.domain)
            signed = SignedSnapshot(region, text, height, head_time, snapshot.created_at, len(snapshot.anchors),
                                    time.monotonic(), [])
            self._cache[region] = signed
            return signed


_PUBLISHER_KEY = "snapshot_publisher"
_publisher_lock = threading.Lock()


def publisher_of(runtime: Runtime) -> SnapshotPublisher:
    """The runtime's snapshot publisher, its key opened on first use (an scrypt keystore takes a
    second: not on every request). SnapshotUnavailable when the node has no publisher key."""
    found = runtime.extras.get(_PUBLISHER_KEY)
    if isinstance(found, SnapshotPublisher):
        return found
    with _publisher_lock:
        found = runtime.extras.get(_PUBLISHER_KEY)
        if isinstance(found, SnapshotPublisher):
            return found
        settings = runtime.settings
        path: Path | None = settings.snapshot_publisher_keystore
        if path is None or settings.passphrase_file is None:
            raise SnapshotUnavailable("本节点未配置离线名录签名密钥，窗口页面不能离线核验",
                                      "请系统管理员设置 HUREN_SNAPSHOT_PUBLISHER_KEYSTORE 与 HUREN_PASSPHRASE_FILE。")
        try:
            account = load_keystore(path, settings.passphrase_file.read_text().strip())
        except (KeystoreError, OSError) as exc:
            log.error("snapshot publisher key not usable: %s", exc)
            raise SnapshotUnavailable("本节点的离线名录签名密钥无法打开，窗口页面不能离线核验",
                                      "请系统管理员检查 HUREN_SNAPSHOT_PUBLISHER_KEYSTORE 与口令文件。") from None
        publisher = SnapshotPublisher(runtime, account)
        runtime.extras[_PUBLISHER_KEY] = publisher
        log.info("trust snapshots signed by %s", publisher.address)
        return publisher
