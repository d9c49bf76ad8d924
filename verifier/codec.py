"""The compact text forms of a presentation ("HR2:...", legacy "HR1:...") and the short reference forms.

Format HR1 (the prefix names the format; a new layout gets a new prefix, never a silent change)::

    "HR1:" + Base45( zlib( CBOR(array) ) )

as the EU Digital COVID Certificate does (CBOR -> zlib -> Base45, RFC 9285), because Base45
uses only characters of the QR *alphanumeric* mode (5.5 bits per character instead of 8 in
byte mode), so the QR code is about 30% smaller than with Base64 in byte mode.

The CBOR item is a positional array, canonical CBOR (RFC 8949 §4.2.1: definite lengths,
shortest integer and float forms, map keys sorted), byte strings as bytes, no tags::

    [ 0  version            uint, = 1
      1  fields             [path, value, path, value, ...] in multiproof order, 1..64 pairs
                               path:  uint = index into PATH_TABLE, or text for any other path
                               value: the JSON value, except that a string which is an EIP-55
                                      checksummed address travels as its 20 raw bytes, and
                                      the certificate id "1.2.156.3005.2.<type>.<creditCode>.
                                      <rest>" travels as the bytes of <rest> (type and
                                      issuer.creditCode are always disclosed: they repeat)
      2  salts              bytes, the fields' 16-byte salts concatenated, in the same order
      3  multiproof         bytes, the proof hashes concatenated (32 bytes each, <= 64)
      4  proof flags        bytes, bit-packed MSB-first; the count is implied
                               (fields + proof hashes - 1, as OpenZeppelin requires), pad bits 0
      5  document root      bytes(32)
      6  batch root         bytes(32)
      7  batch proof        bytes, hashes concatenated (32 bytes each, <= 32)
      8  issuer signature   bytes(65)
      9  created_at         uint (unix seconds)
      10 ttl                uint, expires_at - created_at, 1..86400
      11 nonce              bytes(8..16)
      12 purpose            text, <= 200 characters, no control or bidi-override characters
      13 holder signature   bytes(65) or null ]

Format HR2 (what wallets make now; HR1 is still read, see the engine's `stamp` check)::

    "HR2:" + Base45( CBOR(array) )          (no zlib: the content does not compress)

    [ 0  suite              uint: 1 = keccak-256 / secp256k1, 2 = 国密 SM3 / SM2 (common/suites.py):
                            the hash of every leaf, tree and proof below, and the issuer signature's form
      1  fields             as HR1, but path indices are into HR2_PATH_TABLE (HR1's 14 paths, then
                            75 claim paths of the catalogue's types): a claim path costs 1-2 bytes
      2  salts              as HR1, except that when every always-disclosed field's salt is short
                            (one tweak byte, then 15 zero bytes: issuers.sealing makes them so),
                            those fields send the tweak byte only (a 16-byte salt protects a
                            hidden value; these are shown by every code)
      3  multiproof         as HR1
      4  proof flags        as HR1
      5  batch proof        as HR1 (item 7)
      6  issuer signature   suite 1: bytes(64), EIP-2098 compact: r || (yParity << 255 | s);
                            suite 2: bytes(84), the SM2 key's registry id (20) || r (32) || s (32)
                            (an SM2 key cannot be recovered from a signature)
      7  created_at         as HR1
      8  ttl                as HR1
      9  nonce              as HR1
      10 purpose            as HR1
      11 audience           uint (six-digit region code): the one region the code is for, or null
      12 stamp              bytes(64), the issuing region's node's 加注 stamp (common/stamp.py):
                            Ed25519 in suite 1, SM2 r || s in suite 2; or null
      13 holder signature   bytes(64) EIP-2098, or null ]

Neither root travels: the document root is where the disclosed fields' multiproof leads, the
batch root where the batch proof leads from it (OpenZeppelin processMultiProof / processProof).
A changed field or proof therefore leads to other roots, which the issuer's signature, the stamp
and the holder's signature do not cover (the engine answers TAMPERED). The 96 bytes saved (two
roots, two signature bytes) pay for the stamp; a compact signature expands to exactly one
65-byte form with v 27/28 and low s, so each code still has one encoding.

Why these choices: every hash and salt is incompressible, so bytes travel raw and each list
of hashes or salts is one byte string (saving a CBOR header per item); fields are a flat list
(saving an array header per field); common paths are one-byte table indices; flags are bits.
Each of these saves 1.5 QR characters per byte, and a presentation is at the edge of what a
phone camera reads (see qr.py).

Decoding is strict: exactly one accepted CBOR encoding per presentation content (zlib
streams are accepted at any compression level: they inflate to the same bytes, and tying
the format to one zlib build's output would break across versions). Every refusal is one
`PresentationDecodeError` whose message names the problem in Chinese and English, so the
clerk's screen and the log say *why* a code was refused; no other exception escapes.

The reference form, for low-end scanners, is a URL ``https://host/r/<token>`` with a 128-bit
URL-safe random token; the API stores token -> presentation (one-time, short-lived). A node of a
federation makes the region form ``HRR1:<region>:<token>`` instead: it names the region of the node
that holds the token, never an address, so a verifying node of another region finds that node
only through the chain's node registry and no code can make it call a host of the code's choosing.
"""

from __future__ import annotations

import base64
import io
import re
import secrets
import zlib
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

import cbor2

from common.document import ALWAYS_DISCLOSED, SALT_BYTES, Disclosure, SaltedField, field_leaf
from common.eip712 import to_checksum_address
from common.merkle import process_multiproof, process_proof
from common.stamp import STAMP_BYTES
from common.suites import SM2_ISSUER_SIGNATURE_BYTES, Digest, digest_of
from verifier.presentation import (
    MAX_TTL_S,
    NONCE_MAX_BYTES,
    NONCE_MIN_BYTES,
    PRESENTATION_VERSION,
    PURPOSE_MAX_CHARS,
    SIGNATURE_BYTES,
    Presentation,
    unsafe_text,
)

