"""A 国密 (suite 2) deployment's node keys on a real chain (issue 17): `api.seed.seed(..., suite=2)` against
a real anvil and the real NodeRegistry, read back through the real index and by direct `eth_call`.

What the node does with them is what production does: api/stamping.py loads the stamping keys from
the listing seed wrote, federation/local_node.py loads the request-signing key, and both are judged
against what the chain registered (suite 2, algorithm 16 = sm2-sm3, 65-byte public keys).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

import migrations
from api.seed import BJ, HE, REGION_NAMES, DemoWorld, seed
from api.stamping import load_stamp_signers
from common.node_keys import SM2NodePrivateKey
from common.nodes import NodeAlgorithm, NodeKeyPurpose, NodeSuite
from common.stamp import Stamped, StampSigner, stamp_message, verify_stamp
from federation import refusals
from federation.checking import IncomingRequest, RequestChecker
from federation.local_node import load_signing_key
from federation.node_key import NodeSigningKey
from federation.registry_directory import RegistryDirectory
from federation.replay import NonceCache
from federation.signing import sign_request
from issuers.field_cipher import FieldCipher
from ledger import store as st
from ledger.chainview import IndexedChainView, RpcChainView
from ledger.indexer import Indexer
from ledger.rpc import RpcClient


@dataclass
class Guomi:
    world: DemoWorld
    indexer: Indexer
    passphrase: str
    listing: list[dict[str, Any]]


@pytest.fixture(scope="module")
def guomi(anvil_node, tmp_path_factory) -> Guomi:  # type: ignore[no-untyped-def]
    workdir = tmp_path_factory.mktemp("guomi") / "node"
    world = seed(anvil_node, workdir, suite=2)
    net = world.net
    indexer = Indexer(RpcClient(net.node.url), net.manifest, net.abis,
                      st.IndexStore(st.make_engine(f"sqlite:///{workdir.parent / 'index.sqlite'}")))
    indexer.sync()
    passphrase = Path(world.env["HUREN_PASSPHRASE_FILE"]).read_text().strip()
    return Guomi(world, indexer, passphrase, json.loads((workdir / "nodes.json").read_text()))


def _now(g: Guomi) -> int:
    """Now on both clocks: the chain's (the key windows) and the wall clock."""
    return int(max(time.time(), g.world.net.now())) + 1


def _envelope(g: Guomi, region: int, suite: int = 2) -> Stamped:
    return Stamped(suite=suite, domain_separator=b"\x11" * 32, region=region, document_root=b"\x01" * 32,
                   batch_root=b"\x02" * 32,
                   leaves=[b"\x03" * 32], created_at=_now(g), ttl=600, nonce=b"n" * 16, purpose="办理备案",
                   audience=None)


def test_a_guomi_seed_registers_sm2_request_and_stamping_keys_for_every_region(guomi):
    model = guomi.indexer.model
    assert {n["region"] for n in guomi.listing} == set(REGION_NAMES)
    for entry in guomi.listing:
        for kid, purpose in ((entry["keyId"], NodeKeyPurpose.REQUEST_SIGNING),
                             (entry["stampKeyId"], NodeKeyPurpose.STAMPING)):
            key = model.node_key_info(kid)
            assert key is not None and key.region == entry["region"]
            assert (key.suite, key.algorithm, key.purpose) == (int(NodeSuite.GUOMI), int(NodeAlgorithm.SM2_SM3),
                                                               int(purpose))
            assert len(key.public_key) == 65 and key.public_key[0] == 4


def test_the_seeded_key_files_are_sm2_keystores_that_say_their_suite(guomi):
    for entry in guomi.listing:
        for path in (entry["keyFile"], entry["stampKeyFile"]):
            blob = json.loads(Path(path).read_text())
            assert (blob["suite"], blob["algorithm"]) == (2, "sm2-sm3")
            assert Path(path).stat().st_mode & 0o777 == 0o600


def test_the_node_loads_sm2_stamp_signers_whose_public_keys_the_chain_registered(guomi):
    signers = load_stamp_signers(Path(guomi.world.env["HUREN_STAMP_KEYS_FILE"]), guomi.passphrase)
    assert set(signers) == set(REGION_NAMES)
    for entry in guomi.listing:
        signer = signers[entry["region"]]
        assert signer.algorithm is NodeAlgorithm.SM2_SM3 and signer.key_id == entry["stampKeyId"]


@pytest.mark.parametrize("view", ["indexed", "rpc"])
def test_a_suite_2_stamp_verifies_against_the_regions_stamping_keys_on_chain(guomi, view):
    net = guomi.world.net
    chain = (IndexedChainView(guomi.indexer) if view == "indexed"
             else RpcChainView(RpcClient(net.node.url), net.manifest, net.abis))
    signer = load_stamp_signers(Path(guomi.world.env["HUREN_STAMP_KEYS_FILE"]), guomi.passphrase)[HE]
    envelope = _envelope(guomi, HE)
    keys = chain.stamp_keys(HE, envelope.created_at)
    found = verify_stamp(envelope, signer.sign(envelope), keys)
    assert found is not None and found.key_id == signer.key_id


