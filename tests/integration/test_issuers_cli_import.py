"""`huren issuer bulk --existing-ids`: a CSV of certificates a provincial platform issued keeps their ids."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from common.document import flatten
from issuers.cli import issuer
from issuers.field_cipher import FieldCipher
from issuers.rules.cert_id import OID_PREFIX, cert_id_check_char
from issuers.store import CertificateStore
from tests.integration.issuer_env import LICENCE, DeptEnv, register_department, write_cli_env

PASSPHRASE = "correct horse battery"


@pytest.fixture
def dept(devnet) -> DeptEnv:  # type: ignore[no-untyped-def]
    return register_department(devnet)


@pytest.fixture
def env(dept, tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return write_cli_env(dept, tmp_path, f"sqlite:///{tmp_path / 'issuer.sqlite'}", PASSPHRASE)


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(issuer, list(args), env=env, catch_exceptions=False)


def platform_documents(dept: DeptEnv, n: int) -> list[dict[str, Any]]:
    """Licences whose ids name the department's area by its division code, as a provincial platform minted them."""
    docs = dept.documents(n, seed=7, types=(LICENCE,))
    for i, doc in enumerate(docs):
        segments = (LICENCE, f"{dept.department.region:06d}", f"2019{i:06d}", "001")
        doc["id"] = f"{OID_PREFIX}.{'.'.join(segments)}.{cert_id_check_char(*segments)}"
    return docs


def csv_file(path: Path, docs: list[dict[str, Any]]) -> Path:
    rows = [{k: v for k, v in flatten(d).items() if not k.startswith("issuer.")} for d in docs]
    header = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        for r in rows:
            out.writerow(["" if r.get(k) is None else r[k] for k in header])
    return path


def test_existing_ids_flag_imports_platform_ids_and_reports_a_bad_check_char_by_line(dept, env, tmp_path):
    docs = platform_documents(dept, 3)
    expected = docs[2]["id"][-1]
    docs[2]["id"] = docs[2]["id"][:-1] + ("0" if expected != "0" else "1")
    path = csv_file(tmp_path / "platform.csv", docs)
    result = run(env, "bulk", "--existing-ids", str(path))
    assert result.exit_code == 1, result.output
    assert "共3行：受理2行，此前已受理0行，拒绝1行" in result.output
    assert "第4行 字段 id" in result.output and f"应为{expected}" in result.output
    store = CertificateStore(env["HUREN_ISSUER_DB"], FieldCipher.from_key_text(dept.field_key))
    assert all(store.certificate(d["id"], decrypt=False) is not None for d in docs[:2])


def test_without_the_flag_the_same_file_is_refused_naming_the_issuer_segment(dept, env, tmp_path):
    path = csv_file(tmp_path / "platform.csv", platform_documents(dept, 2))
    result = run(env, "bulk", str(path))
    assert result.exit_code == 1, result.output
    assert "受理0行" in result.output and "拒绝2行" in result.output
    assert "六位行政区划代码" in result.output