__all__ = [
    "HR2_PATH_TABLE",
    "MAX_BATCH_PROOF_HASHES",
    "MAX_DECOMPRESSED_BYTES",
    "MAX_FIELDS",
    "MAX_MULTIPROOF_HASHES",
    "MAX_TEXT_CHARS",
    "PATH_TABLE",
    "PREFIX",
    "PREFIX_HR2",
    "REFERENCE_TOKEN_BYTES",
    "REGION_REFERENCE_PREFIX",
    "PresentationDecodeError",
    "compact_signature",
    "decode",
    "encode",
    "expand_signature",
    "make_reference",
    "make_region_reference",
    "new_reference_token",
    "parse_reference",
    "parse_region_reference",
]

PREFIX: Final[str] = "HR1:"
#: Format HR2 (same length as "HR1:", so one slice takes either prefix off).
PREFIX_HR2: Final[str] = "HR2:"
#: Largest text accepted: far above what fits a readable QR code (about 1,450 characters at
#: version 25-M), small enough that nothing downstream needs to worry.
MAX_TEXT_CHARS: Final[int] = 4096
#: zlib output cap (a 4,096-char Base45 text is at most 2,730 bytes; real ones compress little).
MAX_DECOMPRESSED_BYTES: Final[int] = 8192
MAX_FIELDS: Final[int] = 64
MAX_MULTIPROOF_HASHES: Final[int] = 64
#: 32 levels = a batch of 4 billion documents.
MAX_BATCH_PROOF_HASHES: Final[int] = 32
MAX_PATH_CHARS: Final[int] = 128
MAX_VALUE_TEXT_CHARS: Final[int] = 1024
MAX_VALUE_DEPTH: Final[int] = 8
MAX_VALUE_ITEMS: Final[int] = 256
_MAX_SAFE_INTEGER: Final[int] = 2**53 - 1

#: Paths every certificate has, sent as their index. Append-only within HR1: reordering or
#: removing an entry would change the meaning of existing codes (that needs "HR2:").
PATH_TABLE: Final[tuple[str, ...]] = (
    "version",
    "id",
    "type",
    "issuer.creditCode",
    "issuer.region",
    "validFrom",
    "validUntil",
    "issuer.name",
    "issuer.signingAddress",
    "holder.name",
    "holder.idType",
    "holder.idNumber",
    "holder.address",
    "issuedAt",
)
_PATH_INDEX: Final[dict[str, int]] = {path: i for i, path in enumerate(PATH_TABLE)}
#: HR2's table: HR1's, then every claim path of the catalogue's types as they were when HR2 was
#: defined, sorted. A literal, not read from the catalogue, so a new type cannot silently change
#: what an index means; append-only within HR2. 89 entries: an index costs 1 or 2 CBOR bytes
#: where "claims.awardingInstitution" costs 27.
HR2_PATH_TABLE: Final[tuple[str, ...]] = PATH_TABLE + tuple(
    "claims." + name for name in (
        "address", "awardDate", "awardingInstitution", "birthDate", "buildingArea", "businessScope",
        "cardNumber", "certificateNumber", "coOwnership", "creditCode", "degreeCategory", "degreeLevel",
        "discipline", "domicile", "entityName", "entityType", "establishedDate", "ethnicity", "father.age",
        "father.ethnicity", "father.idNumber", "father.name", "father.nationality", "fileNumber",
        "firstIssueDate", "holderName", "idNumber", "issueDate", "issuingAuthority", "issuingInstitution",
        "issuingRegion", "landArea", "legalRepresentative", "licenceNumber", "location", "major",
        "mother.age", "mother.ethnicity", "mother.idNumber", "mother.name", "mother.nationality", "name",
        "nationality", "newborn.birthDateTime", "newborn.birthPlace", "newborn.birthRegion",
        "newborn.gestationalWeeks", "newborn.institution", "newborn.lengthCm", "newborn.name", "newborn.sex",
        "newborn.weightGrams", "operationCategory", "registeredCapital", "registrationAuthority",
        "registrationDate", "rightHolder", "rightNature", "rightType", "sex", "socialSecurityNumber",
        "spouseA.birthDate", "spouseA.idNumber", "spouseA.name", "spouseA.nationality", "spouseA.sex",
        "spouseB.birthDate", "spouseB.idNumber", "spouseB.name", "spouseB.nationality", "spouseB.sex",
        "termOfUse", "unitNumber", "usage", "vehicleClass",
    )
)
_HR2_PATH_INDEX: Final[dict[str, int]] = {path: i for i, path in enumerate(HR2_PATH_TABLE)}
#: GB/T 36904 identifiers: 1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>.
_ID_ROOT: Final[str] = "1.2.156.3005.2."
_MAX_ID_TAIL: Final[int] = 64

_B45_ALPHABET: Final[str] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUE: Final[dict[str, int]] = {c: i for i, c in enumerate(_B45_ALPHABET)}
_B45_TEXT: Final[re.Pattern[str]] = re.compile(r"[0-9A-Z $%*+\-./:]*")
_B45_TRANSLATE: Final[bytes] = bytes(_B45_VALUE.get(chr(i), 0) for i in range(256))
_PREFIX_SHAPE: Final[re.Pattern[str]] = re.compile(r"[A-Z]{2,3}[0-9]{1,2}:")
_ARRAY_LENGTH: Final[int] = 14
_ARRAY_LENGTH_HR2: Final[int] = 14
#: EIP-2098 compact secp256k1 signatures in HR2.
COMPACT_SIGNATURE_BYTES: Final[int] = 64


class PresentationDecodeError(ValueError):
    """A presentation text was refused. `str()` is a plain bilingual message for clerks and logs.

    `zh` and `en` hold the two halves separately for callers that localise.
    """

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en
        super().__init__(f"出示码格式错误：{zh} ({en})")


def _fail(zh: str, en: str) -> PresentationDecodeError:
    return PresentationDecodeError(zh, en)


# --------------------------------------------------------------------------- encode


