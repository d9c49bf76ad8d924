"""The 加注 stamp: the holder's node signs a presentation's envelope (DESIGN.md, "Trust in the 加注件").

Why a stamp: the issuer signs the document root only, so without it nothing authenticates a
presentation's window (created_at, ttl), its 事由 (purpose) or its nonce, and anyone holding a
code could re-time or re-purpose it. The issuing region's node signs them when it makes the
code, as China's sharing system stamps a 加注件; a verifier checks the stamp against the stamping
keys that the chain's node registry lists for that region at the code's creation time.

The signed message (fixed layout, no ambiguity between fields; all integers big-endian)::

    "huren-stamp/1" 0x00            14 bytes   domain tag: never a node request signature base
    suite                            1 byte    crypto suite (1 = international, 2 = 国密)
    domain separator                32 bytes   the deployment's EIP-712 domain separator
    region                           4 bytes   the stamping (issuing) region, GB/T 2260
    document root                   32 bytes
    batch root                      32 bytes
    H(disclosed leaves)             32 bytes   the leaves in presentation order: the field set
    created_at                       8 bytes   unix seconds
    ttl                              4 bytes   expires_at - created_at
    H(nonce)                        32 bytes
    H(utf-8 purpose)                32 bytes
    audience                         4 bytes   the one region the code is for, 0 = any

H is the suite's hash (common.suites.digest_of): keccak-256 in suite 1, SM3 in suite 2. The
signature is 64 bytes in both suites, by a stamping key whose algorithm is the suite's:
* suite 1: Ed25519 over the message itself (RFC 8032: no pre-hash);
* suite 2: SM2 (GB/T 32918) over SM3(Z || message), Z with the default signer ID
  1234567812345678, r || s (common.gm.sm2_sign).
A key of the other suite's algorithm never vouches for a code (`verify_stamp`), so a suite-1
stamping key cannot stamp a suite-2 code nor the other way round; and since the message names
its suite, a stamp is never valid for the same envelope under the other suite.
The stamp carries no key id: a verifier tries the region's stamping keys valid at created_at
(one, or two during a rotation), which saves 32 bytes in the QR code.

Separation from request signatures: stamps and node-to-node requests use keys of different
registry purposes (stamping vs request-signing), and the message begins with a tag no RFC 9421
signature base can begin with (those begin with a quoted component name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.gm import GMError, sm2_verify
from common.node_keys import NodePrivateKey, node_algorithm_of, node_public_bytes
from common.nodes import NodeAlgorithm, NodeKey, NodeKeyPurpose, key_id
from common.suites import digest_of

__all__ = ["STAMP_BYTES", "STAMP_TAG", "StampSigner", "StampSuiteMismatch", "Stamped", "stamp_algorithm",
           "stamp_message", "verify_stamp"]

STAMP_TAG: Final[bytes] = b"huren-stamp/1\x00"
STAMP_BYTES: Final[int] = 64

#: The stamping-key algorithm of each crypto suite.
_STAMP_ALGORITHMS: Final[dict[int, NodeAlgorithm]] = {1: NodeAlgorithm.ED25519, 2: NodeAlgorithm.SM2_SM3}


def stamp_algorithm(suite: int) -> NodeAlgorithm | None:
    """The algorithm a stamping key must have to stamp codes of `suite` (None: no such suite)."""
    return _STAMP_ALGORITHMS.get(suite)


class StampSuiteMismatch(ValueError):
    """This node's stamping key is of another suite than the code it is asked to stamp."""

    def __init__(self, key_algorithm: NodeAlgorithm, suite: int) -> None:
        self.message = (f"本节点的加注签章密钥为 {key_algorithm.rfc9421}（套件 {int(key_algorithm.suite)}），"
                        f"不能为套件 {suite} 的出示码签章；请运维人员为本节点配置该套件的加注签章密钥")
        self.message_en = (f"the stamping key is {key_algorithm.rfc9421} (suite {int(key_algorithm.suite)}), "
                           f"it cannot stamp a suite-{suite} code")
        super().__init__(f"{self.message}（{self.message_en}）")


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
    h = digest_of(s.suite)  # ValueError for a suite nobody defined
    return b"".join((
        STAMP_TAG,
        s.suite.to_bytes(1, "big"),
        s.domain_separator,
        s.region.to_bytes(4, "big"),
        s.document_root,
        s.batch_root,
        h(b"".join(s.leaves)),
        s.created_at.to_bytes(8, "big"),
        s.ttl.to_bytes(4, "big"),
        h(s.nonce),
        h(s.purpose.encode("utf-8")),
        (s.audience or 0).to_bytes(4, "big"),
    ))


