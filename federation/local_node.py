"""This node's own place in the federation: its region, its request-signing key, and the peers it may call.

A node configured with a region and a key file (the API's settings) signs its calls to other
regions' nodes with that key and admits other nodes' signed calls through `guard`; the directory
of both is the chain's node registry as this node's own index holds it. A node without them takes
no part: it calls no other node, and its peer routes answer that it is not a federation node.

The key id is not configured but computed from the key (keccak256 of its public bytes, as the
registry names it), so a key file and a configured id can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import Engine

from common.nodes import key_id
from federation.checking import RequestChecker
from federation.fastapi_guard import PeerRequestGuard
from federation.node_key import NodeSigningKey, load_node_key_file
from federation.peers import PeerClient
from federation.registry_directory import RegistryDirectory
from federation.replay import NonceCache
from ledger.readmodel import ReadModel


class NodeConfigError(Exception):
    """This node's federation settings are incomplete; the message names the setting to add."""


@dataclass
class LocalNode:
    region: int
    key: NodeSigningKey
    directory: RegistryDirectory
    peers: PeerClient
    guard: PeerRequestGuard

    def close(self) -> None:
        self.peers.close()


def load_signing_key(path: Path, region: int, passphrase: str) -> NodeSigningKey:
    """The node's key file, named by the registry's id of its public key (NodeKeyFileError if unusable)."""
    key = load_node_key_file(path, region, "", passphrase)
    return replace(key, key_id=key_id(key.public_bytes()))


def open_local_node(region: int, key_file: Path, passphrase: str, model_source: Callable[[], ReadModel],
                    engine: Engine) -> LocalNode:
    """This node's federation side over its index (`model_source`) and its database (the nonce table)."""
    key = load_signing_key(key_file, region, passphrase)
    directory = RegistryDirectory(model_source)
    return LocalNode(region=region, key=key, directory=directory, peers=PeerClient(directory, key),
                     guard=PeerRequestGuard(RequestChecker(directory, NonceCache(engine), region)))
