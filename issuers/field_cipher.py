"""Encryption at rest of sensitive certificate fields, and keyed fingerprints of inputs.

What is encrypted, and why the salt goes with the value: the store keeps every field's
(path, value, salt) because the department hands the salted document to the holder and
builds proofs from it. For a sensitive field (catalogue `x-sensitive`, and a person's ID
number) the *salt* is as secret as the value: whoever holds a field's salt, the other
fields and the document root (public in presentations) can recover a low-entropy hidden
value by hashing candidates — exactly what salting is meant to prevent. So a sensitive
field's value *and* salt are sealed together.

The master key (32 bytes, from `$HUREN_FIELD_KEY` or the file named by
`$HUREN_FIELD_KEY_FILE`, hex or base64) never touches the database; from it are derived a
sealing key and an HMAC key for input fingerprints, and a short key id is stored beside each
ciphertext so that a wrong key is reported as such, not as corrupt data. The associated data
binds a ciphertext to its certificate id: swapping sealed blobs between rows fails to decrypt.
Nothing here logs or reprs key material.

Two algorithms, named by the key text (issue 17):
* ``aes-256-gcm`` (suite 1; the key text is bare hex/base64, or prefixed ``aes-256-gcm:``):
  AES-256-GCM under an HKDF-SHA256 key, fingerprints HMAC-SHA256. Blob: nonce(12) || ct || tag —
  the layout every stored row has had, unchanged.
* ``sm4-gcm`` (suite 2, 国密; key text ``sm4-gcm:<hex or base64>``): SM4-GCM (common.gm) under
  a key derived with HMAC-SM3, fingerprints HMAC-SM3. Blob: ``SM4_MAGIC`` (8 bytes, saying the
  algorithm and its version) || nonce(12) || ct || tag, the magic also in the associated data.
A cipher opens both kinds of blob (from the same master key), whichever it seals with, so a store
that moves from AES to SM4 by prefixing its key text keeps reading its old rows. An AES blob is
told by the absence of the magic; since its first bytes are a random nonce, 1 in 2**64 starts like
the magic, and a blob that fails to open as SM4 is therefore tried as AES before it is refused.
The key id depends on the master key only (not on the algorithm), so those old rows keep their
id. Fingerprints follow the configured algorithm: a re-submitted input accepted *before* the
switch no longer matches its stored fingerprint (the store reports a conflict, not a duplicate).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common.gm import GMError, sm3, sm4_gcm_decrypt, sm4_gcm_encrypt
from issuers.errors import FieldKeyError

__all__ = ["AES_256_GCM", "ALGORITHMS", "KEY_BYTES", "KEY_ENV", "SM4_GCM", "SM4_MAGIC", "FieldCipher",
           "key_text_from_env", "new_field_key", "parse_field_key", "parse_field_key_text"]

KEY_BYTES: Final[int] = 32
KEY_ENV: Final[str] = "HUREN_FIELD_KEY"
_NONCE_BYTES: Final[int] = 12
AES_256_GCM: Final[str] = "aes-256-gcm"
SM4_GCM: Final[str] = "sm4-gcm"
ALGORITHMS: Final[tuple[str, ...]] = (AES_256_GCM, SM4_GCM)
#: The prefix of an SM4-GCM blob: the algorithm's name and a version byte.
SM4_MAGIC: Final[bytes] = b"sm4-gcm\x01"
#: The sealing algorithm of each crypto suite (common.suites).
_SUITE_ALGORITHMS: Final[dict[int, str]] = {1: AES_256_GCM, 2: SM4_GCM}


def new_field_key(suite: int = 1) -> str:
    """A fresh random master key as key text (what `huren issuer field-key` writes to a file):
    bare hex for suite 1 (AES-256-GCM, as before), ``sm4-gcm:<hex>`` for suite 2 (国密)."""
    try:
        algorithm = _SUITE_ALGORITHMS[suite]
    except KeyError:
        raise ValueError(f"unknown crypto suite {suite!r:.20}") from None
    key = secrets.token_hex(KEY_BYTES)
    return key if algorithm == AES_256_GCM else f"{algorithm}:{key}"


def parse_field_key_text(text: str) -> tuple[str, bytes]:
    """(algorithm, master key) of a key text: ``[aes-256-gcm:|sm4-gcm:]`` then hex or base64 of 32 bytes."""
    text = text.strip()
    algorithm, sep, rest = text.partition(":")
    if not sep:
        return AES_256_GCM, parse_field_key(text)
    if algorithm.lower() not in ALGORITHMS:
        raise FieldKeyError(
            f"字段加密密钥的算法“{algorithm[:20]}”不受支持：应为 aes-256-gcm 或 sm4-gcm（如 sm4-gcm:十六进制密钥）",
            f"unknown field-key algorithm {algorithm[:20]!r}; use aes-256-gcm: or sm4-gcm:",
        )
    return algorithm.lower(), parse_field_key(rest)


def parse_field_key(text: str) -> bytes:
    """Decode a master key written as 64 hex digits or as base64 of 32 bytes (no algorithm prefix)."""
    text = text.strip()
    raw: bytes | None = None
    if len(text) == 2 * KEY_BYTES:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != KEY_BYTES:
        raise FieldKeyError(
            f"字段加密密钥格式不正确：应为{KEY_BYTES}字节的十六进制（64位）或Base64编码",
            f"the field key must be {KEY_BYTES} bytes, hex or base64",
        )
    return raw


def _derive(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"huren-issuer-fields", info=label).derive(master)


_SM3_BLOCK: Final[int] = 64
_IPAD: Final[bytes] = bytes(0x36 for _ in range(_SM3_BLOCK))
_OPAD: Final[bytes] = bytes(0x5C for _ in range(_SM3_BLOCK))


def _sm3_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (RFC 2104) for a key of at most one SM3 block."""
    padded = key.ljust(_SM3_BLOCK, b"\0")
    return (bytes(a ^ b for a, b in zip(padded, _IPAD, strict=True)),
            bytes(a ^ b for a, b in zip(padded, _OPAD, strict=True)))


