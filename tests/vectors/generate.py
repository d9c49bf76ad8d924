"""Generate the conformance vectors (tests/vectors/hr2/*.json, tests/vectors/hr1/*.json) from real issuance on anvil.

    .venv/bin/python -m tests.vectors.generate            # rewrites tests/vectors/hr2/ and hr1/

What happens: a fresh anvil is started, the contract suite deployed, regions BJ/TJ/HE/SH set up
by k-of-n proposals, each region's node registered with an Ed25519 加注 stamping key,
departments registered, certificates issued by the IssuerService, anchored by its AnchorWorker,
revoked/suspended/reinstated, issuers revoked and a stamping key rotated by transactions,
exactly as tests/integration/verdict_world.py does. The facts of each vector are read from the
chain's index (IndexedChainView, the read model's node registry for `stampKeys`) and written in
the trust-snapshot form of docs/spec/chain-facts.md §9 (huren-trust-snapshot/2). Then, where a
vector needs a boundary or a failure the chain cannot produce on its own (a key window one
second off, facts one second too old, a non-canonical CBOR byte), the code or the facts are
*mutated*; each vector's description says what was changed.

Two sets: `hr2/` (format HR2, codes stamped by the issuing region's node as the wallet makes
them: every verdict, boundary, structure and decode rule, and the stamp attacks) and `hr1/`
(legacy: holder-signed codes for the verdicts, unsigned codes refused at check `stamp`,
`accept_hr1: false`, and HR1's own decode and encoding rules).

Crypto suite 2 (国密, vectors `suite2/…` in `hr2/`): a Shanghai department seals with SM3 trees
and an SM2 key registered with IssuerRegistry.addSM2Key, its batches are anchored with
AnchorLedger.anchorGuomi and revoked/suspended/reinstated with the …Guomi functions, and
Shanghai's node stamps them with an SM2 stamping key (algorithm 16, sm2-sm3) registered beside its
Ed25519 one; Hebei recognises Shanghai's business licences.

Every vector states the verdict and failing check it was built for, and the generator verifies
each one with the Python engine (verifier/engine.py) before writing it: a vector the engine does
not agree with stops the generation. Salts, keys, addresses and block times are random (a new
chain each run), so the bytes change between runs; the vector ids, descriptions and expected
results do not.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account

from common.document import ALWAYS_DISCLOSED, field_leaf
from common.eip712 import Domain, recover_signer, to_checksum_address
from common.gm import SM2_N, sm2_generate_keypair, sm2_sign
from common.merkle import process_multiproof, process_proof
from common.node_keys import SM2NodePrivateKey
from common.nodes import NodeAlgorithm, NodeKey, NodeKeyPurpose
from common.stamp import StampSigner, stamp_message
from common.suites import digest_of, sm2_document_message
from issuers.anchoring import AnchorWorker
from issuers.chain_link import ChainLink
from issuers.field_cipher import FieldCipher, new_field_key
from issuers.intake import IntakeSpec
from issuers.service import IssuedCertificate, IssuerService
from issuers.store import CertificateStore
from ledger.anvil import start_anvil
from ledger.compile import compile_contracts
from ledger.nodes import AddNodeKey, RetireNodeKey
from tests.integration.verdict_world import (
    BJ,
    DRIVING,
    HE,
    LICENCE,
    PURPOSE,
    SH,
    TJ,
    WORKER_POLICY,
    Dept,
    World,
)
from tests.vectors.chainview import FactsChainView, policy_from_vector
from verifier._ecdsa import sign_digest
from verifier.checks import CHINA_TZ
from verifier.codec import HR2_PATH_TABLE, MAX_TEXT_CHARS, _b45encode, compact_signature, encode
from verifier.engine import verify_text
from verifier.presentation import Presentation, holder_signing_digest, make_presentation, stamped_envelope
from verifier.snapshot import StatusEntry, TrustSnapshot

OUT = Path(__file__).resolve().parent
#: /2: policy gained `accept_hr1`, facts gained `stampKeys` (huren-trust-snapshot/2), codes HR2.
#: /3: policy gained `suites`; key entries of SM2 keys carry `sm2PublicKey`; suite-2 codes.
FORMAT = "huren-conformance-vector/3"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: The reference policy defaults (verification.md §2), written out in every vector.
DEFAULT_POLICY = {
    "confirmations": 2,
    "clock_skew_s": 60,
    "max_presentation_age_s": 600,
    "max_facts_age_s": 30,
    "require_holder_binding": False,
    "accept_hr1": True,
    "suites": [1, 2],
}
LICENCE_PATHS = ("claims.entityName", "claims.legalRepresentative")
MARKER = b"\xa5" * 11  # a byte string no real item contains: replaced by raw CBOR bytes


# ============================================================================ code building


def b45(data: bytes) -> str:
    return _b45encode(data)


@dataclass(frozen=True)
class Layout:
    """Positions in a format's CBOR array (verifier/codec.py's docstring; docs/spec/hr*-format.md)."""

    fmt: int
    prefix: str
    batch_proof: int
    issuer_sig: int
    created: int
    ttl: int
    nonce: int
    purpose: int
    holder_sig: int
    document_root: int | None = None  # HR1 only
    batch_root: int | None = None  # HR1 only
    audience: int | None = None  # HR2 only
    stamp: int | None = None  # HR2 only
    head: int = 0  # version (HR1) / suite (HR2)
    fields: int = 1
    salts: int = 2
    proof: int = 3
    flags: int = 4


HR1 = Layout(1, "HR1:", batch_proof=7, issuer_sig=8, created=9, ttl=10, nonce=11, purpose=12, holder_sig=13,
             document_root=5, batch_root=6)
HR2 = Layout(2, "HR2:", batch_proof=5, issuer_sig=6, created=7, ttl=8, nonce=9, purpose=10, holder_sig=13,
             audience=11, stamp=12)


def item_of(text: str) -> list[Any]:
    """The CBOR item of an HR1 or HR2 text (decoded without the codec's checks)."""
    from verifier.codec import _b45decode

    body = _b45decode(text[4:])
    if text.startswith("HR2:"):  # HR2 sends the CBOR without zlib
        return cbor2.loads(body)  # type: ignore[no-any-return]
    return cbor2.loads(zlib.decompress(body))  # type: ignore[no-any-return]


def canon(item: object) -> bytes:
    return cbor2.dumps(item, canonical=True)


def spliced(item: list[Any], raw: bytes) -> bytes:
    """Canonical CBOR of `item` with the one MARKER byte string replaced by `raw` (any bytes)."""
    data = canon(item)
    encoded_marker = canon(MARKER)
    assert data.count(encoded_marker) == 1
    return data.replace(encoded_marker, raw)


def flags_for(item: list[Any]) -> bytes:
    """Proof flags of the length the item's fields and proof call for, in a pattern that is a
    consistent multiproof (first combine the leaves, then each proof hash): HR2 derives the
    document root from it, so an inconsistent one would be refused at decode instead."""
    leaves, hashes = len(item[1]) // 2, len(item[3]) // 32
    return pack_flags([True] * (leaves - 1) + [False] * hashes)


def pack_flags(flags: list[bool]) -> bytes:
    out = bytearray((len(flags) + 7) // 8)
    for i, flag in enumerate(flags):
        if flag:
            out[i >> 3] |= 0x80 >> (i & 7)
    return bytes(out)


def derived_roots(p: Presentation) -> Presentation:
    """`p` with the roots its fields and proofs lead to (what an HR2 verifier derives, with its suite's
    hash); ValueError if the multiproof is inconsistent."""
    h = digest_of(p.suite)
    leaves = [field_leaf(f.salt, f.path, f.value, h) for f in p.disclosure.fields]
    root = process_multiproof(leaves, p.disclosure.proof, p.disclosure.flags, h)
    return replace(p, document_root=root, batch_root=process_proof(root, p.batch_proof, h))


def restamp(p: Presentation, signer: StampSigner, domain: Domain) -> Presentation:
    """`p` (roots as derived) stamped anew by `signer`: what a node with that key would send."""
    p = derived_roots(p)
    return replace(p, stamp=signer.private_key.sign(stamp_message(stamped_envelope(domain, p))))


def with_fields(item: list[Any], extra: list[tuple[object, object]]) -> list[Any]:
    """The item with (path, value) pairs appended, zero salts and all-false flags to match."""
    out = copy.deepcopy(item)
    for path, value in extra:
        out[1] += [path, value]
        out[2] += bytes(16)
    out[4] = flags_for(out)
    return out


def _keys(index_or_path: object) -> set[object]:
    """A field's key as it may travel: itself, and for a path of HR2's table its index there (the
    first 14 indices are HR1's too, and HR1 items never hold the higher ones)."""
    keys = {index_or_path}
    if isinstance(index_or_path, str) and index_or_path in HR2_PATH_TABLE:
        keys.add(HR2_PATH_TABLE.index(index_or_path))
    return keys


def set_field(item: list[Any], index_or_path: object, value: object) -> list[Any]:
    out = copy.deepcopy(item)
    fields = out[1]
    for n in range(0, len(fields), 2):
        if fields[n] in _keys(index_or_path):
            fields[n + 1] = value
            return out
    raise KeyError(index_or_path)


def _salt_spans(item: list[Any]) -> list[tuple[int, int]]:
    """(start, end) of each field's salt in the salt string: 16 bytes each, or in HR2's short form
    one byte for each always-disclosed field (verifier/codec.py)."""
    paths = [HR2_PATH_TABLE[p] if isinstance(p, int) and 0 <= p < len(HR2_PATH_TABLE) else p
             for p in item[1][0::2]]
    short = len(item[2]) != 16 * len(paths)
    spans, at = [], 0
    for p in paths:
        size = 1 if short and p in ALWAYS_DISCLOSED else 16
        spans.append((at, at + size))
        at += size
    return spans


def drop_field(item: list[Any], index_or_path: object) -> list[Any]:
    out = copy.deepcopy(item)
    fields = out[1]
    for n in range(0, len(fields), 2):
        if fields[n] in _keys(index_or_path):
            start, end = _salt_spans(out)[n // 2]
            del fields[n : n + 2]
            out[2] = out[2][:start] + out[2][end:]
            out[4] = flags_for(out)
            return out
    raise KeyError(index_or_path)


def with_field_value(p: Presentation, path: str, value: object) -> Presentation:
    fields = [replace(f, value=value) if f.path == path else f for f in p.disclosure.fields]
    return replace(p, disclosure=replace(p.disclosure, fields=fields))


def cbor_head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for size, code in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | code]) + n.to_bytes(size, "big")
    raise ValueError(n)


def china_midnight(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=CHINA_TZ).timestamp())


# ============================================================================ the world


@dataclass
class Certs:
    plain: IssuedCertificate
    plain2: IssuedCertificate  # same batch as `plain`
    bound: IssuedCertificate
    holder_key: bytes
    driving: IssuedCertificate
    revoked: IssuedCertificate
    suspended: IssuedCertificate
    reinstated: IssuedCertificate
    unanchored: IssuedCertificate
    days: IssuedCertificate  # validFrom..validUntil in the future
    one_day: IssuedCertificate  # validUntil == validFrom
    forever: IssuedCertificate | None  # validUntil null
    sibling_signed: IssuedCertificate  # signed by another department's registered key
    unregistered_signed: IssuedCertificate  # signed by a key no registry knows
    two_key: IssuedCertificate  # signed by the department's second key, anchored by its first
    before_revocation: IssuedCertificate
    after_revocation: IssuedCertificate
    # holder-bound certificates for the legacy HR1 verdicts (an unsigned HR1 code is never VALID)
    bound_revoked: IssuedCertificate
    bound_suspended: IssuedCertificate
    bound_unanchored: IssuedCertificate
    bound_days: IssuedCertificate  # holder-bound, validFrom..validUntil in the future
    # the stamp
    tianjin: IssuedCertificate  # a Tianjin department's certificate (its node's stamping key was rotated)
    tj_old: StampSigner  # Tianjin's first stamping key, retired at `tj_retired_at`
    tj_new: StampSigner  # Tianjin's second stamping key
    tj_retired_at: int
    request_key: StampSigner  # an Ed25519 key registered for Beijing's node with purpose request signing
    guomi: Guomi | None = None  # crypto suite 2


@dataclass
class Guomi:
    """Crypto suite 2 (国密): a Shanghai department sealing with SM2 / SM3, Shanghai's node's SM2 stamp."""

    dept: Dept  # its secp256k1 side: the transaction key (registered as a key of the issuer) and a suite-1 service
    sm2_key: bytes  # its registered SM2 document-signing key (private)
    stamper: StampSigner  # Shanghai's SM2 stamping key (registered beside its Ed25519 one)
    plain: IssuedCertificate
    plain2: IssuedCertificate  # same batch as `plain`
    bound: IssuedCertificate  # holder-bound (the holder key of Certs)
    revoked: IssuedCertificate
    suspended: IssuedCertificate
    reinstated: IssuedCertificate
    unanchored: IssuedCertificate
    sibling_signed: IssuedCertificate  # signed with a sibling department's registered SM2 key
    unregistered_signed: IssuedCertificate  # signed with an SM2 key no registry knows
    international: IssuedCertificate  # a suite-1 certificate of the same department (a mixed deployment)
    other_key: bytes  # an SM2 private key no registry knows


def build_world(tmp: Path) -> tuple[World, Certs, dict[str, Dept]]:
    node = start_anvil()
    w = World.create(node, tmp, compile_contracts())
    # The regions' stamping keys are valid from their registration: let an hour pass, so codes made
    # up to an hour before the vectors' `now` fall inside their window.
    w.advance(3600)
    w.net.recognise(SH, DRIVING, 0)  # 上海 accepts driving licences from every region
    main = w.register("bj-main")
    sibling = w.register("bj-sibling")
    tj_dept = w.register("tj-dept", region=TJ)
    plain, plain2 = w.issue(main, [w.document(main), w.document(main)])
    holder_key = bytes(Account.create().key)
    bound = w.issue_one(main, holder=str(Account.from_key(holder_key).address))
    driving = w.issue_one(main, DRIVING)
    revoked, suspended, reinstated = w.issue(main, [w.document(main, valid_until=w.today() + timedelta(days=1)),
                                                    w.document(main), w.document(main)])
    w.change_status(main, revoked, "revoke")
    w.change_status(main, suspended, "suspend")
    w.change_status(main, reinstated, "suspend")
    w.change_status(main, reinstated, "reinstate")
    unanchored = w.issue_one(w.second_store(main, "bj-main-offline"), anchor=False)
    today = w.today()
    days = w.issue_one(main, valid_from=today + timedelta(days=10), valid_until=today + timedelta(days=15))
    one_day = w.issue_one(main, valid_from=today + timedelta(days=20), valid_until=today + timedelta(days=20))
    try:
        forever = w.issue(main, [{**w.document(main), "validUntil": None}])[0]
    except Exception:
        forever = None
    sibling_signed = w.issue_one(w.second_store(main, "bj-main-rogue", signing_key=bytes(sibling.account.key)))
    unregistered_signed = w.issue_one(w.second_store(main, "bj-main-forged", signing_key=bytes(Account.create().key)))
    second = Account.create()
    w.net.regional(BJ, "IssuerRegistry", "addKey", BJ, main.issuer_id, second.address, 0)
    two_key = w.issue_one(w.second_store(main, "bj-main-second-key", signing_key=bytes(second.key)))
    revoking = w.register("bj-revoked")
    before_revocation = w.issue_one(revoking)
    w.advance(30)
    after_revocation = w.issue_one(revoking)
    anchored_at = w.net.huren.anchor_of(after_revocation.batch_root)["timestamp"]
    w.advance(30)
    w.net.regional(BJ, "IssuerRegistry", "revokeIssuer", BJ, revoking.issuer_id, anchored_at)
    holder = str(Account.from_key(holder_key).address)
    bound_revoked, bound_suspended = w.issue(main, [w.document(main, holder=holder), w.document(main, holder=holder)])
    w.change_status(main, bound_revoked, "revoke")
    w.change_status(main, bound_suspended, "suspend")
    bound_unanchored = w.issue_one(w.second_store(main, "bj-main-offline-bound"), anchor=False, holder=holder)
    bound_days = w.issue_one(main, holder=holder, valid_from=today + timedelta(days=10),
                             valid_until=today + timedelta(days=15))
    # A Beijing node key for node-to-node requests (purpose 1): it must never count as a stamping key.
    request_key = StampSigner(BJ, Ed25519PrivateKey.generate())
    w.net.node_change(BJ, AddNodeKey(NodeAlgorithm.ED25519, NodeKeyPurpose.REQUEST_SIGNING, request_key.public_bytes))
    # Tianjin rotates its stamping key: a new one is added, the old one retired a few seconds later.
    tianjin = w.issue_one(tj_dept)
    tj_old = w.stampers[TJ]
    tj_new = StampSigner(TJ, Ed25519PrivateKey.generate())
    w.net.node_change(TJ, AddNodeKey(NodeAlgorithm.ED25519, NodeKeyPurpose.STAMPING, tj_new.public_bytes))
    w.advance(10)
    tj_retired_at = w.chain_time()
    w.net.node_change(TJ, RetireNodeKey(tj_old.key_id, tj_retired_at))
    guomi = build_guomi(w, holder)
    w.mine(2)
    w.views.sync()
    certs = Certs(plain, plain2, bound, holder_key, driving, revoked, suspended, reinstated, unanchored, days,
                  one_day, forever, sibling_signed, unregistered_signed, two_key, before_revocation,
                  after_revocation, bound_revoked, bound_suspended, bound_unanchored, bound_days, tianjin, tj_old,
                  tj_new, tj_retired_at, request_key, guomi)
    return w, certs, w.departments


def guomi_dept(w: World, dept: Dept, store_name: str, sm2_key: bytes) -> Dept:
    """`dept` sealing in crypto suite 2 with `sm2_key` (its own certificate store); its transaction key
    (the secp256k1 account) still anchors: an SM2 key cannot send a transaction."""
    chain = ChainLink(w.net.rpc, w.net.manifest, w.net.abis, dept.account)
    key_text = new_field_key()
    store = CertificateStore(f"sqlite:///{w.tmp / (store_name + '.sqlite')}", FieldCipher.from_key_text(key_text))
    spec = IntakeSpec(dept.department, sm2_key, chain.domain, key_text, suite=2)
    worker = AnchorWorker(store, chain, dept.department.credit_code, WORKER_POLICY)
    return Dept(dept.handle, dept.department, dept.account, chain, IssuerService(store, spec, chain), worker)


