"""The verification log's pure parts: record validation, the hash chain, and the checker's findings.

Entries here are built in memory (no database, no chain), so each finding of the checker is
pinned to exactly one kind of damage.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.auditlog import (
    GENESIS_HASH,
    MAX_SAFE_INTEGER,
    AnchoredHead,
    LogEntry,
    LogHead,
    LogRecord,
    ProblemKind,
    canonical_fields,
    chain_hash,
    check_entries,
    entry_fields,
)
from common.canonical import canonicalize
from common.hashing import keccak

DOC = bytes.fromhex("ab" * 32)


def _record(i: int, verdict: str = "VALID") -> LogRecord:
    return LogRecord(credential_id=f"hebei-clerk-{i % 3}", region=130000, certificate_hash=DOC,
                     verdict=verdict, purpose="办理食品经营许可变更", nonce=i.to_bytes(12, "big"),
                     at_ms=1_764_000_000_000 + i)


def _chain(n: int) -> list[LogEntry]:
    out: list[LogEntry] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        r = _record(seq)
        h = chain_hash(prev, entry_fields(seq, r))
        out.append(LogEntry(seq, r.at_ms, r.credential_id, r.region, r.certificate_hash, r.verdict, r.purpose,
                            r.nonce, prev, h))
        prev = h
    return out


def _anchor(entries: list[LogEntry], upto: int, k: int) -> AnchoredHead:
    return AnchoredHead(k, entries[upto - 1].entry_hash, upto, 1_764_000_100 + k)


def _rehash(entries: list[LogEntry], start: int) -> list[LogEntry]:
    """Recompute stored hashes from index `start` on, as a careful forger would."""
    out = list(entries[:start])
    prev = out[-1].entry_hash if out else GENESIS_HASH
    for e in entries[start:]:
        e = replace(e, prev_hash=prev)
        e = replace(e, entry_hash=e.recomputed_hash())
        out.append(e)
        prev = e.entry_hash
    return out


# ---------------------------------------------------------------------------------------- records


def test_entry_hash_is_keccak_of_prev_hash_and_canonical_json():
    r = _record(1)
    fields = entry_fields(1, r)
    assert chain_hash(GENESIS_HASH, fields) == keccak(bytes(32) + canonicalize(fields))
    assert canonicalize(fields).decode() == (
        '{"certificateHash":"0x' + "ab" * 32 + '","credential":"hebei-clerk-1","nonce":"0x000000000000000000000001",'
        '"purpose":"办理食品经营许可变更","region":130000,"seq":1,"time":1764000000001,"v":1,"verdict":"VALID"}'
    )


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
_int = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)


@settings(max_examples=500)
@given(st.fixed_dictionaries({
    "v": _int, "seq": _int, "time": _int, "credential": _text, "region": _int,
    "certificateHash": st.none() | _text, "verdict": _text, "purpose": _text, "nonce": st.none() | _text,
}))
def test_fast_entry_encoding_is_exactly_rfc8785(fields):
    assert canonical_fields(fields) == canonicalize(fields)


def test_fast_entry_encoding_escapes_like_rfc8785():
    fields = {"purpose": 'a"b\\c\x00\x1f\x7f\b\t\n\f\r\u2028\u00e9\U0001F600事', "seq": 1, "nonce": None}
    assert canonical_fields(fields) == canonicalize(fields)


def test_entry_hash_depends_on_every_field():
    base = entry_fields(1, _record(1))
    h = chain_hash(GENESIS_HASH, base)
    for key, other in [("seq", 2), ("time", 5), ("credential", "x"), ("region", 110000), ("certificateHash", None),
                       ("verdict", "REVOKED"), ("purpose", "其他"), ("nonce", None)]:
        assert chain_hash(GENESIS_HASH, {**base, key: other}) != h, key
    assert chain_hash(b"\x01" * 32, base) != h


def test_record_accepts_a_verdict_enum_and_stores_its_code():
    from verifier.verdicts import Verdict

    assert _record(1, Verdict.NOT_RECOGNISED).verdict == "NOT_RECOGNISED"  # type: ignore[arg-type]


@pytest.mark.parametrize("change, message", [
    ({"verdict": "OK"}, "unknown verdict"),
    ({"purpose": "事" * 201}, "at most 200"),
    ({"purpose": "a\x00b"}, "control character"),
    ({"purpose": "\u202eabc"}, "control character"),
    ({"credential_id": "张三"}, "credential_id"),
    ({"credential_id": ""}, "credential_id"),
    ({"region": 13000}, "6-digit"),
    ({"region": True}, "6-digit"),
    ({"certificate_hash": b"\x01" * 31}, "32 bytes"),
    ({"nonce": b""}, "nonce"),
    ({"at_ms": 1.5}, "at_ms"),
])
def test_record_refuses_values_that_would_not_survive_storage(change, message):
    fields = {"credential_id": "c1", "region": 130000, "certificate_hash": DOC, "verdict": "VALID",
              "purpose": "", "nonce": None, "at_ms": 1, **change}
    with pytest.raises(ValueError, match=message):
        LogRecord(**fields)


def test_purpose_of_exactly_200_characters_is_accepted():
    assert len(LogRecord("c1", 130000, None, "MALFORMED", "事" * 200).purpose) == 200


def test_receipt_names_the_seq_and_entry_hash():
    e = _chain(3)[2]
    assert e.receipt() == {"logSeq": 3, "entryHash": "0x" + e.entry_hash.hex(), "time": "2025-11-24T16:00:00.003Z",
                           "verdict": "VALID"}


# ---------------------------------------------------------------------------------------- checker


def test_clean_chain_with_matching_anchors_is_ok():
    entries = _chain(30)
    anchors = [_anchor(entries, 10, 0), _anchor(entries, 25, 1)]
    report = check_entries(entries, anchors, LogHead(30, entries[-1].entry_hash, 0))
    assert report.ok and report.first_broken is None
    assert (report.entries, report.anchors_matched, report.anchored_entries) == (30, 2, 25)
    zh, en = report.summary()
    assert "第 26–30 条尚未锚定" in zh and "not yet anchored" in en


def test_empty_log_is_ok():
    report = check_entries([], [], LogHead(0, GENESIS_HASH, 0))
    assert report.ok and report.last_seq == 0 and report.head_hash == GENESIS_HASH


def test_edited_content_is_reported_at_that_seq():
    entries = _chain(20)
    entries[6] = replace(entries[6], verdict="REVOKED")
    report = check_entries(entries)
    assert report.first_broken.kind is ProblemKind.EDITED and report.first_broken.seq == 7
    assert report.problems_total == 1, "one edit is one problem, not a cascade"


def test_edited_stored_hash_is_reported_at_that_seq():
    entries = _chain(20)
    entries[4] = replace(entries[4], entry_hash=b"\x07" * 32)
    report = check_entries(entries)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.EDITED, 5)


def test_gap_is_reported_at_the_first_missing_seq():
    entries = _chain(20)
    del entries[11:13]  # seq 12 and 13
    report = check_entries(entries)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.MISSING, 12)
    assert "entries 12-13 are missing" in report.first_broken.en
    assert report.problems_total == 1


def test_deletion_with_renumbering_breaks_the_link_at_the_renumbered_seq():
    entries = _chain(20)
    del entries[9]  # seq 10 gone; later rows renumbered down by one
    entries = entries[:9] + [replace(e, seq=e.seq - 1) for e in entries[9:]]
    report = check_entries(entries)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.LINK_BROKEN, 10)


def test_swapped_entries_break_the_link_at_the_first_position():
    entries = _chain(20)
    a, b = entries[7], entries[8]
    entries[7], entries[8] = replace(b, seq=8), replace(a, seq=9)
    report = check_entries(entries)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.LINK_BROKEN, 8)


def test_consistently_rewritten_tail_is_caught_by_the_anchor_only():
    entries = _chain(30)
    anchors = [_anchor(entries, 10, 0), _anchor(entries, 20, 1)]
    entries = entries[:14] + [replace(e, verdict="VALID" if e.verdict != "VALID" else "EXPIRED") for e in entries[14:]]
    entries = _rehash(entries, 14)
    assert check_entries(entries).ok, "a consistent rewrite passes the hash chain alone"
    report = check_entries(entries, anchors)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.ANCHOR_MISMATCH, 20)
    assert "entries between seq 11 and 20 were rewritten" in report.first_broken.en
    assert report.anchors_matched == 1


def test_truncated_log_is_reported_at_the_first_missing_seq():
    entries = _chain(30)
    anchors = [_anchor(entries, 10, 0), _anchor(entries, 25, 1)]
    report = check_entries(entries[:22], anchors)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.TRUNCATED, 23)
    assert "entries 23-25 were deleted" in report.first_broken.en


def test_anchor_on_a_deleted_entry_is_reported():
    entries = _chain(30)
    anchors = [_anchor(entries, 10, 0)]
    del entries[9]
    report = check_entries(entries, anchors)
    kinds = [(p.kind, p.seq) for p in report.problems]
    assert kinds[0] == (ProblemKind.MISSING, 10)
    assert (ProblemKind.ANCHOR_MISMATCH, 10) in kinds


def test_head_record_behind_the_deleted_last_entry_is_reported():
    entries = _chain(30)
    head = LogHead(30, entries[-1].entry_hash, 0)
    report = check_entries(entries[:-1], [], head)
    assert (report.first_broken.kind, report.first_broken.seq) == (ProblemKind.HEAD_MISMATCH, 30)


def test_first_broken_is_the_lowest_seq_among_several_problems():
    entries = _chain(30)
    anchors = [_anchor(entries, 25, 0)]
    entries[19] = replace(entries[19], purpose="改过")
    entries[4] = replace(entries[4], region=110000)
    report = check_entries(entries, anchors)
    assert [p.seq for p in report.problems] == [5, 20, 25]
    assert report.first_broken.seq == 5
    zh, en = report.summary()
    assert zh.startswith("核验日志已被破坏：第一个断点在第 5 条") and "2 further problem(s)" in en


def test_report_text_is_bilingual_and_names_the_problem():
    entries = _chain(5)
    entries[2] = replace(entries[2], verdict="REVOKED")
    text = check_entries(entries).text()
    assert "第 3 条记录被修改" in text and "entry 3 was edited" in text
