"""This node's federation identity from its settings: a region and a key file, named by the registry's key id."""

from __future__ import annotations

import pytest

from api.settings import Settings
from common.nodes import key_id
from federation.local_node import load_signing_key
from federation.node_key import generate_node_key_file


def test_the_node_key_is_named_by_the_registry_id_of_its_public_key(tmp_path):
    made = generate_node_key_file(tmp_path / "130000.pem", 130000, "", "passphrase")
    loaded = load_signing_key(tmp_path / "130000.pem", 130000, "passphrase")
    assert (loaded.region, loaded.key_id) == (130000, key_id(made.public_bytes()))
    assert loaded.keyid == f"130000:{key_id(made.public_bytes())}"


def test_the_node_region_and_key_file_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HUREN_NODE_REGION", "130000")
    monkeypatch.setenv("HUREN_NODE_KEY_FILE", str(tmp_path / "130000.pem"))
    settings = Settings.from_env()
    assert (settings.node_region, settings.node_key_file) == (130000, tmp_path / "130000.pem")


def test_a_node_without_federation_settings_has_none(monkeypatch):
    monkeypatch.delenv("HUREN_NODE_REGION", raising=False)
    monkeypatch.delenv("HUREN_NODE_KEY_FILE", raising=False)
    monkeypatch.delenv("HUREN_ENV_FILE", raising=False)
    settings = Settings.from_env()
    assert settings.node_region is None and settings.node_key_file is None


def test_a_region_without_a_key_file_is_refused_naming_the_missing_setting():
    from api.runtime import local_node
    from federation.local_node import NodeConfigError

    with pytest.raises(NodeConfigError, match="HUREN_NODE_KEY_FILE"):
        local_node(Settings(node_region=130000), None, None)  # type: ignore[arg-type]
