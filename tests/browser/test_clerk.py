"""窗口核验 without a mouse, and with bad input: clear Chinese messages on the page, never an error page."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from tests.browser.conftest import present_via_api
from tests.e2e.stack import Stack


def _tab_to(page: Any, selector: str, limit: int = 40) -> int:
    """Press Tab until `selector` has the focus; returns how many presses it took."""
    for n in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement === document.querySelector('{selector}')"):
            return n
    raise AssertionError(f"{selector} never got the keyboard focus in {limit} tabs")


def test_keyboard_only_paste_and_submit(stack: Stack, open_page: Any, valid_licence: dict[str, Any],
                                        output_dir: Path) -> None:
    text = present_via_api(stack, valid_licence["holder"], valid_licence["cert_id"], "办理银行开户")
    page = open_page("verifier-130000")
    page.goto(stack.base_url + "/pages/clerk")
    # The skip link is the first stop, and it leads to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
    _tab_to(page, "#text")
    page.keyboard.insert_text(text)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "核验"
    page.keyboard.press("Enter")
    page.wait_for_selector("#verdict-headline")
    assert page.inner_text("#verdict-headline") == "有效 · 本地区认可"
    # Focus moves to the verdict, so a screen reader and the keyboard start from the answer.
    assert page.evaluate("document.activeElement.id") == "verdict-headline"
    # The next code needs no extra click: the text box is empty and ready, Tab reaches it again.
    assert page.input_value("#text") == ""
    _tab_to(page, "#text")
    page.keyboard.insert_text("HR1:NOT-A-REAL-CODE")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('verdict-headline').textContent === '出示码无法识别'")
    # A visible focus ring on every stop (the outline is drawn, not suppressed).
    _tab_to(page, "#paste-form button")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.screenshot(path=str(output_dir / "clerk-keyboard-1280.png"), full_page=True)


def test_garbage_and_empty_text_give_chinese_messages(stack: Stack, open_page: Any) -> None:
    page = open_page("verifier-130000")
    page.fill("#text", "这不是出示码 !!! <script>alert(1)</script>")
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#verdict-headline")
    assert page.inner_text("#verdict-headline") == "出示码无法识别"
    assert "请持证人重新生成出示码" in page.inner_text("#result")
    page.click(".js-clear")
    page.click("#paste-form button[type=submit]")  # empty
    assert "请先粘贴出示码文本" in page.inner_text("#form-message")
    # The same refusals without scripts: the form posts and the page answers in place.
    reply = page.request.post(stack.base_url + "/pages/clerk/verify",
                              form={"csrf": page.input_value("#paste-form input[name=csrf]"), "text": "garbage"})
    assert reply.status == 200 and "出示码无法识别" in reply.text() and "Traceback" not in reply.text()


def test_bad_photos_give_chinese_messages(stack: Stack, open_page: Any, tmp_path: Path) -> None:
    page = open_page("verifier-130000")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    page.set_input_files("#image", str(broken))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#verdict-headline")
    assert "无法读取图片" in page.inner_text("#verdict-headline")
    blank = tmp_path / "no-code.png"
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(buf, format="PNG")
    blank.write_bytes(buf.getvalue())
    page.set_input_files("#image", str(blank))
    page.click("#upload-form button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('verdict-headline').textContent.includes('没有找到可识别的二维码')")
    assert "请让二维码完整、清晰地出现在画面中" in page.inner_text("#result")
    page.click("#upload-form button[type=submit]")  # no file chosen
    assert "请先选择一张含二维码的照片" in page.inner_text("#form-message")


def test_reference_url_works_once(stack: Stack, open_page: Any, valid_licence: dict[str, Any]) -> None:
    """The short form for old scanners: a one-time URL, pasted (or scanned) like a code."""
    wallet = open_page(valid_licence["holder"])
    wallet.goto(stack.base_url + "/pages/wallet")
    wallet.click("text=出示这份证照")
    wallet.fill("#purpose", "招投标资格审查")
    wallet.click("#choose-form button[type=submit]")
    wallet.click("text=老式扫码枪：短码（引用网址）")
    url = wallet.inner_text("#ref-url").strip()
    assert url.startswith(stack.base_url + "/r/") or url.startswith("http")
    clerk = open_page("verifier-110000")
    clerk.fill("#text", url)
    clerk.click("#paste-form button[type=submit]")
    clerk.wait_for_selector("#verdict-headline")
    assert clerk.inner_text("#verdict-headline") == "有效 · 本地区签发"
    clerk.fill("#text", url)
    clerk.click("#paste-form button[type=submit]")
    clerk.wait_for_function("() => document.getElementById('verdict-headline').textContent.includes('已被使用过')")


def test_printed_receipt_shows_the_log_entry(stack: Stack, open_page: Any, valid_licence: dict[str, Any],
                                             output_dir: Path) -> None:
    text = present_via_api(stack, valid_licence["holder"], valid_licence["cert_id"], "打印回执")
    page = open_page("verifier-120000")
    page.fill("#text", text)
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#receipt-h")
    receipt = page.inner_text(".receipt")
    assert "核验日志序号" in receipt and "日志条目哈希" in receipt and "打印回执" in receipt
    # What 打印核验回执 prints: the headline and the receipt, not the scanner or the reasons.
    page.evaluate("document.body.classList.add('printing-receipt')")
    page.emulate_media(media="print")
    assert page.locator(".receipt").is_visible() and page.locator("#verdict-headline").is_visible()
    assert not page.locator(".scanner").is_visible() and not page.locator(".checks").is_visible()
    assert not page.locator("header.site").is_visible()
    page.pdf(path=str(output_dir / "clerk-receipt.pdf"))
