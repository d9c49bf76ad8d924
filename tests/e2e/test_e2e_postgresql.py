"""The API on PostgreSQL over real HTTP: certificates, credentials and the verification log in one
PostgreSQL database, as the operations section of README.md deploys it (the other e2e tests use
the demo's SQLite file). The log is written by the thread writer here (`LogWriter`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.auditlog import LogWriter, check_log
from ledger.anvil import IDLE_BLOCK_TIME_S, start_anvil
from tests.conftest import fresh_pg_database
from tests.e2e.conftest import issue_licence, present, wait_anchored
from tests.e2e.stack import Stack, running_stack


@pytest.fixture(scope="module")
def pg_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with fresh_pg_database("huren_e2e") as db_url:
        node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)
        try:
            with running_stack(node, tmp_path_factory.mktemp("pg-stack"), db_url=db_url,
                               presentation_ttl_s=300) as s:
                yield s
        finally:
            node.stop()


def test_the_log_of_an_api_on_postgresql_is_written_by_a_thread(pg_stack):
    assert type(pg_stack.app.state.runtime.log_writer) is LogWriter


def test_a_verification_over_http_is_logged_in_postgresql(pg_stack):
    cert_id, _, holder = issue_licence(pg_stack, 40)
    wait_anchored(pg_stack, holder, cert_id)
    with pg_stack.client("verifier-130000") as c:
        body = c.post("/v1/verify", json={"presentation": present(pg_stack, holder, cert_id)}).json()
    assert body["verdict"] == "VALID"
    entry = pg_stack.app.state.runtime.log.get(body["log_entry"]["logSeq"])
    assert entry is not None and (entry.verdict, entry.region) == ("VALID", 130000)


def test_text_and_reference_verifications_extend_one_intact_chain(pg_stack):
    cert_id, _, holder = issue_licence(pg_stack, 41)
    wait_anchored(pg_stack, holder, cert_id)
    seqs = []
    with pg_stack.client("verifier-110000") as c:
        for _ in range(3):  # the fast lane, awaiting the writer thread
            seqs.append(c.post("/v1/verify", json={"presentation": present(pg_stack, holder, cert_id)})
                        .json()["log_entry"]["logSeq"])
        with pg_stack.client(holder) as wallet:  # a reference: the route's thread, the synchronous append
            reference = wallet.post(f"/v1/wallet/certificates/{cert_id}/presentation",
                                    json={"purpose": "老式扫码枪"}).json()["reference"]
        seqs.append(c.post("/v1/verify", json={"reference": reference}).json()["log_entry"]["logSeq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    log = pg_stack.app.state.runtime.log
    report = check_log(log, None, None, None)
    assert report.ok, report.text()
