"""QR codes: alphanumeric mode, smallest version at level M, readable by zbar, and how big they get.

Documents here use deterministic salts (derived from a label, still 16 random-looking bytes) so
the sizes below are exact and the size test cannot flake on a lucky compression.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import qrcode
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM
from verifier_world import (
    CREDIT_A,
    DOMAIN,
    NOW,
    TYPE_FOOD,
    FakeChainView,
    address_of,
    certificate_id,
    key_of,
    make_document,
    resident_id,
    stamp_signer_of,
)

from common.document import SaltedField, document_root, flatten, issuer_id
from common.eip712 import sign_document_root
from common.facts import IssuerFacts, IssuerStatus, KeyFacts
from common.hashing import keccak
from common.merkle import StandardMerkleTree
from verifier.codec import decode, encode, make_reference, new_reference_token
from verifier.engine import VerifierPolicy, verify
from verifier.presentation import make_presentation
from verifier.qr import qr_code, qr_png, qr_svg, qr_version
from verifier.verdicts import Verdict

ISSUER_KEY = key_of("issuer-a/signing-key-1")
HOLDER_KEY = key_of("holder/zhang-san")
PURPOSE = "办理食品经营许可变更"  # 10 characters, 30 bytes of UTF-8
BATCH = 1024


def twelve_field_document(n: int) -> dict[str, object]:
    """A certificate of exactly 12 fields (leaves): the 7 always disclosed + 5 more."""
    return {
        "version": 1,
        "id": certificate_id(TYPE_FOOD, CREDIT_A, f"2025{n:06d}"),
        "type": TYPE_FOOD,
        "issuer": {"creditCode": CREDIT_A, "region": 330105, "name": "杭州市拱墅区市场监督管理局"},
        "holder": {
            "name": "张三",
            "idNumber": resident_id(f"33010519800101{n % 1000:03d}"),
            "address": address_of(HOLDER_KEY),
        },
        "claims": {"licenceNo": f"JY133010500{n:05d}"},
        "validFrom": "2025-01-01",
        "validUntil": "2029-12-31",
    }


def full_model_document(n: int) -> dict[str, object]:
    """The full document model of the unit tests (17 fields: signing address, ID type, 3 claims...)."""
    return make_document(n, signing_address=address_of(ISSUER_KEY), holder_address=address_of(HOLDER_KEY))


def salted(doc: dict[str, object], n: int) -> list[SaltedField]:
    return [SaltedField(path, value, keccak(f"salt/{n}/{path}".encode())[:16]) for path, value in flatten(doc).items()]


@dataclass
class Scenario:
    name: str
    text: str
    fields: int
    disclosed: int

    @property
    def payload_bytes(self) -> int:
        return (len(self.text) - 4) * 2 // 3

    @property
    def version(self) -> int:
        return qr_version(self.text)


STAMP = stamp_signer_of("qr-test/node-330105", 330105)


def scenario(name: str, make_doc, paths: tuple[str, ...], *, bound: bool) -> Scenario:  # type: ignore[no-untyped-def]
    documents = [salted(make_doc(n), n) for n in range(BATCH)]
    tree = StandardMerkleTree.of([document_root(d) for d in documents])
    i = 517  # any certificate of the batch: every batch proof is log2(1024) = 10 hashes
    p = make_presentation(
        documents[i],
        paths,
        batch_root=tree.root,
        batch_proof=tree.proof(i),
        issuer_signature=sign_document_root(ISSUER_KEY, DOMAIN, tree.values[i]),
        purpose=PURPOSE,
        domain=DOMAIN,
        holder_key=HOLDER_KEY if bound else None,
        now=NOW - 30,
        nonce=bytes(range(12)),
        stamp_signer=STAMP,
    )
    return Scenario(name, encode(p), len(documents[i]), len(p.disclosure.fields))


FOUR_OF_TWELVE = ("holder.name", "holder.idNumber", "issuer.name", "claims.licenceNo")


@pytest.fixture(scope="module")
def requirement() -> Scenario:
    """The requirement: 4 fields disclosed besides the 7 every presentation must show, out of a
    12-field certificate, from a batch of 1,024, not holder-bound."""
    return scenario("12 fields: 7 always + 4, unbound", twelve_field_document, FOUR_OF_TWELVE, bound=False)


def zbar_read_png(png: bytes) -> list[str]:
    return [s.data.decode("ascii") for s in zbar_decode(Image.open(io.BytesIO(png)), symbols=[ZBarSymbol.QRCODE])]


def test_requirement_presentation_fits_version_25_at_level_m(requirement: Scenario) -> None:
    print(
        f"\n{requirement.name}: {requirement.disclosed} of {requirement.fields} fields disclosed, "
        f"{len(requirement.text)} chars, {requirement.payload_bytes} bytes, QR version {requirement.version}"
    )
    assert requirement.disclosed == 11 and requirement.fields == 12
    assert requirement.version <= 25


def test_requirement_presentation_reads_back_with_zbar_identically(requirement: Scenario) -> None:
    assert zbar_read_png(qr_png(requirement.text)) == [requirement.text]


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools not installed")
def test_requirement_presentation_reads_back_with_the_zbarimg_tool(requirement: Scenario, tmp_path: Path) -> None:
    image = tmp_path / "qr.png"
    image.write_bytes(qr_png(requirement.text, box_size=3))
    out = subprocess.run(["zbarimg", "--raw", "-q", str(image)], capture_output=True, text=True, check=True)
    assert out.stdout.rstrip("\n") == requirement.text


def test_scanned_presentation_verifies_as_valid(requirement: Scenario) -> None:
    """Camera-free end to end: encode -> QR -> zbar -> decode -> verify against the chain's facts."""
    scanned = zbar_read_png(qr_png(requirement.text))[0]
    p = decode(scanned)
    view = FakeChainView()
    ia = issuer_id(CREDIT_A)
    view.issuers[ia] = IssuerFacts(ia, 330105, IssuerStatus.ACTIVE, 0, None, frozenset({TYPE_FOOD}))
    view.keys[address_of(ISSUER_KEY)] = KeyFacts(address_of(ISSUER_KEY), ia, 0, None)
    view.add_anchor(p.batch_root, issuer=ia, key=address_of(ISSUER_KEY), count=BATCH)
    view.add_stamp_key(STAMP)
    result = verify(p, view, VerifierPolicy(region=330105, domain=DOMAIN), NOW)
    assert result.verdict is Verdict.VALID


