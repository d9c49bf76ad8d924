"""Bulk input files: CSV cells typed by the schema, JSON Lines, line numbers, unreadable rows."""

from __future__ import annotations

import csv
import io
import json

from common.document import flatten
from issuers.samples import TYPE_CODES, sample_document
from issuers.tabular import InputRow, read_csv, read_input, read_jsonl

DEGREE = TYPE_CODES["degree"]
BIRTH = TYPE_CODES["birth_certificate"]


def _csv(docs: list[dict]) -> str:
    rows = [flatten(d) for d in docs]
    header = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for r in rows:
        writer.writerow(["" if r.get(k) is None else r[k] for k in header])
    return out.getvalue()


def test_csv_rows_read_back_as_the_documents_they_were_written_from():
    docs = [sample_document(DEGREE, i) for i in range(3)]  # validUntil null (长期), region int
    rows = list(read_csv(io.StringIO(_csv(docs))))
    assert [r.document for r in rows] == docs


def test_csv_numbers_in_claims_follow_the_types_claims_schema():
    doc = sample_document(BIRTH, 5)
    [row] = list(read_csv(io.StringIO(_csv([doc]))))
    newborn = row.document["claims"]["newborn"]
    assert newborn == doc["claims"]["newborn"]
    assert isinstance(newborn["weightGrams"], int) and isinstance(row.document["issuer"]["region"], int)


def test_csv_rows_carry_their_line_numbers_with_the_header_as_line_one():
    text = "type,holder.name\nA,甲\n\nB,乙\n"
    assert [r.line for r in read_csv(io.StringIO(text))] == [2, 4]


def test_csv_cell_that_does_not_convert_stays_text_for_validation_to_report():
    [row] = list(read_csv(io.StringIO("issuer.region,validFrom\n北京,2025-01-01\n")))
    assert row.document == {"issuer": {"region": "北京"}, "validFrom": "2025-01-01"}


def test_csv_empty_cell_is_absent_unless_the_schema_allows_null():
    [row] = list(read_csv(io.StringIO("holder.name,validUntil,validFrom\n,,2025-01-01\n")))
    assert row.document == {"validUntil": None, "validFrom": "2025-01-01"}


def test_csv_row_with_a_wrong_number_of_cells_is_an_unreadable_row():
    rows = list(read_csv(io.StringIO("a,b\n1,2\n1,2,3\n4,5\n")))
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[1].document is None and "第3行有3列" in rows[1].errors[0].message
    assert rows[2].document == {"a": "4", "b": "5"}


def test_csv_with_duplicate_columns_is_refused_at_the_header():
    [row] = list(read_csv(io.StringIO("id,id\n1,2\n")))
    assert row.line == 1 and row.document is None and "表头有重复" in row.errors[0].message


def test_csv_with_conflicting_paths_is_an_unreadable_row():
    [row] = list(read_csv(io.StringIO("claims,claims.name\nx,y\n")))
    assert row.document is None and row.errors[0].rule == "导入文件格式"


def test_jsonl_bad_line_is_reported_and_the_rest_still_read():
    rows = list(read_jsonl(['{"id": "a"}', "{oops", "", "[1]", '{"id": "b"}']))
    assert [(r.line, r.document is not None) for r in rows] == [(1, True), (2, False), (4, False), (5, True)]
    assert "第2行不是有效的JSON" in rows[1].errors[0].message and "第4行应为一个JSON对象" in rows[2].errors[0].message


def test_input_file_type_follows_its_suffix(tmp_path):
    doc = sample_document(DEGREE, 1)
    (tmp_path / "a.jsonl").write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "a.json").write_text(json.dumps([doc, doc], ensure_ascii=False), encoding="utf-8")
    (tmp_path / "a.csv").write_text("\ufeff" + _csv([doc]), encoding="utf-8")  # Excel's BOM
    assert read_input(tmp_path / "a.jsonl") == [InputRow(1, doc)]
    assert [r.document for r in read_input(tmp_path / "a.json")] == [doc, doc]
    assert [r.document for r in read_input(tmp_path / "a.csv")] == [doc]


DEEP = "[" * 100_000 + "]" * 100_000  # nested past any parser's stack: refused by depth, never parsed recursively


def test_a_jsonl_line_nested_too_deep_is_an_unreadable_row_naming_its_line():
    rows = list(read_jsonl(['{"id": "a"}', DEEP, '{"id": "b"}']))
    assert [(r.line, r.document is not None) for r in rows] == [(1, True), (2, False), (3, True)]
    assert rows[1].errors[0].message.startswith("第2行") and "嵌套超过" in rows[1].errors[0].message


def test_a_jsonl_line_with_a_number_out_of_range_names_its_line():
    [row] = list(read_jsonl(['{"claims": {"n": 1e999999}}']))
    assert row.document is None and "第1行" in row.errors[0].message and "超出范围" in row.errors[0].message


def test_a_json_file_nested_too_deep_is_one_unreadable_row(tmp_path):
    (tmp_path / "deep.json").write_text(DEEP, encoding="utf-8")
    [row] = read_input(tmp_path / "deep.json")
    assert row.document is None and "嵌套超过" in row.errors[0].message


def test_a_csv_cell_nested_too_deep_stays_text_for_validation_to_name():
    deep = "[" * 30_000 + "]" * 30_000  # within the csv module's 128 KB field limit
    rows = list(read_csv(io.StringIO(f'type,claims\nx,"{{""a"": [1]}}"\nx,"{deep}"\n')))  # claims: a JSON object
    assert rows[0].document == {"type": "x", "claims": {"a": [1]}}
    assert rows[1].document == {"type": "x", "claims": deep}


def test_a_csv_cell_over_the_field_limit_is_an_unreadable_row_naming_its_line():
    header, line = _csv([sample_document(DEGREE, 1)]).splitlines()
    rows = list(read_csv(io.StringIO(f'{header},x\n{line},1\n{line},"{DEEP}"\n')))
    assert [(r.line, r.document is not None) for r in rows] == [(2, True), (3, False)]
    assert rows[1].errors[0].message.startswith("第3行无法按 CSV 读取")


def test_the_issuer_command_names_a_document_file_nested_too_deep(tmp_path):
    from click.testing import CliRunner

    from issuers.cli import issuer

    (tmp_path / "deep.json").write_text(DEEP, encoding="utf-8")
    result = CliRunner().invoke(issuer, ["issue", str(tmp_path / "deep.json")], env={"HUREN_ISSUER_CREDIT_CODE": ""})
    assert result.exit_code == 1
    assert "deep.json" in result.output and "嵌套超过 32 层" in result.output
