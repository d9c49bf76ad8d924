"""A ChainView over a conformance vector's `facts` (the trust-snapshot object of chain-facts.md §9).

`stampKeys` (format huren-trust-snapshot/2) are the regions' 加注 stamping keys with their windows;
a key entry with `sm2PublicKey` (0x + 04 || x || y) is an SM2 issuer key (crypto suite 2).

Used by the vector generator (to check each vector against the engine as it is written) and by
tests/unit/verifier/test_conformance_vectors.py. `facts = None` is "the chain cannot be
reached": every question raises ChainUnavailable. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from common.eip712 import Domain, to_checksum_address
from common.facts import (
    AnchorFacts,
    CertStatus,
    CertStatusFacts,
    ChainUnavailable,
    Freshness,
    IssuerFacts,
    IssuerStatus,
    KeyFacts,
    RecognitionRule,
    TypeFacts,
)
from common.nodes import NodeKey, NodeKeyPurpose
from verifier.engine import VerifierPolicy

__all__ = ["FactsChainView"]


def _b32(text: str) -> bytes:
    data = bytes.fromhex(text.removeprefix("0x"))
    if len(data) != 32:
        raise ValueError(f"expected 32 bytes of hex, got {text!r}")
    return data


class FactsChainView:
    """Answers the engine's questions from a vector's facts; confirmations = height - block + 1."""

    def __init__(self, facts: dict[str, Any] | None) -> None:
        self.facts = facts
        if facts is None:
            return
        height = int(facts["height"])
        self._freshness = Freshness(height=height, head_time=int(facts["headTime"]), source="snapshot")
        self._anchors = {
            _b32(a["batchRoot"]): AnchorFacts(
                batch_root=_b32(a["batchRoot"]),
                issuer_id=_b32(a["issuerId"]),
                key=to_checksum_address(a["key"]),
                type_code=a["typeCode"],
                cert_count=int(a["certCount"]),
                block_number=int(a["blockNumber"]),
                block_hash=_b32(a["blockHash"]),
                tx_hash=_b32(a["txHash"]),
                timestamp=int(a["timestamp"]),
                confirmations=max(0, height - int(a["blockNumber"]) + 1),
            )
            for a in facts["anchors"]
        }
        self._issuers = {
            _b32(i["issuerId"]): IssuerFacts(
                issuer_id=_b32(i["issuerId"]),
                region=int(i["region"]),
                status=IssuerStatus[i["status"]],
                status_since=int(i["statusSince"]),
                revoked_from=i["revokedFrom"],
                authorised_types=frozenset(i["authorisedTypes"]),
            )
            for i in facts["issuers"]
        }
        self._keys = {
            to_checksum_address(k["address"]): KeyFacts(
                address=to_checksum_address(k["address"]),
                issuer_id=_b32(k["issuerId"]),
                valid_from=int(k["validFrom"]),
                valid_until=k["validUntil"],
                sm2_public_key=bytes.fromhex(k["sm2PublicKey"].removeprefix("0x")) if "sm2PublicKey" in k else None,
            )
            for k in facts["keys"]
        }
        self._types = {
            t["typeCode"]: TypeFacts(t["typeCode"], t["name"], _b32(t["schemaHash"]), int(t["version"]), t["active"])
            for t in facts["types"]
        }
        self._statuses = {
            (_b32(s["issuerId"]), _b32(s["certHash"])): CertStatusFacts(
                _b32(s["certHash"]), CertStatus[s["status"]], int(s["since"]), int(s["reason"])
            )
            for s in facts["certificateStatuses"]
        }
        self._stamp_keys = [
            NodeKey(k["keyId"].lower(), int(k["region"]), int(k["suite"]), int(k["algorithm"]),
                    int(NodeKeyPurpose.STAMPING), bytes.fromhex(k["publicKey"].removeprefix("0x")),
                    int(k["validFrom"]), k["validUntil"])
            for k in facts["stampKeys"]
        ]
        self._rules = [
            RecognitionRule(
                int(r["verifierRegion"]), r["typeCode"], int(r["issuerRegion"]), int(r["validFrom"]), r["validUntil"]
            )
            for r in facts["recognition"]
        ]

    def _need(self) -> None:
        if self.facts is None:
            raise ChainUnavailable("链上数据暂不可用（区块链节点与离线可信名录均无法取得）")

    def freshness(self) -> Freshness:
        self._need()
        return self._freshness

    def anchor(self, batch_root: bytes) -> AnchorFacts | None:
        self._need()
        return self._anchors.get(batch_root)

    def issuer(self, issuer_id: bytes) -> IssuerFacts | None:
        self._need()
        return self._issuers.get(issuer_id)

    def key(self, address: str) -> KeyFacts | None:
        self._need()
        return self._keys.get(to_checksum_address(address))

    def certificate_status(self, cert_hash: bytes, issuer_id: bytes) -> CertStatusFacts:
        self._need()
        found = self._statuses.get((issuer_id, cert_hash))
        return found if found is not None else CertStatusFacts(cert_hash, CertStatus.NONE, 0, 0)

    def type_info(self, type_code: str) -> TypeFacts | None:
        self._need()
        return self._types.get(type_code)

    def recognition(self, verifier_region: int, type_code: str, issuer_region: int, at: int) -> RecognitionRule | None:
        """As the index does: the rule in force at `at` naming the issuer's region, else an every-region rule."""
        self._need()
        for region in (issuer_region, 0):
            for rule in self._rules:
                key = (rule.verifier_region, rule.type_code, rule.issuer_region)
                if key == (verifier_region, type_code, region) and rule.in_force_at(at):
                    return rule
        return None

    def stamp_keys(self, region: int, at: int) -> list[NodeKey]:
        """The region's stamping keys whose window [validFrom, validUntil) holds `at` (snapshot form:
        every listed key has purpose stamping; its node was active and its region a member)."""
        self._need()
        return [k for k in self._stamp_keys if k.region == region and k.valid_at(at)]


def policy_from_vector(p: dict[str, Any]) -> VerifierPolicy:
    """The verifier policy a vector's "policy" object names (tests/vectors/README.md): what the
    generator checks each vector against and what the conformance test replays."""
    return VerifierPolicy(
        region=p["region"],
        domain=Domain(p["domain"]["chainId"], p["domain"]["verifyingContract"]),
        confirmations=p["confirmations"],
        clock_skew_s=p["clock_skew_s"],
        max_presentation_age_s=p["max_presentation_age_s"],
        max_facts_age_s=p["max_facts_age_s"],
        require_holder_binding=p["require_holder_binding"],
        accept_hr1=p["accept_hr1"],
        suites=frozenset(p["suites"]),
    )
