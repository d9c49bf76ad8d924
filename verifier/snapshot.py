"""Offline mode: a signed trust-list snapshot and a ChainView that answers from it.

When no chain node (and no fresh index) is reachable, a verifier can still answer from a
snapshot of the chain's registries taken by a trusted publisher: issuers, keys, types,
recognition rules, certificate statuses and anchors, with the chain height and time they were
read at. The answer then says how old its status facts are — by the same rule as every other
source: now minus `head_time`, the timestamp of the block the snapshot was read at (not when it
was signed: a snapshot signed today of a week-old node is a week old). Facts older than
`VerifierPolicy.max_facts_age_s`, the one bound for every source, give UNAVAILABLE ("cannot
check now: the newest block is N hours old"), enforced by the engine.

Serialisation: the snapshot is a JSON object, canonicalised with RFC 8785 (so any JCS
implementation reproduces the signed bytes), bytes as lower-case 0x-hex, every list sorted by
its identifying key (the same facts give the same bytes whatever order they were collected in).

Signature (our choice, stated here): **EIP-712** typed data in the deployment's own domain
(name "Huren", version "1", chainId, verifyingContract = AnchorLedger), so a snapshot made for
one deployment can never be accepted by another and a wallet/HSM shows what it signs:

    TrustSnapshot(bytes32 contentHash,uint64 height,uint64 createdAt)

with contentHash = keccak256(JCS(snapshot object)). The file is the JCS JSON of
``{"snapshot": {...}, "signature": "0x<65 bytes r||s||v>"}``; the verifier is configured with
the publisher's address and refuses any other signer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sha3 import keccak_256

from common.canonical import canonicalize
from common.eip712 import Domain, to_checksum_address
from common.facts import (
    AnchorFacts,
    CertStatus,
    CertStatusFacts,
    Freshness,
    IssuerFacts,
    IssuerStatus,
    KeyFacts,
    RecognitionRule,
    TypeFacts,
)
from common.gm import SM2PublicKeyError, sm2_normalize_public_key
from common.json_input import parse_json
from common.nodes import NodeKey, NodeKeyPurpose, key_id
from verifier._ecdsa import recover_digest, sign_digest

__all__ = [
    "SNAPSHOT_FORMAT",
    "TRUST_SNAPSHOT_TYPE",
    "SnapshotChainView",
    "SnapshotError",
    "StatusEntry",
    "TrustSnapshot",
    "load_snapshot",
    "sign_snapshot",
    "snapshot_digest",
]

#: /2 added `stampKeys` (the regions' 加注 stamping keys; a stamped code needs them offline too).
SNAPSHOT_FORMAT: Final[str] = "huren-trust-snapshot/2"
TRUST_SNAPSHOT_TYPE: Final[str] = "TrustSnapshot(bytes32 contentHash,uint64 height,uint64 createdAt)"
_TYPEHASH: Final[bytes] = keccak_256(TRUST_SNAPSHOT_TYPE.encode()).digest()


class SnapshotError(ValueError):
    """A snapshot file was refused (bad signature, wrong publisher or deployment, malformed)."""

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en
        super().__init__(f"离线可信名录无效：{zh} ({en})")


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """A certificate status as set by one issuer (statuses are per issuer on chain)."""

    issuer_id: bytes
    status: CertStatusFacts


@dataclass(frozen=True)
class TrustSnapshot:
    """Everything a verifier asks the chain, as of one block, plus when it was taken."""

    chain_id: int
    ledger: str
    height: int
    head_time: int
    created_at: int
    issuers: tuple[IssuerFacts, ...] = ()
    keys: tuple[KeyFacts, ...] = ()
    types: tuple[TypeFacts, ...] = ()
    recognition: tuple[RecognitionRule, ...] = ()
    statuses: tuple[StatusEntry, ...] = ()
    anchors: tuple[AnchorFacts, ...] = ()
    #: Stamping keys of the regions' nodes (purpose stamping), with their windows.
    stamp_keys: tuple[NodeKey, ...] = ()

    def to_json_obj(self) -> dict[str, object]:
        """The canonical JSON object (what is hashed and signed)."""
        return {
            "format": SNAPSHOT_FORMAT,
            "chainId": self.chain_id,
            "ledger": to_checksum_address(self.ledger),
            "height": self.height,
            "headTime": self.head_time,
            "createdAt": self.created_at,
            "issuers": sorted(
                (
                    {
                        "issuerId": _hex(i.issuer_id),
                        "region": i.region,
                        "status": i.status.name,
                        "statusSince": i.status_since,
                        "revokedFrom": i.revoked_from,
                        "authorisedTypes": sorted(i.authorised_types),
                    }
                    for i in self.issuers
                ),
                key=lambda d: d["issuerId"],  # type: ignore[arg-type,return-value]
            ),
            "keys": sorted(
                (
                    _key_entry(k)
                    for k in self.keys
                ),
                key=lambda d: str(d["address"]).lower(),
            ),
            "types": sorted(
                (
                    {
                        "typeCode": t.type_code,
                        "name": t.name,
                        "schemaHash": _hex(t.schema_hash),
                        "version": t.version,
                        "active": t.active,
                    }
                    for t in self.types
                ),
                key=lambda d: d["typeCode"],  # type: ignore[arg-type,return-value]
            ),
            "recognition": sorted(
                (
                    {
                        "verifierRegion": r.verifier_region,
                        "typeCode": r.type_code,
                        "issuerRegion": r.issuer_region,
                        "validFrom": r.valid_from,
                        "validUntil": r.valid_until,
                    }
                    for r in self.recognition
                ),
                key=lambda d: (d["verifierRegion"], d["typeCode"], d["issuerRegion"], d["validFrom"]),  # type: ignore[arg-type,return-value]
            ),
            "certificateStatuses": sorted(
                (
                    {
                        "issuerId": _hex(s.issuer_id),
                        "certHash": _hex(s.status.cert_hash),
                        "status": s.status.status.name,
                        "since": s.status.since,
                        "reason": s.status.reason,
                    }
                    for s in self.statuses
                    if s.status.status != CertStatus.NONE
                ),
                key=lambda d: (d["issuerId"], d["certHash"]),  # type: ignore[arg-type,return-value]
            ),
            "anchors": sorted(
                (
                    {
                        "batchRoot": _hex(a.batch_root),
                        "issuerId": _hex(a.issuer_id),
                        "key": to_checksum_address(a.key),
                        "typeCode": a.type_code,
                        "certCount": a.cert_count,
                        "blockNumber": a.block_number,
                        "blockHash": _hex(a.block_hash),
                        "txHash": _hex(a.tx_hash),
                        "timestamp": a.timestamp,
                    }
                    for a in self.anchors
                ),
                key=lambda d: d["batchRoot"],  # type: ignore[arg-type,return-value]
            ),
            "stampKeys": sorted(
                (
                    {
                        "keyId": k.key_id.lower(),
                        "region": k.region,
                        "suite": k.suite,
                        "algorithm": k.algorithm,
                        "publicKey": _hex(k.public_key),
                        "validFrom": k.valid_from,
                        "validUntil": k.valid_until,
                    }
                    for k in self.stamp_keys
                ),
                key=lambda d: (d["region"], d["keyId"]),  # type: ignore[arg-type,return-value]
            ),
        }

    def content_hash(self) -> bytes:
        """keccak256 of the canonical JSON bytes."""
        return keccak_256(canonicalize(self.to_json_obj())).digest()


def _key_entry(k: KeyFacts) -> dict[str, object]:
    """A key's snapshot entry. "sm2PublicKey" (0x + 04 || x || y) only for a suite-2 key: a
    secp256k1 key's entry, and so every snapshot without SM2 keys, keeps its earlier bytes."""
    entry: dict[str, object] = {
        "address": to_checksum_address(k.address),
        "issuerId": _hex(k.issuer_id),
        "validFrom": k.valid_from,
        "validUntil": k.valid_until,
    }
    if k.sm2_public_key is not None:
        entry["sm2PublicKey"] = _hex(k.sm2_public_key)
    return entry


