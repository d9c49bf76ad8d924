"""The whole story in crypto suite 2 (国密, issue 17): a consortium seeded with SM2 document-signing
keys, SM2 node keys and SM4 field keys (`seed_federation(suite=2)`, what `make demo HUREN_SUITE=2`
runs), the 北京 and 河北 nodes as their own `huren serve` processes over one chain. Issued at 北京
(SM3 tree, SM2 signature), anchored as a 国密 batch, presented with an SM2 加注 stamp, VALID at
河北 from the chain's SM2 public key, then revoked at 北京 without an on-chain proof and REVOKED
at 河北. Tests run in file order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from api.seed import BJ, HE
from common.suites import Suite, sm2_document_message
from tests.e2e.test_e2e_federation_processes import (
    LocalFederation,
    _anchored_at_beijing,
    _codes,
    _indexed_block,
    local_federation,
)
from verifier.codec import decode

PURPOSE = "国密演示：在河北省办理企业变更登记"


@pytest.fixture(scope="module")
def guomi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    with local_federation(tmp_path_factory.mktemp("guomi"), (BJ, HE), suite=2) as fed:
        yield fed


@pytest.fixture(scope="module")
def licence(guomi: LocalFederation) -> tuple[str, str]:
    return _anchored_at_beijing(guomi, 1)


def _checks(body: dict[str, object]) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in body["checks"]}  # type: ignore[attr-defined, index]


def test_the_wallet_code_is_a_suite_two_code_with_an_sm2_signature_and_stamp(guomi, licence):
    cert_id, holder = licence
    p = decode(_codes(guomi, cert_id, holder, PURPOSE)["presentation"])
    assert p.suite == Suite.GUOMI and p.format == 2
    assert len(p.issuer_signature) == 84  # the SM2 key's registry id, then r || s
    assert p.stamp is not None and len(p.stamp) == 64


def test_the_department_and_the_wallet_say_the_certificate_is_suite_two(guomi, licence):
    cert_id, holder = licence
    with guomi.client(BJ, "bj-amr") as c:
        assert c.get(f"/v1/certificates/{cert_id}").json()["suite"] == 2
    with guomi.client(BJ, holder) as c:
        [listed] = [i for i in c.get("/v1/wallet/certificates").json() if i["cert_id"] == cert_id]
    assert listed["suite"] == 2


def test_a_guomi_licence_is_valid_at_the_hebei_node(guomi, licence):
    cert_id, holder = licence
    reply = guomi.verify(HE, {"presentation": _codes(guomi, cert_id, holder, PURPOSE)["presentation"]})
    body = reply.json()
    assert reply.status_code == 200 and body["verdict"] == "VALID", body
    checks = _checks(body)
    assert checks["crypto_suite"]["ok"] and "国密" in str(checks["crypto_suite"]["detail"])
    assert checks["sm2_issuer_signature"]["ok"]
    assert checks["stamp_signature"]["ok"]


def test_a_guomi_code_whose_signature_is_moved_to_another_root_reads_tampered(guomi, licence):
    """The SM2 signature covers the document root: a field changed (another root) breaks it."""
    from dataclasses import replace

    from common.document import Disclosure, SaltedField
    from verifier.codec import encode

    cert_id, holder = licence
    p = decode(_codes(guomi, cert_id, holder, PURPOSE)["presentation"])
    fields = [SaltedField(f.path, "冒名顶替有限公司" if f.path == "claims.entityName" else f.value, f.salt)
              for f in p.disclosure.fields]
    forged = replace(p, disclosure=Disclosure(fields, p.disclosure.proof, p.disclosure.flags))
    body = guomi.verify(HE, {"presentation": encode(forged)}).json()
    assert body["verdict"] == "TAMPERED", body


def test_the_sm2_message_binds_the_deployment_and_the_root():
    """What an issuer signs in suite 2 (common/suites.py): tag, domain separator, document root."""
    message = sm2_document_message(b"\x01" * 32, b"\x02" * 32)
    assert message == b"huren-document/2" + b"\x01" * 32 + b"\x02" * 32


def test_a_revoked_guomi_licence_reads_revoked_at_the_hebei_node(guomi):
    cert_id, holder = _anchored_at_beijing(guomi, 2)
    code = _codes(guomi, cert_id, holder, PURPOSE)["presentation"]
    with guomi.client(BJ, "bj-amr") as c:
        reply = c.post(f"/v1/certificates/{cert_id}/revoke", json={"reason": "撤销"})
    assert reply.status_code == 200, reply.text
    deadline = time.monotonic() + 60
    target = int(reply.json().get("block_number") or _indexed_block(guomi.nodes[BJ].base_url))
    while _indexed_block(guomi.nodes[HE].base_url) < target:
        assert time.monotonic() < deadline, "the 河北 node's index did not reach the revocation"
        time.sleep(0.2)
    body = guomi.verify(HE, {"presentation": code}).json()
    assert body["verdict"] == "REVOKED", body
