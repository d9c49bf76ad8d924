"""What a node needs to know about other nodes, and nothing more: where a region's node is, and
which key a region's node held at a given time.

The chain's node registry is the only source of these facts (DESIGN.md "Federation"). This
module fixes the two look-ups the protocol depends on as a small Protocol, so the signing and
checking code does not care how the registry is indexed; `federation.registry_directory` adapts
the ledger's read model to it.

A key is looked up *at a time* — the `created` time of the signature being checked — because
keys have windows like issuer keys: a key rotated out yesterday still explains a request signed
the day before, and a key whose window has not begun explains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

#: The purpose a key must be registered for to sign node-to-node requests. Keys that stamp
#: 加注件 are registered for another purpose and are never accepted here (and vice versa).
REQUEST_SIGNING = "request-signing"

#: Crypto suites of DESIGN.md: 1 = keccak-256 / secp256k1 (the chain's own), 2 = 国密 SM3/SM2/SM4.
#: A node's request-signing key is an Ed25519 key under suite 1, an SM2 key (sm2-sm3) under suite 2
#: (the RFC 9421 algorithm classes are in federation.algorithms).
SUITE_STANDARD = 1
SUITE_GUOMI = 2


@dataclass(frozen=True)
class NodeKey:
    """One registered node key as the registry holds it (public part only).

    `valid_from` / `valid_until` are Unix seconds; `valid_until` None means open-ended. `retired`
    says the registry has retired the key and the retirement is in force at the time asked (the
    chain's registry retires a key by ending its window: at a compromise time, backdated, or at a
    planned rotation's end, in the future — until then the key still signs). The checker refuses a
    retired key as such, before its window, so the calling node's operator reads "retired" rather
    than "outside its window".
    """

    region: int
    key_id: str
    suite: int
    algorithm: str
    public_key: bytes
    purpose: str
    valid_from: int
    valid_until: int | None
    retired: bool

    def covers(self, at_time: int) -> bool:
        """Whether `at_time` lies in the key's window [valid_from, valid_until)."""
        return self.valid_from <= at_time and (self.valid_until is None or at_time < self.valid_until)


class NodeDirectory(Protocol):
    """The registry look-ups of the node-to-node protocol.

    `node_of` answers None for a region without a node (never registered, or removed): such a
    region is neither called nor believed. `node_key` answers None for a key the region never
    registered; a key that exists is answered whatever its window, purpose or retirement, so the
    checker can say precisely why it refuses it.
    """

    def node_of(self, region: int) -> str | None:
        """The base URL (scheme://host[:port]) of `region`'s node, or None."""
        ...

    def node_key(self, region: int, key_id: str, at_time: int) -> NodeKey | None:
        """The key `key_id` of `region`'s node as registered at `at_time` (Unix seconds), or None.

        None also when `key_id` is registered to another region's node: a node cannot sign in the
        name of another region with a key of its own.
        """
        ...
