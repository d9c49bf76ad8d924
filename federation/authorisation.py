"""授权用证 (holder-authorised access): the 用证码 format and the rules an issuing node applies.

A holder authorises one receiving region (optionally one department of it, by its 统一社会信用代码)
to obtain chosen fields of one of their certificates, for a stated 事由 and within a time window.
The result is a 用证码 the holder reads out, types or shows as a QR code:

    HRA1:<issuing region>:XXXX-XXXX-XXXX-XXXX

Why this shape: the region (6 digits) names the node that holds the authorisation — never an
address, so the receiving node finds that node only through the chain's node registry (as for
reference codes, HRR1). The token is 15 random characters (75 bits) and one check character over
Crockford's base-32 alphabet (digits and capitals without I, L, O, U), so it can be read out and
typed: parsing ignores case, spaces and hyphens and reads O as 0 and I/L as 1; the check character
(ISO 7064 hybrid MOD 33,32 — the MOD 37,36 scheme over this 32-character alphabet) catches every
single mistyped character before any node is asked. The issuing node stores only a hash of the
token, so a reader of its database cannot use an authorisation.

`judge` is the issuing node's rule, pure: whether a request of a receiving node (its region as its
signature proves, the department it vouches its clerk belongs to, the fields it asks for) may
have what the authorisation allows, now. The presentation it then builds discloses exactly the
authorised fields, never more; asking for more is refused, not trimmed, so a tampered request is
seen as such.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

PREFIX: Final[str] = "HRA1:"
#: Crockford base 32: no I, L, O, U (read alike or spell words).
ALPHABET: Final[str] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_CHARS: Final[int] = 15
TOKEN_CHARS: Final[int] = RANDOM_CHARS + 1
#: The holder's choice of window: from an hour to a week, a day if not said.
MIN_WINDOW_S: Final[int] = 3600
MAX_WINDOW_S: Final[int] = 7 * 86400
DEFAULT_WINDOW_S: Final[int] = 86400

_TYPED_ALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE = re.compile(r"HRA1:([1-9][0-9]{5}):([0-9A-Z -]{16,40})")


class AuthorisationCodeError(ValueError):
    """Not a 用证码; `zh` says why in words a clerk reads."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} ({en})")
        self.zh = zh
        self.en = en


def _checksum(chars: str) -> int:
    modulus = len(ALPHABET)
    check = modulus // 2
    for ch in chars:
        check = (((check or modulus) * 2) % (modulus + 1) + ALPHABET.index(ch)) % modulus
    return check


def check_char(body: str) -> str:
    """The ISO 7064 hybrid MOD 33,32 check character of `body` (characters of ALPHABET)."""
    modulus = len(ALPHABET)
    return ALPHABET[(1 - ((_checksum(body) or modulus) * 2) % (modulus + 1)) % modulus]


def new_token() -> str:
    """A fresh token: 15 random characters and their check character (canonical, no hyphens)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return body + check_char(body)


def make_code(region: int, token: str) -> str:
    """``HRA1:<region>:XXXX-XXXX-XXXX-XXXX``. ValueError for a bad region or a token that fails its check."""
    if type(region) is not int or not 100000 <= region <= 999999:
        raise ValueError(f"a region code has 6 digits, not {region!r}")
    canonical = canonical_token(token)
    return f"{PREFIX}{region}:" + "-".join(canonical[i:i + 4] for i in range(0, TOKEN_CHARS, 4))


def canonical_token(typed: str) -> str:
    """The token as stored and hashed: capitals, no spaces or hyphens, O read as 0 and I/L as 1."""
    if not isinstance(typed, str) or len(typed) > 40:
        raise AuthorisationCodeError("用证码令牌格式错误", "token must be a string of at most 40 characters")
    token = typed.upper().replace("-", "").replace(" ", "").translate(_TYPED_ALIKE)
    if len(token) != TOKEN_CHARS or any(ch not in ALPHABET for ch in token):
        raise AuthorisationCodeError(f"用证码令牌应为 {TOKEN_CHARS} 位字母数字", f"token must be {TOKEN_CHARS} "
                                     "characters of 0-9 and A-Z without I, L, O, U")
    if _checksum(token) != 1:
        raise AuthorisationCodeError("用证码校验位不符，请核对是否输错", "token check character does not match")
    return token


def is_code(text: str) -> bool:
    """Whether a scanned or typed text looks like a 用证码 (then `parse_code` judges it)."""
    return isinstance(text, str) and text.strip().upper().startswith(PREFIX)


def parse_code(text: str) -> tuple[int, str]:
    """(issuing region, canonical token) of a typed or scanned 用证码; AuthorisationCodeError otherwise."""
    if not isinstance(text, str) or len(text) > 64:
        raise AuthorisationCodeError("用证码格式错误", "a 用证码 is at most 64 characters")
    match = _CODE.fullmatch(text.strip().upper())
    if match is None:
        raise AuthorisationCodeError("用证码格式错误，应为 HRA1:<地区代码>:<16 位令牌>",
                                     "a 用证码 is HRA1:<region>:<token>")
    return int(match.group(1)), canonical_token(match.group(2))


@dataclass(frozen=True)
class Authorisation:
    """One holder's authorisation as the issuing node holds it (the token only as its hash)."""

    id: str
    holder_hash: str
    cert_id: str
    region: int  # the receiving region
    department: str | None  # one department of it (统一社会信用代码), or any
    fields: tuple[str, ...]
    purpose: str
    created_at: int
    expires_at: int
    used_at: int | None = None
    used_by_region: int | None = None
    withdrawn_at: int | None = None


