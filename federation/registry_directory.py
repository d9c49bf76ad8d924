"""The node directory over the chain's node registry, as this node's ledger index holds it.

The protocol (`federation.directory.NodeDirectory`) asks two things; the read model
(`ledger.readmodel.ReadModel`, indexed from contracts/NodeRegistry.sol) knows them:

- `node_of(region)`: the registered base URL only while the node is ACTIVE and its region a current
  consortium member. A removed node, or a node of a region that left, is neither called nor believed.
- `node_key(region, key_id, at)`: the key whatever its window or purpose (so the checker can say
  *why* it refuses), but None for a key the chain does not know or that belongs to another region's
  node. `retired` is the registry's retirement in force at `at`: the chain retires a key by ending
  its window (backdated for a compromise, or in the future for a planned rotation), so a key retired
  "as of" a time still explains what it signed before that time.

The model is asked anew on every look-up (`model_source()`): the indexer replaces its model on a
reorg, and a directory holding an old one would go on trusting a key the chain no longer has.
"""

from __future__ import annotations

from collections.abc import Callable

from common.nodes import NodeAlgorithm, NodeKeyPurpose
from common.nodes import NodeKey as RegistryKey
from federation.directory import NodeKey
from ledger.readmodel import ReadModel

#: Registry purpose number -> the protocol's purpose name (federation.directory.REQUEST_SIGNING).
_PURPOSES = {NodeKeyPurpose.REQUEST_SIGNING: "request-signing", NodeKeyPurpose.STAMPING: "stamping"}


def purpose_name(purpose: int) -> str:
    """The protocol's name of a registry purpose; an unknown number keeps a name no rule accepts."""
    try:
        return _PURPOSES[NodeKeyPurpose(purpose)]
    except ValueError:
        return f"purpose-{purpose}"


def algorithm_name(algorithm: int) -> str:
    """The RFC 9421 name of a registry algorithm ("ed25519", ...); unknown numbers are named, never trusted."""
    try:
        return NodeAlgorithm(algorithm).rfc9421
    except ValueError:
        return f"algorithm-{algorithm}"


def as_protocol_key(key: RegistryKey, at_time: int) -> NodeKey:
    """A registry key as the checker reads it, `retired` judged at `at_time`."""
    return NodeKey(region=key.region, key_id=key.key_id, suite=key.suite, algorithm=algorithm_name(key.algorithm),
                   public_key=key.public_key, purpose=purpose_name(key.purpose), valid_from=key.valid_from,
                   valid_until=key.valid_until,
                   retired=key.valid_until is not None and at_time >= key.valid_until)


class RegistryDirectory:
    """`NodeDirectory` over the ledger read model (see the module docstring)."""

    def __init__(self, model_source: Callable[[], ReadModel]) -> None:
        self._model = model_source

    def node_of(self, region: int) -> str | None:
        model = self._model()
        node = model.node_of(region)
        member = model.regions.get(region)
        if node is None or not node.active or member is None or not member.member:
            return None
        return node.base_url

    def node_key(self, region: int, key_id: str, at_time: int) -> NodeKey | None:
        key = self._model().node_key_info(key_id)
        if key is None or key.region != region:
            return None
        return as_protocol_key(key, at_time)
