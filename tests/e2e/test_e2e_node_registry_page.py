"""The public registry page shows each region's federation node and its keys, as the chain has them;
the seeded demo registers one node per region with a request-signing key whose private half stays
in the demo's folder."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from api.seed import REGION_NAMES
from common.nodes import key_id
from tests.e2e.stack import Stack


def _nodes_listing(stack: Stack) -> list[dict[str, object]]:
    return json.loads((stack.world.workdir / "nodes.json").read_text())


def test_registry_page_lists_each_regions_node_url_and_key(stack: Stack):
    with stack.client() as c:
        page = c.get("/pages/registry")
    assert page.status_code == 200
    html = page.text
    assert "地区节点" in html
    for entry in _nodes_listing(stack):
        assert str(entry["baseUrl"]) in html
        assert str(entry["keyId"])[:10] in html
    assert html.count("ed25519 · 节点间请求签名") == len(REGION_NAMES)


def test_each_seeded_node_key_is_registered_on_chain_for_request_signing(stack: Stack):
    huren = stack.world.net.huren
    for entry in _nodes_listing(stack):
        registered = huren.node_key(str(entry["keyId"]))
        assert registered is not None and registered.region == entry["region"]
        assert huren.node(int(entry["region"])).base_url == stack.base_url  # type: ignore[arg-type]


def test_each_seeded_node_key_file_is_private_and_matches_its_registry_entry(stack: Stack):
    passphrase = Path(stack.world.env["HUREN_PASSPHRASE_FILE"]).read_text().strip()
    for entry in _nodes_listing(stack):
        path = Path(str(entry["keyFile"]))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        private = serialization.load_pem_private_key(path.read_bytes(), password=passphrase.encode())
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert key_id(public) == entry["keyId"]
