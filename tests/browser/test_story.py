"""The whole story in a real browser, through the real camera path (issue #8, "Must show").

A Beijing department issues a business licence on its console; the holder signs in to the
wallet, picks fields and shows the QR; a screenshot of that QR becomes Chromium's camera and a
Hebei clerk's page reads it and shows 有效 (the time from code-on-camera to verdict is measured
and written to test-output/); a Shanghai clerk, given a photo of the same code, sees 未认可;
after the department revokes it on the console, the Hebei clerk sees 已撤销; an expired code
shows the refresh message. Each step is screenshotted at 1280 px and 360 px.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.browser.camera import TIMING_HOOK, camera_args, camera_clip
from tests.browser.conftest import CHROMIUM, expired_code, licence_document, shot
from tests.e2e.stack import Stack


def both_widths(page: Any, out: Path, name: str) -> None:
    """Screenshots at 1280 px and at a 360 px phone width (and the page must fit the phone)."""
    shot(page, out, f"{name}-1280")
    page.set_viewport_size({"width": 360, "height": 780})
    overflow = page.evaluate("document.scrollingElement.scrollWidth")
    shot(page, out, f"{name}-360")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert overflow <= 362, f"{name}: the page is {overflow} px wide at a 360 px screen"


def fill_issue_form(page: Any, doc: dict[str, Any], serial: str) -> None:
    page.fill('[name="serial"]', serial)
    page.fill('[name="validFrom"]', doc["validFrom"])
    if doc.get("validUntil"):
        page.fill('[name="validUntil"]', doc["validUntil"])
    page.fill('[name="holder.name"]', doc["holder"]["name"])
    page.select_option('[name="holder.idType"]', doc["holder"]["idType"])
    page.fill('[name="holder.idNumber"]', doc["holder"]["idNumber"])
    for key, value in doc["claims"].items():
        field = page.locator(f'[name="claims.{key}"]')
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(str(value))
        else:
            field.fill(str(value))


def wait_verdict(page: Any, timeout_ms: int = 20_000) -> str:
    page.wait_for_selector("#verdict-headline", timeout=timeout_ms)
    return str(page.inner_text("#verdict-headline"))


def test_whole_story_through_the_camera(stack: Stack, open_page: Any, playwright_instance: Any,
                                        output_dir: Path) -> None:
    from api.seed import add_holder

    out = output_dir / "story"
    out.mkdir(exist_ok=True)
    doc = licence_document(stack, 900)

    # 1. The Beijing department issues on its console.
    dept = open_page("bj-amr")
    dept.goto(stack.base_url + "/pages/department")
    fill_issue_form(dept, doc, "STORY" + time.strftime("%H%M%S"))
    both_widths(dept, out, "01-department-form")
    dept.click("#issue-form button[type=submit]")
    dept.wait_for_selector("#issued-notice")
    cert_id = dept.inner_text("#issued-cert-id").strip()
    assert cert_id.startswith("1.2.156.3005.2.11100000MB0143028R001.")
    both_widths(dept, out, "02-department-issued")

    # 2. The holder signs in (a wallet credential for the certificate's holder) once it is anchored.
    add_holder(stack.world, "story-holder", {"holder": doc["holder"]})
    wallet = open_page("story-holder")
    deadline = time.monotonic() + 40
    while "有效" not in wallet.inner_text(".card .badge") and time.monotonic() < deadline:  # not "有效期"
        time.sleep(0.5)
        wallet.reload()
    assert "有效" in wallet.inner_text(".card .badge"), wallet.inner_text("main")
    both_widths(wallet, out, "03-wallet-list")

    # 3. Pick fields: name, credit code and legal representative; state the purpose; show the code.
    wallet.click("text=出示这份证照")
    wallet.select_option("#preset", "custom")
    for box in wallet.locator("input[name=fields]").all():
        box.set_checked(box.get_attribute("value") in ("claims.entityName", "claims.creditCode",
                                                        "claims.legalRepresentative"))
    wallet.fill("#purpose", "在河北省办理企业变更登记")
    both_widths(wallet, out, "04-wallet-choose")
    wallet.click("#choose-form button[type=submit]")
    wallet.wait_for_selector("#qr")
    assert "剩余" in wallet.inner_text("#countdown")
    assert wallet.inner_text("#created-text") and wallet.inner_text("#expires-text")
    both_widths(wallet, out, "05-wallet-qr")
    wallet.set_viewport_size({"width": 360, "height": 780})
    box = wallet.locator("#qr").bounding_box()
    assert box is not None and box["width"] <= 340, box
    wallet.set_viewport_size({"width": 1280, "height": 900})
    qr_png = wallet.locator("#qr").screenshot()
    text = wallet.input_value("#presentation-text")

    # 4. The code reaches a Hebei clerk through the camera: screenshot -> frame -> Y4M -> fake camera.
    clip = camera_clip(qr_png, out)
    camera_browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=camera_args(clip))
    try:
        hebei = open_page("verifier-130000", in_browser=camera_browser, init_script=TIMING_HOOK)
        assert "/pages/clerk" in hebei.url
        headline = wait_verdict(hebei)
        assert headline.startswith("有效"), headline
        assert hebei.get_attribute("#result .verdict", "data-verdict") == "VALID"
        cam = hebei.evaluate("window.__cam")
        assert cam["appear"] is not None and cam["verdicts"], cam
        elapsed_ms = cam["verdicts"][0]["at"] - cam["appear"]
        decode_ms = (cam["verdicts"][0]["decodedAt"] or cam["appear"]) - cam["appear"]
        details = hebei.inner_text("#result")
        # Only what the holder disclosed, with the issuer, its region, the anchor and the chain height.
        assert doc["claims"]["entityName"] in details and doc["claims"]["legalRepresentative"] in details
        assert doc["claims"]["domicile"] not in details and doc["claims"]["businessScope"] not in details
        assert "北京市市场监督管理局" in details and "北京市" in details
        assert "存证交易" in details and "结论依据的链上数据" in details and "核验日志序号" in details
        assert "在河北省办理企业变更登记" in details
        both_widths(hebei, out, "06-hebei-camera-valid")
        result = {"camera_to_verdict_ms": round(elapsed_ms, 1), "target_ms": 1000,
                  "of_which_decode_in_browser_ms": round(decode_ms, 1),
                  "of_which_verify_and_render_ms": round(elapsed_ms - decode_ms, 1),
                  "qr_version_chars": len(text), "frames_seen": cam["frames"]}
        (output_dir / "camera_to_verdict.json").write_text(json.dumps(result, indent=2))
        print(f"\ncamera-to-verdict: {elapsed_ms:.0f} ms (code on camera -> 有效 on screen; target < 1000 ms): "
              f"decode {decode_ms:.0f} ms, verify + render {elapsed_ms - decode_ms:.0f} ms")
        assert elapsed_ms < 3000, f"camera-to-verdict {elapsed_ms:.0f} ms"

        # 5. A Shanghai clerk gets a photo of the same code: genuine, but not recognised there.
        shanghai = open_page("verifier-310000")
        photo = out / "wallet-qr-photo.png"
        photo.write_bytes(qr_png)
        shanghai.set_input_files("#image", str(photo))
        shanghai.click("#upload-form button[type=submit]")
        assert wait_verdict(shanghai) == "本地区未认可该类证照"
        assert shanghai.get_attribute("#result .verdict", "data-verdict") == "NOT_RECOGNISED"
        both_widths(shanghai, out, "07-shanghai-not-recognised")

        # 6. The department revokes it on the console: find, confirm, state the reason.
        dept.goto(stack.base_url + "/pages/department")
        dept.fill("#search-q", cert_id.split(".")[-3])  # the serial part of the identifier
        dept.click("#search-form button[type=submit]")
        dept.click(f'button[aria-label="查看与处理 {cert_id}"]')
        assert dept.inner_text("#chain-status") == "有效"
        dept.click("text=撤销…")
        both_widths(dept, out, "08-department-confirm-revoke")
        dept.click("#confirm-form button[type=submit]")  # without reason and confirmation: refused
        assert "请选择撤销原因" in dept.inner_text("#confirm-errors")
        dept.select_option("#reason", "吊销")
        dept.fill("#note", "虚假登记，依法吊销")
        dept.check("input[name=confirmed]")
        dept.click("#confirm-form button[type=submit]")
        dept.wait_for_selector("#status-done")
        assert "已撤销" in dept.inner_text("h1")
        both_widths(dept, out, "09-department-revoked")

        # 7. The Hebei clerk's camera sees the same code again (page reloaded): 已撤销.
        hebei.reload()
        assert wait_verdict(hebei) == "已撤销"
        both_widths(hebei, out, "10-hebei-camera-revoked")
    finally:
        camera_browser.close()

    # 8. An expired code (a screenshot kept too long) asks for a fresh one.
    expired = expired_code(stack, cert_id)
    hebei2 = open_page("verifier-130000")
    hebei2.fill("#text", expired)
    hebei2.click("#paste-form button[type=submit]")
    assert wait_verdict(hebei2) == "出示码已过期，请刷新"
    both_widths(hebei2, out, "11-expired-code")

