"""JSON in and out of the API at C speed (orjson), with the standard library's exact semantics kept.

A verdict is ~5 KB of JSON with Chinese text; `json.dumps` spent more time on it than the
engine spent checking the certificate. orjson writes the same compact UTF-8 form. Values it
refuses (integers beyond 64 bits, which a hostile presentation can carry as disclosed
values) fall back to the standard library, so nothing that encoded before fails now.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as Starlette's JSONResponse renders it.

    orjson writes NaN and Infinity as null where the standard library raises; no answer holds
    them (the presentation codec refuses non-finite numbers before anything is verified).
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits, a str subclass orjson won't take, ...
        return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8")


def load_json(data: bytes) -> Any:
    """Parse a JSON body; ValueError (orjson.JSONDecodeError is one) if it is not valid JSON."""
    return orjson.loads(data)


class FastJSONResponse(JSONResponse):
    """JSONResponse rendered by `dump_json`."""

    def render(self, content: Any) -> bytes:
        return dump_json(content)
