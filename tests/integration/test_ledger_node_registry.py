"""The node registry on a real anvil: 双人双锁 changes, the typed client, and the indexed read model
that federation/ looks node keys up in (SQLite and PostgreSQL), reorgs included."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from common.nodes import NodeAlgorithm, NodeKeyPurpose, NodeStatus, key_id
from ledger import store as st
from ledger.anvil import start_anvil
from ledger.cli import chain
from ledger.devnet import start_devnet
from ledger.errors import ContractRefused
from ledger.indexer import Indexer
from ledger.keystore import save_keystore
from ledger.nodes import AddNodeKey, RegisterNode, RemoveNode, RetireNodeKey, SetNodeUrl
from ledger.rpc import RpcClient
from tests.conftest import BJ, HE, SH

BJ_URL = "https://huren.beijing.example.cn"


def _ed25519() -> bytes:
    return Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _p256() -> bytes:
    return generate_private_key(SECP256R1()).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _indexer(net, db_url: str) -> Indexer:
    return Indexer(RpcClient(net.node.url), net.manifest, net.abis, st.IndexStore(st.make_engine(db_url)))


def _signing_key(public_key: bytes, valid_from: int = 0) -> AddNodeKey:
    return AddNodeKey(NodeAlgorithm.ED25519, NodeKeyPurpose.REQUEST_SIGNING, public_key, valid_from)


def test_two_officers_register_a_node(devnet):
    outcome = devnet.huren.propose_node_change(devnet.officers[BJ][0], BJ, RegisterNode(BJ_URL))
    assert outcome.executed is False
    assert devnet.huren.node(BJ) is None
    approved = devnet.huren.approve(devnet.officers[BJ][1], outcome.proposal_id)
    assert approved.executed is True
    node = devnet.huren.node(BJ)
    assert node is not None and node.base_url == BJ_URL and node.status is NodeStatus.ACTIVE


def test_one_officer_alone_cannot_register_a_node(devnet):
    outcome = devnet.huren.propose_node_change(devnet.officers[BJ][0], BJ, RegisterNode(BJ_URL))
    with pytest.raises(ContractRefused) as refused:
        devnet.huren.approve(devnet.officers[BJ][0], outcome.proposal_id)
    assert refused.value.error == "AlreadyApproved"
    assert devnet.huren.node(BJ) is None


def test_another_regions_officer_cannot_approve_a_node_change(devnet):
    outcome = devnet.huren.propose_node_change(devnet.officers[BJ][0], BJ, RegisterNode(BJ_URL))
    with pytest.raises(ContractRefused) as refused:
        devnet.huren.approve(devnet.officers[SH][0], outcome.proposal_id)
    assert refused.value.error == "NotOfficer"
    assert devnet.huren.node(BJ) is None


def test_an_officer_cannot_propose_for_another_region(devnet):
    with pytest.raises(ContractRefused) as refused:
        devnet.huren.propose_node_change(devnet.officers[SH][0], BJ, RegisterNode(BJ_URL))
    assert refused.value.error == "NotOfficer"


def test_a_change_the_contract_would_refuse_is_refused_before_anyone_signs():
    with pytest.raises(ValueError, match="https://"):
        RegisterNode("ftp://huren.example.cn")
    with pytest.raises(ValueError, match="ed25519"):
        _signing_key(_p256())


def test_the_client_reads_a_key_as_registered(devnet):
    devnet.node_change(BJ, RegisterNode(BJ_URL))
    public = _p256()
    devnet.node_change(BJ, AddNodeKey(NodeAlgorithm.ECDSA_P256_SHA256, NodeKeyPurpose.STAMPING, public))
    key = devnet.huren.node_key(key_id(public))
    assert key is not None
    assert (key.region, key.suite, key.algorithm_name, key.purpose, key.public_key, key.valid_until) == \
        (BJ, 1, "ecdsa-p256-sha256", NodeKeyPurpose.STAMPING, public, None)
    assert devnet.huren.node(BJ).key_ids == (key_id(public),)


def test_the_index_shows_a_registered_node_and_its_key(devnet, db_url):
    public = _ed25519()
    devnet.node_change(BJ, RegisterNode(BJ_URL))
    devnet.node_change(BJ, _signing_key(public))
    now = devnet.now()
    indexer = _indexer(devnet, db_url)
    indexer.sync()
    model = indexer.model
    assert model.node_of(BJ).base_url == BJ_URL
    assert [n.region for n in model.nodes()] == [BJ]
    key = model.node_key(BJ, key_id(public), now)
    assert key is not None and key.public_key == public and key.algorithm_name == "ed25519"
    assert key == devnet.huren.node_key(key_id(public))  # the index agrees with the contract
    with indexer.store.engine.connect() as c:
        assert c.execute(select(st.nodes.c.base_url).where(st.nodes.c.region == BJ)).scalar() == BJ_URL
        assert c.execute(select(st.node_keys.c.public_key).where(st.node_keys.c.key_id == key_id(public))) \
            .scalar() == public


def test_the_index_refuses_a_key_for_another_region_or_purpose(devnet, db_url):
    public = _ed25519()
    devnet.node_change(BJ, RegisterNode(BJ_URL))
    devnet.node_change(BJ, _signing_key(public))
    now = devnet.now()
    indexer = _indexer(devnet, db_url)
    indexer.sync()
    assert indexer.model.node_key(HE, key_id(public), now) is None
    assert indexer.model.node_key(BJ, key_id(public), now, NodeKeyPurpose.STAMPING) is None
    assert indexer.model.node_key_info(key_id(public)).region == BJ


def test_the_index_follows_a_url_change(devnet, db_url):
    devnet.node_change(BJ, RegisterNode(BJ_URL))
    indexer = _indexer(devnet, db_url)
    indexer.sync()
    devnet.node_change(BJ, SetNodeUrl("https://huren2.beijing.example.cn"))
    indexer.sync()
    assert indexer.model.node_of(BJ).url("/v1/x") == "https://huren2.beijing.example.cn/v1/x"


def test_the_index_follows_key_retirement(devnet, db_url):
    old, new = _ed25519(), _ed25519()
    devnet.node_change(BJ, RegisterNode(BJ_URL))
    devnet.node_change(BJ, _signing_key(old))
    devnet.node_change(BJ, _signing_key(new))
    indexer = _indexer(devnet, db_url)
    indexer.sync()
    retired_at = devnet.now() + 1
    devnet.node_change(BJ, RetireNodeKey(key_id(old), retired_at))
    indexer.sync()
    model = indexer.model
    assert model.node_key(BJ, key_id(old), retired_at - 1) is not None  # signed before: still good
    assert model.node_key(BJ, key_id(old), retired_at) is None
    assert model.node_key_info(key_id(old)).retired
    assert model.node_key(BJ, key_id(new), retired_at) is not None
    assert [k.key_id for k in model.node_keys(BJ)] == [key_id(old), key_id(new)]


def test_the_index_follows_node_removal(devnet, db_url):
    public = _ed25519()
    devnet.node_change(BJ, RegisterNode(BJ_URL))
    devnet.node_change(BJ, _signing_key(public))
    indexer = _indexer(devnet, db_url)
    indexer.sync()
    devnet.node_change(BJ, RemoveNode())
    indexer.sync()
    now = devnet.now()
    model = indexer.model
    assert model.node_of(BJ).status is NodeStatus.REMOVED
    assert model.node_key(BJ, key_id(public), now) is None
    assert model.node_key_info(key_id(public)).valid_until is not None  # retired on chain by the removal
    with indexer.store.engine.connect() as c:
        assert c.execute(select(st.nodes.c.status).where(st.nodes.c.region == BJ)).scalar() == NodeStatus.REMOVED
        assert c.execute(select(st.node_keys.c.valid_until)).scalar() is not None


def test_a_restarted_indexer_rebuilds_the_nodes_from_its_journal(devnet, db_url):
    public = _ed25519()
    devnet.node_change(BJ, RegisterNode(BJ_URL))
    devnet.node_change(BJ, _signing_key(public))
    first = _indexer(devnet, db_url)
    first.sync()
    second = _indexer(devnet, db_url)
    assert second.model.nodes() == first.model.nodes()
    assert second.model.node_key_info(key_id(public)) == first.model.node_key_info(key_id(public))


def test_a_key_added_in_a_dropped_block_disappears_from_the_index(artifacts, tmp_path):
    node = start_anvil()
    try:
        net = start_devnet(node, artifacts=artifacts)
        kept, dropped = _ed25519(), _ed25519()
        net.node_change(BJ, RegisterNode(BJ_URL))
        net.node_change(BJ, _signing_key(kept))
        indexer = _indexer(net, f"sqlite:///{tmp_path / 'reorg.sqlite'}")
        indexer.sync()
        snapshot = node.rpc("evm_snapshot")
        net.node_change(BJ, _signing_key(dropped))
        net.node_change(BJ, SetNodeUrl("https://dropped.example.cn"))
        indexer.sync()
        assert indexer.model.node_key_info(key_id(dropped)) is not None
        node.rpc("evm_revert", [snapshot])
        node.rpc("anvil_mine", [hex(12)])  # the new branch is longer than the dropped one
        indexer.sync()
        assert indexer.stats.reorgs == 1
        assert indexer.model.node_key_info(key_id(dropped)) is None
        assert indexer.model.node_of(BJ).base_url == BJ_URL
        assert indexer.model.node_of(BJ).key_ids == (key_id(kept),)
        with indexer.store.engine.connect() as c:
            assert [k for (k,) in c.execute(select(st.node_keys.c.key_id))] == [key_id(kept)]
            assert c.execute(select(st.nodes.c.base_url)).scalar() == BJ_URL
    finally:
        node.stop()


def _officer_keystore(devnet, region: int, i: int, tmp_path) -> str:
    path = tmp_path / f"officer-{region}-{i}.json"
    save_keystore(path, bytes(devnet.officers[region][i].account.key), "officer pass", iterations=2)
    return str(path)


def test_the_cli_registers_a_node_with_two_officers(devnet, tmp_path):
    manifest = tmp_path / "manifest.json"
    devnet.manifest.save(manifest)
    pem = tmp_path / "node.pub.pem"
    pem.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM,
                                                                           PublicFormat.SubjectPublicKeyInfo))
    common = ["--rpc", devnet.node.url, "--manifest", str(manifest)]
    env = {"HUREN_OFFICER_PASSPHRASE": "officer pass"}
    runner = CliRunner()
    first = runner.invoke(chain, ["node", "register", *common, "--keystore", _officer_keystore(devnet, BJ, 0, tmp_path),
                                  "--region", str(BJ), "--url", BJ_URL], env=env)
    assert first.exit_code == 0, first.output
    assert "另一位管理员批准" in first.output and devnet.huren.node(BJ) is None
    proposal = first.output.split("#")[1].split(" ")[0]
    second = runner.invoke(chain, ["node", "approve", *common, "--keystore", _officer_keystore(devnet, BJ, 1, tmp_path),
                                   "--proposal", proposal], env=env)
    assert second.exit_code == 0, second.output
    assert devnet.huren.node(BJ).base_url == BJ_URL
    added = runner.invoke(chain, ["node", "add-key", *common, "--keystore", _officer_keystore(devnet, BJ, 0, tmp_path),
                                  "--region", str(BJ), "--public-key-file", str(pem), "--purpose", "request-signing"],
                          env=env)
    assert added.exit_code == 0, added.output
    shown = runner.invoke(chain, ["node", "show", *common, "--region", str(BJ)])
    assert BJ_URL in shown.output and "ed25519" not in shown.output  # the key waits for its second officer


def test_the_cli_names_a_refusal_in_words(devnet, tmp_path):
    manifest = tmp_path / "manifest.json"
    devnet.manifest.save(manifest)
    result = CliRunner().invoke(chain, ["node", "register", "--rpc", devnet.node.url, "--manifest", str(manifest),
                                        "--keystore", _officer_keystore(devnet, SH, 0, tmp_path),
                                        "--region", str(BJ), "--url", BJ_URL],
                                env={"HUREN_OFFICER_PASSPHRASE": "officer pass"})
    assert result.exit_code != 0
    assert "无权" in result.output and "Traceback" not in result.output


def test_the_cli_refuses_a_bad_url_before_signing(devnet, tmp_path):
    manifest = tmp_path / "manifest.json"
    devnet.manifest.save(manifest)
    result = CliRunner().invoke(chain, ["node", "register", "--rpc", devnet.node.url, "--manifest", str(manifest),
                                        "--keystore", _officer_keystore(devnet, BJ, 0, tmp_path),
                                        "--region", str(BJ), "--url", "huren.beijing.cn"],
                                env={"HUREN_OFFICER_PASSPHRASE": "officer pass"})
    assert result.exit_code == 2 and "https://" in result.output
