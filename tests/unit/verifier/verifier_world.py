"""A small, real world for the verifier's unit tests: real documents, salts, trees, signatures.

Everything cryptographic is real (salted leaves, OpenZeppelin trees, EIP-712 issuer
signatures with eth-account keys, holder signatures); only the chain is an in-memory
`FakeChainView`, as unit tests of a pure engine should have it. Integration tests against
anvil live elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account

from common.document import SaltedField, document_root, issuer_id, salt_fields
from common.eip712 import Domain, sign_document_root
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
from common.hashing import keccak
from common.merkle import StandardMerkleTree
from common.nodes import NodeAlgorithm, NodeKey, NodeKeyPurpose, NodeSuite, key_id
from common.stamp import StampSigner
from verifier.engine import VerifierPolicy
from verifier.presentation import Presentation, make_presentation
from verifier.snapshot import StatusEntry, TrustSnapshot

DOMAIN = Domain(chain_id=31337, verifying_contract="0x5FbDB2315678afecb367f032d93F642f64180aa3")
ZHEJIANG_HANGZHOU = 330105  # issuing department's region
SHANGHAI = 310000  # another region's verifier
TYPE_FOOD = "11100000000013338W032"
TYPE_OTHER = "11100000000013338W009"
CREDIT_A = "11330105002500287C"  # 杭州市拱墅区市场监督管理局 (real-shaped, valid GB 32100 check)
CREDIT_B = "91110000600037341L"
# 2025-06-01 10:00:00 Beijing time
NOW = 1748743200
ANCHOR_TIME = NOW - 86_400 * 7
KEY_FROM = ANCHOR_TIME - 86_400 * 365


def key_of(label: str) -> bytes:
    """A deterministic private key (tests must be reproducible)."""
    return keccak(label.encode())


def address_of(key: bytes) -> str:
    return Account.from_key(key).address


def mod37_36(text: str) -> str:
    """ISO 7064 MOD 37,36 check character (GB/T 36904 certificate identifiers)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    p = 36
    for ch in text:
        t = (p + alphabet.index(ch)) % 36 or 36
        p = (t * 2) % 37
    return alphabet[(37 - p) % 36]


