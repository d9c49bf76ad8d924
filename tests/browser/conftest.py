"""The browser suite: Debian's Chromium driven by Playwright against a demo-like stack over real HTTP.

One stack (anvil, seeded 京津冀 + 上海 consortium, the API with its pages) and one browser serve
the whole session; each test opens its own browser contexts (fresh cookies). Every context
records every request it makes, and each test fails if any went to another host: government
networks are often cut off from the internet, so a page must never need one.

Screenshots and the measured camera-to-verdict time go to `test-output/browser/` (git-ignored).
Playwright never downloads a browser here: it launches /usr/bin/chromium (`make setup`
installs it with ffmpeg and a CJK font).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.seed import DEPARTMENTS, add_holder
from ledger.anvil import IDLE_BLOCK_TIME_S, start_anvil
from tests.e2e.stack import Stack, running_stack, wait_anchored

CHROMIUM = os.environ.get("HUREN_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "browser"


def _require_tools() -> None:
    missing = [tool for tool in (CHROMIUM, "ffmpeg") if shutil.which(tool) is None]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (PyPI)")
    if missing:
        message = f"browser tests need {', '.join(missing)} (make setup installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _require_tools()
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)  # ticks when idle, as a network does
    try:
        with running_stack(node, tmp_path_factory.mktemp("browser-stack"), presentation_ttl_s=300) as s:
            yield s
    finally:
        node.stop()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    _require_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM)
    yield b
    b.close()


@dataclass
class Recorder:
    """Every request of the contexts a test opened, to prove none left the app's own host."""

    own: str
    seen: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        out = []
        for url in self.seen:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.netloc != self.own:
                out.append(url)
        return out


@pytest.fixture
def recorder(stack: Stack) -> Iterator[Recorder]:
    rec = Recorder(urlsplit(stack.base_url).netloc)
    yield rec
    assert rec.seen, "no request was recorded"
    assert not rec.foreign(), f"requests to other hosts: {rec.foreign()}"


Opener = Callable[..., Any]


@pytest.fixture
def open_page(browser: Any, stack: Stack, recorder: Recorder) -> Iterator[Opener]:
    """open_page(handle=None, width=1280, elder=False, browser=None) -> a page, signed in as `handle`."""
    contexts: list[Any] = []

    def opener(handle: str | None = None, width: int = 1280, elder: bool = False, in_browser: Any = None,
               init_script: str | None = None) -> Any:
        ctx = (in_browser or browser).new_context(viewport={"width": width, "height": 900 if width > 500 else 780},
                                                  locale="zh-CN", timezone_id="Asia/Shanghai")
        ctx.on("request", lambda req: recorder.seen.append(req.url))
        if init_script:
            ctx.add_init_script(init_script)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        if elder:
            set_elder(page, stack, True)
        if handle is not None:
            sign_in(page, stack, handle)
        return page

    yield opener
    for ctx in contexts:
        ctx.close()


def sign_in(page: Any, stack: Stack, handle: str) -> None:
    page.goto(stack.base_url + "/pages/signin")
    page.fill("#token", stack.world.tokens[handle])
    page.click("form.panel button[type=submit]")
    page.wait_for_load_state()
    assert "/pages/signin" not in page.url, page.inner_text("main")


def set_elder(page: Any, stack: Stack, on: bool) -> None:
    page.goto(stack.base_url + "/pages/")
    pressed = page.get_attribute("#elder-form button", "aria-pressed") == "true"
    if pressed != on:
        page.click("#elder-form button")
        page.wait_for_function(f"() => document.documentElement.classList.contains('elder') === {str(on).lower()}")


def shot(page: Any, out: Path, name: str, full_page: bool = True) -> Path:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# -- data -------------------------------------------------------------------------------------

def licence_document(stack: Stack, seed_offset: int, dept: str = "bj-amr") -> dict[str, Any]:
    """A sample document of the department's type that is in force today (issuer block left out)."""
    from issuers.model import Issuer
    from issuers.samples import sample_document

    d = stack.world.department(dept)
    index = [x.key for x in DEPARTMENTS].index(dept)
    seed = 70_000 + 1_000 * index + seed_offset * 7
    while True:
        doc = sample_document(d.types[0], seed, issuer=Issuer(d.credit_code, d.region, d.name, "0x" + "00" * 20))
        if doc.get("validUntil") is None or doc["validUntil"] > time.strftime("%Y-%m-%d"):
            break
        seed += 1
    doc.pop("issuer")
    return doc


def issue_via_api(stack: Stack, seed_offset: int, dept: str = "bj-amr") -> tuple[str, dict[str, Any], str]:
    """Issue through the department API and give the holder a wallet credential: (cert_id, doc, handle)."""
    doc = licence_document(stack, seed_offset, dept)
    with stack.client(dept) as c:
        reply = c.post("/v1/certificates", json={"document": doc})
    assert reply.status_code == 201, reply.text
    handle = f"browser-holder-{dept}-{seed_offset}"
    add_holder(stack.world, handle, doc)
    return reply.json()["cert_id"], doc, handle


def present_via_api(stack: Stack, holder: str, cert_id: str, purpose: str = "办理企业登记") -> str:
    with stack.client(holder) as c:
        reply = c.post(f"/v1/wallet/certificates/{cert_id}/presentation", json={"purpose": purpose})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["presentation"])


def expired_code(stack: Stack, cert_id: str, dept: str = "bj-amr") -> str:
    """A presentation of an anchored certificate made 20 minutes ago with a 5-minute lifetime."""
    from verifier.codec import encode
    from verifier.presentation import make_presentation

    rt = stack.app.state.runtime
    issued = rt.departments[stack.world.department(dept).credit_code].service.certificate(cert_id)
    assert issued.batch_root is not None and issued.batch_proof is not None
    p = make_presentation(list(issued.fields), ["claims.entityName"], batch_root=issued.batch_root,
                          batch_proof=issued.batch_proof, issuer_signature=issued.signature, purpose="旧截图",
                          domain=rt.domain, now=int(time.time()) - 1200, ttl_s=300,
                          stamp_signer=rt.stamp_signers[issued.document["issuer"]["region"]])
    return encode(p)


@pytest.fixture(scope="session")
def valid_licence(stack: Stack) -> dict[str, Any]:
    """A Beijing business licence, anchored and never revoked, for tests that need a good code."""
    cert_id, doc, holder = issue_via_api(stack, 1)
    wait_anchored(stack, holder, cert_id)
    return {"cert_id": cert_id, "doc": doc, "holder": holder}
