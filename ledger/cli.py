"""`huren chain ...`: deploy the contracts, run the indexer, and propose/approve node registry changes.

`huren chain node ...` is how a region's officers change their node's registry entry (base URL,
node keys) from their own machine: each command signs with the officer's own keystore
(passphrase from $HUREN_OFFICER_PASSPHRASE) and prints the proposal number; a second officer of
the region runs `huren chain node approve --proposal N` and the change executes (双人双锁).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, SECP384R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from common.nodes import NodeAlgorithm, NodeKeyPurpose, NodeStatus
from common.recursion import restore_recursion_limit
from ledger import store as st
from ledger.clients import Huren, ProposalOutcome
from ledger.deploy import DEFAULT_PROPOSAL_TTL, GenesisRegion, deploy_suite, load_abis
from ledger.errors import ContractRefused, LedgerError
from ledger.indexer import Indexer
from ledger.keystore import load_keystore, passphrase_from_env
from ledger.manifest import Manifest
from ledger.nodes import AddNodeKey, NodeChange, RegisterNode, RemoveNode, RetireNodeKey, SetNodeUrl
from ledger.rpc import RpcClient
from ledger.sender import TxSender


@click.group("chain")
def chain() -> None:
    """Chain operations: deploy the suite, follow it with the indexer."""
    restore_recursion_limit()  # raised by an import (py_ecc): deeply nested input could crash us


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


# ---------------------------------------------------------------------------------- node registry

@chain.group()
def node() -> None:
    """The region's federation node in the chain's registry: propose a change, approve one, show it."""


def _chain_options(officer: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
                          envvar="HUREN_MANIFEST", help="Deployment manifest.")(fn)
        fn = click.option("--rpc", "rpc_urls", multiple=True, required=True, envvar="HUREN_RPC_URLS",
                          help="JSON-RPC endpoint; repeat for fail-over.")(fn)
        if officer:
            fn = click.option("--keystore", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                              required=True, envvar="HUREN_OFFICER_KEYSTORE",
                              help="The officer's own encrypted keystore; passphrase from "
                                   "$HUREN_OFFICER_PASSPHRASE.")(fn)
        return fn
    return wrap


def _huren(rpc_urls: tuple[str, ...], manifest: Path) -> Huren:
    return Huren(RpcClient(list(rpc_urls)), Manifest.load(manifest), load_abis())


def _report(outcome: ProposalOutcome, what: str) -> None:
    if outcome.executed:
        click.echo(f"提案 #{outcome.proposal_id} 已执行：{what}")
    else:
        click.echo(f"提案 #{outcome.proposal_id} 已发起：{what}\n"
                   f"需本地区另一位管理员批准（双人双锁）：huren chain node approve --proposal {outcome.proposal_id}")


def _propose(rpc_urls: tuple[str, ...], manifest: Path, keystore: Path, region: int, change: NodeChange) -> None:
    try:
        huren = _huren(rpc_urls, manifest)
        officer = huren.sender(load_keystore(keystore, passphrase_from_env("HUREN_OFFICER_PASSPHRASE")))
        outcome = huren.propose_node_change(officer, region, change)
    except ContractRefused as refused:
        raise click.ClickException(f"合约拒绝：{refused.explanation}") from None
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from None
    _report(outcome, change.describe())


def _change(build: Callable[[], NodeChange]) -> NodeChange:
    try:
        return build()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


_region = click.option("--region", type=int, required=True, help="Your region's GB/T 2260 code.")


@node.command("register")
@_chain_options(officer=True)
@_region
@click.option("--url", required=True, help="The node's public base URL (https://...).")
def node_register(rpc_urls: tuple[str, ...], manifest: Path, keystore: Path, region: int, url: str) -> None:
    """Propose registering the region's node at URL."""
    _propose(rpc_urls, manifest, keystore, region, _change(lambda: RegisterNode(url)))


@node.command("set-url")
@_chain_options(officer=True)
@_region
@click.option("--url", required=True, help="The node's new public base URL.")
def node_set_url(rpc_urls: tuple[str, ...], manifest: Path, keystore: Path, region: int, url: str) -> None:
    """Propose moving the region's node to URL."""
    _propose(rpc_urls, manifest, keystore, region, _change(lambda: SetNodeUrl(url)))


def public_key_from_pem(pem: bytes) -> tuple[NodeAlgorithm, bytes]:
    """(algorithm, registry bytes) of a PEM public key: raw Ed25519, or an uncompressed SEC1 point."""
    key = load_pem_public_key(pem)
    if isinstance(key, Ed25519PublicKey):
        return NodeAlgorithm.ED25519, key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if isinstance(key, EllipticCurvePublicKey) and isinstance(key.curve, SECP256R1 | SECP384R1):
        alg = NodeAlgorithm.ECDSA_P256_SHA256 if isinstance(key.curve, SECP256R1) else NodeAlgorithm.ECDSA_P384_SHA384
        return alg, key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    raise ValueError("只支持 Ed25519、P-256、P-384 公钥的 PEM 文件（SM2 公钥请用 --public-key 十六进制）")


