"""Accessibility: axe-core on every page in normal and large-text mode (no serious or critical
violation), and 长辈模式's own rules measured in the browser: body text >= 18 pt (24 px),
every target >= 60 x 60 px, kept across pages.

axe-core (npm, pinned in package.json) is evaluated into the page through the DevTools protocol,
which is not subject to the page's Content-Security-Policy; the pages themselves never load it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ROOT, present_via_api
from tests.e2e.stack import Stack

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

TARGETS = """() => {
  const out = [];
  const sel = "a, button, select, textarea, summary, input:not([type=hidden]):not([type=checkbox]):not([type=radio])," +
              " label.check";
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (r.width <= 2 || r.height <= 2 || style.visibility === "hidden" || r.right < 0) continue;
    if (el.closest("[hidden], details:not([open]) > :not(summary)")) continue;
    const name = (el.textContent || el.name || "").trim().slice(0, 20);
    const size = `${r.width.toFixed(0)}x${r.height.toFixed(0)}`;
    if (r.width < 59.5 || r.height < 59.5) out.push(`${el.tagName} "${name}" ${size}`);
  }
  return out;
}"""


def _axe(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _wallet_qr(page: Any, stack: Stack) -> None:
    page.goto(stack.base_url + "/pages/wallet")
    page.click("text=出示这份证照")
    page.fill("#purpose", "无障碍检查")
    page.click("#choose-form button[type=submit]")
    page.wait_for_selector("#qr")


def _clerk_verdict(text: str) -> Callable[[Any, Stack], None]:
    def go(page: Any, stack: Stack) -> None:
        page.goto(stack.base_url + "/pages/clerk")
        page.fill("#text", text)
        page.click("#paste-form button[type=submit]")
        page.wait_for_selector("#verdict-headline")
    return go


def _department_errors(page: Any, stack: Stack) -> None:
    page.goto(stack.base_url + "/pages/department")
    page.fill('[name="holder.idNumber"]', "123")
    page.click("#issue-form button[type=submit]")
    page.wait_for_selector("#issue-errors")


def _department_confirm(page: Any, stack: Stack) -> None:
    page.goto(stack.base_url + "/pages/department")
    page.locator("button", has_text="查看与处理").first.click()
    page.click("text=暂扣…")
    page.wait_for_selector("#confirm-form")


def _goto(path: str) -> Callable[[Any, Stack], None]:
    def go(page: Any, stack: Stack) -> None:
        page.goto(stack.base_url + path)
    return go


@pytest.fixture(scope="module")
def good_code(stack: Stack, valid_licence: dict[str, Any]) -> str:
    return present_via_api(stack, valid_licence["holder"], valid_licence["cert_id"])


def _states(holder: str, code: str) -> list[tuple[str, str | None, Callable[[Any, Stack], None]]]:
    return [
        ("index", None, _goto("/pages/")),
        ("signin", None, _goto("/pages/signin")),
        ("registry", None, _goto("/pages/registry")),
        ("wallet", holder, _goto("/pages/wallet")),
        ("wallet-qr", holder, _wallet_qr),
        ("clerk", "verifier-130000", _goto("/pages/clerk")),
        ("clerk-valid", "verifier-130000", _clerk_verdict(code)),
        ("clerk-not-recognised", "verifier-310000", _clerk_verdict(code)),
        ("clerk-malformed", "verifier-130000", _clerk_verdict("garbage")),
        ("department", "bj-amr", _goto("/pages/department")),
        ("department-errors", "bj-amr", _department_errors),
        ("department-confirm", "bj-amr", _department_confirm),
        ("officer", "officer-110000", _goto("/pages/officer")),
        ("forbidden", "verifier-130000", _goto("/pages/department")),
    ]


@pytest.mark.parametrize("elder", [False, True], ids=["normal", "elder"])
def test_axe_finds_no_serious_violation(stack: Stack, open_page: Any, valid_licence: dict[str, Any],
                                        good_code: str, elder: bool, output_dir: Path) -> None:
    problems: dict[str, Any] = {}
    pages: dict[str | None, Any] = {}
    for name, handle, go in _states(valid_licence["holder"], good_code):
        page = pages.get(handle)
        if page is None:
            page = pages[handle] = open_page(handle, elder=elder)
        go(page, stack)
        found = _axe(page)
        if found:
            problems[name] = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                               "nodes": [n["target"] for n in v["nodes"][:3]]} for v in found]
        page.screenshot(path=str(output_dir / f"{'elder' if elder else 'normal'}-{name}.png"))
        if elder:
            assert "elder" in (page.get_attribute("html", "class") or ""), f"{name}: large-text mode was lost"
            size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            assert size >= 24, f"{name}: body text {size}px < 18pt"
            small = page.evaluate(TARGETS)
            assert not small, f"{name}: targets smaller than 60x60 px: {small}"
    (output_dir / f"axe-{'elder' if elder else 'normal'}.json").write_text(
        json.dumps(problems, ensure_ascii=False, indent=2))
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=2)
