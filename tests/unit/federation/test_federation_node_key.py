"""The node's request-signing key file (federation.node_key): encrypted, private to its owner, Ed25519 only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from federation.node_key import NodeKeyFileError, generate_node_key_file, load_node_key_file

HE = 130000


def test_a_generated_key_file_loads_back_to_the_same_key(tmp_path: Path):
    made = generate_node_key_file(tmp_path / "node.pem", HE, "1", "口令 passphrase")
    loaded = load_node_key_file(tmp_path / "node.pem", HE, "1", "口令 passphrase")
    assert loaded.public_bytes() == made.public_bytes() and len(made.public_bytes()) == 32


def test_the_key_file_is_written_readable_by_its_owner_only(tmp_path: Path):
    generate_node_key_file(tmp_path / "node.pem", HE, "1", "pw")
    assert (tmp_path / "node.pem").stat().st_mode & 0o777 == 0o600


def test_the_key_file_holds_no_unencrypted_key(tmp_path: Path):
    generate_node_key_file(tmp_path / "node.pem", HE, "1", "pw")
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "node.pem").read_bytes()


def test_a_wrong_passphrase_is_refused_naming_the_file(tmp_path: Path):
    generate_node_key_file(tmp_path / "node.pem", HE, "1", "pw")
    with pytest.raises(NodeKeyFileError, match=r"node\.pem"):
        load_node_key_file(tmp_path / "node.pem", HE, "1", "not it")


def test_a_key_file_others_can_read_is_refused(tmp_path: Path):
    generate_node_key_file(tmp_path / "node.pem", HE, "1", "pw")
    os.chmod(tmp_path / "node.pem", 0o644)
    with pytest.raises(NodeKeyFileError, match="chmod 600"):
        load_node_key_file(tmp_path / "node.pem", HE, "1", "pw")


def test_a_missing_key_file_is_refused_naming_it(tmp_path: Path):
    with pytest.raises(NodeKeyFileError, match=r"absent\.pem"):
        load_node_key_file(tmp_path / "absent.pem", HE, "1", "pw")


def test_a_key_of_another_kind_is_refused(tmp_path: Path):
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw"))
    path = tmp_path / "p256.pem"
    path.write_bytes(pem)
    path.chmod(0o600)
    with pytest.raises(NodeKeyFileError, match="Ed25519"):
        load_node_key_file(path, HE, "1", "pw")