def test_a_stamp_by_an_unregistered_sm2_key_is_refused_against_the_chain(guomi):
    envelope = _envelope(guomi, HE)
    stranger = StampSigner(HE, SM2NodePrivateKey.generate())
    assert verify_stamp(envelope, stranger.sign(envelope), IndexedChainView(guomi.indexer).stamp_keys(
        HE, envelope.created_at)) is None


def test_another_regions_sm2_stamping_key_does_not_vouch_for_this_region(guomi):
    signers = load_stamp_signers(Path(guomi.world.env["HUREN_STAMP_KEYS_FILE"]), guomi.passphrase)
    envelope = _envelope(guomi, HE)
    forged = replace(signers[BJ], region=HE).sign(envelope)
    assert verify_stamp(envelope, forged, IndexedChainView(guomi.indexer).stamp_keys(HE, envelope.created_at)) is None


def test_the_chains_sm2_stamping_keys_never_vouch_for_a_suite_1_code(guomi):
    """The SM2 key signs the suite-1 message itself: still no, the suite decides the algorithm."""
    signer = load_stamp_signers(Path(guomi.world.env["HUREN_STAMP_KEYS_FILE"]), guomi.passphrase)[HE]
    envelope = _envelope(guomi, HE, suite=1)
    forged = signer.private_key.sign(stamp_message(envelope))
    assert verify_stamp(envelope, forged, IndexedChainView(guomi.indexer).stamp_keys(HE, envelope.created_at)) is None


# ---- node-to-node requests signed with the seeded SM2 key, checked against the chain registry


@pytest.fixture
def bj_checker(guomi, tmp_path) -> RequestChecker:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'bj.sqlite'}")
    migrations.upgrade(engine)
    now = _now(guomi)
    return RequestChecker(RegistryDirectory(lambda: guomi.indexer.model), NonceCache(engine), BJ, clock=lambda: now)


def _he_key(guomi: Guomi) -> NodeSigningKey:
    entry = next(e for e in guomi.listing if e["region"] == HE)
    return load_signing_key(Path(entry["keyFile"]), HE, guomi.passphrase)


def _signed(guomi: Guomi, key: NodeSigningKey, at: int) -> IncomingRequest:
    bj = next(e for e in guomi.listing if e["region"] == BJ)["baseUrl"]
    request = httpx.Request("POST", bj.rstrip("/") + "/v1/federation/echo?x=1", json={"token": "t"})
    sign_request(request, key, now=at)
    return IncomingRequest(request.method, request.url.raw_path.decode("ascii"),
                           tuple(request.headers.multi_items()), request.read())


def test_a_request_signed_with_the_seeded_sm2_node_key_is_accepted_by_the_chain_registry(guomi, bj_checker):
    key = _he_key(guomi)
    assert key.algorithm is NodeAlgorithm.SM2_SM3
    peer = bj_checker.check(_signed(guomi, key, int(bj_checker.clock())))
    assert (peer.region, peer.key_id) == (HE, key.key_id)


def test_a_tampered_sm2_signed_request_is_refused_against_the_chain_registry(guomi, bj_checker):
    r = _signed(guomi, _he_key(guomi), int(bj_checker.clock()))
    with pytest.raises(refusals.DigestMismatch):
        bj_checker.check(replace(r, body=b'{"token":"u"}'))


def test_an_sm2_key_the_chain_never_registered_cannot_sign_as_the_region(guomi, bj_checker):
    impostor = replace(_he_key(guomi), private_key=SM2NodePrivateKey.generate())
    with pytest.raises(refusals.SignatureInvalid):
        bj_checker.check(_signed(guomi, impostor, int(bj_checker.clock())))


def test_the_stamping_key_cannot_sign_node_requests(guomi, bj_checker):
    """Its keystore says `stamping`, and the registry says so too: the checker refuses it as the wrong key."""
    entry = next(e for e in guomi.listing if e["region"] == HE)
    stamp_key = load_signing_key(Path(entry["stampKeyFile"]), HE, guomi.passphrase)
    with pytest.raises(refusals.WrongKey):
        bj_checker.check(_signed(guomi, stamp_key, int(bj_checker.clock())))


def test_the_departments_field_keys_of_a_guomi_seed_seal_with_sm4(guomi):
    departments = json.loads(Path(guomi.world.env["HUREN_DEPARTMENTS_FILE"]).read_text())
    for d in departments:
        cipher = FieldCipher.from_key_text(Path(d["fieldKeyFile"]).read_text())
        assert cipher.algorithm == "sm4-gcm" and cipher.seal(b"x", b"c").startswith(b"sm4-gcm\x01")
