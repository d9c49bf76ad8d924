"""The clerk page's offline words are the server's: the sentences clerk-offline-core.mjs builds itself
mirror verifier/verdicts.py (ages, fresh and stale facts), checked by running the module in Node; and
the signed snapshot its Node tests open is one verifier/snapshot.load_snapshot accepts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from common.eip712 import Domain
from verifier.snapshot import load_snapshot
from verifier.verdicts import _age_words, facts_fresh_text, facts_stale_text

ROOT = Path(__file__).resolve().parents[3]
CORE = ROOT / "api" / "pages" / "static" / "clerk-offline-core.mjs"
AGES = [0, 1, 59, 119, 120, 121, 3599, 7199, 7200, 7201, 86_399, 3 * 86_400 - 1, 3 * 86_400, 30 * 86_400 + 5]


def _node(script: str) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    out = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30,
                         check=True)
    return list(json.loads(out.stdout))


def test_age_and_freshness_sentences_match_the_servers() -> None:
    cases = [(age, bound) for age in AGES for bound in (30, 28_800)]
    script = (f"import * as c from {json.dumps(CORE.as_uri())};"
              f"const cases = {json.dumps(cases)};"
              "const out = [];"
              "for (const [a, b] of cases) { out.push(c.ageWords(a), c.factsFreshText('离线可信名录', 7, a, b),"
              " c.factsStaleText('离线可信名录', 7, 1000, a, b), c.factsStaleText('离线可信名录', 0, 0, a, b)); }"
              "console.log(JSON.stringify(out));")
    expected = []
    for age, bound in cases:
        expected += [_age_words(age), facts_fresh_text("snapshot", 7, age, bound),
                     facts_stale_text("snapshot", 7, 1000, age, bound), facts_stale_text("snapshot", 0, 0, age, bound)]
    assert _node(script) == expected


def test_the_node_tests_signed_snapshot_loads_in_python() -> None:
    fixture = json.loads((ROOT / "tests" / "js" / "fixtures" / "signed-snapshot.json").read_text())
    domain = Domain(fixture["domain"]["chainId"], fixture["domain"]["verifyingContract"])
    assert load_snapshot(fixture["text"], fixture["publisher"], domain).height == 120
