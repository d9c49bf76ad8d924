"""Certificate documents as salted field leaves, a document root, and selective disclosure.

A certificate document is a nested JSON object. It is flattened into fields (dot-joined path
-> JSON value); each field gets its own random 128-bit salt, and its leaf is

    keccak256(salt || utf8(path) || 0x00 || JCS(value))

The document root is the OpenZeppelin-standard Merkle root over these leaves. Why:

* Salting each field separately (trust model rule 1) stops anyone holding the root, or a
  presentation that hides a field, from guessing low-entropy hidden values (birth dates, ID
  numbers) by hashing candidates.
* One leaf per field lets a holder disclose any subset: the disclosed (path, value, salt)
  triples plus one OZ multiproof for the hidden rest (`disclose` / `verify_disclosure`).
* The 0x00 separator keeps path/value boundaries unambiguous (path "a1" + value 2 versus path
  "a" + value 12): a JCS value never contains a raw 0x00 byte, and paths may not either.

Issuers (issuers/) build documents and disclosures; the verifier (verifier/) checks them. Both
use only this module, so they cannot drift apart.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from sha3 import keccak_256

from common.canonical import canonicalize
from common.merkle import StandardMerkleTree, verify_multiproof
from common.suites import Digest, keccak256

__all__ = [
    "ALWAYS_DISCLOSED",
    "PATH_SEPARATOR",
    "SALT_BYTES",
    "Disclosure",
    "SaltedField",
    "UnknownFieldError",
    "disclose",
    "document_root",
    "document_tree",
    "field_leaf",
    "flatten",
    "issuer_id",
    "new_salt",
    "salt_fields",
    "type_code_bytes32",
    "type_code_from_bytes32",
    "unflatten",
    "verify_disclosure",
]

#: Salt length in bytes: 128 bits, the floor set by the trust model.
SALT_BYTES: Final[int] = 16

#: Joins object keys into field paths. Keys containing it are refused (the split would be ambiguous).
PATH_SEPARATOR: Final[str] = "."

#: Non-personal fields a verifier needs in every presentation: what the certificate is, who
#: issued it, and when it is valid. Everything else (holder, claims) is the holder's choice.
ALWAYS_DISCLOSED: tuple[str, ...] = (
    "version",
    "id",
    "type",
    "issuer.creditCode",
    "issuer.region",
    "validFrom",
    "validUntil",
)


class UnknownFieldError(KeyError):
    """A path asked for disclosure is not a field of the document."""

    def __str__(self) -> str:  # KeyError would repr() the message, quotes and all
        return str(self.args[0]) if self.args else "unknown field"


# --------------------------------------------------------------------------- paths


def flatten(doc: Mapping[str, object]) -> dict[str, object]:
    """Flatten a nested document into {dot.joined.path: value}.

    Objects recurse; everything else (lists, strings, numbers, bools, null) is a leaf value, and
    so is an empty object (it would otherwise vanish and not survive `unflatten`). Keys must be
    non-empty str without "." so that `unflatten` can undo this exactly; ValueError otherwise.
    """
    out: dict[str, object] = {}
    _flatten_into(doc, "", out)
    return out


def _flatten_into(obj: Mapping[str, object], prefix: str, out: dict[str, object]) -> None:
    for key, value in obj.items():
        if not isinstance(key, str) or not key or PATH_SEPARATOR in key or "\x00" in key:
            raise ValueError(
                f"document key {key!r} under {prefix or '<root>'!r} must be a non-empty str "
                f"without {PATH_SEPARATOR!r} or NUL"
            )
        path = prefix + key
        if isinstance(value, Mapping) and value:
            _flatten_into(value, path + PATH_SEPARATOR, out)
        else:
            out[path] = value


def unflatten(fields: Mapping[str, object]) -> dict[str, object]:
    """Rebuild the nested document from {dot.joined.path: value} (inverse of `flatten`).

    Raises ValueError for malformed paths ("", "a..b") and for conflicting ones ("a" and
    "a.b": "a" cannot be both a value and an object). Values are inserted as they are.
    """
    root: dict[str, object] = {}
    created: set[int] = {id(root)}  # containers built here; any other dict is a leaf value
    for path, value in fields.items():
        parts = _split_path(path)
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if child is None and part not in node:
                child = {}
                node[part] = child
                created.add(id(child))
            elif id(child) not in created:
                raise ValueError(f"field path {path!r} conflicts with the value field {part!r} above it")
            node = child  # type: ignore[assignment]
        last = parts[-1]
        if last in node:
            raise ValueError(f"field path {path!r} conflicts with another field below it")
        node[last] = value
    return root


def _split_path(path: object) -> list[str]:
    if not isinstance(path, str) or not path or "\x00" in path:
        raise ValueError(f"field path {path!r} must be a non-empty str without NUL")
    parts = path.split(PATH_SEPARATOR)
    if not all(parts):
        raise ValueError(f"field path {path!r} has an empty segment")
    return parts


# --------------------------------------------------------------------------- leaves


def new_salt() -> bytes:
    """A fresh random salt of SALT_BYTES bytes from the OS CSPRNG."""
    return secrets.token_bytes(SALT_BYTES)


def field_leaf(salt: bytes, path: str, value: object, h: Digest = keccak256) -> bytes:
    """keccak256(salt || utf8(path) || 0x00 || JCS(value)): the Merkle value of one field (SM3 as
    `h` in crypto suite 2).

    Raises ValueError if the salt is not exactly SALT_BYTES bytes or the path is empty or holds
    NUL, and CanonicalisationError (a ValueError) if the value is not canonical JSON.
    """
    if type(salt) is not bytes or len(salt) != SALT_BYTES:
        raise ValueError(f"a field salt must be exactly {SALT_BYTES} bytes, got {salt!r:.60}")
    if type(path) is not str or not path or "\x00" in path:
        raise ValueError(f"a field path must be a non-empty str without NUL, got {path!r:.80}")
    return h(salt + path.encode("utf-8") + b"\x00" + canonicalize(value))


@dataclass(frozen=True)
class SaltedField:
    """One disclosed or disclosable field: its path, JSON value and salt.

    Construction does not validate (the verifier builds these from untrusted presentations and
    wants a False from `verify_disclosure`, not an exception); `leaf` does.
    """

    path: str
    value: object
    salt: bytes

    @property
    def leaf(self) -> bytes:
        """The field's Merkle value, `field_leaf(salt, path, value)`."""
        return field_leaf(self.salt, self.path, self.value)


