"""Valid, deterministic sample certificates for every catalogue type.

Tests, the demo and the benchmark issue thousands of certificates; they need documents
that pass `validate_certificate` (real check digits, consistent cross-field facts such as
the birth date in the claims and in the ID number) and that are the same on every run for
the same seed, so a failing benchmark run can be replayed.

Everything here is invented: people, companies and universities are synthetic (entity and
school names carry "示例" so they cannot be mistaken for real ones), ID numbers and credit
codes are generated with valid check characters under real GB/T 2260 county codes, and
department credit codes are synthetic too. Department *names* follow the real naming
pattern (e.g. 北京市公安局朝阳分局) because the demo is about those departments.

Entry points:
    sample_document(type_code, seed)    -> dict, a valid certificate document
    sample_certificate(type_code, seed) -> Certificate (validated)
    sample_documents(count, seed)       -> list of documents, cycling over all types
    sample_issuer(type_code, locality)  -> the (deterministic) issuing department
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from common.eip712 import to_checksum_address
from common.hashing import keccak
from issuers.catalogue.catalogue import Catalogue, default_catalogue
from issuers.model import Certificate, CertificateDraft, Holder, Issuer, validate_certificate
from issuers.rules.credit_code import ALPHABET, make_credit_code
from issuers.rules.regions import PROVINCES, ProvinceKind
from issuers.rules.resident_id import make_resident_id

__all__ = [
    "LATEST_ISSUANCE",
    "LOCALITIES",
    "TYPE_CODES",
    "Locality",
    "SampleSpec",
    "sample_certificate",
    "sample_document",
    "sample_documents",
    "sample_draft",
    "sample_issuer",
    "sample_issuers",
    "sample_resident_id",
]

#: Samples are issued no later than this instant, so they validate on any clock after it.
LATEST_ISSUANCE: Final[datetime] = datetime(2025, 10, 31, 16, 0, 0, tzinfo=UTC)

#: Type codes of the packaged catalogue, by short name (stable handles for tests and demo).
TYPE_CODES: Final[dict[str, str]] = {
    "resident_id_card": "11100000HR0000001A001",
    "driving_licence": "11100000HR0000001A002",
    "social_security_card": "11100000HR0000002D001",
    "real_estate_title": "11100000HR0000003G001",
    "degree": "11100000HR0000004K001",
    "marriage": "11100000HR0000005N001",
    "birth_certificate": "11100000HR0000006R001",
    "business_licence": "11100000MB0143028R001",
    "construction_operator": "11100000000013338W032",
}


@dataclass(frozen=True, slots=True)
class Locality:
    """A real county-level division (GB/T 2260) used for addresses and departments."""

    code: str
    city: str  # 地级市 (for municipalities: the municipality itself)
    district: str

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def province(self) -> str:
        return PROVINCES[self.province_code].name

    @property
    def is_municipality(self) -> bool:
        return PROVINCES[self.province_code].kind is ProvinceKind.MUNICIPALITY

    @property
    def place(self) -> str:
        """Full place name: 北京市朝阳区, 浙江省杭州市拱墅区."""
        if self.is_municipality:
            return f"{self.city}{self.district}"
        return f"{self.province}{self.city}{self.district}"


LOCALITIES: Final[tuple[Locality, ...]] = (
    Locality("110105", "北京市", "朝阳区"),
    Locality("110108", "北京市", "海淀区"),
    Locality("310115", "上海市", "浦东新区"),
    Locality("310104", "上海市", "徐汇区"),
    Locality("330105", "杭州市", "拱墅区"),
    Locality("330106", "杭州市", "西湖区"),
    Locality("440305", "深圳市", "南山区"),
    Locality("440106", "广州市", "天河区"),
    Locality("320102", "南京市", "玄武区"),
    Locality("510107", "成都市", "武侯区"),
    Locality("420106", "武汉市", "武昌区"),
    Locality("370102", "济南市", "历下区"),
    Locality("500103", "重庆市", "渝中区"),
    Locality("610113", "西安市", "雁塔区"),
    Locality("350203", "厦门市", "思明区"),
    Locality("430104", "长沙市", "岳麓区"),
)
_BY_CODE: Final[dict[str, Locality]] = {loc.code: loc for loc in LOCALITIES}

_SURNAMES: Final[str] = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
_GIVEN: Final[str] = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红鹏飞鑫宇浩然子涵欣怡梓轩雨晨思远嘉怡志文"
)
_STREETS: Final[tuple[str, ...]] = ("人民路", "解放路", "建设路", "中山路", "和平路", "文化路", "新华路", "胜利路")
_ETHNICITIES: Final[tuple[str, ...]] = ("汉族",) * 12 + ("回族", "满族", "壮族", "蒙古族", "土家族", "苗族")


@dataclass(frozen=True, slots=True)
class SampleSpec:
    """Everything `sample_document` decided, for tests that want to look behind the document."""

    draft: CertificateDraft
    issuer: Issuer
    serial: str
    issued_at: datetime


# ============================================================================ building blocks


def _rng(*parts: object) -> random.Random:
    # random.Random seeded with a str hashes it with SHA-512: stable across runs and platforms.
    return random.Random("|".join(str(p) for p in parts))


def _address(*parts: object) -> str:
    """A deterministic EIP-55 address (no key behind it) for placeholders."""
    return to_checksum_address(keccak("|".join(str(p) for p in parts).encode())[12:])


def _org_code(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(9))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return day.replace(year=day.year + years, day=28)


def _between(rng: random.Random, start: date, end: date) -> date:
    if end <= start:
        return start
    return start + timedelta(days=rng.randint(0, (end - start).days))


def _name(rng: random.Random) -> str:
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(_SURNAMES) + given


def _street_address(rng: random.Random, loc: Locality) -> str:
    return f"{loc.place}{rng.choice(_STREETS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2808)}室"


def sample_resident_id(rng: random.Random, loc: Locality, birth: date, *, male: bool | None = None) -> str:
    """A valid GB 11643 number for someone born on `birth` and registered in `loc`."""
    sequence = rng.randint(0, 499) * 2
    if male is None:
        male = rng.random() < 0.5
    return make_resident_id(loc.code, birth, sequence + (1 if male else 0))


@dataclass(frozen=True, slots=True)
class _Person:
    name: str
    id_number: str
    birth: date
    sex: str
    loc: Locality
    address: str
    ethnicity: str


def _person(rng: random.Random, *, born_after: date, born_before: date, male: bool | None = None) -> _Person:
    loc = rng.choice(LOCALITIES)
    birth = _between(rng, born_after, born_before)
    male = rng.random() < 0.5 if male is None else male
    return _Person(
        name=_name(rng),
        id_number=sample_resident_id(rng, loc, birth, male=male),
        birth=birth,
        sex="男" if male else "女",
        loc=loc,
        address=_street_address(rng, loc),
        ethnicity=rng.choice(_ETHNICITIES),
    )


# ============================================================================ departments

_DEPARTMENT_KIND: Final[dict[str, str]] = {
    # 11 = 机关, 12 = 事业单位 (GB 32100 first two characters)
    TYPE_CODES["resident_id_card"]: "11",
    TYPE_CODES["driving_licence"]: "11",
    TYPE_CODES["social_security_card"]: "11",
    TYPE_CODES["real_estate_title"]: "12",
    TYPE_CODES["degree"]: "12",
    TYPE_CODES["marriage"]: "11",
    TYPE_CODES["birth_certificate"]: "12",
    TYPE_CODES["business_licence"]: "11",
    TYPE_CODES["construction_operator"]: "11",
}


def _department_name(type_code: str, loc: Locality) -> str:
    short_district = loc.district[:-1] if len(loc.district) > 2 else loc.district
    names = {
        TYPE_CODES["resident_id_card"]: f"{loc.city}公安局{short_district}分局",
        TYPE_CODES["driving_licence"]: f"{loc.city}公安局交通管理局车辆管理所",
        TYPE_CODES["social_security_card"]: f"{loc.city}人力资源和社会保障局",
        TYPE_CODES["real_estate_title"]: f"{loc.city}{loc.district}不动产登记中心",
        TYPE_CODES["degree"]: f"{loc.city[:-1]}示例大学",
        TYPE_CODES["marriage"]: f"{loc.city}{loc.district}民政局",
        TYPE_CODES["birth_certificate"]: f"{loc.city}{loc.district}妇幼保健院",
        TYPE_CODES["business_licence"]: f"{loc.city}{loc.district}市场监督管理局",
        TYPE_CODES["construction_operator"]: (
            f"{loc.province}住房和城乡建设委员会" if loc.is_municipality else f"{loc.province}住房和城乡建设厅"
        ),
    }
    return names[type_code]


def sample_issuer(type_code: str, locality: str | Locality, *, signing_address: str | None = None) -> Issuer:
    """The sample department issuing `type_code` in `locality` (same inputs, same department).

    Provincial-level types (建筑施工特种作业) are issued by the province; the others by the
    county/city. `signing_address` defaults to a deterministic placeholder with no key.
    """
    loc = locality if isinstance(locality, Locality) else _BY_CODE[locality]
    if type_code not in _DEPARTMENT_KIND:
        raise KeyError(f"no sample department for type {type_code}")
    region = loc.province_code if type_code == TYPE_CODES["construction_operator"] else loc.code
    rng = _rng("issuer", type_code, region)
    credit_code = make_credit_code(_DEPARTMENT_KIND[type_code] + region + _org_code(rng))
    return Issuer(
        credit_code=credit_code,
        region=int(region),
        name=_department_name(type_code, loc),
        signing_address=signing_address or _address("signing", credit_code),
    )


def sample_issuers(type_codes: Iterable[str] | None = None) -> list[tuple[str, Issuer]]:
    """(type code, department) for every type and locality: the demo registers these."""
    out: list[tuple[str, Issuer]] = []
    seen: set[tuple[str, str]] = set()
    for code in type_codes if type_codes is not None else TYPE_CODES.values():
        for loc in LOCALITIES:
            issuer = sample_issuer(code, loc)
            if (code, issuer.credit_code) not in seen:
                seen.add((code, issuer.credit_code))
                out.append((code, issuer))
    return out


# ============================================================================ per type claims


def _issued_at(rng: random.Random, valid_from: date) -> datetime:
    """Issuance shortly after validFrom (digitisation of older certificates happens later)."""
    start = datetime(valid_from.year, valid_from.month, valid_from.day, tzinfo=UTC)
    moment = start + timedelta(days=rng.randint(0, 20), seconds=rng.randint(0, 86399))
    return min(moment, LATEST_ISSUANCE - timedelta(seconds=rng.randint(0, 86400)))


_LATEST_FROM: Final[date] = (LATEST_ISSUANCE - timedelta(days=30)).date()


def _id_card(rng: random.Random, loc: Locality, issuer: Issuer) -> tuple[Holder, dict[str, Any], date, date | None]:
    p = _person(rng, born_after=date(1940, 1, 1), born_before=date(2015, 12, 31))
    earliest = max(_add_years(p.birth, rng.choice((0, 16, 16, 26))), date(2005, 1, 1))
    start = _between(rng, earliest, _LATEST_FROM)
    age = start.year - p.birth.year - ((start.month, start.day) < (p.birth.month, p.birth.day))
    years = 5 if age < 16 else 10 if age <= 25 else 20 if age <= 45 else None
    claims = {
        "name": p.name,
        "sex": p.sex,
        "ethnicity": p.ethnicity,
        "birthDate": p.birth.isoformat(),
        "address": p.address,
        "idNumber": p.id_number,
        "issuingAuthority": issuer.name,
    }
    return Holder(p.name, "111", p.id_number), claims, start, _add_years(start, years) if years else None


def _driving_licence(
    rng: random.Random, loc: Locality, issuer: Issuer
) -> tuple[Holder, dict[str, Any], date, date | None]:
    p = _person(rng, born_after=date(1950, 1, 1), born_before=date(2005, 1, 1))
    first = _between(rng, max(_add_years(p.birth, 18), date(1995, 1, 1)), _LATEST_FROM)
    start, until = first, _add_years(first, 6)
    while until < _LATEST_FROM and rng.random() < 0.8:  # renewed: 6, then 10 years, then 长期
        start = until
        until = _add_years(start, 10) if (until - first).days < 7 * 365 else None  # type: ignore[assignment]
        if until is None:
            break
    if start > _LATEST_FROM:
        start = _LATEST_FROM
    claims = {
        "licenceNumber": p.id_number,
        "name": p.name,
        "sex": p.sex,
        "nationality": "中国",
        "address": p.address,
        "birthDate": p.birth.isoformat(),
        "firstIssueDate": first.isoformat(),
        "vehicleClass": rng.choice(("C1", "C1", "C1", "C2", "B2", "A2D", "C1E")),
        "fileNumber": f"{rng.randint(0, 10**12 - 1):012d}",
        "issuingAuthority": issuer.name,
    }
    return Holder(p.name, "111", p.id_number), claims, start, until


def _social_security(
    rng: random.Random, loc: Locality, issuer: Issuer
) -> tuple[Holder, dict[str, Any], date, date | None]:
    p = _person(rng, born_after=date(1945, 1, 1), born_before=date(2015, 1, 1))
    issued = _between(rng, max(p.birth, date(2012, 1, 1)), _LATEST_FROM)
    claims = {
        "name": p.name,
        "sex": p.sex,
        "socialSecurityNumber": p.id_number,
        "cardNumber": rng.choice("ABCDEFGHJKLMN") + f"{rng.randint(0, 10**8 - 1):08d}",
        "issuingRegion": f"{issuer.region:06d}",
        "issueDate": issued.isoformat(),
    }
    return Holder(p.name, "111", p.id_number), claims, issued, _add_years(issued, 10)


_PROVINCE_ABBR: Final[dict[str, str]] = {
    "110000": "京", "310000": "沪", "330000": "浙", "440000": "粤", "320000": "苏", "510000": "川",
    "420000": "鄂", "370000": "鲁", "500000": "渝", "610000": "陕", "350000": "闽", "430000": "湘",
}  # fmt: skip


def _real_estate(rng: random.Random, loc: Locality, issuer: Issuer) -> tuple[Holder, dict[str, Any], date, date | None]:
    company = rng.random() < 0.2
    registered = _between(rng, date(2016, 1, 1), _LATEST_FROM)
    if company:
        holder, _ = _company(rng, loc)
    else:
        p = _person(rng, born_after=date(1950, 1, 1), born_before=_add_years(registered, -18))
        holder = Holder(p.name, "111", p.id_number)
    land = round(rng.uniform(5, 80), 2)
    building = round(rng.uniform(40, 220), 2)
    end_year = registered.year + 70
    claims = {
        "certificateNumber": f"{_PROVINCE_ABBR[loc.province_code]}（{registered.year}）"
        f"{loc.district if loc.is_municipality else loc.city[:-1]}不动产权第{rng.randint(1, 9_999_999):07d}号",
        "rightHolder": holder.name,
        "coOwnership": "单独所有" if company else rng.choice(("单独所有", "共同共有", "按份共有")),
        "location": f"{loc.place}{rng.choice(_STREETS)}{rng.randint(1, 400)}弄"
        f"{rng.randint(1, 40)}号{rng.randint(101, 2808)}室",
        "unitNumber": f"{loc.code}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}GB{rng.randint(1, 99999):05d}"
        f"F{rng.randint(1, 99_999_999):08d}",
        "rightType": "国有建设用地使用权/房屋所有权",
        "rightNature": "出让/商品房",
        "usage": "商业服务业用地/办公" if company else "城镇住宅用地/住宅",
        "landArea": land,
        "buildingArea": building,
        "termOfUse": f"国有建设用地使用权 {registered.year}年{registered.month:02d}月{registered.day:02d}日起"
        f"{end_year}年{registered.month:02d}月{registered.day:02d}日止",
        "registrationAuthority": issuer.name,
        "registrationDate": registered.isoformat(),
    }
    return holder, claims, registered, None


def _degree(rng: random.Random, loc: Locality, issuer: Issuer) -> tuple[Holder, dict[str, Any], date, date | None]:
    p = _person(rng, born_after=date(1960, 1, 1), born_before=date(2002, 1, 1))
    level = rng.choice(("学士", "学士", "学士", "硕士", "硕士", "博士"))
    age = {"学士": 22, "硕士": 25, "博士": 29}[level] + rng.randint(0, 3)
    award = min(date(_add_years(p.birth, age).year, rng.choice((6, 7, 12)), rng.randint(1, 28)), _LATEST_FROM)
    award = max(award, p.birth + timedelta(days=1))
    discipline, major = rng.choice((("工学", "计算机科学与技术"), ("理学", "数学与应用数学"), ("法学", "法学"),
                                    ("经济学", "金融学"), ("管理学", "工商管理"), ("医学", "临床医学"),
                                    ("文学", "汉语言文学")))  # fmt: skip
    level_digit = {"学士": "4", "硕士": "3", "博士": "2"}[level]
    claims = {
        "name": p.name,
        "sex": p.sex,
        "birthDate": p.birth.isoformat(),
        "degreeLevel": level,
        "degreeCategory": "学术学位",
        "discipline": discipline,
        "major": major,
        "awardingInstitution": issuer.name,
        "awardDate": award.isoformat(),
        "certificateNumber": f"{rng.randint(10000, 19999)}{level_digit}{award.year}{rng.randint(0, 999_999):06d}",
    }
    return Holder(p.name, "111", p.id_number), claims, award, None


def _spouse(p: _Person) -> dict[str, Any]:
    return {
        "name": p.name,
        "sex": p.sex,
        "nationality": "中国",
        "birthDate": p.birth.isoformat(),
        "idNumber": p.id_number,
    }


def _marriage(rng: random.Random, loc: Locality, issuer: Issuer) -> tuple[Holder, dict[str, Any], date, date | None]:
    registered = _between(rng, date(2000, 1, 1), _LATEST_FROM)
    man = _person(rng, born_after=_add_years(registered, -45), born_before=_add_years(registered, -22), male=True)
    woman = _person(rng, born_after=_add_years(registered, -43), born_before=_add_years(registered, -20), male=False)
    a, b = (man, woman) if rng.random() < 0.5 else (woman, man)
    holder = rng.choice((a, b))
    claims = {
        "certificateNumber": f"J{issuer.region:06d}-{registered.year}-{rng.randint(1, 999_999):06d}",
        "holderName": holder.name,
        "registrationDate": registered.isoformat(),
        "registrationAuthority": f"{issuer.name}婚姻登记处",
        "spouseA": _spouse(a),
        "spouseB": _spouse(b),
    }
    return Holder(holder.name, "111", holder.id_number), claims, registered, None


def _parent(p: _Person, at: date) -> dict[str, Any]:
    age = at.year - p.birth.year - ((at.month, at.day) < (p.birth.month, p.birth.day))
    return {"name": p.name, "age": age, "nationality": "中国", "ethnicity": p.ethnicity, "idNumber": p.id_number}


def _birth_certificate(
    rng: random.Random, loc: Locality, issuer: Issuer
) -> tuple[Holder, dict[str, Any], date, date | None]:
    born = _between(rng, date(2016, 1, 1), _LATEST_FROM - timedelta(days=30))
    issued = born + timedelta(days=rng.randint(0, 30))
    mother = _person(rng, born_after=_add_years(born, -42), born_before=_add_years(born, -21), male=False)
    father = _person(rng, born_after=_add_years(born, -48), born_before=_add_years(born, -23), male=True)
    with_father = rng.random() < 0.9
    holder = father if with_father and rng.random() < 0.4 else mother
    surname = (father if with_father else mother).name[0]
    male = rng.random() < 0.51
    claims: dict[str, Any] = {
        "certificateNumber": rng.choice("NOPQRSTUVW") + f"{issuer.region // 10000:02d}{rng.randint(0, 9_999_999):07d}",
        "newborn": {
            "name": surname + rng.choice(_GIVEN) + rng.choice(_GIVEN),
            "sex": "男" if male else "女",
            "birthDateTime": f"{born.isoformat()}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
            "gestationalWeeks": rng.randint(36, 41),
            "weightGrams": rng.randint(2500, 4200),
            "lengthCm": rng.choice((48, 49, 50, 50.5, 51, 52)),
            "birthRegion": f"{issuer.region:06d}",
            "birthPlace": f"{loc.place}（{issuer.name}）",
            "institution": issuer.name,
        },
        "mother": _parent(mother, born),
        "issuingInstitution": issuer.name,
        "issueDate": issued.isoformat(),
    }
    if with_father:
        claims["father"] = _parent(father, born)
    return Holder(holder.name, "111", holder.id_number), claims, issued, None


_INDUSTRIES: Final[tuple[tuple[str, str], ...]] = (
    ("科技", "技术开发、技术咨询、技术服务；软件开发；信息系统集成服务。"),
    ("贸易", "日用百货、五金交电、电子产品的销售；货物进出口；技术进出口。"),
    ("餐饮管理", "餐饮服务；餐饮管理；食品销售。"),
    ("建筑工程", "建设工程施工；建筑劳务分包；工程管理服务。"),
    ("文化传媒", "组织文化艺术交流活动；广告设计、代理；会议及展览服务。"),
)


def _company(rng: random.Random, loc: Locality) -> tuple[Holder, dict[str, str]]:
    industry, scope = rng.choice(_INDUSTRIES)
    name = f"{loc.city[:-1]}示例{_name(rng)[1:]}{industry}有限公司"
    code = make_credit_code("91" + loc.code + "MA" + "".join(rng.choice(ALPHABET) for _ in range(7)))
    return Holder(name, "001", code), {"scope": scope}


def _business_licence(
    rng: random.Random, loc: Locality, issuer: Issuer
) -> tuple[Holder, dict[str, Any], date, date | None]:
    holder, extra = _company(rng, loc)
    established = _between(rng, date(2000, 1, 1), _LATEST_FROM)
    registered = _between(rng, established, _LATEST_FROM)
    claims = {
        "creditCode": holder.id_number,
        "entityName": holder.name,
        "entityType": rng.choice(
            ("有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）", "其他有限责任公司")
        ),
        "legalRepresentative": _name(rng),
        "registeredCapital": f"{rng.choice((10, 50, 100, 500, 1000, 5000))}万元人民币",
        "establishedDate": established.isoformat(),
        "domicile": _street_address(rng, loc),
        "businessScope": extra["scope"] + "（依法须经批准的项目，经相关部门批准后方可开展经营活动）",
        "registrationAuthority": issuer.name,
        "registrationDate": registered.isoformat(),
    }
    until = None if rng.random() < 0.6 else _add_years(established, rng.choice((20, 30, 50)))
    return holder, claims, established, until


_OPERATIONS: Final[tuple[str, ...]] = (
    "建筑电工",
    "建筑架子工（普通脚手架）",
    "建筑起重信号司索工",
    "建筑起重机械司机（塔式起重机）",
    "建筑起重机械司机（施工升降机）",
    "建筑起重机械安装拆卸工（塔式起重机）",
    "高处作业吊篮安装拆卸工",
)


def _construction(
    rng: random.Random, loc: Locality, issuer: Issuer
) -> tuple[Holder, dict[str, Any], date, date | None]:
    p = _person(rng, born_after=date(1965, 1, 1), born_before=date(2003, 1, 1))
    first = _between(rng, max(_add_years(p.birth, 18), date(2012, 1, 1)), _LATEST_FROM)
    start = first
    while _add_years(start, 2) < _LATEST_FROM and rng.random() < 0.7:
        start = _add_years(start, 2)
    claims = {
        "name": p.name,
        "sex": p.sex,
        "idNumber": p.id_number,
        "certificateNumber": f"{_PROVINCE_ABBR[loc.province_code]}{rng.choice('ABC')}"
        f"{rng.randint(1, 99):02d}{first.year}{rng.randint(0, 999_999):06d}",
        "operationCategory": rng.choice(_OPERATIONS),
        "firstIssueDate": first.isoformat(),
        "issuingAuthority": issuer.name,
    }
    return Holder(p.name, "111", p.id_number), claims, start, _add_years(start, 2)


_BUILDERS: Final = {
    TYPE_CODES["resident_id_card"]: _id_card,
    TYPE_CODES["driving_licence"]: _driving_licence,
    TYPE_CODES["social_security_card"]: _social_security,
    TYPE_CODES["real_estate_title"]: _real_estate,
    TYPE_CODES["degree"]: _degree,
    TYPE_CODES["marriage"]: _marriage,
    TYPE_CODES["birth_certificate"]: _birth_certificate,
    TYPE_CODES["business_licence"]: _business_licence,
    TYPE_CODES["construction_operator"]: _construction,
}


# ============================================================================ entry points


def sample_draft(
    type_code: str,
    seed: int,
    *,
    issuer: Issuer | None = None,
    locality: str | None = None,
    holder_address: str | bool | None = None,
) -> SampleSpec:
    """Decide every value of one sample certificate (same arguments, same certificate).

    `issuer` overrides the sample department (e.g. with the demo's real signing address);
    `locality` picks the department's county (default: chosen by the seed);
    `holder_address`: an EIP-55 address to bind, False for none, None to let the seed decide.
    """
    if type_code not in _BUILDERS:
        raise KeyError(f"no sample builder for type {type_code}")
    rng = _rng("certificate", type_code, seed)
    loc = _BY_CODE[locality] if locality is not None else rng.choice(LOCALITIES)
    issuer = issuer if issuer is not None else sample_issuer(type_code, loc)
    holder, claims, valid_from, valid_until = _BUILDERS[type_code](rng, loc, issuer)
    if holder_address is None:
        holder_address = _address("holder", type_code, seed) if rng.random() < 0.5 else False
    if isinstance(holder_address, str):
        holder = Holder(holder.name, holder.id_type, holder.id_number, holder_address)
    issued_at = _issued_at(rng, valid_from)
    serial = f"{issued_at.year}" + keccak(f"serial|{type_code}|{seed}".encode()).hex()[:12].upper()
    draft = CertificateDraft(type_code, holder, claims, valid_from, valid_until)
    return SampleSpec(draft, issuer, serial, issued_at)


def sample_document(type_code: str, seed: int, **kwargs: Any) -> dict[str, Any]:
    """A valid certificate document (not re-validated here; `sample_certificate` does)."""
    spec = sample_draft(type_code, seed, **kwargs)
    return spec.draft.to_document(issuer=spec.issuer, serial=spec.serial, issued_at=spec.issued_at)


def sample_certificate(type_code: str, seed: int, *, catalogue: Catalogue | None = None, **kwargs: Any) -> Certificate:
    """A validated sample certificate (raises CertificateInvalid if a sample were ever wrong)."""
    return validate_certificate(sample_document(type_code, seed, **kwargs), catalogue or default_catalogue())


def sample_documents(
    count: int, seed: int = 0, *, type_codes: Sequence[str] | None = None, **kwargs: Any
) -> list[dict[str, Any]]:
    """`count` documents cycling over `type_codes` (default: every sample type), seeds derived
    from `seed`, so documents i of two calls with the same seed are identical."""
    codes = list(type_codes) if type_codes is not None else list(TYPE_CODES.values())
    return [sample_document(codes[i % len(codes)], seed * 1_000_003 + i, **kwargs) for i in range(count)]
