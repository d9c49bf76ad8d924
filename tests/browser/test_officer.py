"""区域管理: one officer proposes a recognition change, the second approves it (双人双锁), and the
public registry's matrix changes with it. (Shanghai starts recognising Beijing's driving licences:
the story test's business licence stays unrecognised there.)

Each officer opens their own keystore file (written by the seed outside the node) in the page, which
decrypts it and signs in the browser; every request both pages make is recorded, and none carries
a private key, a passphrase or the keystore's ciphertext.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ledger.keystore import load_keystore
from tests.e2e.stack import Stack

DRIVING = "11100000HR0000001A002"


def _record_bodies(page: Any, sent: list[bytes]) -> None:
    def keep(req: Any) -> None:
        sent.append(req.url.encode() + b"\n" + (req.post_data_buffer or b""))
    page.context.on("request", keep)


def _open_key(page: Any, stack: Stack, handle: str, passphrase: str | None = None) -> None:
    path, right = stack.world.officer_keys[handle]
    page.set_input_files("#key-file", str(path))
    page.fill("#key-pass", passphrase if passphrase is not None else right)
    page.click("#key-open")


def _secrets(stack: Stack, handles: tuple[str, ...]) -> dict[str, bytes]:
    out = {}
    for handle in handles:
        path, passphrase = stack.world.officer_keys[handle]
        key = bytes(load_keystore(path, passphrase).key)
        out[f"{handle} key"] = key.hex().encode()
        out[f"{handle} key (upper)"] = key.hex().upper().encode()
        out[f"{handle} passphrase"] = passphrase.encode()
        out[f"{handle} ciphertext"] = json.loads(path.read_text())["crypto"]["ciphertext"].encode()
    return out


def test_propose_then_second_officer_approves_with_keys_opened_in_the_page(stack: Stack, open_page: Any,
                                                                           output_dir: Path) -> None:
    sent: list[bytes] = []
    first = open_page("officer-310000")
    _record_bodies(first, sent)
    assert first.url.endswith("/pages/officer")
    first.click("#propose-form button[type=submit]")  # nothing chosen: refused in words
    assert "请选择证照类型" in first.inner_text("#err-type_code")
    assert "请选择签发地区" in first.inner_text("#err-issuer_region")
    first.select_option("#type_code", DRIVING)
    first.select_option("#issuer_region", "110000")
    first.click("#propose-form button[type=submit]")  # no key opened: the node cannot sign for her
    assert "服务器不保存管理员密钥，不能代您签名" in first.inner_text("#officer-error")

    _open_key(first, stack, "officer-310000", passphrase="不是这个口令")
    first.wait_for_function("() => document.querySelector('#key-status').textContent.includes('口令不正确')")
    _open_key(first, stack, "officer2-310000")  # a colleague's file is not hers
    first.wait_for_function("() => document.querySelector('#key-status').textContent.includes('不是当前登录的管理员')")
    _open_key(first, stack, "officer-310000")
    first.wait_for_function("() => document.querySelector('#key-status').textContent.includes('已在本页打开')")
    assert first.input_value("#key-pass") == ""  # the passphrase does not stay in the page
    first.select_option("#type_code", DRIVING)
    first.select_option("#issuer_region", "110000")
    first.click("#propose-form button[type=submit]")
    notice = first.inner_text("#officer-notice")
    assert "已提出提案" in notice and "等待本地区另一名管理员批准" in notice, notice
    row = first.locator("#pending-table tbody tr", has_text="认可北京市签发的机动车驾驶证")
    assert row.count() == 1
    assert "1 / 2" in row.inner_text() and "上海地区管理员" in row.inner_text()
    assert "您已批准" in row.inner_text()  # the proposer cannot approve a second time
    first.screenshot(path=str(output_dir / "officer-pending-1280.png"), full_page=True)

    # Not yet in force: the registry still shows 未认可 for Shanghai x Beijing driving licences.
    public = open_page()
    public.goto(stack.base_url + "/pages/registry")
    assert "上海市核验北京市签发的机动车驾驶证：✗ 未认可" in public.content()

    second = open_page("officer2-310000")
    _record_bodies(second, sent)
    row = second.locator("#pending-table tbody tr", has_text="认可北京市签发的机动车驾驶证")
    row.locator("button", has_text="批准").click()  # no key opened yet: refused in words, nothing sent on
    assert "服务器不保存管理员密钥" in second.inner_text("#officer-error")
    _open_key(second, stack, "officer2-310000")
    second.wait_for_function("() => document.querySelector('#key-status').textContent.includes('已在本页打开')")
    row = second.locator("#pending-table tbody tr", has_text="认可北京市签发的机动车驾驶证")
    row.locator("button", has_text="批准").click()
    assert "达到门限，变更已生效" in second.inner_text("#officer-notice")
    assert second.locator("#pending-table tbody tr", has_text="认可北京市签发的机动车驾驶证").count() == 0
    rules = second.inner_text("#rules-h + .table-wrap")
    assert "机动车驾驶证" in rules and "北京市" in rules and "✓ 生效中" in rules
    public.reload()
    assert "上海市核验北京市签发的机动车驾驶证：✓ 认可" in public.content()
    public.screenshot(path=str(output_dir / "registry-after-approval-1280.png"), full_page=True)

    # What the pages sent: signatures, never a key, a passphrase or the keystore itself.
    assert any(b"signature=0x" in body for body in sent)
    leaked = {what for what, value in _secrets(stack, ("officer-310000", "officer2-310000")).items()
              if any(value in body for body in sent)}
    assert not leaked, leaked


def test_officer_sees_only_own_region(stack: Stack, open_page: Any) -> None:
    beijing = open_page("officer-110000")
    text = beijing.inner_text("main")
    assert "区域管理 · 北京市" in text
    pending = beijing.inner_text("#pending-table") if beijing.locator("#pending-table").count() else ""
    assert "上海地区管理员" not in pending  # another region's proposals are not shown
    reply = beijing.request.post(stack.base_url + "/pages/officer/approve",
                                 form={"csrf": beijing.input_value("#propose-form input[name=csrf]"),
                                       "proposal_id": "999999"})
    assert reply.status == 404 and "本地区没有编号为 999999 的提案" in reply.text()
