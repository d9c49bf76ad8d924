"""Officers' acts as EIP-712 typed data: what an officer signs on their own device and a node relays.

The Consortium contract accepts a proposal or an approval signed by the acting officer
(`proposeRegionalBySig`, `proposeConsortiumBySig`, `approveBySig`), so a node never needs an
officer's key: the officer's page signs, the node checks the signer and relays with its own
account. The typed data here is the single Python description of those messages (domain
"Huren Consortium" version "1", bound to the chain id and the Consortium address); the
officer page's script (`api/pages/static/officer.js`) hashes the same three types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

DOMAIN_NAME = "Huren Consortium"
DOMAIN_VERSION = "1"

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
TYPES: dict[str, list[dict[str, str]]] = {
    "Approve": [
        {"name": "id", "type": "uint256"},
        {"name": "officer", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "ProposeRegional": [
        {"name": "region", "type": "uint32"},
        {"name": "target", "type": "address"},
        {"name": "data", "type": "bytes"},
        {"name": "officer", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "ProposeConsortium": [
        {"name": "target", "type": "address"},
        {"name": "data", "type": "bytes"},
        {"name": "officer", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


class BadSignature(ValueError):
    """The bytes are not a 65-byte secp256k1 signature that recovers to an address."""


@dataclass(frozen=True)
class OfficerAct:
    """One act to sign: its EIP-712 primary type and message, under a deployment's domain."""

    chain_id: int
    consortium: str
    primary_type: str
    message: dict[str, Any]

    def typed_data(self) -> dict[str, Any]:
        """The full EIP-712 JSON (eth_signTypedData_v4 shape); `bytes` values as 0x-hex."""
        message = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in self.message.items()}
        return {
            "types": {"EIP712Domain": _DOMAIN_TYPE, self.primary_type: TYPES[self.primary_type]},
            "primaryType": self.primary_type,
            "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": self.chain_id,
                       "verifyingContract": to_checksum_address(self.consortium)},
            "message": message,
        }

    def digest(self) -> bytes:
        """keccak256(0x1901 || domainSeparator || hashStruct(message)): what the officer's key signs."""
        signable = encode_typed_data(full_message=self.typed_data())
        return keccak(b"\x19" + signable.version + signable.header + signable.body)

    def signer(self, signature: bytes) -> str:
        """The checksummed address that made `signature` over this act (low-s only, as the contract)."""
        if len(signature) != 65:
            raise BadSignature("签名应为 65 字节")
        s = int.from_bytes(signature[32:64], "big")
        if s > _SECP256K1_HALF_N or signature[64] not in (27, 28):
            raise BadSignature("签名格式无效")
        try:
            return str(Account._recover_hash(self.digest(), signature=signature))
        except Exception as exc:  # eth-keys raises several types for unrecoverable signatures
            raise BadSignature("签名无法还原出签名人") from exc

    def sign(self, private_key: bytes) -> bytes:
        """Sign with a raw key: for tests and tools on the officer's own machine, never on a node."""
        signed = Account._sign_hash(self.digest(), private_key)
        return bytes(signed.signature)


_SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def approve_act(chain_id: int, consortium: str, proposal_id: int, officer: str, nonce: int,
                deadline: int) -> OfficerAct:
    return OfficerAct(chain_id, consortium, "Approve", {
        "id": proposal_id, "officer": to_checksum_address(officer), "nonce": nonce, "deadline": deadline})


def propose_regional_act(chain_id: int, consortium: str, region: int, target: str, data: bytes, officer: str,
                         nonce: int, deadline: int) -> OfficerAct:
    return OfficerAct(chain_id, consortium, "ProposeRegional", {
        "region": region, "target": to_checksum_address(target), "data": data,
        "officer": to_checksum_address(officer), "nonce": nonce, "deadline": deadline})


def propose_consortium_act(chain_id: int, consortium: str, target: str, data: bytes, officer: str, nonce: int,
                           deadline: int) -> OfficerAct:
    return OfficerAct(chain_id, consortium, "ProposeConsortium", {
        "target": to_checksum_address(target), "data": data, "officer": to_checksum_address(officer),
        "nonce": nonce, "deadline": deadline})