def resident_id(prefix17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return prefix17 + "10X98765432"[sum(int(d) * w for d, w in zip(prefix17, weights, strict=True)) % 11]


def certificate_id(type_code: str, credit: str, serial: str, version: str = "001") -> str:
    body = type_code + credit + serial + version
    return f"1.2.156.3005.2.{type_code}.{credit}.{serial}.{version}.{mod37_36(body)}"


def make_document(
    n: int,
    *,
    credit: str = CREDIT_A,
    region: int = ZHEJIANG_HANGZHOU,
    type_code: str = TYPE_FOOD,
    signing_address: str,
    holder_address: str | None,
    valid_from: str = "2025-01-01",
    valid_until: str | None = "2029-12-31",
) -> dict[str, object]:
    """A food-business licence (食品经营许可证) shaped certificate: the full document model."""
    holder: dict[str, object] = {
        "name": "张三",
        "idType": "111",
        "idNumber": resident_id(f"33010519800101{n % 1000:03d}"),
    }
    if holder_address is not None:
        holder["address"] = holder_address
    return {
        "version": 1,
        "id": certificate_id(type_code, credit, f"2025{n:06d}"),
        "type": type_code,
        "issuer": {
            "creditCode": credit,
            "region": region,
            "name": "杭州市拱墅区市场监督管理局",
            "signingAddress": signing_address,
        },
        "holder": holder,
        "claims": {
            "licenceNo": f"JY133010500{n:05d}",
            "category": "食品经营",
            "scope": "预包装食品销售（含冷藏冷冻食品）",
        },
        "issuedAt": "2025-01-01T09:30:00+08:00",
        "validFrom": valid_from,
        "validUntil": valid_until,
    }


@dataclass
class Batch:
    """One issuer's anchored batch: salted documents, their roots, the tree and signatures."""

    documents: list[list[SaltedField]]
    roots: list[bytes]
    tree: StandardMerkleTree
    signatures: list[bytes]

    @property
    def root(self) -> bytes:
        return self.tree.root


def make_batch(
    size: int,
    *,
    signer_key: bytes,
    holder_key: bytes | None,
    domain: Domain = DOMAIN,
    fill: Callable[[int], dict[str, object]] | None = None,
    **doc_args: object,
) -> Batch:
    """`size` real documents; document 0 belongs to `holder_key`'s holder when given."""
    documents = []
    for n in range(size):
        doc = (
            fill(n)
            if fill is not None
            else make_document(
                n,
                signing_address=address_of(signer_key),
                holder_address=address_of(holder_key) if holder_key is not None and n == 0 else None,
                **doc_args,  # type: ignore[arg-type]
            )
        )
        documents.append(salt_fields(doc))
    roots = [document_root(fields) for fields in documents]
    tree = StandardMerkleTree.of(roots)
    signatures = [sign_document_root(signer_key, domain, root) for root in roots]
    return Batch(documents=documents, roots=roots, tree=tree, signatures=signatures)


@dataclass
class FakeChainView:
    """In-memory ChainView for unit tests; `fail_on` makes one method raise ChainUnavailable."""

    height: int = 1000
    head_time: int = NOW - 5
    anchors: dict[bytes, AnchorFacts] = field(default_factory=dict)
    issuers: dict[bytes, IssuerFacts] = field(default_factory=dict)
    keys: dict[str, KeyFacts] = field(default_factory=dict)
    types: dict[str, TypeFacts] = field(default_factory=dict)
    statuses: dict[tuple[bytes, bytes], CertStatusFacts] = field(default_factory=dict)
    rules: list[RecognitionRule] = field(default_factory=list)
    stamping: list[NodeKey] = field(default_factory=list)
    fail_on: str | None = None
    calls: list[str] = field(default_factory=list)
    source: Literal["index", "rpc", "snapshot"] = "index"
    note: str = ""

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_on in (name, "*"):
            raise ChainUnavailable(f"node unreachable during {name}")

    def freshness(self) -> Freshness:
        self._call("freshness")
        return Freshness(height=self.height, head_time=self.head_time, source=self.source, note=self.note)

    def anchor(self, batch_root: bytes) -> AnchorFacts | None:
        self._call("anchor")
        return self.anchors.get(batch_root)

    def issuer(self, issuer_id: bytes) -> IssuerFacts | None:
        self._call("issuer")
        return self.issuers.get(issuer_id)

    def key(self, address: str) -> KeyFacts | None:
        self._call("key")
        return self.keys.get(address)

    def certificate_status(self, cert_hash: bytes, issuer_id: bytes) -> CertStatusFacts:
        self._call("certificate_status")
        return self.statuses.get((issuer_id, cert_hash), CertStatusFacts(cert_hash, CertStatus.NONE, 0, 0))

    def type_info(self, type_code: str) -> TypeFacts | None:
        self._call("type_info")
        return self.types.get(type_code)

    def recognition(self, verifier_region: int, type_code: str, issuer_region: int, at: int) -> RecognitionRule | None:
        self._call("recognition")
        for region in (issuer_region, 0):
            for rule in self.rules:
                if (rule.verifier_region, rule.type_code, rule.issuer_region) == (
                    verifier_region,
                    type_code,
                    region,
                ) and rule.in_force_at(at):
                    return rule
        return None

    def stamp_keys(self, region: int, at: int) -> list[NodeKey]:
        self._call("stamp_keys")
        return [k for k in self.stamping if k.region == region and k.valid_at(at)]

    # -- test conveniences

    def add_stamp_key(self, signer: StampSigner, valid_from: int = KEY_FROM, valid_until: int | None = None) -> NodeKey:
        """Register `signer` as a stamping key of its region's node (as the chain's NodeRegistry would)."""
        key = NodeKey(key_id(signer.public_bytes), signer.region, int(NodeSuite.INTERNATIONAL),
                      int(NodeAlgorithm.ED25519), int(NodeKeyPurpose.STAMPING), signer.public_bytes,
                      valid_from, valid_until)
        self.stamping.append(key)
        return key

    def add_anchor(self, batch_root: bytes, *, issuer: bytes, key: str, type_code: str = TYPE_FOOD,
                   block: int = 900, timestamp: int = ANCHOR_TIME, count: int = 1) -> AnchorFacts:  # fmt: skip
        facts = AnchorFacts(
            batch_root=batch_root,
            issuer_id=issuer,
            key=key,
            type_code=type_code,
            cert_count=count,
            block_number=block,
            block_hash=keccak(b"block" + block.to_bytes(8, "big")),
            tx_hash=keccak(b"tx" + batch_root),
            timestamp=timestamp,
            confirmations=self.height - block + 1,
        )
        self.anchors[batch_root] = facts
        return facts

    def set_confirmations(self, batch_root: bytes, confirmations: int) -> None:
        """Move the anchor to the block that has this many confirmations at the current height."""
        block = self.height - confirmations + 1
        self.anchors[batch_root] = replace(self.anchors[batch_root], block_number=block, confirmations=confirmations)

    def to_snapshot(self, created_at: int | None = None) -> TrustSnapshot:
        """The same facts as a TrustSnapshot (confirmations recomputed from height on load)."""
        return TrustSnapshot(
            chain_id=DOMAIN.chain_id,
            ledger=DOMAIN.verifying_contract,
            height=self.height,
            head_time=self.head_time,
            created_at=self.head_time if created_at is None else created_at,
            issuers=tuple(self.issuers.values()),
            keys=tuple(self.keys.values()),
            types=tuple(self.types.values()),
            recognition=tuple(self.rules),
            statuses=tuple(StatusEntry(issuer_id=i, status=s) for (i, _), s in self.statuses.items()),
            anchors=tuple(self.anchors.values()),
            stamp_keys=tuple(self.stamping),
        )


@dataclass
class World:
    """Issuer A (Hangzhou) with one anchored batch, a bound holder, and a verifier policy."""

    issuer_key: bytes
    issuer_address: str
    issuer_id: bytes
    holder_key: bytes
    holder_address: str
    batch: Batch
    view: FakeChainView
    policy: VerifierPolicy
    stamp_signer: StampSigner
    now: int = NOW

    def present(
        self,
        index: int = 1,
        paths: Iterable[str] = ("holder.name", "claims.licenceNo"),
        *,
        bound: bool = False,
        batch: Batch | None = None,
        created_at: int | None = None,
        ttl_s: int = 300,
        purpose: str = "办理食品经营许可变更",
        stamped: bool = True,
        format: int = 2,
        audience: int | None = None,
    ) -> Presentation:
        """A fresh presentation of document `index` (document 0 is the bound holder's).

        Stamped by the issuing region's node (as the wallet makes them) unless `stamped` is
        False or `format` is 1 (HR1 has no stamp).
        """
        batch = batch or self.batch
        return make_presentation(
            batch.documents[index],
            paths,
            batch_root=batch.root,
            batch_proof=batch.tree.proof(index),
            issuer_signature=batch.signatures[index],
            purpose=purpose,
            domain=DOMAIN,
            holder_key=self.holder_key if bound else None,
            now=self.now - 30 if created_at is None else created_at,
            ttl_s=ttl_s,
            nonce=bytes(range(12)),
            stamp_signer=self.stamp_signer if stamped and format == 2 else None,
            audience=audience,
            format=format,
        )


def build_world(batch_size: int = 64) -> World:
    """The standard world: issuer A active, key valid, batch anchored 7 days ago, 100+ confirmations."""
    issuer_key = key_of("issuer-a/signing-key-1")
    holder_key = key_of("holder/zhang-san")
    batch = make_batch(batch_size, signer_key=issuer_key, holder_key=holder_key)
    view = FakeChainView()
    ia = issuer_id(CREDIT_A)
    view.issuers[ia] = IssuerFacts(
        issuer_id=ia,
        region=ZHEJIANG_HANGZHOU,
        status=IssuerStatus.ACTIVE,
        status_since=KEY_FROM,
        revoked_from=None,
        authorised_types=frozenset({TYPE_FOOD}),
    )
    view.keys[address_of(issuer_key)] = KeyFacts(
        address=address_of(issuer_key), issuer_id=ia, valid_from=KEY_FROM, valid_until=None
    )
    view.types[TYPE_FOOD] = TypeFacts(
        type_code=TYPE_FOOD, name="食品经营许可证", schema_hash=keccak(b"schema"), version=1, active=True
    )
    view.add_anchor(batch.root, issuer=ia, key=address_of(issuer_key), count=batch_size)
    policy = VerifierPolicy(region=ZHEJIANG_HANGZHOU, domain=DOMAIN)
    stamp_signer = stamp_signer_of("node-330105/stamp-1", ZHEJIANG_HANGZHOU)
    view.add_stamp_key(stamp_signer)
    return World(
        stamp_signer=stamp_signer,
        issuer_key=issuer_key,
        issuer_address=address_of(issuer_key),
        issuer_id=ia,
        holder_key=holder_key,
        holder_address=address_of(holder_key),
        batch=batch,
        view=view,
        policy=policy,
    )


def stamp_signer_of(label: str, region: int) -> StampSigner:
    """A deterministic Ed25519 stamping key (tests must be reproducible)."""
    return StampSigner(region, Ed25519PrivateKey.from_private_bytes(keccak(label.encode())))


def with_fields(p: Presentation, fields: Sequence[SaltedField]) -> Presentation:
    """The presentation with other disclosed fields (same proof): a tampering helper."""
    return replace(p, disclosure=replace(p.disclosure, fields=list(fields)))


def replace_field(p: Presentation, which: str, **changes: object) -> Presentation:
    """The presentation with one disclosed field changed (path, value or salt), proofs untouched."""
    fields = [replace(f, **changes) if f.path == which else f for f in p.disclosure.fields]  # type: ignore[arg-type]
    return with_fields(p, fields)


def anchor_new_batch(w: World, **doc_args: object) -> Presentation:
    """Anchor a small extra batch of issuer A whose documents have `doc_args`; present doc 1."""
    batch = make_batch(4, signer_key=w.issuer_key, holder_key=None, **doc_args)
    w.view.add_anchor(batch.root, issuer=w.issuer_id, key=w.issuer_address, count=4)
    return w.present(1, batch=batch)


def other_region_verifier(w: World) -> None:
    """Make the verifier one of Shanghai (the certificates are from Hangzhou)."""
    w.policy = replace(w.policy, region=SHANGHAI)


def set_status(w: World, p: Presentation, status: CertStatus) -> Presentation:
    """Record a certificate status set by issuer A for the presented certificate."""
    w.view.statuses[(w.issuer_id, p.document_root)] = CertStatusFacts(p.document_root, status, NOW - 3600, 1)
    return p
