"""发证部门 console: inline errors naming field and rule, bulk CSV with progress and a per-row report."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from api.seed import DEPARTMENTS
from common.document import flatten
from issuers.model import Issuer
from issuers.samples import sample_document
from tests.browser.test_story import fill_issue_form
from tests.e2e.stack import Stack


def _bad_id(number: str) -> str:
    """The same ID number with a wrong check digit (GB 11643)."""
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def test_wrong_id_number_is_named_with_its_rule(stack: Stack, open_page: Any, output_dir: Path) -> None:
    d = stack.world.department("bj-traffic")
    doc = sample_document(d.types[0], 91_000, issuer=Issuer(d.credit_code, d.region, d.name, "0x" + "00" * 20))
    doc["holder"]["idNumber"] = _bad_id(doc["holder"]["idNumber"])
    doc["claims"]["licenceNumber"] = doc["holder"]["idNumber"]
    page = open_page("bj-traffic")
    page.goto(stack.base_url + "/pages/department")
    assert page.input_value("#issue-form input[name=type_code]") == d.types[0]  # 机动车驾驶证 form
    assert page.locator('[name="claims.licenceNumber"]').count() == 1
    fill_issue_form(page, doc, "BADID0001")
    page.fill('[name="validFrom"]', "2030-01-01")  # after validUntil: a date rule too
    page.fill('[name="validUntil"]', "2029-01-01")
    page.click("#issue-form button[type=submit]")
    page.wait_for_selector("#issue-errors")
    summary = page.inner_text("#issue-errors")
    assert "未签发" in summary and "GB 11643" in summary, summary
    holder_error = page.inner_text("#f-holder-idNumber-error")
    assert "「持证主体代码」" in holder_error and "GB 11643" in holder_error, holder_error
    assert page.get_attribute("#f-holder-idNumber", "aria-invalid") == "true"
    assert "f-holder-idNumber-error" in (page.get_attribute("#f-holder-idNumber", "aria-describedby") or "")
    assert "「证号」" in page.inner_text("#f-claims-licenceNumber-error")
    assert page.locator("#f-validUntil-error, #f-validFrom-error").count() >= 1, summary
    # The refused form keeps what was typed, so the officer fixes one field instead of retyping all.
    assert page.input_value('[name="claims.name"]') == doc["claims"]["name"]
    assert page.evaluate("document.activeElement.id") == "issue-errors"
    page.screenshot(path=str(output_dir / "department-errors-1280.png"), full_page=True)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    columns: list[str] = []
    flat = []
    for r in rows:
        f = {k: v for k, v in flatten(r).items() if not k.startswith("issuer.")}
        flat.append(f)
        columns += [k for k in f if k not in columns]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for f in flat:
        writer.writerow(["" if f.get(c) is None else f.get(c) for c in columns])
    return out.getvalue().encode("utf-8-sig")


def test_bulk_csv_with_progress_and_row_report(stack: Stack, open_page: Any, tmp_path: Path,
                                               output_dir: Path) -> None:
    d = next(x for x in DEPARTMENTS if x.key == "tj-amr")
    docs = [sample_document(d.types[0], 92_000 + i, issuer=Issuer(d.credit_code, d.region, d.name, "0x" + "00" * 20))
            for i in range(12)]
    docs[3]["claims"]["creditCode"] = docs[3]["claims"]["creditCode"][:-1] + (
        "0" if docs[3]["claims"]["creditCode"][-1] != "0" else "1")  # CSV line 5: wrong GB 32100 check
    docs[7]["validFrom"] = "2025-02-30"  # CSV line 9: no such date
    path = tmp_path / "licences.csv"
    path.write_bytes(_csv(docs))
    page = open_page("tj-amr")
    page.goto(stack.base_url + "/pages/department")
    page.set_input_files("#bulk-file", str(path))
    page.click("#bulk-form button[type=submit]")
    page.wait_for_selector("#bulk-progress")
    assert page.get_attribute("#bulk-progress", "max") == "12"
    page.wait_for_selector("#bulk-summary", timeout=60_000)
    summary = page.inner_text("#bulk-summary")
    assert "共 12 行：签发 10 份" in summary and "退回 2 行" in summary, summary
    report = page.inner_text("#bulk-errors")
    assert "第 5 行" in report and "GB 32100" in report, report
    assert "第 9 行" in report and "有效期起始" in report, report
    page.screenshot(path=str(output_dir / "department-bulk-1280.png"), full_page=True)
    # The upload is the department's own: another department cannot read the report.
    other = open_page("bj-amr")
    response = other.goto(page.url)
    assert response is not None and response.status == 404
    assert "找不到这次批量签发" in other.inner_text("main")


def test_bulk_refuses_a_non_csv_file_with_a_message(stack: Stack, open_page: Any, tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\xff\xd8\xff\xe0 not text at all \x00\x01")
    page = open_page("tj-amr")
    page.goto(stack.base_url + "/pages/department")
    page.set_input_files("#bulk-file", str(path))
    page.click("#bulk-form button[type=submit]")
    assert "不是 UTF-8 编码的 CSV" in page.inner_text("#bulk-error")


def test_search_finds_only_own_certificates(stack: Stack, open_page: Any, valid_licence: dict[str, Any]) -> None:
    serial = valid_licence["cert_id"].split(".")[-3]
    own = open_page("bj-amr")
    own.goto(stack.base_url + "/pages/department")
    own.fill("#search-q", valid_licence["doc"]["holder"]["idNumber"])  # by 持证主体代码 (POST, not in a URL)
    own.click("#search-form button[type=submit]")
    assert valid_licence["cert_id"] in own.inner_text("main")
    other = open_page("he-amr")
    other.goto(stack.base_url + "/pages/department")
    other.fill("#search-q", serial)
    other.click("#search-form button[type=submit]")
    assert "没有找到符合的证照" in other.inner_text("#search-none")
    other.fill("#search-q", "ab")
    other.click("#search-form button[type=submit]")
    assert "请输入至少 3 个字符" in other.inner_text("#search-error")


def test_suspend_and_reinstate_from_the_console(stack: Stack, open_page: Any, output_dir: Path) -> None:
    """暂扣 shows in the wallet and at the window; 恢复 brings 有效 back. Both confirmed with a reason."""
    from tests.browser.conftest import issue_via_api, present_via_api, wait_anchored

    cert_id, _, holder = issue_via_api(stack, 2, dept="he-amr")
    wait_anchored(stack, holder, cert_id)
    console = open_page("he-amr")

    def act(verb: str, reason: str | None) -> None:
        console.goto(stack.base_url + "/pages/department")
        console.fill("#search-q", cert_id.split(".")[-3])
        console.click("#search-form button[type=submit]")
        console.click(f'button[aria-label="查看与处理 {cert_id}"]')
        console.click(f"text={verb}…")
        if reason:
            console.select_option("#reason", reason)
        console.fill("#note", f"{verb}：窗口测试")
        console.check("input[name=confirmed]")
        console.click("#confirm-form button[type=submit]")
        console.wait_for_selector("#status-done")

    code = present_via_api(stack, holder, cert_id)
    act("暂扣", "其他")
    wallet = open_page(holder)
    wallet.goto(stack.base_url + "/pages/wallet")
    assert "暂扣" in wallet.inner_text(".card .badge")
    clerk = open_page("verifier-110000")
    clerk.fill("#text", code)
    clerk.click("#paste-form button[type=submit]")
    clerk.wait_for_selector("#verdict-headline")
    assert clerk.inner_text("#verdict-headline") == "已暂扣"
    clerk.screenshot(path=str(output_dir / "clerk-suspended-1280.png"))
    act("恢复", None)
    wallet.reload()
    assert "有效" in wallet.inner_text(".card .badge")
    clerk.fill("#text", present_via_api(stack, holder, cert_id))
    clerk.click("#paste-form button[type=submit]")
    clerk.wait_for_function("() => document.getElementById('verdict-headline').textContent.startsWith('有效')")
