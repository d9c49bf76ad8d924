"""The individual checks of a verification: small named functions, each returning a CheckResult.

A check knows nothing about ordering or verdict precedence (that is `engine.py`); it looks at
the facts it is given and says, in plain Chinese, what it found. Checks are pure: the facts
were fetched from the ChainView by the engine. Each check has a stable `name` (used by the
API, the log and tests) and the verdict the verification ends in if it fails.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Final

from common.document import ALWAYS_DISCLOSED, field_leaf, issuer_id, type_code_bytes32
from common.eip712 import Domain, recover_signer, to_checksum_address
from common.facts import (
    AnchorFacts,
    CertStatus,
    CertStatusFacts,
    Freshness,
    IssuerFacts,
    IssuerStatus,
    KeyFacts,
    RecognitionRule,
    TypeFacts,
)
from common.freshness import facts_age_s, within_bound
from common.gm import SM2_N, sm2_is_valid
from common.merkle import verify_multiproof, verify_proof
from common.nodes import NodeKey
from common.stamp import verify_stamp
from common.suites import Suite, digest_of, sm2_document_message, split_sm2_issuer_signature
from verifier.presentation import (
    HOLDER_ADDRESS_PATH,
    PRESENTATION_VERSION,
    Presentation,
    recover_holder_raw,
    stamped_envelope,
)
from verifier.verdicts import Verdict, facts_fresh_text, facts_stale_text

__all__ = [
    "CHINA_TZ",
    "CheckResult",
    "Core",
    "check_anchor",
    "check_anchoring_key",
    "check_batch_proof",
    "check_certificate_status",
    "check_disclosure_proof",
    "check_finality",
    "check_freshness",
    "check_holder_binding",
    "check_issuer_identity",
    "check_issuer_known",
    "check_issuer_region",
    "check_issuer_signature",
    "check_issuer_standing",
    "check_presentation_window",
    "check_recognition",
    "check_signing_key",
    "check_structure",
    "check_type",
    "check_validity_period",
    "china_day",
    "format_time",
    "issuer_revoked_from",
]

#: Certificates' dates (validFrom/validUntil) are calendar dates in China time (UTC+8, no DST).
CHINA_TZ: Final[timezone] = timezone(timedelta(hours=8), "CST")
_EPOCH_ORDINAL: Final[int] = datetime(1970, 1, 1).toordinal()
_DATE: Final[re.Pattern[str]] = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ADDRESS: Final[re.Pattern[str]] = re.compile(r"0x[0-9a-fA-F]{40}")
_USCC: Final[re.Pattern[str]] = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check as run: its stable name, whether it passed, what was found (plain Chinese),
    and the verdict the verification ends in if it did not pass (None for informational checks).
    """

    name: str
    ok: bool
    detail: str
    verdict_if_failed: Verdict | None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "verdict_if_failed": None if self.verdict_if_failed is None else str(self.verdict_if_failed),
        }


def _passed(name: str, detail: str, verdict: Verdict) -> CheckResult:
    return CheckResult(name, True, detail, verdict)


def _failed(name: str, detail: str, verdict: Verdict) -> CheckResult:
    return CheckResult(name, False, detail, verdict)


@lru_cache(maxsize=4096)  # anchor times recur across a batch's certificates
def format_time(t: int) -> str:
    """Unix seconds as "2025-05-22 10:00:00（北京时间）" for details a clerk reads.

    A code may claim any time below 2^63 (the format's bound); one beyond what a calendar can
    show (after the year 9999) is shown as its number rather than raising in the middle of a verdict.
    """
    try:
        return datetime.fromtimestamp(t, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"
    except (OverflowError, ValueError, OSError):
        return f"时间值 {t}（超出可显示的日期范围）"


def china_day(t: int) -> int:
    """Proleptic Gregorian ordinal of the calendar day in China (UTC+8) at unix time `t`."""
    return _EPOCH_ORDINAL + (t + 8 * 3600) // 86400


def _short(b: bytes) -> str:
    return "0x" + b.hex()[:8] + "…"


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True, slots=True)
class Core:
    """The always-disclosed facts, parsed once by `check_structure` and used by later checks."""

    certificate_id: str
    type_code: str
    credit_code: str
    region: int
    valid_from: str
    valid_until: str | None
    valid_from_day: int
    valid_until_day: int | None


