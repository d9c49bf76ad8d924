"""`huren issuer ...`: the issuing department's command line (发证部门命令行).

    issue FILE.json                 issue one certificate (answers once it is stored)
    bulk FILE.csv|FILE.jsonl        issue many, with a progress bar and a per-row error report
    revoke|suspend|reinstate ID     change a certificate's status on chain
    show ID                         the certificate, its anchoring and its on-chain status
    anchor [--drain]                run the anchoring worker (or anchor everything queued and exit)
    outbox                          queued / in-flight / dead batches and their last error
    requeue BATCH                   put a dead batch back in the queue once its cause is removed
    field-key FILE [--suite 2]      create a new field-encryption key file (2: 国密 SM4-GCM)

Configuration comes from HUREN_* environment variables (see `issuers.config`) or the flags
below; the keystore passphrase and the field key only ever from the environment or files.
Nothing secret is printed: no key, no passphrase, no salt; sensitive field values are masked
unless `show --reveal` is given.

Bulk import semantics (stated once, here): every row is stored completely or not at all. By
default a bad row rejects only itself — the good rows are accepted and the report lists each
bad row with its line, field and rule; re-running the same file after fixing it is safe
(rows already accepted are recognised and skipped). With `--strict` the file is one unit:
any bad row and nothing at all is stored. With `--existing-ids` the file holds certificates a
provincial platform already issued: each row keeps its own `id` (import rules, see README
"Certificate identifiers"); without it, ids are minted here or must be in this system's form.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from common.json_input import parse_json
from common.recursion import restore_recursion_limit
from issuers.anchoring import AnchorPolicy
from issuers.config import DEFAULT_DB_URL, IssuerConfig, open_service, open_worker
from issuers.errors import IssuanceError
from issuers.field_cipher import new_field_key
from issuers.model import CertificateInvalid, FieldError
from issuers.service import IssuerService
from issuers.status_actions import StatusAction, reason_of_code
from issuers.store import OPEN_STATES, BatchState, SyncState
from issuers.tabular import read_input

__all__ = ["issuer"]

_MASK = "******"
_CHAIN_STATUS = {0: "有效（在用）", 1: "暂扣", 2: "已撤销"}


class _Failed(click.ClickException):
    """A refusal worth one clear line (Chinese first) and exit code 1."""

    def __init__(self, reason: str | Exception) -> None:
        # A typed refusal shows the clerk its Chinese message; the English twin is for logs.
        super().__init__(reason.message if isinstance(reason, IssuanceError) else str(reason))

    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{self.message}", err=True)


@click.group("issuer")
@click.option("--rpc", "rpc_urls", multiple=True, help="JSON-RPC endpoint (repeat for fail-over); env HUREN_RPC_URLS.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path),
              help="Deployment manifest; env HUREN_MANIFEST.")
@click.option("--db", "db_url", help=f"Store URL; env HUREN_ISSUER_DB (default {DEFAULT_DB_URL}).")
@click.option("--keystore", type=click.Path(dir_okay=False, path_type=Path),
              help="Encrypted signing keystore; env HUREN_ISSUER_KEYSTORE (passphrase: HUREN_ISSUER_PASSPHRASE).")
@click.option("--credit-code", help="The department's 统一社会信用代码; env HUREN_ISSUER_CREDIT_CODE.")
@click.option("--region", type=int, help="The department's GB/T 2260 code (default: from the chain registry).")
@click.option("--name", help="The department's registered name (default: from the chain registry).")
@click.option("--batch-size", type=int, help="Certificates per anchored batch (default 1024).")
@click.option("--batch-max-age", type=float, help="Seconds before a partial batch is anchored (default 2).")
@click.option("--confirmations", type=int, help="Confirmations before an anchor is final (default 6).")
@click.pass_context
def issuer(ctx: click.Context, rpc_urls: tuple[str, ...], manifest: Path | None, db_url: str | None,
           keystore: Path | None, credit_code: str | None, region: int | None, name: str | None,
           batch_size: int | None, batch_max_age: float | None, confirmations: int | None) -> None:
    """发证部门：签发、批量签发、撤销/暂扣/恢复、查询证照。"""
    restore_recursion_limit()  # raised by an import (py_ecc): a deeply nested input file could crash us
    try:
        config = IssuerConfig.from_env(rpc_urls=rpc_urls or None, manifest=manifest, db_url=db_url,
                                       keystore=keystore, credit_code=credit_code, region=region, name=name)
        policy = config.policy
        if batch_size is not None or batch_max_age is not None or confirmations is not None:
            policy = AnchorPolicy(
                batch_size=batch_size if batch_size is not None else policy.batch_size,
                batch_max_age=batch_max_age if batch_max_age is not None else policy.batch_max_age,
                confirmations=confirmations if confirmations is not None else policy.confirmations,
            )
            config = replace(config, policy=policy)
    except (IssuanceError, ValueError) as exc:
        raise _Failed(exc) from None
    ctx.obj = config


def _open(ctx: click.Context, workers: int = 0) -> IssuerService:
    try:
        service = open_service(ctx.obj, workers=workers)
    except IssuanceError as exc:
        raise _Failed(exc) from None
    ctx.call_on_close(service.close)
    return service


def _print_errors(errors: Sequence[FieldError], prefix: str = "") -> None:
    for e in errors:
        click.echo(f"{prefix}字段 {e.path or '（整行）'}：{e.message}（规则：{e.rule}）", err=True)


# ============================================================================ issuance


@issuer.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def issue(ctx: click.Context, file: Path) -> None:
    """签发一份证照（JSON文件）。存入证照库即为受理；上链由锚定服务异步完成。"""
    try:
        document = parse_json(file.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:  # JsonInputError is a ValueError: its message names line and column
        raise _Failed(f"无法读取证照文件{file}：{exc}") from None
    service = _open(ctx)
    try:
        receipt = service.issue(document)
    except CertificateInvalid as exc:
        click.echo(f"未受理：证照数据校验未通过（{len(exc.errors)}项）", err=True)
        _print_errors(exc.errors, "  ")
        ctx.exit(1)
        return
    except IssuanceError as exc:
        raise _Failed(exc) from None
    if receipt.already_accepted:
        click.echo(f"此前已受理（内容相同，未重复签发）：{receipt.cert_id}")
    else:
        click.echo(f"已受理：{receipt.cert_id}")
    click.echo(f"  文档根 0x{receipt.document_root.hex()}")
    click.echo("  上链：已排队，由锚定服务批量上链；用 `show` 查看进度")


@issuer.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="All or nothing: any bad row and nothing is stored.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Error report (CSV); default FILE.errors.csv next to the input, written only if rows fail.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Worker processes for validation and signing (0 = in this process).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--existing-ids", is_flag=True,
              help="导入已有证照：每行带省级平台原证照标识 id，按导入规则校验 (import existing certificates "
                   "with their provincial-platform ids).")
@click.pass_context
def bulk(ctx: click.Context, file: Path, strict: bool, report: Path | None, workers: int, no_progress: bool,
         existing_ids: bool) -> None:
    """批量签发（CSV或JSON Lines）：逐行校验，错误行单独报告，从不导入半行。"""
    from tqdm import tqdm

    try:
        rows = read_input(file)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise _Failed(f"无法读取导入文件{file}：{exc}") from None
    unreadable = [(r.line, r.errors) for r in rows if r.document is None]
    readable = [r for r in rows if r.document is not None]
    service = _open(ctx, workers=workers)
    failures: list[tuple[int, tuple[FieldError, ...]]] = list(unreadable)
    with tqdm(total=len(rows), unit="行", desc="签发", disable=no_progress, file=sys.stderr) as bar:
        bar.update(len(unreadable))
        if strict and unreadable:
            result = None
        else:
            result = service.issue_many([r.document for r in readable], strict=strict,  # type: ignore[misc]
                                        progress=bar.update, existing_ids=existing_ids)
    if result is not None:
        failures += [(readable[rej.index].line, rej.errors) for rej in result.rejected]
    failures.sort(key=lambda item: item[0])
    accepted = len(result.accepted) if result is not None else 0
    again = len(result.already_accepted) if result is not None else 0
    stored_nothing = strict and bool(failures)
    click.echo(f"共{len(rows)}行：受理{accepted}行，此前已受理{again}行，拒绝{len(failures)}行"
               + ("；严格模式：因存在错误行，本文件未导入任何数据" if stored_nothing else ""))
    if failures:
        report = report or file.with_name(file.name + ".errors.csv")
        _write_report(report, failures)
        for line, errors in failures[:50]:
            _print_errors(errors, f"第{line}行 ")
        if len(failures) > 50:
            click.echo(f"……另有{len(failures) - 50}行错误，见报告", err=True)
        click.echo(f"错误报告：{report}", err=True)
        ctx.exit(1)


def _write_report(path: Path, failures: Sequence[tuple[int, Sequence[FieldError]]]) -> None:
    """行号, 字段, 规则, 说明, 代码 — one line per problem. Mode 0600: messages may quote personal data."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["行号", "字段", "规则", "说明", "代码"])
        for line, errors in failures:
            for e in errors:
                out.writerow([line, e.path, e.rule, e.message, e.code])


