"""The one JSON parser for input from outside: request bodies, bulk files, CSV cells, chain replies.

Why not `json.loads`: the standard library's parser recurses in C once per nesting level, so a
body of 100,000 nested brackets overflowed the C stack and killed the API process (issue 13),
and it turns 1e999999 into infinity and a 100,000-digit integer into a ValueError from
Python's int-string conversion limit that no caller expects. This parser

* parses with orjson, which stops at 1,024 levels by itself and never recurses deeper;
* refuses anything nested deeper than `MAX_DEPTH` (32) levels — a certificate document is a
  handful of levels deep, a request around it two more — found by an iterative walk of what
  orjson read, so nothing recursive downstream (validation, canonical hashing, pydantic) ever
  sees more;
* refuses numbers out of range (1e999999, or integers of hundreds of digits) instead of
  turning them into infinity;
* keeps the standard library's exact values: orjson reads an integer beyond 64 bits as an
  inexact float, so a text where one may be is read again by the standard library (safe then:
  its depth is known to be small).

Every refusal is a `JsonInputError` (a ValueError) whose `message` says in Chinese what is
wrong and `code` names it for programs.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar, Final

import orjson

__all__ = ["MAX_DEPTH", "JsonInputError", "JsonNumberOutOfRange", "JsonSyntaxError", "JsonTooDeep", "parse_json"]

#: Containers inside containers: 32 is several times the deepest document a department sends.
MAX_DEPTH: Final[int] = 32
#: orjson reads integer tokens in [-2**63, 2**64) exactly; outside that range it gives a float.
_EXACT_INT_BOUND: Final[float] = float(2**63)
_ORJSON_DEPTH: Final[str] = "depth limit exceeded"
_ORJSON_INFINITE: Final[str] = "number is infinity"


class JsonInputError(ValueError):
    """A JSON text refused; `message` (Chinese) for people, `message_en` for logs, `code` for programs."""

    code: ClassVar[str] = "INVALID_JSON"

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en


class JsonSyntaxError(JsonInputError):
    code = "INVALID_JSON"

    def __init__(self, line: int, column: int, reason: str) -> None:
        super().__init__(f"不是有效的 JSON：第 {line} 行第 {column} 列（{reason}）",
                         f"invalid JSON at line {line} column {column}: {reason}")
        self.line = line
        self.column = column
        self.reason = reason


class JsonTooDeep(JsonInputError):
    code = "JSON_TOO_DEEP"


class JsonNumberOutOfRange(JsonInputError):
    code = "JSON_NUMBER_OUT_OF_RANGE"


def _too_deep(max_depth: int) -> JsonTooDeep:
    return JsonTooDeep(f"JSON 嵌套超过 {max_depth} 层，不予处理（正常的请求和证照数据只有几层）",
                       f"JSON nested deeper than {max_depth} levels")


def _out_of_range() -> JsonNumberOutOfRange:
    return JsonNumberOutOfRange("JSON 中有超出范围的数字（过大，或位数过多）",
                                "a number is out of range (too large or too many digits)")


def parse_json(data: bytes | bytearray | memoryview | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of a JSON text; JsonInputError if it is not JSON, too deep or holds a number out of range."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if exc.msg.startswith(_ORJSON_DEPTH):
            raise _too_deep(max_depth) from None
        if exc.msg.startswith(_ORJSON_INFINITE):
            raise _out_of_range() from None
        raise JsonSyntaxError(exc.lineno, exc.colno, exc.msg) from None
    if _walk(value, max_depth):
        return _exact(data)
    return value


def _walk(value: Any, max_depth: int) -> bool:
    """Raise JsonTooDeep past `max_depth`; True if a float may stand for an integer orjson could not hold.

    Level by level, without recursion. Per container one C-level pass (`set(map(type, ...))`)
    tells whether it holds containers or floats at all, so scalars cost next to nothing; a
    request's body is a container or two, a bulk file's a few per document.
    """
    if type(value) is not dict and type(value) is not list:
        return type(value) is float and _inexact(value)
    inexact = False
    level: list[Any] = [value]
    depth = 1
    while level:
        if depth > max_depth:
            raise _too_deep(max_depth)
        below: list[Any] = []
        for node in level:
            items = node.values() if type(node) is dict else node
            kinds = set(map(type, items))
            if dict in kinds or list in kinds:
                below.extend(item for item in items if type(item) is dict or type(item) is list)
            if float in kinds and not inexact:
                inexact = any(type(item) is float and _inexact(item) for item in items)
        level = below
        depth += 1
    return inexact


def _inexact(number: float) -> bool:
    return abs(number) >= _EXACT_INT_BOUND and number.is_integer()


def _refuse_constant(name: str) -> Any:
    raise JsonInputError(f"不是有效的 JSON：{name} 不是 JSON 的数值", f"invalid JSON: {name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _out_of_range()
    return number


def _exact(data: bytes | bytearray | memoryview | str) -> Any:
    """The standard library's reading (integers exact); the depth is already known to be small."""
    text = bytes(data) if isinstance(data, memoryview | bytearray) else data
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except JsonInputError:
        raise
    except json.JSONDecodeError as exc:  # not expected: orjson read it; refused the same way all the same
        raise JsonSyntaxError(exc.lineno, exc.colno, exc.msg) from None
    except ValueError:  # Python's int-string conversion limit (thousands of digits)
        raise _out_of_range() from None