def _date_ordinal(value: object) -> int | None:
    """Ordinal of a strict "YYYY-MM-DD" calendar date, or None (no strptime: it is slow)."""
    if type(value) is not str or not _DATE.fullmatch(value):
        return None
    try:
        return date(int(value[:4]), int(value[5:7]), int(value[8:10])).toordinal()
    except ValueError:
        return None


def check_suite(p: Presentation, accepted: frozenset[int]) -> CheckResult:
    """The code's crypto suite is one this deployment reads (VerifierPolicy.suites): a local policy,
    like recognition, so a suite not enabled here is NOT_RECOGNISED, not a defect of the code."""
    name = "crypto_suite"
    label = Suite(p.suite).label if p.suite in (1, 2) else f"套件 {p.suite!r:.20}"
    if p.suite not in accepted:
        return _failed(name, f"本节点未启用该出示码使用的密码套件：{label}", Verdict.NOT_RECOGNISED)
    return _passed(name, f"密码套件：{label}", Verdict.NOT_RECOGNISED)


def check_structure(p: Presentation) -> tuple[CheckResult, Core | None]:
    """The presentation is version 1 and discloses the fields every verification needs, well-typed."""
    name = "structure"
    v = Verdict.MALFORMED
    if p.version != PRESENTATION_VERSION or type(p.version) is not int:
        return _failed(name, f"不支持的出示码版本：{p.version!r}", v), None
    disclosed = {f.path: f.value for f in p.disclosure.fields}
    missing = [path for path in ALWAYS_DISCLOSED if path not in disclosed]
    if missing:
        return _failed(name, f"出示码缺少必须出示的字段：{'、'.join(missing)}", v), None
    if disclosed["version"] != 1 or type(disclosed["version"]) is not int:
        return _failed(name, f"不支持的证照格式版本：{disclosed['version']!r}", v), None
    cert_id, type_code = disclosed["id"], disclosed["type"]
    credit_code, region = disclosed["issuer.creditCode"], disclosed["issuer.region"]
    if type(cert_id) is not str or not cert_id:
        return _failed(name, "证照标识（id）缺失或格式错误", v), None
    if type(type_code) is not str:
        return _failed(name, "证照类型代码（type）格式错误", v), None
    try:
        type_code_bytes32(type_code)
    except ValueError:
        return _failed(name, f"证照类型代码格式错误：{type_code!r}", v), None
    if type(credit_code) is not str or not _USCC.fullmatch(credit_code):
        return _failed(name, f"颁发机构代码不是统一社会信用代码：{credit_code!r}", v), None
    if type(region) is not int or not 100000 <= region <= 999999:
        return _failed(name, f"所属管辖属地编码不是六位行政区划代码：{region!r}", v), None
    valid_from, valid_until = disclosed["validFrom"], disclosed["validUntil"]
    from_day = _date_ordinal(valid_from)
    if from_day is None:
        return _failed(name, f"有效期起始日期格式错误：{valid_from!r}（应为 YYYY-MM-DD）", v), None
    until_day = None
    if valid_until is not None:
        until_day = _date_ordinal(valid_until)
        if until_day is None:
            return _failed(name, f"有效期截止日期格式错误：{valid_until!r}（应为 YYYY-MM-DD 或空）", v), None
        if until_day < from_day:
            return _failed(name, "有效期截止日期早于起始日期", v), None
    core = Core(
        certificate_id=cert_id,
        type_code=type_code,
        credit_code=credit_code,
        region=region,
        valid_from=valid_from,  # type: ignore[arg-type]
        valid_until=valid_until,  # type: ignore[arg-type]
        valid_from_day=from_day,
        valid_until_day=until_day,
    )
    return _passed(name, f"出示码结构完整，出示了 {len(disclosed)} 个字段", v), core


