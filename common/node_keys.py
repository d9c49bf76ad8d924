"""Node private keys of both suites, and the keystore file 国密 (suite 2) node keys are kept in (issue 17).

A node holds two keys (common/nodes.py): one signs its node-to-node requests, the other stamps
加注件. In suite 1 both are Ed25519 (pyca/cryptography objects, kept as passphrase-encrypted
PKCS#8 PEM files — unchanged). In suite 2 both are SM2 keys (GB/T 32918, signatures over
SM3(Z || message) with the default signer ID, all through common.gm). `SM2NodePrivateKey` gives an
SM2 key the small surface Huren uses of the Ed25519 object (`sign`, `public_key()`), so a
`StampSigner` or a `NodeSigningKey` holds either, and `node_algorithm_of` says which it is.

Why a JSON keystore for SM2 keys rather than a PKCS#8 PEM (e.g. tongsuopy's):
- it says its suite, algorithm and purpose in clear fields, and carries its public key and
  registry key id, so an operator can match the file to the chain's node registry without the
  passphrase, and a loader refuses a stamping key offered as a request-signing key;
- its secret is sealed with SM4-GCM (common.gm), so a 国密 key is protected at rest by a 国密
  cipher — a PEM's PBES2 encryption would be AES-256-CBC, and reading an SM2 PEM needs the SM2
  curve OID, which pyca/cryptography (what reads the Ed25519 PEMs) does not know;
- the header (everything but the ciphertext) is the GCM associated data, so a file whose header
  was edited (its public key swapped, its purpose changed) does not open;
- the passphrase goes through scrypt (hashlib's, OpenSSL's C; memory-hard, the KDF the
  departments' Web3 keystores use). 国密 also has PBKDF2-HMAC-SM3 (GM/T 0091-2020); the `kdf`
  field names the function, so a later version can add it without breaking these files.

File (UTF-8 JSON, mode 0600; all byte strings lowercase hex)::

    {"format": "huren-node-key", "version": 1, "suite": 2, "algorithm": "sm2-sm3",
     "purpose": "stamping" | "request-signing", "publicKey": "04…" (65 bytes), "keyId": "0x…",
     "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": 16 bytes},
     "cipher": {"name": "sm4-gcm", "nonce": 12 bytes},
     "ciphertext": SM4-GCM(private key, 32 bytes) || tag (16 bytes)}

Refusals are `NodeKeystoreError`s with a Chinese message for the operator and an English one for
logs; neither carries key material nor the passphrase.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.gm import (
    GMError,
    sm2_generate_keypair,
    sm2_normalize_public_key,
    sm2_public_key,
    sm2_sign,
    sm2_verify,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)
from common.nodes import NodeAlgorithm, NodeKeyPurpose, key_id

__all__ = [
    "KEYSTORE_FORMAT",
    "NodeKeystoreError",
    "NodePrivateKey",
    "SM2NodePrivateKey",
    "SM2NodePublicKey",
    "is_sm2_keystore",
    "node_algorithm_of",
    "node_public_bytes",
    "read_sm2_keystore",
    "sm2_keystore_bytes",
    "write_sm2_keystore",
]

KEYSTORE_FORMAT: Final[str] = "huren-node-key"
KEYSTORE_VERSION: Final[int] = 1
#: scrypt's cost for a node key: 2**15 x 8 x 128 bytes = 32 MiB, about 0.1 s — paid once at start-up.
SCRYPT_N: Final[int] = 2**15
SCRYPT_R: Final[int] = 8
SCRYPT_P: Final[int] = 1
_PURPOSE_NAMES: Final[dict[NodeKeyPurpose, str]] = {NodeKeyPurpose.REQUEST_SIGNING: "request-signing",
                                                    NodeKeyPurpose.STAMPING: "stamping"}


class NodeKeystoreError(ValueError):
    """An SM2 node keystore cannot be used: wrong passphrase, edited, not a keystore, another purpose."""

    def __init__(self, message: str, message_en: str) -> None:
        self.message = message
        self.message_en = message_en
        super().__init__(f"{message}（{message_en}）")


class SM2NodePublicKey:
    """The public half of an SM2 node key (65 bytes 04 || x || y), checked on the curve when made."""

    __slots__ = ("_public",)

    def __init__(self, public_key: bytes) -> None:
        self._public = sm2_normalize_public_key(public_key)  # SM2PublicKeyError if not a point

    def public_bytes(self) -> bytes:
        return self._public

    def verify(self, signature: bytes, message: bytes) -> None:
        """Return if `signature` (64 bytes r || s) signs `message`; a GMError otherwise."""
        sm2_verify(self._public, message, signature)

    def __repr__(self) -> str:
        return f"SM2NodePublicKey({key_id(self._public)[:18]}…)"


class SM2NodePrivateKey:
    """An SM2 node key: `sign` gives 64-byte r || s over SM3(Z || message). The private half never prints."""

    __slots__ = ("_private", "_public")

    def __init__(self, private_key: bytes) -> None:
        self._public = sm2_public_key(private_key)  # SM2PrivateKeyError if not a usable scalar
        self._private = private_key

    @classmethod
    def generate(cls) -> SM2NodePrivateKey:
        return cls(sm2_generate_keypair().private_key)

    def public_bytes(self) -> bytes:
        """The 65-byte public key 04 || x || y, as the node registry stores it."""
        return self._public

    def public_key(self) -> SM2NodePublicKey:
        return SM2NodePublicKey(self._public)

    def sign(self, message: bytes) -> bytes:
        return sm2_sign(self._private, message)

    def __repr__(self) -> str:
        return f"SM2NodePrivateKey(public {key_id(self._public)[:18]}…)"

    def __deepcopy__(self, memo: dict[int, object]) -> SM2NodePrivateKey:
        return self  # immutable

    def __getstate__(self) -> None:
        raise TypeError("an SM2 node key is not picklable; load it from its keystore in the process that signs")


#: A node's private key in either suite.
NodePrivateKey = Ed25519PrivateKey | SM2NodePrivateKey


def node_algorithm_of(private_key: object) -> NodeAlgorithm:
    """The registry algorithm of a node key (ED25519 or SM2_SM3); TypeError for anything else."""
    if isinstance(private_key, SM2NodePrivateKey):
        return NodeAlgorithm.SM2_SM3
    if isinstance(private_key, Ed25519PrivateKey):
        return NodeAlgorithm.ED25519
    raise TypeError(f"not a node key: {type(private_key).__name__}")


def node_public_bytes(private_key: NodePrivateKey) -> bytes:
    """The public-key bytes the node registry stores: raw 32 bytes (Ed25519) or 65 bytes 04||x||y (SM2)."""
    if isinstance(private_key, SM2NodePrivateKey):
        return private_key.public_bytes()
    public: Ed25519PublicKey = private_key.public_key()
    return public.public_bytes_raw()


# ---------------------------------------------------------------------------------------- keystore


def _header_aad(header: dict[str, Any]) -> bytes:
    """The associated data: the header as canonical JSON (sorted keys, no spaces)."""
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=16,
                          maxmem=256 * r * n + (1 << 20))


def sm2_keystore_bytes(key: SM2NodePrivateKey, passphrase: str, purpose: NodeKeyPurpose, *,
                       scrypt_n: int = SCRYPT_N) -> bytes:
    """The keystore file's bytes for `key` (format in the module docstring).

    `scrypt_n` lowers the KDF cost for throw-away demo and test keys; production keeps the default.
    """
    if not passphrase:
        raise NodeKeystoreError("节点密钥文件需要口令", "a node keystore needs a passphrase")
    salt, nonce = os.urandom(16), os.urandom(12)
    public = key.public_bytes()
    header: dict[str, Any] = {
        "format": KEYSTORE_FORMAT, "version": KEYSTORE_VERSION, "suite": int(NodeAlgorithm.SM2_SM3.suite),
        "algorithm": NodeAlgorithm.SM2_SM3.rfc9421, "purpose": _PURPOSE_NAMES[NodeKeyPurpose(purpose)],
        "publicKey": public.hex(), "keyId": key_id(public),
        "kdf": {"name": "scrypt", "n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()},
        "cipher": {"name": "sm4-gcm", "nonce": nonce.hex()},
    }
    sealed = sm4_gcm_encrypt(_scrypt(passphrase, salt, scrypt_n, SCRYPT_R, SCRYPT_P), nonce,
                             key._private, _header_aad(header))
    return (json.dumps({**header, "ciphertext": sealed.hex()}, indent=2) + "\n").encode("ascii")


def write_sm2_keystore(path: Path, key: SM2NodePrivateKey, passphrase: str, purpose: NodeKeyPurpose, *,
                       scrypt_n: int = SCRYPT_N) -> None:
    """Write `key`'s keystore to `path`, readable by its owner only (mode 0600)."""
    data = sm2_keystore_bytes(key, passphrase, purpose, scrypt_n=scrypt_n)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def is_sm2_keystore(data: bytes) -> bool:
    """Whether `data` looks like this keystore (a JSON object) rather than a PEM file."""
    return data.lstrip()[:1] == b"{"


