"""Read-only registry: regions, issuing departments, certificate types, recognition matrix.

Answered from the local read model, so a journalist or another province can look without
any credential and without load on the chain nodes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.errors import ApiError
from issuers.rules.regions import is_valid_region, region_name

router = APIRouter(prefix="/v1/registry", tags=["公开目录 registry"])


class Region(BaseModel):
    code: int = Field(examples=[110000])
    name: str = Field(examples=["北京市"])
    member: bool
    threshold: int = Field(description="双人双锁：地区内敏感操作所需官员批准人数")
    officers: int = Field(description="登记官员人数")


class Issuer(BaseModel):
    issuer_id: str = Field(examples=["0x5c1f..."])
    name: str
    region: int
    region_name: str
    status: str = Field(examples=["ACTIVE"])
    status_since: int
    revoked_from: int | None
    authorised_types: list[str]
    keys: int


class CertType(BaseModel):
    type_code: str = Field(examples=["11100000MB0143028R001"])
    name: str = Field(examples=["营业执照"])
    version: int
    active: bool
    schema_hash: str


class Recognition(BaseModel):
    verifier_region: int
    verifier_region_name: str
    type_code: str
    issuer_region: int = Field(description="0 表示所有地区 (0 = every region)")
    issuer_region_name: str
    valid_from: int
    valid_until: int | None


def _name(code: int) -> str:
    if code == 0:
        return "所有地区"
    return region_name(code) if is_valid_region(code) else str(code)


@router.get("/regions", response_model=list[Region], summary="联盟成员地区")
def regions(request: Request) -> list[Region]:
    model = request.app.state.runtime.indexer.model
    return [Region(code=r.code, name=_name(r.code), member=r.member, threshold=r.threshold, officers=len(r.officers))
            for r in sorted(model.regions.values(), key=lambda r: r.code)]


@router.get("/issuers", response_model=list[Issuer], summary="发证部门")
def issuers(request: Request, region: int | None = None) -> list[Issuer]:
    model = request.app.state.runtime.indexer.model
    keys_by_issuer: dict[bytes, int] = {}
    for k in model.keys.values():
        keys_by_issuer[k.issuer_id] = keys_by_issuer.get(k.issuer_id, 0) + 1
    out = []
    for i in model.issuers.values():
        if region is not None and i.region != region:
            continue
        out.append(Issuer(issuer_id="0x" + i.issuer_id.hex(), name=model.issuer_names.get(i.issuer_id, ""),
                          region=i.region, region_name=_name(i.region), status=i.status.name,
                          status_since=i.status_since, revoked_from=i.revoked_from,
                          authorised_types=sorted(i.authorised_types), keys=keys_by_issuer.get(i.issuer_id, 0)))
    return sorted(out, key=lambda x: (x.region, x.name))


@router.get("/issuers/{issuer_id}", response_model=Issuer, summary="一个发证部门",
            responses={404: {"description": "没有这个发证部门"}})
def issuer(request: Request, issuer_id: str) -> Issuer:
    try:
        raw = bytes.fromhex(issuer_id.removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ApiError(400, "BAD_ISSUER_ID",
                       "发证部门标识应为 0x 开头的 64 位十六进制 (issuer id must be 32 bytes hex)")
    for i in issuers(request):
        if i.issuer_id == "0x" + raw.hex():
            return i
    raise ApiError(404, "UNKNOWN_ISSUER", "没有登记这个发证部门 (unknown issuer)")


@router.get("/types", response_model=list[CertType], summary="证照类型")
def types(request: Request) -> list[CertType]:
    model = request.app.state.runtime.indexer.model
    return [CertType(type_code=t.type_code, name=t.name, version=t.version, active=t.active,
                     schema_hash="0x" + t.schema_hash.hex()) for t in sorted(model.types.values(),
                                                                             key=lambda t: t.type_code)]


@router.get("/recognition", response_model=list[Recognition], summary="互认规则（哪个地区认可哪些地区的哪类证照）")
def recognition(request: Request) -> list[Recognition]:
    model = request.app.state.runtime.indexer.model
    return [Recognition(verifier_region=r.verifier_region, verifier_region_name=_name(r.verifier_region),
                        type_code=r.type_code, issuer_region=r.issuer_region,
                        issuer_region_name=_name(r.issuer_region), valid_from=r.valid_from,
                        valid_until=r.valid_until)
            for r in sorted(model.recognitions.values(),
                            key=lambda r: (r.verifier_region, r.type_code, r.issuer_region))]
