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

in HR1; in HR2 `HolderPresentation2`, the same with `uint8 suite` in place of the version and a
final `uint32 audience` (0 = any region), so the holder's signature also pins the region a code
is for: stripping a bound code's stamp and audience breaks the holder's signature.

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

What the expiry is worth: the issuer signs the document root only, so `created_at`,
`expires_at`, `nonce` and `purpose` need another signature. The issuing region's node stamps
them when its wallet makes the code (the 加注 stamp, common/stamp.py, format HR2), or the bound
holder signs them. A code covered by neither (every unbound HR1 code) is never VALID: the
engine's `stamp` check answers PRESENTATION_EXPIRED ("请持证人刷新出示码"). So re-timing,
re-purposing or re-nonceing a code breaks a signature, and the expiry is a security property.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from sha3 import keccak_256

from common.document import ALWAYS_DISCLOSED, Disclosure, SaltedField, disclose, document_root, field_leaf
from common.eip712 import Domain, to_checksum_address
from common.stamp import Stamped, StampSigner
from common.suites import digest_of
from verifier._ecdsa import address_of, recover_digest_raw, sign_digest

__all__ = [
    "DEFAULT_NONCE_BYTES",
    "DEFAULT_TTL_S",
    "HOLDER_ADDRESS_PATH",
    "HOLDER_PRESENTATION2_TYPE",
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
    "stamped_envelope",
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
#: Format HR2's holder signature also covers the suite and the audience (0 = any region): otherwise a
#: bound code made for one region could be stripped of its stamp and audience and shown anywhere.
HOLDER_PRESENTATION2_TYPE: Final[str] = (
    "HolderPresentation2(uint8 suite,bytes32 documentRoot,bytes32[] disclosedLeaves,"
    "bytes32[] multiproof,bool[] proofFlags,bytes32 batchRoot,bytes32[] batchProof,"
    "bytes issuerSignature,uint64 createdAt,uint64 expiresAt,bytes nonce,string purpose,uint32 audience)"
)
HOLDER_PRESENTATION2_TYPEHASH: Final[bytes] = keccak_256(HOLDER_PRESENTATION2_TYPE.encode()).digest()

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
    #: Wire format it came in or goes out as: 1 = "HR1:" (legacy, no stamp), 2 = "HR2:".
    format: int = 1
    #: Crypto suite (common/suites.py): 1 = keccak-256 / secp256k1; 2 = 国密 SM3 / SM2 (HR2 only).
    suite: int = 1
    #: The one region this code is for (stamped), or None: any region.
    audience: int | None = None
    #: The issuing region's node's 加注 stamp over the envelope (common/stamp.py), or None.
    stamp: bytes | None = None
    #: What the HR2 decoder hashed to derive `document_root`: (the fields, the root, their leaves).
    #: Not part of the presentation's value; see `derived_leaves`.
    derived: tuple[tuple[SaltedField, ...], bytes, list[bytes]] | None = field(
        default=None, compare=False, repr=False)

    def derived_leaves(self) -> list[bytes] | None:
        """The disclosed fields' leaves, if the decoder derived `document_root` from exactly these
        fields (the same objects, in the same order) — then the multiproof from them to the root
        holds by construction and the engine need not hash every field a second time (a quarter of
        a verification's hashing). None for anything built or changed otherwise (`replace`)."""
        d = self.derived
        if d is None or d[1] != self.document_root:
            return None
        fields = self.disclosure.fields
        if len(fields) != len(d[0]) or not all(a is b for a, b in zip(fields, d[0], strict=True)):
            return None
        return d[2]

    @property
    def fields(self) -> list[SaltedField]:
        """The disclosed fields, in multiproof order."""
        return self.disclosure.fields

    def disclosed(self) -> dict[str, object]:
        """Disclosed values by path (what the clerk gets to see)."""
        return {field.path: field.value for field in self.disclosure.fields}


def disclosed_leaves(p: Presentation) -> list[bytes]:
    """The disclosed fields' leaves in the code's suite: the decoder's if it derived them (HR2),
    else hashed now. ValueError for a field that cannot be hashed or a suite nobody defined."""
    derived = p.derived_leaves()
    if derived is not None:
        return derived
    h = digest_of(p.suite)
    return [field_leaf(f.salt, f.path, f.value, h) for f in p.disclosure.fields]


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
        leaves = disclosed_leaves(p)
    if type(p.version) is not int or not 0 <= p.version < 256:
        raise ValueError(f"presentation version must be a uint8, got {p.version!r}")
    for what, item in (("document root", p.document_root), ("batch root", p.batch_root)):
        if type(item) is not bytes or len(item) != 32:
            raise ValueError(f"the {what} must be 32 bytes")
    kk = keccak_256
    hr2 = p.format == 2
    if hr2 and (type(p.suite) is not int or not 0 <= p.suite < 256):
        raise ValueError(f"the crypto suite must be a uint8, got {p.suite!r}")
    if hr2 and p.audience is not None and (type(p.audience) is not int or not 0 < p.audience < 2**32):
        raise ValueError(f"the audience must be a region code, got {p.audience!r}")
    struct = b"".join(
        (
            HOLDER_PRESENTATION2_TYPEHASH if hr2 else HOLDER_PRESENTATION_TYPEHASH,
            (p.suite if hr2 else p.version).to_bytes(32, "big"),
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
            (p.audience or 0).to_bytes(32, "big") if hr2 else b"",
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
    stamp_signer: StampSigner | None = None,
    audience: int | None = None,
    format: int = 2,
    suite: int = 1,
) -> Presentation:
    """Build (and, with `holder_key`, sign; with `stamp_signer`, stamp) a presentation.

    `fields` is the complete salted document the holder received from the issuer;
    `disclose_paths` the fields the holder chooses to show. ALWAYS_DISCLOSED fields are added
    (a verifier refuses a presentation without them). With `holder_key`, `holder.address` is
    disclosed too and the presentation is signed; the key must be the document's holder key.
    `domain` is the verifier deployment's EIP-712 domain (holder signature and stamp).
    `stamp_signer` is the issuing region's node's stamping key (format 2 only); `audience`
    restricts the code to one region and needs the stamp. Without a stamp or a holder
    signature a code is never VALID (its window and 事由 would be unauthenticated).

    Raises ValueError for a key that is not the document's holder key, a stamping key of
    another region, a bad purpose, ttl, nonce or format; UnknownFieldError for a path that is
    not in the document.
    """
    if format not in (1, 2):
        raise ValueError(f"format must be 1 (HR1) or 2 (HR2), got {format!r}")
    h = digest_of(suite)
    if suite != 1 and format != 2:
        raise ValueError("format HR1 has no crypto suite: a 国密 (suite 2) certificate is presented as HR2")
    if format == 1 and (stamp_signer is not None or audience is not None):
        raise ValueError("format HR1 carries neither a stamp nor an audience")
    if audience is not None and stamp_signer is None:
        raise ValueError("an audience region must be stamped (it is not covered by the holder signature)")
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
    disclosure = disclose(fields, paths, h)
    presentation = Presentation(
        version=PRESENTATION_VERSION,
        disclosure=disclosure,
        document_root=document_root(fields, h),
        batch_root=bytes(batch_root),
        batch_proof=[bytes(h) for h in batch_proof],
        issuer_signature=bytes(issuer_signature),
        created_at=created_at,
        expires_at=created_at + ttl_s,
        nonce=nonce,
        purpose=purpose,
        holder_signature=None,
        format=format,
        suite=suite,
        audience=audience,
    )
    if stamp_signer is not None:
        presentation = replace(presentation, stamp=stamp_signer.sign(stamped_envelope(domain, presentation)))
    if holder_key is None:
        return presentation
    signature = sign_digest(bytes(holder_key), holder_signing_digest(domain, presentation))
    return replace(presentation, holder_signature=signature)


def stamped_envelope(domain: Domain, p: Presentation, leaves: Sequence[bytes] | None = None) -> Stamped:
    """What the stamp of `p` covers (common/stamp.py); the region is the disclosed issuer.region.

    ValueError when the presentation has no integer issuer.region (such a code is refused by
    the structure check before any stamp is looked at).
    """
    region = next((f.value for f in p.disclosure.fields if f.path == "issuer.region"), None)
    if type(region) is not int or not 0 < region < 2**32:
        raise ValueError("a stamp needs the disclosed issuer.region as an integer region code")
    if leaves is None:
        leaves = disclosed_leaves(p)
    return Stamped(suite=p.suite, domain_separator=domain.separator, region=region, document_root=p.document_root,
                   batch_root=p.batch_root, leaves=leaves, created_at=p.created_at,
                   ttl=p.expires_at - p.created_at, nonce=p.nonce, purpose=p.purpose, audience=p.audience)


def _normal_address(value: str) -> str | None:
    """Checksummed form of a hex address string, or None if it is not one."""
    try:
        return to_checksum_address(value)
    except ValueError:
        return None