def test_presentation_codes_use_one_alphanumeric_segment(requirement: Scenario) -> None:
    code = qr_code(requirement.text)
    assert [segment.mode for segment in code.data_list] == [MODE_ALPHA_NUM]


def test_the_smallest_version_is_chosen(requirement: Scenario) -> None:
    smaller = qrcode.QRCode(version=requirement.version - 1, error_correction=ERROR_CORRECT_M)
    smaller.add_data(qr_code(requirement.text).data_list[0])
    with pytest.raises(DataOverflowError):
        smaller.make(fit=False)


def test_reference_url_makes_a_small_byte_mode_code_that_reads_back() -> None:
    url = make_reference("https://verify.zj.gov.cn", new_reference_token())
    code = qr_code(url)
    assert [segment.mode for segment in code.data_list] == [MODE_8BIT_BYTE]
    assert qr_version(url) <= 4
    assert zbar_read_png(qr_png(url)) == [url]


def test_svg_is_a_single_path_svg(requirement: Scenario) -> None:
    svg = qr_svg(requirement.text)
    assert svg.lstrip().startswith("<svg") or svg.lstrip().startswith("<?xml")
    assert svg.count("<path") == 1


def test_text_too_long_for_any_qr_code_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        qr_version("A" * 4000)


# Measured with this exact data (deterministic salts; purpose of 10 Chinese characters).
# A change in the format that makes any of these bigger should be a conscious decision.
MEASURED = [
    # name, document, disclosed paths, holder-bound
    ("12 fields: 7 always only, unbound", twelve_field_document, (), False),
    ("12 fields: 7 always + 4, unbound", twelve_field_document, FOUR_OF_TWELVE, False),
    ("12 fields: 7 always + 4, holder-bound", twelve_field_document, FOUR_OF_TWELVE[:3], True),
    ("17 fields: 7 always + 4, unbound", full_model_document, FOUR_OF_TWELVE, False),
    ("17 fields: 7 always + 4, holder-bound", full_model_document, FOUR_OF_TWELVE[:3], True),
]
EXPECTED_VERSIONS = {
    "12 fields: 7 always only, unbound": 24,  # 1,303 chars, 866 bytes
    "12 fields: 7 always + 4, unbound": 25,  # 1,411 chars, 938 bytes (the requirement)
    "12 fields: 7 always + 4, holder-bound": 26,  # 1,492 chars, 992 bytes
    "17 fields: 7 always + 4, unbound": 28,  # 1,651 chars, 1,098 bytes
    "17 fields: 7 always + 4, holder-bound": 28,  # 1,732 chars, 1,152 bytes
}


def test_measured_sizes_stay_where_they_were_measured() -> None:
    lines = []
    for name, make_doc, paths, bound in MEASURED:
        s = scenario(name, make_doc, paths, bound=bound)
        lines.append(
            f"{name:40s} {s.disclosed:2d}/{s.fields:2d} disclosed  {len(s.text):5d} chars "
            f"{s.payload_bytes:5d} bytes  version {s.version}"
        )
    print("\n" + "\n".join(lines))
    for line, (name, *_rest) in zip(lines, MEASURED, strict=True):
        assert int(line.rsplit(" ", 1)[1]) <= EXPECTED_VERSIONS[name], line
