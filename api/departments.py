"""The issuing departments this API host serves, each with its issuer service and anchoring worker.

Configured by a JSON file (settings.departments_file):

    [{"creditCode": "11110000000021135M", "region": 110000, "name": "北京市市场监督管理局",
      "keystore": "keystores/11110000000021135M.json", "fieldKeyFile": "keys/11110000000021135M.key"}]

Keystore passphrases come from `settings.passphrase_file` (or `passphraseFile` per entry);
relative paths are relative to the JSON file. A department whose keystore cannot be opened is
reported at start-up and left out; the others still serve.

Every API worker process loads every department, but a department's anchoring worker anchors
only in the process holding its lease `anchor:<credit code>` (see issuers.anchoring); the
others accept certificates into the shared outbox and stand by.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

import migrations
from api.metrics import OUTBOX_OBSERVER
from common.document import issuer_id
from common.freshness import facts_age_s, within_bound
from issuers.anchoring import AnchorPolicy, AnchorWorker
from issuers.chain_link import ChainLink
from issuers.field_cipher import FieldCipher
from issuers.intake import Department, IntakeSpec
from issuers.service import IssuerService
from issuers.store import CertificateStore, holdings
from ledger.abi import ContractABI
from ledger.errors import KeystoreError
from ledger.indexer import Indexer
from ledger.keystore import load_keystore, load_sm2_keystore
from ledger.lease import LeaseTable, LeaseTerms
from ledger.manifest import Manifest
from ledger.rpc import RpcClient

log = logging.getLogger("huren.api")



@dataclass
class DepartmentRuntime:
    department: Department
    service: IssuerService
    worker: AnchorWorker

    @property
    def credit_code(self) -> str:
        return self.department.credit_code


class Holdings:
    """The holders' wallets, read by the wallet routes. Written only by the certificate store, in
    the transaction that accepts the certificate (issuers.store), so every path fills them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrations.upgrade(engine)

    def of(self, holder_hash: str) -> list[dict[str, object]]:
        with self.engine.connect() as c:
            rows = c.execute(select(holdings).where(holdings.c.holder_hash == holder_hash)
                             .order_by(holdings.c.accepted_at.desc())).all()
        return [dict(r._mapping) for r in rows]

    def holds(self, holder_hash: str, cert_id: str) -> bool:
        with self.engine.connect() as c:
            return c.execute(select(holdings.c.cert_id).where(holdings.c.holder_hash == holder_hash,
                                                              holdings.c.cert_id == cert_id)).first() is not None


def indexed_authorisation(indexer: Indexer, credit_code: str,
                          max_facts_age_s: float) -> Callable[[], frozenset[str] | None]:
    """The department's authorised types from this process's index, for `IssuerService.authorisation`.

    The index follows the chain (grants and withdrawals are events), so intake refuses a type
    the moment the chain stops authorising it, without asking a node on each issuance. While
    the index's facts are older than the freshness bound the answer is None (unknown): nothing
    is refused on stale facts — the chain itself still refuses, and the batch goes dead, visibly.
    """
    iid = issuer_id(credit_code)

    def current() -> frozenset[str] | None:
        head_time = indexer.stats.head_time
        if not head_time or not within_bound(facts_age_s(time.time(), head_time), max_facts_age_s):
            return None
        facts = indexer.model.issuers.get(iid)
        return facts.authorised_types if facts is not None else frozenset()

    return current


def load_departments(
    path: Path, rpc: RpcClient, manifest: Manifest, abis: dict[str, ContractABI], db_url: str,
    policy: AnchorPolicy, passphrase_file: Path | None, lease_terms: LeaseTerms | None = None,
) -> dict[str, DepartmentRuntime]:
    """The departments of the file at `path`, each with its service and (lease-taking) anchoring worker.

    `lease_terms`: the anchoring lease's ttl and renewal period (default `LeaseTerms()`).
    """
    entries = json.loads(path.read_text())
    base = path.parent
    out: dict[str, DepartmentRuntime] = {}
    for e in entries:
        code = str(e["creditCode"])
        try:
            pass_path = Path(e["passphraseFile"]) if e.get("passphraseFile") else passphrase_file
            if pass_path is None:
                raise ValueError("no passphrase file configured (HUREN_PASSPHRASE_FILE)")
            passphrase = (pass_path if pass_path.is_absolute() else base / pass_path).read_text().strip()
            keystore = Path(e["keystore"])
            account = load_keystore(keystore if keystore.is_absolute() else base / keystore, passphrase)
            key_file = Path(e["fieldKeyFile"])
            field_key = (key_file if key_file.is_absolute() else base / key_file).read_text().strip()
            signing_key, suite = bytes(account.key), 1
            if e.get("sm2Keystore"):  # a 国密 department: seals in suite 2, the keystore above sends transactions
                sm2_path = Path(e["sm2Keystore"])
                signing_key, suite = load_sm2_keystore(sm2_path if sm2_path.is_absolute() else base / sm2_path,
                                                       passphrase), 2
        except (OSError, ValueError, KeyError, KeystoreError) as exc:
            log.error("department %s left out: %s", code, exc)
            continue
        department = Department(code, int(e["region"]), str(e["name"]))
        chain = ChainLink(rpc, manifest, abis, account)
        store = CertificateStore(db_url, FieldCipher.from_key_text(field_key))
        service = IssuerService(store, IntakeSpec(department, signing_key, chain.domain, field_key, suite=suite), chain)
        worker = AnchorWorker(store, chain, code, policy, leases=LeaseTable(store.engine), lease_terms=lease_terms,
                              observer=OUTBOX_OBSERVER)
        out[code] = DepartmentRuntime(department, service, worker)
    return out


def recent_certificates(dept: DepartmentRuntime, limit: int, cert_id_prefix: str = "") -> list[dict[str, object]]:
    """The department's latest certificates with their anchoring state (for lists and the console)."""
    from issuers.store import batches, certificates

    q = (select(certificates.c.cert_id, certificates.c.type_code, certificates.c.accepted_at, batches.c.state)
         .select_from(certificates.outerjoin(batches, certificates.c.batch_id == batches.c.id))
         .where(certificates.c.issuer_code == dept.credit_code))
    if cert_id_prefix:
        q = q.where(certificates.c.cert_id.like(cert_id_prefix.replace("%", "").replace("_", "\\_") + "%",
                                                escape="\\"))
    q = q.order_by(certificates.c.seq.desc()).limit(limit)
    with dept.service.store.engine.connect() as c:
        rows = c.execute(q).all()
    return [{"cert_id": r.cert_id, "type_code": r.type_code, "accepted_at": r.accepted_at,
             "anchor_state": r.state or "accepted"} for r in rows]
