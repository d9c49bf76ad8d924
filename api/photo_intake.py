"""Photo intake for QR verification: which uploads are decoded, how many pixels, how many at once.

One module owns these rules because two doors take photos — `POST /v1/verify/image` and the
clerk page's upload — and an attacker needs only the laxer one. Every decision is made from
the file's first bytes and its declared size, before a single pixel is decoded, because a
Pillow decode running in a thread cannot be interrupted: its cost has to be bounded up front.

Formats. A QR photo comes from a phone camera (JPEG) or a screenshot (PNG). Nothing else is
decoded. Pillow opens dozens of formats and hands EPS/PS/PDF to the system's Ghostscript (a
PostScript interpreter: `{} loop` never ends), so the format is decided twice: by the magic
bytes here, before Pillow sees the file (an EPS named qr.png is refused without Pillow ever
parsing it), and then by `Image.open(..., formats=[that one])`, so Pillow cannot pick another
plugin. WebP is not taken: phones do not save camera photos as WebP, and libwebp's decoder
has had a heap overflow exploited in the wild (CVE-2023-4863) — a door not worth opening.
The names of refused formats are sniffed from a small signature table only to tell the clerk
what they sent; no library is needed to recognise two signatures.

Pixel budget. `MAX_PIXELS` = 16 Mpx (and at most `MAX_SIDE` per side): a phone's ordinary
photo is 12 Mpx (4032 x 3024), older 16 Mpx sensors give 4608 x 3456; a 48/50 Mpx "high
resolution" mode photo is refused with advice to use the ordinary mode (it is also well over
the 2 MB body limit as a JPEG). It is checked against `image.size` after the header is read
and before `load()`: Pillow's own bomb check uses a process-wide setting, and changing that
per request is a race between threads. Worst case per decode: an RGB(A) PNG of 16 Mpx is
held at 4 bytes a pixel, 64 MB, plus its 16 MB grey copy.

Reduction. zbar needs about 3 pixels a module; our codes are at most version ~28 (129 modules
+ quiet zone), so ~400 pixels across the code. `DECODER_PIXELS` = 4 Mpx (2309 x 1732 at 4:3)
keeps that for a code filling a fifth of the frame. A JPEG is decoded straight to grey, at
1/2 scale (`Image.draft`, libjpeg's DCT scaling; 1/4 and 1/8 would follow the same rule for
larger photos) when the result stays at or above that size, so a 16 Mpx JPEG is never held
at full size; a PNG is decoded whole (the format allows nothing else), turned grey, then
reduced with a box filter.

Concurrency. Decodes are bounded per process by `DecodeGate`: one slot per core (a decode is
CPU bound; Pillow and zbar release the GIL), at most `MAX_WAITING` waiting, each for at most
`WAIT_S`; beyond that a 503 with Retry-After. The bound on waiters also bounds the worker
threads a burst of uploads can hold (the server's thread pool serves the wallet and pages
too). With `huren serve --workers N` each worker process has its own gate.

Memory afterwards. Large blocks freed by one thread stay in glibc's per-thread arenas (the
mmap threshold rises to the size of the first large block freed), so after a burst the
resident size stayed high (issue 13: 1.37 GB after eight 40 Mpx PNGs). After a decode of
more than `TRIM_AFTER_PIXELS`, `malloc_trim(0)` hands the free pages back to the system.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from PIL import Image, UnidentifiedImageError

from api.errors import ApiError

__all__ = ["ACCEPTED", "DECODER_PIXELS", "MAX_PIXELS", "MAX_SIDE", "DecodeGate", "Prepared", "decode_qr_image",
           "draft_scale", "prepare", "sniff_format"]

#: Magic bytes of the formats decoded, by Pillow format name.
ACCEPTED: Final[dict[str, bytes]] = {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff"}
MAX_PIXELS: Final[int] = 16_000_000
MAX_SIDE: Final[int] = 8192
DECODER_PIXELS: Final[int] = 4_000_000
TRIM_AFTER_PIXELS: Final[int] = 1_000_000
MAX_WAITING: Final[int] = 12
WAIT_S: Final[float] = 10.0
RETRY_AFTER_S: Final[int] = 5

ACCEPTED_WORDS: Final[str] = "只接受 PNG 或 JPEG 格式的二维码照片"

#: Signatures of formats people (or attackers) send instead, to name them in the refusal.
_KNOWN: Final[tuple[tuple[int, bytes, str], ...]] = (
    (0, b"%!PS", "PostScript/EPS"), (0, b"\xc5\xd0\xd3\xc6", "EPS"), (0, b"%PDF", "PDF"),
    (0, b"GIF87a", "GIF"), (0, b"GIF89a", "GIF"), (0, b"II*\x00", "TIFF"), (0, b"MM\x00*", "TIFF"),
    (0, b"BM", "BMP"), (8, b"WEBP", "WebP"), (4, b"ftypheic", "HEIC"), (4, b"ftypheix", "HEIC"),
    (4, b"ftypmif1", "HEIF"), (4, b"ftypavif", "AVIF"), (0, b"\x00\x00\x01\x00", "ICO"),
)


def _looks_like(data: bytes) -> str:
    for offset, magic, name in _KNOWN:
        if data[offset:offset + len(magic)] == magic:
            return name
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")):
        return "SVG/XML"
    return "未知格式"


def sniff_format(data: bytes) -> str:
    """The Pillow format name of an accepted photo, from its magic bytes; ApiError 415 otherwise."""
    if not data:
        raise ApiError(400, "EMPTY_IMAGE", "上传的图片是空的 (empty image)", "请重新拍照或选择图片。")
    for name, magic in ACCEPTED.items():
        if data.startswith(magic):
            return name
    kind = _looks_like(data)
    hint = "请用手机拍照（JPEG）或截图（PNG）后上传。"
    if kind in ("HEIC", "HEIF"):
        hint = "苹果手机照片请在“设置—相机—格式”中选“兼容性最佳”，或截图后上传。"
    raise ApiError(415, "UNSUPPORTED_IMAGE_FORMAT",
                   f"{ACCEPTED_WORDS}，收到的文件是 {kind} (unsupported image format: only PNG and JPEG)", hint)


def draft_scale(size: tuple[int, int]) -> int:
    """The JPEG DCT reduction (1, 2, 4 or 8) that keeps at least DECODER_PIXELS of a photo this size."""
    pixels = size[0] * size[1]
    scale = 1
    while scale < 8 and pixels // ((scale * 2) ** 2) >= DECODER_PIXELS:
        scale *= 2
    return scale


def _too_large(size_zh: str, size_en: str) -> ApiError:
    return ApiError(400, "IMAGE_TOO_LARGE",
                    f"图片像素过多：{size_zh}，上限 {MAX_PIXELS // 10_000} 万像素、单边 {MAX_SIDE} 像素 "
                    f"(image too large: {size_en})",
                    "请用手机的普通拍照模式（不要用高像素模式），或截取二维码部分后再上传。")


def _unreadable(why: str) -> ApiError:
    return ApiError(400, "BAD_IMAGE", f"无法读取图片：文件损坏或格式不支持 (unreadable image: {why})",
                    "请上传 PNG 或 JPEG 照片。")


@dataclass
class Prepared:
    """A photo ready for the QR decoder: grey, at most DECODER_PIXELS; the sizes on the way, for tests and logs."""

    image: Image.Image
    declared: tuple[int, int]  # what the file's header says
    decoded: tuple[int, int]  # what was actually decoded into memory (after a JPEG draft)


def _open(data: bytes) -> Image.Image:
    fmt = sniff_format(data)
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError:  # Pillow's own, far larger limit: refused the same way as ours
        raise _too_large("超过 1 亿像素", "over Pillow's limit") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _unreadable(type(exc).__name__) from None
    if image.format != fmt:  # a plugin registered under another name cannot slip in
        image.close()
        raise _unreadable(f"format {image.format}")
    width, height = image.size
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        image.close()
        raise _too_large(f"{width}×{height}", f"{width}x{height}")
    return image


def prepare(data: bytes) -> Prepared:
    """Decode an uploaded photo for zbar within the rules above; ApiError (4xx) naming what is wrong."""
    image = _open(data)
    declared = image.size
    try:
        if image.format == "JPEG":
            scale = draft_scale(declared)
            image.draft("L", (declared[0] // scale, declared[1] // scale))
        image.load()
        decoded = image.size
        gray = image if image.mode == "L" else image.convert("L")
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        image.close()
        raise _unreadable(f"{type(exc).__name__} ({image.mode})") from None
    if gray is not image:
        image.close()  # frees the decoded colour pixels now, not when the garbage collector runs
    pixels = gray.width * gray.height
    if pixels > DECODER_PIXELS:
        factor = math.sqrt(DECODER_PIXELS / pixels)
        reduced = gray.resize((max(1, int(gray.width * factor)), max(1, int(gray.height * factor))),
                              Image.Resampling.BOX)
        gray.close()
        gray = reduced
    return Prepared(gray, declared, decoded)


def _host_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class DecodeGate:
    """At most `slots` decodes at once, at most `max_waiting` waiting, each for at most `wait_s`.

    Why a waiting bound as well as a time-out: every waiter holds a thread of the server's pool,
    which the wallet and the pages need too; a burst of uploads must not take them all.
    """

    def __init__(self, slots: int, max_waiting: int = MAX_WAITING, wait_s: float = WAIT_S) -> None:
        if slots < 1 or max_waiting < 0 or wait_s < 0:
            raise ValueError("a decode gate needs at least one slot and non-negative bounds")
        self.slots = slots
        self.max_waiting = max_waiting
        self.wait_s = wait_s
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a decode slot for the `with` body; ApiError 503 (Retry-After) when none comes in time."""
        if not self._free.acquire(blocking=False):
            with self._lock:
                queued = self._waiting < self.max_waiting
                if queued:
                    self._waiting += 1
            got = False
            if queued:
                try:
                    got = self._free.acquire(timeout=self.wait_s)
                finally:
                    with self._lock:
                        self._waiting -= 1
            if not got:
                raise ApiError(503, "IMAGE_DECODER_BUSY",
                               "图片识别繁忙，请稍后再试 (image decoder busy)",
                               f"请 {RETRY_AFTER_S} 秒后重新上传；也可以直接扫码或粘贴出示码文本。",
                               headers={"Retry-After": str(RETRY_AFTER_S)})
        try:
            yield
        finally:
            self._free.release()


