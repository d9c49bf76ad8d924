"""Hostile photo uploads against a real `huren serve` process (conftest.py's `served`).

Every exotic or disguised format and every decompression bomb, sent to `/v1/verify/image` and to
the clerk page's upload, is answered 4xx within the suite's deadline (the clients' time-out:
ANSWER_WITHIN_S), and no process is ever started by the server — before this, an EPS named
qr.png was rendered by Ghostscript, and `{} loop` left `gs` spinning for ever (issue 13). The
server's resident memory stays within a stated bound during and after concurrent uploads of the
largest photos it accepts, and a genuine code still verifies VALID from a PNG and a JPEG.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from api.photo_intake import MAX_PIXELS, MAX_WAITING
from tests.adversarial.server import ANSWER_WITHIN_S, Served

MB = 1024 * 1024
#: Resident memory one decode of the largest accepted photo may hold: an RGB PNG of MAX_PIXELS is kept
#: by Pillow at 4 bytes a pixel (64 MB), its grey copy 16 MB, the 4 Mpx reduction and zbar's copy of it
#: 8 MB — 88 MB, rounded up.
PER_DECODE = 96 * MB
#: Allocator and thread-stack slack on top of the decodes in flight (request bodies are under 100 kB).
SLACK = 64 * MB
#: Resident memory the server may keep after a burst, over its figure before: the arenas' free pages
#: are handed back after each large decode (malloc_trim), so what stays is caches, not images.
KEPT_AFTER = 48 * MB


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes declaring width x height: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def _png_zlib_bomb(side: int) -> bytes:
    """A real PNG of side x side black pixels: a few kB on the wire, side² x 3 bytes when decoded."""
    raw = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (side * 3)
    body = b"".join(raw.compress(row) for _ in range(side)) + raw.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


SMALL = Image.new("RGB", (64, 64), "white")
LOOPING_EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{} loop\n%%EOF\n"
#: Formats refused by their magic bytes: 415. Every one is sent named qr.png, typed image/png.
EXOTIC: dict[str, Callable[[], bytes]] = {
    "eps-looping": lambda: LOOPING_EPS,
    "eps-postscript-error": lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nundefinedcommand\n",
    "eps-by-pillow": lambda: _encode(SMALL, "EPS"),
    "eps-dos-binary": lambda: b"\xc5\xd0\xd3\xc6" + b"\x00" * 28 + LOOPING_EPS,
    "postscript": lambda: b"%!PS-Adobe-3.0\n{} loop\nshowpage\n",
    "pdf": lambda: _encode(SMALL, "PDF"),
    "svg": lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>',
    "tiff": lambda: _encode(SMALL, "TIFF"),
    "gif-as-png": lambda: _encode(SMALL, "GIF"),
    "bmp": lambda: _encode(SMALL, "BMP"),
    "webp": lambda: _encode(SMALL, "WEBP"),
    "not-an-image": lambda: b"MZ\x90\x00 this is no picture at all",
}
#: Files that claim PNG or JPEG by their first bytes but are something else, or bombs: 400.
DISGUISED_OR_BOMB: dict[str, tuple[Callable[[], bytes], str]] = {
    "png-magic-then-eps": (lambda: b"\x89PNG\r\n\x1a\n" + LOOPING_EPS, "BAD_IMAGE"),
    "jpeg-magic-then-eps": (lambda: b"\xff\xd8\xff" + LOOPING_EPS, "BAD_IMAGE"),
    "truncated-png": (lambda: _encode(SMALL, "PNG")[:50], "BAD_IMAGE"),
    "png-declaring-30000x30000": (lambda: _png_header_only(30_000, 30_000), "IMAGE_TOO_LARGE"),
    "png-declaring-65535x65535": (lambda: _png_header_only(65_535, 65_535), "IMAGE_TOO_LARGE"),
    "png-declaring-just-over-budget": (lambda: _png_header_only(4001, 4000), "IMAGE_TOO_LARGE"),
    "png-declaring-a-long-thin-strip": (lambda: _png_header_only(16_000, 100), "IMAGE_TOO_LARGE"),
    "png-zlib-bomb-6300-square": (lambda: _png_zlib_bomb(6300), "IMAGE_TOO_LARGE"),
    "jpeg-over-budget": (lambda: _encode(Image.new("L", (6000, 4000), "white"), "JPEG"), "IMAGE_TOO_LARGE"),
}


# ---------------------------------------------------------------------------- the server's processes

def _children_of(pid: int) -> list[tuple[int, str]]:
    """Every descendant process of `pid` (pid, command name), from /proc."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended while we looked
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append((int(entry.name), name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


@contextmanager
def _watching_processes(served: Served) -> Iterator[list[tuple[int, str]]]:
    """Sample the server's descendants every 10 ms while the body runs; the list of any ever seen."""
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.extend(c for c in _children_of(served.pid) if c not in seen)
            stop.wait(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(5)
        seen.extend(c for c in _children_of(served.pid) if c not in seen)


@contextmanager
def _watching_memory(served: Served) -> Iterator[list[int]]:
    """Sample the server's VmRSS every 10 ms while the body runs; the samples (bytes)."""
    samples: list[int] = [served.rss_bytes()]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            samples.append(served.rss_bytes())
            stop.wait(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join(5)


# ---------------------------------------------------------------------------- uploads

def _upload(served: Served, data: bytes, name: str = "qr.png", mime: str = "image/png") -> httpx.Response:
    with served.client("verifier") as c:
        return c.post("/v1/verify/image", files={"image": (name, data, mime)})


@pytest.fixture(scope="module")
def clerk(served: Served) -> Iterator[tuple[httpx.Client, str]]:
    """A clerk signed in to the pages over real HTTP, and the CSRF token of the upload form."""
    c = httpx.Client(base_url=served.base_url, timeout=ANSWER_WITHIN_S)
    form = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/signin").text)
    assert form is not None
    assert c.post("/pages/signin", data={"token": served.tokens["verifier"], "csrf": form.group(1)}).status_code == 303
    page = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/clerk").text)
    assert page is not None
    try:
        yield c, page.group(1)
    finally:
        c.close()


def _page_upload(clerk: tuple[httpx.Client, str], data: bytes) -> httpx.Response:
    c, csrf = clerk
    return c.post("/pages/clerk/verify-image", files={"image": ("qr.png", data, "image/png")}, data={"csrf": csrf})


@pytest.fixture(scope="module")
def genuine_png(served: Served) -> bytes:
    """The wallet's PNG of a genuine presentation: the holder's certificate issued, anchored, presented."""
    document = json.loads(served.extra["holder_document"])
    document.pop("issuer", None)
    with served.client("department") as c:
        issued = c.post("/v1/certificates", json={"document": document})
    assert issued.status_code == 201, issued.text
    cert_id = issued.json()["cert_id"]
    deadline = time.monotonic() + 60
    with served.client("holder") as c:
        while True:
            states = {i["cert_id"]: i["status"]["code"] for i in c.get("/v1/wallet/certificates").json()}
            if states.get(cert_id) not in (None, "PENDING", "UNKNOWN"):
                break
            assert time.monotonic() < deadline, f"{cert_id} not anchored: {states}"
            time.sleep(0.3)
        reply = c.post(f"/v1/wallet/certificates/{cert_id}/presentation?format=png", json={"purpose": "窗口核验"})
    assert reply.status_code == 200 and reply.content.startswith(b"\x89PNG"), reply.text[:300]
    return reply.content


def _framed(code_png: bytes, size: tuple[int, int], fmt: str) -> bytes:
    """The code at three times its size in the middle of a white photo of `size`."""
    frame = Image.new("RGB", size, "white")
    code = Image.open(io.BytesIO(code_png)).convert("RGB")
    code = code.resize((code.width * 3, code.height * 3), Image.Resampling.NEAREST)
    frame.paste(code, ((size[0] - code.width) // 2, (size[1] - code.height) // 2))
    return _encode(frame, fmt, **({"quality": 90} if fmt == "JPEG" else {}))


# ---------------------------------------------------------------------------- the real path still works

@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_genuine_qr_photo_verifies_valid(served: Served, genuine_png: bytes, fmt: str):
    data = genuine_png if fmt == "PNG" else _encode(Image.open(io.BytesIO(genuine_png)).convert("RGB"), "JPEG")
    reply = _upload(served, data, "qr." + fmt.lower(), "image/" + fmt.lower())
    assert reply.status_code == 200, reply.text
    assert reply.json()["verdict"] == "VALID"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_genuine_code_in_a_photo_of_the_largest_accepted_size_verifies_valid(
        served: Served, genuine_png: bytes, fmt: str):
    reply = _upload(served, _framed(genuine_png, (4000, 4000), fmt))
    assert MAX_PIXELS == 4000 * 4000
    assert reply.status_code == 200, reply.text
    assert reply.json()["verdict"] == "VALID"


def test_the_clerk_page_verifies_a_genuine_qr_photo(served: Served, genuine_png: bytes,
                                                     clerk: tuple[httpx.Client, str]):
    reply = _page_upload(clerk, genuine_png)
    assert reply.status_code == 200
    assert 'data-verdict="VALID"' in reply.text


# ---------------------------------------------------------------------------- exotic formats and bombs

@pytest.mark.parametrize("case", sorted(EXOTIC))
def test_an_exotic_format_named_qr_png_is_a_415_and_starts_no_process(served: Served, case: str):
    with _watching_processes(served) as started:
        reply = _upload(served, EXOTIC[case]())
    assert reply.status_code == 415, reply.text
    error = reply.json()["error"]
    assert error["code"] == "UNSUPPORTED_IMAGE_FORMAT" and "只接受 PNG 或 JPEG" in error["message"]
    assert started == [], f"the server started {started}"


@pytest.mark.parametrize("case", sorted(EXOTIC))
def test_an_exotic_format_posted_from_the_clerk_page_is_a_chinese_415_page(
        served: Served, clerk: tuple[httpx.Client, str], case: str):
    with _watching_processes(served) as started:
        reply = _page_upload(clerk, EXOTIC[case]())
    assert reply.status_code == 415
    assert reply.headers["content-type"].startswith("text/html")
    assert "只接受 PNG 或 JPEG" in reply.text and "Traceback" not in reply.text
    assert started == []


@pytest.mark.parametrize("case", sorted(DISGUISED_OR_BOMB))
def test_a_disguised_file_or_a_bomb_is_a_400_naming_the_problem(served: Served, case: str):
    make, code = DISGUISED_OR_BOMB[case]
    with _watching_processes(served) as started:
        reply = _upload(served, make())
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["code"] == code
    assert reply.json()["error"]["message"].startswith(("无法读取图片", "图片像素过多"))
    assert started == []


@pytest.mark.parametrize("case", sorted(DISGUISED_OR_BOMB))
def test_a_disguised_file_or_a_bomb_posted_from_the_clerk_page_is_a_chinese_400_page(
        served: Served, clerk: tuple[httpx.Client, str], case: str):
    reply = _page_upload(clerk, DISGUISED_OR_BOMB[case][0]())
    assert reply.status_code == 400
    assert ("无法读取图片" in reply.text or "图片像素过多" in reply.text) and "Traceback" not in reply.text


def test_forty_looping_eps_uploads_at_once_leave_the_wallet_and_clerks_answered(served: Served, genuine_png: bytes):
    """Issue 13: forty of these held forty Ghostscripts at 100 % CPU and the thread pool; the wallet stopped."""
    with _watching_processes(served) as started, ThreadPoolExecutor(40) as pool:
        attacks = [pool.submit(_upload, served, LOOPING_EPS) for _ in range(40)]
        with served.client("holder") as wallet:
            assert wallet.get("/v1/wallet/certificates").status_code == 200
        assert _upload(served, genuine_png).json()["verdict"] == "VALID"
        statuses = [a.result().status_code for a in attacks]
    assert statuses == [415] * 40
    assert started == []


# ---------------------------------------------------------------------------- memory under concurrent uploads

def _decode_slots(served: Served) -> int:
    """Decodes the server runs at once: one per core it may use (api.photo_intake.DecodeGate)."""
    return len(os.sched_getaffinity(served.pid))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_concurrent_uploads_of_the_largest_photos_stay_within_the_memory_bound_and_give_it_back(
        served: Served, genuine_png: bytes, fmt: str):
    """Eight at once (eight windows uploading together), each the largest accepted, each VALID.

    Bound while they run: the decodes in flight (one per core) at PER_DECODE each, plus SLACK — on
    two cores 256 MB over the figure before the burst (issue 13 measured +1.7 GB for eight 40 Mpx
    PNGs). Bound afterwards: KEPT_AFTER over the figure before (issue 13: +1.05 GB stayed).
    """
    photo = _framed(genuine_png, (4000, 4000), fmt)
    before = served.rss_bytes()
    with _watching_memory(served) as samples, ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: _upload(served, photo), range(8)))
    after = served.rss_bytes()
    peak = max(samples)
    print(f"\n{fmt} x8: VmRSS before {before / MB:.0f} MB, peak {peak / MB:.0f} MB, after {after / MB:.0f} MB")
    assert [r.status_code for r in replies] == [200] * 8, [r.text[:200] for r in replies if r.status_code != 200]
    assert {r.json()["verdict"] for r in replies} == {"VALID"}
    assert peak <= before + _decode_slots(served) * PER_DECODE + SLACK, (before // MB, peak // MB)
    assert after <= before + KEPT_AFTER, (before // MB, after // MB)


@pytest.mark.slow
def test_a_burst_beyond_the_waiting_room_is_answered_verdict_or_503_with_retry_after(
        served: Served, genuine_png: bytes):
    """Sixteen large uploads at once — on two cores more than the decode slots plus MAX_WAITING: each is
    decoded and VALID, or refused at once with 503 and Retry-After; nobody hangs or gets a 500."""
    assert MAX_WAITING < 16
    photo = _framed(genuine_png, (4000, 4000), "PNG")
    burst = 16
    before = served.rss_bytes()
    with _watching_memory(served) as samples, ThreadPoolExecutor(burst) as pool:
        replies = list(pool.map(lambda _: _upload(served, photo), range(burst)))
    after = served.rss_bytes()
    print(f"\nPNG x{burst}: VmRSS before {before / MB:.0f} MB, peak {max(samples) / MB:.0f} MB, "
          f"after {after / MB:.0f} MB; statuses {sorted(r.status_code for r in replies)}")
    for reply in replies:
        if reply.status_code == 503:
            assert reply.json()["error"]["code"] == "IMAGE_DECODER_BUSY" and "繁忙" in reply.json()["error"]["message"]
            assert int(reply.headers["Retry-After"]) >= 1
        else:
            assert reply.status_code == 200 and reply.json()["verdict"] == "VALID", reply.text[:300]
    assert max(samples) <= before + _decode_slots(served) * PER_DECODE + SLACK
    assert after <= before + KEPT_AFTER

