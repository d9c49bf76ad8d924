"""A holder's wallet entry is committed with the certificate, by the certificate store, on every
path that accepts one: the API (single and bulk) and the bulk page call the same service as the
department CLI, whose bulk import is driven here for real. Re-submitting repairs missing entries.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from sqlalchemy import delete, func, select

from common.eip712 import Domain
from issuers.cli import issuer
from issuers.field_cipher import FieldCipher, new_field_key
from issuers.intake import Department, IntakeSpec
from issuers.model import Issuer
from issuers.samples import TYPE_CODES, sample_document, sample_issuer
from issuers.service import IssuerService
from issuers.store import CertificateStore, holder_hash, holdings
from tests.integration.issuer_env import DEPT_TYPES, register_department, write_cli_env

LICENCE, ID_CARD = TYPE_CODES["business_licence"], TYPE_CODES["resident_id_card"]
DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")


@pytest.fixture
def service(db_url):  # type: ignore[no-untyped-def]
    """A department's issuance over a fresh database of each backend (no chain: acceptance only)."""
    template = sample_issuer(LICENCE, "110105")
    spec = IntakeSpec(Department(template.credit_code, template.region, template.name), bytes(Account.create().key),
                      DOMAIN, new_field_key())
    svc = IssuerService(CertificateStore(db_url, FieldCipher.from_key_text(spec.field_key_text)), spec)
    yield svc
    svc.store.close()


def _documents(svc: IssuerService, n: int, seed: int = 0) -> list[dict]:
    d = svc.department
    me = Issuer(d.credit_code, d.region, d.name, svc.intake.sealer.address)
    return [sample_document((LICENCE, ID_CARD)[i % 2], seed * 1_000 + i, issuer=me) for i in range(n)]


def _wallets(svc: IssuerService) -> dict[str, str]:
    """cert id -> holder hash of every wallet entry."""
    with svc.store.engine.connect() as c:
        return {cid: h for h, cid in c.execute(select(holdings.c.holder_hash, holdings.c.cert_id))}


def _expected(docs: list[dict], ids: list[str]) -> dict[str, str]:
    return {cid: holder_hash(doc["holder"]["idNumber"]) for cid, doc in zip(ids, docs, strict=True)}


def test_an_issued_certificate_is_in_its_holders_wallet_when_issue_returns(service):
    [doc] = _documents(service, 1, seed=1)
    receipt = service.issue(doc)
    assert _wallets(service) == {receipt.cert_id: holder_hash(doc["holder"]["idNumber"])}


def test_every_row_of_a_bulk_is_in_its_holders_wallet_chunk_by_chunk(service):
    docs = _documents(service, 12, seed=2)  # companies (id in clear) and persons (id sealed)
    result = service.issue_many(docs, chunk=5)
    assert len(result.accepted) == 12
    assert _wallets(service) == _expected(docs, result.accepted)


def test_resubmitting_a_bulk_writes_the_wallet_entries_that_are_missing_and_no_others(service):
    docs = _documents(service, 8, seed=3)
    ids = service.issue_many(docs, chunk=3).accepted
    with service.store.engine.begin() as c:  # as an older release left them after a crash
        c.execute(delete(holdings).where(holdings.c.cert_id.in_(ids[2:7])))
    again = service.issue_many(docs, chunk=3)
    assert again.already_accepted == ids and again.accepted == []
    assert _wallets(service) == _expected(docs, ids)
    with service.store.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(holdings)).scalar() == 8


def test_a_strict_bulk_that_stores_nothing_writes_no_wallet_entry(service):
    docs = _documents(service, 4, seed=4)
    docs[2] = {**docs[2], "holder": {**docs[2]["holder"], "idNumber": "not an id"}}
    assert service.issue_many(docs, strict=True).stored is False
    assert _wallets(service) == {}


def test_the_department_cli_bulk_fills_the_holders_wallets(devnet, tmp_path):
    dept = register_department(devnet)
    db_url = f"sqlite:///{tmp_path / 'issuer.sqlite'}"
    env = write_cli_env(dept, tmp_path, db_url)
    docs = dept.documents(6, seed=5, types=DEPT_TYPES)
    lines = tmp_path / "bulk.jsonl"
    lines.write_text("".join(json.dumps({k: v for k, v in d.items() if k != "issuer"}, ensure_ascii=False) + "\n"
                             for d in docs), encoding="utf-8")
    result = CliRunner().invoke(issuer, ["bulk", str(lines), "--no-progress"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    store = CertificateStore(db_url, FieldCipher.from_key_text(dept.field_key))
    with store.engine.connect() as c:
        wallets = {cid: h for h, cid in c.execute(select(holdings.c.holder_hash, holdings.c.cert_id))}
    ids = store.certificate_ids()
    store.close()
    assert len(ids) == 6 and wallets == _expected(docs, ids)


# --------------------------------------------------------------------------- the named fault point


def _run_points(tmp_path: Path, spec: str, passes: int, once: Path | None = None) -> subprocess.CompletedProcess[str]:
    code = ("import sys\nfrom common.faults import fault_point\n"
            f"for i in range({passes}):\n    fault_point('bulk.after_chunk')\n    print(i + 1, flush=True)\n")
    env = {**os.environ, "HUREN_FAULT_POINT": spec}
    if once is not None:
        env["HUREN_FAULT_ONCE"] = str(once)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)


def test_a_fault_point_kills_its_process_at_the_named_pass_and_not_before(tmp_path):
    run = _run_points(tmp_path, "bulk.after_chunk:2", 5)
    assert run.returncode == -signal.SIGKILL
    assert run.stdout.split() == ["1"]


def test_another_fault_point_name_does_not_kill(tmp_path):
    assert _run_points(tmp_path, "batch_closed", 3).stdout.split() == ["1", "2", "3"]


def test_a_once_file_lets_only_the_first_process_die(tmp_path):
    once = tmp_path / "fired"
    assert _run_points(tmp_path, "bulk.after_chunk:1", 2, once).returncode == -signal.SIGKILL
    restarted = _run_points(tmp_path, "bulk.after_chunk:1", 2, once)
    assert restarted.returncode == 0 and restarted.stdout.split() == ["1", "2"]
