"""Salting, hashing and signing a validated certificate: what makes it verifiable.

    validated Certificate -> document JSON -> one fresh 128-bit salt per field (as
    common.document.salt_fields) -> field leaves -> document root -> EIP-712 signature of
    the department's key over the root (domain: chain id + AnchorLedger address)

The format is entirely `common.document` / `common.eip712` (shared with the verifier); this
module only binds it to one department's key, and does the same computation faster, because
issuance does it for every field of every certificate (the benchmark's hot path):

* one `os.urandom` call per certificate, cut into 16-byte salts, instead of one per field;
* field leaves for the common scalar values (str, int within +-(2**53-1), bool, null) are
  hashed over a JCS encoding built by the C `json` string encoder, whose escaping (quote,
  backslash, the short forms for backspace, form feed, newline, return and tab, every other
  control character as a lower-case six-character unicode escape, everything else as UTF-8)
  is exactly RFC 8785's for strings; anything else, and any string the encoder cannot
  carry (lone surrogates), goes through `common.canonical.canonicalize` as before. A property
  test checks `field_leaf` here against `common.document.field_leaf` on arbitrary values;
* the key is parsed once into a coincurve `PrivateKey` (parsing per signature costs three
  times the signature itself). Signatures are byte-identical to
  `common.eip712.sign_document_root` (RFC 6979, low s).

Salts chosen for short codes (issue 15, item 4). The document tree is an OpenZeppelin
StandardMerkleTree, whose leaves are sorted by their hash; with random salts, the fields a code
shows land anywhere, and the multiproof needs up to one hash per hidden neighbour (16 of 35
fields' worth for a 出生医学证明). So each salt is drawn until the first bit of its leaf's tree
hash says where the field belongs: 0 for the fields every code shows plus the type's default
disclosure preset, 1 for the rest. The preset then sorts to one end of the tree and its
multiproof shrinks to a few hashes (measured: `python -m bench.presets`). Verifiers are unaffected
(a multiproof describes its own shape); a salt keeps 127 random bits, and the one fixed bit
says only whether a field is in the type's preset, which the public catalogue says anyway.
Expected cost: two draws per field.

Short salts for the fields every code shows (`ALWAYS_DISCLOSED`: version, id, type, issuer code
and region, validity dates). A salt protects a hidden value from being guessed; these are never
hidden, so theirs is one tweak byte followed by 15 zero bytes, the tweak chosen as above. The
leaf is computed exactly as for any field (a 16-byte salt), so nothing about the tree changes,
and format HR2 sends only the tweak byte (verifier/codec.py): 105 bytes less in every code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Final

from coincurve import PrivateKey

from common.canonical import MAX_SAFE_INTEGER, canonicalize
from common.document import ALWAYS_DISCLOSED, SALT_BYTES, SaltedField, flatten
from common.eip712 import Domain, document_digest, to_checksum_address
from common.gm import sm2_public_key, sm2_sign
from common.merkle import StandardMerkleTree
from common.suites import Digest, Suite, digest_of, keccak256, sm2_document_message, sm2_key_id
from issuers.errors import IssuerMismatch
from issuers.model import Certificate

__all__ = ["SealedCertificate", "Sealer", "field_leaf", "jcs"]

_TRUE: Final[bytes] = b"true"
_FALSE: Final[bytes] = b"false"
_NULL: Final[bytes] = b"null"


def jcs(value: object) -> bytes:
    """RFC 8785 bytes of a JSON value: fast for scalars, `common.canonical` for everything else."""
    kind = type(value)
    if kind is str:
        try:
            return encode_basestring(value).encode("utf-8")  # type: ignore[no-any-return]
        except UnicodeEncodeError:
            return canonicalize(value)  # refuses lone surrogates with its own message
    if kind is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:  # type: ignore[operator]
        return str(value).encode("ascii")
    if value is None:
        return _NULL
    if kind is bool:
        return _TRUE if value else _FALSE
    return canonicalize(value)


def field_leaf(salt: bytes, path: str, value: object, h: Digest = keccak256) -> bytes:
    """Same as `common.document.field_leaf` for the (checked) salts and paths issuance produces."""
    return h(salt + path.encode("utf-8") + b"\x00" + jcs(value))


@dataclass(frozen=True, slots=True)
class SealedCertificate:
    """A certificate with its salted fields, document root and issuer signature: suite 1 r || s || v
    (65 bytes), suite 2 the SM2 key's registry id || r || s (84 bytes)."""

    certificate: Certificate
    fields: tuple[SaltedField, ...]
    document_root: bytes
    signature: bytes


