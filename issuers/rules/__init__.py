"""National rules for certificate data: GB 11643, GB 32100, GB/T 2260, ISO 7064, GB/T 36904.

Each rule is a small pure module returning a typed result or raising `RuleViolation`
(a ValueError with `.field`, `.rule`, a Chinese `.message` and an English `.message_en`).
"""

from issuers.rules.cert_id import (
    CertId,
    IssuerCodeKind,
    check_type_code,
    make_cert_id,
    parse_cert_id,
    parse_imported_cert_id,
)
from issuers.rules.credit_code import CreditCode, check_credit_code, is_valid_credit_code, make_credit_code
from issuers.rules.errors import RuleViolation
from issuers.rules.regions import (
    Province,
    RegionCode,
    check_region,
    is_valid_region,
    province_of,
    region_name,
)
from issuers.rules.resident_id import (
    ResidentId,
    Sex,
    check_resident_id,
    is_valid_resident_id,
    make_resident_id,
)

__all__ = [
    "CertId",
    "CreditCode",
    "IssuerCodeKind",
    "Province",
    "RegionCode",
    "ResidentId",
    "RuleViolation",
    "Sex",
    "check_credit_code",
    "check_region",
    "check_resident_id",
    "check_type_code",
    "is_valid_credit_code",
    "is_valid_region",
    "is_valid_resident_id",
    "make_cert_id",
    "make_credit_code",
    "make_resident_id",
    "parse_cert_id",
    "parse_imported_cert_id",
    "province_of",
    "region_name",
]
