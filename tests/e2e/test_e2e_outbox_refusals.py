"""What the chain will not take: refused at intake when the index already says so, and a visible
dead state when the chain refuses a batch for good — over real HTTP, a real anvil and the CLI.

A stack of its own: these tests grant and withdraw types on chain, which the shared stack's
tests must not see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from api.seed import DRIVING, LICENCE, DemoDepartment
from common.document import issuer_id, type_code_bytes32
from issuers.cli import issuer
from issuers.model import Issuer
from issuers.samples import sample_document
from issuers.store import BatchState
from ledger.anvil import IDLE_BLOCK_TIME_S, start_anvil
from ledger.devnet import wait_for
from tests.e2e.stack import Stack, running_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)
    try:
        with running_stack(node, tmp_path_factory.mktemp("refusals")) as s:
            yield s
    finally:
        node.stop()


def _document(dept: DemoDepartment, type_code: str, seed: int) -> dict[str, Any]:
    doc = sample_document(type_code, seed, issuer=Issuer(dept.credit_code, dept.region, dept.name, "0x" + "00" * 20))
    doc.pop("issuer")
    return doc


def _indexed_types(stack: Stack, dept: DemoDepartment) -> frozenset[str]:
    facts = stack.app.state.runtime.indexer.model.issuers.get(issuer_id(dept.credit_code))
    return facts.authorised_types if facts is not None else frozenset()


def _set_grant(stack: Stack, dept: DemoDepartment, type_code: str, granted: bool) -> None:
    """A regional k-of-n proposal on chain, then wait until this API's index has seen it."""
    fn = "grantType" if granted else "withdrawType"
    stack.world.net.regional(dept.region, "IssuerRegistry", fn, dept.region, issuer_id(dept.credit_code),
                             type_code_bytes32(type_code))
    assert wait_for(lambda: (type_code in _indexed_types(stack, dept)) is granted, timeout=30)


def _on_chain(store: Any, cert_id: str) -> bool:
    stored = store.certificate(cert_id, decrypt=False)
    return stored is not None and stored.batch is not None and stored.batch.state.on_chain


