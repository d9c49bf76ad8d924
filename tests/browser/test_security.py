"""Sessions, CSRF and roles as a browser meets them: refusals are Chinese pages, never JSON or traces."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Recorder, sign_in
from tests.e2e.stack import Stack


def test_session_cookie_is_httponly_strict_and_the_token_never_in_a_url(stack: Stack, open_page: Any,
                                                                        recorder: Recorder) -> None:
    page = open_page("verifier-130000")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["huren_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert cookies["huren_csrf"]["httpOnly"] is True and cookies["huren_csrf"]["sameSite"] == "Strict"
    token = stack.world.tokens["verifier-130000"]
    assert session["value"] != token
    assert not any(token in url for url in recorder.seen)
    assert page.evaluate("document.cookie") == ""  # nothing readable by scripts


def test_wrong_token_is_refused_on_the_page(stack: Stack, open_page: Any) -> None:
    page = open_page()
    page.goto(stack.base_url + "/pages/signin")
    page.fill("#token", "hr_this-is-not-a-token")
    page.click("form.panel button[type=submit]")
    assert "凭证无效或已停用" in page.inner_text("#signin-error")
    assert page.get_attribute("#token", "aria-invalid") == "true"
    page.fill("#token", "")
    page.click("form.panel button[type=submit]")
    assert "请输入凭证令牌" in page.inner_text("#signin-error")


def test_missing_session_goes_to_sign_in_and_back(stack: Stack, open_page: Any) -> None:
    page = open_page()
    for path in ("/pages/wallet", "/pages/clerk", "/pages/department", "/pages/officer"):
        response = page.goto(stack.base_url + path)
        assert response is not None and response.status == 200
        assert page.url.endswith("/pages/signin?next=" + path), page.url
        assert page.inner_text("h1") == "登录"
    page.fill("#token", stack.world.tokens["bj-amr"])
    page.click("form.panel button[type=submit]")
    # `next` named another role's page: the department lands on its own page instead of a 403.
    assert page.url.endswith("/pages/department")


def test_wrong_role_gets_a_chinese_403_page(stack: Stack, open_page: Any) -> None:
    page = open_page("verifier-310000")
    wrong = (("/pages/department", "发证部门"), ("/pages/wallet", "持证人"), ("/pages/officer", "地区管理员"))
    for path, wanted in wrong:
        response = page.goto(stack.base_url + path)
        assert response is not None and response.status == 403
        text = page.inner_text("main")
        assert "无权访问此页面" in text and f"此页面需要{wanted}凭证" in text and "核验窗口" in text, text
        assert "Traceback" not in page.content() and '"error"' not in page.content()


def test_wrong_role_post_is_refused(stack: Stack, open_page: Any) -> None:
    page = open_page("bj-amr")
    page.goto(stack.base_url + "/pages/department")
    csrf = page.input_value("#issue-form input[name=csrf]")
    reply = page.request.post(stack.base_url + "/pages/clerk/verify", form={"csrf": csrf, "text": "HR1:ABC"})
    assert reply.status == 403
    assert "此页面需要核验窗口凭证" in reply.text()


def test_forms_without_a_valid_csrf_token_are_refused(stack: Stack, open_page: Any) -> None:
    page = open_page("verifier-130000")
    # A real form whose token was tampered with: the browser submits it, the server refuses.
    page.evaluate("document.querySelector('#paste-form input[name=csrf]').value = 'forged'")
    page.evaluate("document.getElementById('text').value = 'HR1:ABC'")
    page.evaluate("HTMLFormElement.prototype.submit.call(document.getElementById('paste-form'))")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "表单校验未通过"
    assert "安全校验码（CSRF）" in page.inner_text("main") and "本次操作没有执行" in page.inner_text("main")
    # A request with no token at all (as another site's form would send), for every kind of form.
    for path, form in (("/pages/clerk/verify", {"text": "HR1:ABC"}), ("/pages/signout", {}),
                       ("/pages/prefs/elder", {"on": "1"}), ("/pages/department/issue", {"type_code": "x"}),
                       ("/pages/officer/approve", {"proposal_id": "1"}), ("/pages/signin", {"token": "x"})):
        reply = page.request.post(stack.base_url + path, form=form)
        assert reply.status == 403, path
        assert "表单校验未通过" in reply.text(), path
    # Still signed in: the refused sign-out did not happen.
    page.goto(stack.base_url + "/pages/clerk")
    assert page.url.endswith("/pages/clerk")


def test_sign_out_ends_the_session_everywhere(stack: Stack, open_page: Any) -> None:
    page = open_page("verifier-120000")
    old = next(c for c in page.context.cookies() if c["name"] == "huren_session")
    page.click("text=退出登录")
    page.wait_for_url("**/pages/signin?out=1")
    assert "您已退出登录" in page.inner_text("main")
    page.context.add_cookies([old])  # a copied cookie is worthless after sign-out
    page.goto(stack.base_url + "/pages/clerk")
    assert "/pages/signin" in page.url


def test_titles_and_urls_carry_no_personal_data(stack: Stack, open_page: Any, valid_licence: dict[str, Any],
                                                recorder: Recorder) -> None:
    doc = valid_licence["doc"]
    page = open_page(valid_licence["holder"])
    page.goto(stack.base_url + "/pages/wallet")
    titles = [page.title()]
    page.click("text=出示这份证照")
    titles.append(page.title())
    page.fill("#purpose", "租房登记")
    page.click("#choose-form button[type=submit]")
    page.wait_for_selector("#qr")
    titles.append(page.title())
    personal = (doc["holder"]["name"], doc["holder"]["idNumber"], doc["claims"]["legalRepresentative"],
                valid_licence["cert_id"])
    for value in personal:
        assert not any(value in t for t in titles), titles
        assert not any(value in url for url in recorder.seen), value
    sign_in(page, stack, "verifier-130000")  # switching user needs no sign-out: a new session replaces it
    assert page.url.endswith("/pages/clerk")


def test_every_request_stays_on_the_app_host(stack: Stack, open_page: Any, recorder: Recorder) -> None:
    """Every page, every asset (styles, scripts, the WebAssembly QR decoder) from the app itself."""
    public = open_page()
    for path in ("/pages/", "/pages/signin", "/pages/registry"):
        public.goto(stack.base_url + path)
    for handle, path in (("bj-amr", "/pages/department"), ("officer-130000", "/pages/officer"),
                         ("verifier-130000", "/pages/clerk")):
        page = open_page(handle)
        page.goto(stack.base_url + path)
        page.wait_for_load_state("networkidle")
    decoder = [u for u in recorder.seen if "/pages/vendor/zbar/" in u]
    assert any(u.endswith("/zbar/index.js") for u in decoder) and any(u.endswith("/zbar.wasm") for u in decoder), \
        decoder
    wasm = public.request.get(stack.base_url + "/pages/vendor/zbar/zbar.wasm")
    assert wasm.status == 200 and wasm.headers["content-type"] == "application/wasm"
    assert public.request.get(stack.base_url + "/pages/vendor/../../pyproject.toml").status == 404
    assert not recorder.foreign()  # (the fixture checks this after every test too)


def test_unknown_page_is_a_chinese_page(stack: Stack, open_page: Any) -> None:
    page = open_page()
    response = page.goto(stack.base_url + "/pages/no-such-page")
    assert response is not None and response.status == 404
    assert page.inner_text("h1") == "找不到这个页面"
    assert page.request.get(stack.base_url + "/pages/static/site.css").status == 200
