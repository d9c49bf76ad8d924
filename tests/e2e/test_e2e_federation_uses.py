"""用证记录 across nodes (tests/e2e/federation_nodes.py: the 北京 and 河北 nodes over one anvil).

A 北京 licence verified at the 河北 window is reported by the 河北 node to the 北京 node (a signed
request from its outbox, in the background), and the holder's 用证记录 at the 北京 node lists it with
河北's region and window name, the 事由 and the verdict; a use at a 北京 window is read from the 北京
node's own verification log. Reports made while the 北京 node is down are delivered once it is back,
and a report delivered twice is recorded once.

What is not shown here: the 北京 node is "down" by stopping its server and "back" by serving a new
app on the same port, database and index (one test process, not `huren serve` processes).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from federation.peers import PeerRefusedUs
from federation.use_reports import REPORT_USE_PATH, SENT, outbox
from tests.e2e.conftest import issue_licence, present
from tests.e2e.federation_nodes import (
    BJ,
    HE,
    Federation,
    _serve,
    anchored_licence,
    running_federation,
)
from verifier.verdicts import Verdict

HE_WINDOW = "河北政务服务中心 1 号窗口"


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    with running_federation(tmp_path_factory) as fed:
        yield fed


@pytest.fixture(scope="module")
def licence(federation: Federation) -> tuple[str, str]:
    """(cert_id, holder) of one anchored 北京 licence, the 河北 index caught up with its anchor."""
    return anchored_licence(federation)


def _verify_at_hebei(fed: Federation, licence: tuple[str, str], purpose: str) -> dict[str, Any]:
    text = present(fed.bj_stack, licence[1], licence[0], purpose=purpose)
    with fed.he_client() as c:
        answer = c.post("/v1/verify", json={"presentation": text})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _uses(fed: Federation, holder: str, **params: str) -> list[dict[str, Any]]:
    with fed.bj_stack.client(holder) as c:
        reply = c.get("/v1/wallet/uses", params=params)
    assert reply.status_code == 200, reply.text
    return list(reply.json())


def _wait_for_use(fed: Federation, holder: str, purpose: str, timeout: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [u for u in _uses(fed, holder) if u["purpose"] == purpose]
        if found:
            return found
        assert time.monotonic() < deadline, f"no use with 事由 {purpose!r} in the holder's 用证记录 at 北京"
        time.sleep(0.3)


def _report_body(fed: Federation, licence: tuple[str, str], **changes: Any) -> dict[str, Any]:
    issued = fed.bj.app.state.runtime.departments
    root = next(d.service.store.certificate(licence[0], decrypt=False) for d in issued.values()
                if d.service.store.certificate(licence[0], decrypt=False) is not None).document_root
    body = {"report_id": "ab" * 16, "region": HE, "cert_id": licence[0], "certificate_hash": bytes(root).hex(),
            "verified_at": int(time.time()), "verdict": "VALID", "purpose": "直接报告", "window": HE_WINDOW,
            "department": None}
    return {**body, **changes}


def test_a_use_at_the_hebei_window_is_listed_at_beijing_with_hebeis_region_window_purpose_and_verdict(
        federation, licence):
    purpose = "在河北省办理企业登记"
    assert _verify_at_hebei(federation, licence, purpose)["verdict"] == "VALID"
    use, = _wait_for_use(federation, licence[1], purpose)
    assert (use["cert_id"], use["region"], use["window"], use["verdict"]) == (licence[0], HE, HE_WINDOW, "VALID")
    assert use["reported_by_other_node"] is True


def test_a_use_at_a_beijing_window_is_listed_from_the_beijing_log(federation, licence):
    purpose = "在北京市办理银行开户"
    text = present(federation.bj_stack, licence[1], licence[0], purpose=purpose)
    with federation.bj_stack.client(f"verifier-{BJ}") as c:
        assert c.post("/v1/verify", json={"presentation": text}).json()["verdict"] == "VALID"
    use, = _uses(federation, licence[1])[:1]
    assert (use["region"], use["purpose"], use["verdict"], use["reported_by_other_node"]) == (BJ, purpose, "VALID",
                                                                                             False)
    assert use["window"].startswith("北京")


def test_another_holder_does_not_see_the_uses(federation, licence):
    other_cert, _, other = issue_licence(federation.bj_stack, 2)
    _verify_at_hebei(federation, licence, "他人不可见")
    _wait_for_use(federation, licence[1], "他人不可见")
    assert [u for u in _uses(federation, other) if u["cert_id"] == licence[0]] == []
    assert _uses(federation, other, cert_id=licence[0]) == []
    assert other_cert != licence[0]


def test_a_report_sent_twice_is_recorded_once(federation, licence):
    peers = federation.he.app.state.runtime.node.peers
    body = _report_body(federation, licence, report_id="cd" * 16, purpose="重复报告")
    assert peers.call(BJ, "POST", REPORT_USE_PATH, json=body).body == {"recorded": True}
    assert peers.call(BJ, "POST", REPORT_USE_PATH, json=body).body == {"recorded": False}
    assert len([u for u in _uses(federation, licence[1]) if u["purpose"] == "重复报告"]) == 1


def test_a_report_signed_by_hebei_claiming_another_region_is_refused(federation, licence):
    peers = federation.he.app.state.runtime.node.peers
    body = _report_body(federation, licence, report_id="ef" * 16, region=120000, purpose="冒称天津")
    with pytest.raises(PeerRefusedUs) as refused:
        peers.call(BJ, "POST", REPORT_USE_PATH, json=body)
    assert (refused.value.status, refused.value.code) == (403, "REPORT_REGION_MISMATCH")
    assert "不符" in refused.value.message
    assert [u for u in _uses(federation, licence[1]) if u["purpose"] == "冒称天津"] == []


def test_a_report_of_a_certificate_beijing_did_not_issue_is_refused(federation, licence):
    answer = federation.he.app.state.runtime.node.peers.call(
        BJ, "POST", REPORT_USE_PATH, json=_report_body(federation, licence, certificate_hash="00" * 32))
    assert (answer.status, answer.body["error"]["code"]) == (404, "CERTIFICATE_UNKNOWN")


def test_an_unsigned_report_is_refused(federation, licence):
    answer = httpx.post(federation.bj.base_url + REPORT_USE_PATH, json=_report_body(federation, licence))
    assert answer.status_code == 401, answer.text


def test_the_wallet_page_lists_the_hebei_use_in_words(federation, licence):
    purpose = "在河北省办理税务登记"
    _verify_at_hebei(federation, licence, purpose)
    _wait_for_use(federation, licence[1], purpose)
    with httpx.Client(base_url=federation.bj.base_url, timeout=30) as c:
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/signin").text)
        assert csrf is not None
        signed_in = c.post("/pages/signin", data={"token": federation.world.tokens[licence[1]], "csrf": csrf.group(1)})
        assert signed_in.status_code == 303
        assert 'href="/pages/wallet/uses"' in c.get("/pages/wallet").text
        page = c.get("/pages/wallet/uses")
    assert page.status_code == 200
    card = page.text[page.text.index(purpose) - 600:page.text.index(purpose)]
    assert "河北省" in card and HE_WINDOW in card and Verdict.VALID.label in card


@pytest.mark.slow
def test_reports_made_while_beijing_is_down_are_delivered_once_it_is_back(federation, licence, request):
    purpose = "北京节点停机期间的核验"
    text = present(federation.bj_stack, licence[1], licence[0], purpose=purpose)
    settings, port = federation.bj.app.state.runtime.settings, int(federation.bj.base_url.rsplit(":", 1)[1])
    federation.bj.stop()
    with federation.he_client() as c:
        assert c.post("/v1/verify", json={"presentation": text}).json()["verdict"] == "VALID"
    he_db = federation.he.app.state.runtime.use_outbox.engine
    deadline = time.monotonic() + 60
    while True:  # the 河北 node has tried and failed at least once
        with he_db.connect() as conn:
            pending = conn.execute(select(outbox).where(outbox.c.last_error.is_not(None),
                                                        outbox.c.state == "pending")).all()
        if pending:
            break
        assert time.monotonic() < deadline, "the 河北 node never tried to report while 北京 was down"
        time.sleep(0.2)
    report_id = pending[0].report_id
    federation.bj = _serve(settings, port)  # back: the same database, index and port
    request.addfinalizer(federation.bj.stop)
    use, = _wait_for_use(federation, licence[1], purpose)
    assert (use["region"], use["window"], use["verdict"]) == (HE, HE_WINDOW, "VALID")
    deadline = time.monotonic() + 30
    while federation.he.app.state.runtime.use_outbox.states()[report_id] != SENT:
        assert time.monotonic() < deadline, "the delivered report is not marked sent"
        time.sleep(0.2)
    assert len([u for u in _uses(federation, licence[1]) if u["purpose"] == purpose]) == 1