def encode(presentation: Presentation) -> str:
    """The text of a presentation in its format ("HR1:" or "HR2:"), for a QR code or copy-and-paste.

    Raises ValueError if the presentation breaks a format limit; it never emits a text that
    `decode` would refuse (the result is decoded once as a self-check). HR2 carries no roots: a
    presentation whose fields or proofs do not lead to its roots (a forgery, or a test making
    one) encodes to a code whose derived roots are other ones, which then fails verification.
    """
    p = presentation
    try:
        id_prefix = _id_prefix({f.path: f.value for f in p.disclosure.fields})
        flat: list[object] = []
        index = _HR2_PATH_INDEX if p.format == 2 else _PATH_INDEX
        for f in p.disclosure.fields:
            flat.append(_encode_path(f.path, index))
            flat.append(_compact_id(f.value, id_prefix) if f.path == "id" else _encode_value(f.value))
        salts = b"".join(f.salt for f in p.disclosure.fields)
        envelope = (p.created_at, p.expires_at - p.created_at, p.nonce, p.purpose)
        if p.format == 2:
            salts = _hr2_salts(p.disclosure.fields)
            prefix = PREFIX_HR2
            item = [p.suite, flat, salts, b"".join(p.disclosure.proof), _pack_flags(p.disclosure.flags),
                    b"".join(p.batch_proof), _hr2_issuer_signature(p), *envelope,
                    p.audience, p.stamp,
                    None if p.holder_signature is None else compact_signature(p.holder_signature)]
        elif p.format == 1:
            if p.stamp is not None or p.audience is not None:
                raise ValueError("format HR1 carries neither a stamp nor an audience")
            prefix = PREFIX
            item = [p.version, flat, salts, b"".join(p.disclosure.proof), _pack_flags(p.disclosure.flags),
                    p.document_root, p.batch_root, b"".join(p.batch_proof), p.issuer_signature, *envelope,
                    p.holder_signature]
        else:
            raise ValueError(f"unknown presentation format {p.format!r}")
        raw = cbor2.dumps(item, canonical=True)
    except (TypeError, ValueError, AttributeError, cbor2.CBOREncodeError) as exc:
        raise ValueError(f"cannot encode this presentation: {exc}") from exc
    # HR2 sends the CBOR bytes as they are: hashes, salts and signatures do not compress, and zlib's
    # framing made every HR2 code 11 bytes (16 QR characters) longer, never shorter.
    text = prefix + _b45encode(raw if p.format == 2 else zlib.compress(raw, 9))
    try:
        decode(text)
    except PresentationDecodeError as exc:
        raise ValueError(f"cannot encode this presentation: {exc.en}") from exc
    return text


#: A salt of an always-disclosed field in HR2's short form: one tweak byte, then 15 zero bytes.
_SHORT_SALT_TAIL: Final[bytes] = bytes(SALT_BYTES - 1)


def _short_salted(field: SaltedField) -> bool:
    return field.path in ALWAYS_DISCLOSED and len(field.salt) == SALT_BYTES and field.salt[1:] == _SHORT_SALT_TAIL


def _hr2_salts(fields: Sequence[SaltedField]) -> bytes:
    """HR2's salt string: when every always-disclosed field has a short salt (a tweak byte then 15
    zero bytes, as issuers.sealing makes them), those fields send only the tweak; otherwise (a
    certificate sealed before) every field sends its 16 bytes, as in HR1."""
    always = [f for f in fields if f.path in ALWAYS_DISCLOSED]
    if always and all(_short_salted(f) for f in always):
        return b"".join(f.salt[:1] if f.path in ALWAYS_DISCLOSED else f.salt for f in fields)
    return b"".join(f.salt for f in fields)


def compact_signature(signature: bytes) -> bytes:
    """EIP-2098: the 64-byte form r || (yParity << 255 | s) of a canonical 65-byte r || s || v.

    ValueError for a signature that has no compact form (wrong length, v not 27/28, high s).
    """
    if type(signature) is not bytes or len(signature) != 65 or signature[64] not in (27, 28):
        raise ValueError("a signature must be 65 bytes r || s || v with v 27 or 28")
    if signature[32] & 0x80:
        raise ValueError("a signature with a high s has no compact form (it is not canonical)")
    top = signature[32] | (0x80 if signature[64] == 28 else 0)
    return signature[:32] + bytes((top,)) + signature[33:64]


def expand_signature(compact: bytes) -> bytes:
    """The 65-byte r || s || v (v 27/28) of an EIP-2098 compact signature (each has exactly one)."""
    parity = compact[32] >> 7
    return compact[:32] + bytes((compact[32] & 0x7F,)) + compact[33:64] + bytes((27 + parity,))


def _encode_path(path: str, table: dict[str, int]) -> int | str:
    index = table.get(path)
    return path if index is None else index


def _encode_value(value: object) -> object:
    """Values travel as they are, except EIP-55 addresses (42 chars -> 20 bytes)."""
    if type(value) is str and len(value) == 42 and value.startswith("0x"):
        try:
            if to_checksum_address(value) == value:
                return bytes.fromhex(value[2:])
        except ValueError:
            pass
    return value


def _id_prefix(values: dict[str, object]) -> str | None:
    """ "1.2.156.3005.2.<type>.<creditCode>." when both are disclosed as text (they always are)."""
    type_code, credit = values.get("type"), values.get("issuer.creditCode")
    if type(type_code) is not str or type(credit) is not str:
        return None
    return f"{_ID_ROOT}{type_code}.{credit}."


def _compact_id(value: object, prefix: str | None) -> object:
    """A GB/T 36904 id repeats the type and issuer codes sent next to it: send only its tail."""
    if prefix is not None and type(value) is str and value.startswith(prefix):
        tail = value[len(prefix) :]
        if 0 < len(tail) <= _MAX_ID_TAIL and all(0x21 <= ord(c) <= 0x7E for c in tail):
            return tail.encode("ascii")
    return value


