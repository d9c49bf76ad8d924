"""Typed failures of the issuer service, worded for the clerk at the counter (Chinese first).

Validation failures are `issuers.model.CertificateInvalid` (one `FieldError` per problem);
everything the *service* refuses beyond that is one of these. Each carries a Chinese
message a clerk can act on, an English one for logs, and a short stable `code` so the HTTP
layer can map it to a status and clients need not parse prose. Messages never contain
personal data or key material.
"""

from __future__ import annotations

__all__ = [
    "CertificateNotFound",
    "ChainUnreachable",
    "ConfigError",
    "DuplicateCertificate",
    "FieldKeyError",
    "IssuanceError",
    "IssuerMismatch",
    "NotOwnCertificate",
    "NotYetAnchored",
    "StatusChangeRefused",
    "TypeNotAuthorised",
]


class IssuanceError(Exception):
    """Base class of everything the issuer service refuses on purpose."""

    code: str = "issuance_error"

    def __init__(self, message: str, message_en: str = "") -> None:
        self.message = message
        self.message_en = message_en
        super().__init__(f"{message}（{message_en}）" if message_en else message)


class IssuerMismatch(IssuanceError):
    """The document names another department or another signing key than this service's."""

    code = "issuer_mismatch"


class TypeNotAuthorised(IssuanceError):
    """The chain does not authorise the department for this certificate type: refused at intake,
    instead of being accepted into a batch the chain would refuse."""

    code = "type_not_authorised"

    def __init__(self, type_code: str, type_name: str) -> None:
        self.type_code = type_code
        super().__init__(
            f"本部门未获链上授权签发{type_name}（{type_code}），未受理；如需签发，请联系本地区管理员在链上授权",
            f"this department is not authorised on chain for certificate type {type_code}",
        )


class DuplicateCertificate(IssuanceError):
    """The certificate identifier is already used by a different certificate."""

    code = "duplicate_certificate"

    def __init__(self, cert_id: str) -> None:
        self.cert_id = cert_id
        super().__init__(
            f"证照标识{cert_id}已被另一份内容不同的证照使用；如需变更内容，请使用新的版本号或流水号",
            f"certificate id {cert_id} is already used by a certificate with different content",
        )


class CertificateNotFound(IssuanceError):
    code = "certificate_not_found"

    def __init__(self, cert_id: str) -> None:
        self.cert_id = cert_id
        super().__init__(f"本部门证照库中没有证照{cert_id}", f"no certificate {cert_id} in this store")


class NotOwnCertificate(IssuanceError):
    """A department may change the status of its own certificates only (the chain enforces it too)."""

    code = "not_own_certificate"

    def __init__(self, cert_id: str) -> None:
        self.cert_id = cert_id
        super().__init__(
            f"证照{cert_id}不是本部门签发的，本部门无权变更其状态，请联系签发部门",
            f"certificate {cert_id} was not issued by this department",
        )


class NotYetAnchored(IssuanceError):
    """Status changes need the certificate's batch on chain; it is still queued."""

    code = "not_yet_anchored"

    def __init__(self, cert_id: str, state: str) -> None:
        self.cert_id = cert_id
        self.state = state
        super().__init__(
            f"证照{cert_id}尚未完成上链锚定（当前：{state}），请待锚定完成后再变更状态",
            f"certificate {cert_id} is not anchored yet (state: {state})",
        )


class StatusChangeRefused(IssuanceError):
    """The chain refused a status change; `error` is the contract's error name."""

    code = "status_change_refused"

    def __init__(self, message: str, message_en: str, error: str) -> None:
        self.error = error
        super().__init__(message, message_en)


class ChainUnreachable(IssuanceError):
    """No chain node answered; nothing was changed on chain. Issuance does not raise this (it queues)."""

    code = "chain_unreachable"


class FieldKeyError(IssuanceError):
    """The field-encryption key is missing, malformed, or not the key the data was sealed with."""

    code = "field_key_error"


class ConfigError(IssuanceError):
    """The issuer service is not configured completely (which setting is missing is named)."""

    code = "config_error"
