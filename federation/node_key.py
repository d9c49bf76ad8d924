"""This node's request-signing key: Ed25519 in a passphrase-encrypted PKCS#8 PEM file (suite 1), or
SM2 in a passphrase-encrypted JSON keystore that says its suite, algorithm and purpose (suite 2,
国密; format and reasons in common/node_keys.py). The loader tells the two files apart by their
first byte ("{" or "-----BEGIN").

The key signs only node-to-node requests (its registry purpose is `request-signing`); the key
that will stamp 加注件 is a different key with a different purpose, so neither signature can
stand in for the other. It lives with its owner (DESIGN.md "Federation": node keys on the node):
the file is written mode 0600, its passphrase comes from the environment or a secrets file
(ledger.keystore.passphrase_from_env), never from a command line, and the key object never
prints its private part (`repr` shows the region and key id only).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.node_keys import (
    SCRYPT_N,
    NodeKeystoreError,
    NodePrivateKey,
    SM2NodePrivateKey,
    is_sm2_keystore,
    node_algorithm_of,
    node_public_bytes,
    read_sm2_keystore,
    write_sm2_keystore,
)
from common.nodes import NodeAlgorithm, NodeKeyPurpose


class NodeKeyFileError(Exception):
    """The node's key file cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class NodeSigningKey:
    """The private half of a registered node key: who signs (region, key id) and with what."""

    region: int
    key_id: str
    private_key: NodePrivateKey = field(repr=False)

    @property
    def algorithm(self) -> NodeAlgorithm:
        """ED25519 (suite 1) or SM2_SM3 (suite 2): what the RFC 9421 `alg` parameter names."""
        return node_algorithm_of(self.private_key)

    @property
    def keyid(self) -> str:
        """The RFC 9421 `keyid` parameter: region and registry key id, e.g. "130000:1"."""
        return format_keyid(self.region, self.key_id)

    def public_bytes(self) -> bytes:
        """The public key as the registry stores it: raw 32 bytes (Ed25519) or 65 bytes 04||x||y (SM2)."""
        return node_public_bytes(self.private_key)


def format_keyid(region: int, key_id: str) -> str:
    """A registry key is named by its region and its id within that region's node keys."""
    return f"{region}:{key_id}"


def parse_keyid(keyid: str) -> tuple[int, str] | None:
    """The (region, key id) a `keyid` names, or None when it is not of the form "<6 digits>:<id>"."""
    region, sep, key_id = keyid.partition(":")
    if not sep or len(region) != 6 or not region.isascii() or not region.isdigit() or region[0] == "0":
        return None
    if not key_id or len(key_id) > 80 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in key_id):
        return None
    return int(region), key_id


def generate_node_key_file(path: Path, region: int, key_id: str, passphrase: str, *,
                           algorithm: NodeAlgorithm = NodeAlgorithm.ED25519,
                           purpose: NodeKeyPurpose = NodeKeyPurpose.REQUEST_SIGNING,
                           scrypt_n: int = SCRYPT_N) -> NodeSigningKey:
    """Make a new key, write it encrypted to `path` (mode 0600) and return it.

    Ed25519 (default) as a PKCS#8 PEM; SM2_SM3 as the JSON keystore of common/node_keys.py, which
    records `purpose` (`scrypt_n` lowers its KDF cost for throw-away test keys only).
    """
    if algorithm is NodeAlgorithm.SM2_SM3:
        sm2 = SM2NodePrivateKey.generate()
        write_sm2_keystore(path, sm2, passphrase, purpose, scrypt_n=scrypt_n)
        return NodeSigningKey(region, key_id, sm2)
    if algorithm is not NodeAlgorithm.ED25519:
        raise ValueError(f"node keys are ed25519 or sm2-sm3, not {algorithm.rfc9421}")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(passphrase.encode()))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return NodeSigningKey(region, key_id, key)


def load_node_key_file(path: Path, region: int, key_id: str, passphrase: str,
                       purpose: NodeKeyPurpose | None = None) -> NodeSigningKey:
    """Read a node key (Ed25519 PEM or SM2 keystore); refuse a file others can read, or another kind of key.

    `purpose`, when given, is checked against what an SM2 keystore records (a PEM records none).
    """
    try:
        mode = path.stat().st_mode & 0o777
        pem = path.read_bytes()
    except OSError as exc:
        raise NodeKeyFileError(f"节点密钥文件无法读取 (cannot read node key file) {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise NodeKeyFileError(f"节点密钥文件 {path} 的权限为 {mode:o}，他人可读；请改为 600 (chmod 600)")
    if is_sm2_keystore(pem):
        try:
            sm2, _purpose = read_sm2_keystore(pem, passphrase, purpose)
        except NodeKeystoreError as exc:
            raise NodeKeyFileError(f"节点密钥文件 {path}：{exc}") from None
        return NodeSigningKey(region, key_id, sm2)
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode())
    except (ValueError, TypeError):
        raise NodeKeyFileError(f"节点密钥文件 {path} 口令错误或格式无效 (wrong passphrase or not a PEM key)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise NodeKeyFileError(f"节点密钥文件 {path} 不是 Ed25519 密钥，也不是 SM2 密钥文件 "
                               "(node keys are Ed25519 PEM or SM2 keystore files)")
    return NodeSigningKey(region, key_id, key)