def _sm2_key(r: _Reader, where: str, address: str) -> bytes | None:
    """The optional "sm2PublicKey" of a key entry: absent = a secp256k1 key (None). Present, it must
    be an SM2 point whose registry id (common.suites.sm2_key_id) is the entry's address."""
    if "sm2PublicKey" not in r.obj:
        return None
    value = r.text("sm2PublicKey")
    try:
        raw = bytes.fromhex(value[2:]) if value.startswith("0x") else None
        public = sm2_normalize_public_key(raw) if raw is not None else None
    except (ValueError, SM2PublicKeyError):
        public = None
    if public is None:
        raise _refuse(f"{where}.sm2PublicKey 不是有效的SM2公钥", f"{where}.sm2PublicKey is not an SM2 public key")
    if to_checksum_address("0x" + keccak_256(public[1:]).digest()[12:].hex()) != address:
        raise _refuse(f"{where}.sm2PublicKey 与密钥地址不符", f"{where}.sm2PublicKey does not derive {where}.address")
    return public


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def snapshot_digest(domain: Domain, content_hash: bytes, height: int, created_at: int) -> bytes:
    """The EIP-712 digest the publisher signs (see the module docstring)."""
    struct = keccak_256(_TYPEHASH + content_hash + height.to_bytes(32, "big") + created_at.to_bytes(32, "big")).digest()
    return keccak_256(b"\x19\x01" + domain.separator + struct).digest()


