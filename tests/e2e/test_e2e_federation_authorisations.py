"""授权用证 across nodes (tests/e2e/federation_nodes.py: the 北京 and 河北 nodes over one anvil).

A holder of a 北京 licence authorises 河北 (optionally one department) to obtain chosen fields, in the
wallet at the 北京 node, and gets a 用证码 "HRA1:110000:XXXX-XXXX-XXXX-XXXX". The 河北 clerk enters it
at the 河北 node, which asks the 北京 node by a signed request; the 北京 node checks the authorisation
and builds a presentation of exactly the authorised fields, and the 河北 node verifies and logs it.

What is not shown here: an expired authorisation is made by moving its window into the past in the
北京 node's database (the wallet refuses windows under an hour, and the tests do not wait an hour);
NOT_RECOGNISED at the issuing node (an authorisation for 上海) is shown over the four node processes,
tests/e2e/test_e2e_federation_processes.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from api.authorisations import authorisations
from common.document import ALWAYS_DISCLOSED
from tests.e2e.conftest import issue_licence
from tests.e2e.federation_nodes import (
    BJ,
    HE,
    Federation,
    anchored_licence,
    logged_at_hebei,
    running_federation,
)

SH = 310000
AUTHORISED = ["claims.entityName", "claims.creditCode"]
PURPOSE = "在河北省办理企业登记"
WORDS = "发证地节点暂时无法访问，请持证人改用完整出示码"


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    with running_federation(tmp_path_factory) as fed:
        yield fed


@pytest.fixture(scope="module")
def licence(federation: Federation) -> tuple[str, str]:
    """(cert_id, holder) of one anchored 北京 licence; each test makes its own authorisation of it."""
    return anchored_licence(federation)


def _authorise(fed: Federation, licence: tuple[str, str], **body: Any) -> dict[str, Any]:
    cert_id, holder = licence
    with fed.bj_stack.client(holder) as c:
        made = c.post(f"/v1/wallet/certificates/{cert_id}/authorisations",
                      json={"region": HE, "fields": AUTHORISED, "purpose": PURPOSE, **body})
    assert made.status_code == 200, made.text
    return dict(made.json())


def _at_hebei(fed: Federation, code: str) -> Any:
    with fed.he_client() as c:
        return c.post("/v1/verify", json={"reference": code})


def _refused(answer: Any, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    return str(error["message"])


def test_the_code_names_the_issuing_region_and_is_typeable(federation, licence):
    code = _authorise(federation, licence)["code"]
    region, token = code.split(":")[1:]
    assert region == str(BJ) and len(token) == 19 and token.count("-") == 3 and "http" not in code


def test_the_hebei_clerk_gets_valid_with_only_the_authorised_fields(federation, licence):
    code = _authorise(federation, licence)["code"]
    answer = _at_hebei(federation, code)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["verdict"], body["verifier_region"], body["purpose"]) == ("VALID", HE, PURPOSE)
    assert set(body["disclosed"]) - set(ALWAYS_DISCLOSED) == set(AUTHORISED)
    logged_at_hebei(federation, body, "VALID")


def test_a_typed_code_in_lower_case_with_spaces_works_too(federation, licence):
    code = _authorise(federation, licence)["code"]
    assert _at_hebei(federation, code.lower().replace("-", " ")).json()["verdict"] == "VALID"


def test_the_beijing_node_records_the_use_by_hebei_and_the_holder_sees_it(federation, licence):
    made = _authorise(federation, licence)
    assert _at_hebei(federation, made["code"]).json()["verdict"] == "VALID"
    with federation.bj_stack.client(licence[1]) as c:
        listed = {a["id"]: a for a in c.get("/v1/wallet/authorisations").json()}
    assert (listed[made["id"]]["status"]["code"], listed[made["id"]]["used_by_region"]) == ("USED", HE)
    assert "code" not in listed[made["id"]]  # shown once, when made; only its hash is kept


def test_a_code_used_once_is_refused_as_already_used(federation, licence):
    code = _authorise(federation, licence)["code"]
    assert _at_hebei(federation, code).json()["verdict"] == "VALID"
    assert "已被使用" in _refused(_at_hebei(federation, code), 409, "AUTHORISATION_USED")


def test_a_code_authorised_for_shanghai_is_refused_at_the_hebei_node(federation, licence):
    code = _authorise(federation, licence, region=SH)["code"]
    assert "未授权本地区" in _refused(_at_hebei(federation, code), 409, "AUTHORISATION_WRONG_REGION")


def test_a_code_for_one_department_is_refused_at_a_window_of_no_department(federation, licence):
    code = _authorise(federation, licence, department="11130000000021135M")["code"]
    _refused(_at_hebei(federation, code), 409, "AUTHORISATION_WRONG_DEPARTMENT")


def test_a_withdrawn_code_is_refused_as_withdrawn(federation, licence):
    made = _authorise(federation, licence)
    with federation.bj_stack.client(licence[1]) as c:
        withdrawn = c.post(f"/v1/wallet/authorisations/{made['id']}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"]["code"] == "WITHDRAWN"
    assert "撤回" in _refused(_at_hebei(federation, made["code"]), 410, "AUTHORISATION_WITHDRAWN")


def test_a_used_code_cannot_be_withdrawn(federation, licence):
    made = _authorise(federation, licence)
    assert _at_hebei(federation, made["code"]).json()["verdict"] == "VALID"
    with federation.bj_stack.client(licence[1]) as c:
        answer = c.post(f"/v1/wallet/authorisations/{made['id']}/withdraw")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "AUTHORISATION_NOT_WITHDRAWABLE"


def test_another_holder_cannot_withdraw_ones_authorisation(federation, licence):
    made = _authorise(federation, licence)
    _, _, other = issue_licence(federation.bj_stack, 2)
    with federation.bj_stack.client(other) as c:
        answer = c.post(f"/v1/wallet/authorisations/{made['id']}/withdraw")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "AUTHORISATION_NOT_FOUND"


def test_a_window_under_an_hour_or_over_a_week_is_refused_by_the_wallet(federation, licence):
    cert_id, holder = licence
    with federation.bj_stack.client(holder) as c:
        for window in (60, 8 * 86400):
            answer = c.post(f"/v1/wallet/certificates/{cert_id}/authorisations",
                            json={"region": HE, "fields": AUTHORISED, "purpose": PURPOSE, "window_s": window})
            assert answer.status_code == 422, answer.text


def test_an_expired_code_is_refused_as_expired(federation, licence):
    """The window is moved into the past in the 北京 node's database (see the module docstring)."""
    made = _authorise(federation, licence)
    engine = federation.bj.app.state.runtime.authorisations.engine
    with engine.begin() as c:
        c.execute(update(authorisations).where(authorisations.c.id == made["id"])
                  .values(expires_at=int(time.time()) - 1))
    assert "过" in _refused(_at_hebei(federation, made["code"]), 410, "AUTHORISATION_EXPIRED")


