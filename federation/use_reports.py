"""Reports of use (用证记录): a verifying node tells the issuing node each use of one of its certificates.

A holder's 用证记录 lists every use of their certificates, including verifications at other regions'
nodes. The verifying node knows the use; the holder's wallet is at the issuing node. So the verifying
node reports it there by a signed request — but never on the verification's path: the verification
only adds a row to this node's OUTBOX (`fed_use_outbox`), and `UseReportSender`, a thread of the API
process, delivers due rows with backoff. A down, slow or refusing issuing node delays the report,
never the verification.

Which node issued a certificate: the issuer region the verified document discloses (`issuer.region`
is always disclosed); the chain's node registry gives that region's node (federation.peers). A
certificate of this node's own region is not reported: the verification log already records its use.

A report is idempotent by its `report_id` (random, made with the outbox row): the issuing node keeps
one row per (reporting region, report id), so a retry after a lost answer adds nothing. The reporting
region is what the request's signature proves; a body naming another region is refused. A report
carries the window's name and department code and the region — never the clerk's personal data.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from federation.peers import PeerClient, PeerError

log = logging.getLogger("huren.federation.use_reports")

#: The issuing node's route for reports of use (api/routes/peers.py serves it).
REPORT_USE_PATH: Final[str] = "/v1/federation/uses/report"
#: First retry after this many seconds, doubling per failed attempt up to RETRY_MAX_S.
RETRY_BASE_S: Final[float] = 2.0
RETRY_MAX_S: Final[float] = 600.0
#: A row being sent is held this long by the worker that took it (another worker may take it after).
SENDING_HOLD_S: Final[int] = 60

PENDING, SENT, REFUSED = "pending", "sent", "refused"

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only
metadata = MetaData()
outbox = Table(
    "fed_use_outbox", metadata,
    Column("report_id", String(32), primary_key=True),
    Column("region", Integer, nullable=False),  # the issuing region the report goes to
    Column("body", Text, nullable=False),  # the report's JSON, as sent
    Column("created_at", BigInteger, nullable=False),
    Column("state", String(12), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger),
    Column("last_error", Text),
    Index("ix_fed_use_outbox_due", "state", "next_attempt_at"),
)  # fmt: skip
received = Table(
    "fed_use_reports", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("reporter_region", Integer, nullable=False),  # proven by the request's signature
    Column("report_id", String(32), nullable=False),
    Column("cert_id", String(160), nullable=False, index=True),
    Column("verified_at", BigInteger, nullable=False),
    Column("verdict", String(32), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("window_name", Text, nullable=False),
    Column("department", String(18)),
    Column("received_at", BigInteger, nullable=False),
    UniqueConstraint("reporter_region", "report_id", name="uq_fed_use_reports_report"),
)  # fmt: skip


@dataclass(frozen=True)
class UseReport:
    """One use of a certificate at a verifying node, as reported to the issuing node."""

    report_id: str
    region: int  # the verifying region (the issuing node checks it against the signature)
    cert_id: str
    certificate_hash: str  # hex of the document root: the issuing node checks it is its certificate's
    verified_at: int
    verdict: str
    purpose: str
    window: str  # the verifying window's name (the credential's name), never a clerk's
    department: str | None  # the window's department (统一社会信用代码), if scoped to one

    def to_json(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "region": self.region, "cert_id": self.cert_id,
                "certificate_hash": self.certificate_hash, "verified_at": self.verified_at,
                "verdict": self.verdict, "purpose": self.purpose, "window": self.window,
                "department": self.department}


@dataclass(frozen=True)
class Use:
    """One use of a certificate as the holder's 用证记录 lists it."""

    cert_id: str
    region: int
    window: str
    department: str | None
    at: int
    purpose: str
    verdict: str
    reported: bool  # True: reported by another region's node; False: this node's own verification log


def issuing_region(disclosed: dict[str, object]) -> int | None:
    """The region that issued the verified certificate, from its disclosed `issuer.region`, or None."""
    value = disclosed.get("issuer.region")
    if isinstance(value, bool):
        return None
    try:
        region = int(value) if isinstance(value, int | str) else None
    except ValueError:
        return None
    return region if region is not None and 100000 <= region <= 999999 else None


def report_for(disclosed: dict[str, object], certificate_hash: bytes | None, own_region: int, verdict: str,
               purpose: str | None, verified_at: int, window: str,
               department: str | None) -> tuple[int, UseReport] | None:
    """(issuing region, report) for a use of another region's certificate; None when none is owed.

    None for a certificate of this node's own region (its log records it), and for a verification
    that established no certificate (no document root or no disclosed identifier and issuer region).
    """
    region = issuing_region(disclosed)
    cert_id = disclosed.get("id")
    if region is None or region == own_region or certificate_hash is None or not isinstance(cert_id, str):
        return None
    return region, UseReport(report_id=secrets.token_hex(16), region=own_region, cert_id=cert_id[:160],
                             certificate_hash=certificate_hash.hex(), verified_at=verified_at, verdict=verdict,
                             purpose=purpose or "", window=window, department=department)


def retry_delay_s(attempts: int, base: float = RETRY_BASE_S, cap: float = RETRY_MAX_S) -> float:
    """Seconds before the next try after `attempts` failed ones: base, 2·base, 4·base, ... at most `cap`."""
    return float(min(cap, base * 2 ** min(max(attempts - 1, 0), 30)))


