"""Everything a running API process holds: chain client, index, stores, policies.

Built once at start-up from `Settings`; routes reach it as `request.app.state.runtime`.
Each worker process has its own indexer and read model (DESIGN.md: verifiers scale out as
stateless workers, each with its own index); the certificate store and the verification log
are shared through the database.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

import migrations
from api.auditlog import LogAnchorer, LogWriter, VerificationLog, record_for
from api.authorisations import AuthorisationStore
from api.credentials import Credential, CredentialStore
from api.dbhealth import DatabaseHealth
from api.departments import DepartmentRuntime, Holdings, indexed_authorisation, load_departments
from api.log_in_loop import InLoopLogWriter
from api.ratelimit import BucketTable, Limit, RateLimiter
from api.references import ReferenceStore
from api.settings import Settings
from api.stamping import StampKeysError, load_stamp_signers
from common.eip712 import Domain
from common.stamp import StampSigner
from federation.local_node import LocalNode, NodeConfigError, open_local_node
from federation.use_reports import ReceivedUses, UseOutbox, UseReportSender, report_for
from issuers.anchoring import AnchorPolicy
from issuers.reconcile import SettlePolicy
from ledger import store as st
from ledger.abi import ContractABI
from ledger.chainview import IndexedChainView
from ledger.deploy import load_abis
from ledger.errors import NodeUnavailable
from ledger.indexer import Indexer
from ledger.keystore import load_keystore
from ledger.lease import LeaseTerms
from ledger.manifest import Manifest
from ledger.rpc import RpcClient, RpcError
from ledger.sender import TxSender
from verifier.engine import VerificationResult, VerifierPolicy

log = logging.getLogger("huren.api")


@dataclass
class Runtime:
    settings: Settings
    rpc: RpcClient
    manifest: Manifest
    abis: dict[str, ContractABI]
    indexer: Indexer
    view: IndexedChainView
    domain: Domain
    credentials: CredentialStore
    rate_limiter: RateLimiter
    db_engine: object
    references: ReferenceStore
    log: VerificationLog
    log_writer: LogWriter | InLoopLogWriter
    holdings: Holdings
    departments: dict[str, DepartmentRuntime] = field(default_factory=dict)
    log_anchorer: LogAnchorer | None = None
    db_health: DatabaseHealth | None = None  # /readyz: the databases answer and take writes
    node: LocalNode | None = None  # this node in the federation (settings.node_region), or None: no peer calls
    authorisations: AuthorisationStore | None = None  # 授权用证 the holders of this node gave (api/authorisations.py)
    # 用证记录 (federation/use_reports.py): uses of other regions' certificates to report, and reports received.
    use_outbox: UseOutbox | None = None
    received_uses: ReceivedUses | None = None
    use_sender: UseReportSender | None = None
    # 加注 stamping keys by region served (api/stamping.py); the wallet stamps every code it makes.
    stamp_signers: dict[int, StampSigner] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    extras: dict[str, object] = field(default_factory=dict)

    _policies: dict[int, VerifierPolicy] = field(default_factory=dict, repr=False)

    def policy_for(self, region: int) -> VerifierPolicy:
        """The verification policy of a region's windows (immutable; one per region, built once)."""
        policy = self._policies.get(region)
        if policy is None:
            s = self.settings
            types = frozenset(t.strip() for t in s.holder_binding_types.split(",") if t.strip())
            policy = self._policies[region] = VerifierPolicy(
                region=region, domain=self.domain, confirmations=s.confirmations, clock_skew_s=s.clock_skew_s,
                max_presentation_age_s=s.max_presentation_age_s, max_facts_age_s=s.max_facts_age_s,
                require_holder_binding="*" in types, holder_binding_types=types - {"*"},
                holder_binding_regions=s.binding_regions(), suites=s.suites())
        return policy

    def record_verification(self, cred: Credential, result: VerificationResult) -> dict[str, object]:
        """Write the verification to the hash-chained log; returns the receipt (entry number and hash).

        Waits for the commit: an answer is never given for a verification that is not logged.
        """
        assert cred.region is not None
        receipt = self.log_writer.append(record_for(result, cred.id, cred.region)).receipt()
        self.report_use(cred, result)
        return receipt

    async def record_verification_async(self, cred: Credential, result: VerificationResult,
                                        timeout: float = 30.0) -> dict[str, object]:
        """`record_verification` for async routes: the commit is awaited, no thread waits for it."""
        assert cred.region is not None
        entry = self.log_writer.submit_async(record_for(result, cred.id, cred.region))
        async with asyncio.timeout(timeout):
            receipt = (await entry).receipt()
        if self.use_outbox is not None and self.node is not None and _owes_report(result, self.node.region):
            await asyncio.to_thread(self.report_use, cred, result)
        return receipt

    def report_use(self, cred: Credential, result: VerificationResult) -> None:
        """Queue the report of a use of another region's certificate for its issuing node (用证记录).

        Only an outbox row: the background sender delivers it. A row that cannot be written is logged
        and dropped, never an error of the verification (the use is in this node's log regardless).
        """
        if self.use_outbox is None or self.node is None or cred.region is None:
            return
        owed = report_for(result.disclosed, result.certificate_hash, self.node.region, str(result.verdict),
                          result.purpose, result.verified_at, cred.name, cred.credit_code)
        if owed is None:
            return
        try:
            self.use_outbox.add(*owed)
        except SQLAlchemyError as exc:
            log.error("report of a use of region %s's certificate not queued: %s", owed[0], exc)
            return
        if self.use_sender is not None:
            self.use_sender.wake()

    def indexer_nudge(self) -> None:
        """Index now (after this process changed chain state) instead of at the next poll."""
        try:
            self.indexer.step()
        except (NodeUnavailable, RpcError) as exc:
            log.warning("indexer step after a status change failed: %s", exc)

    def start(self) -> None:
        self.log_writer.start()
        for dept in self.departments.values():
            dept.worker.start()
        if self.log_anchorer is not None:
            self.log_anchorer.start()
        try:
            self.indexer.sync(timeout=60)
        except (NodeUnavailable, RpcError) as exc:
            log.warning("chain not reachable at start-up (%s); the indexer keeps trying", exc)
        self.indexer.start(self.settings.index_poll_s)
        if self.use_sender is not None:
            self.use_sender.start()

    def stop(self) -> None:
        if self.log_anchorer is not None:
            self.log_anchorer.stop()
        for dept in self.departments.values():
            dept.worker.stop()
            dept.service.close()
        self.log_writer.close()
        self.indexer.stop()
        if self.use_sender is not None:
            self.use_sender.stop()
        if self.node is not None:
            self.node.close()
        self.rpc.close()
        self.rate_limiter.table.close()


