"""QR images of presentation codes and reference URLs (error correction M, smallest version).

Mode matters more than anything else here. An "HR1:" text uses only Base45 characters, all of
which are in the QR *alphanumeric* set (0-9 A-Z space $ % * + - . / :), and alphanumeric mode
packs 2 characters into 11 bits. We hand the qrcode library one `QRData` segment in
`MODE_ALPHA_NUM` explicitly, rather than letting its optimiser split the text into
numeric/alphanumeric runs, so the whole code is one alphanumeric segment (each extra segment
costs a header). Anything else (a reference URL with lower-case letters) goes as one
byte-mode segment.

Capacity at error correction M, alphanumeric characters (measured with qrcode 8.2):
version 23 -> 1,248, 24 -> 1,326, 25 -> 1,451, 26 -> 1,542, 27 -> 1,637.

Measured presentation sizes (tests/unit/verifier/test_verifier_qr.py; batch of 1,024
certificates = 10 batch-proof hashes; purpose "办理食品经营许可变更" (10 characters); 12-byte
nonce; "bytes" = the zlib payload inside the Base45):

    certificate    disclosed                          chars   bytes  version (M)
    12 fields      7 always-disclosed only             1,303    866   24
    12 fields      7 always + 4 (11 of 12), unbound    1,411    938   25   <- requirement
    12 fields      7 always + 4, holder-bound          1,492    992   26
    17 fields      7 always + 4 (11 of 17), unbound    1,651  1,098   28
    17 fields      7 always + 4, holder-bound          1,732  1,152   28

Every presentation must disclose the 7 ALWAYS_DISCLOSED fields (common/document.py), each
with its 16-byte salt, so "4 fields" always means 11 disclosed. Where the bytes go in the
requirement case: 11 salts 176, 13 hashes 416 (2 roots, 10 batch proof, 1 multiproof),
issuer signature 65, values and paths ~230, the rest ~50. Each hidden field scattered in
the tree adds up to 32 bytes (48 characters), a holder binding about 100 bytes (signature +
disclosed address), a 10x larger batch about 3.3 hashes (160 characters).

Version 25 is about the limit of what cheap phone cameras read reliably; the reference form
(`codec.make_reference`) is the fallback for anything larger or for weak scanners.
"""

from __future__ import annotations

import io
from typing import Final

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

__all__ = ["ALPHANUMERIC", "qr_code", "qr_png", "qr_svg", "qr_version"]

#: The QR alphanumeric character set (ISO/IEC 18004), identical to the Base45 alphabet.
ALPHANUMERIC: Final[frozenset[str]] = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
#: The largest QR version (40) holds 4,296 alphanumeric characters at level L, fewer at M.
_MAX_TEXT: Final[int] = 4296


def _segment(text: str) -> QRData:
    if not isinstance(text, str) or not text:
        raise ValueError("QR text must be a non-empty str")
    if len(text) > _MAX_TEXT:
        raise ValueError(f"text of {len(text)} characters does not fit any QR code")
    if all(c in ALPHANUMERIC for c in text):
        return QRData(text.encode("ascii"), mode=MODE_ALPHA_NUM, check_data=False)
    return QRData(text.encode("utf-8"), mode=MODE_8BIT_BYTE, check_data=False)


def qr_code(text: str, *, box_size: int = 4, border: int = 4) -> qrcode.QRCode:
    """A laid-out QRCode at error correction M in the smallest version that fits.

    ValueError if the text does not fit version 40 at M.
    """
    code = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(_segment(text))
    try:
        code.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError) as exc:
        raise ValueError(f"text of {len(text)} characters does not fit a QR code at level M") from exc
    return code


def qr_version(text: str) -> int:
    """The QR version (1-40) `text` needs at error correction M."""
    return int(qr_code(text).version)


def qr_png(text: str, *, box_size: int = 4, border: int = 4) -> bytes:
    """PNG bytes of the QR code (black on white, 4-module quiet zone)."""
    image = qr_code(text, box_size=box_size, border=border).make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def qr_svg(text: str, *, box_size: int = 10, border: int = 4) -> str:
    """SVG text of the QR code (a single path; scales without blur, suits high-DPI and elder mode)."""
    image = qr_code(text, box_size=box_size, border=border).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")
