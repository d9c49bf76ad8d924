"""SM2 node keys and their keystore file (common.node_keys; read through federation.node_key, issue 17).

A 国密 node's request-signing and stamping keys are SM2 keys in a JSON keystore that says its
suite, algorithm and purpose, sealed with SM4-GCM under a scrypt key from the node's passphrase.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from common.gm import sm2_verify
from common.node_keys import (
    NodeKeystoreError,
    SM2NodePrivateKey,
    node_algorithm_of,
    read_sm2_keystore,
    sm2_keystore_bytes,
    write_sm2_keystore,
)
from common.nodes import NodeAlgorithm, NodeKeyPurpose, key_id
from federation.local_node import load_signing_key
from federation.node_key import NodeKeyFileError, generate_node_key_file, load_node_key_file

HE = 130000
FAST = 2**4  # scrypt cost of throw-away test keys


def _file(tmp_path: Path, purpose: NodeKeyPurpose = NodeKeyPurpose.STAMPING) -> tuple[Path, SM2NodePrivateKey]:
    key = SM2NodePrivateKey.generate()
    write_sm2_keystore(tmp_path / "k.json", key, "口令 pw", purpose, scrypt_n=FAST)
    return tmp_path / "k.json", key


def test_an_sm2_keystore_loads_back_to_the_same_key_and_purpose(tmp_path):
    path, key = _file(tmp_path)
    loaded, purpose = read_sm2_keystore(path.read_bytes(), "口令 pw")
    assert loaded.public_bytes() == key.public_bytes() and purpose is NodeKeyPurpose.STAMPING
    sm2_verify(key.public_bytes(), b"m", loaded.sign(b"m"))


def test_the_keystore_says_its_suite_algorithm_purpose_and_registry_key_id(tmp_path):
    path, key = _file(tmp_path)
    blob = json.loads(path.read_text())
    assert (blob["format"], blob["suite"], blob["algorithm"], blob["purpose"]) == (
        "huren-node-key", 2, "sm2-sm3", "stamping")
    assert bytes.fromhex(blob["publicKey"]) == key.public_bytes() and len(key.public_bytes()) == 65
    assert blob["keyId"] == key_id(key.public_bytes())
    assert (blob["kdf"]["name"], blob["cipher"]["name"]) == ("scrypt", "sm4-gcm")


def test_the_keystore_holds_no_plaintext_private_key_and_is_owner_only(tmp_path):
    key = SM2NodePrivateKey.generate()
    write_sm2_keystore(tmp_path / "k.json", key, "pw", NodeKeyPurpose.STAMPING, scrypt_n=FAST)
    assert key._private.hex() not in (tmp_path / "k.json").read_text()
    assert (tmp_path / "k.json").stat().st_mode & 0o777 == 0o600


def test_the_default_kdf_cost_is_production_scrypt(tmp_path):
    blob = json.loads(sm2_keystore_bytes(SM2NodePrivateKey.generate(), "pw", NodeKeyPurpose.STAMPING))
    assert (blob["kdf"]["n"], blob["kdf"]["r"]) == (2**15, 8)
    read_sm2_keystore(json.dumps(blob).encode(), "pw")


def test_a_wrong_passphrase_is_refused(tmp_path):
    path, _ = _file(tmp_path)
    with pytest.raises(NodeKeystoreError, match="口令错误"):
        read_sm2_keystore(path.read_bytes(), "not it")


@pytest.mark.parametrize("field", ["publicKey", "purpose", "suite"])
def test_an_edited_header_does_not_open(tmp_path, field):
    """The header is the SM4-GCM associated data: a swapped public key or purpose is caught."""
    path, _ = _file(tmp_path)
    blob = json.loads(path.read_text())
    blob[field] = {"publicKey": SM2NodePrivateKey.generate().public_bytes().hex(), "purpose": "request-signing",
                   "suite": 1}[field]
    with pytest.raises(NodeKeystoreError):
        read_sm2_keystore(json.dumps(blob).encode(), "口令 pw")


def test_an_altered_ciphertext_does_not_open(tmp_path):
    path, _ = _file(tmp_path)
    blob = json.loads(path.read_text())
    raw = bytearray(bytes.fromhex(blob["ciphertext"]))
    raw[0] ^= 1
    blob["ciphertext"] = raw.hex()
    with pytest.raises(NodeKeystoreError, match="altered"):
        read_sm2_keystore(json.dumps(blob).encode(), "口令 pw")


def test_a_keystore_made_for_another_purpose_is_refused_when_a_purpose_is_asked(tmp_path):
    path, _ = _file(tmp_path, NodeKeyPurpose.REQUEST_SIGNING)
    with pytest.raises(NodeKeystoreError, match="加注件签章"):
        read_sm2_keystore(path.read_bytes(), "口令 pw", NodeKeyPurpose.STAMPING)


def test_json_that_is_not_a_keystore_is_refused_in_words():
    with pytest.raises(NodeKeystoreError, match="huren-node-key"):
        read_sm2_keystore(b'{"crypto": {}}', "pw")


def test_an_sm2_key_never_prints_nor_pickles_its_private_half():
    key = SM2NodePrivateKey.generate()
    assert key._private.hex() not in repr(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_node_algorithm_of_tells_sm2_from_ed25519():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    assert node_algorithm_of(SM2NodePrivateKey.generate()) is NodeAlgorithm.SM2_SM3
    assert node_algorithm_of(Ed25519PrivateKey.generate()) is NodeAlgorithm.ED25519


# ---- through federation.node_key (what the node and api/stamping.py load)


def test_generate_node_key_file_makes_an_sm2_keystore_the_loader_reads(tmp_path):
    made = generate_node_key_file(tmp_path / "node.json", HE, "1", "pw", algorithm=NodeAlgorithm.SM2_SM3,
                                  scrypt_n=FAST)
    loaded = load_node_key_file(tmp_path / "node.json", HE, "1", "pw", NodeKeyPurpose.REQUEST_SIGNING)
    assert loaded.public_bytes() == made.public_bytes() and loaded.algorithm is NodeAlgorithm.SM2_SM3


def test_the_local_node_names_an_sm2_key_by_the_registry_id_of_its_65_byte_public_key(tmp_path):
    made = generate_node_key_file(tmp_path / "node.json", HE, "", "pw", algorithm=NodeAlgorithm.SM2_SM3,
                                  scrypt_n=FAST)
    assert load_signing_key(tmp_path / "node.json", HE, "pw").key_id == key_id(made.public_bytes())


def test_the_loader_refuses_an_sm2_keystore_of_another_purpose_naming_the_file(tmp_path):
    generate_node_key_file(tmp_path / "stamp.json", HE, "1", "pw", algorithm=NodeAlgorithm.SM2_SM3,
                           purpose=NodeKeyPurpose.STAMPING, scrypt_n=FAST)
    with pytest.raises(NodeKeyFileError, match=r"stamp\.json"):
        load_node_key_file(tmp_path / "stamp.json", HE, "1", "pw", NodeKeyPurpose.REQUEST_SIGNING)


def test_the_loader_refuses_an_sm2_keystore_others_can_read(tmp_path):
    generate_node_key_file(tmp_path / "node.json", HE, "1", "pw", algorithm=NodeAlgorithm.SM2_SM3, scrypt_n=FAST)
    os.chmod(tmp_path / "node.json", 0o644)
    with pytest.raises(NodeKeyFileError, match="chmod 600"):
        load_node_key_file(tmp_path / "node.json", HE, "1", "pw")


def test_the_loader_refuses_an_sm2_keystore_with_a_wrong_passphrase(tmp_path):
    generate_node_key_file(tmp_path / "node.json", HE, "1", "pw", algorithm=NodeAlgorithm.SM2_SM3, scrypt_n=FAST)
    with pytest.raises(NodeKeyFileError, match="口令错误"):
        load_node_key_file(tmp_path / "node.json", HE, "1", "other")