def _owes_report(result: VerificationResult, own_region: int) -> bool:
    """Cheap test on the event loop: whether the verified certificate is another region's."""
    region = result.disclosed.get("issuer.region")
    return result.certificate_hash is not None and region is not None and str(region) != str(own_region)


def claim_index_db(url: str) -> tuple[str, IO[bytes] | None]:
    """A SQLite index file of this worker's own: uvicorn workers share the environment, and two
    indexers writing one journal collide (DESIGN: each worker has its own read model).

    Worker slots are `index.sqlite`, `index-1.sqlite`, ...: each process takes the first whose
    lock file it can lock (the OS releases it when the process dies), so a restarted worker
    reuses a slot and its index instead of syncing a new one. Other URLs are returned as given.
    Returns the URL and the open lock file (keep it open for the life of the process).
    """
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return url, None
    path = Path(url[len("sqlite:///"):])
    path.parent.mkdir(parents=True, exist_ok=True)
    for slot in range(256):
        candidate = path if slot == 0 else path.with_name(f"{path.stem}-{slot}{path.suffix}")
        lock = open(candidate.with_name(candidate.name + ".lock"), "wb")  # noqa: SIM115 (held for the process)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        return f"sqlite:///{candidate}", lock
    raise RuntimeError(f"no free index slot next to {path} (256 workers on one host?)")


def log_writer_for(log: VerificationLog) -> LogWriter | InLoopLogWriter:
    """A local SQLite log commits in a fraction of a millisecond: its batches are written in the
    event loop's own turn (api/log_in_loop.py). A database server's commit waits for the
    server's disk: there a thread writes, and the loop goes on verifying meanwhile."""
    return InLoopLogWriter(log) if log.engine.dialect.name == "sqlite" else LogWriter(log)


def local_node(settings: Settings, indexer: Indexer, engine: Engine) -> LocalNode | None:
    """This node's federation identity from its settings, or None when it has none (it then calls no peer)."""
    if settings.node_region is None and settings.node_key_file is None:
        return None
    if settings.node_region is None or settings.node_key_file is None:
        raise NodeConfigError("HUREN_NODE_REGION 与 HUREN_NODE_KEY_FILE 须同时设置 "
                              "(node region and key file go together)")
    pass_file = settings.node_key_passphrase_file or settings.passphrase_file
    if pass_file is None:
        raise NodeConfigError("节点密钥文件需要口令文件：请设置 HUREN_NODE_KEY_PASSPHRASE_FILE "
                              "或 HUREN_PASSPHRASE_FILE")
    return open_local_node(settings.node_region, settings.node_key_file, pass_file.read_text().strip(),
                           lambda: indexer.model, engine)