def sign_snapshot(snapshot: TrustSnapshot, private_key: bytes, domain: Domain) -> str:
    """The signed snapshot file (JCS JSON text) for publication to offline verifiers.

    ValueError if the snapshot is for another deployment than `domain`.
    """
    if snapshot.chain_id != domain.chain_id or to_checksum_address(snapshot.ledger) != domain.verifying_contract:
        raise ValueError("the snapshot's chainId/ledger are not those of the signing domain")
    obj = snapshot.to_json_obj()
    content_hash = keccak_256(canonicalize(obj)).digest()
    signature = sign_digest(private_key, snapshot_digest(domain, content_hash, snapshot.height, snapshot.created_at))
    return canonicalize({"snapshot": obj, "signature": _hex(signature)}).decode("utf-8")


# --------------------------------------------------------------------------- loading


def _refuse(zh: str, en: str) -> SnapshotError:
    return SnapshotError(zh, en)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _refuse(f"重复的键 {key!r}", f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> object:
    raise _refuse("含有非 JSON 数值", f"non-JSON number {name}")


class _Reader:
    """Typed access to one JSON object, naming the location of anything wrong."""

    def __init__(self, obj: object, where: str, keys: Iterable[str]) -> None:
        if not isinstance(obj, dict):
            raise _refuse(f"{where} 必须是对象", f"{where} must be an object")
        expected = set(keys)
        if set(obj) != expected:
            raise _refuse(
                f"{where} 的字段不符", f"{where}: fields {sorted(obj)} differ from expected {sorted(expected)}"
            )
        self.obj = obj
        self.where = where

    def integer(self, key: str, *, nullable: bool = False, minimum: int = 0) -> int | None:
        value = self.obj[key]
        if value is None and nullable:
            return None
        if type(value) is not int or value < minimum:
            raise _refuse(f"{self.where}.{key} 必须是整数", f"{self.where}.{key} must be an int >= {minimum}")
        return value

    def req_int(self, key: str, minimum: int = 0) -> int:
        value = self.integer(key, minimum=minimum)
        assert value is not None
        return value

    def text(self, key: str) -> str:
        value = self.obj[key]
        if type(value) is not str:
            raise _refuse(f"{self.where}.{key} 必须是文本", f"{self.where}.{key} must be a string")
        return value

    def bytes32(self, key: str) -> bytes:
        value = self.text(key)
        if len(value) != 66 or not value.startswith("0x") or value != value.lower():
            raise _refuse(f"{self.where}.{key} 必须是 32 字节十六进制", f"{self.where}.{key} must be 0x + 64 hex")
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            raise _refuse(
                f"{self.where}.{key} 必须是 32 字节十六进制", f"{self.where}.{key} must be 0x + 64 hex"
            ) from None

    def address(self, key: str) -> str:
        value = self.text(key)
        try:
            checksummed = to_checksum_address(value)
        except ValueError:
            raise _refuse(f"{self.where}.{key} 不是地址", f"{self.where}.{key} is not an address") from None
        if checksummed != value:
            raise _refuse(f"{self.where}.{key} 地址校验和错误", f"{self.where}.{key} is not EIP-55 checksummed")
        return value

    def array(self, key: str) -> list[object]:
        value = self.obj[key]
        if type(value) is not list:
            raise _refuse(f"{self.where}.{key} 必须是数组", f"{self.where}.{key} must be an array")
        return value


def _enum(enum: type[IssuerStatus] | type[CertStatus], name: object, where: str) -> int:
    if type(name) is not str or name not in enum.__members__:
        raise _refuse(f"{where} 状态值无效", f"{where}: unknown status {name!r}")
    return enum.__members__[name]


def _parse(obj: object) -> TrustSnapshot:
    top = _Reader(
        obj,
        "snapshot",
        (
            "format",
            "chainId",
            "ledger",
            "height",
            "headTime",
            "createdAt",
            "issuers",
            "keys",
            "types",
            "recognition",
            "certificateStatuses",
            "anchors",
            "stampKeys",
        ),
    )
    if top.text("format") != SNAPSHOT_FORMAT:
        raise _refuse("格式版本不支持", f"unsupported format {top.obj['format']!r}")
    height = top.req_int("height")
    issuers = []
    for n, item in enumerate(top.array("issuers")):
        r = _Reader(
            item,
            f"issuers[{n}]",
            ("issuerId", "region", "status", "statusSince", "revokedFrom", "authorisedTypes"),
        )
        types = r.array("authorisedTypes")
        if not all(type(t) is str for t in types):
            raise _refuse(f"issuers[{n}].authorisedTypes 必须是文本数组", f"issuers[{n}].authorisedTypes: strings")
        issuers.append(
            IssuerFacts(
                issuer_id=r.bytes32("issuerId"),
                region=r.req_int("region"),
                status=IssuerStatus(_enum(IssuerStatus, r.obj["status"], f"issuers[{n}]")),
                status_since=r.req_int("statusSince"),
                revoked_from=r.integer("revokedFrom", nullable=True),
                authorised_types=frozenset(types),  # type: ignore[arg-type]
            )
        )
    keys = []
    for n, item in enumerate(top.array("keys")):
        fields = ("address", "issuerId", "validFrom", "validUntil")
        if isinstance(item, dict) and "sm2PublicKey" in item:
            fields += ("sm2PublicKey",)
        r = _Reader(item, f"keys[{n}]", fields)
        address = r.address("address")
        keys.append(
            KeyFacts(
                address=address,
                issuer_id=r.bytes32("issuerId"),
                valid_from=r.req_int("validFrom"),
                valid_until=r.integer("validUntil", nullable=True),
                sm2_public_key=_sm2_key(r, f"keys[{n}]", address),
            )
        )
    types_ = []
    for n, item in enumerate(top.array("types")):
        r = _Reader(item, f"types[{n}]", ("typeCode", "name", "schemaHash", "version", "active"))
        active = r.obj["active"]
        if type(active) is not bool:
            raise _refuse(f"types[{n}].active 必须是布尔值", f"types[{n}].active must be a bool")
        types_.append(
            TypeFacts(
                type_code=r.text("typeCode"),
                name=r.text("name"),
                schema_hash=r.bytes32("schemaHash"),
                version=r.req_int("version"),
                active=active,
            )
        )
    rules = []
    for n, item in enumerate(top.array("recognition")):
        r = _Reader(
            item, f"recognition[{n}]", ("verifierRegion", "typeCode", "issuerRegion", "validFrom", "validUntil")
        )
        rules.append(
            RecognitionRule(
                verifier_region=r.req_int("verifierRegion"),
                type_code=r.text("typeCode"),
                issuer_region=r.req_int("issuerRegion"),
                valid_from=r.req_int("validFrom"),
                valid_until=r.integer("validUntil", nullable=True),
            )
        )
    statuses = []
    for n, item in enumerate(top.array("certificateStatuses")):
        r = _Reader(item, f"certificateStatuses[{n}]", ("issuerId", "certHash", "status", "since", "reason"))
        statuses.append(
            StatusEntry(
                issuer_id=r.bytes32("issuerId"),
                status=CertStatusFacts(
                    cert_hash=r.bytes32("certHash"),
                    status=CertStatus(_enum(CertStatus, r.obj["status"], f"certificateStatuses[{n}]")),
                    since=r.req_int("since"),
                    reason=r.req_int("reason"),
                ),
            )
        )
    anchors = []
    for n, item in enumerate(top.array("anchors")):
        r = _Reader(
            item,
            f"anchors[{n}]",
            (
                "batchRoot",
                "issuerId",
                "key",
                "typeCode",
                "certCount",
                "blockNumber",
                "blockHash",
                "txHash",
                "timestamp",
            ),
        )
        block = r.req_int("blockNumber")
        if block > height:
            raise _refuse(f"anchors[{n}] 的区块高于名录高度", f"anchors[{n}]: block {block} above height {height}")
        anchors.append(
            AnchorFacts(
                batch_root=r.bytes32("batchRoot"),
                issuer_id=r.bytes32("issuerId"),
                key=r.address("key"),
                type_code=r.text("typeCode"),
                cert_count=r.req_int("certCount"),
                block_number=block,
                block_hash=r.bytes32("blockHash"),
                tx_hash=r.bytes32("txHash"),
                timestamp=r.req_int("timestamp"),
                confirmations=height - block + 1,
            )
        )
    stamp_keys = []
    for n, item in enumerate(top.array("stampKeys")):
        r = _Reader(item, f"stampKeys[{n}]",
                    ("keyId", "region", "suite", "algorithm", "publicKey", "validFrom", "validUntil"))
        public = r.text("publicKey")
        try:
            public_bytes = bytes.fromhex(public[2:]) if public.startswith("0x") else None
        except ValueError:
            public_bytes = None
        if public_bytes is None or not public_bytes or _hex(public_bytes) != public:
            raise _refuse(f"stampKeys[{n}].publicKey 必须是小写 0x 十六进制", f"stampKeys[{n}].publicKey: 0x-hex")
        kid = _hex(r.bytes32("keyId"))
        if kid != key_id(public_bytes):
            raise _refuse(f"stampKeys[{n}].keyId 与公钥不符", f"stampKeys[{n}].keyId is not keccak256(publicKey)")
        stamp_keys.append(NodeKey(kid, r.req_int("region"), r.req_int("suite"), r.req_int("algorithm"),
                                  int(NodeKeyPurpose.STAMPING), public_bytes, r.req_int("validFrom"),
                                  r.integer("validUntil", nullable=True)))
    return TrustSnapshot(
        chain_id=top.req_int("chainId"),
        ledger=top.address("ledger"),
        height=height,
        head_time=top.req_int("headTime"),
        created_at=top.req_int("createdAt"),
        issuers=tuple(issuers),
        keys=tuple(keys),
        types=tuple(types_),
        recognition=tuple(rules),
        statuses=tuple(statuses),
        anchors=tuple(anchors),
        stamp_keys=tuple(stamp_keys),
    )


def load_snapshot(data: str | bytes, publisher: str, domain: Domain) -> TrustSnapshot:
    """Parse a signed snapshot file and check it was signed by `publisher` for `domain`.

    Raises SnapshotError (a ValueError) for anything wrong: not JSON, unknown fields, a
    signature by anyone but the configured publisher, another deployment's snapshot.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        parse_json(text)  # depth and numbers first (common.json_input); then duplicate keys, which it cannot see
        envelope = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except SnapshotError:
        raise
    except (ValueError, TypeError, RecursionError) as exc:
        raise _refuse("不是有效的 JSON", f"not valid JSON: {str(exc)[:120]}") from None
    outer = _Reader(envelope, "file", ("snapshot", "signature"))
    signature_hex = outer.text("signature")
    try:
        signature = bytes.fromhex(signature_hex[2:]) if signature_hex.startswith("0x") else b""
    except ValueError:
        signature = b""
    snapshot = _parse(outer.obj["snapshot"])
    if snapshot.chain_id != domain.chain_id or snapshot.ledger != domain.verifying_contract:
        raise _refuse(
            "名录不属于本系统部署（链或合约地址不符）",
            f"snapshot is for chain {snapshot.chain_id} / {snapshot.ledger}, "
            f"not {domain.chain_id} / {domain.verifying_contract}",
        )
    # Hash what was signed: the canonical form of the object as received. Re-serialising the
    # parsed facts must give the same bytes, or the file holds something we did not read.
    received = canonicalize(outer.obj["snapshot"])
    if received != canonicalize(snapshot.to_json_obj()):
        raise _refuse("名录内容不是规范形式（顺序或取值不规范）", "snapshot content is not in canonical form")
    content_hash = keccak_256(received).digest()
    signer = recover_digest(snapshot_digest(domain, content_hash, snapshot.height, snapshot.created_at), signature)
    if signer is None or signer != to_checksum_address(publisher):
        raise _refuse("签名无效或不是配置的发布方签署", f"signature is not by the configured publisher {publisher}")
    return snapshot


class SnapshotChainView:
    """A ChainView over a verified TrustSnapshot (source "snapshot"): offline verification.

    Confirmations are counted up to the snapshot's height. Staleness is judged by the engine
    against the policy (the view cannot know the verifier's tolerance).
    """

    def __init__(self, snapshot: TrustSnapshot) -> None:
        self.snapshot = snapshot
        self._anchors = {a.batch_root: a for a in snapshot.anchors}
        self._issuers = {i.issuer_id: i for i in snapshot.issuers}
        self._keys = {to_checksum_address(k.address): k for k in snapshot.keys}
        self._types = {t.type_code: t for t in snapshot.types}
        self._statuses = {(s.issuer_id, s.status.cert_hash): s.status for s in snapshot.statuses}
        self._rules: dict[tuple[int, str, int], list[RecognitionRule]] = {}
        for rule in snapshot.recognition:
            self._rules.setdefault((rule.verifier_region, rule.type_code, rule.issuer_region), []).append(rule)
        self._freshness = Freshness(height=snapshot.height, head_time=snapshot.head_time, source="snapshot")

    def freshness(self) -> Freshness:
        return self._freshness

    def anchor(self, batch_root: bytes) -> AnchorFacts | None:
        return self._anchors.get(batch_root)

    def issuer(self, issuer_id: bytes) -> IssuerFacts | None:
        return self._issuers.get(issuer_id)

    def key(self, address: str) -> KeyFacts | None:
        return self._keys.get(address)

    def certificate_status(self, cert_hash: bytes, issuer_id: bytes) -> CertStatusFacts:
        found = self._statuses.get((issuer_id, cert_hash))
        return found if found is not None else CertStatusFacts(cert_hash, CertStatus.NONE, 0, 0)

    def type_info(self, type_code: str) -> TypeFacts | None:
        return self._types.get(type_code)

    def stamp_keys(self, region: int, at: int) -> list[NodeKey]:
        return [k for k in self.snapshot.stamp_keys if k.region == region and k.valid_at(at)]

    def recognition(self, verifier_region: int, type_code: str, issuer_region: int, at: int) -> RecognitionRule | None:
        """The rule in force at `at`: one naming the issuer's region first, then an every-region rule."""
        for region in (issuer_region, 0):
            for rule in self._rules.get((verifier_region, type_code, region), ()):
                if rule.in_force_at(at):
                    return rule
        return None
