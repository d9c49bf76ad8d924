"""Encryption at rest of sensitive certificate fields, and keyed fingerprints of inputs.

What is encrypted, and why the salt goes with the value: the store keeps every field's
(path, value, salt) because the department hands the salted document to the holder and
builds proofs from it. For a sensitive field (catalogue `x-sensitive`, and a person's ID
number) the *salt* is as secret as the value: whoever holds a field's salt, the other
fields and the document root (public in presentations) can recover a low-entropy hidden
value by hashing candidates — exactly what salting is meant to prevent. So a sensitive
field's value *and* salt are sealed together.

The master key (32 bytes, from `$HUREN_FIELD_KEY` or the file named by
`$HUREN_FIELD_KEY_FILE`, hex or base64) never touches the database; HKDF derives from it an
AES-256-GCM key for sealing and an HMAC key for input fingerprints, and a short key id is
stored beside each ciphertext so that a wrong key is reported as such, not as corrupt data.
The associated data binds a ciphertext to its certificate id: swapping sealed blobs between
rows fails to decrypt. Nothing here logs or reprs key material.
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

from issuers.errors import FieldKeyError

__all__ = ["KEY_BYTES", "KEY_ENV", "FieldCipher", "new_field_key", "parse_field_key"]

KEY_BYTES: Final[int] = 32
KEY_ENV: Final[str] = "HUREN_FIELD_KEY"
_NONCE_BYTES: Final[int] = 12


def new_field_key() -> str:
    """A fresh random master key, hex-encoded (what `huren issuer field-key` writes to a file)."""
    return secrets.token_hex(KEY_BYTES)


def parse_field_key(text: str) -> bytes:
    """Decode a master key written as 64 hex digits or as base64 of 32 bytes."""
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


class FieldCipher:
    """Seals and opens sensitive field data; fingerprints inputs. Safe to share between threads."""

    __slots__ = ("_aead", "_mac_key", "key_id")

    def __init__(self, master_key: bytes) -> None:
        if type(master_key) is not bytes or len(master_key) != KEY_BYTES:
            raise FieldKeyError(f"字段加密密钥应为{KEY_BYTES}字节", f"the field key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(_derive(master_key, b"aes-256-gcm"))
        self._mac_key = _derive(master_key, b"hmac-sha256")
        #: Short public identifier of the key (not secret: a hash of a derived value).
        self.key_id: str = hashlib.sha256(_derive(master_key, b"key-id")).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"FieldCipher(key_id={self.key_id})"

    def __getstate__(self) -> None:
        # Worker processes get the cipher through `from_key_text`; never pickle key material by accident.
        raise TypeError("FieldCipher is not picklable; pass the key text to the worker process instead")

    @classmethod
    def from_key_text(cls, text: str) -> FieldCipher:
        return cls(parse_field_key(text))

    @classmethod
    def from_env(cls, var: str = KEY_ENV, environ: Mapping[str, str] | None = None) -> FieldCipher:
        """The key from `$VAR`, or from the file named by `$VAR_FILE` (Docker/Kubernetes secrets)."""
        return cls.from_key_text(key_text_from_env(var, environ))

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        """nonce || AES-256-GCM(plaintext), bound to `associated` (the certificate id)."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, blob: bytes, associated: bytes, key_id: str | None = None) -> bytes:
        """Decrypt a sealed blob; FieldKeyError if it was sealed with another key or was altered."""
        if key_id is not None and key_id != self.key_id:
            raise FieldKeyError(
                f"敏感字段由另一把字段加密密钥（标识{key_id}）加密，当前配置的密钥标识为{self.key_id}；请配置正确的密钥",
                f"sensitive fields were sealed with key {key_id}, the configured key is {self.key_id}",
            )
        try:
            return self._aead.decrypt(bytes(blob[:_NONCE_BYTES]), bytes(blob[_NONCE_BYTES:]), associated)
        except (InvalidTag, ValueError):
            raise FieldKeyError(
                "敏感字段无法解密：数据已被篡改或与证照记录不匹配",
                "sensitive fields cannot be decrypted: altered, or not this certificate's",
            ) from None

    def fingerprint(self, data: bytes) -> bytes:
        """HMAC-SHA256 of `data`: recognises a re-submitted input without storing a guessable hash of it."""
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
