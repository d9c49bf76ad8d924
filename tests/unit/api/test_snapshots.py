"""The clerk page's trust snapshot (api/snapshots.py): what a region's window gets from the node's
index, and that the signed file is what verifier/snapshot.load_snapshot accepts.

The read model is filled by its own event handlers (ReadModel.apply), as the indexer fills it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account

from common.document import type_code_bytes32
from common.eip712 import Domain
from common.nodes import NodeAlgorithm, NodeKeyPurpose
from common.nodes import key_id as node_key_id
from ledger.readmodel import ChainEvent, ReadModel
from verifier.snapshot import SnapshotError, load_snapshot, sign_snapshot

HE, BJ, SH, TJ = 130000, 110000, 310000, 120000
LICENCE, DRIVING, MARRIAGE = "11100000000013338W032", "11100000000013338W009", "11100000000013338W020"
DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
HEIGHT = 100


def iid(n: int) -> bytes:
    return n.to_bytes(32, "big")


def root(n: int) -> bytes:
    return (1000 + n).to_bytes(32, "big")


class Chain:
    def __init__(self) -> None:
        self.model = ReadModel()
        self.block = 1

    def ev(self, event: str, **args: Any) -> None:
        self.model.apply(ChainEvent("X", event, args, self.block, bytes(32), bytes(32), 0))
        self.block += 1

    def issuer(self, n: int, region: int) -> str:
        key = Account.create().address
        self.ev("IssuerRegistered", issuerId=iid(n), region=region, at=10, name=f"部门{n}")
        self.ev("KeyAdded", key=key, issuerId=iid(n), validFrom=10)
        return key

    def anchor(self, n: int, issuer: int, key: str, type_code: str) -> None:
        self.ev("Anchored", batchRoot=root(n), issuerId=iid(issuer), key=key, typeCode=type_code_bytes32(type_code),
                certCount=1, timestamp=50)


@pytest.fixture
def chain() -> Chain:
    c = Chain()
    for region in (HE, BJ, SH, TJ):
        c.ev("RegionAdmitted", region=region, threshold=2, officers=[])
    he, bj, sh, tj = c.issuer(1, HE), c.issuer(2, BJ), c.issuer(3, SH), c.issuer(4, TJ)
    c.ev("RecognitionSet", verifierRegion=HE, typeCode=type_code_bytes32(LICENCE), issuerRegion=BJ, validFrom=0,
         validUntil=0)
    c.ev("RecognitionSet", verifierRegion=HE, typeCode=type_code_bytes32(DRIVING), issuerRegion=0, validFrom=0,
         validUntil=0)
    c.ev("RecognitionSet", verifierRegion=SH, typeCode=type_code_bytes32(MARRIAGE), issuerRegion=BJ, validFrom=0,
         validUntil=0)
    c.anchor(1, 1, he, MARRIAGE)  # own region, any type
    c.anchor(2, 2, bj, LICENCE)  # recognised from Beijing
    c.anchor(3, 2, bj, MARRIAGE)  # Beijing's marriage certificates: not recognised in Hebei
    c.anchor(4, 3, sh, DRIVING)  # driving licences from every region
    c.anchor(5, 4, tj, LICENCE)  # Tianjin's licences: not recognised in Hebei
    for n, r, issuer in ((1, 1, 1), (2, 2, 2), (3, 3, 2), (5, 5, 4)):
        c.ev("CertificateStatusChanged", issuerId=iid(issuer), certHash=root(100 + n), status=2, at=60, reason=1,
             batchRoot=root(r))
    return c


def build(c: Chain, region: int = HE, height: int = HEIGHT) -> Any:
    from api.snapshots import build_snapshot

    return build_snapshot(c.model, height, 1_700_000_000, DOMAIN, region, 1_700_000_005)


def test_anchors_are_those_of_the_own_region_and_of_recognised_type_and_region_pairs(chain: Chain) -> None:
    snap = build(chain)
    assert {a.batch_root for a in snap.anchors} == {root(1), root(2), root(4)}


def test_statuses_are_those_of_the_batches_sent(chain: Chain) -> None:
    snap = build(chain)
    assert {s.status.cert_hash for s in snap.statuses} == {root(101), root(102)}


def test_only_the_verifying_regions_recognition_rules_are_sent(chain: Chain) -> None:
    snap = build(chain)
    assert {(r.type_code, r.issuer_region) for r in snap.recognition} == {(LICENCE, BJ), (DRIVING, 0)}
    assert all(r.verifier_region == HE for r in snap.recognition)


def test_every_issuer_and_key_is_sent_whatever_its_region(chain: Chain) -> None:
    snap = build(chain)
    assert {i.issuer_id for i in snap.issuers} == {iid(1), iid(2), iid(3), iid(4)}
    assert len(snap.keys) == 4


def test_anchors_above_the_height_are_left_out(chain: Chain) -> None:
    last_anchor_block = chain.model.anchors[root(4)].block_number
    snap = build(chain, height=last_anchor_block - 1)
    assert root(4) not in {a.batch_root for a in snap.anchors}


def test_confirmations_are_counted_to_the_height(chain: Chain) -> None:
    snap = build(chain)
    a = next(a for a in snap.anchors if a.batch_root == root(1))
    assert a.confirmations == HEIGHT - a.block_number + 1


def test_stamp_keys_are_stamping_keys_of_active_nodes_with_retired_ones_kept(chain: Chain) -> None:
    stamp_a, stamp_b, signing = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    chain.ev("NodeRegistered", region=BJ, baseUrl="https://bj.example", at=5)
    for public, purpose in ((stamp_a, NodeKeyPurpose.STAMPING), (stamp_b, NodeKeyPurpose.STAMPING),
                            (signing, NodeKeyPurpose.REQUEST_SIGNING)):
        chain.ev("NodeKeyAdded", region=BJ, publicKey=public, suite=1, algorithm=int(NodeAlgorithm.ED25519),
                 purpose=int(purpose), validFrom=20)
    chain.ev("NodeKeyRetired", keyId=bytes.fromhex(node_key_id(stamp_a)[2:]), validUntil=30)
    chain.ev("NodeRegistered", region=SH, baseUrl="https://sh.example", at=5)
    chain.ev("NodeKeyAdded", region=SH, publicKey=b"\x04" * 32, suite=1, algorithm=int(NodeAlgorithm.ED25519),
             purpose=int(NodeKeyPurpose.STAMPING), validFrom=20)
    chain.ev("NodeRemoved", region=SH, at=40)
    snap = build(chain)
    assert {k.public_key for k in snap.stamp_keys} == {stamp_a, stamp_b}
    assert next(k for k in snap.stamp_keys if k.public_key == stamp_a).valid_until == 30


def test_the_signed_file_loads_with_the_publishers_address(chain: Chain) -> None:
    publisher = Account.create()
    text = sign_snapshot(build(chain), bytes(publisher.key), DOMAIN)
    loaded = load_snapshot(text, publisher.address, DOMAIN)
    assert loaded.height == HEIGHT and loaded.head_time == 1_700_000_000
    assert {a.batch_root for a in loaded.anchors} == {root(1), root(2), root(4)}


def test_the_signed_file_is_refused_under_another_publisher(chain: Chain) -> None:
    text = sign_snapshot(build(chain), bytes(Account.create().key), DOMAIN)
    with pytest.raises(SnapshotError, match="发布方"):
        load_snapshot(text, Account.create().address, DOMAIN)


def test_a_changed_status_breaks_the_signature(chain: Chain) -> None:
    publisher = Account.create()
    envelope = json.loads(sign_snapshot(build(chain), bytes(publisher.key), DOMAIN))
    envelope["snapshot"]["certificateStatuses"] = []
    from common.canonical import canonicalize

    with pytest.raises(SnapshotError):
        load_snapshot(canonicalize(envelope), publisher.address, DOMAIN)


def test_the_snapshot_text_is_signature_then_canonical_snapshot(chain: Chain) -> None:
    """The page hashes the text between '"snapshot":' and the final '}' (clerk-offline-core.mjs)."""
    from common.canonical import canonicalize

    publisher = Account.create()
    snap = build(chain)
    text = sign_snapshot(snap, bytes(publisher.key), DOMAIN)
    prefix = text[: len('{"signature":"0x') + 130] + '","snapshot":'
    assert text.startswith('{"signature":"0x') and text[len(prefix) - len('","snapshot":'):].startswith('","snapshot":')
    assert text[len(prefix):-1].encode() == canonicalize(snap.to_json_obj())
