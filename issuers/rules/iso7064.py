"""ISO/IEC 7064 check characters: MOD 11-2 (pure) and MOD 37,36 (hybrid).

Two national formats rest on ISO 7064:

* GB 11643 resident ID numbers end in an ISO 7064 MOD 11-2 check character ("X" for 10).
  `resident_id` spells the GB 11643 weights out, as the standard does; the two agree, and a
  test holds them to it.
* GB/T 36904 certificate identifiers end in an ISO 7064 MOD 37,36 check character over the
  type code, issuer code, serial and version (see `cert_id`).

MOD 37,36 is the "hybrid" system for alphanumeric data: M = 36 characters (0-9, A-Z),
arithmetic modulo M and M+1. Like every ISO 7064 system it detects all single-character
substitutions and almost all adjacent transpositions, which is what a hand-typed identifier
needs. Test vector: "A12425GABC1234002" -> "M" (the example used by python-stdnum).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALPHANUMERIC",
    "mod_11_2_check_char",
    "mod_11_2_is_valid",
    "mod_37_36_check_char",
    "mod_37_36_is_valid",
]

#: The 36-character alphabet of MOD 37,36: digits then upper-case Latin letters.
ALPHANUMERIC: Final[str] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE: Final[dict[str, int]] = {ch: i for i, ch in enumerate(ALPHANUMERIC)}


def _values(data: str) -> list[int]:
    try:
        return [_VALUE[ch] for ch in data]
    except KeyError as exc:
        raise ValueError(f"ISO 7064 MOD 37,36 takes 0-9 and A-Z only; {exc.args[0]!r} is not allowed") from None


def mod_37_36_check_char(data: str) -> str:
    """The MOD 37,36 check character for `data` (non-empty, 0-9 and upper-case A-Z)."""
    if not data:
        raise ValueError("ISO 7064 MOD 37,36 needs at least one character")
    m = 36
    p = m
    for v in _values(data):
        s = (p + v) % m or m
        p = (2 * s) % (m + 1)
    return ALPHANUMERIC[(m + 1 - p) % m]


def mod_37_36_is_valid(data_with_check: str) -> bool:
    """True if the last character is the MOD 37,36 check character of the rest."""
    if len(data_with_check) < 2:
        return False
    try:
        return mod_37_36_check_char(data_with_check[:-1]) == data_with_check[-1]
    except ValueError:
        return False


def mod_11_2_check_char(digits: str) -> str:
    """The MOD 11-2 check character ("0"-"9" or "X") for a string of decimal digits."""
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError("ISO 7064 MOD 11-2 takes a non-empty string of digits 0-9")
    p = 0
    for ch in digits:
        p = ((p + int(ch)) * 2) % 11
    check = (12 - p) % 11
    return "X" if check == 10 else str(check)


def mod_11_2_is_valid(data_with_check: str) -> bool:
    """True if the last character is the MOD 11-2 check character of the digits before it."""
    if len(data_with_check) < 2:
        return False
    try:
        return mod_11_2_check_char(data_with_check[:-1]) == data_with_check[-1]
    except ValueError:
        return False
