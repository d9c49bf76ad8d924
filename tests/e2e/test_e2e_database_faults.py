"""The database lost, full or read-only under a real `huren serve`: 503 with Retry-After, never 500.

Four faults an operator meets, each made for real: a SQLite file on a small tmpfs that fills
up, a SQLite file the server can only open read-only (a read-only bind mount), a PostgreSQL
database switched to `default_transaction_read_only` (its sessions reset, as on a failover to a
standby), and PostgreSQL behind a TCP proxy that is cut. For each: /readyz says not ready and
why; a verification, an issuance, the wallet and a page sign-in answer 503 with a Chinese
message and Retry-After; nothing is half-written; the log is not flooded; and once the cause is
gone everything works again in the same process.

The mounts need root (as in CI's container); without it the SQLite faults are skipped.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from api.seed import DemoWorld, add_holder, seed
from issuers.model import Issuer
from issuers.samples import sample_document
from ledger.anvil import IDLE_BLOCK_TIME_S, Anvil, free_port, start_anvil
from tests.conftest import fresh_pg_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HUREN = Path(sys.executable).parent / "huren"
FLOOD = 200  # verifications sent while the database is away
DEPT = "bj-amr"


# -- a TCP proxy between the API and PostgreSQL, that can be cut and restored ----------------
class Proxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and reset every connection: the server is gone from the API's view."""
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            listener.close()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut while this one was being connected: it is cut too
                    client.close()
                    upstream.close()
                    continue
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()