def stamp_signers_of(settings: Settings) -> dict[int, StampSigner]:
    """This node's stamping keys (settings.stamp_keys_file), or none when it has no listing."""
    if settings.stamp_keys_file is None:
        return {}
    pass_file = settings.node_key_passphrase_file or settings.passphrase_file
    if pass_file is None:
        raise StampKeysError("加注签章密钥需要口令文件：请设置 HUREN_NODE_KEY_PASSPHRASE_FILE 或 HUREN_PASSPHRASE_FILE")
    return load_stamp_signers(settings.stamp_keys_file, pass_file.read_text().strip())


def build_runtime(settings: Settings) -> Runtime:
    manifest = Manifest.load(settings.manifest)
    abis = load_abis()
    rpc = RpcClient(settings.rpc_urls)
    index_url, index_lock = claim_index_db(settings.index_db_url)
    indexer = Indexer(rpc, manifest, abis, st.IndexStore(st.make_engine(index_url)),
                      max_facts_age_s=settings.max_facts_age_s)
    engine = st.make_engine(settings.db_url)
    # The schema first, under the start-up lock (workers start together); every store below finds it at the head.
    migrations.upgrade(engine)
    log = VerificationLog(engine)
    # Each department's worker polls its outbox; every 0.1 s (the library default) made the idle
    # polling of a few departments cost ~5% of a core per API worker process. 0.5 s is enough
    # next to batches that wait up to batch_age_s for more certificates anyway.
    policy = AnchorPolicy(batch_size=settings.batch_size, batch_max_age=settings.batch_age_s,
                          confirmations=max(1, settings.confirmations), poll_interval=0.5,
                          reconcile=SettlePolicy(interval_s=settings.reconcile_interval_s,
                                                 settle_blocks=settings.settle_blocks,
                                                 settle_age_s=settings.settle_age_s))
    # Every worker process loads every department; each department anchors in the one process
    # holding its lease (issuers.anchoring), so N workers do not compete for its key's nonces.
    lease_terms = LeaseTerms(ttl_s=settings.anchor_lease_ttl_s, renew_s=settings.anchor_lease_ttl_s / 6)
    departments = (load_departments(settings.departments_file, rpc, manifest, abis, settings.db_url, policy,
                                    settings.passphrase_file, lease_terms)
                   if settings.departments_file is not None and settings.departments_file.exists() else {})
    for dept in departments.values():  # intake refuses types the chain (as indexed) does not authorise
        dept.service.authorisation = indexed_authorisation(indexer, dept.credit_code, settings.max_facts_age_s)
    credentials, references, holdings = CredentialStore(engine), ReferenceStore(engine), Holdings(engine)
    anchorer = None
    if settings.log_operator_keystore is not None and settings.passphrase_file is not None:
        operator = load_keystore(settings.log_operator_keystore, settings.passphrase_file.read_text().strip())
        anchorer = LogAnchorer(log, TxSender(rpc, operator, list(abis.values()), manifest.chain_id), manifest,
                               interval=settings.log_anchor_interval_s)
    node = local_node(settings, indexer, engine)
    use_outbox = UseOutbox(engine) if node is not None else None
    return Runtime(
        stamp_signers=stamp_signers_of(settings),
        node=node,
        use_outbox=use_outbox,
        received_uses=ReceivedUses(engine),
        use_sender=UseReportSender(use_outbox, node.peers) if node is not None and use_outbox is not None else None,
        settings=settings, rpc=rpc, manifest=manifest, abis=abis, indexer=indexer,
        view=IndexedChainView(indexer),
        domain=Domain(manifest.chain_id, manifest.ledger_address),
        credentials=credentials,
        rate_limiter=RateLimiter(BucketTable(settings.rate_dir), Limit(settings.rate_per_s, settings.rate_burst),
                                 Limit(settings.signin_rate_per_s, settings.signin_burst)),
        db_engine=engine,
        references=references,
        authorisations=AuthorisationStore(engine),
        log=log,
        log_writer=log_writer_for(log),
        holdings=holdings,
        departments=departments,
        log_anchorer=anchorer,
        db_health=DatabaseHealth([("数据库", engine), ("索引库", indexer.store.engine)]),
        extras={"index_lock": index_lock} if index_lock is not None else {},
    )
