"""The verification log against a real anvil and real databases (SQLite file and PostgreSQL).

Tampering is done the way an insider would do it: plain SQL on the log's tables.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update

from api.auditlog import (
    GENESIS_HASH,
    LOG_ANCHOR_ABI,
    LogAnchorer,
    LogBroken,
    LogRecord,
    LogWriter,
    ProblemKind,
    VerificationLog,
    chain_hash,
    check_log,
    entries_table,
    entry_fields,
    head_table,
)
from api.auditlog_cli import verify_log
from ledger.abi import ContractABI
from ledger.devnet import wait_for
from ledger.errors import LedgerError
from tests.fresh_loop import run_in_fresh_loop

HE = 130000
DOC = bytes.fromhex("5a" * 32)
VERDICTS = ["VALID", "NOT_RECOGNISED", "REVOKED", "SUSPENDED", "VALID", "TAMPERED", "PRESENTATION_EXPIRED"]


def _append(log: VerificationLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append(credential_id=f"hebei-clerk-{i % 4}", region=HE, certificate_hash=DOC,
                   verdict=VERDICTS[i % len(VERDICTS)], purpose="办理营业执照变更登记", nonce=i.to_bytes(12, "big"))


@pytest.fixture
def operator(devnet):  # type: ignore[no-untyped-def]
    return devnet.sender(devnet.new_account())


@pytest.fixture
def anchored_log(log, operator, devnet):  # type: ignore[no-untyped-def]
    """50 entries; heads anchored after 20 and after 40 entries; 41-50 not yet anchored."""
    anchorer = LogAnchorer(log, operator, devnet.manifest)
    _append(log, 20)
    assert anchorer.anchor_once().entries == 20
    _append(log, 20, 20)
    assert anchorer.anchor_once().entries == 40
    _append(log, 10, 40)
    anchorer.stop(final_anchor=False)  # hand the anchoring lease back, as a worker shutting down does
    return log


def _check(log, devnet, operator):  # type: ignore[no-untyped-def]
    return check_log(log, devnet.rpc, devnet.manifest, operator.address)


def _sql(log: VerificationLog, *statements) -> None:  # type: ignore[no-untyped-def]
    with log.engine.begin() as c:
        for s in statements:
            c.execute(s)


# ------------------------------------------------------------------------------------ the check


def test_clean_log_with_two_anchored_heads_checks_ok(anchored_log, devnet, operator):
    report = _check(anchored_log, devnet, operator)
    assert report.ok, report.text()
    assert (report.entries, report.last_seq, len(report.anchors), report.anchors_matched) == (50, 50, 2, 2)
    assert [a.entries for a in report.anchors] == [20, 40]
    assert all(a.block_number and a.tx_hash for a in report.anchors)
    assert report.head_hash == anchored_log.head().entry_hash
    assert "第 41–50 条尚未锚定" in report.text()


def test_edited_verdict_is_reported_at_its_seq(anchored_log, devnet, operator):
    assert anchored_log.get(17).verdict == "REVOKED"
    _sql(anchored_log, update(entries_table).where(entries_table.c.seq == 17).values(verdict="VALID"))
    report = _check(anchored_log, devnet, operator)
    assert not report.ok
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.EDITED, 17)
    assert "第 17 条记录被修改" in report.first_broken.zh


def test_deleted_entry_is_reported_at_its_seq(anchored_log, devnet, operator):
    _sql(anchored_log, delete(entries_table).where(entries_table.c.seq == 33))
    report = _check(anchored_log, devnet, operator)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.MISSING, 33)
    assert "entry 33 is missing" in report.first_broken.en


def test_swapped_entries_are_reported_at_the_first_of_them(anchored_log, devnet, operator):
    t = entries_table
    _sql(anchored_log,
         update(t).where(t.c.seq == 12).values(seq=-1),
         update(t).where(t.c.seq == 29).values(seq=12),
         update(t).where(t.c.seq == -1).values(seq=29))
    report = _check(anchored_log, devnet, operator)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.LINK_BROKEN, 12)


def _rewrite_from(log: VerificationLog, first: int) -> None:
    """Change verdicts from seq `first` on and recompute every hash and the head, as a careful forger would."""
    entries = list(log.entries(first))
    prev = log.get(first - 1).entry_hash if first > 1 else GENESIS_HASH
    with log.engine.begin() as c:
        for e in entries:
            forged = LogRecord(e.credential_id, e.region, e.certificate_hash, "VALID", e.purpose, e.nonce, e.at_ms)
            h = chain_hash(prev, entry_fields(e.seq, forged))
            c.execute(update(entries_table).where(entries_table.c.seq == e.seq)
                      .values(verdict="VALID", prev_hash=prev, entry_hash=h))
            prev = h
        c.execute(update(head_table).values(entry_hash=prev))


def test_rewritten_tail_after_an_anchor_is_reported_at_the_anchored_seq(anchored_log, devnet, operator):
    _rewrite_from(anchored_log, 31)
    assert check_log(anchored_log, None, None, None).ok, "the rewrite is consistent: only the anchor can tell"
    report = _check(anchored_log, devnet, operator)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.ANCHOR_MISMATCH, 40)
    assert "entries between seq 21 and 40 were rewritten" in report.first_broken.en
    assert report.anchors_matched == 1


def test_truncated_tail_is_reported_at_the_first_deleted_seq(anchored_log, devnet, operator):
    last_kept = anchored_log.get(35)
    _sql(anchored_log, delete(entries_table).where(entries_table.c.seq > 35),
         update(head_table).values(seq=35, entry_hash=last_kept.entry_hash))
    report = _check(anchored_log, devnet, operator)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.TRUNCATED, 36)
    assert "entries 36-40 were deleted" in report.first_broken.en


def test_deleting_the_unanchored_last_entry_is_caught_by_the_head_record(anchored_log, devnet, operator):
    _sql(anchored_log, delete(entries_table).where(entries_table.c.seq == 50))
    report = _check(anchored_log, devnet, operator)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.HEAD_MISMATCH, 50)


def test_deleted_head_record_is_reported_and_stops_appends(anchored_log, devnet, operator):
    _sql(anchored_log, delete(head_table))
    report = _check(anchored_log, devnet, operator)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.HEAD_MISMATCH, 51)
    with pytest.raises(LedgerError, match="head record is missing"):
        _append(anchored_log, 1, 50)
    with pytest.raises(LedgerError, match="head record is missing"):  # a restarted worker does not "repair" it
        _append(VerificationLog(anchored_log.engine), 1, 50)


def test_an_append_after_a_deleted_last_entry_still_points_at_it(anchored_log, devnet, operator):
    _sql(anchored_log, delete(entries_table).where(entries_table.c.seq == 50))
    _append(anchored_log, 1, 50)
    assert anchored_log.head().seq == 51
    report = _check(anchored_log, devnet, operator)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.MISSING, 50)


def test_a_forgers_own_anchor_does_not_vouch_for_a_rewritten_log(anchored_log, devnet, operator):
    _rewrite_from(anchored_log, 31)
    forger = devnet.sender(devnet.new_account())  # anyone may anchor heads, but only of their own log
    forger.transact(devnet.manifest.addresses["VerificationLogAnchor"],
                    ContractABI(LOG_ANCHOR_ABI).fn("anchorHead").encode(anchored_log.head().entry_hash, 50),
                    "forged anchor")
    assert _check(anchored_log, devnet, forger).ok, "the forged log matches the forger's own head..."
    report = _check(anchored_log, devnet, operator)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.ANCHOR_MISMATCH, 40), \
        "...but not the heads of the operator address the region publishes"


# ------------------------------------------------------------------------------------ anchoring


def test_anchorer_does_nothing_when_the_head_did_not_advance(anchored_log, devnet, operator):
    anchorer = LogAnchorer(anchored_log, operator, devnet.manifest)
    assert anchorer.anchor_once().entries == 50
    assert anchorer.anchor_once() is None
    assert [a.entries for a in anchored_log.anchors(operator.address)] == [20, 40, 50]


def test_anchorer_refuses_to_anchor_a_tampered_segment(anchored_log, devnet, operator):
    _sql(anchored_log, update(entries_table).where(entries_table.c.seq == 45).values(purpose="改过"))
    with pytest.raises(LogBroken) as broken:
        LogAnchorer(anchored_log, operator, devnet.manifest).anchor_once()
    assert broken.value.problem.seq == 45
    assert LogAnchorer(anchored_log, operator, devnet.manifest).chain_latest().entries == 40


def test_only_the_lease_holder_anchors(anchored_log, devnet, operator):
    first = LogAnchorer(anchored_log, operator, devnet.manifest)
    second = LogAnchorer(anchored_log, operator, devnet.manifest)
    assert first.anchor_once() is not None
    _append(anchored_log, 3, 50)
    assert second.anchor_once() is None, "the first anchorer holds the lease"
    first.stop(final_anchor=False)  # releases the lease
    assert second.anchor_once().entries == 53


def test_anchorer_taking_the_lease_back_first_rereads_the_nonce_the_other_process_moved_on(log, devnet):
    # Two processes, two TxSenders for one operator key: each counts nonces on its own.
    key = devnet.new_account()
    first = LogAnchorer(log, devnet.sender(key), devnet.manifest)
    second = LogAnchorer(log, devnet.sender(key), devnet.manifest)
    _append(log, 5)
    assert first.anchor_once().entries == 5  # first's sender now counts the next nonce as 1
    first.stop(final_anchor=False)
    _append(log, 5, 5)
    assert second.anchor_once().entries == 10  # ... and second used nonce 1
    second.stop(final_anchor=False)
    _append(log, 5, 10)
    assert first.anchor_once().entries == 15, "first send after taking the lease back"
    assert first.last_error == "" and second.last_error == ""
    assert [a.entries for a in log.anchors(key.address)] == [5, 10, 15]


def test_background_anchorer_anchors_as_the_log_grows(log, devnet, operator):
    anchorer = LogAnchorer(log, operator, devnet.manifest, interval=0.1).start()
    try:
        _append(log, 5)
        assert wait_for(lambda: anchorer.last_anchor is not None and anchorer.last_anchor.entries == 5, 15)
        _append(log, 5, 5)
        assert wait_for(lambda: anchorer.last_anchor.entries == 10, 15)
    finally:
        anchorer.stop()
    assert anchorer.last_error == ""
    assert _check(log, devnet, operator).ok


def test_receipt_entry_can_name_its_covering_anchor(anchored_log, operator):
    covering = anchored_log.anchor_covering(25, operator.address)
    assert covering is not None and covering.entries == 40 and covering.tx_hash
    assert anchored_log.anchor_covering(41, operator.address) is None


def test_hand_written_abi_matches_the_compiled_contract(artifacts):
    compiled = {(i["type"], i.get("name"), json.dumps(i.get("inputs"), sort_keys=True))
                for i in artifacts["VerificationLogAnchor"].abi}
    ours = {(i["type"], i.get("name"), json.dumps(i.get("inputs"), sort_keys=True)) for i in LOG_ANCHOR_ABI}
    # compiled inputs carry internalType; compare on name/type/indexed only
    def norm(items):  # type: ignore[no-untyped-def]
        return {(t, n, json.dumps([{k: p[k] for k in ("name", "type", "indexed") if k in p}
                                   for p in json.loads(i)], sort_keys=True)) for t, n, i in items}
    assert norm(ours) == norm(compiled)


# ------------------------------------------------------------------------------------ concurrency


def _assert_gap_free(log: VerificationLog, n: int) -> None:
    entries = list(log.entries())
    assert [e.seq for e in entries] == list(range(1, n + 1))
    assert log.head().seq == n
    report = check_log(log, None, None, None)
    assert report.ok, report.text()


def test_concurrent_appends_from_threads_form_one_gap_free_chain(log):
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(40):
                log.append(credential_id=f"w{k}", region=HE, certificate_hash=None, verdict="MALFORMED",
                           purpose="", nonce=bytes([k, i]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    _assert_gap_free(log, 320)


WORKER = r"""
import sys
from api.auditlog import VerificationLog
log = VerificationLog.from_url(sys.argv[1])
k = int(sys.argv[2])
for i in range(int(sys.argv[3])):
    log.append(credential_id=f"proc{k}", region=130000, certificate_hash=bytes([k]) * 32, verdict="VALID",
               purpose="并发写入", nonce=bytes([k, i % 256, i // 256]))
"""


def test_concurrent_appends_from_processes_form_one_gap_free_chain(db_url, tmp_path: Path):
    VerificationLog.from_url(db_url).engine.dispose()  # schema first, as the API's start-up does
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, db_url, str(k), "60"], stderr=subprocess.PIPE)
             for k in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    log = VerificationLog.from_url(db_url)
    _assert_gap_free(log, 240)
    by_worker = {}
    for e in log.entries():
        by_worker.setdefault(e.credential_id, []).append(int.from_bytes(e.nonce[1:2], "big")
                                                         + 256 * e.nonce[2])
    assert all(v == list(range(60)) for v in by_worker.values()), "each worker's entries keep their order"
    log.engine.dispose()


def test_concurrent_processes_creating_the_schema_do_not_collide(db_url):
    code = "import sys; from api.auditlog import VerificationLog; VerificationLog.from_url(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE) for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    log = VerificationLog.from_url(db_url)
    assert log.head().seq == 0
    log.engine.dispose()


def test_log_writer_group_commits_concurrent_requests(log):
    writer = LogWriter(log).start()
    results: list[int] = []
    lock = threading.Lock()

    def request(k: int) -> None:
        for i in range(50):
            entry = writer.append(LogRecord(f"w{k}", HE, DOC, "VALID", "", bytes([k, i])))
            with lock:
                results.append(entry.seq)

    threads = [threading.Thread(target=request, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert sorted(results) == list(range(1, 801)), "each caller got its own seq"
    assert writer.batches < 800, "appends were grouped into fewer transactions"
    _assert_gap_free(log, 800)


def test_log_writer_hands_a_failed_append_to_its_caller(log):
    writer = LogWriter(log).start()
    writer.append(LogRecord("c1", HE, DOC, "VALID"))
    _sql(log, update(head_table).values(seq=0, entry_hash=GENESIS_HASH))  # head record rolled back behind entry 1
    with pytest.raises(LedgerError, match="behind the stored entries"):
        writer.append(LogRecord("c1", HE, DOC, "VALID"))
    writer.close()


def test_log_writer_resolves_coroutines_with_their_own_entries(log):
    writer = LogWriter(log).start()

    async def verify_many() -> list[int]:
        futures = [writer.submit_async(LogRecord(f"c{k}", HE, DOC, "VALID", "", bytes([k]))) for k in range(200)]
        return [(await f).seq for f in futures]

    seqs = run_in_fresh_loop(verify_many())
    writer.close()
    assert seqs == list(range(1, 201)), "each coroutine got its own entry, in submission order"
    _assert_gap_free(log, 200)


def test_log_writer_hands_a_failed_append_to_a_waiting_coroutine(log):
    writer = LogWriter(log).start()
    writer.append(LogRecord("c1", HE, DOC, "VALID"))
    _sql(log, update(head_table).values(seq=0, entry_hash=GENESIS_HASH))

    async def verify_one() -> None:
        await writer.submit_async(LogRecord("c1", HE, DOC, "VALID"))

    with pytest.raises(LedgerError, match="behind the stored entries"):
        run_in_fresh_loop(verify_one())
    writer.close()


def test_log_writer_lingers_under_load_so_entries_share_a_commit(log):
    writer = LogWriter(log, linger_s=0.05).start()

    async def burst() -> None:
        await asyncio.gather(*(writer.submit_async(LogRecord("c", HE, DOC, "VALID", "", bytes([k, i])))
                               for k in range(4) for i in range(50)))

    run_in_fresh_loop(burst())
    writer.close()
    assert writer.appended == 200
    assert writer.batches <= 4, f"200 queued entries took {writer.batches} transactions"


def test_log_writer_does_not_linger_over_a_single_entry(log):
    writer = LogWriter(log, linger_s=30.0).start()
    started = time.monotonic()
    writer.append(LogRecord("c1", HE, DOC, "VALID"), timeout=20)
    assert time.monotonic() - started < 10, "a lone entry waited for the linger"
    writer.close()


# ------------------------------------------------------------------------------------ the command


def test_verify_log_command_exits_zero_on_an_intact_log(anchored_log, devnet, operator, db_url, tmp_path):
    manifest = tmp_path / "manifest.json"
    devnet.manifest.save(manifest)
    result = CliRunner().invoke(verify_log, ["--db", db_url, "--rpc", devnet.rpc.url, "--manifest", str(manifest),
                                             "--operator", operator.address])
    assert result.exit_code == 0, result.output
    assert "核验日志完整" in result.output and "Verification log intact" in result.output


def test_verify_log_command_exits_nonzero_on_a_broken_log(anchored_log, devnet, operator, db_url, tmp_path):
    manifest = tmp_path / "manifest.json"
    devnet.manifest.save(manifest)
    _sql(anchored_log, delete(entries_table).where(entries_table.c.seq == 8))
    result = CliRunner().invoke(verify_log, ["--db", db_url, "--rpc", devnet.rpc.url, "--manifest", str(manifest),
                                             "--operator", operator.address, "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["firstBroken"]["seq"] == 8 and report["firstBroken"]["kind"] == "MISSING"


def test_verify_log_command_says_when_the_chain_cannot_be_reached(anchored_log, devnet, operator, db_url, tmp_path):
    manifest = tmp_path / "manifest.json"
    devnet.manifest.save(manifest)
    result = CliRunner().invoke(verify_log, ["--db", db_url, "--rpc", "http://127.0.0.1:9", "--manifest",
                                             str(manifest), "--operator", operator.address])
    assert result.exit_code == 3, result.output
    assert "cannot check" in result.output


def test_head_row_is_the_log_lock_and_exists_once(log):
    with log.engine.connect() as c:
        assert c.execute(select(head_table)).all() == [(1, 0, GENESIS_HASH, 0)]


def test_anchor_log_command_anchors_the_head_with_the_operator_keystore(log, devnet, db_url, tmp_path):
    from eth_account import Account

    from api.auditlog_cli import anchor_log
    from ledger.keystore import save_keystore

    account = Account.create()
    devnet.fund([account.address])
    keystore = tmp_path / "operator.json"
    save_keystore(keystore, bytes(account.key), "log operator", iterations=2)
    manifest = tmp_path / "manifest.json"
    devnet.manifest.save(manifest)
    _append(log, 7)
    args = ["--db", db_url, "--rpc", devnet.rpc.url, "--manifest", str(manifest), "--keystore", str(keystore)]
    env = {"HUREN_LOG_OPERATOR_PASSPHRASE": "log operator"}
    result = CliRunner().invoke(anchor_log, args, env=env)
    assert result.exit_code == 0, result.output
    assert "anchored: seq 7" in result.output
    again = CliRunner().invoke(anchor_log, args, env=env)
    assert again.exit_code == 0 and "nothing to do" in again.output
    _append(log, 2, 7)
    third = CliRunner().invoke(anchor_log, args, env=env)
    assert third.exit_code == 0 and "anchored: seq 9" in third.output, third.output
    assert check_log(log, devnet.rpc, devnet.manifest, account.address).anchors_matched == 2



@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_log_writer_recovers_when_the_server_drops_its_connection(log):
    writer = LogWriter(log).start()
    writer.append(LogRecord("c1", HE, DOC, "VALID"))
    with log.engine.connect() as c:  # the server ends the writer's session, as a failover or restart would
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(writer.append(LogRecord("c1", HE, DOC, "VALID")).seq)
        except Exception as exc:  # the batch on the dead connection fails: its callers learn it
            outcomes.append(type(exc).__name__)
    writer.close()
    assert outcomes[-1] == log.head().seq, f"the writer did not recover: {outcomes}"
    assert sum(isinstance(o, str) for o in outcomes) <= 1, outcomes
    _assert_gap_free(log, log.head().seq)


def test_an_operator_that_never_anchored_has_no_latest_head(anchored_log, devnet):
    """One view call: the contract's NoHeadAnchored revert reads as "none yet", not as an error."""
    newcomer = devnet.sender(devnet.new_account())
    assert LogAnchorer(anchored_log, newcomer, devnet.manifest).chain_latest() is None
