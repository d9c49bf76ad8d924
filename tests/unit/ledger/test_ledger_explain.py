"""ledger/explain.py speaks for the contracts: every custom error they declare has a plain message,
and no message waits for an error that no contract (nor OpenZeppelin) declares.

The declarations are read from the Solidity sources (no compiler needed), so renaming or adding
an error in contracts/ without updating the messages fails here, not in front of a clerk.
"""

from __future__ import annotations

import re
from pathlib import Path

from ledger.explain import _MESSAGES, explain

ROOT = Path(__file__).resolve().parents[3]
CONTRACT_SOURCES = sorted((ROOT / "contracts").glob("*.sol")) + sorted((ROOT / "contracts" / "lib").glob("*.sol"))
OPENZEPPELIN = ROOT / "node_modules" / "@openzeppelin" / "contracts"

_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_ERROR_DECLARATION = re.compile(r"\berror\s+([A-Za-z_$][A-Za-z0-9_$]*)\s*\(")


def declared_errors(files: list[Path]) -> set[str]:
    """Names of `error Name(...)` declarations, comments stripped (NatSpec mentions errors too)."""
    names: set[str] = set()
    for path in files:
        names |= set(_ERROR_DECLARATION.findall(_COMMENTS.sub("", path.read_text())))
    return names


def test_the_declaration_parser_finds_the_contracts_errors() -> None:
    found = declared_errors(CONTRACT_SOURCES)
    assert {"NotOfficer", "CertificateNotSuspended", "LogDidNotGrow", "NotBound"} <= found


def test_every_error_the_contracts_declare_has_a_message() -> None:
    missing = sorted(declared_errors(CONTRACT_SOURCES) - _MESSAGES.keys())
    assert missing == [], f"contract errors without a message in ledger/explain.py: {missing}"


def test_every_message_names_an_error_that_is_declared() -> None:
    assert OPENZEPPELIN.is_dir(), "node_modules/@openzeppelin/contracts is needed to check OpenZeppelin's errors"
    declared = declared_errors(CONTRACT_SOURCES) | declared_errors(sorted(OPENZEPPELIN.rglob("*.sol")))
    unknown = sorted(_MESSAGES.keys() - declared)
    assert unknown == [], f"messages for errors no contract declares (never shown): {unknown}"


def test_a_known_error_is_explained_with_its_message_name_and_arguments() -> None:
    text = explain("CertificateNotSuspended", {"certHash": b"\xab" * 32})
    assert text.startswith(_MESSAGES["CertificateNotSuspended"])
    assert "不能恢复" in text
    assert text.endswith(f"(CertificateNotSuspended: certHash=0x{'ab' * 32})")


def test_an_error_without_a_message_still_names_itself() -> None:
    text = explain("SomeFutureError", {"id": 7})
    assert "SomeFutureError" in text and "id=7" in text
