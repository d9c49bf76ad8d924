"""A consortium on its own anvil where certificates are really issued, anchored and changed.

Shared by the on-chain verdict table and the indexed-vs-naive agreement tests. Nothing is
faked: departments are registered through k-of-n regional proposals, certificates are sealed
and signed by the IssuerService and anchored by its AnchorWorker, status changes and
recognition rules are transactions, and the verifier reads the chain through

* the indexed view (`IndexedChainView` over an `Indexer` synced into SQLite), and
* the naive view (`RpcChainView`: one `eth_call` per fact).

Each world runs on its own anvil so it may move the chain clock (`advance`) and kill its node
without disturbing other test modules that share the session's node.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from eth_account.signers.local import LocalAccount

from common.document import issuer_id
from common.eip712 import Domain
from common.nodes import NodeAlgorithm, NodeKeyPurpose
from common.stamp import StampSigner
from issuers.anchoring import AnchorPolicy, AnchorWorker
from issuers.chain_link import ChainLink
from issuers.field_cipher import FieldCipher, new_field_key
from issuers.intake import Department, IntakeSpec
from issuers.model import Issuer
from issuers.rules.credit_code import make_credit_code
from issuers.samples import TYPE_CODES, sample_document
from issuers.service import IssuedCertificate, IssuerService
from issuers.store import CertificateStore
from ledger import store as st
from ledger.anvil import Anvil
from ledger.chainview import IndexedChainView, RpcChainView
from ledger.compile import Artifact
from ledger.devnet import Devnet, start_devnet
from ledger.indexer import Indexer
from ledger.manifest import Manifest
from ledger.nodes import AddNodeKey, RegisterNode
from tests.integration.issuer_env import define_types
from verifier.checks import CHINA_TZ, CheckResult
from verifier.codec import encode
from verifier.engine import VerificationResult, VerifierPolicy, verify_text
from verifier.presentation import Presentation, make_presentation

T = TypeVar("T")
BJ, TJ, HE, SH = 110000, 120000, 130000, 310000
REGIONS = (BJ, TJ, HE, SH)
LICENCE = TYPE_CODES["business_licence"]
DRIVING = TYPE_CODES["driving_licence"]
TYPES = (LICENCE, DRIVING)
#: 4 of the 12 optional fields of a business licence, as a clerk asks for them.
LICENCE_PATHS = ("claims.entityName", "claims.creditCode", "claims.legalRepresentative", "claims.domicile")
DRIVING_PATHS = ("claims.name", "claims.vehicleClass", "claims.licenceNumber", "claims.firstIssueDate")
PATHS = {LICENCE: LICENCE_PATHS, DRIVING: DRIVING_PATHS}
PURPOSE = "在河北办理营业执照异地经营备案"
#: Every anchor counts once mined (as on a QBFT network); the verifiers ask for 2 confirmations.
WORKER_POLICY = AnchorPolicy(batch_size=1024, batch_max_age=0.0, confirmations=1, poll_interval=0.02,
                             max_backoff=0.5)
CONFIRMATIONS = 2
#: Checks whose wording names where the facts came from (index vs node, a tx hash the naive
#: view does not fetch, the rule's own window vs the contract's yes/no): compared by outcome only.
SOURCE_WORDED_CHECKS = frozenset({"status_freshness", "anchor", "recognition", "chain_access"})


def register_stamping_nodes(net: Devnet, regions: Sequence[int],
                            keys: dict[int, StampSigner] | None = None) -> dict[int, StampSigner]:
    """Each region's node entry with an Ed25519 stamping key (as api/seed.py registers them): the
    given ones, else fresh ones."""
    signers = {}
    for region in regions:
        signer = (keys or {}).get(region) or StampSigner(region, Ed25519PrivateKey.generate())
        net.node_change(region, RegisterNode(f"https://node-{region}.example.gov.cn"))
        net.node_change(region, AddNodeKey(NodeAlgorithm.ED25519, NodeKeyPurpose.STAMPING, signer.public_bytes))
        signers[region] = signer
    return signers


@dataclass
class Dept:
    """A registered issuing department: its key, its issuer service and anchoring worker."""

    handle: str
    department: Department
    account: LocalAccount
    chain: ChainLink
    service: IssuerService
    worker: AnchorWorker

    @property
    def issuer(self) -> Issuer:
        d = self.department
        return Issuer(d.credit_code, d.region, d.name, self.account.address)

    @property
    def issuer_id(self) -> bytes:
        return issuer_id(self.department.credit_code)


@dataclass
class ChainViews:
    """One reader of the chain, two ways: from the synced index and by eth_call per fact."""

    indexer: Indexer
    indexed: IndexedChainView
    naive: RpcChainView

    def sync(self) -> None:
        self.indexer.sync(timeout=60)


@dataclass(frozen=True)
class Outcome:
    """The same presentation verified at the same moment through both views."""

    indexed: VerificationResult
    naive: VerificationResult

    @property
    def verdict(self) -> str:
        return str(self.indexed.verdict)

    @property
    def deciding_check(self) -> str | None:
        failed = [c for c in self.indexed.checks if not c.ok]
        return failed[-1].name if failed else None


@dataclass
class World:
    node: Anvil
    net: Devnet
    tmp: Path
    views: ChainViews
    artifacts: dict[str, Artifact]
    departments: dict[str, Dept] = field(default_factory=dict)
    memos: dict[str, Any] = field(default_factory=dict)
    #: Each region's node stamping key, registered in the chain's node registry (purpose stamping).
    stampers: dict[int, StampSigner] = field(default_factory=dict)
    _seed: int = 0

    def __repr__(self) -> str:  # hypothesis prints its arguments; the world is not one to print
        return f"World(node={self.node.url}, departments={sorted(self.departments)})"

    # ------------------------------------------------------------------ set-up

    @classmethod
    def create(cls, node: Anvil, tmp: Path, artifacts: dict[str, Artifact]) -> World:
        """Deploy a consortium (BJ, TJ, HE, SH) on `node`, define the types, HE and TJ recognise BJ's."""
        tmp.mkdir(parents=True, exist_ok=True)
        net = start_devnet(node, regions=REGIONS, artifacts=artifacts)
        define_types(net, TYPES)
        for verifier in (TJ, HE):
            for t in TYPES:
                net.recognise(verifier, t, BJ)
        stampers = register_stamping_nodes(net, REGIONS)
        return cls(node, net, tmp, chain_views(net, net.manifest, tmp / "index.sqlite"), artifacts,
                   stampers=stampers)

    def memo(self, key: str, build: Callable[[World], T]) -> T:
        """Build a shared scenario once (several table rows read one story)."""
        if key not in self.memos:
            self.memos[key] = build(self)
        return self.memos[key]  # type: ignore[no-any-return]

    def new_suite(self) -> Devnet:
        """Another deployment of the whole contract suite on the same node (same regions and region nodes
        with the same stamping keys, no departments)."""
        suite = start_devnet(self.node, regions=REGIONS, artifacts=self.artifacts)
        register_stamping_nodes(suite, REGIONS, self.stampers)
        return suite

    def register(self, handle: str, region: int = BJ, types: Sequence[str] = TYPES,
                 account: LocalAccount | None = None) -> Dept:
        """Register a department (k-of-n regional proposals) and build its service and worker."""
        number = len(self.departments) + 1
        credit_code = make_credit_code(f"11{region}HR{number:07d}")
        name = f"{handle}示例发证部门"
        account = account or self.net.new_account()
        self.net.register_issuer(region, credit_code, name, [account.address], list(types))
        dept = self._dept(handle, Department(credit_code, region, name), account, bytes(account.key))
        self.departments[handle] = dept
        return dept

    def _dept(self, handle: str, department: Department, anchoring: LocalAccount, signing_key: bytes,
              store_name: str | None = None) -> Dept:
        chain = ChainLink(self.net.rpc, self.net.manifest, self.net.abis, anchoring)
        key_text = new_field_key()
        db = self.tmp / f"{store_name or handle}.sqlite"
        store = CertificateStore(f"sqlite:///{db}", FieldCipher.from_key_text(key_text))
        spec = IntakeSpec(department, signing_key, chain.domain, key_text)
        service = IssuerService(store, spec, chain)
        worker = AnchorWorker(store, chain, department.credit_code, WORKER_POLICY)
        return Dept(handle, department, anchoring, chain, service, worker)

    def second_store(self, dept: Dept, store_name: str, signing_key: bytes | None = None) -> Dept:
        """The same department with another certificate store (and, if given, another signing key)."""
        key = signing_key if signing_key is not None else bytes(dept.account.key)
        return self._dept(dept.handle, dept.department, dept.account, key, store_name)

    @property
    def domain(self) -> Domain:
        return Domain(self.net.manifest.chain_id, self.net.manifest.ledger_address)

    # ------------------------------------------------------------------ the chain's clock

    def chain_time(self) -> int:
        return self.net.now()

    def now(self) -> int:
        """A verification moment: the head's time (the chain clock may run ahead of the wall clock)."""
        return self.chain_time() + 1

    def today(self) -> date:
        return datetime.fromtimestamp(self.now(), CHINA_TZ).date()

    def advance(self, seconds: int) -> None:
        """Move the chain clock forward (the next block is at least `seconds` later)."""
        self.node.rpc("evm_increaseTime", [seconds])
        self.mine(1)

    def mine(self, blocks: int) -> None:
        self.node.rpc("anvil_mine", [hex(blocks)])

    # ------------------------------------------------------------------ issuance

    def document(self, dept: Dept, type_code: str = LICENCE, *, holder: str | None = None,
                 valid_from: date | None = None, valid_until: date | None = None) -> dict[str, Any]:
        """A valid sample document of `dept` (a fresh seed each time, so ids never repeat)."""
        self._seed += 1
        doc = sample_document(type_code, 7_000_000 + self._seed, issuer=dept.issuer, holder_address=holder or False)
        doc.pop("issuer")  # the department's service fills its own issuer block
        if valid_from is not None:
            doc["validFrom"] = valid_from.isoformat()
        if valid_until is not None:
            doc["validUntil"] = valid_until.isoformat()
        return doc

    def issue(self, dept: Dept, documents: Iterable[dict[str, Any]], *, anchor: bool = True,
              settle: bool = True) -> list[IssuedCertificate]:
        """Issue through the service; anchor with the worker (and mine the confirmations) unless told not to."""
        ids = [dept.service.issue(doc).cert_id for doc in documents]
        if anchor:
            assert dept.worker.drain(timeout=60), dept.worker.status.last_error
            if settle:
                self.mine(CONFIRMATIONS)
        else:
            dept.service.store.close_batches(dept.department.credit_code, size=1024, max_age=0, force=True)
        return [dept.service.certificate(cid) for cid in ids]

    def issue_one(self, dept: Dept, type_code: str = LICENCE, **kwargs: Any) -> IssuedCertificate:
        anchor = kwargs.pop("anchor", True)
        settle = kwargs.pop("settle", True)
        return self.issue(dept, [self.document(dept, type_code, **kwargs)], anchor=anchor, settle=settle)[0]

    def change_status(self, dept: Dept, cert: IssuedCertificate, action: str) -> None:
        dept.service.change_status(cert.cert_id, action, None if action == "reinstate" else "other")

    # ------------------------------------------------------------------ presentations

    def presentation(self, cert: IssuedCertificate, *, now: int, holder_key: bytes | None = None,
                     ttl_s: int = 300, paths: Sequence[str] | None = None, stamped: bool = True) -> Presentation:
        """As the issuing region's wallet makes it: stamped by that region's node (unless told not to)."""
        assert cert.batch_root is not None and cert.batch_proof is not None, "the certificate is not batched yet"
        return make_presentation(
            list(cert.fields), paths if paths is not None else PATHS[cert.type_code],
            batch_root=cert.batch_root, batch_proof=cert.batch_proof, issuer_signature=cert.signature,
            purpose=PURPOSE, domain=self.domain, holder_key=holder_key, now=now, ttl_s=ttl_s,
            stamp_signer=self.stampers[cert.document["issuer"]["region"]] if stamped else None,
        )

    def code(self, cert: IssuedCertificate, **kwargs: Any) -> str:
        """The "HR1:" text a holder's phone shows."""
        return encode(self.presentation(cert, **kwargs))

    # ------------------------------------------------------------------ verification

    def policy(self, region: int, confirmations: int = CONFIRMATIONS) -> VerifierPolicy:
        return VerifierPolicy(region=region, domain=self.domain, confirmations=confirmations)

    def verify(self, text: str, region: int, *, now: int | None = None, confirmations: int = CONFIRMATIONS,
               views: ChainViews | None = None, sync: bool = True) -> Outcome:
        """Verify through both views at the same chain height (the index synced first)."""
        views = views or self.views
        if sync:
            views.sync()
        moment = self.now() if now is None else now
        policy = self.policy(region, confirmations)
        indexed = verify_text(text, views.indexed, policy, moment)
        views.naive.refresh()
        naive = verify_text(text, views.naive, policy, moment)
        return Outcome(indexed, naive)

    def foreign_views(self, manifest: Manifest, name: str) -> ChainViews:
        """Views over another manifest on the same node (an index of its own)."""
        return chain_views(self.net, manifest, self.tmp / f"index-{name}.sqlite")


