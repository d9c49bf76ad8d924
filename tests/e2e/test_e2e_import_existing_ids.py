"""Import of existing certificates over real HTTP: a provincial platform's id is kept, anchored, verified.

The id below names its issuer by the six-digit division code of the department's area (as
安徽's platform does), not by the department's credit code. Ordinary issuance refuses it,
naming the issuer segment; the bulk route with `existing_ids` imports it, the anchoring
worker anchors it, and a clerk in another region verifies the holder's code as VALID.
"""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import httpx
import pytest

from api.seed import add_holder
from common.document import flatten
from issuers.model import Issuer
from issuers.rules.cert_id import OID_PREFIX, cert_id_check_char
from issuers.samples import sample_document
from tests.e2e.conftest import present, wait_anchored
from tests.e2e.stack import Stack

DEPT = "bj-amr"


def _platform_document(stack: Stack, seed: int) -> dict[str, Any]:
    """A licence in force today whose id a provincial platform minted with the area's division code."""
    d = stack.world.department(DEPT)
    type_code = d.types[0]
    while True:
        doc = sample_document(type_code, seed, issuer=Issuer(d.credit_code, d.region, d.name, "0x" + "00" * 20))
        if doc.get("validUntil") is None or doc["validUntil"] > time.strftime("%Y-%m-%d"):
            break
        seed += 1
    doc.pop("issuer")
    segments = (type_code, f"{d.region:06d}", f"{seed:09d}", "001")
    doc["id"] = f"{OID_PREFIX}.{'.'.join(segments)}.{cert_id_check_char(*segments)}"
    return doc


@pytest.fixture(scope="module")
def platform_doc(stack: Stack) -> dict[str, Any]:
    return _platform_document(stack, 91_000)


def test_ordinary_issuance_refuses_a_division_code_issuer_segment_and_says_so(stack, platform_doc):
    with stack.client(DEPT) as c:
        reply = c.post("/v1/certificates", json={"document": platform_doc})
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "CERTIFICATE_INVALID"
    [field] = [f for f in error["fields"] if f["path"] == "id"]
    assert "六位行政区划代码" in field["message"] and "导入已有证照" in field["message"]
    assert "division code" in field["message_en"]


def test_ordinary_bulk_issuance_refuses_it_as_a_row_error(stack, platform_doc):
    with stack.client(DEPT) as c:
        reply = c.post("/v1/certificates/bulk", json={"documents": [platform_doc]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["accepted"] == []
    [row] = body["rejected"]
    assert row["row"] == 1
    assert any(e["path"] == "id" and "六位行政区划代码" in e["message"] for e in row["errors"])


def test_an_import_with_a_wrong_check_char_names_the_expected_one(stack):
    doc = _platform_document(stack, 92_000)
    good = doc["id"][-1]
    doc["id"] = doc["id"][:-1] + ("0" if good != "0" else "1")
    with stack.client(DEPT) as c:
        reply = c.post("/v1/certificates/bulk", json={"documents": [doc], "existing_ids": True})
    assert reply.status_code == 200, reply.text
    [row] = reply.json()["rejected"]
    [error] = [e for e in row["errors"] if e["path"] == "id"]
    assert f"应为{good}" in error["message"] and f"expected {good}" in error["message_en"]


def test_imported_platform_id_is_anchored_and_verifies_valid_in_another_region(stack, platform_doc):
    with stack.client(DEPT) as c:
        reply = c.post("/v1/certificates/bulk", json={"documents": [platform_doc], "existing_ids": True})
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == [platform_doc["id"]]
    holder = "holder-import-existing-ids"
    add_holder(stack.world, holder, platform_doc)
    wait_anchored(stack, holder, platform_doc["id"])
    code = present(stack, holder, platform_doc["id"])
    with stack.client("verifier-130000") as c:
        answer = c.post("/v1/verify", json={"presentation": code})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verdict"] == "VALID", body
    assert body["disclosed"]["id"] == platform_doc["id"]


def _department_page(stack: Stack) -> tuple[httpx.Client, str]:
    """The department's page session over real HTTP and the CSRF token of its forms."""
    c = httpx.Client(base_url=stack.base_url, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/signin").text)
    assert csrf is not None
    assert c.post("/pages/signin", data={"token": stack.world.tokens[DEPT], "csrf": csrf.group(1)}).status_code == 303
    page = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/department").text)
    assert page is not None
    return c, page.group(1)


def _csv(docs: list[dict[str, Any]]) -> bytes:
    rows = [flatten(d) for d in docs]
    header = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for r in rows:
        writer.writerow(["" if r.get(k) is None else r[k] for k in header])
    return out.getvalue().encode("utf-8")


def test_the_bulk_page_imports_existing_ids_and_names_a_wrong_check_char_in_chinese(stack):
    good, bad = _platform_document(stack, 93_000), _platform_document(stack, 94_000)
    expected = bad["id"][-1]
    bad["id"] = bad["id"][:-1] + ("0" if expected != "0" else "1")
    c, csrf = _department_page(stack)
    try:
        started = c.post("/pages/department/bulk", data={"csrf": csrf, "existing_ids": "yes"},
                         files={"file": ("platform.csv", _csv([good, bad]), "text/csv")})
        assert started.status_code == 303, started.text
        job = started.headers["location"]
        deadline = time.monotonic() + 30
        while not c.get(job + "/progress").json()["finished"]:
            assert time.monotonic() < deadline, "the bulk job did not finish"
            time.sleep(0.2)
        page = c.get(job).text
    finally:
        c.close()
    assert "签发 1 份" in page and "退回 1 行" in page
    assert "第 3 行" in page and "「证照标识」" in page and f"应为{expected}" in page
