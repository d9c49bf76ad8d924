"""common.eip712: hand-built EIP-712 digests and coincurve signatures, checked against eth_account."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import keccak as eth_keccak
from eth_utils import to_checksum_address as eth_checksum
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from common.eip712 import (
    SECP256K1_N,
    Domain,
    document_digest,
    recover_signer,
    sign_document_root,
    to_checksum_address,
)

ANVIL_CHAIN_ID = 31337
LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DOMAIN = Domain(chain_id=ANVIL_CHAIN_ID, verifying_contract=LEDGER)
ROOT = eth_keccak(b"huren")
# anvil's first default account
KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
KEY_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

private_keys = st.integers(1, SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
roots = st.binary(min_size=32, max_size=32)
domains = st.builds(
    Domain,
    chain_id=st.integers(0, 2**64),
    verifying_contract=st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
)


def _typed_data(domain: Domain, root: bytes) -> dict[str, object]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "CertificateRoot": [{"name": "documentRoot", "type": "bytes32"}],
        },
        "primaryType": "CertificateRoot",
        "domain": {
            "name": "Huren",
            "version": "1",
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract,
        },
        "message": {"documentRoot": root},
    }


def _with_s(signature: bytes, s: int, v: int) -> bytes:
    return signature[:32] + s.to_bytes(32, "big") + bytes((v,))


# --------------------------------------------------------------------------- digest


def test_digest_known_answer() -> None:
    assert document_digest(DOMAIN, ROOT).hex() == (
        "a2a484f3ec1f1c4ad73caecf24e1f33cd68581a6edff1731393b448c060c71c2"
    )


def test_domain_separator_known_answer() -> None:
    assert DOMAIN.separator.hex() == "06583e29164d6eb6c7821e76a5f55c99a52bbfb455de94b601808f7e5cc8a2f4"


@settings(max_examples=50)
@given(domains, roots)
def test_digest_matches_eth_account_typed_data(domain: Domain, root: bytes) -> None:
    signable = encode_typed_data(full_message=_typed_data(domain, root))
    assert signable.header == domain.separator
    assert document_digest(domain, root) == _hash_eip191_message(signable)


@pytest.mark.parametrize("root", [b"\x00" * 31, b"\x00" * 33, "00" * 32], ids=repr)
def test_digest_refuses_a_root_that_is_not_32_bytes(root: object) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        document_digest(DOMAIN, root)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- signatures


def test_signature_is_byte_identical_to_eth_account() -> None:
    signable = encode_typed_data(full_message=_typed_data(DOMAIN, ROOT))
    assert sign_document_root(KEY, DOMAIN, ROOT) == bytes(Account.sign_message(signable, KEY).signature)


def test_eth_account_recovers_our_signature() -> None:
    signable = encode_typed_data(full_message=_typed_data(DOMAIN, ROOT))
    signature = sign_document_root(KEY, DOMAIN, ROOT)
    assert Account.recover_message(signable, signature=signature) == KEY_ADDRESS


def test_signature_is_65_bytes_with_v_27_or_28_and_low_s() -> None:
    signature = sign_document_root(KEY, DOMAIN, ROOT)
    assert len(signature) == 65 and signature[64] in (27, 28)
    assert int.from_bytes(signature[32:64], "big") <= SECP256K1_N // 2


@settings(max_examples=50)
@given(private_keys, domains, roots)
def test_recover_signer_returns_the_signing_address(key: bytes, domain: Domain, root: bytes) -> None:
    signature = sign_document_root(key, domain, root)
    assert recover_signer(domain, root, signature) == Account.from_key(key).address


@settings(max_examples=30)
@given(private_keys, roots, roots)
def test_signature_over_another_root_recovers_another_address(key: bytes, root: bytes, other: bytes) -> None:
    assume(root != other)
    signature = sign_document_root(key, DOMAIN, root)
    assert recover_signer(DOMAIN, other, signature) != Account.from_key(key).address


@pytest.mark.parametrize(
    "other",
    [Domain(ANVIL_CHAIN_ID + 1, LEDGER), Domain(ANVIL_CHAIN_ID, "0x" + "11" * 20)],
    ids=["other chain", "other ledger"],
)
def test_signature_does_not_carry_over_to_another_domain(other: Domain) -> None:
    signature = sign_document_root(KEY, DOMAIN, ROOT)
    assert recover_signer(other, ROOT, signature) != KEY_ADDRESS


def test_high_s_twin_of_a_valid_signature_is_refused() -> None:
    signature = sign_document_root(KEY, DOMAIN, ROOT)
    s = int.from_bytes(signature[32:64], "big")
    twin = _with_s(signature, SECP256K1_N - s, 55 - signature[64])  # same key, other encoding
    signable = encode_typed_data(full_message=_typed_data(DOMAIN, ROOT))
    assert Account._recover_hash(_hash_eip191_message(signable), signature=twin) == KEY_ADDRESS
    assert recover_signer(DOMAIN, ROOT, twin) is None


def _malformed_signatures() -> list[object]:
    good = sign_document_root(KEY, DOMAIN, ROOT)
    return [
        good[:64],
        good + b"\x00",
        good[:64] + b"\x00",
        good[:64] + b"\x01",
        good[:64] + b"\x1d",
        bytes(32) + good[32:],
        good[:32] + bytes(32) + good[64:],
        SECP256K1_N.to_bytes(32, "big") + good[32:],
        b"\xff" * 32 + good[32:],
        good.hex(),
        bytearray(good),
        None,
    ]


@pytest.mark.parametrize("case", range(12))
def test_recover_signer_returns_none_for_malformed_signatures(case: int) -> None:
    assert recover_signer(DOMAIN, ROOT, _malformed_signatures()[case]) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("root", [b"\x00" * 31, None, "00" * 32], ids=repr)
def test_recover_signer_returns_none_for_a_malformed_root(root: object) -> None:
    signature = sign_document_root(KEY, DOMAIN, ROOT)
    assert recover_signer(DOMAIN, root, signature) is None  # type: ignore[arg-type]


def test_recover_signer_returns_none_when_no_key_recovers() -> None:
    # r = 5 is not the x coordinate of a curve point (5**3 + 7 = 132 is no square mod p).
    signature = (5).to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\x1b"
    assert recover_signer(DOMAIN, ROOT, signature) is None


@pytest.mark.parametrize("key", [bytes(31), bytes(32), SECP256K1_N.to_bytes(32, "big"), "ab" * 32], ids=repr)
def test_sign_refuses_invalid_private_keys(key: object) -> None:
    with pytest.raises(ValueError):
        sign_document_root(key, DOMAIN, ROOT)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- domain and addresses


def test_domain_normalises_the_address_to_its_checksum_form() -> None:
    assert Domain(1, LEDGER.lower()).verifying_contract == LEDGER
    assert Domain(1, LEDGER.lower()) == Domain(1, LEDGER)


def test_domain_refuses_a_wrong_checksum() -> None:
    with pytest.raises(ValueError, match="checksum"):
        Domain(1, LEDGER.replace("F", "f", 1))


@pytest.mark.parametrize(
    ("chain_id", "address"),
    [(-1, LEDGER), (2**256, LEDGER), (True, LEDGER), ("1", LEDGER), (1, LEDGER[:-1]), (1, "0x" + "zz" * 20)],
)
def test_domain_refuses_invalid_fields(chain_id: object, address: str) -> None:
    with pytest.raises(ValueError):
        Domain(chain_id, address)  # type: ignore[arg-type]


def test_domain_separator_is_computed_once() -> None:
    domain = Domain(5, LEDGER)
    assert domain.separator is domain.separator


@given(st.binary(min_size=20, max_size=20))
def test_checksum_address_matches_eth_utils(raw: bytes) -> None:
    assert to_checksum_address(raw) == to_checksum_address("0x" + raw.hex()) == eth_checksum(raw)