def build_guomi(w: World, holder: str) -> Guomi:
    """The suite-2 part of the world: Shanghai's node gets an SM2 stamping key beside its Ed25519 one,
    a Shanghai department an SM2 document-signing key (IssuerRegistry.addSM2Key), and certificates are
    issued in suite 2, anchored with anchorGuomi and changed with revokeGuomi / suspendGuomi /
    reinstateGuomi (no on-chain proof) by the department's service and worker."""
    w.net.recognise(HE, LICENCE, SH)  # Hebei recognises Shanghai's business licences
    stamper = StampSigner(SH, SM2NodePrivateKey.generate())
    w.net.node_change(SH, AddNodeKey(NodeAlgorithm.SM2_SM3, NodeKeyPurpose.STAMPING, stamper.public_bytes))
    dept = w.register("sh-guomi", region=SH)
    pair = sm2_generate_keypair()
    w.net.regional(SH, "IssuerRegistry", "addSM2Key", SH, dept.issuer_id, pair.public_key[1:], 0)
    sibling = w.register("sh-guomi-sibling", region=SH)
    sibling_pair = sm2_generate_keypair()
    w.net.regional(SH, "IssuerRegistry", "addSM2Key", SH, sibling.issuer_id, sibling_pair.public_key[1:], 0)
    other = sm2_generate_keypair()
    g = guomi_dept(w, dept, "sh-guomi-sm2", pair.private_key)
    plain, plain2 = w.issue(g, [w.document(g), w.document(g)])
    bound = w.issue_one(g, holder=holder)
    revoked, suspended, reinstated = w.issue(g, [w.document(g), w.document(g), w.document(g)])
    w.change_status(g, revoked, "revoke")
    w.change_status(g, suspended, "suspend")
    w.change_status(g, reinstated, "suspend")
    w.change_status(g, reinstated, "reinstate")
    unanchored = w.issue_one(guomi_dept(w, dept, "sh-guomi-offline", pair.private_key), anchor=False)
    sibling_signed = w.issue_one(guomi_dept(w, dept, "sh-guomi-rogue", sibling_pair.private_key))
    unregistered_signed = w.issue_one(guomi_dept(w, dept, "sh-guomi-forged", other.private_key))
    international = w.issue_one(dept)
    return Guomi(dept, pair.private_key, stamper, plain, plain2, bound, revoked, suspended, reinstated, unanchored,
                 sibling_signed, unregistered_signed, international, other.private_key)


# ============================================================================ facts


