"""The 加注 stamp: the holder's node signs a presentation's envelope (DESIGN.md, "Trust in the 加注件").

Why a stamp: the issuer signs the document root only, so without it nothing authenticates a
presentation's window (created_at, ttl), its 事由 (purpose) or its nonce, and anyone holding a
code could re-time or re-purpose it. The issuing region's node signs them when it makes the
code, as China's sharing system stamps a 加注件; a verifier checks the stamp against the stamping
keys that the chain's node registry lists for that region at the code's creation time.

The signed message (fixed layout, no ambiguity between fields; all integers big-endian)::

    "huren-stamp/1" 0x00            14 bytes   domain tag: never a node request signature base
    suite                            1 byte    crypto suite (1 = keccak-256 / secp256k1)
    domain separator                32 bytes   the deployment's EIP-712 domain separator
    region                           4 bytes   the stamping (issuing) region, GB/T 2260
    document root                   32 bytes
    batch root                      32 bytes
    keccak256(disclosed leaves)     32 bytes   the leaves in presentation order: the field set
    created_at                       8 bytes   unix seconds
    ttl                              4 bytes   expires_at - created_at
    keccak256(nonce)                32 bytes
    keccak256(utf-8 purpose)        32 bytes
    audience                         4 bytes   the one region the code is for, 0 = any

Ed25519 signs the message itself (RFC 8032: no pre-hash); the signature is 64 bytes. The stamp
carries no key id: a verifier tries the region's stamping keys valid at created_at (one, or two
during a rotation), which saves 32 bytes in the QR code.

Separation from request signatures: stamps and node-to-node requests use keys of different
registry purposes (stamping vs request-signing), and the message begins with a tag no RFC 9421
signature base can begin with (those begin with a quoted component name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sha3 import keccak_256

from common.nodes import NodeAlgorithm, NodeKey, NodeKeyPurpose, key_id

__all__ = ["STAMP_BYTES", "STAMP_TAG", "StampSigner", "Stamped", "stamp_message", "verify_stamp"]

STAMP_TAG: Final[bytes] = b"huren-stamp/1\x00"
STAMP_BYTES: Final[int] = 64


@dataclass(frozen=True)
class Stamped:
    """What a stamp covers: the envelope of one presentation, as the verifier has it."""

    suite: int
    domain_separator: bytes
    region: int
    document_root: bytes
    batch_root: bytes
    leaves: Sequence[bytes]
    created_at: int
    ttl: int
    nonce: bytes
    purpose: str
    audience: int | None


def stamp_message(s: Stamped) -> bytes:
    """The exact bytes a stamp signs (layout in the module docstring). ValueError if a part does not fit."""
    for what, item in (("domain separator", s.domain_separator), ("document root", s.document_root),
                       ("batch root", s.batch_root)):
        if type(item) is not bytes or len(item) != 32:
            raise ValueError(f"the {what} must be 32 bytes")
    if any(type(leaf) is not bytes or len(leaf) != 32 for leaf in s.leaves):
        raise ValueError("every disclosed leaf must be 32 bytes")
    if s.audience is not None and not 0 < s.audience < 2**32:
        raise ValueError(f"audience must be a region code, got {s.audience!r}")
    kk = keccak_256
    return b"".join((
        STAMP_TAG,
        s.suite.to_bytes(1, "big"),
        s.domain_separator,
        s.region.to_bytes(4, "big"),
        s.document_root,
        s.batch_root,
        kk(b"".join(s.leaves)).digest(),
        s.created_at.to_bytes(8, "big"),
        s.ttl.to_bytes(4, "big"),
        kk(s.nonce).digest(),
        kk(s.purpose.encode("utf-8")).digest(),
        (s.audience or 0).to_bytes(4, "big"),
    ))


@dataclass(frozen=True)
class StampSigner:
    """A node's stamping key for one region. The private half never prints (`repr` shows the id)."""

    region: int
    private_key: Ed25519PrivateKey = field(repr=False)

    def __deepcopy__(self, memo: dict[int, object]) -> StampSigner:
        return self  # immutable; the key object itself cannot be copied (nor should it be)

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        """The registry's id of this key (keccak256 of the public bytes)."""
        return key_id(self.public_bytes)

    def sign(self, stamped: Stamped) -> bytes:
        """The 64-byte stamp; ValueError if `stamped` is for another region than this key's."""
        if stamped.region != self.region:
            raise ValueError(f"this stamping key is region {self.region}'s, not region {stamped.region}'s")
        return self.private_key.sign(stamp_message(stamped))


def verify_stamp(stamped: Stamped, signature: bytes, keys: Sequence[NodeKey]) -> NodeKey | None:
    """The registry key that made `signature` over `stamped`, or None.

    `keys` are the candidates (the region's stamping keys valid at created_at); anything else
    among them (another purpose, region or window, an algorithm this verifier has no code for)
    is skipped, never trusted. Malformed input gives None, not an exception.
    """
    try:
        message = stamp_message(stamped)
    except (ValueError, TypeError, AttributeError, OverflowError):
        return None
    if type(signature) is not bytes or len(signature) != STAMP_BYTES:
        return None
    for key in keys:
        if (key.purpose != int(NodeKeyPurpose.STAMPING) or key.region != stamped.region
                or not key.valid_at(stamped.created_at) or key.algorithm != int(NodeAlgorithm.ED25519)):
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            continue
        return key
    return None
