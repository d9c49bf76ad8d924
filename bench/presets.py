"""QR size of each catalogue type's default preset in format HR2, with a byte breakdown by part.

What is measured (issue 15, item 4): for every type of the catalogue, a certificate with the
sample generator's realistic values, sealed by the real issuer code (`issuers.sealing.Sealer`,
so its salts are what issuance makes), placed in a full batch of 1,024 certificates (a 10-hash
batch proof), presented with the type's default disclosure preset, a 14-character 事由, the
node's 加注 stamp and no holder signature (the common case) — then encoded as the wallet does.

Printed per type: characters of the text, QR version at level M, and the CBOR bytes of each part
before compression (fields = paths and values; salts; proofs = multiproof, flags and batch proof;
signatures = issuer signature and stamp; envelope = suite, times, nonce, 事由, audience; HR2 sends
the CBOR without zlib), then the
largest version over all types. Target (issue 15): every default preset at version 25 or below
(1,451 characters), stretch version 22 (1,134).

Run alone: `.venv/bin/python -m bench.presets` (no chain needed: nothing here asks one).
Both crypto suites (issue 17): suite 2's codes carry an SM2 signature with its 20-byte key id.
Its last line: `presets qr_default_max=<v> chars_max=<n> qr_default_max_sm2=<v2> chars_max_sm2=<n2>`;
bench/verify.py prints the suite-1 figure.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account

from bench.machine import describe
from common.eip712 import Domain
from common.gm import sm2_generate_keypair
from common.merkle import StandardMerkleTree
from common.node_keys import SM2NodePrivateKey
from common.stamp import StampSigner
from common.suites import digest_of
from issuers.catalogue import default_catalogue
from issuers.model import Issuer
from issuers.samples import sample_certificate, sample_draft
from issuers.sealing import Sealer
from verifier.codec import _b45decode, encode
from verifier.presentation import make_presentation
from verifier.qr import qr_version

BATCH = 1024
PURPOSE = "在河北省办理企业登记备案手续"  # 14 characters, as a clerk's 事由 typically is
DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")


@dataclass(frozen=True)
class PresetSize:
    type_code: str
    name: str
    fields: int
    disclosed: int
    chars: int
    version: int
    parts: dict[str, int]
    text: str = field(repr=False, default="")


def _parts(text: str) -> dict[str, int]:
    """CBOR bytes of each part of an HR2 code, by the positions of codec.py's docstring."""
    item = cbor2.loads(_b45decode(text[4:]))  # HR2: Base45 of the CBOR itself
    size = {i: len(cbor2.dumps(x, canonical=True)) for i, x in enumerate(item)}
    return {
        "fields": size[1],
        "salts": size[2],
        "proofs": size[3] + size[4] + size[5],
        "signatures": size[6] + size[12] + size[13],
        "envelope": size[0] + size[7] + size[8] + size[9] + size[10] + size[11],
    }


def preset_sizes(seed: int = 1, suite: int = 1) -> list[PresetSize]:
    """One row per catalogue type (see the module docstring for what is in each code).

    Suite 2 (国密): an SM2 issuer key (the signature carries its 20-byte key id), SM3 trees and
    an SM2 stamp — 20 bytes more than suite 1's compact signature, the rest the same size.
    """
    if suite == 2:
        sealer = Sealer(sm2_generate_keypair().private_key, DOMAIN, 2)
        stamp_key: object = SM2NodePrivateKey.generate()
    else:
        sealer = Sealer(bytes(Account.create().key), DOMAIN)
        stamp_key = Ed25519PrivateKey.generate()
    h = digest_of(suite)
    rows = []
    for t in default_catalogue().types():
        sample = sample_draft(t.type_code, seed).issuer
        issuer = Issuer(sample.credit_code, sample.region, sample.name, sealer.address)
        sealed = sealer.seal(sample_certificate(t.type_code, seed, issuer=issuer))
        others = [secrets.token_bytes(32) for _ in range(BATCH - 1)]
        tree = StandardMerkleTree.of([sealed.document_root, *others], h)
        index = tree.index_of(sealed.document_root)
        p = make_presentation(list(sealed.fields), t.default_disclosure, batch_root=tree.root,
                              batch_proof=tree.proof(index), issuer_signature=sealed.signature, purpose=PURPOSE,
                              domain=DOMAIN, stamp_signer=StampSigner(issuer.region, stamp_key),  # type: ignore[arg-type]
                              suite=suite)
        text = encode(p)
        rows.append(PresetSize(t.type_code, t.name, len(sealed.fields), len(p.disclosure.fields), len(text),
                               qr_version(text), _parts(text), text))
    return rows


def report(rows: list[PresetSize], suite: int = 1) -> tuple[int, int]:
    """Print the table; return (largest QR version, most characters)."""
    print(f"default presets in HR2, suite {suite} (stamped, unbound, batch of {BATCH}, 事由 of {len(PURPOSE)} "
          "characters); CBOR bytes by part:")
    for r in rows:
        parts = " ".join(f"{k} {v}" for k, v in r.parts.items())
        print(f"  {r.name:<16} {r.type_code}  {r.disclosed:2d}/{r.fields:2d} fields  {r.chars:5d} chars  "
              f"version {r.version:2d}  ({parts})")
    worst = max(rows, key=lambda r: (r.version, r.chars))
    print(f"largest default preset: {worst.name} ({worst.type_code}), version {worst.version}, "
          f"{worst.chars} characters (target: version 25 = 1,451 characters; stretch: version 22 = 1,134)")
    return worst.version, max(r.chars for r in rows)


def main() -> None:
    print(describe())
    seed = int(os.environ.get("HUREN_BENCH_SEED", "1"))
    version, chars = report(preset_sizes(seed))
    version_sm2, chars_sm2 = report(preset_sizes(seed, suite=2), suite=2)
    print(f"presets qr_default_max={version} chars_max={chars} qr_default_max_sm2={version_sm2} "
          f"chars_max_sm2={chars_sm2}")


if __name__ == "__main__":
    main()
