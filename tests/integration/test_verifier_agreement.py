"""The indexed verifier and the naive verifier agree on a generated mix of real chain histories.

Hypothesis draws a history — certificates (type, validity window, holder binding), status
changes (suspend / reinstate / revoke), recognition rules set with open or bounded windows or
withdrawn, extra blocks, the confirmations a verifier asks for and when it verifies — and
the test plays it on anvil through the IssuerService, its AnchorWorker and regional
proposals. Every certificate is then verified in every region through the synced index and
through one eth_call per fact: the two answers must be the same, and both must be the verdict
a plain model of the history predicts.

The world (one anvil, one consortium, one department) lives for the whole module, so each
example starts from the rules and certificates the earlier ones left: a mix, not a reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from common.document import type_code_bytes32
from issuers.service import IssuedCertificate
from ledger.anvil import start_anvil
from tests.integration.verdict_world import (
    BJ,
    HE,
    REGIONS,
    SH,
    TJ,
    TYPES,
    World,
    comparable,
    days,
    holder_address,
    new_holder_key,
)
from verifier.checks import CHINA_TZ

DAY = 86_400
VALIDITY = ("current", "expired", "future")
STATUS_ACTIONS = ("suspend", "reinstate", "revoke")
#: Withdrawals weigh double, or open rules for every region soon make every region accept everything.
RULE_ACTIONS = ("set-open", "set-window", "withdraw", "withdraw")
#: (verifier region, issuer region); 0 = every region.
RULE_SCOPES = ((SH, BJ), (SH, 0), (TJ, BJ), (HE, 0))


@dataclass(frozen=True)
class CertSpec:
    type_code: str
    validity: str
    bound: bool


@dataclass(frozen=True)
class History:
    rules: list[tuple[tuple[int, int], str, str]]
    certs: list[CertSpec]
    status_ops: list[tuple[int, str]]
    extra_blocks: int
    confirmations: int
    verify_after_days: int


histories = st.builds(
    History,
    rules=st.lists(st.tuples(st.sampled_from(RULE_SCOPES), st.sampled_from(RULE_ACTIONS), st.sampled_from(TYPES)),
                   max_size=2),
    certs=st.lists(st.builds(CertSpec, st.sampled_from(TYPES), st.sampled_from(VALIDITY), st.booleans()),
                   min_size=1, max_size=3),
    status_ops=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(STATUS_ACTIONS)), max_size=4),
    extra_blocks=st.integers(0, 2),
    confirmations=st.integers(1, 3),
    verify_after_days=st.sampled_from((0, 2, 400)),
)


@dataclass
class Model:
    """What the history did, as plain data: the oracle both verifiers are held to."""

    #: (verifier region, type, issuer region) -> (valid from, valid until or None)
    rules: dict[tuple[int, str, int], tuple[int, int | None]] = field(default_factory=dict)

    def in_force(self, key: tuple[int, str, int], at: int) -> bool:
        window = self.rules.get(key)
        return window is not None and window[0] <= at and (window[1] is None or at < window[1])

    def recognised(self, verifier: int, type_code: str, at: int) -> bool:
        return verifier == BJ or self.in_force((verifier, type_code, BJ), at) or self.in_force(
            (verifier, type_code, 0), at)


@pytest.fixture(scope="module")
def world(artifacts, tmp_path_factory) -> Iterator[World]:  # type: ignore[no-untyped-def]
    node = start_anvil()
    w = World.create(node, tmp_path_factory.mktemp("agreement"), artifacts)
    w.register("bj-amr")
    yield w
    w.net.rpc.close()
    node.stop()


@pytest.fixture(scope="module")
def model() -> Model:
    # World.create: Tianjin and Hebei recognise both types from Beijing, open-ended.
    return Model({(v, t, BJ): (0, None) for v in (TJ, HE) for t in TYPES})


def _apply_rule(w: World, model: Model, scope: tuple[int, int], action: str, type_code: str) -> None:
    verifier, issuer_region = scope
    key = (verifier, type_code, issuer_region)
    if action == "withdraw":
        window = model.rules.get(key)
        if window is None or (window[1] is not None and window[1] <= w.chain_time() + 60):
            return  # no rule that has not ended: the contract would refuse
        w.net.regional(verifier, "RecognitionPolicy", "withdrawRecognition", verifier,
                       type_code_bytes32(type_code), issuer_region)
        model.rules[key] = (window[0], w.chain_time())  # ends at the withdrawal's block time
        return
    if action == "set-open":
        start, until = 0, None
    else:
        start, until = w.chain_time() + DAY, w.chain_time() + 3 * DAY
    w.net.recognise(verifier, type_code, issuer_region, start, until or 0)
    model.rules[key] = (start, until)


def _document_window(w: World, validity: str) -> tuple[date | None, date]:
    """The validity window to issue with (None: the sample's own start, before late 2025)."""
    today = w.today()
    if validity == "current":
        return None, today + days(3 * 365)
    if validity == "expired":
        return None, today - days(1)
    return today + days(30), today + days(30 + 5 * 365)


def _expected(model: Model, cert: IssuedCertificate, status: str, region: int, at: int, head: int,
              confirmations: int) -> str:
    assert cert.block_number is not None
    if head - cert.block_number + 1 < confirmations:
        return "PENDING_FINALITY"
    if status == "revoked":
        return "REVOKED"
    if status == "suspended":
        return "SUSPENDED"
    day = datetime.fromtimestamp(at, CHINA_TZ).date().isoformat()
    if cert.document["validUntil"] is not None and day > cert.document["validUntil"]:
        return "EXPIRED"
    if day < cert.document["validFrom"]:
        return "NOT_YET_VALID"
    if not model.recognised(region, cert.type_code, at):
        return "NOT_RECOGNISED"
    return "VALID"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories)