def check_presentation_window(p: Presentation, now: int, clock_skew_s: int, max_age_s: int) -> CheckResult:
    """The presentation was made recently, not in the future, and has not expired."""
    name = "presentation_window"
    if p.created_at > now + clock_skew_s:
        return _failed(
            name,
            f"出示码制作时间 {format_time(p.created_at)} 晚于当前时间，设备时钟可能有误",
            Verdict.MALFORMED,
        )
    if p.expires_at <= p.created_at:
        return _failed(name, "出示码的截止时间不晚于制作时间", Verdict.MALFORMED)
    if p.expires_at + clock_skew_s < now:
        return _failed(name, f"出示码已于 {format_time(p.expires_at)} 过期", Verdict.PRESENTATION_EXPIRED)
    if now - p.created_at > max_age_s + clock_skew_s:
        return _failed(
            name,
            f"出示码制作于 {format_time(p.created_at)}，已超过本地允许的 {max_age_s // 60} 分钟",
            Verdict.PRESENTATION_EXPIRED,
        )
    return _passed(
        name,
        f"出示码制作于 {format_time(p.created_at)}，有效至 {format_time(p.expires_at)}",
        Verdict.PRESENTATION_EXPIRED,
    )


# --------------------------------------------------------------------------- integrity (pure crypto)


def check_disclosure_proof(p: Presentation) -> tuple[CheckResult, list[bytes] | None]:
    """Every disclosed (path, value, salt) is a field of the document with `p.document_root`.

    Returns the field leaves too: the holder signature covers them and need not rehash.
    """
    name = "disclosure_proof"
    derived = p.derived_leaves()
    if derived is not None:  # HR2: the decoder derived the root from exactly these fields' leaves
        return _passed(name, f"{len(derived)} 个出示字段与证照摘要一致", Verdict.TAMPERED), derived
    try:
        h = digest_of(p.suite)
        leaves = [field_leaf(f.salt, f.path, f.value, h) for f in p.disclosure.fields]
    except (ValueError, TypeError):
        return _failed(name, "出示的字段无法计算摘要（格式错误）", Verdict.MALFORMED), None
    if not verify_multiproof(p.document_root, leaves, p.disclosure.proof, p.disclosure.flags, h):
        return _failed(name, "出示的字段与证照原件的摘要不符（字段值或证明被改动）", Verdict.TAMPERED), None
    return _passed(name, f"{len(leaves)} 个出示字段与证照摘要一致", Verdict.TAMPERED), leaves


def check_batch_proof(p: Presentation) -> CheckResult:
    """The document root is in the batch whose root is claimed to be anchored."""
    name = "batch_proof"
    if not verify_proof(p.batch_root, p.document_root, p.batch_proof, digest_of(p.suite)):
        return _failed(name, "证照摘要不在所声明的存证批次中（批次证明被改动）", Verdict.TAMPERED)
    return _passed(name, f"证照属于存证批次 {_short(p.batch_root)}", Verdict.TAMPERED)


def check_issuer_signature(p: Presentation, domain: Domain, disclosed_signer: object) -> tuple[CheckResult, str | None]:
    """The issuer's EIP-712 signature over the document root is well-formed and recoverable.

    Whose key it is, is checked against the registry later (`check_signing_key`). If the
    document's `issuer.signingAddress` is disclosed, the signature must be by that key.
    """
    name = "issuer_signature"
    if p.suite == Suite.GUOMI:  # SM2: the key cannot be recovered; the code names it (sm2_issuer_signature)
        signer = _sm2_signer(p.issuer_signature)
        if signer is None:
            return _failed(name, "发证部门的国密电子签名格式无效", Verdict.TAMPERED), None
    else:
        signer = recover_signer(domain, p.document_root, p.issuer_signature)
        if signer is None:
            return _failed(name, "发证部门的电子签名无效", Verdict.TAMPERED), None
    if disclosed_signer is not None:
        named = disclosed_signer if type(disclosed_signer) is str else None
        try:
            named = to_checksum_address(named) if named is not None else None
        except ValueError:
            named = None
        if named != signer:
            return (
                _failed(name, f"证照载明的签发地址为 {disclosed_signer!r}，但签名来自 {signer}", Verdict.TAMPERED),
                None,
            )
    if p.suite == Suite.GUOMI:
        return _passed(name, f"国密发证签名格式正确，签名密钥 {signer}（待用链上登记的 SM2 公钥核验）",
                       Verdict.TAMPERED), signer
    return _passed(name, f"发证签名有效，签名密钥 {signer}", Verdict.TAMPERED), signer


