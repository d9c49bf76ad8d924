"""Decoder bombs in presentation codes (verifier/codec.py): zlib, CBOR depth and lengths, Base45
garbage and oversize. Sent as a window sends them (the fast lane, a verifier's token), each must
come back as MALFORMED (400) saying why — or 422 past the request's own length limit — in time,
with the server alive and within its memory bound afterwards (conftest.py).
"""

from __future__ import annotations

import zlib

import cbor2
import pytest

from tests.adversarial.server import Served
from verifier.codec import MAX_DECOMPRESSED_BYTES, MAX_TEXT_CHARS, PREFIX, _b45encode


def _code(cbor_bytes: bytes, level: int = 9) -> str:
    return PREFIX + _b45encode(zlib.compress(cbor_bytes, level))


def _raw(compressed: bytes) -> str:
    return PREFIX + _b45encode(compressed)


_FF8 = b"\xff" * 8
BOMBS: dict[str, str] = {
    # zlib
    "zlib-1MB-of-zeros": _code(b"\x00" * 1_000_000),
    "zlib-just-over-the-cap": _code(b"\x00" * (MAX_DECOMPRESSED_BYTES + 1)),
    "zlib-truncated": _raw(zlib.compress(b"\x00" * 5000)[:-6]),
    "zlib-trailing-bytes": _raw(zlib.compress(cbor2.dumps([1])) + b"garbage"),
    "zlib-raw-deflate": _raw(zlib.compressobj(9, zlib.DEFLATED, -15).compress(b"\x00" * 100_000)),
    "zlib-gzip-wrapper": _raw(zlib.compressobj(9, zlib.DEFLATED, 31).compress(b"\x00" * 100_000)),
    "zlib-preset-dictionary": _raw(zlib.compressobj(9, zdict=b"huren" * 10).compress(b"\x00" * 100)),
    # CBOR nesting
    "cbor-8000-nested-arrays": _code(b"\x81" * 8000 + b"\x00"),
    "cbor-4000-nested-maps": _code(b"\xa1\x00" * 4000 + b"\x00"),
    "cbor-nested-tags": _code(b"\xd8\x18" * 3000 + b"\x00"),
    "cbor-indefinite-nesting": _code(b"\x9f" * 4000 + b"\xff" * 4000),
    # CBOR lengths that claim more than there is
    "cbor-array-of-2^32-items": _code(b"\x9a\xff\xff\xff\xff"),
    "cbor-array-of-2^64-items": _code(b"\x9b" + _FF8),
    "cbor-bytes-of-2^63": _code(b"\x5b\x7f" + b"\xff" * 7),
    "cbor-text-of-2^63": _code(b"\x7b\x7f" + b"\xff" * 7),
    "cbor-map-of-2^64-pairs": _code(b"\xbb" + _FF8),
    "cbor-8000-item-array": _code(b"\x99\x1f\x40" + b"\x00" * 8000),
    "cbor-huge-bignum": _code(b"\xc2\x59\x1f\x00" + b"\xff" * 7936),
    "cbor-14-items-of-nonsense": _code(cbor2.dumps([10**30, [None] * 500, b"", b"", b"", b"", b"", b"", b"",
                                                    -1, 0, b"", "x" * 300, None])),
    # Base45
    "base45-lowercase": PREFIX + "abc" * 100,
    "base45-outside-the-alphabet": PREFIX + "ABC#~" * 50,
    "base45-length-mod-3-is-1": PREFIX + "A" * 3001,
    "base45-group-over-65535": PREFIX + "ZZZ" * 300,
    "base45-non-ascii": PREFIX + "证照" * 500,
    "base45-nul-bytes": PREFIX + "\x00" * 1000,
    "base45-just-over-the-limit": PREFIX + "A" * (MAX_TEXT_CHARS - len(PREFIX) + 3),
    "no-prefix": "A" * 4000,
    "unknown-version-prefix": "HR9:" + "A" * 3000,
}
#: Past VerifyRequest's own max_length (8,192): refused by the request model, 422.
OVERSIZE = {"base45-8193": PREFIX + "A" * 8190, "base45-1MB": PREFIX + "A" * 1_000_000}


@pytest.mark.parametrize("text", list(BOMBS.values()), ids=list(BOMBS))
def test_a_decoder_bomb_is_malformed_with_the_reason(served: Served, text: str):
    with served.client("verifier") as c:
        reply = c.post("/v1/verify", json={"presentation": text})
    assert reply.status_code == 400, reply.text[:300]
    body = reply.json()
    assert body["verdict"] == "MALFORMED"
    assert body["error"]["code"] == "MALFORMED_PRESENTATION" and "出示码" in body["error"]["message"]
    assert body["reason"]


@pytest.mark.parametrize("text", list(OVERSIZE.values()), ids=list(OVERSIZE))
def test_a_code_past_the_request_limit_is_a_422_naming_the_field(served: Served, text: str):
    with served.client("verifier") as c:
        reply = c.post("/v1/verify", json={"presentation": text})
    assert reply.status_code == 422, reply.text[:300]
    assert "presentation" in reply.json()["error"]["message"]


@pytest.mark.parametrize("text", [BOMBS["zlib-1MB-of-zeros"], BOMBS["cbor-8000-nested-arrays"],
                                  BOMBS["cbor-array-of-2^64-items"]], ids=["zlib", "cbor-depth", "cbor-length"])
def test_a_bomb_without_a_token_is_refused_before_it_is_decoded(served: Served, text: str):
    with served.client() as c:
        reply = c.post("/v1/verify", json={"presentation": text})
    assert reply.status_code == 401
    assert reply.json()["error"]["message"]