@dataclass(frozen=True)
class TakeAsk:
    """What a receiving node asks: its region (from its signature), its clerk's department, the fields."""

    region: int
    department: str | None
    fields: tuple[str, ...] | None  # None: what the authorisation allows


@dataclass(frozen=True)
class Refusal:
    """Why an authorisation gives nothing: a code, the status both nodes answer with, words a clerk reads."""

    code: str
    status: int
    message: str
    hint: str


def refusal(code: str) -> Refusal:
    """The refusal of a code in REFUSALS (also how a receiving node rebuilds one a peer relayed)."""
    status, message, hint = REFUSALS[code]
    return Refusal(code, status, message, hint)


#: Never 401/403: those mean a refused node signature between nodes (federation.peers).
REFUSALS: Final[dict[str, tuple[int, str, str]]] = {
    "AUTHORISATION_UNKNOWN": (404, "没有这个用证码 (unknown authorisation)", "请持证人核对用证码，或重新授权。"),
    "AUTHORISATION_WRONG_REGION": (409, "该用证码未授权本地区使用 (authorised for another region)",
                                   "请持证人为本地区重新授权。"),
    "AUTHORISATION_WRONG_DEPARTMENT": (409, "该用证码只授权给另一个部门使用 (authorised for another department)",
                                       "请持证人为本部门重新授权。"),
    "AUTHORISATION_WITHDRAWN": (410, "持证人已撤回该授权 (authorisation withdrawn)", "请持证人重新授权。"),
    "AUTHORISATION_USED": (409, "该用证码已被使用过（一次性）(authorisation already used)",
                           "请持证人重新授权。"),
    "AUTHORISATION_EXPIRED": (410, "该用证码已过授权期限 (authorisation expired)", "请持证人重新授权。"),
    "AUTHORISATION_FIELDS_EXCEEDED": (409, "请求的信息超出持证人授权的范围 (fields beyond the authorisation)",
                                      "只能取得持证人授权的信息项。"),
    "AUTHORISATION_NOT_RECOGNISED": (409, "本地区未认可发证地区的该类证照，发证地节点不予提供 (not recognised)",
                                     "证照本身可能真实有效；请按本地区规定办理。"),
}


def judge(auth: Authorisation | None, ask: TakeAsk, now: int) -> Refusal | None:
    """None if `ask` may have what `auth` allows at `now`; else the refusal.

    The region and department are judged first, so another region learns only that the code is not
    for it, not whether it was used or withdrawn.
    """
    if auth is None:
        return refusal("AUTHORISATION_UNKNOWN")
    if ask.region != auth.region:
        return refusal("AUTHORISATION_WRONG_REGION")
    if auth.department is not None and ask.department != auth.department:
        return refusal("AUTHORISATION_WRONG_DEPARTMENT")
    if auth.withdrawn_at is not None:
        return refusal("AUTHORISATION_WITHDRAWN")
    if auth.used_at is not None:
        return refusal("AUTHORISATION_USED")
    if now > auth.expires_at:
        return refusal("AUTHORISATION_EXPIRED")
    if ask.fields is not None and not set(ask.fields) <= set(auth.fields):
        return refusal("AUTHORISATION_FIELDS_EXCEEDED")
    return None


def disclosed_fields(auth: Authorisation, ask: TakeAsk) -> list[str]:
    """The fields the presentation discloses: the authorised set, or the asked part of it (after `judge`)."""
    asked: Sequence[str] = auth.fields if ask.fields is None else ask.fields
    return [f for f in auth.fields if f in set(asked)]