# ============================================================================ status


def _status_command(action: StatusAction) -> click.Command:
    @click.argument("cert_id")
    @click.option("--reason", help="原因：撤销/吊销/注销/换发/办理转出/其他 (or withdrawn, penalty, ...)."
                  if action is not StatusAction.REINSTATE else "Not used for reinstatement.")
    @click.option("--note", default="", help="Free-text note kept in the department's record (not on chain).")
    @click.pass_context
    def command(ctx: click.Context, cert_id: str, reason: str | None, note: str) -> None:
        service = _open(ctx)
        try:
            change = service.change_status(cert_id, action, reason, note)
        except (IssuanceError, ValueError) as exc:
            raise _Failed(exc) from None
        click.echo(f"已{action.label}：{cert_id}")
        click.echo(f"  交易 0x{change.tx_hash.hex()}，区块 {change.block_number}")

    command.__doc__ = {
        StatusAction.REVOKE: "撤销证照（最终状态，不可恢复）。",
        StatusAction.SUSPEND: "暂扣证照（可恢复）。",
        StatusAction.REINSTATE: "恢复被暂扣的证照。",
    }[action]
    return click.command(action.value)(command)


for _action in StatusAction:
    issuer.add_command(_status_command(_action))


@issuer.command()
@click.argument("cert_id")
@click.option("--reveal", is_flag=True, help="Show sensitive field values (they are personal data).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def show(ctx: click.Context, cert_id: str, reveal: bool, as_json: bool) -> None:
    """查看证照、上链进度和链上状态。"""
    service = _open(ctx)
    try:
        cert = service.certificate(cert_id)
    except IssuanceError as exc:
        raise _Failed(exc) from None
    chain: dict[str, Any]
    try:
        facts = service.chain_status(cert_id)
        reason = reason_of_code(facts.reason)
        chain = {"status": int(facts.status), "label": _CHAIN_STATUS.get(int(facts.status), str(facts.status)),
                 "since": facts.since, "reason": facts.reason, "reasonName": reason.value if reason else None}
    except IssuanceError as exc:
        chain = {"status": None, "label": f"暂不可查：{exc.message}"}
    fields = {f.path: (f.value if reveal or f.path not in cert.sensitive_paths else _MASK) for f in cert.fields}
    anchor_label = BatchState(cert.anchor_state).label if cert.anchor_state != "accepted" else "待组批"
    if as_json:
        click.echo(json.dumps({
            "id": cert.cert_id, "type": cert.type_code, "issuer": cert.issuer_code, "fields": fields,
            "documentRoot": "0x" + cert.document_root.hex(), "signature": "0x" + cert.signature.hex(),
            "acceptedAt": cert.accepted_at, "anchorState": cert.anchor_state,
            "batchRoot": "0x" + cert.batch_root.hex() if cert.batch_root else None,
            "batchProof": ["0x" + p.hex() for p in cert.batch_proof] if cert.batch_proof is not None else None,
            "txHash": "0x" + cert.tx_hash.hex() if cert.tx_hash else None, "blockNumber": cert.block_number,
            "chainStatus": chain,
        }, ensure_ascii=False, indent=2))
        return
    type_name = service.intake.catalogue[cert.type_code].name if cert.type_code in service.intake.catalogue else ""
    accepted = datetime.fromtimestamp(cert.accepted_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    click.echo(f"证照标识：{cert.cert_id}")
    click.echo(f"证照类型：{type_name}（{cert.type_code}）")
    click.echo(f"受理时间：{accepted}")
    click.echo(f"上链进度：{anchor_label}")
    if cert.batch_root is not None:
        click.echo(f"  批次根 0x{cert.batch_root.hex()}")
    if cert.tx_hash is not None:
        click.echo(f"  交易 0x{cert.tx_hash.hex()}" + (f"，区块 {cert.block_number}" if cert.block_number else ""))
    reason_name = chain.get("reasonName")
    click.echo(f"链上状态：{chain['label']}" + (f"（原因：{reason_name}）" if reason_name else ""))
    click.echo("字段：")
    for path, value in fields.items():
        click.echo(f"  {path} = {json.dumps(value, ensure_ascii=False) if value is not _MASK else _MASK}")


# ============================================================================ anchoring


@issuer.command()
@click.option("--drain", is_flag=True, help="Anchor everything queued now, wait until final, then exit.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="With --drain: give up after this.")
@click.pass_context
def anchor(ctx: click.Context, drain: bool, timeout: float) -> None:
    """运行锚定服务：把已受理的证照分批上链（--drain：处理完队列后退出）。"""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per JSON-RPC call is noise
    service = _open(ctx)
    worker = open_worker(service, ctx.obj)
    if drain:
        ok = worker.drain(timeout)
        overview = service.store.overview(service.department.credit_code)
        click.echo(_overview_line(overview))
        if not ok:
            raise _Failed(f"在{timeout:.0f}秒内未能全部上链确认：{worker.status.last_error or '等待确认中'}")
        if overview["dead"]:
            _print_dead(service)
            raise _Failed(f"{overview['dead']}个批次被链上拒绝，不会上链；排除原因后用 requeue 重新排队")
        return
    worker.start()
    try:
        while True:
            time.sleep(10)
            click.echo(_overview_line(service.store.overview(service.department.credit_code)))
    except KeyboardInterrupt:
        worker.stop()


@issuer.command()
@click.pass_context
def outbox(ctx: click.Context) -> None:
    """查看上链队列：各状态批次数，以及未完成批次的最近错误。"""
    service = _open(ctx)
    code = service.department.credit_code
    click.echo(_overview_line(service.store.overview(code)))
    for batch in service.store.batches_in(code, OPEN_STATES):
        line = f"  批次{batch.id} {batch.state.label} {batch.cert_count}份 {batch.type_code}"
        if batch.last_error:
            line += f" 最近错误：{batch.last_error}"
        click.echo(line)
    _print_dead(service)
    if service.store.batches_in(code, [BatchState.DEAD]) or \
            service.store.status_syncs(code, [SyncState.DEAD], now=float("inf")):
        ctx.exit(1)  # something needs a person: scripts and monitoring see it in the exit code


def _print_dead(service: IssuerService) -> None:
    code = service.department.credit_code
    for batch in service.store.batches_in(code, [BatchState.DEAD]):
        click.echo(f"  批次{batch.id} 已被链上拒绝，不会上链（{batch.cert_count}份 {batch.type_code}）："
                   f"{batch.last_error}", err=True)
    for sync in service.store.status_syncs(code, [SyncState.DEAD], now=float("inf")):
        click.echo(f"  证照{sync.cert_id} 的状态变更（{sync.action}）链上无法恢复：{sync.last_error}", err=True)


@issuer.command()
@click.argument("batch_id", type=int)
@click.pass_context
def requeue(ctx: click.Context, batch_id: int) -> None:
    """把被链上拒绝的批次重新排队（先排除原因，如请管理员在链上授权该证照类型）。"""
    service = _open(ctx)
    batch = service.store.batch(batch_id)
    if batch is None or batch.issuer_code != service.department.credit_code:
        raise _Failed(f"本部门没有批次{batch_id}")
    if batch.state is not BatchState.DEAD:
        raise _Failed(f"批次{batch_id}当前为“{batch.state.label}”，不是被拒绝的批次，无需重新排队")
    if not service.store.requeue_dead(batch_id):
        raise _Failed(f"批次{batch_id}的状态刚刚发生了变化，请用 outbox 查看")
    click.echo(f"批次{batch_id}已重新排队（{batch.cert_count}份），锚定服务将重新上链；若原因未排除，它会再次被拒绝")


def _overview_line(o: dict[str, int]) -> str:
    return (f"证照{o['certificates']}份（待组批{o['unbatched']}）；批次：待上链{o['pending']}，已提交{o['submitted']}，"
            f"已锚定{o['anchored']}，已确认{o['final']}，已核实{o['settled']}，链上拒绝{o['dead']}")


@issuer.command("field-key")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--suite", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="密码套件：1 为 AES-256-GCM，2 为国密 SM4-GCM")
def field_key(file: Path, suite: str) -> None:
    """生成新的字段加密密钥文件（权限0600；请妥善备份，丢失后敏感字段无法解密）。"""
    if file.exists():
        raise _Failed(f"{file}已存在，不覆盖（覆盖会使已加密的敏感字段无法解密）")
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(new_field_key(int(suite)) + "\n")
    click.echo(f"已生成字段加密密钥文件：{file}（请设置 HUREN_FIELD_KEY_FILE={file}）")


def main() -> None:
    issuer(prog_name="huren issuer")


if __name__ == "__main__":
    main()