def test_a_signed_request_for_fields_beyond_the_authorisation_is_refused_and_spends_nothing(federation, licence):
    made = _authorise(federation, licence)
    token = made["code"].split(":")[2].replace("-", "")
    peers = federation.he.app.state.runtime.node.peers  # the 河北 node's own key signs the tampered request
    asked = peers.call(BJ, "POST", "/v1/federation/authorisations/take",
                       json={"token": token, "fields": [*AUTHORISED, "claims.domicile"]})
    assert (asked.status, asked.body["error"]["code"]) == (409, "AUTHORISATION_FIELDS_EXCEEDED")
    answer = _at_hebei(federation, made["code"])
    assert answer.json()["verdict"] == "VALID"
    assert set(answer.json()["disclosed"]) - set(ALWAYS_DISCLOSED) == set(AUTHORISED)


def test_an_unsigned_request_for_an_authorisation_is_refused(federation, licence):
    answer = httpx.post(federation.bj.base_url + "/v1/federation/authorisations/take",
                        json={"token": "0" * 16}, timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "NODE_SIGNATURE_MISSING"


def test_a_mistyped_code_is_refused_before_any_node_is_asked(federation, licence):
    code = _authorise(federation, licence)["code"]
    last = code[-1]
    mistyped = code[:-1] + ("0" if last != "0" else "1")
    assert "校验位" in _refused(_at_hebei(federation, mistyped), 400, "BAD_AUTHORISATION_CODE")


@contextmanager
def _wallet_pages(fed: Federation, holder: str) -> Iterator[tuple[httpx.Client, str]]:
    """A browser-like client signed in to the 北京 wallet pages, and its CSRF token."""
    with httpx.Client(base_url=fed.bj.base_url, timeout=30) as c:
        form = c.get("/pages/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed_in = c.post("/pages/signin", data={"token": fed.world.tokens[holder], "csrf": csrf.group(1)})
        assert signed_in.status_code == 303
        token = re.search(r'name="csrf" value="([^"]+)"', c.get(_authorise_link(c.get("/pages/wallet").text)).text)
        assert token is not None
        yield c, token.group(1)


def _authorise_link(wallet_page: str) -> str:
    link = re.search(r'href="(/pages/wallet/c/[0-9a-f]+/authorise)"', wallet_page)
    assert link is not None, "the wallet page offers no 授权其他地区用证"
    return link.group(1)


def test_the_wallet_page_makes_a_code_the_hebei_window_accepts(federation, licence):
    with _wallet_pages(federation, licence[1]) as (c, csrf):
        form = c.get(_authorise_link(c.get("/pages/wallet").text))
        assert "河北省" in form.text  # the regions offered are the federation's other nodes
        page = c.post(_authorise_link(c.get("/pages/wallet").text),
                      data={"csrf": csrf, "region": str(HE), "fields": AUTHORISED, "purpose": PURPOSE,
                            "window": "86400"})
    assert page.status_code == 200, page.text[:500]
    code = re.search(r'id="auth-code">(HRA1:[^<]+)<', page.text)
    assert code is not None
    assert _at_hebei(federation, code.group(1)).json()["verdict"] == "VALID"


def test_the_wallet_page_asks_for_the_purpose_in_words(federation, licence):
    with _wallet_pages(federation, licence[1]) as (c, csrf):
        page = c.post(_authorise_link(c.get("/pages/wallet").text),
                      data={"csrf": csrf, "region": str(HE), "fields": AUTHORISED, "purpose": "", "window": "86400"})
    assert page.status_code == 422 and "请填写事由" in page.text


def test_the_holder_withdraws_an_authorisation_on_the_page(federation, licence):
    made = _authorise(federation, licence)
    with _wallet_pages(federation, licence[1]) as (c, csrf):
        done = c.post(f"/pages/wallet/authorisations/{made['id']}/withdraw", data={"csrf": csrf})
        assert done.status_code == 303
        listed = c.get("/pages/wallet/authorisations").text
    assert f"/pages/wallet/authorisations/{made['id']}/withdraw" not in listed and "已撤回" in listed
    _refused(_at_hebei(federation, made["code"]), 410, "AUTHORISATION_WITHDRAWN")


def test_with_the_beijing_node_down_a_code_is_unavailable_never_invalid(federation, licence):
    """Last in this module: it stops the 北京 node."""
    code = _authorise(federation, licence)["code"]
    federation.bj.stop()
    answer = _at_hebei(federation, code)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["verdict"], body["reason"]) == ("UNAVAILABLE", WORDS)
    logged_at_hebei(federation, body, "UNAVAILABLE")
