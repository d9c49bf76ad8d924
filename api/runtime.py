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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Engine

from api.auditlog import LogAnchorer, LogWriter, VerificationLog, record_for
from api.credentials import Credential, CredentialStore
from api.departments import DepartmentRuntime, Holdings, load_departments
from api.log_in_loop import InLoopLogWriter
from api.ratelimit import RateLimiter
from api.references import ReferenceStore
from api.settings import Settings
from common.eip712 import Domain
from issuers.anchoring import AnchorPolicy
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
    started_at: float = field(default_factory=time.time)
    extras: dict[str, object] = field(default_factory=dict)

    _policies: dict[int, VerifierPolicy] = field(default_factory=dict, repr=False)

    def policy_for(self, region: int) -> VerifierPolicy:
        """The verification policy of a region's windows (immutable; one per region, built once)."""
        policy = self._policies.get(region)
        if policy is None:
            s = self.settings
            policy = self._policies[region] = VerifierPolicy(
                region=region, domain=self.domain, confirmations=s.confirmations, clock_skew_s=s.clock_skew_s,
                max_presentation_age_s=s.max_presentation_age_s)
        return policy

    def record_verification(self, cred: Credential, result: VerificationResult) -> dict[str, object]:
        """Write the verification to the hash-chained log; returns the receipt (entry number and hash).

        Waits for the commit: an answer is never given for a verification that is not logged.
        """
        assert cred.region is not None
        return self.log_writer.append(record_for(result, cred.id, cred.region)).receipt()

    async def record_verification_async(self, cred: Credential, result: VerificationResult,
                                        timeout: float = 30.0) -> dict[str, object]:
        """`record_verification` for async routes: the commit is awaited, no thread waits for it."""
        assert cred.region is not None
        entry = self.log_writer.submit_async(record_for(result, cred.id, cred.region))
        async with asyncio.timeout(timeout):
            return (await entry).receipt()

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

    def stop(self) -> None:
        if self.log_anchorer is not None:
            self.log_anchorer.stop()
        for dept in self.departments.values():
            dept.worker.stop()
            dept.service.close()
        self.log_writer.close()
        self.indexer.stop()
        self.rpc.close()


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


_SCHEMA_LOCK_KEY = 0x48_75_72_65_6E_01  # "Huren" + 1: PostgreSQL advisory lock for start-up DDL


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Serialise start-up schema creation across API workers.

    uvicorn starts its workers together and each store creates its missing tables. SQLAlchemy
    checks, then creates: two workers both see a table missing and the second CREATE TABLE
    fails — on PostgreSQL as a pg_type unique violation, on SQLite as "table already exists"
    (seen in the HTTP benchmark). PostgreSQL: an advisory lock; a SQLite file: an flock on a
    lock file beside it (released by the OS if the worker dies).
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as c:
            c.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                c.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _SCHEMA_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".schema-lock")
    with open(lock_path, "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def log_writer_for(log: VerificationLog) -> LogWriter | InLoopLogWriter:
    """A local SQLite log commits in a fraction of a millisecond: its batches are written in the
    event loop's own turn (api/log_in_loop.py). A database server's commit waits for the
    server's disk: there a thread writes, and the loop goes on verifying meanwhile."""
    return InLoopLogWriter(log) if log.engine.dialect.name == "sqlite" else LogWriter(log)


def build_runtime(settings: Settings) -> Runtime:
    manifest = Manifest.load(settings.manifest)
    abis = load_abis()
    rpc = RpcClient(settings.rpc_urls)
    index_url, index_lock = claim_index_db(settings.index_db_url)
    indexer = Indexer(rpc, manifest, abis, st.IndexStore(st.make_engine(index_url)))
    engine = st.make_engine(settings.db_url)
    with schema_lock(engine):  # workers start together: their stores' CREATE TABLEs must not race
        log = VerificationLog(engine)
        # Each department's worker polls its outbox; every 0.1 s (the library default) made the idle
        # polling of a few departments cost ~5% of a core per API worker process. 0.5 s is enough
        # next to batches that wait up to batch_age_s for more certificates anyway.
        policy = AnchorPolicy(batch_size=settings.batch_size, batch_max_age=settings.batch_age_s,
                              confirmations=max(1, settings.confirmations), poll_interval=0.5)
        # Every worker process loads every department; each department anchors in the one process
        # holding its lease (issuers.anchoring), so N workers do not compete for its key's nonces.
        lease_terms = LeaseTerms(ttl_s=settings.anchor_lease_ttl_s, renew_s=settings.anchor_lease_ttl_s / 6)
        departments = (load_departments(settings.departments_file, rpc, manifest, abis, settings.db_url, policy,
                                        settings.passphrase_file, lease_terms)
                       if settings.departments_file is not None and settings.departments_file.exists() else {})
        credentials, references, holdings = CredentialStore(engine), ReferenceStore(engine), Holdings(engine)
    anchorer = None
    if settings.log_operator_keystore is not None and settings.passphrase_file is not None:
        operator = load_keystore(settings.log_operator_keystore, settings.passphrase_file.read_text().strip())
        anchorer = LogAnchorer(log, TxSender(rpc, operator, list(abis.values()), manifest.chain_id), manifest,
                               interval=settings.log_anchor_interval_s)
    return Runtime(
        settings=settings, rpc=rpc, manifest=manifest, abis=abis, indexer=indexer,
        view=IndexedChainView(indexer, settings.max_index_staleness_s),
        domain=Domain(manifest.chain_id, manifest.ledger_address),
        credentials=credentials,
        rate_limiter=RateLimiter(settings.rate_per_s, settings.rate_burst),
        db_engine=engine,
        references=references,
        log=log,
        log_writer=log_writer_for(log),
        holdings=holdings,
        departments=departments,
        log_anchorer=anchorer,
        extras={"index_lock": index_lock} if index_lock is not None else {},
    )