def chain_views(net: Devnet, manifest: Manifest, index_db: Path) -> ChainViews:
    indexer = Indexer(net.rpc, manifest, net.abis, st.IndexStore(st.make_engine(f"sqlite:///{index_db}")))
    return ChainViews(indexer, IndexedChainView(indexer), RpcChainView(net.rpc, manifest, net.abis))


def comparable(result: VerificationResult) -> dict[str, object]:
    """What two views must agree on: verdict, every check's outcome (and wording, where it does
    not name the source), disclosed fields, issuer, anchor facts and the height answered at."""
    anchor = result.anchor
    return {
        "verdict": str(result.verdict),
        "checks": [_check(c) for c in result.checks],
        "disclosed": result.disclosed,
        "issuer": None if result.issuer is None else result.issuer.to_dict(),
        "anchor": None if anchor is None else (anchor.batch_root, anchor.issuer_id, anchor.key, anchor.type_code,
                                               anchor.block_number, anchor.block_hash, anchor.timestamp,
                                               anchor.confirmations),
        "height": None if result.freshness is None else result.freshness.height,
        "certificate_hash": result.certificate_hash,
        "holder_bound": result.holder_bound,
    }


def _check(c: CheckResult) -> tuple[object, ...]:
    if c.name in SOURCE_WORDED_CHECKS:
        return (c.name, c.ok, str(c.verdict_if_failed))
    return (c.name, c.ok, str(c.verdict_if_failed), c.detail)


def new_holder_key() -> bytes:
    return secrets.token_bytes(32)


def holder_address(key: bytes) -> str:
    return str(Account.from_key(key).address)


def days(n: int) -> timedelta:
    return timedelta(days=n)
