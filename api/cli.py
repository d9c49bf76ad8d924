"""`huren`: the project's command line — chain, issuer, credentials, audit log, serve, demo."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

import click

from api.auditlog_cli import anchor_log, verify_log
from common.recursion import restore_recursion_limit
from issuers.cli import issuer
from ledger.cli import chain


@click.group()
def main() -> None:
    """互认 Huren command line. Every command reads HUREN_* settings from the environment."""
    restore_recursion_limit()  # raised by an import (py_ecc): deeply nested input could crash us


@main.group()
def credentials() -> None:
    """API credentials (bearer tokens; the token is shown once, only its hash is stored)."""


@credentials.command("add")
@click.option("--db", "db_url", envvar="HUREN_DB_URL", required=True)
@click.option("--role", type=click.Choice(["department", "verifier", "holder", "officer"]), required=True)
@click.option("--name", required=True, help="Who holds it, e.g. 河北省政务服务中心 3 号窗口")
@click.option("--region", type=int, help="GB/T 2260 code (verifier, officer, department)")
@click.option("--credit-code", help="The department's 统一社会信用代码 (department)")
@click.option("--officer-address", help="The officer's chain address (officer)")
@click.option("--rate", "rate", metavar="RATE[/BURST]",
              help="Its own rate limit, requests per second [/ at once], e.g. 20/100; default: the service's "
                   "(HUREN_RATE_PER_S/HUREN_RATE_BURST, sized for one service window — give each window its own "
                   "credential rather than one credential a high rate)")
def credentials_add(db_url: str, role: str, name: str, region: int | None, credit_code: str | None,
                    officer_address: str | None, rate: str | None) -> None:
    from api.credentials import CredentialStore
    from api.ratelimit import parse_limit
    from api.settings import Settings
    from ledger.store import make_engine

    limit = None
    if rate is not None:
        try:
            limit = parse_limit(rate, Settings.rate_burst)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--rate") from None
    holder_id = None
    if role == "holder":
        holder_id = click.prompt("持证主体代码 (holder id number; not echoed)", hide_input=True)
    try:
        cred, token = CredentialStore(make_engine(db_url)).add(
            role, name, region=region, credit_code=credit_code, holder_id_number=holder_id,  # type: ignore[arg-type]
            officer_address=officer_address, rate_per_s=limit.rate_per_s if limit else None,
            rate_burst=limit.burst if limit else None)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"credential {cred.id} ({role}, {name}) — token, shown once:")
    click.echo(token)


@credentials.command("disable")
@click.option("--db", "db_url", envvar="HUREN_DB_URL", required=True)
@click.argument("credential_id")
def credentials_disable(db_url: str, credential_id: str) -> None:
    from api.credentials import CredentialStore
    from ledger.store import make_engine

    CredentialStore(make_engine(db_url)).disable(credential_id)
    click.echo(f"credential {credential_id} disabled")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API (settings from HUREN_* environment variables)."""
    import uvicorn

    from api.settings import Settings

    try:  # a bad setting is named here, once, not in a traceback from each worker
        Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(f"配置错误：{exc}") from None

    with metrics_dir_for(workers) as metrics_dir, rate_dir_for(metrics_dir):
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers)


@contextlib.contextmanager
def rate_dir_for(metrics_dir: str | None) -> Iterator[str | None]:
    """HUREN_RATE_DIR for the workers: where their shared rate-limit buckets live (api.ratelimit), so
    N workers do not allow N times a credential's rate. The operator's setting wins; otherwise the
    server's metrics directory (private, made before the workers start, removed when it exits)."""
    given = os.environ.get("HUREN_RATE_DIR")
    if given or metrics_dir is None:
        yield given or None
        return
    os.environ["HUREN_RATE_DIR"] = metrics_dir
    try:
        yield metrics_dir
    finally:
        os.environ.pop("HUREN_RATE_DIR", None)


@contextlib.contextmanager
def metrics_dir_for(workers: int) -> Iterator[str | None]:
    """PROMETHEUS_MULTIPROC_DIR for `workers` worker processes, so /metrics and the public page sum
    every worker's figures instead of showing whichever worker answers (api.metrics).

    One worker needs none. Several get a fresh private directory (mode 0700, removed when the
    server exits), unless the operator set the variable, whose directory is used as it is. It is
    set here, in the supervising process, before any worker exists: uvicorn starts its workers as
    fresh interpreters that inherit this environment, so prometheus_client reads it on its first
    import in each worker, which is when it chooses between in-memory and per-process files.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if workers <= 1 or given:
        yield given or None
        return
    path = tempfile.mkdtemp(prefix="huren-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    try:
        yield path
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(path, ignore_errors=True)


@main.command()
def demo() -> None:
    """The local demo (same as `make demo`)."""
    from api.demo import main as demo_main

    demo_main()


main.add_command(chain)
main.add_command(issuer)
main.add_command(verify_log)
main.add_command(anchor_log)

if __name__ == "__main__":
    main()