def test_indexed_and_naive_verifiers_agree_on_generated_histories(world: World, model: Model,
                                                                   history: History) -> None:
    w = world
    dept = w.departments["bj-amr"]
    for scope, action, type_code in history.rules:
        _apply_rule(w, model, scope, action, type_code)

    holder_keys = [new_holder_key() if spec.bound else None for spec in history.certs]
    documents = []
    for spec, key in zip(history.certs, holder_keys, strict=True):
        start, until = _document_window(w, spec.validity)
        documents.append(w.document(dept, spec.type_code, holder=holder_address(key) if key else None,
                                    valid_from=start, valid_until=until))
    certs = w.issue(dept, documents, settle=False)

    status = ["none"] * len(certs)
    for index, action in history.status_ops:
        i = index % len(certs)
        allowed = {"suspend": status[i] == "none", "reinstate": status[i] == "suspended",
                   "revoke": status[i] != "revoked"}[action]
        if allowed:
            w.change_status(dept, certs[i], action)
            status[i] = {"suspend": "suspended", "reinstate": "none", "revoke": "revoked"}[action]
    if history.extra_blocks:
        w.mine(history.extra_blocks)

    # Verifying days later: the chain has made blocks meanwhile (a verdict's facts must be as
    # young as the bound), so its clock moves on — and back afterwards, for the next history.
    before_later = w.node.rpc("evm_snapshot") if history.verify_after_days else None
    try:
        if history.verify_after_days:
            w.advance(history.verify_after_days * DAY)
        w.views.sync()
        head = w.net.rpc.block_number()
        at = w.now()
        for cert, key, state in zip(certs, holder_keys, status, strict=True):
            text = w.code(cert, now=at, holder_key=key)
            for region in REGIONS:
                outcome = w.verify(text, region, now=at, confirmations=history.confirmations, sync=False)
                assert comparable(outcome.naive) == comparable(outcome.indexed)
                assert outcome.verdict == _expected(model, cert, state, region, at, head, history.confirmations)
                event(f"verdict {outcome.verdict}")
    finally:
        if before_later is not None:
            w.node.rpc("evm_revert", [before_later])
