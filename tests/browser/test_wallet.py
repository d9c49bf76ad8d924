"""持证人 · 我的证照: the dynamic code refreshes itself before expiry, can be paused and refreshed by
hand (适老化: enough time), refuses a missing purpose in words, and fits a 360 px phone."""

from __future__ import annotations

from typing import Any

from tests.e2e.stack import Stack


def _show_code(page: Any, stack: Stack, purpose: str = "办理政务服务事项") -> None:
    page.goto(stack.base_url + "/pages/wallet")
    page.click("text=出示这份证照")
    page.fill("#purpose", purpose)
    page.click("#choose-form button[type=submit]")
    page.wait_for_selector("#qr")


def test_code_refreshes_before_expiry_pauses_and_refreshes_by_hand(stack: Stack, open_page: Any,
                                                                   valid_licence: dict[str, Any]) -> None:
    page = open_page(valid_licence["holder"])
    page.clock.install()
    _show_code(page, stack)
    first = page.get_attribute("#qr", "src")
    assert page.inner_text("#countdown").startswith("剩余 4 分")
    # 4 min 35 s later (25 s left, inside the 30 s lead) the page has fetched a fresh code by itself.
    page.clock.fast_forward("04:35")
    page.wait_for_function("src => document.getElementById('qr').src !== src", arg=first)
    page.clock.run_for(1000)
    assert page.inner_text("#countdown").startswith("剩余 4 分"), page.inner_text("#countdown")
    assert "出示码已刷新" in page.inner_text("#qr-live")
    second = page.get_attribute("#qr", "src")
    # Paused, it is left to expire: the page says so and shows the old code as stale.
    page.click("#pause")
    assert page.get_attribute("#pause", "aria-pressed") == "true"
    assert "已暂停自动刷新" in page.inner_text("#refresh-note")
    page.clock.fast_forward("05:10")
    page.clock.run_for(1000)
    assert page.inner_text("#countdown") == "出示码已过期"
    assert "stale" in (page.get_attribute("#qr", "class") or "")
    assert "请点“立即刷新”" in page.inner_text("#refresh-note")
    assert page.get_attribute("#qr", "src") == second
    # By hand: one press, a fresh code.
    page.click("#refresh-now")
    page.wait_for_function("src => document.getElementById('qr').src !== src", arg=second)
    page.clock.run_for(1000)
    assert page.inner_text("#countdown").startswith("剩余")


def test_purpose_is_required_and_explained(stack: Stack, open_page: Any, valid_licence: dict[str, Any]) -> None:
    page = open_page(valid_licence["holder"])
    page.goto(stack.base_url + "/pages/wallet")
    page.click("text=出示这份证照")
    page.click("#choose-form button[type=submit]")
    assert "请填写事由" in page.inner_text("#error-summary")
    assert page.get_attribute("#purpose", "aria-invalid") == "true"
    assert "事由：请填写事由" in page.inner_text("#purpose-error")


def test_presets_tick_the_boxes(stack: Stack, open_page: Any, valid_licence: dict[str, Any]) -> None:
    page = open_page(valid_licence["holder"])
    page.goto(stack.base_url + "/pages/wallet")
    page.click("text=出示这份证照")

    def ticked() -> set[str]:
        return {b.get_attribute("value") for b in page.locator("input[name=fields]:checked").all()}

    assert ticked() == {"claims.entityName", "claims.creditCode"}  # 推荐 for a business licence
    page.select_option("#preset", "minimum")
    assert ticked() == set()
    page.select_option("#preset", "basic")
    assert {"claims.legalRepresentative", "claims.domicile"} <= ticked()
    page.locator("input[value='claims.domicile']").uncheck()
    assert page.input_value("#preset") == "custom"
    page.fill("#purpose", "求职入职")
    page.click("#choose-form button[type=submit]")
    page.wait_for_selector("#qr")
    shown = page.inner_text("dl.facts")
    assert "法定代表人" in shown and "住所" not in shown


def test_large_text_toggle_keeps_the_live_code(stack: Stack, open_page: Any, valid_licence: dict[str, Any]) -> None:
    page = open_page(valid_licence["holder"], width=360)
    _show_code(page, stack)
    src = page.get_attribute("#qr", "src")
    page.click("#elder-form button")
    page.wait_for_function("() => document.documentElement.classList.contains('elder')")
    assert page.get_attribute("#qr", "src") == src  # toggled in place: the code did not go away
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 362
    page.goto(stack.base_url + "/pages/wallet")
    assert "elder" in (page.get_attribute("html", "class") or "")  # kept across pages
