"""Binding a holder's device key to a certificate after issuance (issue 15, item 2).

The holder's wallet page makes a secp256k1 key on the holder's device (it never leaves it) and
signs a binding statement, EIP-712 typed data in the deployment's domain (name "Huren",
version "1", chainId, AnchorLedger), the same domain as the holder's presentation signature:

    HolderBinding(string certificateId,bytes32 documentRoot,address holder,uint64 signedAt)

The wallet API relays it to the issuing department's service, which accepts it (the statement
recovers to `holder`, names this certificate and its current document root, and is fresh) and
re-issues the certificate as the next version of its identifier (GB/T 36904 version segment
+1) with `holder.address` set; every other field keeps its value (new salts, new signature, a
new anchor). The old version is then revoked on chain with reason 4, superseded (换发; the
national status 05 失效), so it no longer verifies anywhere: a code of the unbound version
cannot be used to get around the binding. Until the new version is anchored (seconds) the
holder has nothing to show; that is the price of never having two versions in force.

Decisions, stated once here:
* One binding per certificate through the wallet (trust on first use: the signed-in holder's
  first device key). A certificate already bound to another key is refused: changing the key
  (lost phone) is done at the department, which re-issues, so a stolen wallet session cannot
  move the binding to the thief's key.
* Idempotent: a repeated request for the same key (a retry after the chain was unreachable)
  finds the new version already issued and only completes the revocation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

from sha3 import keccak_256

from common.ecdsa import recover_digest
from common.eip712 import Domain, to_checksum_address
from issuers.errors import StatusChangeRefused
from issuers.rules.cert_id import make_cert_id, parse_cert_id
from issuers.status_actions import StatusAction
from issuers.status_codes import RevocationReason

__all__ = [
    "BINDING_MAX_AGE_S",
    "HOLDER_BINDING_TYPE",
    "BindingRefused",
    "BindingResult",
    "bind_holder",
    "binding_digest",
    "check_binding_statement",
]

HOLDER_BINDING_TYPE: Final[str] = (
    "HolderBinding(string certificateId,bytes32 documentRoot,address holder,uint64 signedAt)"
)
_TYPEHASH: Final[bytes] = keccak_256(HOLDER_BINDING_TYPE.encode()).digest()
#: A binding statement is accepted this long after (and before: clock skew) its signedAt.
BINDING_MAX_AGE_S: Final[int] = 600


class BindingRefused(Exception):
    """The department does not accept this binding; `code` for the API, `message` in Chinese."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class BindingResult:
    cert_id: str  # the bound version
    superseded: str  # the version it replaces (revoked on chain, reason superseded)
    address: str
    revocation_tx: str | None  # None when the old version was already revoked (a retry)


def binding_digest(domain: Domain, cert_id: str, document_root: bytes, holder: str, signed_at: int) -> bytes:
    """keccak256(0x1901 || domainSeparator || hashStruct(HolderBinding(...)))."""
    if type(document_root) is not bytes or len(document_root) != 32:
        raise ValueError("the document root must be 32 bytes")
    if type(signed_at) is not int or not 0 <= signed_at < 2**64:
        raise ValueError("signedAt must be a uint64")
    struct = keccak_256(
        _TYPEHASH + keccak_256(cert_id.encode("utf-8")).digest() + document_root
        + bytes(12) + bytes.fromhex(to_checksum_address(holder)[2:]) + signed_at.to_bytes(32, "big")
    ).digest()
    return keccak_256(b"\x19\x01" + domain.separator + struct).digest()


def check_binding_statement(domain: Domain, cert_id: str, document_root: bytes, holder: str, signed_at: int,
                            signature: bytes, now: float | None = None) -> str:
    """The checksummed holder address if the statement is the holder key's, fresh; else BindingRefused."""
    try:
        address = to_checksum_address(holder)
    except ValueError:
        raise BindingRefused("BAD_HOLDER_ADDRESS", "持证人地址格式错误", 422) from None
    now = time.time() if now is None else now
    if abs(now - signed_at) > BINDING_MAX_AGE_S:
        raise BindingRefused("BINDING_STALE",
                             "绑定声明的签署时间与服务器时间相差超过 10 分钟，请校准手机时间后重试", 422)
    try:
        digest = binding_digest(domain, cert_id, document_root, address, signed_at)
    except ValueError as exc:
        raise BindingRefused("BAD_BINDING", f"绑定声明无效：{exc}", 422) from None
    if recover_digest(digest, signature) != address:
        raise BindingRefused("BINDING_SIGNATURE_INVALID",
                             "绑定声明的签名不是该持证人密钥对这份证照所签（或证照已更新，请刷新页面）", 422)
    return address


def _next_version_id(cert_id: str) -> str:
    parsed = parse_cert_id(cert_id, verify_codes=False)
    if parsed.version_number >= 999:
        raise BindingRefused("NO_VERSION_LEFT", "这份证照的版本号已用尽，请到发证部门办理换发")
    return make_cert_id(parsed.type_code, parsed.issuer_code, parsed.serial, parsed.version_number + 1)


def bind_holder(service: Any, cert_id: str, address: str) -> BindingResult:
    """Re-issue `cert_id` (of `service`'s department) bound to `address`; revoke it as superseded.

    The caller has checked the holder's statement (`check_binding_statement`) and that the
    certificate is the signed-in holder's. Raises BindingRefused; ChainUnreachable /
    StatusChangeRefused from the revocation (the new version then exists: a retry completes it).
    """
    issued = service.certificate(cert_id)
    holder = issued.document.get("holder") or {}
    bound = holder.get("address")
    if bound is not None:
        if to_checksum_address(bound) == address:
            raise BindingRefused("ALREADY_BOUND", "这份证照已绑定本机密钥，无需再次绑定")
        raise BindingRefused("BOUND_TO_OTHER_KEY",
                             "这份证照已绑定另一把持证人密钥；更换密钥（如更换手机）请到发证部门办理")
    new_id = _next_version_id(cert_id)
    existing = service.store.certificate(new_id)
    if existing is not None:
        other = (existing.document.get("holder") or {}).get("address")
        if other is None or to_checksum_address(other) != address:
            raise BindingRefused("NEWER_VERSION_EXISTS", "这份证照已有更新的版本，请在“我的证照”中出示新版本")
    else:
        doc = {k: v for k, v in issued.document.items() if k not in ("issuer", "issuedAt", "version")}
        doc["id"] = new_id
        doc["holder"] = {**holder, "address": address}
        service.issue(doc)
    tx: str | None = None
    try:
        change = service.change_status(cert_id, StatusAction.REVOKE, RevocationReason.SUPERSEDED,
                                       note=f"换发为 {new_id}（绑定持证人密钥）")
        tx = change.tx_hash if isinstance(change.tx_hash, str) else "0x" + bytes(change.tx_hash).hex()
    except StatusChangeRefused as exc:
        if not exc.error.startswith("CertificateRevoked"):  # a retry: it is revoked already
            raise
    return BindingResult(cert_id=new_id, superseded=cert_id, address=address, revocation_tx=tx)
