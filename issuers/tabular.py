"""Bulk input files: CSV and JSON Lines rows -> certificate documents, with row numbers.

CSV: the header row names document paths with dots (`holder.name`, `claims.birthDate`,
`validUntil`, ...; the `issuer.*` columns may be left out: the service fills in its own
department). Cells are text, so each is converted to the JSON type the schema gives its path
(the envelope schema, and the claims schema of the row's `type`): integers and numbers,
`true`/`false`, JSON text for arrays and objects. An empty cell means "not given" — except
where the schema allows null (`validUntil` empty = 长期, no end date). A cell that does not
convert is kept as text, so validation reports it with the field and the rule.

JSON Lines: one JSON object per line; blank lines are skipped.

All JSON (files, lines, cells) is read by `common.json_input.parse_json`: nesting deeper than
its limit or a number out of range is refused with the line that holds it, never handed to a
recursive parser (a file of deeply nested brackets crashed the standard library's: issue 13).

Every row carries its line number in the file (CSV: the header is line 1), which is what
error reports show the clerk. A row that cannot even be read becomes a row with errors and
no document; it never stops the rest of the file from being read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from common.document import unflatten
from common.json_input import JsonInputError, JsonSyntaxError, parse_json
from issuers.catalogue.catalogue import Catalogue, default_catalogue, document_schema, leaf_paths
from issuers.model import FieldError

__all__ = ["InputRow", "read_csv", "read_input", "read_jsonl"]

FILE_RULE: Final[str] = "导入文件格式"
_INT: Final = re.compile(r"^[+-]?\d+$")
_NUMBER: Final = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True, slots=True)
class InputRow:
    """One row of an input file: its line number and the document, or why it could not be read."""

    line: int
    document: dict[str, Any] | None
    errors: tuple[FieldError, ...] = ()


def read_input(path: Path, catalogue: Catalogue | None = None) -> list[InputRow]:
    """Read a .csv, .jsonl/.ndjson, or .json (one object, or an array of objects) file."""
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8-sig")  # Excel writes a BOM into UTF-8 CSV files
    if suffix == ".csv":
        return list(read_csv(io.StringIO(text, newline=""), catalogue))
    if suffix in (".jsonl", ".ndjson"):
        return list(read_jsonl(text.splitlines()))
    if suffix == ".json":
        try:
            value = parse_json(text)
        except JsonInputError as exc:
            return [InputRow(1, None, (_file_error(exc.message, exc.message_en),))]
        items = value if isinstance(value, list) else [value]
        return [_object_row(i, item) for i, item in enumerate(items, 1)]
    raise ValueError(f"不支持的文件类型{suffix}：请使用 .csv、.jsonl 或 .json")


def read_jsonl(lines: Iterable[str]) -> Iterator[InputRow]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = parse_json(line)
        except JsonInputError as exc:
            problem = (_file_error(f"第{number}行不是有效的JSON（第{exc.column}列：{exc.reason}）",
                                   f"line {number} is not valid JSON (column {exc.column}: {exc.reason})")
                       if isinstance(exc, JsonSyntaxError) else
                       _file_error(f"第{number}行：{exc.message}", f"line {number}: {exc.message_en}"))
            yield InputRow(number, None, (problem,))
            continue
        yield _object_row(number, value)


def _object_row(number: int, value: object) -> InputRow:
    if not isinstance(value, dict):
        return InputRow(number, None, (_file_error(f"第{number}行应为一个JSON对象", "a row must be a JSON object"),))
    return InputRow(number, value)


def read_csv(stream: Iterable[str], catalogue: Catalogue | None = None) -> Iterator[InputRow]:
    catalogue = catalogue if catalogue is not None else default_catalogue()
    envelope = leaf_paths(document_schema(), "")
    reader = csv.reader(stream)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        yield _unreadable_csv(reader.line_num or 1, exc)
        return
    if len(set(header)) != len(header) or not all(header):
        dupes = sorted({h for h in header if header.count(h) > 1 or not h})
        yield InputRow(1, None, (_file_error(f"表头有重复或空白的列名：{'、'.join(dupes) or '（空）'}",
                                             "duplicate or empty column names"),))
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # past this the file's quoting is unknown: nothing after it is read
            yield _unreadable_csv(reader.line_num, exc)
            return
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield InputRow(number, None, (_file_error(
                f"第{number}行有{len(row)}列，表头有{len(header)}列", "column count differs from the header"),))
            continue
        cells = dict(zip(header, row, strict=True))
        type_code = cells.get("type", "").strip()
        schemas: Mapping[str, Mapping[str, Any]] = envelope
        if type_code in catalogue:
            schemas = {**envelope, **leaf_paths(catalogue[type_code].schema, "claims")}
        flat: dict[str, Any] = {}
        for path, cell in cells.items():
            value = _convert(cell, schemas.get(path))
            if value is not _ABSENT:
                flat[path] = value
        try:
            yield InputRow(number, unflatten(flat))
        except ValueError as exc:
            yield InputRow(number, None, (_file_error(f"第{number}行的列名相互冲突：{exc}", str(exc)),))


_ABSENT: Final = object()


def _types(schema: Mapping[str, Any] | None) -> set[str]:
    if schema is None:
        return set()
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return set(kind)
    if "const" in schema:
        const = schema["const"]
        return {"integer"} if isinstance(const, int) and not isinstance(const, bool) else {"string"}
    return set()


def _convert(cell: str, schema: Mapping[str, Any] | None) -> object:
    """Text of one CSV cell -> the JSON value its schema asks for (text when unsure)."""
    types = _types(schema)
    text = cell.strip()
    if text == "":
        return None if "null" in types else _ABSENT
    if "integer" in types and _INT.match(text):
        return int(text)
    if "number" in types and _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if types & {"array", "object"}:
        try:
            return parse_json(text)
        except JsonInputError:  # kept as text: validation names the field and the rule
            return text
    return text


def _unreadable_csv(number: int, exc: csv.Error) -> InputRow:
    """A row the csv module refused (a cell over its 128 KB field limit, a NUL byte, ...)."""
    return InputRow(number, None, (_file_error(
        f"第{number}行无法按 CSV 读取（单元格过长、含空字符或引号不配对），此行及以后的行未读取",
        f"line {number} is not readable CSV ({exc}); it and the lines after it were not read"),))


def _file_error(message: str, message_en: str) -> FieldError:
    return FieldError("", FILE_RULE, message, message_en, "unreadable_row")