def is_final_refusal(status: int) -> bool:
    """Whether an issuing node's answer means the report can never be accepted (so stop retrying).

    4xx but 408 (timeout) and 429 (rate limit): the report itself is refused (an unknown certificate,
    a malformed body). 401/403 never get here (PeerRefusedUs: a key or registry problem of ours, retried).
    """
    return 400 <= status < 500 and status not in (408, 429)


class UseOutbox:
    """The verifying node's reports still to deliver (and those delivered, for the operator)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, region: int, report: UseReport, now: int | None = None) -> None:
        at = int(time.time()) if now is None else now
        with self.engine.begin() as c:
            c.execute(insert(outbox).values(report_id=report.report_id, region=region,
                                            body=orjson.dumps(report.to_json()).decode(), created_at=at,
                                            state=PENDING, attempts=0, next_attempt_at=at))

    def take_due(self, now: int, limit: int = 50) -> list[tuple[str, int, str, int]]:
        """Due rows (report id, region, body, attempts so far), each held by this caller for a while.

        The hold is a compare-and-set on `attempts`, so two workers never send one row at once.
        """
        with self.engine.connect() as c:
            rows = c.execute(select(outbox.c.report_id, outbox.c.region, outbox.c.body, outbox.c.attempts)
                             .where(outbox.c.state == PENDING, outbox.c.next_attempt_at <= now)
                             .order_by(outbox.c.next_attempt_at).limit(limit)).all()
        taken = []
        for r in rows:
            with self.engine.begin() as c:
                held = c.execute(update(outbox).where(outbox.c.report_id == r.report_id, outbox.c.state == PENDING,
                                                      outbox.c.attempts == r.attempts)
                                 .values(attempts=r.attempts + 1, next_attempt_at=now + SENDING_HOLD_S))
            if held.rowcount == 1:
                taken.append((r.report_id, r.region, r.body, r.attempts + 1))
        return taken

    def sent(self, report_id: str, now: int) -> None:
        with self.engine.begin() as c:
            c.execute(update(outbox).where(outbox.c.report_id == report_id).values(state=SENT, sent_at=now))

    def refused(self, report_id: str, why: str) -> None:
        with self.engine.begin() as c:
            c.execute(update(outbox).where(outbox.c.report_id == report_id)
                      .values(state=REFUSED, last_error=why[:500]))

    def retry_later(self, report_id: str, attempts: int, why: str, now: int) -> None:
        with self.engine.begin() as c:
            c.execute(update(outbox).where(outbox.c.report_id == report_id, outbox.c.state == PENDING)
                      .values(next_attempt_at=now + int(retry_delay_s(attempts)), last_error=why[:500]))

    def states(self) -> dict[str, str]:
        """report id -> state (pending, sent, refused)."""
        with self.engine.connect() as c:
            return {r.report_id: r.state for r in c.execute(select(outbox.c.report_id, outbox.c.state))}


class UseReportSender:
    """Delivers the outbox's due reports in the background (one thread per API process)."""

    def __init__(self, box: UseOutbox, peers: PeerClient, interval_s: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.box = box
        self.peers = peers
        self.interval_s = interval_s
        self.clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> UseReportSender:
        self._thread = threading.Thread(target=self._run, name="use-report-sender", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """A report was just added: look now rather than at the next tick."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
            except SQLAlchemyError as exc:  # the database is down: try again at the next tick
                log.warning("use-report outbox not readable: %s", exc)
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def send_due(self) -> int:
        """Sends what is due now; returns how many were delivered."""
        delivered = 0
        for report_id, region, body, attempts in self.box.take_due(int(self.clock())):
            if self._stop.is_set():
                self.box.retry_later(report_id, 0, "stopped before sending", int(self.clock()))
                break
            delivered += self._send_one(report_id, region, body, attempts)
        return delivered

    def _send_one(self, report_id: str, region: int, body: str, attempts: int) -> int:
        try:
            answer = self.peers.call(region, "POST", REPORT_USE_PATH, json=orjson.loads(body))
        except PeerError as exc:
            log.info("use report %s to region %s not delivered (attempt %d): %s", report_id, region, attempts,
                     exc.message)
            self.box.retry_later(report_id, attempts, exc.message, int(self.clock()))
            return 0
        if answer.status == 200:
            self.box.sent(report_id, int(self.clock()))
            return 1
        why = f"HTTP {answer.status}: {str(answer.body)[:300]}"
        if is_final_refusal(answer.status):
            log.warning("use report %s refused by region %s: %s", report_id, region, why)
            self.box.refused(report_id, why)
        else:
            self.box.retry_later(report_id, attempts, why, int(self.clock()))
        return 0


class ReceivedUses:
    """The issuing node's record of uses other regions' nodes reported."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, reporter_region: int, report: UseReport, now: int) -> bool:
        """Stores the report once; False if this region's report of this id is already stored."""
        try:
            with self.engine.begin() as c:
                c.execute(insert(received).values(
                    reporter_region=reporter_region, report_id=report.report_id, cert_id=report.cert_id,
                    verified_at=report.verified_at, verdict=report.verdict, purpose=report.purpose,
                    window_name=report.window, department=report.department, received_at=now))
        except IntegrityError:
            return False
        return True

    def of(self, cert_ids: Sequence[str]) -> list[Use]:
        if not cert_ids:
            return []
        with self.engine.connect() as c:
            rows = c.execute(select(received).where(received.c.cert_id.in_(list(cert_ids)))).all()
        return [Use(r.cert_id, r.reporter_region, r.window_name, r.department, r.verified_at, r.purpose, r.verdict,
                    True) for r in rows]
