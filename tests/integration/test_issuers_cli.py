"""`huren issuer ...` driven through click's CliRunner, against a real anvil and a SQLite file."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from common.document import flatten
from issuers.cli import issuer
from issuers.field_cipher import FieldCipher
from issuers.store import CertificateStore
from tests.integration.issuer_env import ID_CARD, LICENCE, DeptEnv, register_department, write_cli_env

PASSPHRASE = "correct horse battery"


@pytest.fixture
def dept(devnet) -> DeptEnv:  # type: ignore[no-untyped-def]
    return register_department(devnet)


@pytest.fixture
def env(dept, tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    values = write_cli_env(dept, tmp_path, f"sqlite:///{tmp_path / 'issuer.sqlite'}", PASSPHRASE)
    values.update({"HUREN_BATCH_MAX_AGE": "0", "HUREN_CONFIRMATIONS": "1"})
    return values


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(issuer, list(args), env=env, catch_exceptions=False)


def _store(dept: DeptEnv, env: dict[str, str]) -> CertificateStore:
    return CertificateStore(env["HUREN_ISSUER_DB"], FieldCipher.from_key_text(dept.field_key))


def _json_file(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _csv_file(path: Path, docs: list[dict[str, Any]]) -> Path:
    """The documents as a CSV of dotted paths, without the issuer columns (the service fills them in)."""
    rows = [{k: v for k, v in flatten(d).items() if not k.startswith("issuer.")} for d in docs]
    header = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        for r in rows:
            out.writerow(["" if r.get(k) is None else r[k] for k in header])
    return path


def test_issue_from_a_json_file_answers_once_the_certificate_is_stored(dept, env, tmp_path):
    doc = dept.documents(1)[0]
    result = run(env, "issue", str(_json_file(tmp_path / "c.json", doc)))
    assert result.exit_code == 0, result.output
    assert f"已受理：{doc['id']}" in result.output
    assert _store(dept, env).certificate(doc["id"], decrypt=False) is not None


def test_invalid_certificate_file_is_refused_naming_field_and_rule(dept, env, tmp_path):
    doc = dept.documents(1)[0]
    doc["issuer"]["creditCode"] = "91110000802100433B"  # valid code, but another department
    result = run(env, "issue", str(_json_file(tmp_path / "c.json", doc)))
    assert result.exit_code == 1
    assert "未受理" in result.output and "字段 issuer.creditCode" in result.output and "本部门签发" in result.output
    assert _store(dept, env).overview()["certificates"] == 0


def test_bulk_csv_stores_good_rows_and_reports_each_bad_row_with_line_field_and_rule(dept, env, tmp_path):
    docs = dept.documents(6, types=(LICENCE,))
    docs[1]["holder"]["idNumber"] = docs[1]["holder"]["idNumber"][:-1] + "0"  # wrong GB 32100 check char
    docs[4]["validFrom"] = "2025-13-01"
    if docs[1]["holder"]["idNumber"] == docs[1]["claims"]["creditCode"]:
        docs[1]["holder"]["idNumber"] = docs[1]["holder"]["idNumber"][:-1] + "1"
    path = _csv_file(tmp_path / "batch.csv", docs)
    result = run(env, "bulk", str(path))
    assert result.exit_code == 1, result.output
    assert "共6行：受理4行，此前已受理0行，拒绝2行" in result.output
    assert "第3行 字段 holder.idNumber" in result.output and "第6行 字段 validFrom" in result.output
    with (tmp_path / "batch.csv.errors.csv").open(encoding="utf-8-sig") as f:
        report = list(csv.DictReader(f))
    assert {(r["行号"], r["字段"]) for r in report} >= {("3", "holder.idNumber"), ("6", "validFrom")}
    assert {r["规则"] for r in report if r["字段"] == "holder.idNumber"} & {"GB 32100", "证照目录"}
    assert stat.S_IMODE(os.stat(tmp_path / "batch.csv.errors.csv").st_mode) == 0o600
    assert _store(dept, env).overview()["certificates"] == 4


def test_bulk_strict_stores_nothing_when_a_row_is_bad(dept, env, tmp_path):
    docs = dept.documents(4, types=(LICENCE,))
    docs[2]["validUntil"] = "1999-01-01"
    result = run(env, "bulk", "--strict", str(_csv_file(tmp_path / "batch.csv", docs)))
    assert result.exit_code == 1
    assert "严格模式" in result.output and "未导入任何数据" in result.output
    assert _store(dept, env).overview()["certificates"] == 0


def test_bulk_jsonl_shows_progress_and_a_rerun_accepts_nothing_twice(dept, env, tmp_path):
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in dept.documents(30)) + "\n{not json\n")
    first = run(env, "bulk", str(path))
    assert "签发" in first.stderr and "30/31" not in first.stdout  # the bar goes to stderr
    assert "受理30行" in first.output and "第31行" in first.output and "不是有效的JSON" in first.output
    again = run(env, "bulk", str(path))
    assert "受理0行，此前已受理30行" in again.output
    assert _store(dept, env).overview()["certificates"] == 30


def test_anchor_drain_then_show_reports_the_anchor_and_the_chain_status(dept, env, tmp_path):
    doc = dept.documents(2)[1]
    run(env, "issue", str(_json_file(tmp_path / "c.json", doc)))
    drained = run(env, "anchor", "--drain", "--timeout", "60")
    assert drained.exit_code == 0, drained.output
    assert "已确认1" in drained.output
    shown = run(env, "show", doc["id"])
    assert shown.exit_code == 0, shown.output
    assert "上链进度：已确认" in shown.output and "链上状态：有效（在用）" in shown.output
    assert "批次根 0x" in shown.output and "交易 0x" in shown.output


def test_show_masks_sensitive_values_unless_revealed(dept, env, tmp_path):
    doc = dept.documents(2, types=(ID_CARD,))[0]
    run(env, "issue", str(_json_file(tmp_path / "c.json", doc)))
    masked = run(env, "show", doc["id"])
    assert doc["holder"]["idNumber"] not in masked.output and "holder.idNumber = ******" in masked.output
    assert doc["holder"]["name"] in masked.output
    revealed = run(env, "show", "--reveal", doc["id"])
    assert doc["holder"]["idNumber"] in revealed.output


def test_revoke_suspend_reinstate_through_the_cli(dept, env, tmp_path):
    docs = dept.documents(2, types=(LICENCE,))
    for i, doc in enumerate(docs):
        run(env, "issue", str(_json_file(tmp_path / f"c{i}.json", doc)))
    run(env, "anchor", "--drain")
    revoked = run(env, "revoke", docs[0]["id"], "--reason", "吊销", "--note", "处罚决定")
    assert revoked.exit_code == 0, revoked.output
    assert f"已撤销：{docs[0]['id']}" in revoked.output
    assert "链上状态：已撤销（原因：penalty）" in run(env, "show", docs[0]["id"]).output
    assert run(env, "suspend", docs[1]["id"]).exit_code == 0
    assert "链上状态：暂扣" in run(env, "show", docs[1]["id"]).output
    assert run(env, "reinstate", docs[1]["id"]).exit_code == 0
    assert "链上状态：有效（在用）" in run(env, "show", docs[1]["id"]).output
    refused = run(env, "reinstate", docs[0]["id"])
    assert refused.exit_code == 1 and "错误：链上拒绝恢复证照" in refused.output


def test_status_change_of_an_unknown_certificate_is_a_clear_error(env):
    result = run(env, "revoke", "1.2.156.3005.2.X", "--reason", "撤销")
    assert result.exit_code == 1 and "本部门证照库中没有证照" in result.output


def test_nothing_secret_is_printed(dept, env, tmp_path):
    doc = dept.documents(2, types=(ID_CARD,))[0]
    outputs = [
        run(env, "issue", str(_json_file(tmp_path / "c.json", doc))).output,
        run(env, "anchor", "--drain").output,
        run(env, "show", doc["id"]).output,
        run(env, "show", "--json", doc["id"]).output,
        run(env, "outbox").output,
    ]
    salts = [f.salt.hex() for f in _store(dept, env).certificate(doc["id"]).fields]
    secrets = [PASSPHRASE, dept.field_key, bytes(dept.account.key).hex(), *salts]
    for text in outputs:
        for secret in secrets:
            assert secret not in text


def test_missing_passphrase_is_a_clear_error(env, tmp_path):
    env = {k: v for k, v in env.items() if k != "HUREN_ISSUER_PASSPHRASE"}
    result = run(env, "show", "anything")
    assert result.exit_code == 1 and "HUREN_ISSUER_PASSPHRASE" in result.output


def test_wrong_passphrase_is_a_clear_error(env):
    result = run({**env, "HUREN_ISSUER_PASSPHRASE": "wrong"}, "show", "anything")
    assert result.exit_code == 1 and "无法解锁签名密钥库" in result.output


def test_field_key_command_writes_a_private_key_file_and_never_overwrites(tmp_path):
    path = tmp_path / "field.key"
    created = CliRunner().invoke(issuer, ["field-key", str(path)])
    assert created.exit_code == 0 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = path.read_text().strip()
    assert FieldCipher.from_key_text(key).key_id and key not in created.output
    again = CliRunner().invoke(issuer, ["field-key", str(path)])
    assert again.exit_code == 1 and path.read_text().strip() == key


def test_field_key_command_with_suite_2_writes_an_sm4_gcm_key(tmp_path):
    path = tmp_path / "field-sm4.key"
    created = CliRunner().invoke(issuer, ["field-key", str(path), "--suite", "2"])
    assert created.exit_code == 0, created.output
    assert FieldCipher.from_key_text(path.read_text().strip()).algorithm == "sm4-gcm"


def test_issue_and_show_work_while_no_chain_node_answers(dept, env, tmp_path):
    from ledger.anvil import free_port

    offline = {**env, "HUREN_RPC_URLS": f"http://127.0.0.1:{free_port()}"}
    doc = dept.documents(1)[0]
    issued = run(offline, "issue", str(_json_file(tmp_path / "c.json", doc)))
    assert issued.exit_code == 0 and f"已受理：{doc['id']}" in issued.output
    shown = run(offline, "show", doc["id"])
    assert shown.exit_code == 0
    assert "上链进度：待组批" in shown.output and "链上状态：暂不可查" in shown.output