def _page_client(stack: Stack, handle: str) -> tuple[httpx.Client, str]:
    """A signed-in page session of a credential, and the CSRF token of its pages."""
    c = httpx.Client(base_url=stack.base_url, timeout=30, headers={"Origin": stack.base_url})
    form = c.get("/pages/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None, form.text[:500]
    signed = c.post("/pages/signin", data={"token": stack.world.tokens[handle], "csrf": csrf.group(1)})
    assert signed.status_code == 303, signed.text[:500]
    page = c.get("/pages/department")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None, page.text[:500]
    return c, token.group(1)


# ---------------------------------------------------------------------------- refused at intake


def test_department_posting_a_type_it_is_not_authorised_for_gets_403_naming_the_type(stack):
    bj_amr = stack.world.department("bj-amr")  # authorised for business licences only
    with stack.client("bj-amr") as c:
        reply = c.post("/v1/certificates", json={"document": _document(bj_amr, DRIVING, 7001)})
        listed = c.get("/v1/certificates").json()
    assert reply.status_code == 403
    error = reply.json()["error"]
    assert error["code"] == "TYPE_NOT_AUTHORISED"
    assert "机动车驾驶证" in error["message"] and DRIVING in error["message"]
    assert all(item["type_code"] != DRIVING for item in listed)  # nothing was accepted


def test_bulk_rows_of_a_type_not_authorised_are_rejected_with_the_authorisation_rule(stack):
    bj_amr = stack.world.department("bj-amr")
    documents = [_document(bj_amr, LICENCE, 7101), _document(bj_amr, DRIVING, 7102)]
    with stack.client("bj-amr") as c:
        reply = c.post("/v1/certificates/bulk", json={"documents": documents})
    body = reply.json()
    assert reply.status_code == 200 and len(body["accepted"]) == 1
    [rejected] = body["rejected"]
    assert rejected["row"] == 2 and rejected["errors"][0]["rule"] == "链上授权"


def test_intake_follows_the_chain_as_a_type_is_granted_and_withdrawn(stack):
    dept = stack.world.department("bj-traffic")  # driving licences only
    store = stack.app.state.runtime.departments[dept.credit_code].service.store
    with stack.client("bj-traffic") as c:
        assert c.post("/v1/certificates", json={"document": _document(dept, LICENCE, 7201)}).status_code == 403
        _set_grant(stack, dept, LICENCE, granted=True)
        accepted = c.post("/v1/certificates", json={"document": _document(dept, LICENCE, 7202)})
        assert accepted.status_code == 201
        cert_id = accepted.json()["cert_id"]
        assert wait_for(lambda: _on_chain(store, cert_id), timeout=60)  # anchored before the grant goes
        _set_grant(stack, dept, LICENCE, granted=False)
        assert c.post("/v1/certificates", json={"document": _document(dept, LICENCE, 7203)}).status_code == 403


def test_department_page_refuses_a_type_not_authorised_with_403_naming_it(stack):
    c, csrf = _page_client(stack, "bj-amr")
    try:
        reply = c.post("/pages/department/issue", data={"csrf": csrf, "type_code": DRIVING, "serial": "1"})
    finally:
        c.close()
    assert reply.status_code == 403
    assert "机动车驾驶证" in reply.text and "未获链上授权" in reply.text


# ---------------------------------------------------------------------------- dead batches


def _cli_env(stack: Stack, dept: DemoDepartment) -> dict[str, str]:
    world = stack.world
    entry = next(e for e in json.loads(Path(world.env["HUREN_DEPARTMENTS_FILE"]).read_text())
                 if e["creditCode"] == dept.credit_code)
    return {
        "HUREN_RPC_URLS": world.env["HUREN_RPC_URLS"], "HUREN_MANIFEST": world.env["HUREN_MANIFEST"],
        "HUREN_ISSUER_DB": world.env["HUREN_DB_URL"], "HUREN_ISSUER_KEYSTORE": entry["keystore"],
        "HUREN_ISSUER_PASSPHRASE_FILE": world.env["HUREN_PASSPHRASE_FILE"],
        "HUREN_FIELD_KEY_FILE": entry["fieldKeyFile"], "HUREN_ISSUER_CREDIT_CODE": dept.credit_code,
        "HUREN_ISSUER_REGION": str(dept.region), "HUREN_ISSUER_NAME": dept.name,
    }


def _metric(stack: Stack, name: str, **labels: str) -> float:
    with stack.client() as c:
        text = c.get("/metrics").text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture(scope="module")
def dead_batch(stack: Stack) -> int:
    """河北's licence batch, accepted while the type was granted, refused by the chain after the
    grant was withdrawn (its worker was paused in between): the chain refuses it for good."""
    dept = stack.world.department("he-amr")
    runtime = stack.app.state.runtime.departments[dept.credit_code]
    runtime.worker.stop()
    with stack.client("he-amr") as c:
        assert c.post("/v1/certificates", json={"document": _document(dept, LICENCE, 7301)}).status_code == 201
    _set_grant(stack, dept, LICENCE, granted=False)
    runtime.worker.start()
    store = runtime.service.store
    assert wait_for(lambda: any(b.state is BatchState.DEAD for b in store.batches(dept.credit_code)), timeout=60)
    [batch] = store.batches(dept.credit_code)
    return batch.id


def test_dead_batch_is_counted_in_the_metrics(stack, dead_batch):
    assert _metric(stack, "huren_outbox_batches", state="dead") >= 1
    assert _metric(stack, "huren_outbox_dead_total", kind="anchor") >= 1


def test_dead_batch_is_shown_on_the_department_console_with_the_reason(stack, dead_batch):
    c, _ = _page_client(stack, "he-amr")
    try:
        page = c.get("/pages/department").text
    finally:
        c.close()
    assert 'id="dead-batches"' in page
    assert "未获链上授权签发营业执照" in page and "huren issuer requeue" in page


def test_outbox_command_lists_the_dead_batch_and_exits_non_zero(stack, dead_batch):
    dept = stack.world.department("he-amr")
    result = CliRunner().invoke(issuer, ["outbox"], env=_cli_env(stack, dept), catch_exceptions=False)
    assert result.exit_code == 1
    assert f"批次{dead_batch} 已被链上拒绝" in result.output and "未获链上授权" in result.output
    assert "链上拒绝1" in result.output


def test_dead_batch_requeued_by_the_cli_after_the_grant_is_anchored(stack, dead_batch):
    dept = stack.world.department("he-amr")
    store = stack.app.state.runtime.departments[dept.credit_code].service.store
    env = _cli_env(stack, dept)
    refused = CliRunner().invoke(issuer, ["requeue", "999999"], env=env, catch_exceptions=False)
    assert refused.exit_code == 1 and "本部门没有批次999999" in refused.output
    _set_grant(stack, dept, LICENCE, granted=True)
    result = CliRunner().invoke(issuer, ["requeue", str(dead_batch)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert wait_for(lambda: store.batch(dead_batch).state in (BatchState.FINAL, BatchState.SETTLED), timeout=60)
    assert stack.world.net.huren.anchor_of(store.batch(dead_batch).root) is not None

