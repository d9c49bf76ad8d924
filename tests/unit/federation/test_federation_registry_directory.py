"""The node directory over the ledger read model: what the chain registry says, as the checker needs it.

The read model is plain state (ledger/readmodel.py); these tests set its node facts directly, as
the indexer would after the registry's events, and read them through `RegistryDirectory`.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.nodes import NodeAlgorithm, NodeKey, NodeKeyPurpose, NodeRecord, NodeStatus, key_id
from federation.checking import check_key
from federation.directory import REQUEST_SIGNING
from federation.node_key import format_keyid
from federation.refusals import RetiredKey, UnknownKey, UnknownNode, WrongKey
from federation.registry_directory import RegistryDirectory
from ledger.readmodel import ReadModel, RegionState

BJ, HE = 110000, 130000
BJ_URL = "https://huren.beijing.example.cn"
T0 = 1_800_000_000


def _public() -> bytes:
    return Ed25519PrivateKey.generate().public_key().public_bytes_raw()


def _world(*, status: NodeStatus = NodeStatus.ACTIVE, member: bool = True,
           purpose: int = NodeKeyPurpose.REQUEST_SIGNING, algorithm: int = NodeAlgorithm.ED25519,
           valid_until: int | None = None) -> tuple[ReadModel, NodeKey]:
    model = ReadModel()
    public = _public()
    key = NodeKey(key_id(public), BJ, 1, int(algorithm), int(purpose), public, T0, valid_until)
    model.regions[BJ] = RegionState(BJ, member, 2)
    model.node_records[BJ] = NodeRecord(BJ, BJ_URL, status, T0, T0, (key.key_id,))
    model.node_key_records[key.key_id] = key
    return model, key


def test_an_active_member_nodes_url_is_its_registered_base_url():
    model, _ = _world()
    assert RegistryDirectory(lambda: model).node_of(BJ) == BJ_URL


def test_a_region_that_never_registered_a_node_has_none():
    model, _ = _world()
    assert RegistryDirectory(lambda: model).node_of(HE) is None


def test_a_removed_node_has_no_url():
    model, _ = _world(status=NodeStatus.REMOVED)
    assert RegistryDirectory(lambda: model).node_of(BJ) is None


def test_the_node_of_a_region_that_left_the_consortium_has_no_url():
    model, _ = _world(member=False)
    assert RegistryDirectory(lambda: model).node_of(BJ) is None


def test_a_key_is_answered_with_the_protocols_names_for_its_algorithm_and_purpose():
    model, key = _world()
    answered = RegistryDirectory(lambda: model).node_key(BJ, key.key_id, T0 + 10)
    assert answered is not None
    assert (answered.region, answered.key_id, answered.algorithm, answered.purpose, answered.public_key,
            answered.valid_from, answered.valid_until, answered.retired) == \
        (BJ, key.key_id, "ed25519", REQUEST_SIGNING, key.public_key, T0, None, False)


def test_a_key_id_is_found_whatever_its_hex_case():
    model, key = _world()
    assert RegistryDirectory(lambda: model).node_key(BJ, key.key_id.upper().replace("0X", "0x"), T0) is not None


def test_a_key_the_chain_does_not_know_is_none():
    model, _ = _world()
    assert RegistryDirectory(lambda: model).node_key(BJ, key_id(_public()), T0) is None


def test_a_key_of_another_regions_node_is_none():
    model, key = _world()
    assert RegistryDirectory(lambda: model).node_key(HE, key.key_id, T0) is None


def test_a_key_is_retired_from_the_end_of_its_window_on():
    model, key = _world(valid_until=T0 + 100)
    directory = RegistryDirectory(lambda: model)
    assert directory.node_key(BJ, key.key_id, T0 + 99).retired is False  # signed before the retirement
    assert directory.node_key(BJ, key.key_id, T0 + 100).retired is True


def test_a_stamping_key_keeps_its_purpose_so_the_checker_refuses_it_as_a_wrong_key():
    model, key = _world(purpose=NodeKeyPurpose.STAMPING)
    directory = RegistryDirectory(lambda: model)
    assert directory.node_key(BJ, key.key_id, T0).purpose == "stamping"
    with pytest.raises(WrongKey):
        check_key(directory, format_keyid(BJ, key.key_id), T0 + 1)


def test_the_checker_refuses_a_retired_registry_key_as_retired():
    model, key = _world(valid_until=T0 + 100)
    with pytest.raises(RetiredKey):
        check_key(RegistryDirectory(lambda: model), format_keyid(BJ, key.key_id), T0 + 200)


def test_the_checker_refuses_a_removed_nodes_key_as_an_unknown_node():
    model, key = _world(status=NodeStatus.REMOVED)
    with pytest.raises(UnknownNode):
        check_key(RegistryDirectory(lambda: model), format_keyid(BJ, key.key_id), T0 + 1)


def test_the_checker_refuses_a_key_named_for_another_region_as_unknown():
    model, key = _world()
    model.regions[HE] = RegionState(HE, True, 2)
    model.node_records[HE] = NodeRecord(HE, "https://huren.hebei.example.cn", NodeStatus.ACTIVE, T0, T0, ())
    with pytest.raises(UnknownKey):
        check_key(RegistryDirectory(lambda: model), format_keyid(HE, key.key_id), T0 + 1)


def test_the_directory_reads_the_model_the_indexer_holds_now():
    """The indexer replaces its model on a reorg: the directory must not keep trusting the old one."""
    old, key = _world()
    holder = {"model": old}
    directory = RegistryDirectory(lambda: holder["model"])
    holder["model"] = ReadModel()
    assert directory.node_of(BJ) is None and directory.node_key(BJ, key.key_id, T0) is None