class Sealer:
    """Seals certificates for one signing key in one deployment's domain, in one crypto suite.

    Suite 1: a secp256k1 key, EIP-712 signatures. Suite 2 (国密): an SM2 key, SM3 trees, SM2
    signatures over `common.suites.sm2_document_message`, prefixed with the key's registry id.
    """

    __slots__ = ("_h", "_key", "_sm2_key", "_sm2_prefix", "address", "domain", "suite")

    def __init__(self, private_key: bytes, domain: Domain, suite: int = Suite.INTERNATIONAL) -> None:
        if type(private_key) is not bytes or len(private_key) != 32:
            raise ValueError("a signing key must be 32 bytes")
        self.domain = domain
        self.suite = Suite(suite)
        self._h = digest_of(self.suite)
        if self.suite == Suite.GUOMI:
            self._key = None
            self._sm2_key = private_key
            self._sm2_prefix = sm2_key_id(sm2_public_key(private_key))
            key_address = self._sm2_prefix
        else:
            self._key = PrivateKey(private_key)
            self._sm2_key = self._sm2_prefix = b""
            key_address = keccak256(self._key.public_key.format(compressed=False)[1:])[12:]
        #: EIP-55 address (suite 2: the SM2 key's registry id): must equal issuer.signingAddress.
        self.address: str = to_checksum_address(key_address)

    def __repr__(self) -> str:  # never show the key
        return f"Sealer({self.address}, suite {int(self.suite)}, chain {self.domain.chain_id})"

    def sign(self, root: bytes) -> bytes:
        """The issuer signature over a document root: 65-byte EIP-712 (suite 1) or 84-byte SM2 (suite 2)."""
        if self._key is None:
            return self._sm2_prefix + sm2_sign(self._sm2_key, sm2_document_message(self.domain.separator, root))
        signature = self._key.sign_recoverable(document_digest(self.domain, root), hasher=None)
        return signature[:64] + bytes((signature[64] + 27,))

    def seal(self, certificate: Certificate) -> SealedCertificate:
        """Salt every field, compute the document root and sign it.

        Raises IssuerMismatch if the certificate names another signing key: a verifier would
        find the signature did not match the document and reject it.
        """
        if certificate.issuer.signing_address != self.address:
            raise IssuerMismatch(
                f"证照中的颁发机构签名地址与本部门签名密钥（{self.address}）不一致",
                f"issuer.signingAddress is not this service's key {self.address}",
            )
        h = self._h
        flat = flatten(certificate.to_document())
        front = _preset_paths(certificate.certificate_type.default_disclosure)
        # Two draws per field are expected; one urandom call covers three per field, more if needed.
        randomness = os.urandom(3 * SALT_BYTES * len(flat))
        used = 0
        fields = []
        leaves = []
        for path, value in flat.items():
            wanted = 0 if path in front else 0x80
            suffix = path.encode("utf-8") + b"\x00" + jcs(value)  # field_leaf = h(salt || suffix)
            if path in ALWAYS_DISCLOSED:  # shown by every code: a tweak byte and 15 zero bytes suffice
                for tweak in range(256):
                    salt = bytes((tweak,)) + _SHORT_SALT_TAIL
                    leaf = h(salt + suffix)
                    if h(h(leaf))[0] & 0x80 == wanted:
                        break
                else:  # 2^-256: no tweak sorts it; a full random salt keeps the certificate valid
                    salt = os.urandom(SALT_BYTES)
                    leaf = h(salt + suffix)
                fields.append(SaltedField(path, value, salt))
                leaves.append(leaf)
                continue
            while True:  # see "Salts chosen for short codes" above
                if used == len(randomness):
                    randomness, used = os.urandom(3 * SALT_BYTES * len(flat)), 0
                salt = randomness[used : used + SALT_BYTES]
                used += SALT_BYTES
                leaf = h(salt + suffix)
                if h(h(leaf))[0] & 0x80 == wanted:
                    break
            fields.append(SaltedField(path, value, salt))
            leaves.append(leaf)
        root = StandardMerkleTree.of(leaves, h).root
        return SealedCertificate(certificate, tuple(fields), root, self.sign(root))


_SHORT_SALT_TAIL: Final[bytes] = bytes(SALT_BYTES - 1)


@lru_cache(maxsize=256)
def _preset_paths(default_disclosure: tuple[str, ...]) -> frozenset[str]:
    """The fields a type's default code shows: those every code shows, then the type's preset."""
    return frozenset(ALWAYS_DISCLOSED) | frozenset(default_disclosure)