def salt_fields(doc: Mapping[str, object]) -> list[SaltedField]:
    """Flatten a document and give every field a fresh salt (what an issuer does once per certificate)."""
    return [SaltedField(path=path, value=value, salt=new_salt()) for path, value in flatten(doc).items()]


def _field_leaves(fields: Sequence[SaltedField], h: Digest = keccak256) -> list[bytes]:
    seen: set[str] = set()
    for field in fields:
        if field.path in seen:
            raise ValueError(f"duplicate field path {field.path!r}")
        seen.add(field.path)
    if not fields:
        raise ValueError("a document needs at least one field")
    return [field_leaf(f.salt, f.path, f.value, h) for f in fields]


def document_tree(fields: Sequence[SaltedField], h: Digest = keccak256) -> StandardMerkleTree:
    """The OZ-standard Merkle tree over the field leaves. Paths must be unique; ValueError otherwise."""
    return StandardMerkleTree.of(_field_leaves(fields, h), h)


def document_root(fields: Sequence[SaltedField], h: Digest = keccak256) -> bytes:
    """The document root: what the issuer signs (EIP-712 or SM2) and puts into a batch tree."""
    return document_tree(fields, h).root


# --------------------------------------------------------------------------- disclosure


@dataclass(frozen=True)
class Disclosure:
    """Disclosed fields plus the OZ multiproof binding them to a document root.

    `fields` are in multiproof order (the order the proof consumes their leaves).
    """

    fields: list[SaltedField]
    proof: list[bytes]
    flags: list[bool]


