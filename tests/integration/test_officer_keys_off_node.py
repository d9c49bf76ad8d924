"""双人双锁 holds against whoever controls a node: no node holds an officer's key, and one officer's
key together with everything a node holds (every file of its directory, its database, every key
its passphrase opens) cannot execute a sensitive change — on real anvil, with the demo's federation
(api/seed.py `seed_federation`), so the node directories are exactly what the demo's nodes run on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from api.seed import BJ, REGION_NAMES, DemoWorld, seed_federation
from ledger.anvil import Anvil
from ledger.clients import Huren
from ledger.errors import ContractRefused
from ledger.keystore import load_keystore


@dataclass
class Federation:
    workdir: Path
    worlds: dict[int, DemoWorld]

    @property
    def huren(self) -> Huren:
        return next(iter(self.worlds.values())).net.huren

    def officer_keys(self) -> dict[str, bytes]:
        """Every officer of every region (all of them, not only those with page sign-ins): address -> key."""
        net = next(iter(self.worlds.values())).net
        return {s.address.lower(): bytes(s.account.key) for senders in net.officers.values() for s in senders}


@pytest.fixture(scope="module")
def federation(anvil_node: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    workdir = tmp_path_factory.mktemp("federation")
    urls = {region: f"http://127.0.0.1:{9100 + i}" for i, region in enumerate(REGION_NAMES)}  # never served
    yield Federation(workdir, seed_federation(anvil_node, workdir, urls))


def _node_keys(world: DemoWorld) -> list[LocalAccount]:
    """Every secp256k1 key the node's own passphrase opens from its directory (its whole key store)."""
    passphrase = Path(world.env["HUREN_PASSPHRASE_FILE"]).read_text().strip()
    return [load_keystore(p, passphrase) for p in world.workdir.rglob("*.json") if "crypto" in p.read_text()]


def _key_forms(key: bytes) -> list[bytes]:
    """How a private key could sit in a file: raw, hex (either case, with or without 0x), base64, in a PEM."""
    import base64

    h = key.hex()
    return [key, h.encode(), h.upper().encode(), base64.b64encode(key), base64.b64encode(key).rstrip(b"=")]


def _keys_found_in(directory: Path, keys: dict[str, bytes], passphrases: list[str]) -> dict[str, list[str]]:
    """Which of `keys` (address -> key) appear in any file under `directory`, as bytes, encoded, or in a
    keystore or PEM that one of `passphrases` opens."""
    found: dict[str, list[str]] = {}
    for path in (p for p in directory.rglob("*") if p.is_file()):
        content = path.read_bytes()
        for address, key in keys.items():
            if any(form in content for form in _key_forms(key)):
                found.setdefault(address, []).append(str(path))
        opened: list[bytes] = []
        if path.suffix == ".json" and b'"crypto"' in content.lower():
            for passphrase in passphrases:
                try:
                    opened.append(bytes(Account.decrypt(json.loads(content), passphrase)))
                except ValueError:
                    continue
        if b"PRIVATE KEY" in content:
            for passphrase in passphrases:
                try:
                    pem = serialization.load_pem_private_key(content, passphrase.encode())
                except (ValueError, TypeError):
                    continue
                raw = getattr(pem, "private_numbers", None)
                if raw is not None:  # an EC key: its scalar
                    opened.append(raw().private_value.to_bytes(32, "big"))
        for key in opened:
            for address, officer_key in keys.items():
                if key == officer_key:
                    found.setdefault(address, []).append(f"{path} (decrypted)")
    return found


def _every_passphrase(fed: Federation) -> list[str]:
    out = [Path(w.env["HUREN_PASSPHRASE_FILE"]).read_text().strip() for w in fed.worlds.values()]
    return out + [passphrase for w in fed.worlds.values() for _, passphrase in w.officer_keys.values()]


def test_no_node_directory_holds_any_officer_key(federation: Federation) -> None:
    officers = federation.officer_keys()
    assert len(officers) == 3 * len(REGION_NAMES)
    passphrases = _every_passphrase(federation)
    for region, world in federation.worlds.items():
        assert not list(world.workdir.glob("officers.json")), "the old server-side officer listing is back"
        assert "HUREN_OFFICERS_FILE" not in world.env
        found = _keys_found_in(world.workdir, officers, passphrases)
        assert not found, f"the {REGION_NAMES[region]} node's directory holds officer keys: {found}"
        for account in _node_keys(world):  # and none of the keys the node can open is an officer's
            assert account.address.lower() not in officers, (region, account.address)
    # The same search does find them where they belong: in the officers' own files, outside every node.
    officers_dir = federation.workdir / "officers"
    assert not any(officers_dir.is_relative_to(w.workdir) for w in federation.worlds.values())
    found = _keys_found_in(officers_dir, officers, passphrases)
    page_officers = {s.address.lower() for w in federation.worlds.values() for s in w.net.officers[w.regions[0]][:2]}
    assert set(found) == page_officers