def _sm2_signer(signature: object) -> str | None:
    """The key id a suite-2 issuer signature names (20 bytes, then r || s), if its form is right."""
    parts = split_sm2_issuer_signature(signature)
    if parts is None:
        return None
    key_id, rs = parts
    r, s = int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big")
    if not (0 < r < SM2_N and 0 < s < SM2_N):
        return None
    return to_checksum_address(key_id)


def check_sm2_issuer_signature(p: Presentation, domain: Domain, key: KeyFacts | None) -> CheckResult:
    """Suite 2: the SM2 signature over the document root verifies under the public key the issuer
    registry holds for the key the code names. A key the registry does not know, or one without
    an SM2 public key (a secp256k1 key), cannot have made it: TAMPERED, like a forged signature."""
    name = "sm2_issuer_signature"
    if key is None:
        return _failed(name, "国密签名所指的密钥未在链上登记，不是任何发证部门的签名", Verdict.TAMPERED)
    if key.sm2_public_key is None:
        return _failed(name, f"密钥 {key.address} 不是登记的国密（SM2）签名密钥", Verdict.TAMPERED)
    message = sm2_document_message(domain.separator, p.document_root)
    parts = split_sm2_issuer_signature(p.issuer_signature)
    if parts is None or not sm2_is_valid(key.sm2_public_key, message, parts[1]):
        return _failed(name, "发证部门的国密（SM2）电子签名与证照内容不符", Verdict.TAMPERED)
    return _passed(name, f"国密（SM2）发证签名有效，签名密钥 {key.address}", Verdict.TAMPERED)


def check_holder_binding(
    p: Presentation, domain: Domain, leaves: list[bytes], require_binding: bool, scope: str = ""
) -> tuple[CheckResult, bool]:
    """Binding rule (see presentation.py): a disclosed holder.address needs a matching holder signature.

    `require_binding`: the policy requires a bound code for this certificate; `scope` says for
    which certificates in words ("该类证照", VerifierPolicy.binding_required).
    """
    name = "holder_binding"
    v = Verdict.HOLDER_BINDING_FAILED
    disclosed = {f.path: f.value for f in p.disclosure.fields}
    has_address = HOLDER_ADDRESS_PATH in disclosed and disclosed[HOLDER_ADDRESS_PATH] is not None
    if not has_address:
        if p.holder_signature is not None:
            return _failed(name, "出示码带有持证人签名，但未出示持证人地址，无法核对签名", v), False
        if require_binding:
            return _failed(name, f"本地要求{scope}的出示码由持证人签名，但该出示码未绑定持证人", v), False
        return _passed(name, "未绑定持证人密钥，本次出示不核对持证人签名", v), False
    address = disclosed[HOLDER_ADDRESS_PATH]
    if type(address) is not str or not _ADDRESS.fullmatch(address):
        return _failed(name, f"持证人地址格式错误：{address!r}", v), False
    if p.holder_signature is None:
        return _failed(name, "证照绑定了持证人密钥，但出示码没有持证人签名", v), False
    signer = recover_holder_raw(domain, p, leaves)
    # Compared as bytes: the address is a proven field of the signed document, whatever its case.
    if signer is None or signer != bytes.fromhex(address[2:]):
        return _failed(name, "持证人签名不是绑定的持证人对本出示码所签（他人签署，或签名后内容被改动）", v), False
    return _passed(name, f"出示码由绑定的持证人 {address} 签署", v), True


