"""Encrypted keystore files (Web3 Secret Storage, the format geth and Besu use).

Signing keys of issuing departments and officers live only in these files, encrypted with a
passphrase that comes from the environment or a file outside the repository — never from a
command-line argument (visible in `ps`) and never printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from common.gm import GMError, sm2_public_key
from common.suites import sm2_key_id
from ledger.errors import KeystoreError


def save_keystore(path: Path, private_key: bytes, passphrase: str, iterations: int | None = None) -> str:
    """Write an encrypted keystore (mode 0600) and return the address it holds.

    `iterations` lowers scrypt's cost for throw-away test keys; production keeps the default.
    """
    blob = Account.encrypt(private_key, passphrase, iterations=iterations)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(blob, f)
    return str(Account.from_key(private_key).address)


def load_keystore(path: Path, passphrase: str) -> LocalAccount:
    try:
        blob = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc}") from None
    try:
        key = Account.decrypt(blob, passphrase)
    except ValueError:
        raise KeystoreError(f"wrong passphrase for keystore {path}") from None
    return Account.from_key(key)


def passphrase_from_env(var: str) -> str:
    """Read a passphrase from `$VAR`, or from the file named by `$VAR_FILE` (Docker/K8s secrets)."""
    value = os.environ.get(var)
    if value:
        return value
    file = os.environ.get(f"{var}_FILE")
    if file:
        return Path(file).read_text().strip()
    raise KeystoreError(f"no passphrase: set {var} or {var}_FILE")


def save_sm2_keystore(path: Path, private_key: bytes, passphrase: str, iterations: int | None = None) -> str:
    """Write a department's 国密 (SM2) document-signing key (suite 2) and return its registry key id.

    The same Web3 Secret Storage file as `save_keystore` (scrypt, so one passphrase policy for a
    department's two keys), marked `"suite": 2` with the SM2 public key and its registry id in
    clear, so an operator can match the file to the issuer registry without the passphrase. An
    SM2 private key is below secp256k1's group order, so the format's key check accepts it.
    """
    public = sm2_public_key(private_key)
    blob = Account.encrypt(private_key, passphrase, iterations=iterations)
    key_id = "0x" + sm2_key_id(public).hex()
    blob.update(address=key_id[2:], suite=2, algorithm="sm2-sm3", sm2PublicKey=public.hex())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(blob, f)
    return key_id


def load_sm2_keystore(path: Path, passphrase: str) -> bytes:
    """The SM2 private key of a file written by `save_sm2_keystore`; KeystoreError for a file that is
    not a suite-2 keystore, a wrong passphrase, or a key that does not match its recorded public key."""
    try:
        blob = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc}") from None
    if not isinstance(blob, dict) or blob.get("suite") != 2:
        raise KeystoreError(f"keystore {path} is not a 国密 (suite 2) SM2 keystore")
    try:
        key = bytes(Account.decrypt(blob, passphrase))
    except ValueError:
        raise KeystoreError(f"wrong passphrase for keystore {path}") from None
    try:
        matches = sm2_public_key(key).hex() == str(blob.get("sm2PublicKey", "")).lower()
    except GMError:
        matches = False
    if not matches:
        raise KeystoreError(f"keystore {path}: the SM2 key does not match its recorded public key")
    return key