# -- the served API ----------------------------------------------------------------------
@dataclass
class Served:
    world: DemoWorld
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    holder: str = ""
    cert_id: str = ""
    presentation: str = ""

    def client(self, handle: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.world.tokens[handle]}"} if handle else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def serve(world: DemoWorld, workdir: Path, name: str) -> Served:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUREN_")}
    env.update(world.env, HUREN_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
               HUREN_RATE_PER_S="10000", HUREN_RATE_BURST="10000",  # this test floods on purpose
               HUREN_SIGNIN_RATE_PER_S="10000", HUREN_SIGNIN_BURST="10000")
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(HUREN), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(world, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"huren serve exited during start-up:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError), served.client() as c:
            c.get("/healthz")
            return served
        time.sleep(0.2)
    served.stop()
    raise RuntimeError(f"huren serve did not start:\n{log.read_text()[-3000:]}")


def readyz_until(served: Served, ready: bool, timeout: float = 60) -> httpx.Response:
    """/readyz once it says ready (200), or once it says a database is not (whatever the chain says)."""
    deadline = time.monotonic() + timeout
    with served.client() as c:
        while True:
            reply = c.get("/readyz")
            databases_down = any(not d["ok"] for d in reply.json().get("databases", []))
            if (reply.status_code == 200 if ready else databases_down) or time.monotonic() > deadline:
                return reply
            time.sleep(0.25)


def licence(world: DemoWorld, n: int) -> dict[str, Any]:
    d = world.department(DEPT)
    seed_no = 90_000 + n * 7
    while True:  # a licence in force today
        doc = sample_document(d.types[0], seed_no, issuer=Issuer(d.credit_code, d.region, d.name, "0x" + "00" * 20))
        if doc.get("validUntil") is None or doc["validUntil"] > time.strftime("%Y-%m-%d"):
            doc.pop("issuer")
            return doc
        seed_no += 1


def issue_and_present(served: Served, n: int) -> None:
    """A certificate issued, anchored and presented before the fault: what a clerk verifies during it."""
    doc = licence(served.world, n)
    with served.client(DEPT) as c:
        reply = c.post("/v1/certificates", json={"document": doc})
        assert reply.status_code == 201, reply.text
    cert_id = reply.json()["cert_id"]
    handle = f"holder-db-{n}"
    add_holder(served.world, handle, doc)
    deadline = time.monotonic() + 60
    with served.client(handle) as c:
        while True:
            items = {i["cert_id"]: i for i in c.get("/v1/wallet/certificates").json()}
            if cert_id in items and items[cert_id]["status"]["code"] not in ("PENDING", "UNKNOWN"):
                break
            assert time.monotonic() < deadline, f"{cert_id} not anchored: {items}"
            time.sleep(0.3)
        reply = c.post(f"/v1/wallet/certificates/{cert_id}/presentation", json={"purpose": "办理企业登记"})
        assert reply.status_code == 200, reply.text
    served.holder, served.cert_id, served.presentation = handle, cert_id, reply.json()["presentation"]


def verify(served: Served) -> httpx.Response:
    with served.client(f"verifier-{110000}") as c:
        return c.post("/v1/verify", json={"presentation": served.presentation})


def sign_in_page(served: Served) -> httpx.Response:
    with httpx.Client(base_url=served.url, timeout=30) as c:
        form = c.get("/pages/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None, form.text[:500]
        return c.post("/pages/signin", data={"token": served.world.tokens[DEPT], "csrf": csrf.group(1)})


def log_entries(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            return int(c.execute(text("SELECT count(*) FROM vlog_entries")).scalar_one())
    finally:
        engine.dispose()


@dataclass
class Observed:
    """What a fault looked like from outside, and what came after it."""

    not_ready: httpx.Response
    during: dict[str, httpx.Response]
    flood: list[int]
    log_during: str
    entries_before: int
    entries_after_fault: int
    ready_again: httpx.Response
    after: dict[str, httpx.Response] = field(default_factory=dict)


def observe(served: Served, db_url: str, n: int, inject: Callable[[], None], recover: Callable[[], None],
            already_faulty: bool = False) -> Observed:
    entries_before = log_entries(db_url)
    offset = served.log_size()
    if not already_faulty:
        inject()
    not_ready = readyz_until(served, ready=False)
    new_doc = licence(served.world, n + 1000)
    during: dict[str, httpx.Response] = {"verify": verify(served)}
    with served.client(DEPT) as c:
        during["issue"] = c.post("/v1/certificates", json={"document": new_doc})
    with served.client(served.holder) as c:
        during["presentation"] = c.post(f"/v1/wallet/certificates/{served.cert_id}/presentation",
                                        json={"purpose": "办理企业登记"})
    during["signin"] = sign_in_page(served)
    flood = [verify(served).status_code for _ in range(FLOOD)]
    log_during = served.log_since(offset)
    recover()
    ready_again = readyz_until(served, ready=True)
    entries_after_fault = log_entries(db_url)
    after: dict[str, httpx.Response] = {"verify": verify(served)}
    with served.client(DEPT) as c:
        after["issue"] = c.post("/v1/certificates", json={"document": new_doc})
    after["signin"] = sign_in_page(served)
    return Observed(not_ready, during, flood, log_during, entries_before, entries_after_fault, ready_again, after)


# -- the four faults ------------------------------------------------------------------------
def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs or a read-only bind needs root (CI's container runs as root)")


def _fill(directory: Path) -> Path:
    """Fill the file system of `directory` to the last byte."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (b"\0" * 65536, b"\0"):
            with contextlib.suppress(OSError):
                while os.write(fd, chunk):
                    pass
    finally:
        os.close(fd)
    return filler


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    anvil = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)
    yield anvil
    anvil.stop()


@pytest.fixture(scope="module")
def sqlite_faults(node: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Observed]]:
    """Both SQLite faults on one seeded world: the disk fills up; then a server starts on a read-only file."""
    _need_root()
    work = tmp_path_factory.mktemp("dbfaults-sqlite")
    disk = work / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)], check=True)
    db = disk / "huren.sqlite"
    observed: dict[str, Observed] = {}
    served: Served | None = None
    mounted_ro = False
    try:
        world = seed(node, work / "world", db_url=f"sqlite:///{db}")
        db_url = world.env["HUREN_DB_URL"]
        served = serve(world, work, "full")
        assert readyz_until(served, ready=True).status_code == 200
        issue_and_present(served, 1)
        filler: list[Path] = []

        def fill() -> None:
            # The write-ahead log first emptied into the database and cut to nothing, then the disk
            # filled: no commit can find room in a log file that already has it.
            c = sqlite3.connect(db)
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.close()
            filler.append(_fill(disk))

        observed["full"] = observe(served, db_url, 1, fill, lambda: filler[0].unlink())
        served.stop()

        holder, cert_id, presentation = served.holder, served.cert_id, served.presentation
        subprocess.run(["mount", "--bind", str(db), str(db)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(db)], check=True)
        mounted_ro = True
        served = serve(world, work, "read-only")
        served.holder, served.cert_id, served.presentation = holder, cert_id, presentation

        def writable() -> None:
            nonlocal mounted_ro
            subprocess.run(["umount", "-l", str(db)], check=True)  # the server's open files stay read-only
            mounted_ro = False

        observed["read_only"] = observe(served, db_url, 2, lambda: None, writable, already_faulty=True)
        yield observed
    finally:
        if served is not None:
            served.stop()
        if mounted_ro:
            subprocess.run(["umount", "-l", str(db)], check=False)
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture(scope="module")
def pg_faults(node: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Observed]]:
    """Both PostgreSQL faults on one server: the database turns read-only; then the network is cut."""
    work = tmp_path_factory.mktemp("dbfaults-pg")
    with fresh_pg_database("huren_dbfault") as direct_url:
        base, _, name = direct_url.rpartition("/")
        host_port = base.rpartition("@")[2]
        host, _, port = host_port.partition(":")
        proxy = Proxy((host, int(port or 5432)))
        proxied = f"{base.rpartition('@')[0]}@127.0.0.1:{proxy.port}/{name}"
        admin = create_engine(direct_url.rpartition("/")[0] + "/postgres", isolation_level="AUTOCOMMIT")

        def read_only(on: bool) -> None:
            with admin.connect() as c:
                c.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}'))
                # sessions keep the default they started with: end them, as a failover would
                c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name})

        served = None
        try:
            world = seed(node, work / "world", db_url=proxied)
            served = serve(world, work, "pg")
            assert readyz_until(served, ready=True).status_code == 200
            issue_and_present(served, 3)
            observed = {"read_only": observe(served, direct_url, 3, lambda: read_only(True), lambda: read_only(False))}
            observed["down"] = observe(served, direct_url, 4, proxy.cut, proxy.restore)
            yield observed
        finally:
            if served is not None:
                served.stop()
            proxy.cut()
            read_only(False)
            admin.dispose()


FAULTS = [("sqlite_faults", "full"), ("sqlite_faults", "read_only"), ("pg_faults", "read_only"), ("pg_faults", "down")]


@pytest.fixture(params=FAULTS, ids=[f"{a.split('_')[0]}-{b}" for a, b in FAULTS])
def seen(request: pytest.FixtureRequest) -> Observed:
    fixture, fault = request.param
    return request.getfixturevalue(fixture)[fault]  # type: ignore[no-any-return]


# -- the behaviours -------------------------------------------------------------------------
def test_readyz_says_not_ready_and_why(seen: Observed):
    body = seen.not_ready.json()
    assert seen.not_ready.status_code == 503 and body["ready"] is False
    assert "数据库" in body["reason"] and any(not d["ok"] for d in body["databases"])
    assert seen.not_ready.headers.get("retry-after")


def test_every_write_answers_503_in_chinese_with_retry_after(seen: Observed):
    for what in ("verify", "issue", "signin"):
        reply = seen.during[what]
        assert reply.status_code == 503, (what, reply.status_code, reply.text[:300])
        assert int(reply.headers["retry-after"]) > 0, what
        assert "数据库" in reply.text, (what, reply.text[:300])
    assert seen.during["verify"].json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert seen.during["signin"].headers["content-type"].startswith("text/html")


def test_no_call_answers_500_while_the_database_is_away(seen: Observed):
    statuses = [r.status_code for r in seen.during.values()] + seen.flood
    assert 500 not in statuses and set(seen.flood) == {503}, sorted(set(statuses))


def test_nothing_is_half_written(seen: Observed):
    # no verification answered 503 left an entry in the log...
    assert seen.entries_after_fault == seen.entries_before
    # ...and the refused certificate was not stored: after recovery it is new, not "already accepted"
    issued = seen.after["issue"]
    assert issued.status_code == 201 and issued.json()["already_accepted"] is False, issued.text


def test_the_log_is_not_flooded(seen: Observed):
    """Lines grow with time (once per message per 10 s), not with requests: without the repeat
    filter each failed verification wrote a warning and the log writer's traceback (~40 lines)."""
    lines = [line for line in seen.log_during.splitlines() if '" 503 ' not in line]  # not the access log
    tracebacks = sum("Traceback (most recent call last)" in line for line in lines)
    per_request = sum(line.startswith("database unavailable on") for line in lines)
    assert tracebacks <= FLOOD // 10, seen.log_during[-3000:]
    assert 1 <= per_request <= FLOOD // 20, seen.log_during[-3000:]
    assert len(lines) < 5 * FLOOD, seen.log_during[-3000:]


def test_everything_works_after_recovery_without_restart(seen: Observed):
    assert seen.ready_again.status_code == 200, seen.ready_again.text
    assert seen.after["verify"].status_code == 200 and seen.after["verify"].json()["verdict"] == "VALID"
    assert seen.after["signin"].status_code == 303