def check_stamp_present(p: Presentation, holder_bound: bool, accept_hr1: bool) -> CheckResult:
    """Something authenticates the window and 事由: a stamp (checked against the registry later)
    or the bound holder's signature. Otherwise anyone could have re-timed or re-purposed the code.
    """
    name = "stamp"
    v = Verdict.PRESENTATION_EXPIRED
    if p.format == 1 and not accept_hr1:
        return _failed(name, "本地不再接受旧版（HR1）出示码，请持证人刷新出示码", v)
    if p.stamp is not None:
        return _passed(name, "出示码带有发证地节点的加注签章（签章密钥随后按链上登记核验）", v)
    if p.audience is not None:
        return _failed(name, "出示码指定了使用地区，但没有加注签章证明这一点，请持证人刷新出示码", v)
    if holder_bound:
        return _passed(name, "出示码没有加注签章，其有效期与事由由绑定的持证人签名保护", v)
    return _failed(
        name,
        "出示码没有发证地节点的加注签章，也没有持证人签名，其制作时间、有效期与事由无法确认，请持证人刷新出示码",
        v,
    )


def check_stamp_key(p: Presentation, domain: Domain, leaves: list[bytes], region: int,
                    keys: Sequence[NodeKey], verifier_region: int) -> CheckResult:
    """The stamp was made by a stamping key of the issuing region's node, valid at created_at,
    over exactly this envelope; and the code is for this region (if it names one)."""
    name = "stamp_signature"
    if p.stamp is None:  # holder-signed, unstamped: check_stamp_present already passed it
        return _passed(name, "无加注签章，由持证人签名保护", Verdict.TAMPERED)
    if not keys:
        return _failed(name, f"链上登记中没有地区 {region} 在出示码制作时有效的加注签章密钥，签章无法确认",
                       Verdict.TAMPERED)
    try:
        envelope = stamped_envelope(domain, p, leaves)
    except ValueError:
        return _failed(name, "出示码的发证地区无效，签章无法核验", Verdict.TAMPERED)
    key = verify_stamp(envelope, p.stamp, keys)
    if key is None:
        return _failed(
            name,
            "加注签章与出示码内容不符（制作时间、有效期、事由、随机数或出示字段被改动，或签章来自他处）",
            Verdict.TAMPERED,
        )
    if p.audience is not None and p.audience != verifier_region:
        return _failed(name, f"出示码指定仅在地区 {p.audience} 使用，不是本地区 {verifier_region}，请持证人刷新出示码",
                       Verdict.PRESENTATION_EXPIRED)
    return _passed(name, f"加注签章由地区 {region} 节点的登记密钥 {key.key_id[:10]}… 签署，有效期与事由可信",
                   Verdict.TAMPERED)


# --------------------------------------------------------------------------- chain facts


def check_freshness(freshness: Freshness, now: int, max_facts_age_s: int) -> CheckResult:
    """The status facts are recent enough to answer with, by the chain's own clock (one rule, every source).

    Their age is `now` minus the timestamp of the newest block they come from
    (common/freshness.py); older than the policy's bound gives UNAVAILABLE: a node that stopped
    following the network, an index that stopped polling and an old offline snapshot all look
    alike here, and none of them may say VALID about a certificate revoked since.
    """
    name = "status_freshness"
    age = int(facts_age_s(now, freshness.head_time))
    if freshness.head_time <= 0 or not within_bound(age, max_facts_age_s):
        return _failed(
            name,
            facts_stale_text(freshness.source, freshness.height, freshness.head_time, age, max_facts_age_s,
                             freshness.note),
            Verdict.UNAVAILABLE,
        )
    return _passed(name, facts_fresh_text(freshness.source, freshness.height, age, max_facts_age_s, freshness.note),
                   Verdict.UNAVAILABLE)


def check_anchor(anchor: AnchorFacts | None, batch_root: bytes) -> CheckResult:
    """The batch root is anchored on chain."""
    name = "anchor"
    if anchor is None:
        return _failed(name, f"链上没有批次 {_short(batch_root)} 的存证记录", Verdict.NOT_ANCHORED)
    return _passed(
        name,
        f"已于 {format_time(anchor.timestamp)} 在区块 {anchor.block_number} 存证（交易 {_short(anchor.tx_hash)}）",
        Verdict.NOT_ANCHORED,
    )


