"""Why a node refuses another node's request, one typed exception per reason.

The calling node's operator reads these (in its logs, from the body of the 401/403), so each
names the reason in words a person can act on: re-sign with the registered key, fix the clock,
register the node. 401 means "this request does not prove who sent it" (no signature, a bad one,
a stale or replayed one, a key nobody registered); 403 means "the proof names a sender the
registry does not allow now" (a region without a node, a retired key, a key outside its window or
registered for another purpose).

Messages never contain the signature, the key bytes or the request body.
"""

from __future__ import annotations


class RequestRefused(Exception):
    """A node-to-node request that is not accepted; `status` is 401 or 403."""

    status = 401
    code = "NODE_REQUEST_REFUSED"
    hint = ""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_body(self) -> dict[str, object]:
        """The API's error shape (api.errors.error_body): code, message, hint."""
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}


class SignatureMissing(RequestRefused):
    code = "NODE_SIGNATURE_MISSING"
    hint = "节点间请求须带 Signature-Input 与 Signature 头 (RFC 9421)，由发起节点的请求签名密钥签署。"


class SignatureInvalid(RequestRefused):
    code = "NODE_SIGNATURE_INVALID"
    hint = "请确认发起节点使用注册表中登记的请求签名密钥签名，且签名后未改动请求。"


class DigestMismatch(RequestRefused):
    code = "NODE_DIGEST_MISMATCH"
    hint = "Content-Digest (RFC 9530) 须为实际请求体的摘要；请勿在签名后改动请求体。"


class SignatureTooOld(RequestRefused):
    code = "NODE_SIGNATURE_TOO_OLD"
    hint = "每个请求须在发出前即时签名；请检查发起节点的系统时钟 (NTP)。"


class SignatureExpired(RequestRefused):
    code = "NODE_SIGNATURE_EXPIRED"
    hint = "签名的 expires 已过；请重新签名后再发。"


class SignatureFromFuture(RequestRefused):
    code = "NODE_SIGNATURE_FROM_FUTURE"
    hint = "签名的 created 晚于本节点时间；请检查两节点的系统时钟 (NTP)。"


class Replayed(RequestRefused):
    code = "NODE_REQUEST_REPLAYED"
    hint = "每个请求须使用新的 nonce 重新签名；重放的请求一律拒绝。"


class UnknownKey(RequestRefused):
    code = "NODE_KEY_UNKNOWN"
    hint = "keyid 须为 “地区代码:密钥编号”，且该密钥已登记在链上节点注册表中。"


class UnknownNode(RequestRefused):
    status = 403
    code = "NODE_UNKNOWN"
    hint = "该地区在链上节点注册表中没有节点（未登记或已移除）；登记须经该地区双人双锁审批。"


class WrongKey(RequestRefused):
    status = 403
    code = "NODE_KEY_WRONG"
    hint = ("节点间请求只能用登记为“请求签名”(request-signing) 用途的密钥签名："
            "国际算法套件为 Ed25519，国密套件为 SM2（sm2-sm3）。")


class RetiredKey(RequestRefused):
    status = 403
    code = "NODE_KEY_RETIRED"
    hint = "该密钥已在注册表中停用；请用当前登记的请求签名密钥重新签名。"


class KeyOutsideWindow(RequestRefused):
    status = 403
    code = "NODE_KEY_OUTSIDE_WINDOW"
    hint = "签名时间不在该密钥的有效期内；请用签名时有效的密钥签名，并检查系统时钟。"
