"""`huren chain deploy` and `huren chain index` against a real anvil."""

from __future__ import annotations

import json

from click.testing import CliRunner
from eth_account import Account

from ledger.cli import chain
from ledger.keystore import save_keystore
from ledger.manifest import Manifest


def _deployer(anvil_node, tmp_path):
    account = Account.create()
    anvil_node.rpc("anvil_setBalance", [account.address, hex(10**21)])
    path = tmp_path / "deployer.json"
    save_keystore(path, bytes(account.key), "correct horse", iterations=2)
    return account, path


def _genesis(tmp_path):
    officers = [Account.create().address for _ in range(4)]
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps({"regions": [{"code": 110000, "officers": officers[:2]},
                                            {"code": 130000, "officers": officers[2:]}]}))
    return path


def test_deploy_writes_a_manifest_every_component_can_read(anvil_node, tmp_path):
    _, keystore = _deployer(anvil_node, tmp_path)
    out = tmp_path / "manifest.json"
    result = CliRunner().invoke(chain, ["deploy", "--rpc", anvil_node.url, "--genesis", str(_genesis(tmp_path)),
                                        "--keystore", str(keystore), "--out", str(out)],
                                env={"HUREN_DEPLOYER_PASSPHRASE": "correct horse"})
    assert result.exit_code == 0, result.output
    manifest = Manifest.load(out)
    assert manifest.chain_id == anvil_node.chain_id
    assert set(manifest.addresses) == {"Consortium", "IssuerRegistry", "RecognitionPolicy", "AnchorLedger",
                                       "StatusReader", "VerificationLogAnchor", "NodeRegistry"}
    assert "correct horse" not in result.output


def test_deploy_with_a_wrong_passphrase_says_so(anvil_node, tmp_path):
    _, keystore = _deployer(anvil_node, tmp_path)
    result = CliRunner().invoke(chain, ["deploy", "--rpc", anvil_node.url, "--genesis", str(_genesis(tmp_path)),
                                        "--keystore", str(keystore)], env={"HUREN_DEPLOYER_PASSPHRASE": "nope"})
    assert result.exit_code != 0
    assert "wrong passphrase" in result.output


def test_index_once_reads_the_deployment(anvil_node, tmp_path):
    _, keystore = _deployer(anvil_node, tmp_path)
    out = tmp_path / "manifest.json"
    CliRunner().invoke(chain, ["deploy", "--rpc", anvil_node.url, "--genesis", str(_genesis(tmp_path)),
                               "--keystore", str(keystore), "--out", str(out)],
                       env={"HUREN_DEPLOYER_PASSPHRASE": "correct horse"})
    result = CliRunner().invoke(chain, ["index", "--rpc", anvil_node.url, "--manifest", str(out),
                                        "--db", f"sqlite:///{tmp_path / 'i.sqlite'}", "--once"])
    assert result.exit_code == 0, result.output
    assert "indexed to block" in result.output