def disclose(fields: Sequence[SaltedField], paths: Iterable[str], h: Digest = keccak256) -> Disclosure:
    """Reveal the fields at `paths` (duplicates ignored) and prove them against the document root.

    Raises UnknownFieldError for a path that is not a field, and ValueError if no path is
    given: a disclosure of nothing proves nothing and `verify_disclosure` refuses it.
    """
    leaves = _field_leaves(fields, h)
    tree = StandardMerkleTree.of(leaves, h)
    index_by_path = {field.path: i for i, field in enumerate(fields)}
    wanted: list[int] = []
    for path in dict.fromkeys(paths):
        index = index_by_path.get(path)
        if index is None:
            raise UnknownFieldError(f"no field {path!r} in this document")
        wanted.append(index)
    if not wanted:
        raise ValueError("a disclosure must reveal at least one field")
    multiproof = tree.multiproof(wanted)
    # Distinct paths give distinct leaves (barring a keccak collision), so this map is exact.
    field_by_leaf = {leaves[i]: fields[i] for i in wanted}
    ordered = [field_by_leaf[leaf] for leaf in multiproof.leaves]
    return Disclosure(fields=ordered, proof=multiproof.proof, flags=multiproof.flags)


def verify_disclosure(root: bytes, disclosure: Disclosure, h: Digest = keccak256) -> bool:
    """True iff every disclosed (path, value, salt) is a field of the document with `root`.

    Recomputes each field leaf and checks the multiproof. Returns False, never raises, on any
    malformed data (bad salt, non-JSON value, duplicate paths, wrong proof shape), and on an
    empty disclosure. It does not check *which* fields are present (e.g. ALWAYS_DISCLOSED):
    that is policy, the verifier's job.
    """
    try:
        disclosed = list(disclosure.fields)
        if not disclosed:
            return False
        paths = {field.path for field in disclosed}
        if len(paths) != len(disclosed):
            return False
        leaves = [field_leaf(field.salt, field.path, field.value, h) for field in disclosed]
        return verify_multiproof(root, leaves, disclosure.proof, disclosure.flags, h)
    except (TypeError, ValueError, AttributeError, RecursionError):
        return False


# --------------------------------------------------------------------------- identifiers


def issuer_id(credit_code: str) -> bytes:
    """On-chain issuer id: keccak256 of the 统一社会信用代码's ASCII bytes, as the contracts compute it.

    The code is hashed exactly as given (callers validate and upper-case it first); ValueError
    for an empty or non-ASCII code.
    """
    if type(credit_code) is not str or not credit_code:
        raise ValueError(f"a credit code must be a non-empty str, got {credit_code!r}")
    try:
        data = credit_code.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ValueError(f"a credit code must be ASCII, got {credit_code!r}") from exc
    return keccak_256(data).digest()


def type_code_bytes32(code: str) -> bytes:
    """A certificate type code as the contracts store it: ASCII, left-aligned, zero-padded to 32 bytes.

    ValueError for an empty code, a non-ASCII one, one holding NUL (it would not round-trip),
    or one longer than 32 bytes.
    """
    if type(code) is not str or not code:
        raise ValueError(f"a type code must be a non-empty str, got {code!r}")
    try:
        data = code.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ValueError(f"a type code must be ASCII, got {code!r}") from exc
    if b"\x00" in data:
        raise ValueError(f"a type code must not contain NUL, got {code!r}")
    if len(data) > 32:
        raise ValueError(f"a type code must fit in 32 bytes, got {len(data)}: {code!r}")
    return data.ljust(32, b"\x00")


def type_code_from_bytes32(b: bytes) -> str:
    """Inverse of `type_code_bytes32`; ValueError unless `b` is a well-formed padded code."""
    if type(b) is not bytes or len(b) != 32:
        raise ValueError(f"a type code must be 32 bytes, got {b!r}")
    data = b.rstrip(b"\x00")
    if not data or b"\x00" in data:
        raise ValueError(f"not a zero-padded type code: 0x{b.hex()}")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"a type code must be ASCII: 0x{b.hex()}") from exc