def _hmac_sm3(key: bytes | tuple[bytes, bytes], message: bytes) -> bytes:
    """HMAC-SM3 (RFC 2104 over GB/T 32905): two native SM3 calls (common.gm), no Python hashing.
    `key` is the key (at most 64 bytes) or its precomputed `_sm3_pads`."""
    inner_pad, outer_pad = _sm3_pads(key) if isinstance(key, bytes) else key
    return sm3(outer_pad + sm3(inner_pad + message))


def _derive_sm3(master: bytes, label: bytes) -> bytes:
    """HKDF (RFC 5869) with HMAC-SM3, one output block (32 bytes): extract with the same salt as
    the AES derivation, expand with `label`."""
    prk = _hmac_sm3(b"huren-issuer-fields", master)
    return _hmac_sm3(prk, label + b"\x01")


class _SM4GCM:
    """SM4-GCM (common.gm) behind AESGCM's encrypt/decrypt shape; refusals as cryptography's InvalidTag."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encrypt(self, nonce: bytes, plaintext: bytes, associated: bytes) -> bytes:
        return sm4_gcm_encrypt(self._key, nonce, plaintext, associated)

    def decrypt(self, nonce: bytes, sealed: bytes, associated: bytes) -> bytes:
        try:
            return sm4_gcm_decrypt(self._key, nonce, sealed, associated)
        except GMError:
            raise InvalidTag from None


class FieldCipher:
    """Seals and opens sensitive field data; fingerprints inputs. Safe to share between threads.

    `algorithm` is what it seals with (aes-256-gcm or sm4-gcm); it opens blobs of either.
    """

    __slots__ = ("_aead", "_mac_key", "_sm3_pads", "_sm4", "algorithm", "key_id")

    def __init__(self, master_key: bytes, algorithm: str = AES_256_GCM) -> None:
        if type(master_key) is not bytes or len(master_key) != KEY_BYTES:
            raise FieldKeyError(f"字段加密密钥应为{KEY_BYTES}字节", f"the field key must be {KEY_BYTES} bytes")
        if algorithm not in ALGORITHMS:
            raise FieldKeyError(f"字段加密算法“{algorithm[:20]}”不受支持：应为 aes-256-gcm 或 sm4-gcm",
                                f"unknown field-sealing algorithm {algorithm[:20]!r}")
        self.algorithm: str = algorithm
        self._aead = AESGCM(_derive(master_key, b"aes-256-gcm"))
        self._sm4 = _SM4GCM(_derive_sm3(master_key, b"sm4-gcm")[:16])
        self._mac_key = (_derive(master_key, b"hmac-sha256") if algorithm == AES_256_GCM
                         else _derive_sm3(master_key, b"hmac-sm3"))
        self._sm3_pads = _sm3_pads(self._mac_key)  # fingerprints are per input: pad the key once
        #: Short public identifier of the master key (not secret: a hash of a derived value). The
        #: same for both algorithms, so a store that changes algorithm keeps opening its old rows.
        self.key_id: str = hashlib.sha256(_derive(master_key, b"key-id")).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"FieldCipher(key_id={self.key_id}, algorithm={self.algorithm})"

    def __getstate__(self) -> None:
        # Worker processes get the cipher through `from_key_text`; never pickle key material by accident.
        raise TypeError("FieldCipher is not picklable; pass the key text to the worker process instead")

    @classmethod
    def from_key_text(cls, text: str) -> FieldCipher:
        """The cipher of a key text; its ``sm4-gcm:`` / ``aes-256-gcm:`` prefix (none: AES) says the algorithm."""
        algorithm, master = parse_field_key_text(text)
        return cls(master, algorithm)

    @classmethod
    def from_env(cls, var: str = KEY_ENV, environ: Mapping[str, str] | None = None) -> FieldCipher:
        """The key from `$VAR`, or from the file named by `$VAR_FILE` (Docker/Kubernetes secrets)."""
        return cls.from_key_text(key_text_from_env(var, environ))

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        """The sealed blob of `plaintext`, bound to `associated` (the certificate id): nonce ||
        AES-256-GCM(plaintext), or SM4_MAGIC || nonce || SM4-GCM(plaintext) (module docstring)."""
        nonce = os.urandom(_NONCE_BYTES)
        if self.algorithm == SM4_GCM:
            return SM4_MAGIC + nonce + self._sm4.encrypt(nonce, plaintext, SM4_MAGIC + associated)
        return nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, blob: bytes, associated: bytes, key_id: str | None = None) -> bytes:
        """Decrypt a sealed blob; FieldKeyError if it was sealed with another key or was altered."""
        if key_id is not None and key_id != self.key_id:
            raise FieldKeyError(
                f"敏感字段由另一把字段加密密钥（标识{key_id}）加密，当前配置的密钥标识为{self.key_id}；请配置正确的密钥",
                f"sensitive fields were sealed with key {key_id}, the configured key is {self.key_id}",
            )
        blob = bytes(blob)
        try:
            if blob[:len(SM4_MAGIC)] == SM4_MAGIC:
                body = blob[len(SM4_MAGIC):]
                try:
                    return self._sm4.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], SM4_MAGIC + associated)
                except InvalidTag:
                    pass  # or an AES blob whose random nonce begins like the magic (module docstring)
            return self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], associated)
        except (InvalidTag, ValueError):
            raise FieldKeyError(
                "敏感字段无法解密：数据已被篡改或与证照记录不匹配",
                "sensitive fields cannot be decrypted: altered, or not this certificate's",
            ) from None

    def fingerprint(self, data: bytes) -> bytes:
        """HMAC-SHA256 (aes-256-gcm) or HMAC-SM3 (sm4-gcm) of `data`, 32 bytes: recognises a
        re-submitted input without storing a guessable hash of it."""
        if self.algorithm == SM4_GCM:
            return _hmac_sm3(self._sm3_pads, data)
        return hmac.new(self._mac_key, data, hashlib.sha256).digest()


def key_text_from_env(var: str = KEY_ENV, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    value = env.get(var)
    if value:
        return value
    file = env.get(f"{var}_FILE")
    if file:
        try:
            return Path(file).read_text()
        except OSError as exc:
            raise FieldKeyError(
                f"无法读取字段加密密钥文件{file}：{exc.strerror}", f"cannot read field key file {file}"
            ) from None
    raise FieldKeyError(
        f"未配置字段加密密钥：请设置环境变量{var}或{var}_FILE（密钥文件路径）",
        f"no field key: set {var} or {var}_FILE",
    )
