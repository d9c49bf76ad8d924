"""The Python engine against every conformance vector (tests/vectors/hr2 and hr1, docs: tests/vectors/README.md).

Each vector is a code, the chain facts it needs (as data), an explicit verifier policy and a
time; the engine must give the vector's verdict with the vector's check failing first (none
for VALID). The JavaScript verifier runs the same files (tests/js/vectors.test.mjs).

A vector that fails here after a deliberate change of the rules is regenerated with
`.venv/bin/python -m tests.vectors.generate` (real issuance on anvil, about 15 s).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.vectors.chainview import FactsChainView, policy_from_vector
from verifier.engine import verify_text

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
SETS = ("hr2", "hr1")
FILES = sorted(f for name in SETS for f in (VECTORS / name).glob("*.json"))
VERDICTS = {
    "VALID", "TAMPERED", "NOT_ANCHORED", "PENDING_FINALITY", "UNKNOWN_ISSUER", "ISSUER_NOT_AUTHORISED",
    "ISSUER_REVOKED", "REVOKED", "SUSPENDED", "EXPIRED", "NOT_YET_VALID", "NOT_RECOGNISED", "PRESENTATION_EXPIRED",
    "HOLDER_BINDING_FAILED", "MALFORMED", "UNAVAILABLE",
}
POLICY_NAMES = {"region", "domain", "confirmations", "clock_skew_s", "max_presentation_age_s", "max_facts_age_s",
                "require_holder_binding", "accept_hr1", "suites"}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", FILES, ids=[f"{f.parent.name}/{f.stem}" for f in FILES])
def test_engine_gives_the_vectors_verdict_and_failing_check(path: Path) -> None:
    vector = _load(path)
    policy = policy_from_vector(vector["policy"])
    result = verify_text(vector["code"], FactsChainView(vector["facts"]), policy, vector["now"])
    failed = [c.name for c in result.checks if not c.ok]
    got = {"verdict": str(result.verdict), "check": failed[-1] if failed else None}
    assert got == vector["expected"], f"{vector['id']}: {vector['description']} — checks: {failed}"


@pytest.mark.parametrize("name", SETS)
def test_each_set_covers_every_verdict(name: str) -> None:
    assert {_load(f)["expected"]["verdict"] for f in (VECTORS / name).glob("*.json")} == VERDICTS


@pytest.mark.parametrize("name", SETS)
def test_each_sets_codes_are_of_its_format_except_its_decode_vectors(name: str) -> None:
    prefix = name.upper() + ":"
    for f in (VECTORS / name).glob("*.json"):
        vector = _load(f)
        assert vector["code"].startswith(prefix) or vector["expected"]["check"] == "decode", f.name


def test_no_hr1_code_is_valid_without_a_holder_signature() -> None:
    from verifier.codec import decode

    for f in (VECTORS / "hr1").glob("*.json"):
        vector = _load(f)
        if vector["expected"]["verdict"] == "VALID":
            assert decode(vector["code"]).holder_signature is not None, f.name


def test_every_vector_states_every_policy_parameter_and_the_stamping_keys() -> None:
    for f in FILES:
        vector = _load(f)
        assert vector["format"] == "huren-conformance-vector/3", f.name
        assert set(vector["policy"]) == POLICY_NAMES, f.name
        assert vector["facts"] is None or "stampKeys" in vector["facts"], f.name
