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