def test_one_officer_with_everything_a_node_holds_cannot_execute_a_sensitive_change(federation: Federation) -> None:
    world = federation.worlds[BJ]
    huren = federation.huren
    # The attacker: full control of 北京's node (every key it can open) plus one officer's own key.
    node_accounts = _node_keys(world)
    # departments, log operator, relayer, trust-snapshot publisher (the clerk page's 应急模式)
    assert len(node_accounts) == len(world.departments) + 3
    path, passphrase = world.officer_keys[f"officer-{BJ}"]
    officer = load_keystore(path, passphrase)
    region_officers = [to_checksum_address(a) for a in huren.call("Consortium", "officersOf", BJ)[0]]
    assert officer.address in region_officers and len(region_officers) == 3
    assert huren.call("Consortium", "regionThreshold", BJ)[0] == 2
    relayer = huren.sender(load_keystore(Path(world.env["HUREN_RELAYER_KEYSTORE"]),
                                         Path(world.env["HUREN_PASSPHRASE_FILE"]).read_text().strip()))

    # The sensitive change: make the node's own relayer account a 北京 officer (a second lock they hold).
    target, data = huren.regional_call("Consortium", "addOfficer", BJ, relayer.address)
    deadline = int(time.time()) + 600
    nonce = huren.officer_nonce(officer.address)
    act = huren.propose_regional_act(BJ, target, data, officer.address, nonce, deadline)
    outcome = huren.propose_regional_by_sig(relayer, BJ, target, data, officer.address, nonce, deadline,
                                            act.sign(bytes(officer.key)))
    assert not outcome.executed
    pid = outcome.proposal_id

    refusals: list[str] = []
    keys = [bytes(a.key) for a in node_accounts] + [bytes(officer.key)]
    for key in keys:
        account = Account.from_key(key)
        world.net.fund([account.address])
        # ... approving directly from the key's own account
        try:
            huren.approve(huren.sender(account), pid)
        except ContractRefused as exc:
            refusals.append(exc.error)
        # ... or signing an approval in the name of every officer of the region, relayed by the node
        for name in region_officers:
            n = huren.officer_nonce(name)
            signature = huren.approve_act(pid, name, n, deadline).sign(key)
            try:
                huren.approve_by_sig(relayer, pid, name, n, deadline, signature)
            except ContractRefused as exc:
                refusals.append(exc.error)
        # ... or a fresh proposal of the same change in another officer's name
        for name in region_officers:
            if name == officer.address:
                continue
            n = huren.officer_nonce(name)
            signature = huren.propose_regional_act(BJ, target, data, name, n, deadline).sign(key)
            try:
                huren.propose_regional_by_sig(relayer, BJ, target, data, name, n, deadline, signature)
            except ContractRefused as exc:
                refusals.append(exc.error)
    attempts = len(keys) * (1 + len(region_officers) + len(region_officers) - 1)
    assert len(refusals) == attempts, refusals
    assert set(refusals) == {"NotOfficer", "InvalidSignature", "AlreadyApproved"}
    assert huren.call("Consortium", "officerRegion", relayer.address)[0] == 0
    assert huren.call("Consortium", "proposalState", pid)[0] == 1  # still pending

    # The control: the second officer's own signature, from their own file, executes it at once.
    path2, passphrase2 = world.officer_keys[f"officer2-{BJ}"]
    second = load_keystore(path2, passphrase2)
    n = huren.officer_nonce(second.address)
    signature = huren.approve_act(pid, second.address, n, deadline).sign(bytes(second.key))
    assert huren.approve_by_sig(relayer, pid, second.address, n, deadline, signature).executed
    assert huren.call("Consortium", "officerRegion", relayer.address)[0] == BJ


def test_python_typed_data_is_the_contracts_digest(federation: Federation) -> None:
    huren = federation.huren
    domain = huren.call("Consortium", "DOMAIN_SEPARATOR")[0]
    act = huren.approve_act(7, "0x" + "11" * 20, 3, 1_900_000_000)

    struct = keccak(b"".join([huren.call("Consortium", "APPROVE_TYPEHASH")[0], (7).to_bytes(32, "big"),
                              bytes(12) + bytes.fromhex("11" * 20), (3).to_bytes(32, "big"),
                              (1_900_000_000).to_bytes(32, "big")]))
    assert act.digest() == keccak(b"\x19\x01" + domain + struct)