class Facts:
    """Chain facts read from the index, as trust-snapshot objects (chain-facts.md §9)."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.view = w.views.indexed
        fresh = self.view.freshness()
        self.height = fresh.height
        self.head_time = fresh.head_time

    def for_presentation(self, p: Presentation, verifier_region: int) -> dict[str, Any]:
        """Everything the checks ask about this presentation, and nothing else."""
        v = self.view
        anchor = v.anchor(p.batch_root)
        anchors = [anchor] if anchor is not None else []
        issuers, keys, statuses = [], [], []

        signer = signer_of(self.w.domain, p)
        addresses = {a for a in (signer, anchor.key if anchor else None) if a is not None}
        for address in sorted(addresses):
            key = v.key(address)
            if key is not None:
                keys.append(key)
        ids = {k.issuer_id for k in keys} | ({anchor.issuer_id} if anchor else set())
        for iid in sorted(ids):
            issuer = v.issuer(iid)
            if issuer is not None:
                issuers.append(issuer)
            status = v.certificate_status(p.document_root, iid)
            statuses.append(StatusEntry(iid, status))
        disclosed = p.disclosed()
        type_code = disclosed.get("type")
        types = []
        rules = []
        if isinstance(type_code, str):
            t = v.type_info(type_code)
            if t is not None:
                types.append(t)
            for issuer in issuers:
                for region in (issuer.region, 0):
                    rule = self.w.views.indexer.model.recognition(verifier_region, type_code, region,
                                                                  self.head_time)
                    if rule is not None and rule.issuer_region == region and rule not in rules:
                        rules.append(rule)
        stamp_keys = self.stamp_keys(disclosed.get("issuer.region")) if p.stamp is not None else []
        snap = TrustSnapshot(
            chain_id=self.w.domain.chain_id,
            ledger=self.w.domain.verifying_contract,
            height=self.height,
            head_time=self.head_time,
            created_at=self.head_time,
            issuers=tuple(issuers),
            keys=tuple(keys),
            types=tuple(types),
            recognition=tuple(rules),
            statuses=tuple(statuses),
            anchors=tuple(anchors),
            stamp_keys=tuple(stamp_keys),
        )
        obj = snap.to_json_obj()
        # The facts are read at `height`; the issuers' authorised types are not needed by any check.
        return obj


    def stamp_keys(self, region: object) -> list[NodeKey]:
        """The region's stamping keys as the index holds them, with their windows (retired ones too):
        only keys of purpose stamping, of a node that is active and a region that is a member."""
        if type(region) is not int:
            return []
        model = self.w.views.indexer.model
        return [k for k in model.node_keys(region) if k.purpose == int(NodeKeyPurpose.STAMPING)
                and model.node_key(region, k.key_id, k.valid_from, NodeKeyPurpose.STAMPING) is not None]


def signer_of(domain: Domain, p: Presentation) -> str | None:
    """The issuer key a code names: recovered from a suite-1 signature; in suite 2 the key id that
    precedes r || s (an SM2 key cannot be recovered)."""
    sig = p.issuer_signature
    if p.suite == 2:
        return to_checksum_address(sig[:20]) if type(sig) is bytes and len(sig) == 84 else None
    return recover_signer(domain, p.document_root, sig)


# ============================================================================ vectors


@dataclass
class Vector:
    id: str
    description: str
    code: str
    facts: dict[str, Any] | None
    policy: dict[str, Any]
    now: int
    verdict: str
    check: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "id": self.id,
            "description": self.description,
            "code": self.code,
            "facts": self.facts,
            "policy": self.policy,
            "now": self.now,
            "expected": {"verdict": self.verdict, "check": self.check},
        }


def engine_outcome(v: Vector) -> tuple[str, str | None]:
    policy = policy_from_vector(v.policy)
    result = verify_text(v.code, FactsChainView(v.facts), policy, v.now)
    failed = [c.name for c in result.checks if not c.ok]
    return str(result.verdict), (failed[-1] if failed else None)


class Gen:
    """The vectors of one format (`layout`): HR2 (the main set) or HR1 (legacy)."""

    def __init__(self, w: World, certs: Certs, depts: dict[str, Dept], layout: Layout) -> None:
        self.w = w
        self.c = certs
        self.depts = depts
        self.L = layout
        self.hr2 = layout.fmt == 2
        self.facts = Facts(w)
        self.now = self.facts.head_time + 5
        self.vectors: list[Vector] = []
        self.domain = {"chainId": w.domain.chain_id, "verifyingContract": w.domain.verifying_contract}

    # -- helpers ---------------------------------------------------------------------------
    def wrap(self, raw: bytes, level: int = 9) -> str:
        """A text around CBOR bytes: HR1 zlib-compresses them (at `level`), HR2 sends them as they are."""
        return self.L.prefix + b45(raw if self.hr2 else zlib.compress(raw, level))

    def policy(self, region: int = HE, **over: Any) -> dict[str, Any]:
        out = {"region": region, "domain": dict(self.domain), **DEFAULT_POLICY}
        for k, value in over.items():
            assert k in out, k
            out[k] = value
        return out

    def pres(self, cert: IssuedCertificate, now: int | None = None, *, holder_key: bytes | None = None,
             ttl: int = 300, paths: tuple[str, ...] | None = None, purpose: str = PURPOSE,
             stamped: bool | None = None, audience: int | None = None, nonce: bytes | None = None,
             fmt: int | None = None, signer: StampSigner | None = None) -> Presentation:
        """A code as the wallet makes it: in HR2 stamped by the issuing region's node (unless told not
        to, or by `signer`), holder-signed with `holder_key`."""
        fmt = self.L.fmt if fmt is None else fmt
        stamped = fmt == 2 if stamped is None else stamped
        region = cert.document["issuer"]["region"]
        assert cert.batch_root is not None and cert.batch_proof is not None
        if signer is None and cert.suite == 2:
            assert self.c.guomi is not None
            signer = self.c.guomi.stamper
        return make_presentation(
            list(cert.fields),
            paths if paths is not None else LICENCE_PATHS if cert.type_code == LICENCE else ("claims.name",),
            batch_root=cert.batch_root, batch_proof=cert.batch_proof, issuer_signature=cert.signature,
            purpose=purpose, domain=self.w.domain, holder_key=holder_key, now=self.now if now is None else now,
            ttl_s=ttl, nonce=nonce, stamp_signer=(signer or self.w.stampers[region]) if stamped else None,
            audience=audience, format=fmt, suite=cert.suite,
        )

    def send(self, p: Presentation) -> str:
        """The text of `p` as an attacker with the open format makes it (HR2: roots as derived)."""
        return encode(derived_roots(p) if p.format == 2 else p)

    def add(self, vid: str, description: str, code: str, verdict: str, check: str | None, *,
            facts: dict[str, Any] | str | None = "auto", p: Presentation | None = None,
            cert: IssuedCertificate | None = None, policy: dict[str, Any] | None = None, now: int | None = None,
            mutate: Callable[[dict[str, Any]], None] | None = None) -> None:
        policy = policy or self.policy()
        now = self.now if now is None else now
        if facts == "auto":
            base = p if p is not None else self.pres(cert or self.c.plain)
            facts = self.facts.for_presentation(base, policy["region"])
            if now != self.now and mutate is None:
                facts["headTime"] = now  # facts as if read at `now`
        if mutate is not None:
            assert isinstance(facts, dict)
            mutate(facts)
        vec = Vector(vid, description, code, facts, policy, now, verdict, check)  # type: ignore[arg-type]
        got = engine_outcome(vec)
        if got != (verdict, check):
            raise SystemExit(f"{self.L.prefix} vector {vid}: built for {(verdict, check)}, the engine says {got}")
        assert all(x.id != vid for x in self.vectors), vid
        self.vectors.append(vec)

    def valid(self, vid: str, description: str, code: str, **kw: Any) -> None:
        self.add(vid, description, code, "VALID", None, **kw)

    def plain_code(self, **kw: Any) -> str:
        return encode(self.pres(self.c.plain, **kw))

    def plain_item(self) -> list[Any]:
        return item_of(self.plain_code())

    @property
    def base_cert(self) -> IssuedCertificate:
        """The certificate of codes that can be VALID in this format: in HR1 only a holder-signed one can."""
        return self.c.plain if self.hr2 else self.c.bound

    def base_code(self, **kw: Any) -> str:
        """A code that can be VALID: HR2 stamped; HR1 holder-signed (an unsigned HR1 code never is)."""
        return encode(self.pres(self.base_cert, holder_key=None if self.hr2 else self.c.holder_key, **kw))

    def decode_fail(self, vid: str, description: str, code: str) -> None:
        self.add(vid, description, code, "MALFORMED", "decode")

    def tampered(self, hr1_check: str) -> tuple[str, str]:
        """Where a changed field, salt or proof is caught: in HR1 at `hr1_check` (the roots travel); in
        HR2 the roots are derived, lead elsewhere, and the stamp (which covers them) fails."""
        return ("TAMPERED", "stamp_signature") if self.hr2 else ("TAMPERED", hr1_check)

    def decoded_then_tampered(self, vid: str, description: str, item: list[Any]) -> None:
        """Accepted by the decoder (the limit is inclusive); the added or changed field then fails the proof."""
        how = ("the roots it leads to are not the stamped ones, so the stamp fails" if self.hr2
               else "the disclosure proof fails")
        text = self.wrap(canon(item))
        if len(text) > MAX_TEXT_CHARS:  # HR2 has no zlib: some HR1 limits lie beyond the text cap
            self.decode_fail(vid, description + f" In {self.L.prefix[:-1]} this is {len(text)} characters, over the "
                             f"{MAX_TEXT_CHARS}-character cap, so it is refused first.", text)
            return
        self.add(vid, description + f" Accepted by the decoder; the field is not part of the document, so {how}.",
                 text, *self.tampered("disclosure_proof"))

    # -- groups ----------------------------------------------------------------------------
    def run(self) -> list[Vector]:
        if self.hr2:
            self.verdicts()
            self.structure()
            self.window()
            self.integrity_hr2()
            self.holder()
            self.chain()
            self.stamp()
            self.guomi()
        else:
            self.legacy()
            self.structure()
            self.integrity()
        self.decode_text()
        self.decode_zlib()
        self.decode_cbor()
        self.decode_layout()
        self.decode_fields()
        return self.vectors

    def verdicts(self) -> None:
        c = self.c
        self.valid("valid/recognised-other-region", "A business licence of a Beijing department, verified in Hebei, "
                   "which recognises Beijing's licences. Real issuance and facts.", self.plain_code(),
                   policy=self.policy(HE))
        self.valid("valid/own-region", "Verified in the issuer's own region (no recognition rule needed).",
                   self.plain_code(), policy=self.policy(BJ))
        self.valid("valid/every-region-rule", "A driving licence verified in Shanghai, which recognises driving "
                   "licences from every region (issuerRegion 0).", encode(self.pres(c.driving)), cert=c.driving,
                   policy=self.policy(SH))
        self.valid("valid/holder-bound", "A holder-bound certificate presented with the holder's EIP-712 signature.",
                   encode(self.pres(c.bound, holder_key=c.holder_key)), cert=c.bound)
        self.valid("valid/reinstated", "Suspended, then reinstated: in force again (real status changes).",
                   encode(self.pres(c.reinstated)), cert=c.reinstated)
        self.valid("valid/anchored-before-issuer-revocation", "The issuer was revoked (backdated) from the time "
                   "of a later anchor; this certificate was anchored before that point and stands.",
                   encode(self.pres(c.before_revocation)), cert=c.before_revocation)
        self.valid("valid/second-key", "Signed by the department's second registered key and anchored by its "
                   "first key.", encode(self.pres(c.two_key)), cert=c.two_key)
        self.valid("valid/signing-address-disclosed", "issuer.signingAddress is disclosed (as 20 bytes) and equals "
                   "the signer.", encode(self.pres(c.plain, paths=(*LICENCE_PATHS, "issuer.signingAddress"))))
        self.valid("valid/whole-document", "Every field of the document disclosed (empty multiproof or nearly).",
                   encode(self.pres(c.plain, paths=tuple(f.path for f in c.plain.fields))))
        self.valid("valid/only-always-disclosed", "Only the seven always-disclosed fields.",
                   encode(self.pres(c.plain, paths=())))
        self.valid("valid/same-batch-sibling", "The other certificate of the same two-certificate batch "
                   "(non-empty batch proof).", encode(self.pres(c.plain2)), cert=c.plain2)
        self.add("not-anchored", "Issued and batched, but the batch was never anchored.",
                 encode(self.pres(c.unanchored)), "NOT_ANCHORED", "anchor", cert=c.unanchored)
        self.add("revoked", "Revoked by its issuer (real transaction).", encode(self.pres(c.revoked)), "REVOKED",
                 "certificate_status", cert=c.revoked)
        self.add("suspended", "Suspended by its issuer (real transaction).", encode(self.pres(c.suspended)),
                 "SUSPENDED", "certificate_status", cert=c.suspended)
        self.add("issuer-revoked/anchored-after", "The issuer's revocation is backdated to this anchor's time.",
                 encode(self.pres(c.after_revocation)), "ISSUER_REVOKED", "issuer_standing",
                 cert=c.after_revocation)
        self.add("not-recognised", "A Beijing business licence verified in Shanghai, which has no rule for it.",
                 self.plain_code(), "NOT_RECOGNISED", "recognition", policy=self.policy(SH))
        self.add("signing-key/other-department", "Signed with a sibling department's registered key, anchored by "
                 "this department.", encode(self.pres(c.sibling_signed)), "ISSUER_NOT_AUTHORISED", "signing_key",
                 cert=c.sibling_signed)
        self.add("signing-key/unregistered", "Signed with a key that no registry knows (real issuance with a "
                 "forged key).", encode(self.pres(c.unregistered_signed)), "TAMPERED", "signing_key",
                 cert=c.unregistered_signed)
        self.add("chain-access/unreachable", "No chain facts at all (facts null: no node, no snapshot).",
                 self.plain_code(), "UNAVAILABLE", "chain_access", facts=None)
        self.add("pending-finality/policy", "One confirmation more required than the anchor has.",
                 self.plain_code(), "PENDING_FINALITY", "finality",
                 policy=self.policy(confirmations=self._confirmations(c.plain) + 1))

    def _confirmations(self, cert: IssuedCertificate) -> int:
        anchor = self.facts.view.anchor(cert.batch_root)  # type: ignore[arg-type]
        assert anchor is not None
        return self.facts.height - anchor.block_number + 1

    # -- structure (check 1) ---------------------------------------------------------------
    def structure(self) -> None:
        base = self.plain_item()
        mal = "MALFORMED"

        def bad(vid: str, description: str, item: list[Any]) -> None:
            self.add("structure/" + vid, description, self.wrap(canon(item)), mal, "structure")

        for path in ("version", "id", "type", "issuer.creditCode", "issuer.region", "validFrom", "validUntil"):
            index = ("version", "id", "type", "issuer.creditCode", "issuer.region", "validFrom",
                     "validUntil").index(path)
            if path in ("type", "issuer.creditCode"):
                # Without it the compact id cannot be expanded: the decoder refuses. With the id in
                # full text, the structure check is reached.
                self.decode_fail(f"fields/id-compact-without-{path}", f"The id in compact form (bytes) while "
                                 f"{path} is not disclosed: the id cannot be expanded.",
                                 self.wrap(canon(drop_field(base, index))))
                bad(f"missing-{path}", f"The always-disclosed field {path} is not disclosed (the id travels in "
                    "full as text).", drop_field(set_field(base, 1, self.c.plain.document["id"]), index))
                continue
            bad(f"missing-{path}", f"The always-disclosed field {path} is not disclosed.", drop_field(base, index))
        bad("version-2", "Field version is 2.", set_field(base, 0, 2))
        bad("version-float", "Field version is the float 1.0 (CBOR f9 3c00).", set_field(base, 0, 1.0))
        bad("version-true", "Field version is true.", set_field(base, 0, True))
        bad("version-text", "Field version is the text \"1\".", set_field(base, 0, "1"))
        bad("id-empty", "Field id is the empty text.", set_field(base, 1, ""))
        bad("id-integer", "Field id is an integer.", set_field(base, 1, 12345))
        bad("type-integer", "Field type is an integer (the id travels in full as text).",
            set_field(set_field(base, 1, self.c.plain.document["id"]), 2, 11100000))
        bad("type-empty", "Field type is the empty text.", set_field(base, 2, ""))
        bad("type-33-ascii", "Field type is 33 ASCII characters (limit 32).", set_field(base, 2, "A" * 33))
        bad("type-non-ascii", "Field type holds a non-ASCII character.", set_field(base, 2, "营业执照"))
        bad("type-nul", "Field type holds U+0000.", set_field(base, 2, "111\x00"))
        bad("credit-code-lower-case", "issuer.creditCode in lower case.",
            set_field(base, 3, self._credit_code().lower()))
        bad("credit-code-17", "issuer.creditCode of 17 characters.", set_field(base, 3, self._credit_code()[:17]))
        bad("credit-code-letter-I", "issuer.creditCode with the letter I (not in the GB 32100 alphabet).",
            set_field(base, 3, self._credit_code()[:17] + "I"))
        bad("credit-code-letter-in-digits", "issuer.creditCode with a letter in positions 3-8 (must be digits).",
            set_field(base, 3, self._credit_code()[:2] + "A" + self._credit_code()[3:]))
        bad("region-float", "issuer.region is the float 110000.0.", set_field(base, 4, 110000.0))
        bad("region-text", "issuer.region is the text \"110000\".", set_field(base, 4, "110000"))
        bad("region-99999", "issuer.region 99999 (below 100000).", set_field(base, 4, 99999))
        bad("region-1000000", "issuer.region 1000000 (above 999999).", set_field(base, 4, 1000000))
        bad("region-true", "issuer.region is true.", set_field(base, 4, True))
        bad("valid-from-bad-format", "validFrom is 2025/05/22.", set_field(base, 5, "2025/05/22"))
        bad("valid-from-not-a-date", "validFrom is 2025-02-30 (no such day).", set_field(base, 5, "2025-02-30"))
        bad("valid-from-null", "validFrom is null.", set_field(base, 5, None))
        bad("valid-from-year-0", "validFrom is 0000-01-01 (year 0 is not a date).",
            set_field(base, 5, "0000-01-01"))
        bad("valid-until-bad-format", "validUntil is 20300101.", set_field(base, 6, "20300101"))
        bad("valid-until-before-from", "validUntil is the day before validFrom.",
            set_field(set_field(base, 5, "2025-05-22"), 6, "2025-05-21"))
        # Boundaries that pass the structure check: the changed value then fails the proof.
        for vid, description, item in (
            ("region-100000", "issuer.region 100000 (lowest accepted).", set_field(base, 4, 100000)),
            ("region-999999", "issuer.region 999999 (highest accepted).", set_field(base, 4, 999999)),
            ("type-32-ascii", "type of exactly 32 ASCII characters.", set_field(base, 2, "A" * 32)),
            ("valid-until-equals-from", "validUntil equal to validFrom.",
             set_field(set_field(base, 5, "2025-05-22"), 6, "2025-05-22")),
            ("valid-until-far", "validUntil 9999-12-31 (the latest date).", set_field(base, 6, "9999-12-31")),
            ("leap-day", "validFrom 2024-02-29 (a real date).", set_field(base, 5, "2024-02-29")),
        ):
            how = ("the roots it leads to are not the stamped ones, so the stamp fails" if self.hr2
                   else "the disclosure proof fails")
            self.add("structure/" + vid, description + " Passes the structure check; the changed value is not "
                     f"the document's, so {how}.", self.wrap(canon(item)), *self.tampered("disclosure_proof"))

    def _credit_code(self) -> str:
        return str(self.c.plain.document["issuer"]["creditCode"])

    # -- presentation window (check 2) ----------------------------------------------------
    def window(self) -> None:
        now, skew, age = self.now, DEFAULT_POLICY["clock_skew_s"], DEFAULT_POLICY["max_presentation_age_s"]
        c = self.c.plain

        def code_at(created: int, ttl: int = 300) -> str:
            return encode(self.pres(c, now=created, ttl=ttl))

        self.valid("window/created-at-now-plus-skew", "created_at = now + clock_skew_s (the latest accepted).",
                   code_at(now + skew))
        self.add("window/created-at-now-plus-skew-plus-1", "created_at = now + clock_skew_s + 1: made in the "
                 "future.", code_at(now + skew + 1), "MALFORMED", "presentation_window")
        self.valid("window/expires-at-plus-skew-equals-now", "expires_at + clock_skew_s = now (still accepted).",
                   code_at(now - skew - 300))
        self.add("window/expires-at-plus-skew-before-now", "expires_at + clock_skew_s = now - 1.",
                 code_at(now - skew - 301), "PRESENTATION_EXPIRED", "presentation_window")
        self.valid("window/age-equals-max-plus-skew", "now - created_at = max_presentation_age_s + clock_skew_s "
                   "(ttl 86,400 so only the age bound applies).", code_at(now - age - skew, 86_400))
        self.add("window/age-over-max-plus-skew", "now - created_at = max_presentation_age_s + clock_skew_s + 1.",
                 code_at(now - age - skew - 1, 86_400), "PRESENTATION_EXPIRED", "presentation_window")
        self.add("window/zero-skew-expired", "clock_skew_s 0: expires_at = now - 1.", code_at(now - 301),
                 "PRESENTATION_EXPIRED", "presentation_window", policy=self.policy(clock_skew_s=0))
        self.valid("window/zero-skew-expires-now", "clock_skew_s 0: expires_at = now (accepted).",
                   code_at(now - 300), policy=self.policy(clock_skew_s=0))
        self.add("window/expired-and-tampered", "Expired and tampered: the window is checked first.",
                 encode(with_field_value(self.pres(c, now=now - 10_000), "claims.entityName", "伪造")),
                 "PRESENTATION_EXPIRED", "presentation_window")
        self.add("window/future-and-tampered", "Made in the future and tampered: the window is checked first.",
                 encode(with_field_value(self.pres(c, now=now + 3600), "claims.entityName", "伪造")),
                 "MALFORMED", "presentation_window")
        far = now + 10 * 365 * 86_400
        self.add("window/created-at-far-future", "created_at ten years after now.",
                 self.wrap(canon([*self.plain_item()[:self.L.created], far,
                                  *self.plain_item()[self.L.created + 1:]])), "MALFORMED",
                 "presentation_window")
        self.created_at_max()

    def created_at_max(self) -> None:
        """created_at = 2^63 - 1, the largest the decoder accepts: beyond any calendar, made in the future."""
        item = self.plain_item()
        item[self.L.created] = 2**63 - 1
        self.add("window/created-at-2^63-minus-1", "created_at = 2^63 - 1 (accepted by the decoder; past the year "
                 "9999): made in the future, answered, not raised.", self.wrap(canon(item)), "MALFORMED",
                 "presentation_window")

    # -- integrity (checks 3-5) ----------------------------------------------------------
    def integrity(self) -> None:
        c = self.c
        p = self.pres(c.plain)
        other = self.pres(c.plain2)
        tam = "TAMPERED"
        self.add("disclosure/value-changed", "A disclosed claim value changed.",
                 encode(with_field_value(p, "claims.entityName", "北京示例伪造科技有限公司")), tam, "disclosure_proof")
        fields = [replace(f, salt=bytes(16)) if f.path == "claims.entityName" else f for f in p.disclosure.fields]
        self.add("disclosure/salt-changed", "A disclosed field's salt set to zeros.",
                 encode(replace(p, disclosure=replace(p.disclosure, fields=fields))), tam, "disclosure_proof")
        flipped = [not f if i == 0 else f for i, f in enumerate(p.disclosure.flags)]
        self.add("disclosure/flag-flipped", "The first multiproof flag flipped.",
                 encode(replace(p, disclosure=replace(p.disclosure, flags=flipped))), tam, "disclosure_proof")
        proof = [bytes(32), *list(p.disclosure.proof[1:])]
        self.add("disclosure/proof-hash-zeroed", "The first multiproof hash set to zeros.",
                 encode(replace(p, disclosure=replace(p.disclosure, proof=proof))), tam, "disclosure_proof")
        self.add("disclosure/document-root-of-other", "The document root of the other certificate in the batch.",
                 encode(replace(p, document_root=other.document_root)), tam, "disclosure_proof")
        self.add("disclosure/float-beyond-2^53", "A claim value is the float 1e300: accepted by the decoder, "
                 "but it cannot be canonicalised (RFC 8785 range ±(2^53 - 1)).",
                 encode(with_field_value(p, "claims.entityName", 1e300)), "MALFORMED", "disclosure_proof")
        self.add("disclosure/float-2^53", "A claim value is the float 9007199254740992.0 (2^53): outside the "
                 "canonicalisable range.", encode(with_field_value(p, "claims.entityName", 9007199254740992.0)),
                 "MALFORMED", "disclosure_proof")
        self.add("disclosure/float-fraction", "A claim value is the float 0.1 (canonicalisable: '0.1'); the value "
                 "is not the document's.", encode(with_field_value(p, "claims.entityName", 0.1)), tam,
                 "disclosure_proof")
        self.add("batch-proof/other-certificates-proof", "The batch proof of the other certificate in the batch.",
                 encode(replace(p, batch_proof=other.batch_proof)), tam, "batch_proof")
        self.add("batch-proof/empty", "The batch proof removed.", encode(replace(p, batch_proof=[])), tam,
                 "batch_proof")
        self.add("batch-proof/batch-root-changed", "The batch root changed (last byte).",
                 encode(replace(p, batch_root=p.batch_root[:31] + bytes([p.batch_root[31] ^ 1]))), tam,
                 "batch_proof")
        sig = p.issuer_signature
        r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]

        def with_sig(new: bytes) -> str:
            return encode(replace(p, issuer_signature=new))

        for vid, description, new in (
            ("v-29", "v = 29.", sig[:64] + bytes([29])),
            ("v-0", "v = 0 (only 27 and 28 are accepted).", sig[:64] + bytes([v - 27])),
            ("v-1", "v = 1 (only 27 and 28 are accepted).", sig[:64] + bytes([1])),
            ("high-s", "s replaced by n - s and v flipped: the same signature in its high-s form.",
             sig[:32] + (N - s).to_bytes(32, "big") + bytes([55 - v])),
            ("r-zero", "r = 0.", bytes(32) + sig[32:]),
            ("s-zero", "s = 0.", sig[:32] + bytes(32) + sig[64:]),
            ("r-equals-n", "r = n.", N.to_bytes(32, "big") + sig[32:]),
            ("s-half-n-plus-1", "s = floor(n/2) + 1.", sig[:32] + (N // 2 + 1).to_bytes(32, "big") + sig[64:]),
            ("r-not-on-curve", "r = 5 has no point on the curve (x^3 + 7 is not a square mod p).",
             (5).to_bytes(32, "big") + sig[32:]),
        ):
            self.add("issuer-signature/" + vid, description, with_sig(new), tam, "issuer_signature")
        assert r > 0
        # A valid signature over another root recovers some other address: no registered key. An
        # unsigned HR1 code stops at `stamp` before the key registry is asked, so the holder re-signs.
        bound = self.pres(c.bound, holder_key=c.holder_key)
        swapped = replace(bound, issuer_signature=other.issuer_signature)
        swapped = replace(swapped, holder_signature=sign_digest(c.holder_key,
                                                                holder_signing_digest(self.w.domain, swapped)))
        self.add("signing-key/swapped-signature", "The issuer signature of another certificate, and the holder "
                 "signs the result: the issuer signature recovers to an address that is no registered key.",
                 encode(swapped), tam, "signing_key", cert=c.bound)
        q = self.pres(c.plain, paths=(*LICENCE_PATHS, "issuer.signingAddress"))
        self.add("issuer-signature/swapped-with-signing-address", "The other certificate's signature while "
                 "issuer.signingAddress is disclosed: the signer is not the named address.",
                 encode(replace(q, issuer_signature=other.issuer_signature)), tam, "issuer_signature")
    # -- integrity in HR2 (checks 3-5: the roots are derived, the signatures compact) -------
    def integrity_hr2(self) -> None:
        c, L = self.c, self.L
        p = self.pres(c.plain)
        other = self.pres(c.plain2)
        tam = ("TAMPERED", "stamp_signature")
        why = (" HR2 carries neither root: the verifier derives them from the fields and proofs, and the stamp, "
               "which covers both, fails.")
        self.add("disclosure/value-changed", "A disclosed claim value changed." + why,
                 self.send(with_field_value(p, "claims.entityName", "北京示例伪造科技有限公司")), *tam)
        fields = [replace(f, salt=bytes(16)) if f.path == "claims.entityName" else f for f in p.disclosure.fields]
        self.add("disclosure/salt-changed", "A disclosed field's salt set to zeros." + why,
                 self.send(replace(p, disclosure=replace(p.disclosure, fields=fields))), *tam)
        # Flipping one flag changes the number of `false` flags, which must equal the number of proof
        # hashes: the multiproof is always inconsistent, and no document root can be derived.
        item = item_of(encode(p))
        item[L.flags] = pack_flags([not f if i == 0 else f for i, f in enumerate(p.disclosure.flags)])
        self.decode_fail("disclosure/flag-flipped", "The first multiproof flag flipped: the multiproof is then "
                         "inconsistent (one proof hash too many or too few) and no document root can be derived.",
                         self.wrap(canon(item)))
        proof = [bytes(32), *list(p.disclosure.proof[1:])]
        self.add("disclosure/proof-hash-zeroed", "The first multiproof hash set to zeros." + why,
                 self.send(replace(p, disclosure=replace(p.disclosure, proof=proof))), *tam)
        q = self.pres(c.plain, paths=(*LICENCE_PATHS, "issuer.signingAddress"))
        self.add("disclosure/value-changed-signing-address-disclosed", "A disclosed claim value changed while "
                 "issuer.signingAddress is disclosed: the issuer signature, over the derived (other) root, does not "
                 "recover to the named address. Caught before any chain fact is needed.",
                 self.send(with_field_value(q, "claims.entityName", "伪造")), "TAMPERED", "issuer_signature",
                 facts=None)
        item = item_of(encode(p))
        self.decode_fail("disclosure/float-beyond-2^53", "A claim value is the float 1e300: it cannot be "
                         "canonicalised (RFC 8785 range ±(2^53 - 1)), so its leaf and the document root cannot be "
                         "derived (in HR1: MALFORMED at disclosure_proof).",
                         self.wrap(canon(set_field(item, "claims.entityName", 1e300))))
        self.decode_fail("disclosure/float-2^53", "A claim value is the float 9007199254740992.0 (2^53): outside "
                         "the canonicalisable range, refused while deriving the root.",
                         self.wrap(canon(set_field(item, "claims.entityName", 9007199254740992.0))))
        self.add("disclosure/float-fraction", "A claim value is the float 0.1 (canonicalisable: '0.1'); the value "
                 "is not the document's." + why, self.send(with_field_value(p, "claims.entityName", 0.1)), *tam)
        self.add("batch-proof/other-certificates-proof", "The batch proof of the other certificate in the batch: it "
                 "leads to another batch root, which the stamp does not cover (TAMPERED, not NOT_ANCHORED).",
                 self.send(replace(p, batch_proof=other.batch_proof)), *tam)
        self.add("batch-proof/empty", "The batch proof removed (the document root itself would be the batch root).",
                 self.send(replace(p, batch_proof=[])), *tam)
        self.add("batch-proof/hash-changed", "The batch proof's first hash changed (last byte).",
                 self.send(replace(p, batch_proof=[p.batch_proof[0][:31] + bytes([p.batch_proof[0][31] ^ 1]),
                                                   *p.batch_proof[1:]])), *tam)
        compact = compact_signature(p.issuer_signature)
        r, s_top = compact[:32], compact[32:]

        def with_compact(new: bytes) -> str:
            out = copy.deepcopy(item)
            out[L.issuer_sig] = new
            return self.wrap(canon(out))

        for vid, description, new in (
            ("r-zero", "r = 0.", bytes(32) + s_top),
            ("s-zero", "s = 0 (yParity 0).", r + bytes(32)),
            ("r-equals-n", "r = n.", N.to_bytes(32, "big") + s_top),
            ("s-half-n-plus-1", "s = floor(n/2) + 1 (yParity 0): a high s, refused (EIP-2).",
             r + (N // 2 + 1).to_bytes(32, "big")),
            ("r-not-on-curve", "r = 5 has no point on the curve (x^3 + 7 is not a square mod p).",
             (5).to_bytes(32, "big") + s_top),
        ):
            self.add("issuer-signature/" + vid, "The issuer signature (64-byte EIP-2098 form r || yParity·2^255 + s): "
                     + description, with_compact(new), "TAMPERED", "issuer_signature")
        self.add("issuer-signature/compact-parity-flipped", "The issuer signature's yParity bit (top bit of its "
                 "second half) flipped: it recovers to another address, which is no registered key. The stamp does "
                 "not cover the issuer signature, so the key registry decides.",
                 with_compact(r + bytes([s_top[0] ^ 0x80]) + s_top[1:]), "TAMPERED", "signing_key")
        self.add("signing-key/swapped-signature", "The issuer signature of the other certificate: it recovers to an "
                 "address that is no registered key.", encode(replace(p, issuer_signature=other.issuer_signature)),
                 "TAMPERED", "signing_key")
        self.add("issuer-signature/swapped-with-signing-address", "The other certificate's signature while "
                 "issuer.signingAddress is disclosed: the signer is not the named address.",
                 encode(replace(q, issuer_signature=other.issuer_signature)), "TAMPERED", "issuer_signature")
        self.add("issuer-signature/other-deployment", "The verifier's policy names another deployment "
                 "(verifyingContract): the stamp message holds the deployment's EIP-712 domain separator, so the "
                 "stamp fails (before the issuer's key is looked up).", self.plain_code(), *tam,
                 policy={**self.policy(), "domain": {"chainId": self.domain["chainId"],
                                                     "verifyingContract": to_checksum_address(bytes(19) + b"\x01")}})
        self.add("issuer-signature/other-chain-id", "The verifier's policy names another chain id.",
                 self.plain_code(), *tam,
                 policy={**self.policy(), "domain": {**self.domain, "chainId": self.domain["chainId"] + 1}})

    # -- the 加注 stamp (checks 7 and 9) ---------------------------------------------------
    def stamp(self) -> None:
        c, now, w = self.c, self.now, self.w
        dom = w.domain
        tam = ("TAMPERED", "stamp_signature")
        pe = "PRESENTATION_EXPIRED"
        p = self.pres(c.plain)

        def stamped_by(q: Presentation, signer: StampSigner) -> Presentation:
            """`q` stamped by `signer` whatever region it is for (as a rogue node would)."""
            return restamp(q, signer, dom)

        def keys(f: dict[str, Any]) -> list[dict[str, Any]]:
            return f["stampKeys"]  # type: ignore[no-any-return]

        # the envelope: re-timed, extended, re-purposed, re-nonced
        old = self.pres(c.plain, now=now - 3000)
        self.add("stamp/expired-as-made", "A code made 3,000 s ago: expired (the re-timing vector below starts "
                 "from it).", encode(old), pe, "presentation_window")
        self.add("stamp/retimed", "The expired code with created_at set to now - 5 (ttl kept): the stamp covers "
                 "created_at.", self.send(replace(old, created_at=now - 5, expires_at=now + 295)), *tam)
        self.add("stamp/retimed-one-second", "created_at and expires_at moved one second earlier.",
                 self.send(replace(p, created_at=p.created_at - 1, expires_at=p.expires_at - 1)), *tam)
        self.add("stamp/expiry-extended", "ttl raised from 300 to 900 after stamping.",
                 self.send(replace(p, expires_at=p.expires_at + 600)), *tam)
        self.add("stamp/expiry-shortened", "ttl lowered from 300 to 299 after stamping (any change counts).",
                 self.send(replace(p, expires_at=p.expires_at - 1)), *tam)
        self.add("stamp/repurposed", "The 事由 changed after stamping.", self.send(replace(p, purpose="办理贷款")),
                 *tam)
        self.add("stamp/purpose-emptied", "The 事由 emptied after stamping.", self.send(replace(p, purpose="")),
                 *tam)
        self.add("stamp/renonced", "The nonce replaced after stamping (a replayed code made to look fresh).",
                 self.send(replace(p, nonce=bytes(range(100, 112)))), *tam)
        # splicing
        nonce = bytes(range(12))
        a = self.pres(c.plain, nonce=nonce)
        b = self.pres(c.plain2, nonce=nonce)
        self.add("stamp/spliced-from-other-code", "The stamp of a code of another certificate (same batch, same "
                 "created_at, ttl, nonce and 事由) put on this certificate's code: the stamp covers the document "
                 "root and the disclosed leaves.", self.send(replace(b, stamp=a.stamp)), *tam, cert=c.plain2)
        a = self.pres(c.plain, now=now - 20)
        b = self.pres(c.plain2, now=now - 100)
        self.add("stamp/envelope-spliced", "The whole envelope (created_at, ttl, nonce, 事由 and stamp) of a fresher "
                 "code of another certificate put on an older code.",
                 self.send(replace(b, created_at=a.created_at, expires_at=a.expires_at, nonce=a.nonce,
                                   purpose=a.purpose, stamp=a.stamp)), *tam, cert=c.plain2)
        narrow = self.pres(c.plain, paths=LICENCE_PATHS[:1], nonce=nonce)
        wide = self.pres(c.plain, paths=LICENCE_PATHS, nonce=nonce)
        self.add("stamp/field-set-widened", "The stamp of a code disclosing fewer fields put on a code of the same "
                 "certificate, moment and nonce disclosing one more: the stamp covers the disclosed leaves.",
                 self.send(replace(wide, stamp=narrow.stamp)), *tam)
        self.add("stamp/field-set-narrowed", "The converse: the wider code's stamp on the narrower code.",
                 self.send(replace(narrow, stamp=wide.stamp)), *tam)
        assert p.stamp is not None
        self.add("stamp/bit-flipped", "The stamp's last byte changed.",
                 self.send(replace(p, stamp=p.stamp[:63] + bytes([p.stamp[63] ^ 1]))), *tam)
        self.add("stamp/zeros", "A stamp of 64 zero bytes.", self.send(replace(p, stamp=bytes(64))), *tam)
        # whose key
        sh = w.stampers[SH]
        self.add("stamp/other-regions-key", "Stamped by Shanghai's node (its registered stamping key) although the "
                 "certificate's issuer.region is Beijing: only Beijing's stamping keys count.",
                 self.send(stamped_by(p, sh)), *tam)
        sh_keys = [key_obj(k) for k in self.facts.stamp_keys(SH)]
        self.add("stamp/other-regions-key-listed", "As stamp/other-regions-key, with Shanghai's stamping key also in "
                 "the facts: a verifier must try only the keys of the disclosed issuer.region.",
                 self.send(stamped_by(p, sh)), *tam, mutate=lambda f: keys(f).extend(sh_keys))
        moved = stamped_by(with_field_value(p, "issuer.region", SH), sh)
        self.add("stamp/other-region-restamps-with-its-region", "Shanghai's node changes issuer.region to 310000 "
                 "and stamps the result with its own (registered) key, listed in the facts: the stamp is good, but "
                 "the derived roots are not the anchored ones, so the derived batch root is not anchored.",
                 self.send(moved), "NOT_ANCHORED", "anchor", mutate=lambda f: keys(f).extend(sh_keys))
        self.add("stamp/unregistered-key", "Stamped by an Ed25519 key no registry lists.",
                 self.send(stamped_by(p, StampSigner(BJ, Ed25519PrivateKey.generate()))), *tam)
        self.add("stamp/request-signing-key", "Stamped by an Ed25519 key registered on chain for Beijing's node with "
                 "purpose 1 (node-to-node request signing): it is not a stamping key, so the facts do not list it.",
                 self.send(stamped_by(p, c.request_key)), *tam)
        self.add("stamp/no-stamping-keys", "The facts list no stamping key at all.", self.plain_code(), *tam,
                 mutate=lambda f: f.__setitem__("stampKeys", []))
        # key windows: mutated boundaries on Beijing's key, a real rotation on Tianjin's
        t = p.created_at

        def window(valid_from: int | None = None, until: object = "keep") -> Callable[[dict[str, Any]], None]:
            def go(f: dict[str, Any]) -> None:
                (k,) = keys(f)
                if valid_from is not None:
                    k["validFrom"] = valid_from
                if until != "keep":
                    k["validUntil"] = until
            return go

        code = encode(p)
        self.add("stamp-key/valid-until-equals-created-at", "The stamping key's validUntil = created_at (the end is "
                 "exclusive): no key of the region was valid when the code was made.", code, *tam,
                 mutate=window(until=t))
        self.valid("stamp-key/valid-until-after-created-at", "The stamping key's validUntil = created_at + 1.", code,
                   mutate=window(until=t + 1))
        self.valid("stamp-key/valid-from-equals-created-at", "The stamping key's validFrom = created_at.", code,
                   mutate=window(valid_from=t))
        self.add("stamp-key/valid-from-after-created-at", "The stamping key's validFrom = created_at + 1.", code, *tam,
                 mutate=window(valid_from=t + 1))
        self.valid("stamp-key/retired-since", "The stamping key was retired (validUntil = now - 1) after the code "
                   "was made (created_at = now - 30): the key's window at created_at is what counts.",
                   encode(self.pres(c.plain, now=now - 30)), mutate=window(until=now - 1))
        tj, retired = c.tianjin, c.tj_retired_at
        tj_policy = self.policy(TJ)
        self.valid("stamp-key/rotated-old-key-before-retirement", "Tianjin's node rotated its stamping key on chain "
                   "(a second key added, the first retired at T). A code made at T - 1, stamped by the first key.",
                   encode(self.pres(tj, now=retired - 1, signer=c.tj_old)), cert=tj, policy=tj_policy)
        self.add("stamp-key/rotated-old-key-at-retirement", "A code made at T (the first key's validUntil, exclusive), "
                 "stamped by the first key.", encode(self.pres(tj, now=retired, signer=c.tj_old)), *tam, cert=tj,
                 policy=tj_policy)
        self.valid("stamp-key/rotated-new-key", "A code made at T, stamped by the second key.",
                   encode(self.pres(tj, now=retired, signer=c.tj_new)), cert=tj, policy=tj_policy)
        # stamp missing
        self.add("stamp/stripped", "The stamp removed (element 12 null), no holder signature: nothing authenticates "
                 "the window and 事由.", encode(replace(p, stamp=None)), pe, "stamp")
        self.add("stamp/unstamped-and-unreachable", "An unstamped, unsigned code with facts null: refused at `stamp` "
                 "before any chain fact is asked for.", encode(self.pres(c.plain, stamped=False)), pe, "stamp",
                 facts=None)
        self.add("stamp/stripped-audience-kept", "A code for region 130000 with its stamp removed: an audience needs "
                 "a stamp.", encode(replace(self.pres(c.plain, audience=HE), stamp=None)), pe, "stamp")
        bound = self.pres(c.bound, holder_key=c.holder_key, stamped=False)
        self.valid("stamp/unstamped-holder-signed", "An unstamped HR2 code signed by the bound holder: the holder "
                   "signature covers the window and 事由.", encode(bound), cert=c.bound)
        self.add("stamp/unstamped-holder-signed-retimed", "The same, re-timed by one second: the holder signature "
                 "fails first.", encode(replace(bound, created_at=bound.created_at + 1,
                                                  expires_at=bound.expires_at + 1)),
                 "HOLDER_BINDING_FAILED", "holder_binding", cert=c.bound)
        both = self.pres(c.bound, holder_key=c.holder_key)
        self.valid("stamp/stamped-and-holder-signed", "Stamped and signed by the bound holder.", encode(both),
                   cert=c.bound)
        self.add("stamp/stamped-and-holder-signed-repurposed", "Stamped and holder-signed, then re-purposed: the "
                 "holder signature (check 6) fails before the stamp (check 9).",
                 encode(replace(both, purpose="另一事由")), "HOLDER_BINDING_FAILED", "holder_binding", cert=c.bound)
        # audience
        self.add("audience/other-region", "A code stamped for region 310000 (上海), verified in 130000.",
                 encode(self.pres(c.plain, audience=SH)), pe, "stamp_signature")
        self.valid("audience/this-region", "A code stamped for region 130000, verified there.",
                   encode(self.pres(c.plain, audience=HE)))
        self.valid("audience/issuing-region", "A code stamped for 110000, verified in 110000 (own region).",
                   encode(self.pres(c.plain, audience=BJ)), policy=self.policy(BJ))
        self.add("audience/changed", "A code stamped for 310000, its audience changed to 130000 (the verifier's).",
                 self.send(replace(self.pres(c.plain, audience=SH), audience=HE)), *tam)
        self.add("audience/removed", "A code stamped for 310000, its audience removed (null).",
                 self.send(replace(self.pres(c.plain, audience=SH), audience=None)), *tam)
        self.add("audience/added", "A code stamped for any region, an audience 130000 added.",
                 self.send(replace(p, audience=HE)), *tam)
        self.add("audience/other-region-and-revoked", "A revoked certificate's code stamped for 310000, verified in "
                 "130000: the audience is judged at stamp_signature, before the certificate status.",
                 encode(self.pres(c.revoked, audience=SH)), pe, "stamp_signature", cert=c.revoked)
        # order
        self.add("stamp/before-anchor", "Re-purposed, and the batch is not anchored (no anchor in the facts): the "
                 "stamp is judged first.", self.send(replace(p, purpose="改过的事由")), *tam,
                 mutate=lambda f: f.__setitem__("anchors", []))
        self.add("stamp/unreachable", "A genuine stamped code with facts null: the stamp's keys are chain facts.",
                 self.plain_code(), "UNAVAILABLE", "chain_access", facts=None)
        self.valid("stamp/accept-hr1-false", "accept_hr1 false does not concern HR2 codes.", self.plain_code(),
                   policy=self.policy(accept_hr1=False))
        self.add("stamp/require-binding-stamped-unbound", "require_holder_binding with a stamped but unbound code: "
                 "a stamp is not a holder binding.", self.plain_code(), "HOLDER_BINDING_FAILED", "holder_binding",
                 policy=self.policy(require_holder_binding=True))

    # -- crypto suite 2 (国密) ---------------------------------------------------------------
    def guomi(self) -> None:
        """Suite-2 codes (SM3 trees, SM2 issuer signature with its key id, SM2 stamp): real issuance in
        Shanghai, verified in Hebei (which recognises Shanghai's licences); mutations as described."""
        g = self.c.guomi
        assert g is not None
        w, dom = self.w, self.w.domain
        tam = ("TAMPERED", "stamp_signature")
        sm2_tam = ("TAMPERED", "sm2_issuer_signature")
        form_tam = ("TAMPERED", "issuer_signature")
        pe = "PRESENTATION_EXPIRED"
        p = self.pres(g.plain)
        code = encode(p)
        key_id = p.issuer_signature[:20]
        rs = p.issuer_signature[20:]

        def v(vid: str) -> str:
            return "suite2/" + vid

        # verdicts
        self.valid(v("valid"), "A Shanghai business licence issued in crypto suite 2 (SM3 field leaves and trees, "
                   "SM2 issuer signature prefixed with the SM2 key's registry id, anchored with anchorGuomi), "
                   "stamped by Shanghai's node with its SM2 stamping key, verified in Hebei (which recognises "
                   "Shanghai's licences). Real issuance and facts.", code, cert=g.plain)
        self.valid(v("valid-own-region"), "The same code verified in Shanghai.", code, cert=g.plain,
                   policy=self.policy(SH))
        self.valid(v("valid-same-batch-sibling"), "The other certificate of the same two-certificate suite-2 batch "
                   "(a non-empty SM3 batch proof).", encode(self.pres(g.plain2)), cert=g.plain2)
        self.valid(v("valid-whole-document"), "Every field disclosed.",
                   encode(self.pres(g.plain, paths=tuple(f.path for f in g.plain.fields))), cert=g.plain)
        self.valid(v("valid-only-always-disclosed"), "Only the seven always-disclosed fields.",
                   encode(self.pres(g.plain, paths=())), cert=g.plain)
        self.valid(v("valid-signing-address-disclosed"), "issuer.signingAddress disclosed: in suite 2 it is the SM2 "
                   "key's registry id, the 20 bytes that precede r || s.",
                   encode(self.pres(g.plain, paths=(*LICENCE_PATHS, "issuer.signingAddress"))), cert=g.plain)
        self.valid(v("valid-holder-bound"), "A holder-bound suite-2 certificate, stamped and signed by the holder "
                   "(holder signatures are secp256k1 EIP-712 in both suites; HolderPresentation2 names suite 2).",
                   encode(self.pres(g.bound, holder_key=self.c.holder_key)), cert=g.bound)
        bound = self.pres(g.bound, holder_key=self.c.holder_key, stamped=False)
        self.valid(v("valid-unstamped-holder-signed"), "An unstamped suite-2 code signed by the bound holder.",
                   encode(bound), cert=g.bound)
        self.add(v("unstamped-holder-signed-field-changed"), "The same with claims.entityName changed: the derived "
                 "roots change and the holder signature (over them) fails.",
                 self.send(with_field_value(bound, "claims.entityName", "冒名顶替有限公司")), "HOLDER_BINDING_FAILED",
                 "holder_binding", cert=g.bound)
        self.valid(v("valid-reinstated"), "Suspended, then reinstated with suspendGuomi / reinstateGuomi (real "
                   "transactions, no on-chain proof).", encode(self.pres(g.reinstated)), cert=g.reinstated)
        self.add(v("revoked"), "Revoked with revokeGuomi (real transaction).", encode(self.pres(g.revoked)),
                 "REVOKED", "certificate_status", cert=g.revoked)
        self.add(v("suspended"), "Suspended with suspendGuomi (real transaction).", encode(self.pres(g.suspended)),
                 "SUSPENDED", "certificate_status", cert=g.suspended)
        self.add(v("not-anchored"), "Issued and batched in suite 2, never anchored.", encode(self.pres(g.unanchored)),
                 "NOT_ANCHORED", "anchor", cert=g.unanchored)
        self.add(v("not-recognised"), "The suite-2 licence verified in Beijing, which has no rule for Shanghai's "
                 "licences.", code, "NOT_RECOGNISED", "recognition", cert=g.plain, policy=self.policy(BJ))
        self.add(v("unreachable"), "No chain facts at all.", code, "UNAVAILABLE", "chain_access", facts=None)
        anchor_at = self._anchor_time(g.plain)
        self.add(v("pending-finality"), "One confirmation more required than the anchor has.", code,
                 "PENDING_FINALITY", "finality", cert=g.plain,
                 policy=self.policy(confirmations=self._confirmations(g.plain) + 1))
        self.valid(v("international-certificate-same-issuer"), "A suite-1 certificate of the same department "
                   "(sealed with its secp256k1 key), stamped by Shanghai's Ed25519 key: the facts list both of "
                   "Shanghai's stamping keys (Ed25519 and SM2), and a verifier tries only the suite's algorithm.",
                   encode(self.pres(g.international)), cert=g.international)

        # policy: the suites a deployment reads (check crypto_suite, before everything but decode)
        self.add(v("policy/suite-1-only"), "A policy that reads only suite 1 (suites [1]): the suite-2 code is "
                 "NOT_RECOGNISED at crypto_suite, the first check after decoding.", code, "NOT_RECOGNISED",
                 "crypto_suite", cert=g.plain, policy=self.policy(suites=[1]))
        self.add(v("policy/suite-2-only-international-code"), "A policy that reads only suite 2 (suites [2]): a "
                 "suite-1 code is NOT_RECOGNISED at crypto_suite.", self.plain_code(), "NOT_RECOGNISED",
                 "crypto_suite", policy=self.policy(suites=[2]))
        self.valid(v("policy/suite-2-only"), "suites [2] with a suite-2 code.", code, cert=g.plain,
                   policy=self.policy(suites=[2]))
        self.add(v("policy/suite-1-only-unreachable"), "suites [1], no chain facts: crypto_suite is decided "
                 "before any chain question.", code, "NOT_RECOGNISED", "crypto_suite", facts=None,
                 policy=self.policy(suites=[1]))
        self.add(v("policy/suite-1-only-expired-code"), "suites [1] with a suite-2 code made 3,000 s ago: "
                 "crypto_suite comes before the presentation window.",
                 encode(self.pres(g.plain, now=self.now - 3000)), "NOT_RECOGNISED", "crypto_suite", cert=g.plain,
                 policy=self.policy(suites=[1]))
        item = item_of(code)
        item[6] = item[6] + b"\x00"
        self.decode_fail(v("policy/suite-1-only-malformed"), "suites [1] with a suite-2 code whose issuer signature "
                         "is 85 bytes: decoding comes first (MALFORMED at decode).", self.wrap(canon(item)))
        self.vectors[-1].policy = self.policy(suites=[1])
        assert engine_outcome(self.vectors[-1]) == ("MALFORMED", "decode")

        # the issuer signature: SM2 over "huren-document/2" || domain separator || document root
        def with_sig(sig: bytes) -> Presentation:
            return replace(p, issuer_signature=sig)

        other_sig = key_id + sm2_sign(g.other_key, sm2_document_message(dom.separator, p.document_root))
        self.add(v("signature/other-sm2-key"), "r || s replaced by a signature of the right message by an SM2 key no "
                 "registry knows, the key id kept: the registered key's public key does not verify it.",
                 encode(with_sig(other_sig)), *sm2_tam, cert=g.plain)
        p2 = self.pres(g.plain2)
        self.add(v("signature/other-document"), "r || s of the same key's signature of another document (the other "
                 "certificate of the batch) put on this code.", encode(with_sig(key_id + p2.issuer_signature[20:])),
                 *sm2_tam, cert=g.plain)
        wrong_tag = key_id + sm2_sign(g.sm2_key, b"huren-document/1" + dom.separator + p.document_root)
        self.add(v("signature/other-tag"), "Signed by the registered key, over the right domain separator and root "
                 "but with the tag \"huren-document/1\" instead of \"huren-document/2\".",
                 encode(with_sig(wrong_tag)), *sm2_tam, cert=g.plain)
        other_domain = Domain(dom.chain_id + 1, dom.verifying_contract)
        foreign = key_id + sm2_sign(g.sm2_key, sm2_document_message(other_domain.separator, p.document_root))
        self.add(v("signature/other-deployment"), "Signed by the registered key over the document root, but with "
                 "another deployment's EIP-712 domain separator (chainId + 1).", encode(with_sig(foreign)), *sm2_tam,
                 cert=g.plain)
        raw_root = key_id + sm2_sign(g.sm2_key, p.document_root)
        self.add(v("signature/root-only"), "Signed by the registered key over the bare document root (no tag, no "
                 "domain separator).", encode(with_sig(raw_root)), *sm2_tam, cert=g.plain)
        flipped = key_id + rs[:63] + bytes([rs[63] ^ 1])
        self.add(v("signature/s-bit-flipped"), "The last byte of s changed.", encode(with_sig(flipped)), *sm2_tam,
                 cert=g.plain)
        secp = with_sig(bytes.fromhex(g.dept.account.address[2:]) + rs)
        self.add(v("signature/key-id-of-secp256k1-key"), "The key id replaced by the department's own registered "
                 "secp256k1 key (its transaction key): the registry holds no SM2 public key for it.", encode(secp),
                 *sm2_tam, p=secp)
        unknown = with_sig(bytes(range(1, 21)) + rs)
        self.add(v("signature/key-id-unknown"), "The key id replaced by 20 bytes no registry knows.", encode(unknown),
                 *sm2_tam, p=unknown)
        zero = with_sig(bytes(20) + rs)
        self.add(v("signature/key-id-zero"), "The key id replaced by 20 zero bytes.", encode(zero), *sm2_tam, p=zero)
        sibling_key = self.pres(g.sibling_signed).issuer_signature[:20]
        moved = with_sig(sibling_key + rs)
        self.add(v("signature/key-id-of-other-departments-sm2-key"), "The key id replaced by a sibling department's "
                 "registered SM2 key: its public key does not verify the signature.", encode(moved), *sm2_tam, p=moved)
        self.add(v("signature/unregistered-sm2-key"), "Real issuance with an SM2 key no registry knows (anchored by "
                 "the department): the key id names no registered key.", encode(self.pres(g.unregistered_signed)),
                 *sm2_tam, cert=g.unregistered_signed)
        self.add(v("signature/other-departments-sm2-key"), "Real issuance with a sibling department's registered "
                 "SM2 key, anchored by this department: the signature verifies, the key is another issuer's.",
                 encode(self.pres(g.sibling_signed)), "ISSUER_NOT_AUTHORISED", "signing_key", cert=g.sibling_signed)

        def sm2_entry(f: dict[str, Any]) -> dict[str, Any]:
            return next(k for k in f["keys"] if k["address"].lower() == "0x" + key_id.hex())

        def key_until(until: int) -> Callable[[dict[str, Any]], None]:
            return lambda f: sm2_entry(f).__setitem__("validUntil", until)

        self.add(v("signature/sm2-key-valid-until-equals-anchor-time"), "The SM2 key's validUntil = the anchor's "
                 "timestamp (exclusive end): not valid when the batch was anchored.", code, "ISSUER_NOT_AUTHORISED",
                 "signing_key", cert=g.plain, mutate=key_until(anchor_at))
        self.valid(v("signature/sm2-key-valid-until-after-anchor-time"), "The SM2 key's validUntil = anchor "
                   "timestamp + 1.", code, cert=g.plain, mutate=key_until(anchor_at + 1))
        self.add(v("signature/facts-without-sm2-public-key"), "The facts' entry for the signing key has no "
                 "sm2PublicKey (as for a secp256k1 key): nothing to verify the SM2 signature with.", code, *sm2_tam,
                 cert=g.plain, mutate=lambda f: sm2_entry(f).pop("sm2PublicKey"))
        self.add(v("signature/sm2-before-signing-key"), "The key id names an unregistered key and the anchor is "
                 "missing from the facts: sm2_issuer_signature runs after anchor and before signing_key, so the "
                 "anchor decides.", encode(unknown), "NOT_ANCHORED", "anchor", p=unknown,
                 mutate=lambda f: f.__setitem__("anchors", []))

        # the 84-byte form
        def sig_item(value: object, base: str = code) -> str:
            it = item_of(base)
            it[6] = value
            return self.wrap(canon(it))

        for n in (64, 65, 83, 85):
            sig = (p.issuer_signature + bytes(1))[:n]
            self.decode_fail(v(f"signature-form/{n}-bytes"), f"Element 6 (issuer signature) of a suite-2 code is "
                             f"{n} bytes: suite 2's is 84 (key id 20 || r 32 || s 32).", sig_item(sig))
        self.decode_fail(v("signature-form/text"), "Element 6 is a text string.", sig_item(p.issuer_signature.hex()))
        self.decode_fail(v("signature-form/null"), "Element 6 is null.", sig_item(None))
        self.decode_fail(v("signature-form/84-bytes-on-suite-1-code"), "A suite-1 code whose element 6 is 84 bytes "
                         "(a key id before the compact signature): suite 1's is 64.",
                         sig_item(key_id + item_of(self.plain_code())[6], self.plain_code()))
        r, s = rs[:32], rs[32:]
        n_bytes = SM2_N.to_bytes(32, "big")
        for vid, new in (("r-zero", bytes(32) + s), ("s-zero", r + bytes(32)), ("r-equals-n", n_bytes + s),
                         ("s-equals-n", r + n_bytes), ("r-all-ones", b"\xff" * 32 + s),
                         ("s-all-ones", r + b"\xff" * 32)):
            self.add(v(f"signature-form/{vid}"), f"r || s with {vid.replace('-', ' ')} (r and s must lie in "
                     "[1, n-1], n the SM2 group order): refused at issuer_signature, before any chain fact.",
                     encode(with_sig(key_id + new)), *form_tam, cert=g.plain)

        # the stamp: SM2 over SM3-digested stamp message, by a stamping key of algorithm 16 (sm2-sm3)
        ed = w.stampers[SH]
        self.add(v("stamp/ed25519-key"), "The suite-2 code stamped by Shanghai's registered Ed25519 stamping key "
                 "(listed in the facts): a suite-2 code needs an SM2 stamp.", self.send(restamp(p, ed, dom)), *tam,
                 cert=g.plain)
        intl = self.pres(g.international)
        self.add(v("stamp/sm2-key-on-international-code"), "Conversely, a suite-1 code of the same department stamped "
                 "by Shanghai's SM2 stamping key: a suite-1 code needs an Ed25519 stamp.",
                 self.send(restamp(intl, g.stamper, dom)), *tam, cert=g.international)
        self.add(v("stamp/unregistered-sm2-key"), "Stamped by an SM2 key no registry lists.",
                 self.send(restamp(p, StampSigner(SH, SM2NodePrivateKey.generate()), dom)), *tam, cert=g.plain)
        assert p.stamp is not None
        self.add(v("stamp/bit-flipped"), "The stamp's last byte changed.",
                 self.send(replace(p, stamp=p.stamp[:63] + bytes([p.stamp[63] ^ 1]))), *tam, cert=g.plain)
        self.add(v("stamp/zeros"), "A stamp of 64 zero bytes (r = s = 0).", self.send(replace(p, stamp=bytes(64))),
                 *tam, cert=g.plain)
        self.add(v("stamp/repurposed"), "The 事由 changed after stamping.", self.send(replace(p, purpose="办理贷款")),
                 *tam, cert=g.plain)
        self.add(v("stamp/field-changed"), "claims.entityName changed: the derived (SM3) roots are not the stamped "
                 "ones.", self.send(with_field_value(p, "claims.entityName", "冒名顶替有限公司")), *tam, cert=g.plain)
        batch = self.pres(g.plain2)
        self.add(v("stamp/batch-proof-changed"), "A hash of the SM3 batch proof changed.",
                 self.send(replace(batch, batch_proof=[bytes(32), *batch.batch_proof[1:]])), *tam, cert=g.plain2)

        def sm2_stamp_keys(f: dict[str, Any]) -> list[dict[str, Any]]:
            return [k for k in f["stampKeys"] if k["algorithm"] == int(NodeAlgorithm.SM2_SM3)]

        self.add(v("stamp/no-sm2-stamping-key"), "The facts list only Shanghai's Ed25519 stamping key.", code, *tam,
                 cert=g.plain, mutate=lambda f: f.__setitem__("stampKeys", [k for k in f["stampKeys"]
                                                                           if k not in sm2_stamp_keys(f)]))

        def as_ed25519(f: dict[str, Any]) -> None:
            for k in sm2_stamp_keys(f):
                k["algorithm"], k["suite"] = int(NodeAlgorithm.ED25519), 1

        self.add(v("stamp/sm2-key-listed-as-ed25519"), "The SM2 stamping key's entry says algorithm 1 (Ed25519), "
                 "suite 1: a verifier uses the algorithm the registry lists.", code, *tam, cert=g.plain,
                 mutate=as_ed25519)
        t = p.created_at
        self.add(v("stamp/sm2-key-valid-until-equals-created-at"), "The SM2 stamping key's validUntil = created_at.",
                 code, *tam, cert=g.plain, mutate=lambda f: sm2_stamp_keys(f)[0].__setitem__("validUntil", t))
        self.valid(v("stamp/sm2-key-valid-from-equals-created-at"), "The SM2 stamping key's validFrom = created_at.",
                   code, cert=g.plain, mutate=lambda f: sm2_stamp_keys(f)[0].__setitem__("validFrom", t))
        self.add(v("stamp/stripped"), "The stamp removed, no holder signature.", encode(replace(p, stamp=None)), pe,
                 "stamp", cert=g.plain)
        self.add(v("audience/other-region"), "A suite-2 code stamped for region 110000, verified in 130000.",
                 encode(self.pres(g.plain, audience=BJ)), pe, "stamp_signature", cert=g.plain)
        self.valid(v("audience/this-region"), "A suite-2 code stamped for region 130000, verified there.",
                   encode(self.pres(g.plain, audience=HE)), cert=g.plain)

        # suites relabelled
        relabel = item_of(encode(intl))
        relabel[0] = 2
        relabel[6] = key_id + relabel[6]
        self.add(v("relabelled-international-code"), "A suite-1 code (stamped by the Ed25519 key) relabelled suite 2 "
                 "with the SM2 key id put before its compact signature: it decodes (the fields are now hashed with "
                 "SM3), and the stamp — no SM2 key made it, and the derived roots differ — fails.",
                 self.wrap(canon(relabel)), *tam, cert=g.plain)

    # -- HR1, legacy: only a holder-signed HR1 code can be VALID ------------------------
    def legacy(self) -> None:
        c, now, hk = self.c, self.now, self.c.holder_key
        pe = "PRESENTATION_EXPIRED"

        def signed(cert: IssuedCertificate, **kw: Any) -> str:
            return encode(self.pres(cert, holder_key=hk, **kw))

        bound = signed(c.bound)
        main_id = self.depts["bj-main"].issuer_id

        def issuer(f: dict[str, Any]) -> dict[str, Any]:
            return next(i for i in f["issuers"] if i["issuerId"] == "0x" + main_id.hex())

        t_anchor = self.facts.view.anchor(c.bound.batch_root).timestamp  # type: ignore[arg-type,union-attr]
        self.valid("legacy/holder-signed", "A holder-signed HR1 code (the holder's EIP-712 signature covers the window "
                   "and 事由): still VALID with accept_hr1 true.", bound, cert=c.bound)
        self.valid("legacy/holder-signed-own-region", "The same, verified in the issuer's own region.", bound,
                   cert=c.bound, policy=self.policy(BJ))
        self.valid("legacy/holder-signed-binding-required", "require_holder_binding, holder-signed HR1 code.", bound,
                   cert=c.bound, policy=self.policy(require_holder_binding=True))
        self.add("legacy/accept-hr1-false", "accept_hr1 false: a holder-signed HR1 code is refused at `stamp` "
                 "(请持证人刷新出示码).", bound, pe, "stamp", cert=c.bound, policy=self.policy(accept_hr1=False))
        self.add("legacy/accept-hr1-false-unsigned", "accept_hr1 false, unsigned HR1 code.", self.plain_code(), pe,
                 "stamp", policy=self.policy(accept_hr1=False))
        self.add("legacy/revoked", "Holder-signed; revoked by its issuer (real transaction).", signed(c.bound_revoked),
                 "REVOKED", "certificate_status", cert=c.bound_revoked)
        self.add("legacy/suspended", "Holder-signed; suspended by its issuer (real transaction).",
                 signed(c.bound_suspended), "SUSPENDED", "certificate_status", cert=c.bound_suspended)
        self.add("legacy/not-anchored", "Holder-signed; batched but never anchored.", signed(c.bound_unanchored),
                 "NOT_ANCHORED", "anchor", cert=c.bound_unanchored)
        self.add("legacy/pending-finality", "Holder-signed; one confirmation more required than the anchor has.",
                 bound, "PENDING_FINALITY", "finality", cert=c.bound,
                 policy=self.policy(confirmations=self._confirmations(c.bound) + 1))
        self.add("legacy/unknown-issuer", "Holder-signed; the facts hold no issuer.", bound, "UNKNOWN_ISSUER",
                 "issuer_registered", cert=c.bound, mutate=lambda f: f.__setitem__("issuers", []))
        self.add("legacy/issuer-region-differs", "Holder-signed; the issuer's registered region is 120000.", bound,
                 "ISSUER_NOT_AUTHORISED", "issuer_region", cert=c.bound,
                 mutate=lambda f: issuer(f).__setitem__("region", TJ))
        self.add("legacy/issuer-revoked", "Holder-signed; the issuer's revokedFrom = the anchor's timestamp.", bound,
                 "ISSUER_REVOKED", "issuer_standing", cert=c.bound,
                 mutate=lambda f: issuer(f).update(status="REVOKED", revokedFrom=t_anchor))
        d = c.bound_days
        start = china_midnight(date.fromisoformat(d.document["validFrom"]))
        self.add("legacy/not-yet-valid", "Holder-signed; now is one second before the validFrom day (China time).",
                 signed(d, now=start - 1), "NOT_YET_VALID", "validity_period", cert=d, now=start - 1)
        after = self._day_after_until(d)
        self.add("legacy/expired", "Holder-signed; now is the day after validUntil.", signed(d, now=after), "EXPIRED",
                 "validity_period", cert=d, now=after)
        self.add("legacy/not-recognised", "Holder-signed; verified in 310000, which has no rule for it.", bound,
                 "NOT_RECOGNISED", "recognition", cert=c.bound, policy=self.policy(SH))
        self.add("legacy/stale-facts", "Holder-signed; facts max_facts_age_s + 1 old.", bound, "UNAVAILABLE",
                 "status_freshness", cert=c.bound,
                 mutate=lambda f: f.__setitem__("headTime", now - DEFAULT_POLICY["max_facts_age_s"] - 1))
        self.add("legacy/unreachable", "Holder-signed; facts null.", bound, "UNAVAILABLE", "chain_access", facts=None)
        self.add("legacy/presentation-expired", "Holder-signed, made 3,000 s ago.", signed(c.bound, now=now - 3000),
                 pe, "presentation_window", cert=c.bound)
        hb = self.pres(c.bound, holder_key=hk)
        self.add("legacy/holder-retimed", "Holder-signed, then re-timed by one second.",
                 encode(replace(hb, created_at=hb.created_at - 1, expires_at=hb.expires_at - 1)),
                 "HOLDER_BINDING_FAILED", "holder_binding", cert=c.bound)
        self.add("legacy/holder-repurposed", "Holder-signed, then re-purposed.",
                 encode(replace(hb, purpose="另一事由")), "HOLDER_BINDING_FAILED", "holder_binding", cert=c.bound)
        other_key = bytes(Account.create().key)
        self.add("legacy/holder-signed-by-another-key", "Signed by a key that is not the bound holder's.",
                 encode(replace(hb, holder_signature=sign_digest(other_key, holder_signing_digest(self.w.domain, hb)))),
                 "HOLDER_BINDING_FAILED", "holder_binding", cert=c.bound)
        self.add("legacy/holder-no-signature", "holder.address disclosed, no holder signature.",
                 encode(replace(hb, holder_signature=None)), "HOLDER_BINDING_FAILED", "holder_binding", cert=c.bound)
        sig = hb.holder_signature
        assert sig is not None
        s = int.from_bytes(sig[32:64], "big")
        self.add("legacy/holder-high-s", "The holder signature in its high-s form (s -> n - s, v flipped).",
                 encode(replace(hb, holder_signature=sig[:32] + (N - s).to_bytes(32, "big") + bytes([55 - sig[64]]))),
                 "HOLDER_BINDING_FAILED", "holder_binding", cert=c.bound)
        self.add("legacy/holder-signed-tampered", "Holder-signed, then holder.address changed: the proof fails before "
                 "the binding is looked at (HR1 carries the roots).",
                 encode(with_field_value(hb, "holder.address", to_checksum_address(b"\x11" * 20))), "TAMPERED",
                 "disclosure_proof", cert=c.bound)
        # unsigned HR1: nothing authenticates its window and 事由
        self.add("unsigned/genuine", "A genuine, unsigned HR1 code (as wallets made before HR2): its window and 事由 "
                 "are authenticated by nobody, so it is never VALID: PRESENTATION_EXPIRED (请持证人刷新出示码).",
                 self.plain_code(), pe, "stamp")
        self.add("unsigned/retimed", "An unsigned HR1 code re-timed by anyone (created_at = now, ttl 86,400): "
                 "refused the same way.", encode(replace(self.pres(c.plain, now=now - 3000), created_at=now,
                                                         expires_at=now + 86_400)), pe, "stamp")
        self.add("unsigned/revoked", "An unsigned HR1 code of a revoked certificate: refused at `stamp`, before any "
                 "chain fact.", encode(self.pres(c.revoked)), pe, "stamp", cert=c.revoked)
        self.add("unsigned/unreachable", "An unsigned HR1 code with facts null: `stamp` needs no chain.",
                 self.plain_code(), pe, "stamp", facts=None)
        self.created_at_max()
        self.add("unsigned/expired-window", "An unsigned HR1 code made 3,000 s ago: the window (check 2) comes first.",
                 encode(self.pres(c.plain, now=now - 3000)), pe, "presentation_window")
        self.add("unsigned/tampered", "An unsigned HR1 code with a changed claim: integrity (check 3) comes first.",
                 encode(with_field_value(self.pres(c.plain), "claims.entityName", "伪造")), "TAMPERED",
                 "disclosure_proof")
        self.add("unsigned/binding-required", "require_holder_binding, unsigned HR1 code: holder_binding (check 6) "
                 "comes first.", self.plain_code(), "HOLDER_BINDING_FAILED", "holder_binding",
                 policy=self.policy(require_holder_binding=True))


    # -- holder binding (check 6) ---------------------------------------------------------
    def holder(self) -> None:
        c = self.c
        fail = "HOLDER_BINDING_FAILED"
        bound = self.pres(c.bound, holder_key=c.holder_key)
        other_key = bytes(Account.create().key)
        resigned = replace(bound, holder_signature=sign_digest(other_key, holder_signing_digest(self.w.domain, bound)))
        self.add("holder/signed-by-another-key", "A holder-bound presentation signed by a key that is not the "
                 "bound holder's.", encode(resigned), fail, "holder_binding", cert=c.bound)
        self.add("holder/no-signature", "holder.address disclosed, no holder signature.",
                 encode(replace(bound, holder_signature=None)), fail, "holder_binding", cert=c.bound)
        self.add("holder/created-at-changed", "The holder signed; then created_at was moved by one second.",
                 encode(replace(bound, created_at=bound.created_at - 1, expires_at=bound.expires_at - 1)), fail,
                 "holder_binding", cert=c.bound)
        self.add("holder/purpose-changed", "The holder signed; then the purpose was changed.",
                 encode(replace(bound, purpose="另一事由")), fail, "holder_binding", cert=c.bound)
        unbound = self.pres(c.plain)
        self.add("holder/signature-without-address", "An unbound presentation that carries a holder signature "
                 "(nothing to check it against: refused, not ignored).",
                 encode(replace(unbound, holder_signature=bound.holder_signature)), fail, "holder_binding")
        self.add("holder/required-but-unbound", "require_holder_binding, unbound presentation.", self.plain_code(),
                 fail, "holder_binding", policy=self.policy(require_holder_binding=True))
        self.valid("holder/required-and-bound", "require_holder_binding, bound presentation signed by the holder.",
                   encode(bound), cert=c.bound, policy=self.policy(require_holder_binding=True))
        forged = with_field_value(bound, "holder.address", to_checksum_address(b"\x11" * 20))
        self.add("holder/bound-address-tampered", "holder.address changed to another address. HR2: the roots are "
                 "derived, so no proof fails; the holder signature (over other roots) does not recover to the "
                 "new address.", self.send(forged), fail, "holder_binding", cert=c.bound)
        sig = bound.holder_signature
        assert sig is not None
        item = item_of(encode(bound))
        compact = item[self.L.holder_sig]
        high_item = copy.deepcopy(item)
        high_item[self.L.holder_sig] = compact[:32] + (N // 2 + 1).to_bytes(32, "big")
        self.add("holder/high-s", "The holder signature's s replaced by floor(n/2) + 1 (yParity 0): high s, "
                 "which a verifier refuses (EIP-2 / EIP-2098).", self.wrap(canon(high_item)), fail,
                 "holder_binding", cert=c.bound)
        flipped = copy.deepcopy(item)
        flipped[self.L.holder_sig] = compact[:32] + bytes([compact[32] ^ 0x80]) + compact[33:]
        self.add("holder/compact-parity-flipped", "The holder signature's yParity bit (the top bit of its "
                 "second half, EIP-2098) flipped: it recovers another address.", self.wrap(canon(flipped)), fail,
                 "holder_binding", cert=c.bound)

    # -- chain facts (checks 7-19) -----------------------------------------------------------
    def chain(self) -> None:
        c = self.c
        code = self.plain_code()
        bound_age = DEFAULT_POLICY["max_facts_age_s"]
        now = self.now

        def m(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
            return fn

        def anchor(f: dict[str, Any]) -> dict[str, Any]:
            return f["anchors"][0]  # type: ignore[no-any-return]

        def issuer_of(f: dict[str, Any], iid: bytes) -> dict[str, Any]:
            return next(i for i in f["issuers"] if i["issuerId"] == "0x" + iid.hex())

        main_id = self.depts["bj-main"].issuer_id
        sibling_id = self.depts["bj-sibling"].issuer_id

        def set_head(t: int) -> Callable[[dict[str, Any]], None]:
            return lambda f: f.__setitem__("headTime", t)

        # freshness (7)
        self.valid("freshness/age-equals-bound", "now - headTime = max_facts_age_s (still usable).", code,
                   mutate=set_head(now - bound_age))
        self.add("freshness/age-over-bound", "now - headTime = max_facts_age_s + 1.", code, "UNAVAILABLE",
                 "status_freshness", mutate=set_head(now - bound_age - 1))
        self.add("freshness/no-block", "headTime 0: no block read yet.", code, "UNAVAILABLE", "status_freshness",
                 mutate=set_head(0))
        self.valid("freshness/block-after-now", "headTime 100 s after now: age counts as 0.", code,
                   mutate=set_head(now + 100))
        self.add("freshness/stale-and-revoked", "Stale facts about a revoked certificate: UNAVAILABLE, not REVOKED.",
                 encode(self.pres(c.revoked)), "UNAVAILABLE", "status_freshness", cert=c.revoked,
                 mutate=set_head(now - 3600))
        self.add("freshness/tampered-while-unreachable", "A changed claim value with facts null. In HR2 the roots "
                 "are derived, so no pure check can see the change: the stamp would, but its keys are chain "
                 "facts. UNAVAILABLE, never VALID (in HR1 this is TAMPERED at disclosure_proof).",
                 self.send(with_field_value(self.pres(c.plain), "claims.entityName", "伪造")), "UNAVAILABLE",
                 "chain_access", facts=None)
        self.add("freshness/stale-and-retimed", "Stale facts (max_facts_age_s + 1) and a re-timed code: the "
                 "freshness check comes before the stamp's.", self.send(replace(
                     self.pres(c.plain), created_at=now - 2, expires_at=now + 600)), "UNAVAILABLE",
                 "status_freshness", mutate=set_head(now - bound_age - 1))
        # anchor (8), identity (9), type (10)
        self.add("anchor/missing-from-facts", "The facts hold no anchor for the batch root.", code, "NOT_ANCHORED",
                 "anchor", mutate=lambda f: f.__setitem__("anchors", []))
        self.add("issuer-identity/anchored-by-other", "The anchor's issuerId is another department's.", code,
                 "TAMPERED", "issuer_identity",
                 mutate=lambda f: anchor(f).__setitem__("issuerId", "0x" + sibling_id.hex()))
        self.add("certificate-type/anchored-type-differs", "The anchor's type code is the driving licence's.",
                 code, "TAMPERED", "certificate_type", mutate=lambda f: anchor(f).__setitem__("typeCode", DRIVING))
        self.valid("certificate-type/type-unknown", "The type is not in the facts (only its name is displayed).",
                   code, mutate=lambda f: f.__setitem__("types", []))
        # finality (11)
        conf = self._confirmations(c.plain)
        self.valid("finality/equal", "Confirmations exactly as required (policy confirmations = height - "
                   "blockNumber + 1).", code, policy=self.policy(confirmations=conf))
        self.add("finality/height-one-short", "Facts read one block after the anchor (1 confirmation), 2 "
                 "required.", code, "PENDING_FINALITY", "finality",
                 mutate=lambda f: f.__setitem__("height", anchor(f)["blockNumber"]))
        self.valid("finality/in-newest-block", "Anchor in the newest block (1 confirmation), 1 required.", code,
                   policy=self.policy(confirmations=1),
                   mutate=lambda f: f.__setitem__("height", anchor(f)["blockNumber"]))
        self.valid("finality/zero-required", "confirmations 0 in the policy.", code,
                   policy=self.policy(confirmations=0),
                   mutate=lambda f: f.__setitem__("height", anchor(f)["blockNumber"]))
        # issuer registered (12)
        self.add("issuer-registered/missing", "The facts hold no issuer for the anchor's issuerId.", code,
                 "UNKNOWN_ISSUER", "issuer_registered", mutate=lambda f: f.__setitem__("issuers", []))
        # keys (13, 14)
        def key_of(f: dict[str, Any], address: str) -> dict[str, Any]:
            return next(k for k in f["keys"] if k["address"].lower() == address.lower())

        main_key = self.depts["bj-main"].account.address

        def key_window(address: str, valid_from: int | None = None, until: object = "keep") -> Callable[..., None]:
            def go(f: dict[str, Any]) -> None:
                k = key_of(f, address)
                if valid_from is not None:
                    k["validFrom"] = valid_from
                if until != "keep":
                    k["validUntil"] = until
            return go

        t_plain = self._anchor_time(c.plain)
        self.valid("signing-key/valid-from-equals-anchor-time", "The key's validFrom = the anchor's timestamp.",
                   code, mutate=key_window(main_key, t_plain))
        self.add("signing-key/valid-from-after-anchor-time", "The key's validFrom = anchor timestamp + 1.", code,
                 "ISSUER_NOT_AUTHORISED", "signing_key", mutate=key_window(main_key, t_plain + 1))
        self.add("signing-key/valid-until-equals-anchor-time", "The key's validUntil = the anchor's timestamp "
                 "(retired at that second).", code, "ISSUER_NOT_AUTHORISED", "signing_key",
                 mutate=key_window(main_key, until=t_plain))
        self.valid("signing-key/valid-until-after-anchor-time", "The key's validUntil = anchor timestamp + 1.",
                   code, mutate=key_window(main_key, until=t_plain + 1))
        self.add("signing-key/belongs-to-other-issuer", "The signing key's issuerId is another department's.",
                 code, "ISSUER_NOT_AUTHORISED", "signing_key",
                 mutate=lambda f: key_of(f, main_key).__setitem__("issuerId", "0x" + sibling_id.hex()))
        self.add("signing-key/missing-from-facts", "The signing (and anchoring) key is not in the facts: a "
                 "signature by no registered key.", code, "TAMPERED", "signing_key",
                 mutate=lambda f: f.__setitem__("keys", []))
        two = encode(self.pres(c.two_key))
        t_two = self._anchor_time(c.two_key)
        self.add("anchoring-key/missing-from-facts", "Signed by the second key; the anchoring key is not in the "
                 "facts.", two, "ISSUER_NOT_AUTHORISED", "anchoring_key", cert=c.two_key,
                 mutate=lambda f: f.__setitem__("keys", [k for k in f["keys"] if k["address"] != main_key]))
        self.add("anchoring-key/valid-from-after-anchor-time", "The anchoring key's validFrom = anchor "
                 "timestamp + 1.", two, "ISSUER_NOT_AUTHORISED", "anchoring_key", cert=c.two_key,
                 mutate=key_window(main_key, t_two + 1))
        self.valid("anchoring-key/valid-from-equals-anchor-time", "The anchoring key's validFrom = anchor "
                   "timestamp.", two, cert=c.two_key, mutate=key_window(main_key, t_two))
        self.add("anchoring-key/valid-until-equals-anchor-time", "The anchoring key's validUntil = anchor "
                 "timestamp.", two, "ISSUER_NOT_AUTHORISED", "anchoring_key", cert=c.two_key,
                 mutate=key_window(main_key, until=t_two))
        self.add("anchoring-key/belongs-to-other-issuer", "The anchoring key's issuerId is another department's.",
                 two, "ISSUER_NOT_AUTHORISED", "anchoring_key", cert=c.two_key,
                 mutate=lambda f: key_of(f, main_key).__setitem__("issuerId", "0x" + sibling_id.hex()))
        # region (15)
        self.add("issuer-region/differs", "The registered region of the issuer is 120000, the certificate says "
                 "110000.", code, "ISSUER_NOT_AUTHORISED", "issuer_region",
                 mutate=lambda f: issuer_of(f, main_id).__setitem__("region", TJ))
        # standing (16)
        def revoke_from(t: int | None, status: str = "REVOKED", since: int | None = None) -> Callable[..., None]:
            def go(f: dict[str, Any]) -> None:
                i = issuer_of(f, main_id)
                i["status"] = status
                i["revokedFrom"] = t
                if since is not None:
                    i["statusSince"] = since
            return go

        self.add("issuer-standing/revoked-from-equals-anchor-time", "The issuer's revokedFrom = the anchor's "
                 "timestamp.", code, "ISSUER_REVOKED", "issuer_standing", mutate=revoke_from(t_plain))
        self.valid("issuer-standing/revoked-from-after-anchor-time", "The issuer's revokedFrom = anchor timestamp "
                   "+ 1: anchored before the revocation.", code, mutate=revoke_from(t_plain + 1))
        self.add("issuer-standing/revoked-without-time", "Status REVOKED with revokedFrom null: counts from "
                 "statusSince (= the anchor's timestamp).", code, "ISSUER_REVOKED", "issuer_standing",
                 mutate=revoke_from(None, since=t_plain))
        self.valid("issuer-standing/revoked-without-time-later", "Status REVOKED, revokedFrom null, statusSince = "
                   "anchor timestamp + 1.", code, mutate=revoke_from(None, since=t_plain + 1))
        self.valid("issuer-standing/suspended", "The issuer is SUSPENDED: its earlier anchors stand.", code,
                   mutate=revoke_from(None, status="SUSPENDED", since=now - 10))
        # certificate status (17)
        self.valid("certificate-status/set-by-another-issuer", "A REVOKED status for this document root, but set "
                   "by another issuer: not the anchoring issuer's, so ignored.", code,
                   mutate=lambda f: f["certificateStatuses"].append(
                       {"issuerId": "0x" + sibling_id.hex(), "certHash": "0x" + c.plain.document_root.hex(),
                        "status": "REVOKED", "since": now - 100, "reason": 1}))
        self.add("certificate-status/revoked-beats-expired", "Revoked, and today is after validUntil: REVOKED.",
                 encode(self.pres(c.revoked, now=self._day_after_until(c.revoked))), "REVOKED",
                 "certificate_status", cert=c.revoked, now=self._day_after_until(c.revoked))
        # validity period (18)
        d = c.days
        start = china_midnight(date.fromisoformat(d.document["validFrom"]))
        end = china_midnight(date.fromisoformat(d.document["validUntil"]) + timedelta(days=1)) - 1
        for vid, t, verdict in (
            ("valid-from-day-minus-1s", start - 1, "NOT_YET_VALID"),
            ("valid-from-day-start", start, "VALID"),
            ("valid-until-day-end", end, "VALID"),
            ("valid-until-day-plus-1s", end + 1, "EXPIRED"),
        ):
            self.add("validity/" + vid, f"now = {datetime.fromtimestamp(t, CHINA_TZ).isoformat()} (China time); "
                     f"validFrom {d.document['validFrom']}, validUntil {d.document['validUntil']}. Facts as read at "
                     "now (headTime = now).", encode(self.pres(d, now=t)), verdict,
                     None if verdict == "VALID" else "validity_period", cert=d, now=t)
        one = c.one_day
        day = china_midnight(date.fromisoformat(one.document["validFrom"]))
        for vid, t, verdict in (("one-day-start", day, "VALID"), ("one-day-end", day + 86_399, "VALID"),
                                ("one-day-after", day + 86_400, "EXPIRED"), ("one-day-before", day - 1,
                                                                               "NOT_YET_VALID")):
            self.add("validity/" + vid, "validUntil = validFrom (a one-day certificate); now = "
                     f"{datetime.fromtimestamp(t, CHINA_TZ).isoformat()}.", encode(self.pres(one, now=t)), verdict,
                     None if verdict == "VALID" else "validity_period", cert=one, now=t)
        if c.forever is not None:
            t = now + 50 * 365 * 86_400
            self.valid("validity/no-end", "validUntil null (长期): valid 50 years later.",
                       encode(self.pres(c.forever, now=t)), cert=c.forever, now=t)
        # recognition (19)
        def rule(f: dict[str, Any], **change: Any) -> None:
            (r,) = f["recognition"]
            r.update(change)

        self.valid("recognition/valid-from-equals-now", "The rule's validFrom = now.", code,
                   mutate=lambda f: rule(f, validFrom=now))
        self.add("recognition/valid-from-after-now", "The rule's validFrom = now + 1.", code, "NOT_RECOGNISED",
                 "recognition", mutate=lambda f: rule(f, validFrom=now + 1))
        self.add("recognition/valid-until-equals-now", "The rule's validUntil = now (withdrawn at that second).",
                 code, "NOT_RECOGNISED", "recognition", mutate=lambda f: rule(f, validUntil=now))
        self.valid("recognition/valid-until-after-now", "The rule's validUntil = now + 1.", code,
                   mutate=lambda f: rule(f, validUntil=now + 1))
        self.add("recognition/rule-of-another-region", "The only rule in the facts is Tianjin's (120000), "
                 "verifier in Hebei.", code, "NOT_RECOGNISED", "recognition",
                 mutate=lambda f: rule(f, verifierRegion=TJ))
        self.add("recognition/rule-for-another-type", "The only rule is for the driving licence.", code,
                 "NOT_RECOGNISED", "recognition", mutate=lambda f: rule(f, typeCode=DRIVING))
        self.add("recognition/rule-for-another-issuer-region", "The only rule names issuer region 310000.", code,
                 "NOT_RECOGNISED", "recognition", mutate=lambda f: rule(f, issuerRegion=SH))
        self.valid("recognition/every-region-rule", "The rule names issuer region 0 (every region).", code,
                   mutate=lambda f: rule(f, issuerRegion=0))
        def rule_all(f: dict[str, Any], **change: Any) -> None:
            for r in f["recognition"]:
                r.update(change)

        def withdrawn_plus_every_region(f: dict[str, Any]) -> None:
            (r,) = f["recognition"]
            f["recognition"] = [{**r, "issuerRegion": 0}, {**r, "validUntil": now}]

        self.valid("recognition/specific-withdrawn-every-region-in-force", "The rule for Beijing was withdrawn at "
                   "now; an every-region rule is in force.", code, mutate=withdrawn_plus_every_region)
        self.add("recognition/both-withdrawn", "The rule for Beijing and the every-region rule both withdrawn at "
                 "now.", code, "NOT_RECOGNISED", "recognition",
                 mutate=lambda f: withdrawn_plus_every_region(f) or rule_all(f, validUntil=now))


    def _anchor_time(self, cert: IssuedCertificate) -> int:
        anchor = self.facts.view.anchor(cert.batch_root)  # type: ignore[arg-type]
        assert anchor is not None
        return anchor.timestamp

    def _day_after_until(self, cert: IssuedCertificate) -> int:
        until = cert.document["validUntil"]
        assert until is not None
        return china_midnight(date.fromisoformat(until) + timedelta(days=1)) + 3600

    # -- decode: text, Base45 ---------------------------------------------------------------
    def decode_text(self) -> None:
        code = self.plain_code()
        body = code[4:]
        self.decode_fail("decode/empty", "The empty text.", "")
        pre = self.L.prefix
        self.decode_fail("decode/prefix-only", f"\"{pre}\" with nothing after it.", pre)
        self.decode_fail("decode/lower-case-prefix", "The prefix in lower case.", pre.lower() + body)
        self.decode_fail("decode/unknown-version", "An unknown version prefix (HR9:).", "HR9:" + body)
        self.decode_fail("decode/not-a-code", "A URL, not a code.", "https://example.org/")
        self.decode_fail("decode/trailing-newline", "A valid code followed by LF (the engine does not strip "
                         "white space).", code + "\n")
        self.decode_fail("decode/leading-space", "A space before the prefix.", " " + code)
        self.decode_fail("decode/lower-case-body", "The Base45 body in lower case.", pre + body.lower())
        self.decode_fail("decode/base45-length-mod-3-is-1", "One Base45 character removed from the end.",
                         code + "0" * ((1 - len(body)) % 3))
        self.decode_fail("decode/base45-group-over-65535", "The last full group is ':::' (> 65535).",
                         pre + body[: len(body) - len(body) % 3 - 3] + ":::" + body[len(body) - len(body) % 3:])
        self.decode_fail("decode/base45-pair-over-255", "The body ends in a pair ':5' (value 44 + 45*5 = 269).",
                         pre + body[: len(body) - len(body) % 3] + ":5")
        self.decode_fail("decode/non-base45-character", "A '#' in the body.", pre + "#" + body[1:])
        self.decode_fail("decode/too-long", "4,097 characters.", pre + "0" * 4093)
        self.decode_fail("decode/full-width-colon", "The prefix with a full-width colon U+FF1A.",
                         pre[:3] + "\uff1a" + body)

    # -- decode: zlib -----------------------------------------------------------------------
    def decode_zlib(self) -> None:
        pre = self.L.prefix
        raw = canon(item_of(self.base_code()))
        if self.hr2:  # HR2 has no zlib layer: a compressed body is not one CBOR item
            self.decode_fail("zlib/hr2-body-compressed", "The HR2 CBOR zlib-compressed (HR2 sends it as it is).",
                             pre + b45(zlib.compress(raw, 9)))
            return
        z = zlib.compress(raw, 9)
        for level in (0, 1, 6):
            self.valid(f"zlib/level-{level}", f"zlib compression level {level} (any level is accepted).",
                       pre + b45(zlib.compress(raw, level)), cert=self.base_cert)
        self.decode_fail("zlib/raw-deflate", "Raw DEFLATE without the zlib header and Adler-32.",
                         pre + b45(zlib.compress(raw, 9)[2:-4]))
        gz = zlib.compressobj(9, zlib.DEFLATED, 31)
        self.decode_fail("zlib/gzip", "A gzip stream instead of zlib.", pre + b45(gz.compress(raw) + gz.flush()))
        self.decode_fail("zlib/bad-adler", "The Adler-32 checksum's last byte changed.",
                         pre + b45(z[:-1] + bytes([z[-1] ^ 1])))
        self.decode_fail("zlib/bad-header-check", "The header's FCHECK broken (CMF*256+FLG not a multiple of 31).",
                         pre + b45(z[:1] + bytes([z[1] ^ 1]) + z[2:]))
        self.decode_fail("zlib/truncated", "The last 5 bytes of the zlib stream removed.", pre + b45(z[:-5]))
        self.decode_fail("zlib/adler-missing", "The Adler-32 removed (DEFLATE data complete).",
                         pre + b45(z[:-4]))
        self.decode_fail("zlib/trailing-byte", "One byte after the zlib stream.", pre + b45(z + b"\x00"))
        self.decode_fail("zlib/two-streams", "Two zlib streams back to back.", pre + b45(z + z))
        d = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict=b"huren")
        self.decode_fail("zlib/preset-dictionary", "A stream that needs a preset dictionary (FDICT).",
                         pre + b45(d.compress(raw) + d.flush()))
        self.decode_fail("zlib/invalid-block-type", "DEFLATE block type 3 (reserved).",
                         pre + b45(b"\x78\x9c\x07\x00" + zlib.adler32(b"").to_bytes(4, "big")))
        self.decode_fail("zlib/stored-len-mismatch", "A stored block whose NLEN is not the complement of LEN.",
                         pre + b45(b"\x78\x01\x01\x05\x00\x00\x00" + b"hello" + zlib.adler32(b"hello").to_bytes(4,
                                                                                                               "big")))
        # inflated size: exactly 8,192 bytes accepted, 8,193 refused
        item = self.plain_item()
        size8192 = self._padded(item, 8192)
        assert len(canon(size8192)) == 8192
        self.decoded_then_tampered("zlib/inflated-8192", "Inflates to exactly 8,192 bytes (padding fields).",
                                   size8192)
        size8193 = self._padded(item, 8193)
        assert len(canon(size8193)) == 8193
        self.decode_fail("zlib/inflated-8193", "Inflates to 8,193 bytes (padding fields).", self.wrap(canon(size8193)))
        self.decode_fail("zlib/empty", "A zlib stream of zero bytes of data (no CBOR item).",
                         self.L.prefix + b45(zlib.compress(b"", 9)))

    def _padded(self, item: list[Any], total: int) -> list[Any]:
        """`item` with claims.padN fields of ASCII text (≤ 1,024 characters each) so that its CBOR is `total` bytes."""
        out = copy.deepcopy(item)
        n = 0
        while True:
            base_len = len(canon(out))
            remaining = total - base_len
            trial = with_fields(out, [(f"claims.pad{n}", "")])
            cost = len(canon(trial)) - base_len  # path, empty text, salt, maybe a flag byte
            if remaining - cost <= 1024 + 2:
                # one last field: text of length L costs cost + L + (1 or 2 header bytes beyond 23/255)
                for length in range(0, 1025):
                    cand = with_fields(out, [(f"claims.pad{n}", "a" * length)])
                    if len(canon(cand)) == total:
                        return cand
                raise AssertionError("could not pad")
            out = with_fields(out, [(f"claims.pad{n}", "a" * 1000)])
            n += 1

    # -- decode: CBOR -----------------------------------------------------------------------
    def decode_cbor(self) -> None:
        item = self.plain_item()
        raw = canon(item)
        assert raw[0] == 0x8E and raw[1] == 0x01

        def fail(vid: str, description: str, data: bytes) -> None:
            self.decode_fail("cbor/" + vid, description, self.wrap(data))

        fail("trailing-byte", "A byte after the CBOR item.", raw + b"\x00")
        fail("two-items", "Two CBOR items.", raw + raw)
        fail("truncated", "The CBOR item cut short by one byte.", raw[:-1])
        fail("version-non-shortest", "Element 0 (version) as 0x18 0x01 instead of 0x01.", b"\x8e\x18\x01" + raw[2:])
        fail("array-length-non-shortest", "The top-level array header as 0x98 0x0e.", b"\x98\x0e" + raw[1:])
        fail("indefinite-array", "The top-level array with indefinite length (0x9f ... 0xff).",
             b"\x9f" + raw[1:] + b"\xff")
        cr = self.L.created
        tag = [*item[:cr], cbor2.CBORTag(1, item[cr]), *item[cr + 1:]]
        fail("tag-on-created-at", "created_at wrapped in tag 1 (epoch time).", canon(tag))
        big = [*item[:cr], cbor2.CBORTag(2, item[cr].to_bytes(8, "big")), *item[cr + 1:]]
        fail("bignum-created-at", "created_at as a tag-2 bignum.", canon(big))
        fail("tag-on-item", "The whole item wrapped in tag 55799 (self-described CBOR).", b"\xd9\xd9\xf7" + raw)
        m = with_fields(item, [("claims.x", MARKER)])
        fail("float-non-shortest", "A claim value 1.5 as a double (fb) where a half (f9 3e00) represents it.",
             spliced(m, b"\xfb" + (0x3FF8000000000000).to_bytes(8, "big")))
        fail("float-single-for-half", "A claim value 1.5 as a single (fa 3fc00000).",
             spliced(m, b"\xfa\x3f\xc0\x00\x00"))
        fail("int-non-shortest-in-value", "A claim integer 5 as 0x18 0x05.", spliced(m, b"\x18\x05"))
        fail("text-length-non-shortest", "A claim text \"a\" with a 1-byte length argument (0x78 0x01 'a').",
             spliced(m, b"\x78\x01a"))
        fail("indefinite-text", "A claim text in indefinite-length chunks.", spliced(m, b"\x7f\x61a\x61b\xff"))
        fail("indefinite-map", "A claim map with indefinite length.", spliced(m, b"\xbf\x61a\x01\xff"))
        fail("map-keys-unsorted", "A claim map with keys \"b\", \"a\" (not sorted).",
             spliced(m, b"\xa2\x61b\x01\x61a\x02"))
        fail("map-keys-length-first", "A claim map with keys \"aa\", \"b\" (canonical order is \"b\", \"aa\": "
             "shorter encoding first).", spliced(m, b"\xa2\x62aa\x01\x61b\x02"))
        fail("map-duplicate-key", "A claim map with the key \"a\" twice.", spliced(m, b"\xa2\x61a\x01\x61a\x02"))
        fail("map-integer-key", "A claim map with an integer key.", spliced(m, b"\xa1\x01\x02"))
        fail("invalid-utf8", "A claim text holding the byte 0xff.", spliced(m, b"\x61\xff"))
        fail("utf8-surrogate", "A claim text holding an encoded surrogate (ed a0 80).", spliced(m, b"\x63\xed\xa0\x80"))
        fail("utf8-overlong", "A claim text holding an overlong '/' (c0 af).", spliced(m, b"\x62\xc0\xaf"))
        fail("nan", "A claim value NaN (f9 7e00).", spliced(m, b"\xf9\x7e\x00"))
        fail("infinity", "A claim value +Infinity (f9 7c00).", spliced(m, b"\xf9\x7c\x00"))
        fail("undefined", "A claim value undefined (f7).", spliced(m, b"\xf7"))
        fail("simple-value", "A claim value simple(16) (f0).", spliced(m, b"\xf0"))
        fail("simple-value-two-byte", "A claim value simple(32) (f8 20).", spliced(m, b"\xf8\x20"))
        fail("break-outside-indefinite", "A lone break byte (ff) as a claim value.", spliced(m, b"\xff"))
        fail("reserved-additional-info", "Additional information 28 (reserved) in a claim value (1c).",
             spliced(m, b"\x1c"))
        fail("negative-int-non-shortest", "A claim value -1 as 0x38 0x00.", spliced(m, b"\x38\x00"))
        fail("bytes-in-claim", "A claim value that is a 5-byte byte string.", spliced(m, b"\x45hello"))
        fail("tagged-text", "A claim text wrapped in tag 32 (URI).", spliced(m, b"\xd8\x20\x61a"))
        fail("half-32768", "A claim value 32768.0 as a half (f9 7800): the reference encoder writes halves only "
             "below 32768 in magnitude, so this value's canonical form is the single fa 47000000.",
             spliced(m, b"\xf9\x78\x00"))
        fail("half-65504", "A claim value 65504.0 (the largest half) as a half (f9 7bff): canonical is single.",
             spliced(m, b"\xf9\x7b\xff"))
        fail("double-for-single", "A claim value 100000.5 as a double where a single represents it.",
             spliced(m, b"\xfb" + (0x40F86A8000000000).to_bytes(8, "big")))
        fail("single-for-subnormal-half", "A claim value 2^-24 as a single (fa 33800000) where a half subnormal "
             "(f9 0001) represents it.", spliced(m, b"\xfa\x33\x80\x00\x00"))
        self.decoded_then_tampered("cbor/single-32768", "A claim value 32768.0 as a single (fa 47000000), its "
                                   "canonical form.", with_fields(item, [("claims.x", 32768.0)]))
        self.decoded_then_tampered("cbor/single-65504", "A claim value 65504.0 as a single (fa 477fe000).",
                                   with_fields(item, [("claims.x", 65504.0)]))
        self.decoded_then_tampered("cbor/half-16384", "A claim value 16384.0 as a half (f9 7400).",
                                   with_fields(item, [("claims.x", 16384.0)]))
        self.decoded_then_tampered("cbor/half-float", "A claim value 1.5 as a half (f9 3e00).",
                                   with_fields(item, [("claims.x", 1.5)]))
        self.decoded_then_tampered("cbor/single-float", "A claim value 100000.5 as a single float (fa).",
                                   with_fields(item, [("claims.x", 100000.5)]))
        self.decoded_then_tampered("cbor/double-float", "A claim value 0.1 as a double (fb).",
                                   with_fields(item, [("claims.x", 0.1)]))
        self.decoded_then_tampered("cbor/negative-zero", "A claim value -0.0 (f9 8000).",
                                   with_fields(item, [("claims.x", -0.0)]))
        self.decoded_then_tampered("cbor/half-subnormal", "A claim value 2^-24 (smallest half subnormal, f9 0001).",
                                   with_fields(item, [("claims.x", 2.0**-24)]))
        self.decoded_then_tampered("cbor/map-sorted", "A claim map with keys \"b\", \"aa\" in canonical order.",
                                   with_fields(item, [("claims.x", {"b": 1, "aa": 2})]))

    # -- decode: the 14-element layout ------------------------------------------------------
    def decode_layout(self) -> None:
        L = self.L
        item = self.plain_item()

        def fail(vid: str, description: str, new: list[Any] | object) -> None:
            self.decode_fail("layout/" + vid, description, self.wrap(canon(new)))

        def at(i: int, value: object, base: list[Any] | None = None) -> list[Any]:
            out = copy.deepcopy(item if base is None else base)
            out[i] = value
            return out

        def made(vid: str, description: str, **kw: Any) -> None:
            """A limit the decoder accepts, in a code really made that way (stamped / holder-signed): VALID."""
            self.valid("layout/" + vid, description, self.base_code(**kw), cert=self.base_cert)

        fail("not-an-array", "The item is a map.", {"v": 1})
        fail("13-elements", "The array has 13 elements.", item[:13])
        fail("15-elements", "The array has 15 elements.", [*item, None])
        if self.hr2:
            self.decode_fail("layout/suite-2", "Element 0 (crypto suite) of a suite-1 code set to 2 (国密, SM3 / "
                             "SM2): its 64-byte issuer signature is not suite 2's 84 bytes (key id || r || s).",
                             self.wrap(canon(at(0, 2))))
            fail("suite-9", "Element 0 (crypto suite) is 9, no suite.", at(0, 9))
            fail("suite-0", "Element 0 (crypto suite) is 0.", at(0, 0))
            fail("suite-true", "Element 0 is true.", at(0, True))
            fail("suite-float", "Element 0 is 1.0.", at(0, 1.0))
            fail("suite-text", "Element 0 is the text \"1\".", at(0, "1"))
        else:
            fail("version-2", "Element 0 is 2.", at(0, 2))
            fail("version-true", "Element 0 is true.", at(0, True))
            fail("version-float", "Element 0 is 1.0.", at(0, 1.0))
        fail("fields-not-array", "Element 1 is a map.", at(1, {}))
        fail("fields-odd-length", "Element 1 has an odd number of items.", at(1, item[1][:-1]))
        fail("fields-empty", "Element 1 is empty (0 fields).", at(1, []))
        fail("salts-short", "Element 2 is one byte short.", at(2, item[2][:-1]))
        if self.hr2:
            spans = _salt_spans(item)
            assert len(item[2]) < 16 * len(spans), "the base code should use the short salt form"
            long_form = b"".join(item[2][a:b] + bytes(16 - (b - a)) for a, b in spans)
            fail("salts-long-form", "Element 2 with the always-disclosed fields' short salts (a tweak byte, 15 zero "
                 "bytes) sent in full: the short form is the only accepted encoding then.", at(2, long_form))
        fail("salts-text", "Element 2 is text.", at(2, "salts"))
        fail("multiproof-not-multiple-of-32", "Element 3 has 33 bytes.", at(3, bytes(33)))
        fail("flags-too-long", "Element 4 one byte longer than the flag count needs.", at(4, item[4] + b"\x00"))
        fail("flags-too-short", "Element 4 one byte shorter.", at(4, item[4][:-1]))
        count = len(item[1]) // 2 + len(item[3]) // 32 - 1
        # A disclosure whose flag count is not a multiple of 8 (the documents' shapes vary by run).
        for paths in (LICENCE_PATHS, LICENCE_PATHS[:1], (), tuple(f.path for f in self.c.plain.fields)):
            padded = item_of(encode(self.pres(self.c.plain, paths=paths)))
            if (len(padded[1]) // 2 + len(padded[3]) // 32 - 1) % 8:
                pad = bytearray(padded[4])
                pad[-1] |= 1
                fail("flags-padding-bit", "A padding bit of the last flag byte set.", at(4, bytes(pad), padded))
                break
        else:
            raise AssertionError("no disclosure with a flag count that is not a multiple of 8")
        if self.hr2:
            every = pack_flags([True] * count)
            fail("multiproof-inconsistent", "Element 4: every flag set (\"two hashes from the queue\"): the "
                 "multiproof consumes hashes it has not produced, so no document root can be derived.",
                 at(4, every))
        else:
            fail("document-root-31", "Element 5 has 31 bytes.", at(5, item[5][:31]))
            fail("document-root-33", "Element 5 has 33 bytes.", at(5, item[5] + b"\x00"))
            fail("batch-root-text", "Element 6 is text.", at(6, "0x" + item[6].hex()))
        bp = L.batch_proof
        fail("batch-proof-not-multiple-of-32", f"Element {bp} (batch proof) has 31 bytes.", at(bp, bytes(31)))
        fail("batch-proof-33-hashes", f"Element {bp} (batch proof) has 33 hashes (limit 32).",
             at(bp, bytes(32 * 33)))
        fail("batch-proof-text", f"Element {bp} (batch proof) is text.", at(bp, "proof"))
        self.add("layout/batch-proof-32-hashes", f"Element {bp} has 32 hashes (the limit): decoded; the proof "
                 + ("leads to another batch root, which the stamp does not cover." if self.hr2 else "fails."),
                 self.wrap(canon(at(bp, bytes(32 * 32)))), *self.tampered("batch_proof"))
        sig = L.issuer_sig
        if self.hr2:
            fail("issuer-signature-65", f"Element {sig} (issuer signature) has 65 bytes (r || s || v): HR2 carries "
                 "the 64-byte EIP-2098 form only.", at(sig, item[sig] + b"\x1b"))
            fail("issuer-signature-63", f"Element {sig} (issuer signature) has 63 bytes.", at(sig, item[sig][:63]))
            fail("issuer-signature-null", f"Element {sig} (issuer signature) is null.", at(sig, None))
        else:
            fail("signature-64", "Element 8 has 64 bytes.", at(8, item[8][:64]))
            fail("signature-66", "Element 8 has 66 bytes.", at(8, item[8] + b"\x1b"))
        cr, ttl, nonce, purpose = L.created, L.ttl, L.nonce, L.purpose
        fail("created-at-negative", f"Element {cr} (created_at) is -1.", at(cr, -1))
        fail("created-at-2^63", f"Element {cr} (created_at) is 2^63.", at(cr, 2**63))
        fail("created-at-float", f"Element {cr} (created_at) is a float.", at(cr, float(item[cr])))
        fail("ttl-0", f"Element {ttl} (ttl) is 0.", at(ttl, 0))
        fail("ttl-86401", f"Element {ttl} (ttl) is 86,401.", at(ttl, 86_401))
        made("ttl-86400", f"Element {ttl} (ttl) is 86,400 (the largest accepted).", ttl=86_400)
        made("ttl-1", f"Element {ttl} (ttl) is 1.", ttl=1)
        fail("nonce-7", f"Element {nonce} (nonce) has 7 bytes.", at(nonce, bytes(7)))
        fail("nonce-17", f"Element {nonce} (nonce) has 17 bytes.", at(nonce, bytes(17)))
        made("nonce-8", f"Element {nonce} (nonce) has 8 bytes.", nonce=bytes(range(8)))
        made("nonce-16", f"Element {nonce} (nonce) has 16 bytes.", nonce=bytes(range(16)))
        fail("nonce-text", f"Element {nonce} is text.", at(nonce, "nonce-nonce"))
        fail("purpose-201", f"Element {purpose} (purpose) has 201 characters.", at(purpose, "事" * 201))
        made("purpose-200", f"Element {purpose} (purpose) has 200 characters (CJK, 600 UTF-8 bytes).",
             purpose="事" * 200)
        made("purpose-empty", f"Element {purpose} (purpose) is empty.", purpose="")
        made("purpose-astral-200", f"Element {purpose} has 200 code points outside the BMP (400 UTF-16 units: the "
             "limit counts code points).", purpose="\U00020000" * 200)
        fail("purpose-null", f"Element {purpose} is null.", at(purpose, None))
        for cp in (0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x7F, 0x80, 0x9F, 0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C,
                   0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069):
            fail(f"purpose-U+{cp:04X}", f"Element {purpose} (purpose) holds U+{cp:04X}.",
                 at(purpose, f"办理{chr(cp)}业务"))
        for cp in (0x200B, 0x2028, 0xFEFF, 0x20, 0xA0):
            made(f"purpose-U+{cp:04X}", f"Element {purpose} (purpose) holds U+{cp:04X} (accepted).",
                 purpose=f"办理{chr(cp)}业务")
        hs = L.holder_sig
        if self.hr2:
            bound = item_of(encode(self.pres(self.c.bound, holder_key=self.c.holder_key)))
            fail("holder-signature-65", f"Element {hs} (holder signature) has 65 bytes: HR2 carries the 64-byte "
                 "EIP-2098 form only.", at(hs, bound[hs] + b"\x1b", bound))
            fail("holder-signature-63", f"Element {hs} (holder signature) has 63 bytes.", at(hs, bound[hs][:63], bound))
            fail("holder-signature-false", f"Element {hs} is false.", at(hs, False))
            st, au = L.stamp, L.audience
            assert st is not None and au is not None
            fail("stamp-63", f"Element {st} (stamp) has 63 bytes (an Ed25519 signature has 64).",
                 at(st, item[st][:63]))
            fail("stamp-65", f"Element {st} (stamp) has 65 bytes.", at(st, item[st] + b"\x00"))
            fail("stamp-text", f"Element {st} (stamp) is text.", at(st, item[st].hex()))
            fail("stamp-false", f"Element {st} (stamp) is false.", at(st, False))
            for value, slug, what in ((0, "0", "0"), (99_999, "99999", "99999"), (1_000_000, "1000000", "1000000"),
                                      (-1, "minus-1", "-1"), ("130000", "text", 'the text "130000"'),
                                      (130000.0, "float", "the float 130000.0"), (True, "true", "true")):
                fail(f"audience-{slug}", f"Element {au} (audience) is {what}: not a six-digit region code.",
                     at(au, value))
            self.add("layout/audience-100000", f"Element {au} (audience) is 100000, the lowest region code: "
                     "decoded; the stamp covered no audience, so it fails.", self.wrap(canon(at(au, 100_000))),
                     "TAMPERED", "stamp_signature")
            self.add("layout/audience-999999", f"Element {au} (audience) is 999999, the highest region code: "
                     "decoded; the stamp fails.", self.wrap(canon(at(au, 999_999))), "TAMPERED", "stamp_signature")
            hr1 = item_of(encode(self.pres(self.c.plain, fmt=1)))
            self.decode_fail("layout/hr1-array-under-hr2-prefix", "The 14-element HR1 array of a real code under the "
                             "prefix HR2: (element 0, version 1, reads as suite 1; element 6, HR1's 32-byte batch "
                             "root, is not a 64-byte signature).", self.wrap(canon(hr1)))
        else:
            fail("holder-signature-64", "Element 13 has 64 bytes.", at(13, bytes(64)))
            fail("holder-signature-false", "Element 13 is false.", at(13, False))
            self.decode_fail("layout/hr2-array-under-hr1-prefix", "The 14-element HR2 array of a real stamped code "
                             "under the prefix HR1:.", self.wrap(canon(item_of(encode(self.pres(self.c.plain,
                                                                                                 fmt=2))))))

    # -- decode: fields, paths, values, compact forms ----------------------------------------
    def decode_fields(self) -> None:
        item = self.plain_item()

        def fail(vid: str, description: str, new: list[Any]) -> None:
            self.decode_fail("fields/" + vid, description, self.wrap(canon(new)))

        def ok(vid: str, description: str, new: list[Any]) -> None:
            self.decoded_then_tampered("fields/" + vid, description, new)

        def deep(depth: int) -> object:
            value: object = 1
            for _ in range(depth):
                value = [value]
            return value

        if self.hr2:
            n = len(HR2_PATH_TABLE)
            fail(f"path-index-{n}", f"A path index {n} (HR2's table has 0-{n - 1}).", with_fields(item, [(n, 1)]))
            fail("path-claim-entry-as-text", "The HR2 table's path \"claims.entityName\" sent as text "
                 f"(must be index {HR2_PATH_TABLE.index('claims.entityName')}).",
                 with_fields(item, [("claims.entityName", "x")]))
            ok("path-index-14", "Path index 14 = \"claims.address\" in HR2's table (HR1's has 0-13).",
               with_fields(item, [(14, "x")]))
        else:
            fail("path-index-14", "A path index 14 (table has 0-13).", with_fields(item, [(14, 1)]))
        fail("path-negative", "A path -1.", with_fields(item, [(-1, 1)]))
        fail("path-table-entry-as-text", "The path \"issuer.name\" sent as text (must be index 7).",
             with_fields(item, [("issuer.name", "x")]))
        fail("path-empty", "An empty text path.", with_fields(item, [("", 1)]))
        fail("path-leading-dot", "The path \".claims\".", with_fields(item, [(".claims", 1)]))
        fail("path-trailing-dot", "The path \"claims.\".", with_fields(item, [("claims.", 1)]))
        fail("path-double-dot", "The path \"claims..x\".", with_fields(item, [("claims..x", 1)]))
        fail("path-129", "A text path of 129 characters.", with_fields(item, [("c" * 129, 1)]))
        ok("path-128", "A text path of 128 characters.", with_fields(item, [("c" * 128, 1)]))
        fail("path-control", "A text path holding U+0000.", with_fields(item, [("claims.\x00", 1)]))
        fail("path-bidi", "A text path holding U+202E.", with_fields(item, [("claims.\u202ex", 1)]))
        fail("path-bytes", "A path that is a byte string.", with_fields(item, [(b"claims", 1)]))
        fail("path-duplicate", "The index 7 (issuer.name) twice.", with_fields(item, [(7, "a"), (7, "b")]))
        fail("path-duplicate-text", "The text path claims.x twice.", with_fields(item, [("claims.x", 1),
                                                                                         ("claims.x", 2)]))
        fail("65-fields", "65 fields (limit 64).",
             with_fields(item, [(f"claims.f{n}", n) for n in range(65 - len(item[1]) // 2)]))
        ok("64-fields", "64 fields (the limit).",
           with_fields(item, [(f"claims.f{n}", n) for n in range(64 - len(item[1]) // 2)]))
        proofs = copy.deepcopy(item)
        proofs[3] = bytes(32 * 65)
        proofs[4] = flags_for(proofs)
        fail("multiproof-65-hashes", "65 multiproof hashes (limit 64).", proofs)
        proofs[3] = bytes(32 * 64)
        proofs[4] = flags_for(proofs)
        ok("multiproof-64-hashes", "64 multiproof hashes (the limit).", proofs)
        fail("text-1025", "A claim text of 1,025 characters.", with_fields(item, [("claims.x", "字" * 1025)]))
        if self.hr2:  # no zlib: 1,024 Chinese characters (3,072 bytes) would exceed the text cap
            ok("text-1024", "A claim text of 1,024 characters (ASCII: HR2 is not compressed).",
               with_fields(item, [("claims.x", "x" * 1024)]))
        else:
            ok("text-1024", "A claim text of 1,024 characters (3,072 UTF-8 bytes).",
               with_fields(item, [("claims.x", "字" * 1024)]))
        fail("int-2^53", "A claim integer 2^53.", with_fields(item, [("claims.x", 2**53)]))
        ok("int-2^53-1", "A claim integer 2^53 - 1.", with_fields(item, [("claims.x", 2**53 - 1)]))
        fail("int-minus-2^53", "A claim integer -2^53.", with_fields(item, [("claims.x", -(2**53))]))
        ok("int-minus-2^53-plus-1", "A claim integer -(2^53 - 1).", with_fields(item, [("claims.x", -(2**53 - 1))]))
        fail("int-2^64-1", "A claim integer 2^64 - 1 (1b ff..ff).", with_fields(item, [("claims.x", 2**64 - 1)]))
        fail("depth-9", "A claim value of 9 nested arrays (a container at depth 8).",
             with_fields(item, [("claims.x", deep(9))]))
        ok("depth-8", "A claim value of 8 nested arrays (containers at depth 0-7).",
           with_fields(item, [("claims.x", deep(8))]))
        fail("depth-9-maps", "A claim value of 9 nested maps.",
             with_fields(item, [("claims.x", json.loads('{"a":' * 9 + "1" + "}" * 9))]))
        ok("depth-8-maps", "A claim value of 8 nested maps.",
           with_fields(item, [("claims.x", json.loads('{"a":' * 8 + "1" + "}" * 8))]))
        fail("array-257", "A claim array of 257 items.", with_fields(item, [("claims.x", [0] * 257)]))
        ok("array-256", "A claim array of 256 items.", with_fields(item, [("claims.x", [0] * 256)]))
        fail("map-257", "A claim map of 257 entries.",
             with_fields(item, [("claims.x", {f"k{n:03d}": 0 for n in range(257)})]))
        ok("map-256", "A claim map of 256 entries.",
           with_fields(item, [("claims.x", {f"k{n:03d}": 0 for n in range(256)})]))
        fail("map-key-129", "A claim map key of 129 characters.", with_fields(item, [("claims.x", {"k" * 129: 1})]))
        ok("map-key-128", "A claim map key of 128 characters.", with_fields(item, [("claims.x", {"k" * 128: 1})]))
        ok("map-key-empty", "A claim map key that is empty (keys are not paths).",
           with_fields(item, [("claims.x", {"": 1})]))
        # addresses
        address = to_checksum_address(b"\x5b\x38" + bytes(range(18)))
        fail("address-as-text", "A claim value that is an EIP-55 checksummed address sent as 42-character text "
             "(must be 20 bytes).", with_fields(item, [("claims.x", address)]))
        ok("address-lower-case-text", "A claim value that is an address in lower case (not its checksummed form: "
           "travels as text).", with_fields(item, [("claims.x", address.lower())]))
        ok("address-20-bytes", "A claim value of 20 bytes (an address).",
           with_fields(item, [("claims.x", bytes.fromhex(address[2:]))]))
        fail("bytes-19", "A claim value of 19 bytes.", with_fields(item, [("claims.x", bytes(19))]))
        fail("bytes-20-nested", "20 bytes inside an array.", with_fields(item, [("claims.x", [bytes(20)])]))
        signer = to_checksum_address(self.depts["bj-main"].account.address)
        fail("signing-address-as-text", "issuer.signingAddress (index 8) as checksummed text.",
             with_fields(item, [(8, signer)]))
        # compact id
        cert_id = str(self.c.plain.document["id"])
        fail("id-full-text", "The id sent in full as text although it starts with the compact prefix.",
             set_field(item, 1, cert_id))
        fail("id-bytes-without-type", "A compact (bytes) id while type is an integer.",
             set_field(item, 2, 5))
        fail("id-tail-65", "A compact id tail of 65 bytes.", set_field(item, 1, b"1" * 65))
        ok("id-tail-64", "A compact id tail of 64 bytes.", set_field(item, 1, b"1" * 64))
        fail("id-tail-empty", "A compact id tail of 0 bytes.", set_field(item, 1, b""))
        fail("id-tail-space", "A compact id tail holding a space (0x20).", set_field(item, 1, b"2025 1"))
        fail("id-tail-non-ascii", "A compact id tail holding 0x80.", set_field(item, 1, b"2025\x80"))
        ok("id-other-prefix-text", "An id that does not start with the prefix travels as text (accepted).",
           set_field(item, 1, "1.2.156.3005.2.OTHER.000000.1"))
        ok("id-prefix-with-long-tail", "An id whose tail would be 65 characters travels as text (accepted).",
           set_field(item, 1, f"1.2.156.3005.2.{item_field(item, 2)}.{item_field(item, 3)}." + "1" * 65))
        ok("id-prefix-with-space-tail", "An id whose tail holds a space travels as text (accepted).",
           set_field(item, 1, f"1.2.156.3005.2.{item_field(item, 2)}.{item_field(item, 3)}.2025 1"))
        ok("id-text-equal-to-prefix", "An id equal to the prefix itself (empty tail): travels as text.",
           set_field(item, 1, f"1.2.156.3005.2.{item_field(item, 2)}.{item_field(item, 3)}."))


def key_obj(k: NodeKey) -> dict[str, Any]:
    """A stamping key in the trust-snapshot form (verifier/snapshot.py, `stampKeys`)."""
    return {"keyId": k.key_id.lower(), "region": k.region, "suite": k.suite, "algorithm": k.algorithm,
            "publicKey": "0x" + k.public_key.hex(), "validFrom": k.valid_from, "validUntil": k.valid_until}


def item_field(item: list[Any], index: int) -> object:
    fields = item[1]
    for n in range(0, len(fields), 2):
        if fields[n] == index:
            return fields[n + 1]
    raise KeyError(index)


# ============================================================================ main


def write(vectors: list[Vector], out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for v in vectors:
        path = out / (v.id.replace("/", "--") + ".json")
        path.write_text(json.dumps(v.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="writes <out>/hr2/ and <out>/hr1/")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="huren-vectors-") as tmp:
        w, certs, depts = build_world(Path(tmp))
        try:
            sets = {layout.prefix[:3].lower(): Gen(w, certs, depts, layout).run() for layout in (HR2, HR1)}
        finally:
            w.net.rpc.close()
            w.node.stop()
    for name, vectors in sets.items():
        write(vectors, args.out / name)
        counts: dict[str, int] = {}
        for v in vectors:
            counts[v.verdict] = counts.get(v.verdict, 0) + 1
        print(f"{len(vectors)} vectors written to {args.out / name}")
        for verdict, n in sorted(counts.items()):
            print(f"  {verdict:24} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
