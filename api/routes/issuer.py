"""Issuing-department routes: issue, bulk issue, read, revoke, suspend, reinstate.

A department credential acts only for its own 统一社会信用代码: the issuer block of every
document is filled from the credential's department (a body naming another department is
refused), and status changes are refused for certificates it did not issue — by this API
and, independently, by the AnchorLedger contract.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api import metrics
from api.auth import require
from api.credentials import Credential
from api.departments import DepartmentRuntime, recent_certificates
from api.errors import ApiError
from issuers.errors import (
    CertificateNotFound,
    ChainUnreachable,
    DuplicateCertificate,
    IssuanceError,
    IssuerMismatch,
    NotOwnCertificate,
    NotYetAnchored,
    StatusChangeRefused,
    TypeNotAuthorised,
)
from issuers.model import CertificateInvalid, FieldError

router = APIRouter(prefix="/v1/certificates", tags=["发证部门 issuing department"])

EXAMPLE_DOCUMENT: dict[str, Any] = {
    "type": "11100000MB0143028R001",
    "serial": "2026112500001",
    "holder": {"name": "北京示例科技有限公司", "idType": "001", "idNumber": "91110108MA01ABCD5X"},
    "claims": {"entityName": "北京示例科技有限公司", "creditCode": "91110108MA01ABCD5X"},
    "validFrom": "2026-11-25", "validUntil": None,
}


class IssueRequest(BaseModel):
    document: dict[str, Any] = Field(
        description="证照数据：type、holder、claims、validFrom、validUntil，以及 serial（或完整 id）。"
                    "issuer、version、issuedAt 由系统按凭证所属部门填写。",
        examples=[EXAMPLE_DOCUMENT])


class BulkRequest(BaseModel):
    documents: list[dict[str, Any]] = Field(min_length=1, max_length=20_000)
    strict: bool = Field(False, description="true：任何一行有误则整批不入库；false：错误行单独拒绝，其余入库")
    existing_ids: bool = Field(
        False, description="true：导入省级平台已签发的证照，每行须带原证照标识 id，按导入规则校验"
                           "（也接受以六位行政区划代码为颁发机构代码的证照标识，校验位照常核对）；"
                           "false：新签发，id 须为本系统签发的规范形式。"
                           " (true: import existing certificates with their provincial-platform ids; see README)")


class StatusRequest(BaseModel):
    reason: str | None = Field(None, max_length=64, description="原因：撤销、吊销、注销、换发、补发、办理转出、其他"
                                                                "（或英文 withdrawn、penalty …）",
                               examples=["注销"])
    note: str = Field("", max_length=500, description="说明（记录在本部门，不上链）")


class IssueResponse(BaseModel):
    cert_id: str
    document_root: str
    accepted: bool = True
    already_accepted: bool = False
    anchor_state: str = "accepted"


def _dept(request: Request, cred: Credential) -> DepartmentRuntime:
    depts: dict[str, DepartmentRuntime] = request.app.state.runtime.departments
    dept = depts.get(cred.credit_code or "")
    if dept is None:
        raise ApiError(403, "DEPARTMENT_NOT_SERVED",
                       "本服务没有配置该发证部门的签名密钥，无法代其签发 (department not served here)",
                       "请联系运维在 departments 配置中登记本部门。")
    return dept


def field_errors(errors: tuple[FieldError, ...] | list[FieldError]) -> list[dict[str, str]]:
    return [{"path": e.path, "rule": e.rule, "message": e.message, "message_en": e.message_en} for e in errors]


def issuance_error(exc: IssuanceError | CertificateInvalid) -> ApiError:
    if isinstance(exc, CertificateInvalid):
        err = ApiError(422, "CERTIFICATE_INVALID", str(exc).split("\n")[0] + "：" +
                       "；".join(str(e) for e in exc.errors[:10]), "逐项修改所列字段后重新提交。")
        err.extra = {"fields": field_errors(exc.errors)}
        return err
    status = {DuplicateCertificate: 409, CertificateNotFound: 404, NotOwnCertificate: 403, NotYetAnchored: 409,
              StatusChangeRefused: 409, ChainUnreachable: 503, IssuerMismatch: 403,
              TypeNotAuthorised: 403}.get(type(exc), 400)
    return ApiError(status, exc.code.upper(), exc.message + (f" ({exc.message_en})" if exc.message_en else ""))


@router.post("", status_code=201, response_model=IssueResponse, summary="签发一份证照",
             responses={422: {"description": "证照数据校验未通过：逐项列出字段与规则"},
                        409: {"description": "同一证照标识已签发过不同内容"},
                        403: {"description": "不是发证部门凭证，文档写了其他部门，或本部门未获链上授权签发该类证照"}})
def issue(request: Request, body: IssueRequest, cred: Credential = Depends(require("department"))) -> IssueResponse:
    dept = _dept(request, cred)
    try:
        receipt = dept.service.issue(body.document)
    except (IssuanceError, CertificateInvalid) as exc:
        raise issuance_error(exc) from None
    metrics.ISSUED.inc()
    return IssueResponse(cert_id=receipt.cert_id, document_root="0x" + receipt.document_root.hex(),
                         already_accepted=receipt.already_accepted)


@router.post("/bulk", summary="批量签发（每行完整入库或完全不入库）",
             responses={200: {"description": "逐行结果：accepted / already_accepted / rejected（含字段与规则）"}})
def bulk(request: Request, body: BulkRequest, cred: Credential = Depends(require("department"))) -> JSONResponse:
    dept = _dept(request, cred)
    result = dept.service.issue_many(body.documents, strict=body.strict, existing_ids=body.existing_ids)
    if result.stored:
        metrics.ISSUED.inc(len(result.accepted))
    body_out = {
        "total": result.total, "stored": result.stored,
        "accepted": result.accepted, "already_accepted": result.already_accepted,
        "rejected": [{"row": r.index + 1, "errors": field_errors(list(r.errors))} for r in result.rejected],
    }
    return JSONResponse(body_out, status_code=200 if result.stored else 422)


@router.get("", summary="本部门签发的证照（最近的在前）")
def list_certificates(request: Request, limit: int = 50,
                      cred: Credential = Depends(require("department"))) -> list[dict[str, Any]]:
    dept = _dept(request, cred)
    limit = max(1, min(limit, 500))
    return [{"cert_id": c["cert_id"], "type_code": c["type_code"], "accepted_at": c["accepted_at"],
             "anchor_state": c["anchor_state"]} for c in recent_certificates(dept, limit)]


def _own(dept: DepartmentRuntime, cert_id: str) -> None:
    """The certificate is this department's; another department's gets the very answer of an
    unknown id (404), so a department cannot learn which identifiers others have issued."""
    stored = dept.service.store.certificate(cert_id, decrypt=False)
    if stored is None or stored.issuer_code != dept.credit_code:
        raise ApiError(404, "CERTIFICATE_NOT_FOUND", f"本部门没有这个证照：{cert_id} (no such certificate)",
                       "请核对证照标识；只能查看和变更本部门签发的证照。")


@router.get("/{cert_id}", summary="查看本部门一份证照及其链上状态",
            responses={404: {"description": "本部门没有这个证照（不存在，或是其他部门的）"}})
def read(request: Request, cert_id: str, cred: Credential = Depends(require("department"))) -> dict[str, Any]:
    dept = _dept(request, cred)
    _own(dept, cert_id)
    issued = dept.service.certificate(cert_id)
    chain: dict[str, Any] | None
    try:
        facts = dept.service.chain_status(cert_id)
        chain = {"status": facts.status.name, "since": facts.since, "reason": facts.reason}
    except ChainUnreachable as exc:
        chain = {"status": None, "unavailable": exc.message}
    return {
        "cert_id": issued.cert_id, "type_code": issued.type_code, "document": issued.document,
        "document_root": "0x" + issued.document_root.hex(), "anchor_state": issued.anchor_state,
        "batch_root": None if issued.batch_root is None else "0x" + issued.batch_root.hex(),
        "tx_hash": None if issued.tx_hash is None else "0x" + issued.tx_hash.hex(),
        "block_number": issued.block_number, "chain_status": chain,
        "suite": issued.suite,  # crypto suite it was sealed in: 1 international, 2 国密 (common/suites.py)
    }


def _change(request: Request, cert_id: str, action: Literal["revoke", "suspend", "reinstate"],
            body: StatusRequest, cred: Credential) -> dict[str, Any]:
    dept = _dept(request, cred)
    _own(dept, cert_id)
    try:
        change = dept.service.change_status(cert_id, action, body.reason if action != "reinstate" else None,
                                            body.note)
    except (IssuanceError, ValueError) as exc:
        if isinstance(exc, ValueError):
            raise ApiError(422, "BAD_REASON", f"原因代码无效：{exc}",
                           "原因可写中文（撤销、吊销、注销、换发、补发、转出、其他）或英文代码。") from None
        raise issuance_error(exc) from None
    request.app.state.runtime.indexer_nudge()
    return {"cert_id": cert_id, "action": action, "tx_hash": "0x" + change.tx_hash.hex(),
            "block_number": change.block_number}


@router.post("/{cert_id}/revoke", summary="撤销（最终，不可恢复）",
             responses={409: {"description": "未上链或链上拒绝（如已撤销）"},
                        503: {"description": "链节点不可用，状态未变"}})
def revoke(request: Request, cert_id: str, body: StatusRequest,
           cred: Credential = Depends(require("department"))) -> dict[str, Any]:
    return _change(request, cert_id, "revoke", body, cred)


@router.post("/{cert_id}/suspend", summary="暂扣（可恢复）")
def suspend(request: Request, cert_id: str, body: StatusRequest,
            cred: Credential = Depends(require("department"))) -> dict[str, Any]:
    return _change(request, cert_id, "suspend", body, cred)


@router.post("/{cert_id}/reinstate", summary="恢复暂扣的证照")
def reinstate(request: Request, cert_id: str, body: StatusRequest,
              cred: Credential = Depends(require("department"))) -> dict[str, Any]:
    return _change(request, cert_id, "reinstate", body, cred)
