"""The 加注 stamp in both crypto suites (common.stamp, issue 17): suite 1 unchanged (keccak-256 inner
digests, Ed25519), suite 2 国密 (SM3 inner digests, SM2), and no key of one suite vouching for a code
of the other."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.gm import sm2_verify, sm3
from common.node_keys import SM2NodePrivateKey
from common.nodes import NodeAlgorithm, NodeKey, NodeKeyPurpose, NodeSuite, key_id
from common.stamp import STAMP_TAG, Stamped, StampSigner, StampSuiteMismatch, stamp_message, verify_stamp
from common.suites import keccak256

BJ = 110000
NOW = 1_800_000_000


def envelope(suite: int, **changes: object) -> Stamped:
    s = Stamped(suite=suite, domain_separator=b"\x01" * 32, region=BJ, document_root=b"\x02" * 32,
                batch_root=b"\x03" * 32, leaves=[b"\x04" * 32, b"\x05" * 32], created_at=NOW, ttl=600,
                nonce=b"nonce-16-bytes!!", purpose="办理备案", audience=120000)
    return replace(s, **changes)  # type: ignore[arg-type]


def registered(signer: StampSigner, *, suite: int | None = None, algorithm: int | None = None,
               purpose: NodeKeyPurpose = NodeKeyPurpose.STAMPING) -> NodeKey:
    return NodeKey(key_id(signer.public_bytes), signer.region,
                   int(signer.algorithm.suite) if suite is None else suite,
                   int(signer.algorithm) if algorithm is None else algorithm, int(purpose), signer.public_bytes,
                   NOW - 100, None)


def _layout(s: Stamped, h) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join((STAMP_TAG, bytes([s.suite]), s.domain_separator, s.region.to_bytes(4, "big"), s.document_root,
                     s.batch_root, h(b"".join(s.leaves)), s.created_at.to_bytes(8, "big"), s.ttl.to_bytes(4, "big"),
                     h(s.nonce), h(s.purpose.encode()), (s.audience or 0).to_bytes(4, "big")))


@pytest.fixture
def sm2_signer() -> StampSigner:
    return StampSigner(BJ, SM2NodePrivateKey.generate())


@pytest.fixture
def ed_signer() -> StampSigner:
    return StampSigner(BJ, Ed25519PrivateKey.generate())


def test_a_suite_1_stamp_message_keeps_its_keccak_inner_digests():
    assert stamp_message(envelope(1)) == _layout(envelope(1), keccak256)


def test_a_suite_2_stamp_message_uses_sm3_inner_digests_and_names_suite_2():
    message = stamp_message(envelope(2))
    assert message == _layout(envelope(2), sm3)
    assert message[len(STAMP_TAG)] == 2


def test_a_stamp_message_of_an_undefined_suite_is_refused():
    with pytest.raises(ValueError, match="suite"):
        stamp_message(envelope(3))


def test_an_sm2_stamping_key_is_suite_2_sm2_sm3_with_a_65_byte_public_key(sm2_signer):
    assert (sm2_signer.suite, sm2_signer.algorithm) == (2, NodeAlgorithm.SM2_SM3)
    assert len(sm2_signer.public_bytes) == 65 and sm2_signer.key_id == key_id(sm2_signer.public_bytes)


def test_a_suite_2_stamp_is_a_64_byte_sm2_signature_of_the_message(sm2_signer):
    stamp = sm2_signer.sign(envelope(2))
    assert len(stamp) == 64
    sm2_verify(sm2_signer.public_bytes, stamp_message(envelope(2)), stamp)


def test_a_suite_2_stamp_is_verified_by_the_regions_sm2_stamping_key(sm2_signer):
    key = registered(sm2_signer)
    assert verify_stamp(envelope(2), sm2_signer.sign(envelope(2)), [key]) == key


def test_a_suite_2_stamp_over_another_purpose_is_refused(sm2_signer):
    stamp = sm2_signer.sign(envelope(2))
    assert verify_stamp(envelope(2, purpose="贷款"), stamp, [registered(sm2_signer)]) is None


def test_a_suite_2_stamp_with_an_altered_byte_is_refused(sm2_signer):
    stamp = bytearray(sm2_signer.sign(envelope(2)))
    stamp[40] ^= 1
    assert verify_stamp(envelope(2), bytes(stamp), [registered(sm2_signer)]) is None


def test_another_sm2_key_of_the_region_does_not_explain_the_stamp(sm2_signer):
    other = StampSigner(BJ, SM2NodePrivateKey.generate())
    assert verify_stamp(envelope(2), sm2_signer.sign(envelope(2)), [registered(other)]) is None


def test_an_sm2_key_registered_for_request_signing_does_not_stamp(sm2_signer):
    key = registered(sm2_signer, purpose=NodeKeyPurpose.REQUEST_SIGNING)
    assert verify_stamp(envelope(2), sm2_signer.sign(envelope(2)), [key]) is None


def test_an_ed25519_stamping_key_never_vouches_for_a_suite_2_code(ed_signer):
    """Even a genuine Ed25519 signature over the suite-2 message: a suite-2 code needs an SM2 key."""
    forged = ed_signer.private_key.sign(stamp_message(envelope(2)))
    assert verify_stamp(envelope(2), forged, [registered(ed_signer)]) is None


def test_an_sm2_stamping_key_never_vouches_for_a_suite_1_code(sm2_signer):
    forged = sm2_signer.private_key.sign(stamp_message(envelope(1)))
    assert verify_stamp(envelope(1), forged, [registered(sm2_signer)]) is None


def test_an_sm2_key_registered_under_suite_1_is_skipped(sm2_signer):
    key = registered(sm2_signer, suite=int(NodeSuite.INTERNATIONAL))
    assert verify_stamp(envelope(2), sm2_signer.sign(envelope(2)), [key]) is None


def test_a_suite_1_stamp_does_not_verify_as_the_same_envelope_in_suite_2(ed_signer):
    stamp = ed_signer.sign(envelope(1))
    assert verify_stamp(envelope(1), stamp, [registered(ed_signer)]) is not None
    assert verify_stamp(envelope(2), stamp, [registered(ed_signer)]) is None


def test_among_keys_of_both_suites_each_code_finds_its_own(sm2_signer, ed_signer):
    keys = [registered(ed_signer), registered(sm2_signer)]
    assert verify_stamp(envelope(1), ed_signer.sign(envelope(1)), keys) == keys[0]
    assert verify_stamp(envelope(2), sm2_signer.sign(envelope(2)), keys) == keys[1]


def test_an_sm2_stamping_key_refuses_to_stamp_a_suite_1_code_in_words(sm2_signer):
    with pytest.raises(StampSuiteMismatch, match="套件 1") as refused:
        sm2_signer.sign(envelope(1))
    assert "sm2-sm3" in refused.value.message_en


def test_an_ed25519_stamping_key_refuses_to_stamp_a_suite_2_code(ed_signer):
    with pytest.raises(StampSuiteMismatch):
        ed_signer.sign(envelope(2))


def test_a_stamp_signer_never_prints_its_sm2_private_key(sm2_signer):
    assert sm2_signer.private_key._private.hex() not in repr(sm2_signer)


# ---- a second implementation: the JavaScript verifier's SM2 (npm sm-crypto) checks our suite-2 stamps


SCRIPT = Path(__file__).with_name("sm_crypto_ref.js")


@pytest.mark.skipif(shutil.which("node") is None
                    or not (Path(__file__).parents[3] / "node_modules" / "sm-crypto").is_dir(),
                    reason="needs node and node_modules/sm-crypto (run `make setup`)")
def test_sm_crypto_verifies_a_suite_2_stamp_over_its_message_and_refuses_another_purpose(sm2_signer, tmp_path):
    stamp = sm2_signer.sign(envelope(2))
    cases = [{"public": sm2_signer.public_bytes.hex(), "message": stamp_message(e).hex(), "signature": stamp.hex()}
             for e in (envelope(2), envelope(2, purpose="贷款"))]
    (tmp_path / "in.json").write_text(json.dumps({"verify": cases}))
    done = subprocess.run(["node", str(SCRIPT), str(tmp_path / "in.json")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verify"] == [True, False]


@pytest.mark.parametrize("suite", [1, 2])
def test_a_node_recognises_its_own_stamp_in_either_suite(suite: int, sm2_signer, ed_signer):
    signer = sm2_signer if suite == 2 else ed_signer
    stamped = envelope(suite)
    assert signer.made(stamped, signer.sign(stamped))


@pytest.mark.parametrize("suite", [1, 2])
def test_a_node_does_not_own_a_stamp_over_other_content_or_by_another_key(suite: int, sm2_signer, ed_signer):
    signer = sm2_signer if suite == 2 else ed_signer
    stamp = signer.sign(envelope(suite))
    assert not signer.made(envelope(suite, purpose="另一个事由"), stamp)
    other = StampSigner(BJ, SM2NodePrivateKey.generate() if suite == 2 else Ed25519PrivateKey.generate())
    assert not other.made(envelope(suite), stamp)
