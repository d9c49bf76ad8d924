"""State-changing forms are refused (403, a Chinese page) when the browser says they were posted
from another site (Origin, else Referer), even with a valid CSRF token and session."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.stack import Stack


def _signed_in(stack: Stack) -> tuple[httpx.Client, str]:
    """A clerk's session over real HTTP and the CSRF token of its forms."""
    c = httpx.Client(base_url=stack.base_url, timeout=30)
    form = c.get("/pages/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    assert c.post("/pages/signin", data={"token": stack.world.tokens["verifier-130000"],
                                         "csrf": csrf.group(1)}).status_code == 303
    page = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/clerk").text)
    assert page is not None
    return c, page.group(1)


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Referer": "https://evil.example/form.html"},
                                     {"Origin": "http://127.0.0.1:1"}],
                         ids=["other-site", "null-origin", "other-referer", "other-port"])
def test_a_form_posted_from_another_origin_is_refused_with_a_chinese_page(stack: Stack, headers: dict[str, str]):
    c, csrf = _signed_in(stack)
    try:
        reply = c.post("/pages/clerk/verify", data={"text": "HR1:X", "csrf": csrf}, headers=headers)
    finally:
        c.close()
    assert reply.status_code == 403
    assert reply.headers["content-type"].startswith("text/html")
    assert "表单来源校验未通过" in reply.text and "本次操作没有执行" in reply.text
    assert "窗口核验" not in reply.text.split("表单来源校验未通过", 1)[1][:200]  # no verdict was given


@pytest.mark.parametrize("headers", [{"Origin": "{base}"}, {"Referer": "{base}/pages/clerk"}, {}],
                         ids=["same-origin", "same-referer", "no-browser-headers"])
def test_a_form_posted_from_our_own_pages_is_answered(stack: Stack, headers: dict[str, str]):
    c, csrf = _signed_in(stack)
    try:
        reply = c.post("/pages/clerk/verify", data={"text": "HR1:X", "csrf": csrf},
                       headers={k: v.format(base=stack.base_url) for k, v in headers.items()})
    finally:
        c.close()
    assert reply.status_code == 200 and "表单来源校验未通过" not in reply.text


def test_same_origin_does_not_replace_the_csrf_token(stack: Stack):
    c, _ = _signed_in(stack)
    try:
        reply = c.post("/pages/clerk/verify", data={"text": "HR1:X", "csrf": "forged"},
                       headers={"Origin": stack.base_url})
    finally:
        c.close()
    assert reply.status_code == 403 and "表单校验未通过" in reply.text


def test_pages_send_no_referrer_to_other_sites_but_their_origin_to_their_own(stack: Stack):
    """Referrer-Policy same-origin: under no-referrer a browser's form POST says "Origin: null"."""
    with httpx.Client(base_url=stack.base_url) as c:
        assert c.get("/pages/signin").headers["referrer-policy"] == "same-origin"
