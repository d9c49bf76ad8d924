"""Every preset the wallet page offers, for every certificate type of the catalogue, gives a code
that verifies VALID — real anvil, real contracts, the real API over HTTP.

Each certificate binds a holder key (holder.address), the case that made the "全部信息" preset
of a driving licence answer HOLDER_BINDING_FAILED: presets leave that field out until the
wallet can sign for the holder. The presets are the page's own (`presets_for`), computed from
what the wallet API returns for the certificate, exactly as the page computes them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.pages.views_wallet import NOT_IN_PRESETS, presets_for
from api.seed import BJ, DemoWorld, add_holder
from issuers.catalogue import default_catalogue
from issuers.field_cipher import new_field_key
from issuers.model import Issuer
from issuers.rules.credit_code import make_credit_code
from issuers.samples import sample_document
from ledger.anvil import IDLE_BLOCK_TIME_S, start_anvil
from ledger.keystore import save_keystore
from tests.e2e.stack import Stack, running_stack, wait_anchored

CREDIT_CODE = make_credit_code("11110000MB0000099")
NAME = "北京市政务服务管理局（全类型测试）"
HOLDER_ADDRESS = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"  # EIP-55 checksum form
PURPOSE = "办理政务服务事项"


def _department_of_every_type(world: DemoWorld) -> None:
    """A Beijing department authorised on chain for every catalogue type, served by the API."""
    types = [t.type_code for t in default_catalogue().types()]
    account = world.net.new_account()
    world.net.register_issuer(BJ, CREDIT_CODE, NAME, [account.address], types)
    passphrase = Path(world.env["HUREN_PASSPHRASE_FILE"]).read_text().strip()
    keystore = world.workdir / "keystores" / f"{CREDIT_CODE}.json"
    save_keystore(keystore, bytes(account.key), passphrase, iterations=2)
    key_file = world.workdir / "secrets" / f"{CREDIT_CODE}.fieldkey"
    key_file.write_text(new_field_key())
    key_file.chmod(0o600)
    departments = Path(world.env["HUREN_DEPARTMENTS_FILE"])
    entries = json.loads(departments.read_text())
    entries.append({"creditCode": CREDIT_CODE, "region": BJ, "name": NAME, "keystore": str(keystore),
                    "fieldKeyFile": str(key_file), "types": types})
    departments.write_text(json.dumps(entries, ensure_ascii=False))


@pytest.fixture(scope="module")
def every_type(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, list[tuple[str, str]]]]:
    """The stack, and one anchored, holder-bound certificate of every type: (cert_id, holder handle)."""
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)  # verdicts need a chain that ticks
    try:
        with running_stack(node, tmp_path_factory.mktemp("presets"), before_start=_department_of_every_type) as s:
            _, token = s.app.state.runtime.credentials.add("department", NAME, credit_code=CREDIT_CODE, region=BJ)
            s.world.tokens["every-type"] = token
            issued = [_issue(s, t.type_code, i) for i, t in enumerate(default_catalogue().types())]
            for cert_id, holder in issued:
                wait_anchored(s, holder, cert_id, timeout=90)
            yield s, issued
    finally:
        node.stop()


def _issue(stack: Stack, type_code: str, index: int) -> tuple[str, str]:
    issuer = Issuer(CREDIT_CODE, BJ, NAME, "0x" + "00" * 20)
    seed = 70_000 + 100 * index
    while True:  # a certificate in force today (a sample may have expired)
        doc = sample_document(type_code, seed, issuer=issuer, holder_address=HOLDER_ADDRESS)
        if doc.get("validUntil") is None or doc["validUntil"] > time.strftime("%Y-%m-%d"):
            break
        seed += 1
    doc.pop("issuer")
    with stack.client("every-type") as c:
        reply = c.post("/v1/certificates", json={"document": doc})
    assert reply.status_code == 201, (type_code, reply.text)
    handle = f"holder-every-type-{index}"
    add_holder(stack.world, handle, doc)
    return str(reply.json()["cert_id"]), handle


def _wallet_entry(stack: Stack, holder: str, cert_id: str) -> dict[str, Any]:
    with stack.client(holder) as c:
        return next(c for c in c.get("/v1/wallet/certificates").json() if c["cert_id"] == cert_id)


def test_every_type_is_issued_with_a_holder_key(every_type: tuple[Stack, list[tuple[str, str]]]):
    """The premise: each certificate has the field the presets must leave out."""
    stack, issued = every_type
    assert len(issued) == len(default_catalogue().types())
    for cert_id, holder in issued:
        paths = {f["path"] for f in _wallet_entry(stack, holder, cert_id)["fields"]}
        assert "holder.address" in paths, (cert_id, sorted(paths))


def test_no_preset_discloses_the_holder_key(every_type: tuple[Stack, list[tuple[str, str]]]):
    stack, issued = every_type
    for cert_id, holder in issued:
        for preset in presets_for(_wallet_entry(stack, holder, cert_id)):
            assert not NOT_IN_PRESETS & set(preset.paths), (cert_id, preset)


def test_every_preset_of_every_type_verifies_valid(every_type: tuple[Stack, list[tuple[str, str]]]):
    stack, issued = every_type
    outcomes = []
    with stack.client("verifier-110000") as clerk:  # the issuing region's own window
        for cert_id, holder in issued:
            entry = _wallet_entry(stack, holder, cert_id)
            for preset in presets_for(entry):
                with stack.client(holder) as wallet:
                    made = wallet.post(f"/v1/wallet/certificates/{cert_id}/presentation",
                                       json={"fields": preset.paths, "purpose": PURPOSE})
                assert made.status_code == 200, (entry["type_code"], preset.key, made.text)
                answer = clerk.post("/v1/verify", json={"presentation": made.json()["presentation"]}).json()
                outcomes.append((entry["type_code"], preset.key, answer["verdict"]))
    assert len({t for t, _, _ in outcomes}) == len(issued)
    assert [o for o in outcomes if o[2] != "VALID"] == [], outcomes