@dataclass(frozen=True)
class StampSigner:
    """A node's stamping key for one region: Ed25519 (suite 1) or SM2 (suite 2, common.node_keys).
    The private half never prints (`repr` shows the region only)."""

    region: int
    private_key: NodePrivateKey = field(repr=False)

    def __deepcopy__(self, memo: dict[int, object]) -> StampSigner:
        return self  # immutable; the key object itself cannot be copied (nor should it be)

    @property
    def algorithm(self) -> NodeAlgorithm:
        return node_algorithm_of(self.private_key)

    @property
    def suite(self) -> int:
        """The crypto suite of the codes this key stamps."""
        return int(self.algorithm.suite)

    @property
    def public_bytes(self) -> bytes:
        """As the node registry stores it: 32 raw bytes (Ed25519) or 65 bytes 04||x||y (SM2)."""
        return node_public_bytes(self.private_key)

    @property
    def key_id(self) -> str:
        """The registry's id of this key (keccak256 of the public bytes)."""
        return key_id(self.public_bytes)

    def sign(self, stamped: Stamped) -> bytes:
        """The 64-byte stamp. ValueError if `stamped` is for another region than this key's;
        StampSuiteMismatch (a ValueError) if it is a code of another suite than this key's."""
        if stamped.region != self.region:
            raise ValueError(f"this stamping key is region {self.region}'s, not region {stamped.region}'s")
        if stamp_algorithm(stamped.suite) is not self.algorithm:
            raise StampSuiteMismatch(self.algorithm, stamped.suite)
        return self.private_key.sign(stamp_message(stamped))

    def made(self, stamped: Stamped, signature: bytes) -> bool:
        """Whether `signature` is this key's stamp over `stamped` (the node checking a code it made,
        in whichever suite: the same acceptance rules as `verify_stamp`, with this key as the one candidate)."""
        return verify_stamp(stamped, signature, [self.as_registered()]) is not None

    def as_registered(self) -> NodeKey:
        """This key as the node registry lists it (purpose stamping, valid from the epoch, never retired)."""
        return NodeKey(self.key_id, self.region, self.suite, int(self.algorithm), int(NodeKeyPurpose.STAMPING),
                       self.public_bytes, 0, None)


def verify_stamp(stamped: Stamped, signature: bytes, keys: Sequence[NodeKey]) -> NodeKey | None:
    """The registry key that made `signature` over `stamped`, or None.

    `keys` are the candidates (the region's stamping keys valid at created_at); anything else
    among them (another purpose, region or window, an algorithm other than the code's suite's —
    Ed25519 for suite 1, SM2-SM3 for suite 2 — or a key of another suite) is skipped, never
    trusted. Malformed input gives None, not an exception.
    """
    try:
        message = stamp_message(stamped)
    except (ValueError, TypeError, AttributeError, OverflowError):
        return None
    if type(signature) is not bytes or len(signature) != STAMP_BYTES:
        return None
    algorithm = stamp_algorithm(stamped.suite)
    if algorithm is None:
        return None
    for key in keys:
        if (key.purpose != int(NodeKeyPurpose.STAMPING) or key.region != stamped.region
                or not key.valid_at(stamped.created_at) or key.algorithm != int(algorithm)
                or key.suite != int(algorithm.suite)):
            continue
        try:
            if algorithm is NodeAlgorithm.ED25519:
                Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, message)
            else:
                sm2_verify(key.public_key, message, signature)
        except (InvalidSignature, GMError, ValueError, TypeError):
            continue
        return key
    return None
