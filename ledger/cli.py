"""`huren chain ...`: deploy the contracts and run the indexer against any JSON-RPC endpoint."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click

from ledger import store as st
from ledger.deploy import DEFAULT_PROPOSAL_TTL, GenesisRegion, deploy_suite, load_abis
from ledger.errors import LedgerError
from ledger.indexer import Indexer
from ledger.keystore import load_keystore, passphrase_from_env
from ledger.manifest import Manifest
from ledger.rpc import RpcClient
from ledger.sender import TxSender


@click.group("chain")
def chain() -> None:
    """Chain operations: deploy the suite, follow it with the indexer."""


@chain.command()
@click.option("--rpc", "rpc_urls", multiple=True, required=True, envvar="HUREN_RPC_URLS",
              help="JSON-RPC endpoint; repeat for fail-over.")
@click.option("--genesis", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help='JSON: {"regions": [{"code": 110000, "officers": ["0x..."], "threshold": 2}], '
                   '"proposalTtl": 604800}')
@click.option("--keystore", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Encrypted keystore of the deploying account; passphrase from $HUREN_DEPLOYER_PASSPHRASE.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("manifest.json"),
              show_default=True)
def deploy(rpc_urls: tuple[str, ...], genesis: Path, keystore: Path, out: Path) -> None:
    """Deploy the whole suite and write the deployment manifest."""
    try:
        spec = json.loads(genesis.read_text())
        regions = [GenesisRegion(int(r["code"]), list(r["officers"]), int(r.get("threshold", 2)))
                   for r in spec["regions"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise click.UsageError(f"genesis file {genesis} is not valid: {exc}") from None
    try:
        account = load_keystore(keystore, passphrase_from_env("HUREN_DEPLOYER_PASSPHRASE"))
        rpc = RpcClient(list(rpc_urls))
        abis = load_abis()
        sender = TxSender(rpc, account, list(abis.values()))
        manifest = deploy_suite(rpc, sender, regions, int(spec.get("proposalTtl", DEFAULT_PROPOSAL_TTL)))
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from None
    manifest.save(out)
    click.echo(f"deployed on chain {manifest.chain_id} at block {manifest.deployment_block}; manifest: {out}")
    for name, address in manifest.addresses.items():
        click.echo(f"  {name:18} {address}")


@chain.command()
@click.option("--rpc", "rpc_urls", multiple=True, required=True, envvar="HUREN_RPC_URLS")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              envvar="HUREN_MANIFEST")
@click.option("--db", "db_url", default="sqlite:///huren-index.sqlite", envvar="HUREN_INDEX_DB", show_default=True)
@click.option("--once", is_flag=True, help="Sync to the current head and exit.")
def index(rpc_urls: tuple[str, ...], manifest: Path, db_url: str, once: bool) -> None:
    """Follow the chain into the local read model (SQLite file or PostgreSQL URL)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    indexer = Indexer(RpcClient(list(rpc_urls)), Manifest.load(manifest), load_abis(),
                      st.IndexStore(st.make_engine(db_url)))
    indexer.sync()
    click.echo(f"indexed to block {indexer.stats.indexed} ({indexer.stats.events} events)")
    if once:
        return
    indexer.start()
    try:
        while True:
            time.sleep(10)
            s = indexer.stats
            click.echo(f"head {s.head} indexed {s.indexed} lag {s.lag_blocks} reorgs {s.reorgs}"
                       + (f" error: {s.last_error}" if s.last_error else ""))
    except KeyboardInterrupt:
        indexer.stop()