@node.command("add-key")
@_chain_options(officer=True)
@_region
@click.option("--public-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM public key (Ed25519, P-256 or P-384); its algorithm is read from the file.")
@click.option("--public-key", "public_hex", help="Public-key bytes in hex (with --algorithm).")
@click.option("--algorithm", type=click.Choice([a.rfc9421 for a in NodeAlgorithm]),
              help="Algorithm of --public-key.")
@click.option("--purpose", type=click.Choice(["request-signing", "stamping"]), required=True)
@click.option("--valid-from", type=int, default=0, show_default=True,
              help="Unix time the key takes effect (0: when the proposal executes).")
def node_add_key(rpc_urls: tuple[str, ...], manifest: Path, keystore: Path, region: int,
                 public_key_file: Path | None, public_hex: str | None, algorithm: str | None, purpose: str,
                 valid_from: int) -> None:
    """Propose adding a public key to the region's node."""
    def build() -> NodeChange:
        if (public_key_file is None) == (public_hex is None):
            raise ValueError("请给出 --public-key-file 或 --public-key 其中之一")
        if public_key_file is not None:
            alg, raw = public_key_from_pem(public_key_file.read_bytes())
        else:
            if algorithm is None:
                raise ValueError("--public-key 需要同时给出 --algorithm")
            alg, raw = NodeAlgorithm.from_name(algorithm), bytes.fromhex(str(public_hex).removeprefix("0x"))
        return AddNodeKey(alg, NodeKeyPurpose.from_name(purpose), raw, valid_from)

    change = _change(build)
    click.echo(f"key id (keyid): {change.key_id}")  # type: ignore[union-attr]
    _propose(rpc_urls, manifest, keystore, region, change)


@node.command("retire-key")
@_chain_options(officer=True)
@_region
@click.option("--key-id", required=True, help='The key\'s id ("0x" + 64 hex digits).')
@click.option("--valid-until", type=int, default=None,
              help="Unix time from which the key is no longer valid (default: the chain's current time; "
                   "backdate it to a compromise time).")
def node_retire_key(rpc_urls: tuple[str, ...], manifest: Path, keystore: Path, region: int, key_id: str,
                    valid_until: int | None) -> None:
    """Propose retiring a key of the region's node."""
    if valid_until is None:
        block = RpcClient(list(rpc_urls)).get_block("latest")
        valid_until = int(str(block["timestamp"]), 16) if block else 0
    until = valid_until
    _propose(rpc_urls, manifest, keystore, region, _change(lambda: RetireNodeKey(key_id, until)))


@node.command("remove")
@_chain_options(officer=True)
@_region
def node_remove(rpc_urls: tuple[str, ...], manifest: Path, keystore: Path, region: int) -> None:
    """Propose removing the region's node from the registry (its keys are retired with it)."""
    _propose(rpc_urls, manifest, keystore, region, RemoveNode())


@node.command("approve")
@_chain_options(officer=True)
@click.option("--proposal", "proposal_id", type=int, required=True, help="The proposal number to approve.")
def node_approve(rpc_urls: tuple[str, ...], manifest: Path, keystore: Path, proposal_id: int) -> None:
    """Approve a proposal of your region (the second lock of 双人双锁)."""
    try:
        huren = _huren(rpc_urls, manifest)
        officer = huren.sender(load_keystore(keystore, passphrase_from_env("HUREN_OFFICER_PASSPHRASE")))
        outcome = huren.approve(officer, proposal_id)
    except ContractRefused as refused:
        raise click.ClickException(f"合约拒绝：{refused.explanation}") from None
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from None
    _report(outcome, "批准")


@node.command("show")
@_chain_options(officer=False)
@click.option("--region", type=int, required=True, help="GB/T 2260 code of the region to show.")
def node_show(rpc_urls: tuple[str, ...], manifest: Path, region: int) -> None:
    """Show a region's node and keys as the chain has them."""
    try:
        huren = _huren(rpc_urls, manifest)
        record = huren.node(region)
        if record is None:
            click.echo(f"{region}: 未登记节点")
            return
        state = {NodeStatus.ACTIVE: "在册", NodeStatus.REMOVED: "已移除"}.get(record.status, str(record.status))
        click.echo(f"{region}: {record.base_url} （{state}）")
        for kid in record.key_ids:
            key = huren.node_key(kid)
            if key is None:
                continue
            window = f"{key.valid_from} – {key.valid_until or ''}"
            click.echo(f"  {kid} {key.algorithm_name} {NodeKeyPurpose(key.purpose).label} {window}")
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from None
