"""Signed trust snapshots carry a suite-2 key's SM2 public key (optional "sm2PublicKey"); a snapshot
without one keeps its earlier format and bytes, and a key entry whose SM2 key is not a point, or does
not derive the entry's address, is refused."""

from __future__ import annotations

import json

import pytest
from sha3 import keccak_256
from verifier_world import DOMAIN, NOW, key_of

from common.canonical import canonicalize
from common.eip712 import to_checksum_address
from common.facts import KeyFacts
from common.gm import sm2_generate_keypair
from common.suites import sm2_key_id
from verifier._ecdsa import address_of, sign_digest
from verifier.snapshot import (
    SnapshotChainView,
    SnapshotError,
    TrustSnapshot,
    load_snapshot,
    sign_snapshot,
    snapshot_digest,
)

PUBLISHER_KEY = key_of("snapshot-publisher")
PUBLISHER = address_of(PUBLISHER_KEY)
ISSUER = b"\x11" * 32
SECP_KEY = address_of(key_of("department"))


def _sm2_key() -> KeyFacts:
    public = sm2_generate_keypair().public_key
    return KeyFacts(to_checksum_address("0x" + sm2_key_id(public).hex()), ISSUER, NOW - 100, None, public)


def _snapshot(*keys: KeyFacts) -> TrustSnapshot:
    return TrustSnapshot(DOMAIN.chain_id, DOMAIN.verifying_contract, 100, NOW, NOW, keys=keys)


def _resigned(obj: dict[str, object]) -> str:
    """A file whose snapshot object was edited, signed by the real publisher (only the format can refuse it)."""
    content = canonicalize(obj)
    digest = snapshot_digest(DOMAIN, keccak_256(content).digest(), int(obj["height"]), int(obj["createdAt"]))
    return canonicalize({"snapshot": obj, "signature": "0x" + sign_digest(PUBLISHER_KEY, digest).hex()}).decode()


def test_an_sm2_keys_public_key_survives_signing_and_loading() -> None:
    sm2 = _sm2_key()
    secp = KeyFacts(SECP_KEY, ISSUER, NOW - 100, None)
    loaded = load_snapshot(sign_snapshot(_snapshot(sm2, secp), PUBLISHER_KEY, DOMAIN), PUBLISHER, DOMAIN)
    view = SnapshotChainView(loaded)
    assert view.key(sm2.address) == sm2
    assert view.key(SECP_KEY).sm2_public_key is None


def test_a_secp256k1_key_entry_has_no_sm2_field_so_older_snapshots_keep_their_bytes() -> None:
    entry = _snapshot(KeyFacts(SECP_KEY, ISSUER, NOW - 100, None)).to_json_obj()["keys"][0]  # type: ignore[index]
    assert set(entry) == {"address", "issuerId", "validFrom", "validUntil"}


def test_an_sm2_public_key_is_written_as_65_bytes_04_x_y() -> None:
    sm2 = _sm2_key()
    entry = _snapshot(sm2).to_json_obj()["keys"][0]  # type: ignore[index]
    assert entry["sm2PublicKey"] == "0x" + sm2.sm2_public_key.hex() and entry["sm2PublicKey"].startswith("0x04")


def test_an_sm2_public_key_that_does_not_derive_the_address_is_refused() -> None:
    obj = _snapshot(_sm2_key()).to_json_obj()
    obj["keys"][0]["sm2PublicKey"] = "0x" + sm2_generate_keypair().public_key.hex()  # type: ignore[index]
    with pytest.raises(SnapshotError, match="does not derive"):
        load_snapshot(_resigned(obj), PUBLISHER, DOMAIN)


def test_an_sm2_public_key_off_the_curve_is_refused() -> None:
    obj = _snapshot(_sm2_key()).to_json_obj()
    bad = bytearray(bytes.fromhex(obj["keys"][0]["sm2PublicKey"][2:]))  # type: ignore[index]
    bad[-1] ^= 1
    obj["keys"][0]["sm2PublicKey"] = "0x" + bad.hex()  # type: ignore[index]
    with pytest.raises(SnapshotError, match="not an SM2 public key"):
        load_snapshot(_resigned(obj), PUBLISHER, DOMAIN)


def test_an_sm2_public_key_in_the_64_byte_form_is_refused_as_not_canonical() -> None:
    obj = _snapshot(_sm2_key()).to_json_obj()
    obj["keys"][0]["sm2PublicKey"] = "0x" + obj["keys"][0]["sm2PublicKey"][4:]  # type: ignore[index]
    with pytest.raises(SnapshotError, match="canonical"):
        load_snapshot(_resigned(obj), PUBLISHER, DOMAIN)


def test_the_snapshot_file_stays_canonical_json_with_sm2_keys() -> None:
    text = sign_snapshot(_snapshot(_sm2_key()), PUBLISHER_KEY, DOMAIN)
    assert canonicalize(json.loads(text)).decode() == text