def _pack_flags(flags: Sequence[bool]) -> bytes:
    out = bytearray((len(flags) + 7) // 8)
    for i, flag in enumerate(flags):
        if type(flag) is not bool:
            raise ValueError("proof flags must be bools")
        if flag:
            out[i >> 3] |= 0x80 >> (i & 7)
    return bytes(out)


def _b45encode(data: bytes) -> str:
    out: list[str] = []
    a = _B45_ALPHABET
    for i in range(0, len(data) - 1, 2):
        x = (data[i] << 8) | data[i + 1]
        e, x = divmod(x, 2025)
        d, c = divmod(x, 45)
        out.append(a[c] + a[d] + a[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(a[c] + a[d])
    return "".join(out)


# --------------------------------------------------------------------------- decode


def decode(text: str) -> Presentation:
    """Parse an "HR2:" or "HR1:" text into a Presentation, refusing anything not exactly well-formed.

    Shape only: proofs and signatures are checked by the engine. Raises PresentationDecodeError
    (and nothing else) with a bilingual message.
    """
    if not isinstance(text, str):
        raise _fail("出示码必须是文本", f"a presentation code must be text, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise _fail(
            f"内容过长（{len(text)} 字符，上限 {MAX_TEXT_CHARS}）",
            f"too long: {len(text)} characters, limit {MAX_TEXT_CHARS}",
        )
    if text.startswith(PREFIX_HR2):
        from_item = _from_item_hr2
    elif text.startswith(PREFIX):
        from_item = _from_item
    else:
        head = text[:4]
        if _PREFIX_SHAPE.match(text[:6]):
            found = text[: text.index(":") + 1]
            raise _fail(f"未知版本前缀 {found!r}",
                        f"unknown version prefix {found!r}, expected {PREFIX_HR2!r} or {PREFIX!r}")
        raise _fail("不是互认出示码（缺少 HR2: 或 HR1: 前缀）", f"not a Huren presentation code: starts with {head!r}")
    body = _b45decode(text[len(PREFIX) :])
    raw = body if from_item is _from_item_hr2 else _inflate(body)
    item = _cbor_load(raw)
    presentation = from_item(item)
    # Canonical form: re-encoding what was read must give the very same bytes. This refuses
    # duplicate map keys, unsorted keys, over-long integer or float forms, indefinite
    # lengths and any tag, so each presentation content has one CBOR encoding.
    try:
        canonical = cbor2.dumps(item, canonical=True) == raw
    except Exception:  # e.g. a cyclic shared value that slipped through
        canonical = False
    if not canonical:
        raise _fail(
            "CBOR 编码不规范（重复或未排序的键、非最短编码、不定长或标签）",
            "non-canonical CBOR: duplicate or unsorted map keys, non-shortest form, indefinite length or a tag",
        )
    return presentation


def _b45decode(body: str) -> bytes:
    """Strict RFC 9285 decoding. The alphabet check, the character-to-value mapping and the
    group arithmetic run in C (regex, bytes.translate, big-integer arithmetic on all groups at
    once); a Python loop per group costs more than half of a whole verification."""
    if not body:
        raise _fail("前缀后没有内容", "nothing after the prefix")
    if not _B45_TEXT.fullmatch(body):
        position, char = next((i, c) for i, c in enumerate(body) if c not in _B45_VALUE)
        hint = "（出示码只含大写字母、数字和 $%*+-./: 空格）" if char.islower() else ""
        raise _fail(
            f"第 {position + len(PREFIX) + 1} 个字符 {char!r} 不属于 Base45 字符集{hint}",
            f"character {char!r} at position {position + len(PREFIX) + 1} is not Base45",
        )
    if len(body) % 3 == 1:
        raise _fail("Base45 长度错误（内容被截断？）", "bad Base45 length (truncated?)")
    values = body.encode("ascii").translate(_B45_TRANSLATE)
    whole = len(values) - len(values) % 3
    out = _b45_groups(values, whole)
    if whole != len(values):
        x = values[-2] + values[-1] * 45
        if x > 0xFF:
            raise _fail("Base45 数值越界", f"final Base45 pair {body[-2:]!r} exceeds 255")
        out += bytes((x,))
    return out


def _b45_groups(values: bytes, whole: int) -> bytes:
    """The 2-byte big-endian groups of values[:whole] (digit values 0..44, in threes: c, d, e).

    Each group's c + 45 d + 2025 e (at most 91,124) gets its own 32-bit slot of three big
    integers, one per digit position, so one big-integer sum computes every group without a
    carry crossing slots; the slots are then checked (<= 65535) and cut to 2 bytes each.
    """
    n = whole // 3
    slots = bytearray(4 * n)  # little-endian 32-bit slots
    slots[0::4] = values[0:whole:3]
    c = int.from_bytes(slots, "little")
    slots[0::4] = values[1:whole:3]
    d = int.from_bytes(slots, "little")
    slots[0::4] = values[2:whole:3]
    e = int.from_bytes(slots, "little")
    groups = (c + 45 * d + 2025 * e).to_bytes(4 * n, "little")
    zero = bytes(n)
    if groups[2::4] != zero or groups[3::4] != zero:
        first = next(i for i in range(n) if groups[4 * i + 2] or groups[4 * i + 3])
        raise _fail("Base45 数值越界", f"Base45 group exceeds 65535 near position {first * 3 + 5}")
    out = bytearray(2 * n)
    out[0::2] = groups[1::4]
    out[1::2] = groups[0::4]
    return bytes(out)


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        # One byte over the cap tells "too large" apart from "exactly at the cap". When the
        # output stays under max_length, zlib has consumed all input, so "not eof" = truncated.
        raw = inflater.decompress(data, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as exc:
        raise _fail("压缩数据损坏", f"damaged zlib data: {exc}") from None
    if len(raw) > MAX_DECOMPRESSED_BYTES:
        raise _fail(
            f"解压后超过 {MAX_DECOMPRESSED_BYTES} 字节",
            f"decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes",
        )
    if not inflater.eof:
        raise _fail("压缩数据不完整", "truncated zlib data")
    if inflater.unused_data:
        raise _fail("压缩数据后有多余字节", "trailing bytes after the zlib data")
    return raw


def _cbor_load(raw: bytes) -> object:
    stream = io.BytesIO(raw)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # cbor2 and its tag decoders raise many types; all mean "bad CBOR"
        cause = exc.__cause__ or exc.__context__
        if isinstance(exc, UnicodeDecodeError) or isinstance(cause, UnicodeDecodeError):
            raise _fail("文本不是有效的 UTF-8", "a text string is not valid UTF-8") from None
        raise _fail("CBOR 数据无效", f"invalid CBOR: {str(exc)[:120]}") from None
    if stream.tell() != len(raw):
        raise _fail("CBOR 数据后有多余字节", f"{len(raw) - stream.tell()} trailing bytes after the CBOR item")
    return item


def _is_uint(value: object) -> bool:
    return type(value) is int and value >= 0


def _bytes(value: object, length: int, zh: str, en: str) -> bytes:
    if type(value) is not bytes:
        raise _fail(f"{zh}必须是字节串", f"{en} must be a byte string, got {_kind(value)}")
    if len(value) != length:
        raise _fail(f"{zh}长度应为 {length} 字节，实为 {len(value)}", f"{en} must be {length} bytes, got {len(value)}")
    return value


def _hashes(value: object, limit: int, zh: str, en: str) -> list[bytes]:
    if type(value) is not bytes:
        raise _fail(f"{zh}必须是字节串", f"{en} must be a byte string, got {_kind(value)}")
    if len(value) % 32:
        raise _fail(f"{zh}长度不是 32 字节的整数倍", f"{en} length {len(value)} is not a multiple of 32")
    if len(value) // 32 > limit:
        raise _fail(f"{zh}过多（上限 {limit} 个）", f"{en}: {len(value) // 32} hashes, limit {limit}")
    return [value[i : i + 32] for i in range(0, len(value), 32)]


def _kind(value: object) -> str:
    names = {bool: "bool", int: "integer", str: "text", bytes: "bytes", list: "array", dict: "map"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _from_item(item: object) -> Presentation:
    if type(item) is not list:
        raise _fail("顶层结构必须是数组", f"the top-level item must be an array, got {_kind(item)}")
    if len(item) != _ARRAY_LENGTH:
        raise _fail(
            f"顶层数组应有 {_ARRAY_LENGTH} 项，实为 {len(item)}",
            f"the top-level array must have {_ARRAY_LENGTH} items, got {len(item)}",
        )
    (version, raw_fields, raw_salts, raw_proof, raw_flags, doc_root, batch_root, raw_batch_proof,
     issuer_sig, created_at, ttl, nonce, purpose, holder_sig) = item  # fmt: skip
    if version != PRESENTATION_VERSION or type(version) is not int:
        raise _fail(f"不支持的出示码版本 {version!r}", f"unsupported presentation version {version!r}")
    fields = _fields(raw_fields, raw_salts)
    proof = _hashes(raw_proof, MAX_MULTIPROOF_HASHES, "字段证明", "multiproof")
    flags = _flags(raw_flags, len(fields) + len(proof) - 1)
    doc_root = _bytes(doc_root, 32, "证照根哈希", "document root")
    batch_root = _bytes(batch_root, 32, "批次根哈希", "batch root")
    batch_proof = _hashes(raw_batch_proof, MAX_BATCH_PROOF_HASHES, "批次证明", "batch proof")
    issuer_sig = _bytes(issuer_sig, SIGNATURE_BYTES, "发证签名", "issuer signature")
    created_at, ttl, nonce, purpose = _envelope(created_at, ttl, nonce, purpose)
    if holder_sig is not None:
        holder_sig = _bytes(holder_sig, SIGNATURE_BYTES, "持证人签名", "holder signature")
    return Presentation(
        version=version,
        disclosure=Disclosure(fields=fields, proof=proof, flags=flags),
        document_root=doc_root,
        batch_root=batch_root,
        batch_proof=batch_proof,
        issuer_signature=issuer_sig,
        created_at=created_at,
        expires_at=created_at + ttl,
        nonce=nonce,
        purpose=purpose,
        holder_signature=holder_sig,
    )


def _envelope(created_at: object, ttl: object, nonce: object, purpose: object) -> tuple[int, int, bytes, str]:
    """制作时间, 有效时长, 随机数, 事由: the same rules in HR1 and HR2."""
    if not _is_uint(created_at) or created_at >= 2**63:  # type: ignore[operator]
        raise _fail("制作时间无效", f"created_at must be an unsigned integer, got {_kind(created_at)}")
    if not _is_uint(ttl) or not 1 <= ttl <= MAX_TTL_S:  # type: ignore[operator]
        raise _fail("有效时长无效", f"ttl must be an integer in [1, {MAX_TTL_S}], got {ttl!r:.40}")
    if type(nonce) is not bytes or not NONCE_MIN_BYTES <= len(nonce) <= NONCE_MAX_BYTES:
        raise _fail(
            f"随机数长度应为 {NONCE_MIN_BYTES}–{NONCE_MAX_BYTES} 字节",
            f"nonce must be {NONCE_MIN_BYTES}..{NONCE_MAX_BYTES} bytes, got {_kind(nonce)}"
            + (f" of {len(nonce)}" if type(nonce) is bytes else ""),
        )
    if type(purpose) is not str:
        raise _fail("事由必须是文本", f"purpose must be text, got {_kind(purpose)}")
    if len(purpose) > PURPOSE_MAX_CHARS:
        raise _fail(
            f"事由过长（{len(purpose)} 字，上限 {PURPOSE_MAX_CHARS}）",
            f"purpose has {len(purpose)} characters, limit {PURPOSE_MAX_CHARS}",
        )
    if unsafe_text(purpose):
        raise _fail("事由含控制字符", "purpose contains control characters")
    return created_at, ttl, nonce, purpose  # type: ignore[return-value]


#: Crypto suites a code may name (common/suites.py); a verifier's policy says which it accepts.
SUITE_INTERNATIONAL: Final[int] = 1
SUITE_GUOMI: Final[int] = 2


def _hr2_issuer_signature(p: Presentation) -> bytes:
    """Item 6: suite 1's 65-byte signature made compact; suite 2's key id || r || s as it is."""
    if p.suite == SUITE_GUOMI:
        if type(p.issuer_signature) is not bytes or len(p.issuer_signature) != SM2_ISSUER_SIGNATURE_BYTES:
            raise ValueError(f"a suite-2 issuer signature is {SM2_ISSUER_SIGNATURE_BYTES} bytes (key id || r || s)")
        return p.issuer_signature
    return compact_signature(p.issuer_signature)


def _from_item_hr2(item: object) -> Presentation:
    """HR2: as HR1, but the suite first, no document or batch root (both derived), 64-byte signatures,
    audience and stamp."""
    if type(item) is not list:
        raise _fail("顶层结构必须是数组", f"the top-level item must be an array, got {_kind(item)}")
    if len(item) != _ARRAY_LENGTH_HR2:
        raise _fail(
            f"顶层数组应有 {_ARRAY_LENGTH_HR2} 项，实为 {len(item)}",
            f"the top-level array must have {_ARRAY_LENGTH_HR2} items, got {len(item)}",
        )
    (suite, raw_fields, raw_salts, raw_proof, raw_flags, raw_batch_proof, issuer_sig,
     created_at, ttl, nonce, purpose, audience, stamp, holder_sig) = item  # fmt: skip
    if type(suite) is not int or suite not in (SUITE_INTERNATIONAL, SUITE_GUOMI):
        raise _fail(f"未知的密码套件 {suite!r:.20}（应为 1 国际算法或 2 国密）", f"unknown crypto suite {suite!r:.20}")
    h = digest_of(suite)
    fields = _fields(raw_fields, raw_salts, HR2_PATH_TABLE, _HR2_PATH_INDEX, short_allowed=True)
    proof = _hashes(raw_proof, MAX_MULTIPROOF_HASHES, "字段证明", "multiproof")
    flags = _flags(raw_flags, len(fields) + len(proof) - 1)
    doc_root, leaves = _derived_document_root(fields, proof, flags, h)
    batch_proof = _hashes(raw_batch_proof, MAX_BATCH_PROOF_HASHES, "批次证明", "batch proof")
    if suite == SUITE_GUOMI:
        issuer_sig = _bytes(issuer_sig, SM2_ISSUER_SIGNATURE_BYTES, "发证签名（国密）", "issuer signature (suite 2)")
    else:
        issuer_sig = expand_signature(_bytes(issuer_sig, COMPACT_SIGNATURE_BYTES, "发证签名", "issuer signature"))
    created_at, ttl, nonce, purpose = _envelope(created_at, ttl, nonce, purpose)
    if audience is not None and (type(audience) is not int or not 100000 <= audience <= 999999):
        raise _fail("指定使用地区代码无效", f"audience must be a six-digit region code or null, got {audience!r:.20}")
    if stamp is not None:
        stamp = _bytes(stamp, STAMP_BYTES, "加注签章", "stamp")
    if holder_sig is not None:
        holder_sig = expand_signature(_bytes(holder_sig, COMPACT_SIGNATURE_BYTES, "持证人签名", "holder signature"))
    return Presentation(
        version=PRESENTATION_VERSION,
        disclosure=Disclosure(fields=fields, proof=proof, flags=flags),
        document_root=doc_root,
        batch_root=process_proof(doc_root, batch_proof, h),
        batch_proof=batch_proof,
        issuer_signature=issuer_sig,
        created_at=created_at,
        expires_at=created_at + ttl,
        nonce=nonce,
        purpose=purpose,
        holder_signature=holder_sig,
        format=2,
        suite=suite,
        audience=audience,
        stamp=stamp,
        derived=(tuple(fields), doc_root, leaves),
    )


def _derived_document_root(
    fields: list[SaltedField], proof: list[bytes], flags: list[bool], h: Digest
) -> tuple[bytes, list[bytes]]:
    """HR2 sends no document root: it is where the disclosed fields' multiproof leads.

    A changed field then leads to another root, which neither the issuer's signature, the stamp
    nor a holder signature covers: the engine answers TAMPERED at whichever it checks first.
    """
    try:
        leaves = [field_leaf(f.salt, f.path, f.value, h) for f in fields]
    except (ValueError, TypeError):
        raise _fail("出示的字段无法计算摘要", "a disclosed field cannot be hashed (RFC 8785)") from None
    try:
        return process_multiproof(leaves, proof, flags, h), leaves
    except ValueError as exc:
        raise _fail("字段证明的结构与字段数不符", f"inconsistent multiproof: {exc}") from None


def _fields(raw: object, raw_salts: object, table: tuple[str, ...] = PATH_TABLE,
            index: dict[str, int] = _PATH_INDEX, short_allowed: bool = False) -> list[SaltedField]:
    if type(raw) is not list:
        raise _fail("字段列表必须是数组", f"fields must be an array, got {_kind(raw)}")
    if len(raw) % 2:
        raise _fail("字段列表必须是成对的 路径, 值", "fields must be a flat list of path, value pairs")
    count = len(raw) // 2
    if not 1 <= count <= MAX_FIELDS:
        raise _fail(
            f"字段数应为 1–{MAX_FIELDS}，实为 {count}",
            f"field count must be 1..{MAX_FIELDS}, got {count}",
        )
    if type(raw_salts) is not bytes:
        raise _fail("盐值必须是字节串", f"salts must be a byte string, got {_kind(raw_salts)}")
    paths: list[str] = []
    seen: set[str] = set()
    for n in range(count):
        path = _path(raw[2 * n], n + 1, table, index)
        if path in seen:
            raise _fail(f"字段 {path!r} 重复出现", f"duplicate field {path!r}")
        seen.add(path)
        paths.append(path)
    salts = _split_salts(raw_salts, paths, short_allowed)
    fields: list[SaltedField] = []
    for n, path in enumerate(paths):
        raw_value = raw[2 * n + 1]
        if path == "id":
            value = raw_value if type(raw_value) is bytes else _value(raw_value, 0, path, compact_address=False)
        else:
            value = _value(raw_value, 0, path)
        fields.append(SaltedField(path=path, value=value, salt=salts[n]))
    return _expand_id(fields)


def _split_salts(raw_salts: bytes, paths: list[str], short_allowed: bool) -> list[bytes]:
    """Each field's 16-byte salt. In HR2 the always-disclosed fields may send a tweak byte only
    (salt = tweak || 15 zero bytes); which form was sent follows from the length, and the long form
    is refused when the short one was possible (one encoding per presentation)."""
    count = len(paths)
    always = sum(1 for p in paths if p in ALWAYS_DISCLOSED)
    full = count * SALT_BYTES
    short = full - always * (SALT_BYTES - 1)
    if short_allowed and always and len(raw_salts) == short:
        out, at = [], 0
        for p in paths:
            if p in ALWAYS_DISCLOSED:
                out.append(raw_salts[at : at + 1] + _SHORT_SALT_TAIL)
                at += 1
            else:
                out.append(raw_salts[at : at + SALT_BYTES])
                at += SALT_BYTES
        return out
    if len(raw_salts) != full:
        expected = f"{full}" + (f" or {short}" if short_allowed and always else "")
        raise _fail(
            f"盐值长度应为 {expected} 字节，实为 {len(raw_salts)}",
            f"salts must be {expected} bytes for these {count} fields, got {len(raw_salts)}",
        )
    out = [raw_salts[n * SALT_BYTES : (n + 1) * SALT_BYTES] for n in range(count)]
    if short_allowed and always and all(
            s[1:] == _SHORT_SALT_TAIL for p, s in zip(paths, out, strict=True) if p in ALWAYS_DISCLOSED):
        raise _fail("盐值应以简短形式表示（非规范编码）",
                    "the always-disclosed fields' salts must travel in their short form (non-canonical)")
    return out


def _expand_id(fields: list[SaltedField]) -> list[SaltedField]:
    """Rebuild a compact certificate id (bytes tail) from the disclosed type and issuer codes."""
    index = next((i for i, f in enumerate(fields) if f.path == "id"), None)
    if index is None:
        return fields
    field = fields[index]
    prefix = _id_prefix({f.path: f.value for f in fields})
    if type(field.value) is not bytes:
        if _compact_id(field.value, prefix) is not field.value:
            raise _fail(
                "证照标识应以简写形式表示（非规范编码）",
                "field 'id' must travel in its compact form (non-canonical)",
            )
        return fields
    if prefix is None:
        raise _fail("证照标识简写缺少类型或颁发机构代码", "compact 'id' needs 'type' and 'issuer.creditCode' as text")
    tail = field.value
    if not 0 < len(tail) <= _MAX_ID_TAIL or not all(0x21 <= b <= 0x7E for b in tail):
        raise _fail("证照标识简写格式错误", "compact 'id' must be 1..64 printable ASCII bytes")
    fields[index] = SaltedField(path="id", value=prefix + tail.decode("ascii"), salt=field.salt)
    return fields


def _path(raw: object, n: int, table: tuple[str, ...], index: dict[str, int]) -> str:
    if type(raw) is int:
        if not 0 <= raw < len(table):
            name = "HR2" if table is HR2_PATH_TABLE else "HR1"
            raise _fail(
                f"第 {n} 个字段的路径编号 {raw} 未定义",
                f"field {n}: path index {raw} is not in the {name} table",
            )
        return table[raw]
    if type(raw) is not str:
        raise _fail(f"第 {n} 个字段的路径无效", f"field {n}: path must be a table index or text, got {_kind(raw)}")
    if raw in index:
        raise _fail(
            f"字段路径 {raw!r} 应使用编号表示（非规范编码）",
            f"field path {raw!r} must be sent as its table index (non-canonical)",
        )
    if not 0 < len(raw) <= MAX_PATH_CHARS or any(not part for part in raw.split(".")) or unsafe_text(raw):
        raise _fail(f"第 {n} 个字段的路径格式错误", f"field {n}: malformed path {raw!r:.60}")
    return raw


def _value(raw: object, depth: int, path: str, *, compact_address: bool = True) -> object:
    """A JSON value as RFC 8785 can hash it, bounded in size; 20-byte strings are addresses."""
    kind = type(raw)
    if raw is None or kind is bool:
        return raw
    if kind is str:
        if len(raw) > MAX_VALUE_TEXT_CHARS:  # type: ignore[arg-type]
            raise _fail(f"字段 {path!r} 的文本过长", f"field {path!r}: text longer than {MAX_VALUE_TEXT_CHARS}")
        if depth == 0 and compact_address and _encode_value(raw) is not raw:
            raise _fail(
                f"字段 {path!r} 的地址应以 20 字节表示（非规范编码）",
                f"field {path!r}: a checksummed address must travel as 20 bytes (non-canonical)",
            )
        return raw
    if kind is int:
        if not -_MAX_SAFE_INTEGER <= raw <= _MAX_SAFE_INTEGER:  # type: ignore[operator]
            raise _fail(f"字段 {path!r} 的整数超出范围", f"field {path!r}: integer outside +-(2**53 - 1)")
        return raw
    if kind is float:
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise _fail(f"字段 {path!r} 的数值无效", f"field {path!r}: NaN or infinity is not JSON")
        return raw
    if kind is bytes:
        if depth == 0 and len(raw) == 20:  # type: ignore[arg-type]
            return to_checksum_address(raw)  # type: ignore[arg-type]
        raise _fail(f"字段 {path!r} 含有无法识别的字节串", f"field {path!r}: unexpected byte string value")
    if kind is list or kind is dict:
        if depth >= MAX_VALUE_DEPTH:
            raise _fail(f"字段 {path!r} 嵌套过深", f"field {path!r}: nested deeper than {MAX_VALUE_DEPTH}")
        if len(raw) > MAX_VALUE_ITEMS:  # type: ignore[arg-type]
            raise _fail(f"字段 {path!r} 元素过多", f"field {path!r}: more than {MAX_VALUE_ITEMS} items")
        if kind is list:
            return [_value(x, depth + 1, path) for x in raw]  # type: ignore[attr-defined]
        out: dict[str, object] = {}
        for key, item in raw.items():  # type: ignore[attr-defined]
            if type(key) is not str or len(key) > MAX_PATH_CHARS:
                raise _fail(f"字段 {path!r} 的对象键无效", f"field {path!r}: object keys must be short text")
            out[key] = _value(item, depth + 1, path)
        return out
    raise _fail(f"字段 {path!r} 的值类型不受支持", f"field {path!r}: {_kind(raw)} is not a JSON value")


def _flags(raw: object, count: int) -> list[bool]:
    if type(raw) is not bytes:
        raise _fail("证明标志必须是字节串", f"proof flags must be a byte string, got {_kind(raw)}")
    if count < 0:
        raise _fail("字段证明为空", "empty multiproof")
    if len(raw) != (count + 7) // 8:
        raise _fail(
            "证明标志长度与字段数不符",
            f"proof flags must be {(count + 7) // 8} bytes for {count} flags, got {len(raw)}",
        )
    flags = [bool(raw[i >> 3] & (0x80 >> (i & 7))) for i in range(count)]
    if count % 8 and raw[-1] & (0xFF >> (count % 8)):
        raise _fail("证明标志的填充位不为零", "proof flags: padding bits must be zero")
    return flags


# --------------------------------------------------------------------------- reference form

#: 128 random bits: unguessable, so the token itself is the capability to fetch the presentation.
REFERENCE_TOKEN_BYTES: Final[int] = 16
_TOKEN_SHAPE: Final[re.Pattern[str]] = re.compile(r"[A-Za-z0-9_-]{22}")
_MAX_REFERENCE_CHARS: Final[int] = 512


def new_reference_token() -> str:
    """A fresh 128-bit URL-safe token (22 Base64url characters, no padding)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(REFERENCE_TOKEN_BYTES)).rstrip(b"=").decode()


def _check_token(token: object) -> str:
    if type(token) is not str or not _TOKEN_SHAPE.fullmatch(token):
        raise _fail("引用码令牌格式错误", "reference token must be 22 Base64url characters")
    # 22 characters carry 132 bits; the 4 spare bits must be zero, so each token has one spelling.
    decoded = base64.urlsafe_b64decode(token + "==")
    if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() != token:
        raise _fail("引用码令牌格式错误（非规范编码）", "reference token is not canonical Base64url")
    return token


def _split_url(url: str) -> tuple[str, str, str]:
    """(scheme, lower-case host[:port], path) of a plain http(s) URL; ValueError otherwise."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or "?" in url
        or "#" in url
        or any(c.isspace() or ord(c) < 0x20 or ord(c) > 0x7E for c in url)
    ):
        raise ValueError(f"expected http(s)://host[:port][/path] without query or fragment: {url!r}")
    return parts.scheme, parts.netloc.lower(), parts.path


def make_reference(base_url: str, token: str) -> str:
    """The short reference URL ``<base_url>/r/<token>`` (a small QR code for low-end scanners).

    Deployments should use https. ValueError for a malformed base URL or token.
    """
    scheme, netloc, path = _split_url(base_url)
    path = path.rstrip("/")
    try:
        _check_token(token)
    except PresentationDecodeError as exc:
        raise ValueError(exc.en) from None
    return f"{scheme}://{netloc}{path}/r/{token}"


def parse_reference(text: str, base_url: str | None = None) -> str:
    """The token of a reference URL. With `base_url`, the URL must point at that deployment.

    Passing `base_url` keeps a verifier from being made to fetch from a foreign host.
    Raises PresentationDecodeError for anything that is not exactly such a URL.
    """
    if not isinstance(text, str) or len(text) > _MAX_REFERENCE_CHARS:
        raise _fail("引用码格式错误", "a reference must be a URL of at most 512 characters")
    try:
        scheme, netloc, path = _split_url(text)
    except ValueError:
        raise _fail("引用码不是有效的网址", "a reference must be an http(s) URL without query or fragment") from None
    prefix, sep, token = path.rpartition("/r/")
    if not sep or "/" in token:
        raise _fail("引用码网址缺少 /r/<令牌>", "a reference URL must end in /r/<token>")
    _check_token(token)
    if base_url is not None:
        want_scheme, want_netloc, want_path = _split_url(base_url)
        if (scheme, netloc, prefix) != (want_scheme, want_netloc, want_path.rstrip("/")):
            raise _fail("引用码不属于本系统", f"reference points at {scheme}://{netloc}{prefix}, not at {base_url}")
    return token


#: The region reference form: "HRR1:" + 6-digit region code + ":" + token (33 characters).
REGION_REFERENCE_PREFIX: Final[str] = "HRR1:"
_REGION_REFERENCE: Final[re.Pattern[str]] = re.compile(r"HRR1:([1-9][0-9]{5}):([A-Za-z0-9_-]{22})")


def make_region_reference(region: int, token: str) -> str:
    """``HRR1:<region>:<token>``: the token held by `region`'s node. ValueError for a bad region or token."""
    if type(region) is not int or not 100000 <= region <= 999999:
        raise ValueError(f"a region code has 6 digits, not {region!r}")
    try:
        _check_token(token)
    except PresentationDecodeError as exc:
        raise ValueError(exc.en) from None
    return f"{REGION_REFERENCE_PREFIX}{region}:{token}"


def parse_region_reference(text: str) -> tuple[int, str]:
    """(region, token) of a ``HRR1:`` reference; PresentationDecodeError for anything else."""
    if not isinstance(text, str) or len(text) > _MAX_REFERENCE_CHARS:
        raise _fail("引用码格式错误", "a reference must be at most 512 characters")
    match = _REGION_REFERENCE.fullmatch(text)
    if match is None:
        raise _fail("引用码格式错误，应为 HRR1:<地区代码>:<令牌>", "a region reference is HRR1:<region>:<token>")
    return int(match.group(1)), _check_token(match.group(2))
