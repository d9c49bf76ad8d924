"""Command line of the verification log: check it against the chain, anchor its head by hand.

`verify-log` is what an auditor runs: it needs only read access to the log's database, a chain
node and the operator address the region publishes. Exit status: 0 intact, 1 broken (the first
broken link is printed), 3 cannot check now (chain or database unreachable) — so a cron job
or CI step can tell "tampered" from "try again later".

The main CLI mounts `verify_log` and `anchor_log` (or the `log_group` holding both).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from api.auditlog import LogAnchorer, LogBroken, VerificationLog, check_log
from ledger.errors import LedgerError, NodeUnavailable
from ledger.keystore import load_keystore, passphrase_from_env
from ledger.manifest import Manifest
from ledger.rpc import RpcClient, RpcError
from ledger.sender import TxSender

EXIT_BROKEN = 1
EXIT_UNAVAILABLE = 3


def _urls(values: tuple[str, ...]) -> list[str]:
    # --rpc may be repeated, and HUREN_RPC_URLS is comma-separated (api/settings.py).
    return [u.strip() for v in values for u in v.replace(",", " ").split() if u.strip()]


def _cannot_check(message: str, what: str = "无法完成核验日志检查 / cannot check the verification log now") -> None:
    click.echo(f"{what}: {message}", err=True)
    sys.exit(EXIT_UNAVAILABLE)


@click.command("verify-log")
@click.option("--db", "db_url", required=True, envvar="HUREN_DB_URL",
              help="Database URL of the verification log (sqlite:///... or postgresql+psycopg://...).")
@click.option("--rpc", "rpc_urls", multiple=True, envvar="HUREN_RPC_URLS", help="JSON-RPC endpoint(s) of the chain.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), envvar="HUREN_MANIFEST",
              help="Deployment manifest (names the VerificationLogAnchor contract).")
@click.option("--operator", envvar="HUREN_LOG_OPERATOR",
              help="Address whose anchored heads are trusted (published by the region).")
@click.option("--no-chain", is_flag=True, help="Check only the hash chain, without the on-chain anchors.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_log(db_url: str, rpc_urls: tuple[str, ...], manifest: Path | None, operator: str | None, no_chain: bool,
               as_json: bool) -> None:
    """Recompute the whole verification log and compare it with the heads anchored on chain."""
    urls = _urls(rpc_urls)
    if not no_chain and (not urls or manifest is None or not operator):
        raise click.UsageError("--rpc, --manifest and --operator are needed to check against the chain "
                               "(or pass --no-chain to check the hash chain only)")
    rpc = None
    try:
        m = None
        if not no_chain:
            assert manifest is not None
            m = Manifest.load(manifest)
            rpc = RpcClient(urls)
        report = check_log(VerificationLog.from_url(db_url), rpc, m, operator)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except (NodeUnavailable, RpcError, LedgerError, SQLAlchemyError) as exc:
        _cannot_check(f"{type(exc).__name__}: {exc}"[:500])
        return
    finally:
        if rpc is not None:
            rpc.close()
    click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json else report.text())
    if not report.ok:
        sys.exit(EXIT_BROKEN)


@click.command("anchor-log")
@click.option("--db", "db_url", required=True, envvar="HUREN_DB_URL")
@click.option("--rpc", "rpc_urls", multiple=True, required=True, envvar="HUREN_RPC_URLS")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              envvar="HUREN_MANIFEST")
@click.option("--keystore", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              envvar="HUREN_LOG_OPERATOR_KEYSTORE",
              help="Operator key (passphrase in $HUREN_LOG_OPERATOR_PASSPHRASE or the file in ..._FILE).")
def anchor_log(db_url: str, rpc_urls: tuple[str, ...], manifest: Path, keystore: Path) -> None:
    """Anchor the log's current head on chain now (if it advanced since the last anchor)."""
    rpc = RpcClient(_urls(rpc_urls))
    anchorer: LogAnchorer | None = None
    try:
        account = load_keystore(keystore, passphrase_from_env("HUREN_LOG_OPERATOR_PASSPHRASE"))
        m = Manifest.load(manifest)
        sender = TxSender(rpc, account, chain_id=m.chain_id)
        anchorer = LogAnchorer(VerificationLog.from_url(db_url), sender, m)
        record = anchorer.anchor_once()
    except LogBroken as exc:
        click.echo(f"拒绝锚定 / not anchored: {exc}", err=True)
        sys.exit(EXIT_BROKEN)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except (NodeUnavailable, RpcError, LedgerError, SQLAlchemyError) as exc:
        _cannot_check(f"{type(exc).__name__}: {exc}"[:500], "未能锚定 / could not anchor the log head now")
        return
    finally:
        if anchorer is not None:
            anchorer.release_lease()
        rpc.close()
    if record is None:
        assert anchorer is not None
        if anchorer.skipped == "lease":
            click.echo("另一个进程正在定期锚定本日志，本次未锚定 / another process holds the anchoring lease "
                       "(a running API anchors periodically): not anchored now")
        else:
            click.echo("日志头没有前进，无需锚定 / the head has not advanced since the last anchor: nothing to do")
        return
    click.echo(f"已锚定 / anchored: seq {record.entries}, head 0x{record.head.hex()}, anchor #{record.anchor_seq}, "
               f"block {record.block_number}, tx 0x{(record.tx_hash or b'').hex()}")


@click.group("log")
def log_group() -> None:
    """The tamper-evident verification log (核验日志)."""


log_group.add_command(verify_log)
log_group.add_command(anchor_log)
