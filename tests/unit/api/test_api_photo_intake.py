"""The photo intake rules (api/photo_intake.py): which uploads are decoded, how many pixels, how many at once.

Real Pillow and real zbar on images made here; the only stand-ins are spies on Image.open (to show
a refused format never reaches Pillow) and a held slot of the decode gate.
"""

from __future__ import annotations

import io
import struct
import threading
import zlib
from collections.abc import Callable

import pytest
from PIL import Image

from api import photo_intake
from api.errors import ApiError
from api.photo_intake import (
    DECODER_PIXELS,
    MAX_PIXELS,
    MAX_SIDE,
    DecodeGate,
    decode_qr_image,
    draft_scale,
    prepare,
    sniff_format,
)
from verifier.qr import qr_png

TEXT = "HR1:PHOTO-INTAKE-TEST"


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _photo(size: tuple[int, int], fmt: str, text: str = TEXT) -> bytes:
    """A white frame of `size` with the QR code of `text` in the middle at three times its size."""
    frame = Image.new("RGB", size, "white")
    code = Image.open(io.BytesIO(qr_png(text))).convert("RGB")
    code = code.resize((code.width * 3, code.height * 3), Image.Resampling.NEAREST)
    frame.paste(code, ((size[0] - code.width) // 2, (size[1] - code.height) // 2))
    return _encode(frame, fmt, **({"quality": 90} if fmt == "JPEG" else {}))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes that declares width x height and carries no pixels: a bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def _refusal(data: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        decode_qr_image(data)
    return caught.value


SMALL = Image.new("RGB", (64, 64), "white")
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{} loop\n%%EOF\n"
REFUSED: dict[str, tuple[Callable[[], bytes], str]] = {
    "eps-looping": (lambda: EPS, "PostScript/EPS"),
    "eps-by-pillow": (lambda: _encode(SMALL, "EPS"), "PostScript/EPS"),
    "eps-dos-binary": (lambda: b"\xc5\xd0\xd3\xc6" + b"\x00" * 28 + EPS, "EPS"),
    "postscript": (lambda: b"%!PS-Adobe-3.0\n/Helvetica findfont 12 scalefont setfont\nshowpage\n", "PostScript/EPS"),
    "pdf": (lambda: _encode(SMALL, "PDF"), "PDF"),
    "svg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG/XML"),
    "svg-with-xml-declaration": (lambda: b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg/>', "SVG/XML"),
    "tiff": (lambda: _encode(SMALL, "TIFF"), "TIFF"),
    "gif": (lambda: _encode(SMALL, "GIF"), "GIF"),
    "bmp": (lambda: _encode(SMALL, "BMP"), "BMP"),
    "webp": (lambda: _encode(SMALL, "WEBP"), "WebP"),
    "heic": (lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
    "text": (lambda: b"just some text", "未知格式"),
}


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_png_and_jpeg_are_recognised_by_their_magic_bytes(fmt: str):
    assert sniff_format(_encode(SMALL, fmt)) == fmt


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_every_other_format_is_a_415_naming_it_and_the_accepted_ones(case: str):
    make, kind = REFUSED[case]
    refusal = _refusal(make())
    assert refusal.status == 415 and refusal.code == "UNSUPPORTED_IMAGE_FORMAT"
    assert kind in refusal.message and "PNG 或 JPEG" in refusal.message


def test_a_heic_photo_gets_advice_for_the_iphone_setting():
    make, _ = REFUSED["heic"]
    assert "兼容性最佳" in _refusal(make()).hint


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_refused_format_never_reaches_pillow(case: str, monkeypatch: pytest.MonkeyPatch):
    data = REFUSED[case][0]()
    opened: list[bytes] = []
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(data))  # a spy: must not be called
    _refusal(data)
    assert opened == []


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_pillow_is_offered_only_the_format_the_magic_bytes_named(fmt: str, monkeypatch: pytest.MonkeyPatch):
    asked: list[object] = []
    real_open = Image.open

    def spy(fp: object, mode: str = "r", formats: object = None) -> Image.Image:
        asked.append(formats)
        return real_open(fp, mode, formats)  # type: ignore[arg-type]

    monkeypatch.setattr(Image, "open", spy)
    prepare(_encode(SMALL, fmt))
    assert asked == [[fmt]]


@pytest.mark.parametrize("body", [EPS, _encode(SMALL, "GIF"), _encode(SMALL, "TIFF")], ids=["eps", "gif", "tiff"])
def test_png_magic_in_front_of_another_format_is_unreadable_not_interpreted(body: bytes):
    refusal = _refusal(b"\x89PNG\r\n\x1a\n" + body)
    assert refusal.status == 400 and refusal.code == "BAD_IMAGE"


def test_jpeg_magic_in_front_of_postscript_is_unreadable_not_interpreted():
    refusal = _refusal(b"\xff\xd8\xff" + EPS)
    assert refusal.status == 400 and refusal.code == "BAD_IMAGE"


def test_an_empty_upload_is_a_400_saying_it_is_empty():
    refusal = _refusal(b"")
    assert refusal.status == 400 and refusal.code == "EMPTY_IMAGE" and "空的" in refusal.message


def test_a_truncated_png_is_a_400_saying_it_is_unreadable():
    refusal = _refusal(_encode(SMALL, "PNG")[:60])
    assert refusal.status == 400 and refusal.code == "BAD_IMAGE" and "无法读取图片" in refusal.message


@pytest.mark.parametrize("size", [(30_000, 30_000), (65_535, 65_535)], ids=["30000-square", "65535-square"])
def test_a_tiny_png_declaring_a_huge_canvas_is_refused_as_too_large(size: tuple[int, int]):
    data = _png_header_only(*size)
    assert len(data) < 100
    refusal = _refusal(data)
    assert refusal.status == 400 and refusal.code == "IMAGE_TOO_LARGE" and "1600 万像素" in refusal.message


def test_a_png_just_over_the_budget_is_refused_by_its_declared_size_before_any_pixel_is_decoded():
    # 4001 x 4000 carries no pixel data: had it been decoded, the answer would be BAD_IMAGE (truncated).
    refusal = _refusal(_png_header_only(4001, 4000))
    assert (MAX_PIXELS < 4001 * 4000) and refusal.code == "IMAGE_TOO_LARGE"
    assert "4001×4000" in refusal.message


def test_a_long_thin_png_within_the_pixel_count_is_refused_by_its_side():
    refusal = _refusal(_png_header_only(MAX_SIDE + 1, 100))
    assert refusal.code == "IMAGE_TOO_LARGE" and str(MAX_SIDE) in refusal.message


def test_a_png_at_the_budget_is_decoded_not_refused():
    # Same empty header at exactly the budget: it reaches the decoder (and is found truncated).
    assert MAX_PIXELS == 4000 * 4000
    assert _refusal(_png_header_only(4000, 4000)).code == "BAD_IMAGE"


def test_a_jpeg_over_the_budget_is_refused_by_rule():
    refusal = _refusal(_photo((5000, 4000), "JPEG"))
    assert refusal.status == 400 and refusal.code == "IMAGE_TOO_LARGE" and "5000×4000" in refusal.message


@pytest.mark.parametrize(("size", "scale"), [((1000, 800), 1), ((4032, 3024), 1), ((4000, 4000), 2),
                                             ((4608, 3456), 1), ((8000, 8000), 4), ((16000, 16000), 8),
                                             ((64000, 64000), 8)])
def test_a_jpeg_is_drafted_down_by_the_largest_power_of_two_that_keeps_what_zbar_needs(
        size: tuple[int, int], scale: int):
    assert draft_scale(size) == scale
    assert scale == 1 or (size[0] // scale) * (size[1] // scale) >= DECODER_PIXELS


def test_a_large_jpeg_is_decoded_at_reduced_size_straight_to_grey():
    prepared = prepare(_photo((4000, 4000), "JPEG"))
    assert prepared.declared == (4000, 4000)
    assert prepared.decoded == (2000, 2000)  # libjpeg's DCT scaling: the full size was never in memory
    assert prepared.image.mode == "L"


def test_a_large_png_is_turned_grey_and_reduced_to_what_zbar_needs():
    prepared = prepare(_photo((4000, 4000), "PNG"))
    assert prepared.decoded == (4000, 4000)
    assert prepared.image.mode == "L"
    assert prepared.image.width * prepared.image.height <= DECODER_PIXELS


def test_a_small_photo_is_not_enlarged():
    prepared = prepare(_photo((800, 600), "PNG"))
    assert prepared.image.size == (800, 600)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_genuine_qr_code_reads_back(fmt: str):
    data = qr_png(TEXT) if fmt == "PNG" else _encode(Image.open(io.BytesIO(qr_png(TEXT))).convert("RGB"), "JPEG")
    assert decode_qr_image(data) == TEXT


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_qr_code_in_a_photo_at_the_pixel_budget_still_reads_back(fmt: str):
    assert decode_qr_image(_photo((4000, 4000), fmt)) == TEXT


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_phone_camera_sized_photo_reads_back(fmt: str):
    assert decode_qr_image(_photo((4032, 3024), fmt)) == TEXT


def test_a_photo_without_a_code_is_a_400_saying_so():
    refusal = _refusal(_encode(Image.new("RGB", (400, 300), "white"), "PNG"))
    assert refusal.code == "NO_QR_FOUND" and "没有找到可识别的二维码" in refusal.message


def test_decoding_leaves_pillows_process_wide_bomb_setting_alone():
    before = Image.MAX_IMAGE_PIXELS
    decode_qr_image(_photo((1000, 1000), "PNG"))
    _refusal(_png_header_only(30_000, 30_000))
    assert before == Image.MAX_IMAGE_PIXELS


def _held(gate: DecodeGate) -> tuple[threading.Event, threading.Thread]:
    """A thread holding one slot of `gate` until the returned event is set."""
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.slot():
            entered.set()
            release.wait()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert entered.wait(30)
    return release, thread


def test_a_request_beyond_the_waiting_room_is_a_503_with_retry_after_without_waiting():
    gate = DecodeGate(slots=1, max_waiting=0, wait_s=60)
    release, holder = _held(gate)
    # The holder lets go a moment after our attempt starts: had the attempt waited, it would get the slot.
    threading.Timer(0.5, release.set).start()
    with pytest.raises(ApiError) as caught, gate.slot():
        pass
    holder.join(30)
    refusal = caught.value
    assert refusal.status == 503 and refusal.code == "IMAGE_DECODER_BUSY" and "繁忙" in refusal.message
    assert refusal.headers is not None and int(refusal.headers["Retry-After"]) >= 1


def test_a_waiting_request_gets_the_slot_when_it_is_freed():
    gate = DecodeGate(slots=1, max_waiting=1, wait_s=60)
    release, holder = _held(gate)
    threading.Timer(0.2, release.set).start()
    with gate.slot():
        got_it = True
    holder.join(30)
    assert got_it and gate.waiting == 0


def test_a_waiting_request_is_a_503_when_its_wait_runs_out():
    gate = DecodeGate(slots=1, max_waiting=1, wait_s=0.05)
    release, holder = _held(gate)
    try:
        with pytest.raises(ApiError) as caught, gate.slot():
            pass
    finally:
        release.set()
        holder.join(30)
    assert caught.value.status == 503 and gate.waiting == 0


def test_the_gate_never_admits_more_decodes_than_its_slots():
    gate = DecodeGate(slots=2, max_waiting=16, wait_s=60)
    lock, inside, most = threading.Lock(), [0], [0]

    def decode() -> None:
        with gate.slot():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            threading.Event().wait(0.05)  # long enough for every other thread to pile in if it could
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=decode) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert 1 <= most[0] <= 2


def test_a_refused_format_does_not_take_a_decode_slot():
    gate = DecodeGate(slots=1, max_waiting=0, wait_s=0)
    release, holder = _held(gate)
    try:
        with pytest.raises(ApiError) as caught:
            decode_qr_image(EPS, gate=gate)
    finally:
        release.set()
        holder.join(30)
    assert caught.value.code == "UNSUPPORTED_IMAGE_FORMAT"  # not IMAGE_DECODER_BUSY


def test_glibc_malloc_trim_is_found_to_return_memory_after_large_decodes():
    assert photo_intake._MALLOC_TRIM is not None
    photo_intake.release_memory()