def _bad(what_zh: str, what_en: str) -> NodeKeystoreError:
    return NodeKeystoreError(f"节点密钥文件格式无效：{what_zh}", f"not a usable node keystore: {what_en}")


def read_sm2_keystore(data: bytes, passphrase: str,
                      purpose: NodeKeyPurpose | None = None) -> tuple[SM2NodePrivateKey, NodeKeyPurpose]:
    """The key in keystore `data` and the purpose it was made for.

    With `purpose`, a keystore made for another purpose is refused (a stamping key is never
    loaded as a request-signing key, nor the other way round).
    """
    try:
        blob = json.loads(data)
    except ValueError:
        raise _bad("不是JSON", "not JSON") from None
    if not isinstance(blob, dict) or blob.get("format") != KEYSTORE_FORMAT:
        raise _bad(f"缺少 \"format\": \"{KEYSTORE_FORMAT}\"", f"no format {KEYSTORE_FORMAT!r}")
    if blob.get("version") != KEYSTORE_VERSION:
        raise _bad(f"版本 {blob.get('version')!r:.10} 不受支持", f"unsupported version {blob.get('version')!r:.10}")
    if blob.get("suite") != 2 or blob.get("algorithm") != NodeAlgorithm.SM2_SM3.rfc9421:
        raise _bad("套件或算法不是 2 / sm2-sm3", "suite/algorithm is not 2 / sm2-sm3")
    found = {name: p for p, name in _PURPOSE_NAMES.items()}.get(blob.get("purpose"))  # type: ignore[arg-type]
    if found is None:
        raise _bad("用途应为 stamping 或 request-signing", "purpose must be stamping or request-signing")
    if purpose is not None and found is not purpose:
        raise NodeKeystoreError(
            f"该密钥文件用于“{found.label}”，不能用作“{NodeKeyPurpose(purpose).label}”密钥，请检查配置的文件路径",
            f"this keystore holds a {_PURPOSE_NAMES[found]} key, not a {_PURPOSE_NAMES[NodeKeyPurpose(purpose)]} key")
    kdf, cipher = blob.get("kdf"), blob.get("cipher")
    try:
        public = bytes.fromhex(blob["publicKey"])
        sealed = bytes.fromhex(blob["ciphertext"])
        if not (isinstance(kdf, dict) and kdf.get("name") == "scrypt" and isinstance(cipher, dict)
                and cipher.get("name") == "sm4-gcm"):
            raise ValueError("kdf/cipher")
        n, r, p = kdf["n"], kdf["r"], kdf["p"]
        if not all(type(v) is int and v > 0 for v in (n, r, p)) or n & (n - 1) or n > 2**20 or r * p > 64:
            raise ValueError("scrypt parameters")
        salt, nonce = bytes.fromhex(kdf["salt"]), bytes.fromhex(cipher["nonce"])
    except (KeyError, TypeError, ValueError):
        raise _bad("缺少或无效的 publicKey、kdf（scrypt）、cipher（sm4-gcm）或 ciphertext",
                   "publicKey, kdf (scrypt), cipher (sm4-gcm) or ciphertext missing or invalid") from None
    header = {k: v for k, v in blob.items() if k != "ciphertext"}
    try:
        secret = sm4_gcm_decrypt(_scrypt(passphrase, salt, n, r, p), nonce, sealed, _header_aad(header))
    except GMError:
        raise NodeKeystoreError("节点密钥文件口令错误，或文件已被改动",
                                "wrong passphrase, or the keystore was altered") from None
    try:
        key = SM2NodePrivateKey(secret)
    except GMError:
        raise _bad("所存私钥无效", "the sealed private key is not an SM2 key") from None
    if key.public_bytes() != public or blob.get("keyId") != key_id(public):
        raise _bad("私钥与文件所记公钥或密钥编号不符",
                   "the private key does not match the recorded public key / key id")
    return key, found