def check_finality(anchor: AnchorFacts, required: int) -> CheckResult:
    """The anchor has enough confirmations to be final."""
    name = "finality"
    if anchor.confirmations < required:
        return _failed(name, f"存证已有 {anchor.confirmations} 个确认，需 {required} 个", Verdict.PENDING_FINALITY)
    return _passed(name, f"存证已有 {anchor.confirmations} 个确认（需 {required} 个）", Verdict.PENDING_FINALITY)


def check_issuer_known(issuer: IssuerFacts | None) -> CheckResult:
    """The department that anchored the batch is in the issuer registry."""
    name = "issuer_registered"
    if issuer is None:
        return _failed(name, "存证的发证部门不在登记名录中", Verdict.UNKNOWN_ISSUER)
    return _passed(name, f"发证部门已登记（所属地区 {issuer.region}）", Verdict.UNKNOWN_ISSUER)


def check_issuer_identity(core: Core, anchor: AnchorFacts) -> CheckResult:
    """The issuer named in the certificate is the one that anchored it."""
    name = "issuer_identity"
    if issuer_id(core.credit_code) != anchor.issuer_id:
        return _failed(name, f"证照载明的颁发机构（{core.credit_code}）不是存证该证照的发证部门", Verdict.TAMPERED)
    return _passed(name, f"颁发机构 {core.credit_code} 即存证的发证部门", Verdict.TAMPERED)


def check_type(core: Core, anchor: AnchorFacts, type_facts: TypeFacts | None) -> CheckResult:
    """The certificate type is the one the batch was anchored (and authorised, by the contract) for.

    The ledger contract refuses an anchor for a type the issuer is not authorised for at that
    moment, so a matching anchor type is the authorisation evidence; a later withdrawal of the
    authorisation does not void certificates anchored before it.
    """
    name = "certificate_type"
    if core.type_code != anchor.type_code:
        return _failed(name, f"证照类型 {core.type_code} 与存证批次的类型 {anchor.type_code} 不一致", Verdict.TAMPERED)
    label = f"{type_facts.name}（{core.type_code}）" if type_facts is not None else core.type_code
    return _passed(name, f"证照类型 {label} 与存证一致，存证时发证部门有权发放", Verdict.TAMPERED)


def _key_check(name: str, role: str, address: str, key: KeyFacts | None, anchor: AnchorFacts) -> CheckResult:
    v = Verdict.ISSUER_NOT_AUTHORISED
    if key is None:
        return _failed(name, f"{role} {address} 不是登记的发证密钥", v)
    if key.issuer_id != anchor.issuer_id:
        return _failed(name, f"{role} {address} 属于其他发证部门", v)
    if not key.valid_at(anchor.timestamp):
        return _failed(name, f"{role} {address} 在存证时（{format_time(anchor.timestamp)}）不在有效期内", v)
    return _passed(name, f"{role} {address} 属于该发证部门，存证时有效", v)


def check_signing_key(signer: str, key: KeyFacts | None, anchor: AnchorFacts) -> CheckResult:
    """The key that signed the document root belongs to the anchoring issuer and was valid then.

    A signature recovering to a key the registry has never seen was not made by any issuing
    department (a swapped or forged signature): TAMPERED. A registered key of another
    department, or one outside its validity window at anchor time: ISSUER_NOT_AUTHORISED.
    """
    if key is None:
        return _failed("signing_key", f"证照签名来自未登记的密钥 {signer}，不是任何发证部门的签名", Verdict.TAMPERED)
    return _key_check("signing_key", "签名密钥", signer, key, anchor)


def check_anchoring_key(anchor: AnchorFacts, key: KeyFacts | None) -> CheckResult:
    """The key that sent the anchor transaction belongs to the issuer and was valid then."""
    return _key_check("anchoring_key", "存证密钥", anchor.key, key, anchor)


