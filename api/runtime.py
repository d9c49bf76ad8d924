"""Everything a running API process holds: chain client, index, stores, policies.

Built once at start-up from `Settings`; routes reach it as `request.app.state.runtime`.
Each worker process has its own indexer and read model (DESIGN.md: verifiers scale out as
stateless workers, each with its own index); the certificate store and the verification log
are shared through the database.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from api.auditlog import LogWriter, VerificationLog, record_for
from api.credentials import Credential, CredentialStore
from api.ratelimit import RateLimiter
from api.references import ReferenceStore
from api.settings import Settings
from common.eip712 import Domain
from ledger import store as st
from ledger.abi import ContractABI
from ledger.chainview import IndexedChainView
from ledger.deploy import load_abis
from ledger.errors import NodeUnavailable
from ledger.indexer import Indexer
from ledger.manifest import Manifest
from ledger.rpc import RpcClient, RpcError
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
    log_writer: LogWriter
    started_at: float = field(default_factory=time.time)
    extras: dict[str, object] = field(default_factory=dict)

    def policy_for(self, region: int) -> VerifierPolicy:
        s = self.settings
        return VerifierPolicy(region=region, domain=self.domain, confirmations=s.confirmations,
                              clock_skew_s=s.clock_skew_s, max_presentation_age_s=s.max_presentation_age_s)

    def record_verification(self, cred: Credential, result: VerificationResult) -> dict[str, object]:
        """Write the verification to the hash-chained log; returns the receipt (entry number and hash).

        Waits for the commit: an answer is never given for a verification that is not logged.
        """
        assert cred.region is not None
        return self.log_writer.append(record_for(result, cred.id, cred.region)).receipt()

    def start(self) -> None:
        self.log_writer.start()
        try:
            self.indexer.sync(timeout=60)
        except (NodeUnavailable, RpcError) as exc:
            log.warning("chain not reachable at start-up (%s); the indexer keeps trying", exc)
        self.indexer.start(self.settings.index_poll_s)

    def stop(self) -> None:
        self.log_writer.close()
        self.indexer.stop()
        self.rpc.close()


def build_runtime(settings: Settings) -> Runtime:
    manifest = Manifest.load(settings.manifest)
    abis = load_abis()
    rpc = RpcClient(settings.rpc_urls)
    indexer = Indexer(rpc, manifest, abis, st.IndexStore(st.make_engine(settings.index_db_url)))
    engine = st.make_engine(settings.db_url)
    log = VerificationLog(engine)
    return Runtime(
        settings=settings, rpc=rpc, manifest=manifest, abis=abis, indexer=indexer,
        view=IndexedChainView(indexer, settings.max_index_staleness_s),
        domain=Domain(manifest.chain_id, manifest.ledger_address),
        credentials=CredentialStore(engine),
        rate_limiter=RateLimiter(settings.rate_per_s, settings.rate_burst),
        db_engine=engine,
        references=ReferenceStore(engine),
        log=log,
        log_writer=LogWriter(log),
    )
