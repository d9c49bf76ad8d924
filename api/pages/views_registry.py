"""公开目录: regions, their federation nodes and node keys, issuing departments, certificate types, the
recognition matrix as a picture, and live counts — the page a journalist or another province looks at,
without signing in.

Why the matrix is an SVG drawn on the server: it must show without scripts and print well, and
it is read from the same indexed chain state the verifiers use, so the picture cannot disagree
with the answers clerks get. Every cell carries words and a symbol, not colour alone, and the
same facts are given as a table for screen readers.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup, escape

from api import metrics
from api.pages.common import PageRoute, beijing_time, region_label, render
from common.nodes import NodeKey, NodeKeyPurpose, NodeStatus
from verifier.verdicts import Verdict

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CELL_W, CELL_H, LABEL_W, HEAD_H = 132, 58, 150, 64


def _cell(model: Any, verifier: int, type_code: str, issuer: int, now: int) -> tuple[str, str, str]:
    """(state, symbol + words, detail) of one matrix cell."""
    if verifier == issuer:
        return "own", "● 本地签发", "本地区签发，当然受理"
    for key in ((verifier, type_code, issuer), (verifier, type_code, 0)):
        rule = model.recognitions.get(key)
        if rule is None:
            continue
        since = beijing_time(rule.valid_from)[:10] if rule.valid_from else ""
        until = beijing_time(rule.valid_until)[:10] if rule.valid_until else ""
        scope = "（所有地区）" if key[2] == 0 else ""
        if rule.in_force_at(now):
            return "yes", "✓ 认可", f"自 {since or '设立时'}{scope}" + (f" 至 {until}" if until else "")
        if rule.valid_from > now:
            return "later", "… 将认可", f"{since} 起{scope}"
    return "no", "✗ 未认可", "需出具其他材料"


def matrix_svg(model: Any, type_code: str, type_name: str, regions: list[int], now: int) -> Markup:
    """One certificate type's recognition matrix: rows = verifying region, columns = issuing region."""
    width = LABEL_W + CELL_W * len(regions)
    height = HEAD_H + CELL_H * len(regions)
    title_id = f"m-{type_code}"
    fills = {"own": "#e6e9ee", "yes": "#0a6b2e", "later": "#fdf3e1", "no": "#ffffff"}
    inks = {"own": "#1a1a1a", "yes": "#ffffff", "later": "#5c3700", "no": "#4d4d4d"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{title_id}">',
        f'<title id="{title_id}">{escape(type_name)}互认矩阵：行为核验地区，列为签发地区</title>',
        '<text x="8" y="22" font-size="13" fill="#4d4d4d">核验地区 ↓ / 签发地区 →</text>',
    ]
    for j, issuer in enumerate(regions):
        x = LABEL_W + j * CELL_W + CELL_W / 2
        parts.append(f'<text x="{x}" y="{HEAD_H - 14}" font-size="16" font-weight="700" text-anchor="middle" '
                     f'fill="#1a1a1a">{escape(region_label(issuer))}</text>')
    for i, verifier in enumerate(regions):
        y = HEAD_H + i * CELL_H
        parts.append(f'<text x="8" y="{y + CELL_H / 2 + 6}" font-size="16" font-weight="700" fill="#1a1a1a">'
                     f'{escape(region_label(verifier))}</text>')
        for j, issuer in enumerate(regions):
            x = LABEL_W + j * CELL_W
            state, words, detail = _cell(model, verifier, type_code, issuer, now)
            parts.append(f'<g><title>{escape(region_label(verifier))}核验{escape(region_label(issuer))}签发的'
                         f'{escape(type_name)}：{escape(words)} {escape(detail)}</title>'
                         f'<rect x="{x + 2}" y="{y + 2}" width="{CELL_W - 4}" height="{CELL_H - 4}" rx="6" '
                         f'fill="{fills[state]}" stroke="#8c8c8c"/>'
                         f'<text x="{x + CELL_W / 2}" y="{y + 24}" font-size="15" font-weight="700" '
                         f'text-anchor="middle" fill="{inks[state]}">{escape(words)}</text>'
                         f'<text x="{x + CELL_W / 2}" y="{y + 44}" font-size="11" text-anchor="middle" '
                         f'fill="{inks[state]}">{escape(detail[:16])}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def counts(rt: Any) -> dict[str, Any]:
    """Live figures: anchored certificates from the read model, verifications from the metrics."""
    model = rt.indexer.model
    by_verdict = metrics.verification_counts()  # every worker's, not just the one answering this page
    verdicts = []
    for code, n in sorted(by_verdict.items(), key=lambda kv: -kv[1]):
        try:
            label = Verdict(code).label
        except ValueError:
            label = code
        verdicts.append({"code": code, "label": label, "count": int(n)})
    stats = rt.indexer.stats
    return {
        "certificates": sum(a.cert_count for a in model.anchors.values()),
        "batches": len(model.anchors),
        "issuers": len(model.issuers),
        "regions": sum(1 for r in model.regions.values() if r.member),
        "verifications": int(sum(by_verdict.values())),
        "verdicts": verdicts,
        "height": stats.indexed,
        "as_of": beijing_time(time.time()),
    }


def _key_row(key: NodeKey, now: int) -> dict[str, str]:
    """One node key in words: which algorithm, what it signs, its window, and whether it is in force now."""
    try:
        purpose = NodeKeyPurpose(key.purpose).label
    except ValueError:
        purpose = f"用途 {key.purpose}"
    if key.valid_at(now):
        state = "有效" + (f"（{beijing_time(key.valid_until)[:16]} 停用）" if key.valid_until else "")
    elif key.valid_from > now and (key.valid_until is None or key.valid_until > key.valid_from):
        state = "尚未生效"
    else:
        state = "已停用"
    window = f"{beijing_time(key.valid_from)[:16]} 起" + (f"，{beijing_time(key.valid_until)[:16]} 止"
                                                         if key.valid_until else "，不设截止")
    return {"id": key.key_id, "short_id": key.key_id[:10] + "…" + key.key_id[-6:], "algorithm": key.algorithm_name,
            "purpose": purpose, "window": window, "state": state}


def node_rows(model: Any, now: int) -> list[dict[str, Any]]:
    """Each member region's node as the chain's registry has it (and removed nodes, marked so)."""
    codes = sorted({code for code, r in model.regions.items() if r.member} | {n.region for n in model.nodes()})
    rows = []
    for code in codes:
        node = model.node_of(code)
        if node is None:
            rows.append({"name": region_label(code), "code": code, "url": "", "status": "尚未登记节点",
                         "node_keys": []})
            continue
        status = {NodeStatus.ACTIVE: "在册", NodeStatus.REMOVED: "已移除"}.get(node.status, str(node.status))
        rows.append({"name": region_label(code), "code": code, "url": node.base_url, "status": status,
                     "node_keys": [_key_row(k, now) for k in model.node_keys(code)]})
    return rows


@router.get("/pages/registry")
def registry(request: Request) -> Response:
    rt = request.app.state.runtime
    model = rt.indexer.model
    now = int(time.time())
    regions = sorted(code for code, r in model.regions.items() if r.member)
    type_names = {code: t.name for code, t in model.types.items()}
    with_rules = sorted({r.type_code for r in model.recognitions.values()})
    matrices = [{"code": code, "name": type_names.get(code, code),
                 "svg": matrix_svg(model, code, type_names.get(code, code), regions, now),
                 "rows": [{"verifier": region_label(v), "cells": [
                     {"issuer": region_label(i), "state": _cell(model, v, code, i, now)} for i in regions]}
                     for v in regions]}
                for code in with_rules]
    issuers = sorted(({"name": model.issuer_names.get(i.issuer_id, ""), "region": region_label(i.region),
                       "status": {"ACTIVE": "正常", "SUSPENDED": "暂停", "REVOKED": "已撤销"}.get(i.status.name,
                                                                                            i.status.name),
                       "types": "、".join(type_names.get(t, t) for t in sorted(i.authorised_types)) or "—"}
                      for i in model.issuers.values()), key=lambda x: (x["region"], x["name"]))
    region_rows = [{"code": r.code, "name": region_label(r.code), "member": r.member, "threshold": r.threshold,
                    "officers": len(r.officers)} for r in sorted(model.regions.values(), key=lambda r: r.code)]
    types = [{"code": t.type_code, "name": t.name, "version": t.version, "active": t.active,
              "recognised": t.type_code in with_rules}
             for t in sorted(model.types.values(), key=lambda t: t.type_code)]
    return render(request, "registry.html", {
        "title": "公开目录", "regions": region_rows, "issuers": issuers, "types": types, "matrices": matrices,
        "nodes": node_rows(model, now), "counts": counts(rt),
    })


@router.get("/pages/registry/counts.json")
def registry_counts(request: Request) -> Response:
    return JSONResponse(counts(request.app.state.runtime), headers={"Cache-Control": "no-store"})