def check_issuer_region(core: Core, issuer: IssuerFacts) -> CheckResult:
    """The region written in the certificate is the issuer's registered region."""
    name = "issuer_region"
    if core.region != issuer.region:
        return _failed(
            name,
            f"证照载明的管辖属地 {core.region} 与发证部门登记的地区 {issuer.region} 不一致",
            Verdict.ISSUER_NOT_AUTHORISED,
        )
    return _passed(name, f"管辖属地 {core.region} 与登记一致", Verdict.ISSUER_NOT_AUTHORISED)


def issuer_revoked_from(issuer: IssuerFacts) -> int | None:
    """From when the issuer's anchors are void; a REVOKED status without a time counts from its start."""
    if issuer.revoked_from is not None:
        return issuer.revoked_from
    return issuer.status_since if issuer.status == IssuerStatus.REVOKED else None


def check_issuer_standing(issuer: IssuerFacts, anchor: AnchorFacts) -> CheckResult:
    """The issuer was not revoked (key compromise) at or before the anchor time.

    Certificates anchored before the revocation point stay valid; a merely suspended issuer
    cannot anchor new batches (the contract stops it) but its earlier certificates stand.
    """
    name = "issuer_standing"
    revoked_from = issuer_revoked_from(issuer)
    if revoked_from is not None and revoked_from <= anchor.timestamp:
        return _failed(
            name,
            f"发证部门自 {format_time(revoked_from)} 起被撤销发证资格，该证照存证于 {format_time(anchor.timestamp)}",
            Verdict.ISSUER_REVOKED,
        )
    if revoked_from is not None:
        detail = f"发证部门自 {format_time(revoked_from)} 起被撤销，该证照存证在此之前，仍然有效"
    else:
        detail = "存证时发证部门资格有效"
    return _passed(name, detail, Verdict.ISSUER_REVOKED)


def check_certificate_status(status: CertStatusFacts) -> CheckResult:
    """The issuer has not revoked or suspended this certificate."""
    name = "certificate_status"
    if status.status == CertStatus.REVOKED:
        return _failed(name, f"发证部门已于 {format_time(status.since)} 撤销该证照", Verdict.REVOKED)
    if status.status == CertStatus.SUSPENDED:
        return _failed(name, f"发证部门自 {format_time(status.since)} 起暂扣该证照", Verdict.SUSPENDED)
    return _passed(name, "证照状态：有效（未撤销、未暂扣）", Verdict.REVOKED)


def check_validity_period(core: Core, now: int) -> CheckResult:
    """Today (China time) lies within validFrom..validUntil, both days inclusive."""
    name = "validity_period"
    today = china_day(now)
    until = core.valid_until or "长期"
    if today < core.valid_from_day:
        return _failed(name, f"有效期 {core.valid_from} 至 {until}，尚未开始", Verdict.NOT_YET_VALID)
    if core.valid_until_day is not None and today > core.valid_until_day:
        return _failed(name, f"有效期 {core.valid_from} 至 {until}，已过期", Verdict.EXPIRED)
    return _passed(name, f"有效期 {core.valid_from} 至 {until}，在有效期内", Verdict.EXPIRED)


def check_recognition(
    issuer: IssuerFacts, type_code: str, verifier_region: int, rule: RecognitionRule | None
) -> CheckResult:
    """This region accepts the certificate: it is our own region's, or a recognition rule is in force."""
    name = "recognition"
    if issuer.region == verifier_region:
        return _passed(name, f"本地区（{verifier_region}）发放的证照", Verdict.NOT_RECOGNISED)
    if rule is None:
        return _failed(
            name,
            f"本地区（{verifier_region}）未认可地区 {issuer.region} 发放的 {type_code} 类证照（证照本身真实有效）",
            Verdict.NOT_RECOGNISED,
        )
    scope = "所有地区" if rule.issuer_region == 0 else f"地区 {rule.issuer_region}"
    return _passed(
        name,
        f"本地区认可{scope}发放的该类证照（自 {format_time(rule.valid_from)} 起）",
        Verdict.NOT_RECOGNISED,
    )
