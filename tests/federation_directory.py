"""A node directory held in the test (the NodeDirectory Protocol of federation.directory).

Used by the unit tests of the pure checking rules, where the registry's facts are the input;
the integration tests read the real chain registry once it exists (issue 14, item 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from federation.directory import REQUEST_SIGNING, SUITE_STANDARD, NodeKey


@dataclass
class InTestDirectory:
    nodes: dict[int, str] = field(default_factory=dict)
    keys: dict[tuple[int, str], NodeKey] = field(default_factory=dict)

    def node_of(self, region: int) -> str | None:
        return self.nodes.get(region)

    def node_key(self, region: int, key_id: str, at_time: int) -> NodeKey | None:
        return self.keys.get((region, key_id))

    def register(self, region: int, base_url: str, key_id: str, public_key: bytes, *, purpose: str = REQUEST_SIGNING,
                 valid_from: int = 0, valid_until: int | None = None, retired: bool = False) -> NodeKey:
        self.nodes[region] = base_url
        key = NodeKey(region, key_id, SUITE_STANDARD, "ed25519", public_key, purpose, valid_from, valid_until, retired)
        self.keys[(region, key_id)] = key
        return key
