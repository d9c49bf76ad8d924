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
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, insert, select
from sqlalchemy.engine import Engine

from issuers.anchoring import AnchorPolicy, AnchorWorker
from issuers.chain_link import ChainLink
from issuers.field_cipher import FieldCipher
from issuers.intake import Department, IntakeSpec
from issuers.service import IssuerService
from issuers.store import CertificateStore
from ledger.abi import ContractABI
from ledger.keystore import load_keystore
from ledger.lease import LeaseTable, LeaseTerms
from ledger.manifest import Manifest
from ledger.rpc import RpcClient

log = logging.getLogger("huren.api")

metadata = MetaData()
# Which certificates a holder holds, by a hash of the holder's id number (never the number).
holdings = Table(
    "api_holdings", metadata,
    Column("holder_hash", String(64), primary_key=True),
    Column("cert_id", String(160), primary_key=True),
    Column("issuer_code", String(18), nullable=False),
    Column("type_code", String(32), nullable=False),
    Column("accepted_at", BigInteger, nullable=False),
    Index("ix_api_holdings_cert", "cert_id"),
)


@dataclass
class DepartmentRuntime:
    department: Department
    service: IssuerService
    worker: AnchorWorker

    @property
    def credit_code(self) -> str:
        return self.department.credit_code


class Holdings:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def add(self, rows: list[dict[str, object]]) -> None:
        if not rows:
            return
        with self.engine.begin() as c:
            existing = {r.cert_id for r in c.execute(select(holdings.c.cert_id).where(
                holdings.c.cert_id.in_([str(r["cert_id"]) for r in rows])))}
            fresh = [r for r in rows if r["cert_id"] not in existing]
            if fresh:
                c.execute(insert(holdings), fresh)

    def of(self, holder_hash: str) -> list[dict[str, object]]:
        with self.engine.connect() as c:
            rows = c.execute(select(holdings).where(holdings.c.holder_hash == holder_hash)
                             .order_by(holdings.c.accepted_at.desc())).all()
        return [dict(r._mapping) for r in rows]

    def holds(self, holder_hash: str, cert_id: str) -> bool:
        with self.engine.connect() as c:
            return c.execute(select(holdings.c.cert_id).where(holdings.c.holder_hash == holder_hash,
                                                              holdings.c.cert_id == cert_id)).first() is not None


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
        except (OSError, ValueError, KeyError) as exc:
            log.error("department %s left out: %s", code, exc)
            continue
        department = Department(code, int(e["region"]), str(e["name"]))
        chain = ChainLink(rpc, manifest, abis, account)
        store = CertificateStore(db_url, FieldCipher.from_key_text(field_key))
        service = IssuerService(store, IntakeSpec(department, bytes(account.key), chain.domain, field_key), chain)
        worker = AnchorWorker(store, chain, code, policy, leases=LeaseTable(store.engine), lease_terms=lease_terms)
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
