"""发证部门 console: issue from a schema-generated form, bulk issue from CSV with progress and a
per-row error report, find certificates, and revoke / suspend / reinstate with a confirmation
and a stated reason. Only the signed-in department's own certificates, ever.

Why every action goes through the department API's functions (`issue`, `read`, `_change`):
the scope checks (own department, own certificates), the validation with named rules and the
chain transaction are the API's; the console adds forms, words and confirmations, not rules.
Certificate identifiers travel in POST bodies, never in URLs.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api import metrics
from api.credentials import Credential, holder_hash
from api.departments import DepartmentRuntime, holdings, recent_certificates
from api.errors import ApiError
from api.pages import schema_form
from api.pages.common import (
    PageError,
    PageRoute,
    api_call,
    beijing_time,
    region_label,
    render,
    require_csrf,
    require_page_role,
)
from api.routes.issuer import IssueRequest, StatusRequest, _change, _dept, issue, read
from common.document import issuer_id
from issuers.catalogue import CertificateType, default_catalogue
from issuers.store import BatchState, SyncState, batches, certificates
from issuers.tabular import read_csv

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ACTIONS = {"revoke": "撤销", "suspend": "暂扣", "reinstate": "恢复"}
REVOKE_REASONS = ("撤销", "吊销", "注销", "换发", "补发", "办理转出", "其他")
SUSPEND_REASONS = ("其他", "撤销", "吊销")
ANCHOR_STATES = {"accepted": "已受理，待上链", "pending": "待上链", "submitted": "上链中", "anchored": "已上链，确认中",
                 "final": "已上链", "settled": "已上链", "dead": "链上拒绝，不会上链（见页首说明）",
                 "failed": "上链失败，重试中"}
CHAIN_STATUS = {"NONE": "有效", "REVOKED": "已撤销", "SUSPENDED": "已暂扣", None: "暂不可查"}
MAX_CSV_BYTES = 1_900_000
JOB_KEEP_S = 8 * 3600
_ID18 = re.compile(r"^[0-9A-Z]{17}[0-9A-Z]$")


def _context(request: Request) -> tuple[Credential, DepartmentRuntime, list[CertificateType]]:
    cred = require_page_role(request, "department")
    try:
        dept = _dept(request, cred)
    except ApiError:
        raise PageError(403, "本部门未在此服务上配置", "本服务没有本部门的签名密钥，无法代为签发或变更状态。",
                        "请联系运维在 departments 配置中登记本部门。") from None
    model = request.app.state.runtime.indexer.model
    facts = model.issuers.get(issuer_id(dept.credit_code))
    catalogue = default_catalogue()
    codes = sorted(facts.authorised_types) if facts else []
    return cred, dept, [catalogue[c] for c in codes if c in catalogue]


def _type(types: list[CertificateType], code: str | None) -> CertificateType | None:
    for t in types:
        if t.type_code == code:
            return t
    return types[0] if types else None


def _recent(dept: DepartmentRuntime, limit: int = 15) -> list[dict[str, Any]]:
    catalogue = default_catalogue()
    rows = recent_certificates(dept, limit)
    for r in rows:
        ctype = catalogue.get(str(r["type_code"]))
        r["type_name"] = ctype.name if ctype else r["type_code"]
        r["state_text"] = ANCHOR_STATES.get(str(r["anchor_state"]), str(r["anchor_state"]))
        r["accepted_text"] = beijing_time(r["accepted_at"])  # type: ignore[arg-type]
    return rows


def _dead(dept: DepartmentRuntime) -> dict[str, list[dict[str, Any]]]:
    """What the chain refused for good: dead batches (their certificates will not be anchored) and
    status changes it can no longer take. Shown until an operator re-queues them (`huren issuer requeue`)."""
    catalogue = default_catalogue()
    store = dept.service.store
    out_batches = []
    for b in store.batches_in(dept.credit_code, [BatchState.DEAD]):
        ctype = catalogue.get(b.type_code)
        out_batches.append({"id": b.id, "count": b.cert_count, "type_name": ctype.name if ctype else b.type_code,
                            "since": beijing_time(b.updated_at), "reason": b.last_error or ""})
    out_status = [{"cert_id": s.cert_id, "action": ACTIONS.get(s.action, s.action), "reason": s.last_error or ""}
                  for s in store.status_syncs(dept.credit_code, [SyncState.DEAD], now=float("inf"))]
    return {"batches": out_batches, "statuses": out_status}


def _console(request: Request, ctype_code: str | None = None, **extra: Any) -> Response:
    _cred, dept, types = _context(request)
    ctype = _type(types, ctype_code)
    groups = extra.pop("groups", None)
    if groups is None and ctype is not None:
        groups = schema_form.build_form(ctype, {"serial": schema_form.new_serial()})
    return render(request, "department.html", {
        "title": "发证部门", "dept": dept, "region_name": region_label(dept.department.region), "types": types,
        "ctype": ctype, "groups": groups or [], "recent": _recent(dept), "dead": _dead(dept), **extra,
    })


@router.get("/pages/department")
def console(request: Request, type: str | None = None) -> Response:
    return _console(request, type)


@router.post("/pages/department/issue")
async def issue_form(request: Request) -> Response:
    """Issue one certificate from the generated form; errors go back onto the fields.

    Async only to read a form whose field names come from the type's schema; the work itself
    (validation, sealing, the database) runs in the thread pool like every other page handler.
    """
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_issue, request, values)


def _issue(request: Request, values: dict[str, str]) -> Response:
    cred, _, types = _context(request)
    ctype = _type(types, values.get("type_code"))
    if ctype is None or ctype.type_code != values.get("type_code"):
        code = values.get("type_code", "")
        known = default_catalogue().get(code)
        if known is None:
            raise PageError(400, "证照类型无效", f"没有证照类型“{code[:40]}”。", "请从列表中选择证照类型。")
        raise PageError(403, "本部门未获授权签发该类证照",
                        f"本部门未获链上授权签发{known.name}（{code}），未受理。",
                        "如需签发，请联系本地区管理员在链上授权；或从列表中选择本部门已获授权的证照类型。")
    groups = schema_form.build_form(ctype, values)
    document = schema_form.document_from(ctype, groups, values)
    try:
        receipt = api_call(issue, request, IssueRequest(document=document), cred)
    except ApiError as exc:
        problems = exc.extra.get("fields") if isinstance(exc.extra.get("fields"), list) else None
        summary = (schema_form.attach_errors(groups, problems) if problems  # type: ignore[arg-type]
                   else [exc.message.split(" (")[0]])
        response = _console(request, ctype.type_code, groups=groups, issue_errors=summary)
        response.status_code = 422
        return response
    return _console(request, ctype.type_code, issued={
        "cert_id": receipt.cert_id, "already": receipt.already_accepted, "type_name": ctype.name})


# -- find and view ----------------------------------------------------------------------------

def _search(request: Request, dept: DepartmentRuntime, q: str, limit: int = 50) -> list[dict[str, Any]]:
    """By 持证主体代码 (hashed, through the wallet holdings) or by a piece of the 证照标识."""
    q = q.strip().upper()
    cert_ids: list[str] | None = None
    if _ID18.match(q):
        with request.app.state.runtime.holdings.engine.connect() as c:
            found = c.execute(select(holdings.c.cert_id).where(holdings.c.holder_hash == holder_hash(q),
                                                               holdings.c.issuer_code == dept.credit_code)).all()
        cert_ids = [r.cert_id for r in found]
    query = (select(certificates.c.cert_id, certificates.c.type_code, certificates.c.accepted_at, batches.c.state)
             .select_from(certificates.outerjoin(batches, certificates.c.batch_id == batches.c.id))
             .where(certificates.c.issuer_code == dept.credit_code))
    if cert_ids is not None and cert_ids:
        query = query.where(certificates.c.cert_id.in_(cert_ids))
    else:
        needle = q.replace("\\", "").replace("%", "").replace("_", "")
        query = query.where(certificates.c.cert_id.like(f"%{needle}%"))
    query = query.order_by(certificates.c.seq.desc()).limit(limit)
    with dept.service.store.engine.connect() as c:
        rows = c.execute(query).all()
    catalogue = default_catalogue()
    out = []
    for r in rows:
        ctype = catalogue.get(r.type_code)
        out.append({"cert_id": r.cert_id, "type_name": ctype.name if ctype else r.type_code,
                    "accepted_text": beijing_time(r.accepted_at),
                    "state_text": ANCHOR_STATES.get(r.state or "accepted", r.state or "")})
    return out


@router.post("/pages/department/search")
def search(request: Request, q: str = Form(""), csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    _, dept, _ = _context(request)
    q = q.strip()
    if len(q) < 3:
        return _console(request, search_q=q,
                        search_error="请输入至少 3 个字符：证照标识的一部分、证照编号，或持证主体代码。")
    if len(q) > 160:
        return _console(request, search_q=q[:160], search_error="查询内容过长。")
    return _console(request, search_q=q, results=_search(request, dept, q))


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else k)
        return out
    return [(prefix, value)]


@router.post("/pages/department/cert")
def cert_view(request: Request, cert_id: str = Form(""), csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    cred, dept, _ = _context(request)
    data = api_call(read, request, cert_id.strip(), cred)
    ctype = default_catalogue().get(data["type_code"])
    fields = [((ctype.title_of(p) if ctype else None) or p, "长期" if (p == "validUntil" and v is None) else v)
              for p, v in _flatten(data["document"])]
    chain = data.get("chain_status") or {}
    return render(request, "department_cert.html", {
        "title": "证照详情", "dept": dept, "data": data, "fields": fields, "type_name": ctype.name if ctype else "",
        "state_text": ANCHOR_STATES.get(data["anchor_state"], data["anchor_state"]),
        "chain_text": CHAIN_STATUS.get(chain.get("status"), str(chain.get("status"))),
        "chain_unavailable": chain.get("unavailable"), "actions": ACTIONS,
    })


@router.post("/pages/department/confirm")
def confirm(request: Request, cert_id: str = Form(""), action: str = Form(""), csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    cred, _, _ = _context(request)
    if action not in ACTIONS:
        raise PageError(400, "操作无效", "只能撤销、暂扣或恢复。", "请返回证照详情重新选择。")
    data = api_call(read, request, cert_id.strip(), cred)  # own certificate, or a refusal page
    ctype = default_catalogue().get(data["type_code"])
    return render(request, "department_confirm.html", {
        "title": f"确认{ACTIONS[action]}", "cert_id": data["cert_id"], "action": action, "verb": ACTIONS[action],
        "type_name": ctype.name if ctype else "", "reasons": REVOKE_REASONS if action == "revoke" else SUSPEND_REASONS,
        "errors": {},
    })


@router.post("/pages/department/status")
def change_status(request: Request, cert_id: str = Form(""), action: str = Form(""), reason: str = Form(""),
                  note: str = Form(""), confirmed: str = Form(""), csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    cred, _, _ = _context(request)
    if action not in ACTIONS:
        raise PageError(400, "操作无效", "只能撤销、暂扣或恢复。", "请返回证照详情重新选择。")
    reasons = REVOKE_REASONS if action == "revoke" else SUSPEND_REASONS
    errors: dict[str, str] = {}
    if action != "reinstate" and reason not in reasons:
        errors["reason"] = f"请选择{ACTIONS[action]}原因。"
    if not note.strip():
        errors["note"] = f"请写明{ACTIONS[action]}的理由（会记录在本部门的操作记录中）。"
    elif len(note) > 500:
        errors["note"] = f"理由最多 500 字，现在有 {len(note)} 字。"
    if confirmed != "yes":
        errors["confirmed"] = f"请勾选“我已核对，确认{ACTIONS[action]}”。"
    if errors:
        data = api_call(read, request, cert_id.strip(), cred)
        ctype = default_catalogue().get(data["type_code"])
        return render(request, "department_confirm.html", {
            "title": f"确认{ACTIONS[action]}", "cert_id": data["cert_id"], "action": action, "verb": ACTIONS[action],
            "type_name": ctype.name if ctype else "", "reasons": reasons, "errors": errors, "reason": reason,
            "note": note}, status=422)
    done = api_call(_change, request, cert_id.strip(), action,
                    StatusRequest(reason=reason or None, note=note.strip()), cred)
    return render(request, "department_done.html", {
        "title": f"已{ACTIONS[action]}", "verb": ACTIONS[action], "done": done, "cert_id": cert_id.strip()})


# -- bulk issuance ----------------------------------------------------------------------------

@dataclass
class BulkJob:
    """One CSV upload being issued in the background (the page polls its progress)."""

    id: str
    owner: str  # credential id: only the uploader sees the job
    total: int
    done: int = 0
    finished: bool = False
    accepted: int = 0
    already: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None
    started_at: float = field(default_factory=time.time)


def _jobs(request: Request) -> dict[str, BulkJob]:
    extras = request.app.state.runtime.extras
    jobs: dict[str, BulkJob] | None = extras.get("page_bulk_jobs")
    if jobs is None:
        jobs = extras["page_bulk_jobs"] = {}
    cutoff = time.time() - JOB_KEEP_S
    for old in [k for k, j in jobs.items() if j.finished and j.started_at < cutoff]:
        del jobs[old]  # reports are kept for a working day, then forgotten (they list rejected rows)
    return jobs


def _row_errors(errors: Any, titles: dict[str, str]) -> list[str]:
    out = []
    for e in errors:
        title = titles.get(e.path, e.path or "整行")
        out.append(f"「{title}」{e.message}" + (f"（规则：{e.rule}）" if e.rule else ""))
    return out


@router.post("/pages/department/bulk")
def bulk_upload(request: Request, file: UploadFile | None = File(None), strict: str = Form(""),
                existing_ids: str = Form(""), csrf: str = Form("")) -> Response:
    require_csrf(request, csrf)
    cred, dept, types = _context(request)
    if file is None or not file.filename:
        return _console(request, bulk_error="请先选择一个 CSV 文件。")
    raw = file.file.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        return _console(request, bulk_error="文件超过 1.9 MB，请分成几个文件上传。")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _console(request, bulk_error="文件不是 UTF-8 编码的 CSV。请在 Excel 中“另存为 CSV UTF-8”后再上传。")
    rows = list(read_csv(io.StringIO(text, newline="")))
    if not rows:
        return _console(request, bulk_error="文件中没有数据行（第 1 行应为表头，数据从第 2 行开始）。")
    catalogue = default_catalogue()
    titles: dict[str, str] = {}
    for t in types:
        titles.update(t.titles)
    titles.update({"serial": "证照编号", "type": "证照类型代码", "id": "证照标识"})
    job = BulkJob(secrets.token_urlsafe(12), cred.id, len(rows))
    for r in rows:
        if r.document is None:
            job.rejected.append({"line": r.line, "errors": _row_errors(r.errors, titles)})
    good = [r for r in rows if r.document is not None]
    allowed = {t.type_code for t in types}
    docs: list[dict[str, Any]] = []
    lines: list[int] = []
    for r in good:
        assert r.document is not None
        if r.document.get("type") not in allowed:
            name = catalogue[r.document["type"]].name if r.document.get("type") in catalogue else r.document.get("type")
            job.rejected.append({"line": r.line, "errors": [f"「证照类型代码」本部门无权签发“{name}”"]})
            continue
        docs.append(r.document)
        lines.append(r.line)
    job.done = job.total - len(docs)
    _jobs(request)[job.id] = job

    def work() -> None:
        try:
            def progress(n: int) -> None:
                job.done += n

            result = dept.service.issue_many(docs, strict=strict == "yes", chunk=64, progress=progress,
                                             existing_ids=existing_ids == "yes")
            for rej in result.rejected:
                job.rejected.append({"line": lines[rej.index], "errors": _row_errors(rej.errors, titles)})
            if result.stored:
                metrics.ISSUED.inc(len(result.accepted))
                job.accepted = len(result.accepted) - len(result.already_accepted)
                job.already = len(result.already_accepted)
            job.rejected.sort(key=lambda x: x["line"])
        except Exception as exc:  # reported on the page; the log gets the type only (rows hold personal data)
            job.failure = (f"批量签发中断：{type(exc).__name__}。已入库的行不受影响，"
                           "可重新上传整个文件（已签发的行不会重复签发）。")
        finally:
            job.done = job.total
            job.finished = True

    threading.Thread(target=work, name=f"bulk-{job.id}", daemon=True).start()
    return RedirectResponse(f"/pages/department/bulk/{job.id}", status_code=303)


def _job(request: Request, job_id: str) -> BulkJob:
    cred = require_page_role(request, "department")
    job = _jobs(request).get(job_id)
    if job is None or job.owner != cred.id:
        raise PageError(404, "找不到这次批量签发", "批量签发记录不存在或属于其他用户；服务重启后记录会清空。",
                        "请回到发证部门页面重新上传。", links=[("/pages/department", "回到发证部门")])
    return job


@router.get("/pages/department/bulk/{job_id}")
def bulk_page(request: Request, job_id: str) -> Response:
    job = _job(request, job_id)
    return render(request, "department_bulk.html", {"title": "批量签发", "job": job})


@router.get("/pages/department/bulk/{job_id}/progress")
def bulk_progress(request: Request, job_id: str) -> Response:
    job = _job(request, job_id)
    return JSONResponse({"done": job.done, "total": job.total, "finished": job.finished},
                        headers={"Cache-Control": "no-store"})


@router.get("/pages/department/template.csv")
def csv_template(request: Request, type: str = "") -> Response:
    """A header row (document paths) and one example row for the chosen type."""
    _, _, types = _context(request)
    ctype = _type(types, type)
    if ctype is None:
        raise PageError(404, "没有可签发的证照类型", "本部门尚未获准签发任何证照类型。", "")
    groups = schema_form.build_form(ctype)
    header = ["type"] + [f.path for g in groups for f in g.fields]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerow([ctype.type_code] + ["" for _ in header[1:]])
    name = f"template-{ctype.type_code}.csv"
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
