"""Presentations: what a holder shows a clerk (our 加注件, annotated use-copy).

A presentation carries everything needed to check a certificate without asking the holder
anything else:

* the disclosed fields (path, value, salt) and an OpenZeppelin multiproof binding them to the
  document root (the hidden fields stay hidden: only their subtree hashes travel);
* the document root, the batch root it was anchored under and the batch proof between them;
* the issuer's EIP-712 signature over the document root (offline verification);
* 制作时间 / 有效期截止时间 (`created_at` / `expires_at`, unix seconds, minutes apart: a
  dynamic QR code, so screenshots go stale), a random nonce, and 制作事由 (`purpose`);
* optionally the holder's signature over all of the above (holder binding).

What is *not* carried: the chain id and ledger address. A verifier knows its own deployment
(`VerifierPolicy.domain`), and both the issuer's and the holder's signatures are EIP-712
signatures in that domain, so a presentation made for another deployment fails to verify.

Holder signature (our choice, stated once here): an **EIP-712** typed-data signature in the
deployment's domain (name "Huren", version "1", chainId, verifyingContract = AnchorLedger),
so a wallet that speaks `eth_signTypedData_v4` can make it and show what is being signed:

    HolderPresentation(uint8 version,bytes32 documentRoot,bytes32[] disclosedLeaves,
        bytes32[] multiproof,bool[] proofFlags,bytes32 batchRoot,bytes32[] batchProof,
        bytes issuerSignature,uint64 createdAt,uint64 expiresAt,bytes nonce,string purpose)

`disclosedLeaves` are the disclosed fields' leaf hashes (each commits to salt, path and
value) in presentation order. Every part of the presentation except the holder signature
itself is covered, so neither expiry, purpose, nonce nor any proof can be changed without
breaking the binding.

Binding rule (kept simple, enforced by the engine): a presentation is holder-bound when it
discloses `holder.address`. Then it must carry a holder signature that recovers to exactly
that address. A holder signature without a disclosed `holder.address` cannot be checked
against anything and is refused, not ignored. A presentation that hides `holder.address`
is unbound: anyone holding it may present it until it expires. A verifier that insists on
binding sets `VerifierPolicy.require_holder_binding`.

What the expiry is worth: the issuer signs the document root only, so in an *unbound*
presentation `created_at`, `expires_at`, `nonce` and `purpose` are not authenticated by
anyone. Anyone who has the code and this (open) format can re-encode it with fresh times.
The expiry then only makes forwarded screenshots go stale for ordinary users; it is a
security property only for holder-bound presentations, where the holder's signature covers
these fields. Deployments that need it enforced set `require_holder_binding`.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from sha3 import keccak_256

from common.document import ALWAYS_DISCLOSED, Disclosure, SaltedField, disclose, document_root, field_leaf
from common.eip712 import Domain, to_checksum_address
from verifier._ecdsa import address_of, recover_digest_raw, sign_digest

__all__ = [
    "DEFAULT_NONCE_BYTES",
    "DEFAULT_TTL_S",
    "HOLDER_ADDRESS_PATH",
    "HOLDER_PRESENTATION_TYPE",
    "HOLDER_PRESENTATION_TYPEHASH",
    "MAX_TTL_S",
    "NONCE_MAX_BYTES",
    "NONCE_MIN_BYTES",
    "PRESENTATION_VERSION",
    "PURPOSE_MAX_CHARS",
    "SIGNATURE_BYTES",
    "Presentation",
    "holder_signing_digest",
    "make_presentation",
    "recover_holder",
    "recover_holder_raw",
    "unsafe_text",
]

#: Version of the presentation data model (the wire prefix "HR1:" names the encoding).
PRESENTATION_VERSION: Final[int] = 1
NONCE_MIN_BYTES: Final[int] = 8
NONCE_MAX_BYTES: Final[int] = 16
#: 96 random bits: collisions are out of reach for any verification log, 4 bytes under the cap.
DEFAULT_NONCE_BYTES: Final[int] = 12
#: 制作事由 limit demanded by the national sharing API.
PURPOSE_MAX_CHARS: Final[int] = 200
SIGNATURE_BYTES: Final[int] = 65
#: A presentation lives for minutes: long enough to queue at a counter, short enough that a
#: screenshot forwarded later is stale.
DEFAULT_TTL_S: Final[int] = 300
#: Upper bound on expires_at - created_at accepted anywhere (the policy is usually far stricter).
MAX_TTL_S: Final[int] = 86_400
HOLDER_ADDRESS_PATH: Final[str] = "holder.address"

HOLDER_PRESENTATION_TYPE: Final[str] = (
    "HolderPresentation(uint8 version,bytes32 documentRoot,bytes32[] disclosedLeaves,"
    "bytes32[] multiproof,bool[] proofFlags,bytes32 batchRoot,bytes32[] batchProof,"
    "bytes issuerSignature,uint64 createdAt,uint64 expiresAt,bytes nonce,string purpose)"
)
HOLDER_PRESENTATION_TYPEHASH: Final[bytes] = keccak_256(HOLDER_PRESENTATION_TYPE.encode()).digest()

#: Bidirectional formatting characters: they can make displayed text read differently from
#: what it is (e.g. reversing part of the 事由 on the clerk's screen).
_BIDI_CONTROLS: Final[frozenset[str]] = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_TRUE_WORD: Final[bytes] = (1).to_bytes(32, "big")
_FALSE_WORD: Final[bytes] = bytes(32)


@dataclass(frozen=True)
class Presentation:
    """One presentation of one certificate. Build with `make_presentation`; parse with `codec.decode`.

    The dataclass does not validate: a decoded presentation is already shape-checked by the
    codec, and everything else (proofs, signatures, expiry) is the engine's job, which must
    answer with a verdict rather than an exception.
    """

    version: int
    disclosure: Disclosure
    document_root: bytes
    batch_root: bytes
    batch_proof: list[bytes]
    issuer_signature: bytes
    created_at: int
    expires_at: int
    nonce: bytes
    purpose: str
    holder_signature: bytes | None = None

    @property
    def fields(self) -> list[SaltedField]:
        """The disclosed fields, in multiproof order."""
        return self.disclosure.fields

    def disclosed(self) -> dict[str, object]:
        """Disclosed values by path (what the clerk gets to see)."""
        return {field.path: field.value for field in self.disclosure.fields}


#: The same set as one regular expression: Unicode category Cc is exactly C0 (U+0000-U+001F),
#: DEL and C1 (U+007F-U+009F) (a unit test checks this against `unicodedata`); a regex search
#: runs in C, a per-character category lookup costs more than the rest of decoding a path.
_UNSAFE: Final[re.Pattern[str]] = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(_BIDI_CONTROLS)) + "]")


def unsafe_text(text: str) -> bool:
    """True if `text` holds control characters (C0, DEL, C1) or bidi controls: refused in 事由 and paths."""
    return _UNSAFE.search(text) is not None


def _u64(value: int) -> bytes:
    if type(value) is not int or not 0 <= value < 2**64:
        raise ValueError(f"a uint64 value is required, got {value!r}")
    return value.to_bytes(32, "big")


def holder_signing_digest(domain: Domain, presentation: Presentation, leaves: Sequence[bytes] | None = None) -> bytes:
    """The EIP-712 digest the holder signs: keccak256(0x1901 || domainSeparator || hashStruct).

    `leaves` may pass the disclosed fields' leaf hashes when the caller has computed them
    already (the engine has, during the integrity check), saving the re-hashing.
    Raises ValueError for a presentation whose fields or numbers cannot be encoded.
    """
    p = presentation
    if leaves is None:
        leaves = [field_leaf(f.salt, f.path, f.value) for f in p.disclosure.fields]
    if type(p.version) is not int or not 0 <= p.version < 256:
        raise ValueError(f"presentation version must be a uint8, got {p.version!r}")
    for what, item in (("document root", p.document_root), ("batch root", p.batch_root)):
        if type(item) is not bytes or len(item) != 32:
            raise ValueError(f"the {what} must be 32 bytes")
    kk = keccak_256
    struct = b"".join(
        (
            HOLDER_PRESENTATION_TYPEHASH,
            p.version.to_bytes(32, "big"),
            p.document_root,
            kk(b"".join(leaves)).digest(),
            kk(b"".join(p.disclosure.proof)).digest(),
            kk(b"".join(_TRUE_WORD if flag else _FALSE_WORD for flag in p.disclosure.flags)).digest(),
            p.batch_root,
            kk(b"".join(p.batch_proof)).digest(),
            kk(p.issuer_signature).digest(),
            _u64(p.created_at),
            _u64(p.expires_at),
            kk(p.nonce).digest(),
            kk(p.purpose.encode("utf-8")).digest(),
        )
    )
    return kk(b"\x19\x01" + domain.separator + kk(struct).digest()).digest()


def recover_holder(domain: Domain, presentation: Presentation, leaves: Sequence[bytes] | None = None) -> str | None:
    """Checksummed address that made the holder signature, or None (absent, malformed, unencodable)."""
    raw = recover_holder_raw(domain, presentation, leaves)
    return None if raw is None else to_checksum_address(raw)


def recover_holder_raw(
    domain: Domain, presentation: Presentation, leaves: Sequence[bytes] | None = None
) -> bytes | None:
    """As `recover_holder`, but the 20 address bytes (the engine compares bytes, skipping EIP-55)."""
    if presentation.holder_signature is None:
        return None
    try:
        digest = holder_signing_digest(domain, presentation, leaves)
    except (ValueError, TypeError, AttributeError):
        return None
    return recover_digest_raw(digest, presentation.holder_signature)


def make_presentation(
    fields: Sequence[SaltedField],
    disclose_paths: Iterable[str],
    *,
    batch_root: bytes,
    batch_proof: Sequence[bytes],
    issuer_signature: bytes,
    purpose: str,
    domain: Domain,
    holder_key: bytes | None = None,
    now: int | None = None,
    ttl_s: int = DEFAULT_TTL_S,
    nonce: bytes | None = None,
) -> Presentation:
    """Build (and, with `holder_key`, sign) a presentation from the holder's full salted document.

    `fields` is the complete salted document the holder received from the issuer;
    `disclose_paths` the fields the holder chooses to show. ALWAYS_DISCLOSED fields are added
    (a verifier refuses a presentation without them). With `holder_key`, `holder.address` is
    disclosed too and the presentation is signed; the key must be the document's holder key.
    `domain` is the verifier deployment's EIP-712 domain (only used for the holder signature).

    Raises ValueError for a key that is not the document's holder key, a bad purpose, ttl
    or nonce; UnknownFieldError for a path that is not in the document.
    """
    if not isinstance(purpose, str) or len(purpose) > PURPOSE_MAX_CHARS:
        raise ValueError(f"purpose (事由) must be a str of at most {PURPOSE_MAX_CHARS} characters")
    if unsafe_text(purpose):
        raise ValueError("purpose (事由) must not contain control or bidi-override characters")
    if type(ttl_s) is not int or not 1 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be an int in [1, {MAX_TTL_S}]")
    if nonce is None:
        nonce = secrets.token_bytes(DEFAULT_NONCE_BYTES)
    if type(nonce) is not bytes or not NONCE_MIN_BYTES <= len(nonce) <= NONCE_MAX_BYTES:
        raise ValueError(f"nonce must be {NONCE_MIN_BYTES}..{NONCE_MAX_BYTES} bytes")
    created_at = int(time.time()) if now is None else now
    paths = list(ALWAYS_DISCLOSED) + [p for p in disclose_paths if p not in ALWAYS_DISCLOSED]
    if holder_key is not None:
        bound = {f.path: f.value for f in fields}.get(HOLDER_ADDRESS_PATH)
        signer = address_of(holder_key)
        if not isinstance(bound, str) or _normal_address(bound) != signer:
            raise ValueError(
                "holder_key does not match the document's holder.address "
                f"({bound!r} != {signer}): only the bound holder can sign a presentation"
            )
        if HOLDER_ADDRESS_PATH not in paths:
            paths.append(HOLDER_ADDRESS_PATH)
    disclosure = disclose(fields, paths)
    presentation = Presentation(
        version=PRESENTATION_VERSION,
        disclosure=disclosure,
        document_root=document_root(fields),
        batch_root=bytes(batch_root),
        batch_proof=[bytes(h) for h in batch_proof],
        issuer_signature=bytes(issuer_signature),
        created_at=created_at,
        expires_at=created_at + ttl_s,
        nonce=nonce,
        purpose=purpose,
        holder_signature=None,
    )
    if holder_key is None:
        return presentation
    signature = sign_digest(bytes(holder_key), holder_signing_digest(domain, presentation))
    return replace(presentation, holder_signature=signature)


def _normal_address(value: str) -> str | None:
    """Checksummed form of a hex address string, or None if it is not one."""
    try:
        return to_checksum_address(value)
    except ValueError:
        return None
