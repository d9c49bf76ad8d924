"""Reports of use for the holders' 用证记录 (federation.use_reports): which use is owed to which node,
the retry schedule, and the outbox and received-report tables on a real SQLite database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from federation.use_reports import (
    PENDING,
    REFUSED,
    RETRY_MAX_S,
    SENT,
    ReceivedUses,
    UseOutbox,
    is_final_refusal,
    issuing_region,
    metadata,
    report_for,
    retry_delay_s,
)

BJ, HE = 110000, 130000
ROOT = bytes(range(32))
WINDOW = "河北政务服务中心 1 号窗口"


def _disclosed(region: object = BJ) -> dict[str, object]:
    return {"id": "1.2.156.3005.2.X.Y.1.001.0", "issuer.region": region, "claims.entityName": "某公司"}


def _owed(disclosed: dict[str, object], root: bytes | None = ROOT, own: int = HE):  # type: ignore[no-untyped-def]
    return report_for(disclosed, root, own, "VALID", "办理企业登记", 1_800_000_000, WINDOW, None)


@pytest.fixture
def engine(tmp_path) -> Engine:  # type: ignore[no-untyped-def]
    e = create_engine(f"sqlite:///{tmp_path / 'node.sqlite'}")
    metadata.create_all(e)
    return e


def test_the_issuing_region_is_the_disclosed_issuer_region_as_int_or_text():
    assert issuing_region(_disclosed(BJ)) == BJ and issuing_region(_disclosed(str(BJ))) == BJ


@pytest.mark.parametrize("value", [None, "", "北京", True, 12, "1100000", 1.1e5, ["110000"]])
def test_an_issuer_region_that_is_not_a_division_code_gives_no_region(value):
    assert issuing_region(_disclosed(value)) is None


def test_a_use_of_another_regions_certificate_is_owed_to_that_region_with_the_window_and_this_region():
    owed = _owed(_disclosed(BJ))
    assert owed is not None
    region, report = owed
    assert (region, report.region, report.window, report.certificate_hash) == (BJ, HE, WINDOW, ROOT.hex())
    assert (report.verdict, report.purpose, report.cert_id) == ("VALID", "办理企业登记", _disclosed()["id"])


def test_a_use_of_this_regions_own_certificate_is_not_reported():
    assert _owed(_disclosed(HE)) is None


def test_a_verification_that_established_no_certificate_reports_nothing():
    assert _owed(_disclosed(BJ), root=None) is None
    assert _owed({"issuer.region": BJ}) is None


def test_every_report_has_its_own_id():
    a, b = _owed(_disclosed()), _owed(_disclosed())
    assert a is not None and b is not None and a[1].report_id != b[1].report_id


def test_the_retry_delay_doubles_from_the_base():
    assert [retry_delay_s(n, base=2) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]


@given(st.integers(min_value=0, max_value=10_000))
def test_the_retry_delay_is_never_longer_than_the_cap_nor_shorter_than_the_base(attempts):
    assert 2.0 <= retry_delay_s(attempts) <= RETRY_MAX_S


@pytest.mark.parametrize(("status", "final"), [(404, True), (422, True), (400, True), (408, False),
                                               (429, False), (500, False), (503, False)])
def test_only_a_refusal_of_the_report_itself_stops_the_retries(status, final):
    assert is_final_refusal(status) is final


def test_a_due_row_is_taken_once_and_not_again_while_held(engine):
    box = UseOutbox(engine)
    owed = _owed(_disclosed())
    assert owed is not None
    box.add(*owed, now=100)
    taken = box.take_due(100)
    assert [(t[0], t[1], t[3]) for t in taken] == [(owed[1].report_id, BJ, 1)]
    assert box.take_due(101) == []


def test_a_failed_send_is_due_again_after_its_backoff(engine):
    box = UseOutbox(engine)
    owed = _owed(_disclosed())
    assert owed is not None
    box.add(*owed, now=100)
    (report_id, _, _, attempts), = box.take_due(100)
    box.retry_later(report_id, attempts, "down", now=100)
    assert box.take_due(100 + int(retry_delay_s(attempts)) - 1) == []
    assert [t[3] for t in box.take_due(100 + int(retry_delay_s(attempts)))] == [2]


def test_sent_and_refused_rows_are_never_due_again(engine):
    box = UseOutbox(engine)
    a, b = _owed(_disclosed()), _owed(_disclosed())
    assert a is not None and b is not None
    box.add(*a, now=100)
    box.add(*b, now=100)
    box.sent(a[1].report_id, 101)
    box.refused(b[1].report_id, "404 CERTIFICATE_UNKNOWN")
    assert box.take_due(10_000) == []
    assert box.states() == {a[1].report_id: SENT, b[1].report_id: REFUSED}
    assert PENDING not in box.states().values()


def test_a_report_received_twice_is_stored_once(engine):
    uses = ReceivedUses(engine)
    owed = _owed(_disclosed())
    assert owed is not None
    assert uses.record(HE, owed[1], 200) is True
    assert uses.record(HE, owed[1], 260) is False
    assert len(uses.of([owed[1].cert_id])) == 1


def test_the_same_report_id_from_another_region_is_another_report(engine):
    uses = ReceivedUses(engine)
    owed = _owed(_disclosed())
    assert owed is not None
    assert uses.record(HE, owed[1], 200) and uses.record(120000, owed[1], 200)
    assert sorted(u.region for u in uses.of([owed[1].cert_id])) == [120000, HE]


def test_received_uses_are_listed_only_for_the_certificates_asked(engine):
    uses = ReceivedUses(engine)
    owed = _owed(_disclosed())
    assert owed is not None
    uses.record(HE, owed[1], 200)
    assert uses.of(["1.2.156.3005.2.other"]) == [] and uses.of([]) == []
