"""RFC 8785 JSON Canonicalisation Scheme (JCS): one byte string per JSON value.

Issuer and verifier hash certificate field values; they only agree on the hash if they agree
on the bytes. JCS fixes the bytes (sorted keys by UTF-16 code units, no whitespace, ECMAScript
number formatting, minimal string escaping), so a value re-serialised by any other JCS
implementation (Java, JS, Go) yields the same hash.

The work is done by the `rfc8785` package. We walk the value first so that anything JSON cannot
represent exactly is refused with a message that names *where* the bad value sits
(`$.claims.scores[2]`), instead of being silently coerced: a certificate hashed over a coerced
value would never verify elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from json.encoder import encode_basestring as _encode_str  # type: ignore[attr-defined]
from typing import Final

import rfc8785

__all__ = ["MAX_DEPTH", "MAX_SAFE_INTEGER", "CanonicalisationError", "canonicalize"]

#: Largest integer JCS can carry exactly (JSON numbers are IEEE 754 doubles). Larger numbers
#: (ints and floats alike), e.g. an 18-digit ID number stored as a number, must be strings.
MAX_SAFE_INTEGER: Final[int] = 2**53 - 1

#: Nesting limit, far above any certificate document, well below Python's recursion limit.
MAX_DEPTH: Final[int] = 64


class CanonicalisationError(ValueError):
    """The value cannot be represented as canonical JSON (RFC 8785)."""


def canonicalize(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 encoding of a JSON value.

    Accepted: None, bool, int and finite float within +-(2**53 - 1), str (valid Unicode, no lone
    surrogates), list/tuple of accepted values, Mapping with str keys and accepted values.
    Everything else (NaN/infinity, bytes, Decimal, datetime, sets, non-str keys, ...) raises
    `CanonicalisationError` naming the offending location.
    """
    # Fast path for the common scalar field values: nothing to normalise or walk.
    kind = type(value)
    if kind is str:
        # The C string encoder of `json` escapes exactly as RFC 8785 does (quote, backslash,
        # \b \f \n \r \t, other controls as lower-case \u00xx, the rest as UTF-8) and is ~10x
        # faster; a lone surrogate fails the UTF-8 step and gets rfc8785's refusal instead.
        try:
            return _encode_str(value).encode("utf-8")  # type: ignore[no-any-return]
        except UnicodeEncodeError:
            return _dumps(value, "$")
    if kind is bool or value is None:
        return _dumps(value, "$")
    return _dumps(_normalise(value, "$", 0), "$")


def _dumps(value: object, where: str) -> bytes:
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except rfc8785.CanonicalizationError as exc:  # e.g. lone surrogates inside a str
        raise CanonicalisationError(f"{where}: {exc}") from exc


def _normalise(value: object, where: str, depth: int) -> object:
    """Validate `value` and turn Mappings into dicts and tuples into lists (what rfc8785 takes)."""
    if depth > MAX_DEPTH:
        raise CanonicalisationError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalisationError(
                f"{where}: integer {value} is outside the exact JSON range +-(2**53 - 1); "
                "encode it as a string"
            )
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise CanonicalisationError(f"{where}: {value!r} is not representable in JSON")
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            # JCS prints e.g. 1e16 as "10000000000000000", which JSON parsers (Python's among
            # them) read back as an integer beyond the exact range: the value would not survive
            # a store/reload. I-JSON (RFC 7493) draws the same line.
            raise CanonicalisationError(
                f"{where}: number {value!r} is outside the exact JSON range +-(2**53 - 1); "
                "encode it as a string"
            )
        return float(value)
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalisationError(
                    f"{where}: object keys must be str, got {type(key).__name__} {key!r}"
                )
            out[key] = _normalise(item, f"{where}.{key}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_normalise(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise CanonicalisationError(
        f"{where}: {type(value).__name__} is not a JSON value"
        + (" (encode bytes as hex or base64 strings)" if isinstance(value, (bytes, bytearray)) else "")
    )
