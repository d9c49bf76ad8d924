"""An issuance form generated from a certificate type's JSON Schema, and its answers back to a document.

Why generate rather than hand-write one form per type: the catalogue is the single definition
of a type (its hash is registered on chain); a new type or version must get a correct form
without touching the pages. Labels are the schema's Chinese titles, national rules (x-rule)
become the field's help text, and validation stays on the server (the same checks as the API),
whose errors are mapped back to the fields by their document path.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from issuers.catalogue import HOLDER_ID_TYPES, CertificateType

RULE_HELP: dict[str, str] = {
    "GB 11643": "18 位公民身份号码，第 7-14 位为出生日期，末位校验码按 GB 11643 计算",
    "GB 32100": "18 位统一社会信用代码，末位校验字符按 GB 32100 计算",
    "GB/T 2260": "6 位行政区划代码（GB/T 2260）",
}
_INT = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")


@dataclass
class FormField:
    path: str
    title: str
    kind: str  # text | date | select | number | checkbox | textarea
    required: bool = False
    help: str = ""
    maxlength: int | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return "f-" + self.path.replace(".", "-")


@dataclass
class FormGroup:
    legend: str
    fields: list[FormField]


def _field(path: str, prop: dict[str, Any], required: bool) -> FormField:
    title = str(prop.get("title") or path)
    helps = []
    if prop.get("x-rule") in RULE_HELP:
        helps.append(RULE_HELP[prop["x-rule"]])
    if prop.get("description"):
        helps.append(str(prop["description"]))
    kind = "text"
    options: list[tuple[str, str]] = []
    types = prop.get("type")
    if "enum" in prop:
        kind = "select"
        options = [(str(v), str(v)) for v in prop["enum"]]
    elif prop.get("format") == "date":
        kind = "date"
    elif types in ("integer", "number"):
        kind = "number"
    elif types == "boolean":
        kind = "checkbox"
    elif isinstance(prop.get("maxLength"), int) and prop["maxLength"] > 300:
        kind = "textarea"
    if prop.get("x-sensitive"):
        helps.append("个人敏感信息：加密保存，持证人自行决定是否出示")
    return FormField(path, title, kind, required, "；".join(helps), prop.get("maxLength"), options)


def _claims(schema: dict[str, Any], prefix: str, legend: str, groups: list[FormGroup]) -> None:
    required = set(schema.get("required", []))
    flat: list[FormField] = []
    nested: list[tuple[str, dict[str, Any]]] = []
    for key, prop in schema.get("properties", {}).items():
        path = f"{prefix}.{key}"
        if prop.get("type") == "object" and prop.get("properties"):
            nested.append((path, prop))
        else:
            flat.append(_field(path, prop, key in required))
    if flat:
        groups.append(FormGroup(legend, flat))
    for path, prop in nested:
        _claims(prop, path, str(prop.get("title") or path), groups)


def new_serial() -> str:
    """A suggested 证照编号: date + time + 4 random characters (digits/upper case, as GB/T 36904 allows)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 8 * 3600)) + secrets.token_hex(2).upper()


def build_form(ctype: CertificateType, values: dict[str, str] | None = None) -> list[FormGroup]:
    """The groups of fields for issuing one certificate of `ctype`, pre-filled with `values`."""
    holder_types = [(code, f"{code} {HOLDER_ID_TYPES[code]}") for code in ctype.holder_id_types]
    id_rule = "；".join(RULE_HELP["GB 11643" if code == "111" else "GB 32100"] for code in ctype.holder_id_types)
    groups = [
        FormGroup("证照信息", [
            FormField("serial", "证照编号", "text", True,
                      "本部门的编号，1-40 位数字或大写字母；用于生成证照标识（GB/T 36904）", 40),
            FormField("validFrom", "有效期起始", "date", True),
            *([] if ctype.permanent_validity else
              [FormField("validUntil", "有效期截止", "date", False, "留空表示长期有效")]),
        ]),
        FormGroup("持证主体", [
            FormField("holder.name", "持证主体", "text", True, "个人姓名或单位名称", 200),
            FormField("holder.idType", "持证主体代码类型", "select", True, "", None, holder_types),
            FormField("holder.idNumber", "持证主体代码", "text", True, id_rule, 18),
        ]),
    ]
    _claims(dict(ctype.schema), "claims", "证照内容", groups)
    values = values or {}
    for g in groups:
        for f in g.fields:
            f.value = values.get(f.path, "")
    return groups


def document_from(ctype: CertificateType, groups: list[FormGroup], values: dict[str, str]) -> dict[str, Any]:
    """The submitted values as a certificate document (types converted; empty means "not given")."""
    doc: dict[str, Any] = {"type": ctype.type_code}
    for g in groups:
        for f in g.fields:
            raw = values.get(f.path, "").strip()
            if f.kind == "checkbox":
                value: Any = raw in ("true", "on", "1")
            elif raw == "":
                if f.path == "validUntil":
                    value = None
                else:
                    continue
            elif f.kind == "number" and _INT.match(raw):
                value = int(raw)
            elif f.kind == "number" and _NUMBER.match(raw):
                value = float(raw)  # e.g. 建筑面积 41.07; anything else stays text and the schema names it
            else:
                value = raw
            node = doc
            parts = f.path.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
    if ctype.permanent_validity:
        doc["validUntil"] = None
    doc.setdefault("claims", {})
    return doc


def attach_errors(groups: list[FormGroup], problems: list[dict[str, str]]) -> list[str]:
    """Put each server-side problem on its field; returns the summary lines (field, rule, message)."""
    by_path = {f.path: f for g in groups for f in g.fields}
    summary = []
    for p in problems:
        path = p.get("path", "")
        target = by_path.get(path)
        if target is None and path == "id":
            target = by_path.get("serial")
        rule = p.get("rule", "")
        message = p.get("message", "")
        title = target.title if target else (path or "证照")
        line = f"「{title}」{message}" + (f"（规则：{rule}）" if rule else "")
        if target is not None:
            target.errors.append(f"{message}" + (f"（规则：{rule}）" if rule else ""))
        summary.append(line)
    return summary