#: The process's gate: one decode per core (a decode keeps one core busy).
DECODES: Final[DecodeGate] = DecodeGate(_host_cores())


def _load_malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """glibc's malloc_trim, or None (musl, macOS: nothing to call)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _load_malloc_trim()


def release_memory() -> None:
    """Give freed heap pages back to the system (glibc keeps them in its arenas otherwise)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def decode_qr_image(data: bytes, gate: DecodeGate = DECODES) -> str:
    """The text of the QR code in an uploaded photo; ApiError (400/415/503) with the reason otherwise."""
    from pyzbar.pyzbar import ZBarSymbol
    from pyzbar.pyzbar import decode as zbar_decode

    sniff_format(data)  # refuse a wrong format before waiting for a slot
    with gate.slot():
        prepared = prepare(data)
        try:
            found = zbar_decode(prepared.image, symbols=[ZBarSymbol.QRCODE])
        finally:
            prepared.image.close()
            if prepared.decoded[0] * prepared.decoded[1] > TRIM_AFTER_PIXELS:
                release_memory()
    if not found:
        raise ApiError(400, "NO_QR_FOUND", "图片中没有找到可识别的二维码 (no QR code found in the image)",
                       "请让二维码完整、清晰地出现在画面中，避免反光，再拍一次。")
    try:
        return found[0].data.decode("ascii")
    except UnicodeDecodeError:
        raise ApiError(400, "NOT_A_PRESENTATION", "二维码内容不是本系统的出示码 (QR content is not a presentation)",
                       "请扫描持证人“我的证照”页面上的出示码。") from None
