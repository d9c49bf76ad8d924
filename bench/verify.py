"""Verification benchmark: in-process engine, the naive verifier, and the HTTP API under load.

    .venv/bin/python -m bench.verify            # full run
    .venv/bin/python -m bench.verify --quick    # short run (fewer passes, 10 s of HTTP load)

Set-up (not timed): a local anvil, the demo consortium seeded exactly as `make demo` does
(`api.seed`: 京津冀 recognise each other's business licences, 上海 does not), one more Beijing
department registered by k-of-n proposals, and a batch of 1,024 business licences issued by
its IssuerService and anchored in one transaction by its AnchorWorker; 16 of them revoked and
16 suspended on chain. A quarter of the licences bind a holder key.

The mix (one presentation per certificate, 1,024, fresh before each phase): each discloses 4
of the 16 optional fields of a real 23-field business licence (entity name, its credit code,
legal representative, registration date; plus the 7 always-disclosed fields; the ~4% of
sample licences whose validUntil has passed answer EXPIRED); a quarter are holder-signed; verifier
regions 55% 河北, 15% 天津, 20% 北京 (own region), 10% 上海 (NOT_RECOGNISED); 2% carry a changed
value (TAMPERED), 1% are stale screenshots (PRESENTATION_EXPIRED), 1% are not codes at all
(MALFORMED); revoked and suspended certificates answer REVOKED / SUSPENDED.

Figures:

* inproc_per_s — `verify_text` (Base45 + zlib + CBOR decode, then the engine) against the
  indexed view (`IndexedChainView` over a synced `Indexer`), one thread pinned to one core:
  verifications per CPU-second of that thread in the best pass (as the engine's own speed
  test counts: the machine is shared, and we measure the verifier, not the neighbours); the
  median pass and the wall-clock rate, which also counts the time other processes held the
  core, are printed beside it. On an idle machine the three agree.
* naive_per_s — the same mix through `RpcChainView` (one eth_call per fact, `refresh()` per
  verification), same process, same node.
* http_per_s, p50_ms, p99_ms — POST /v1/verify against the real API: uvicorn in a separate
  process with `--workers 2` (`python -m uvicorn api.app:create_app --factory` with the HUREN_*
  environment from `seed()`), its answer written to the hash-chained verification log before
  it is returned. Each presentation of the mix is scanned at a service window of its own: 1,024
  verifier credentials at the production default rate limit (one window's: 2/s, 10 at once,
  counted across both workers), so the load is what a province's many windows send, not one
  token with a rate no window has; each window sees about throughput/1,024 requests a second.
  Load: `wrk` (Debian package) with a Lua script posting the JSON bodies over `--connections`
  keep-alive connections; without wrk, an asyncio + httpx client in a separate process.
  Latency percentiles are the load tool's, over the measured run.

No figure without the expected answers: both load tools count the answers that carry a verdict
(200, or 400 for a MALFORMED code); if fewer than 99.9% of the requests got one (rate limited,
redirected, refused, failed), the run prints why and exits with status 1 instead of a throughput.

Before the last line, bench/presets.py's table: the QR version of every catalogue type's default
preset in HR2 (stamped, full batch of 1,024) with a byte breakdown by part.

inproc_sm2_per_s: the same in-process measurement over a second batch in crypto suite 2 (国密:
SM3 trees, SM2 issuer signatures checked against the registry's SM2 public key, SM2 加注 stamps),
on the same view and core in the same run (issue 17's target: at least one third of suite 1).

http_sm2_per_s / p99_sm2_ms: the same HTTP load, right after, with every code of the mix in suite 2.

Last line: `verify inproc_per_s=<x> inproc_sm2_per_s=<x2> http_per_s=<y> http_sm2_per_s=<y2>
p99_sm2_ms=<c> p50_ms=<a> p99_ms=<b> naive_per_s=<z> qr_version=<v> qr_default_max=<largest
default-preset version over all types>`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from api.credentials import CredentialStore
from api.seed import BJ, HE, LICENCE, SH, TJ, seed
from api.stamping import load_stamp_signers
from bench.machine import describe
from bench.presets import preset_sizes, report
from common.document import field_leaf
from common.eip712 import Domain
from common.gm import sm2_generate_keypair
from common.merkle import process_multiproof, process_proof
from common.node_keys import SM2NodePrivateKey
from common.nodes import NodeAlgorithm, NodeKeyPurpose
from common.stamp import StampSigner
from common.suites import digest_of
from issuers.anchoring import AnchorPolicy, AnchorWorker
from issuers.chain_link import ChainLink
from issuers.field_cipher import FieldCipher, new_field_key
from issuers.intake import Department, IntakeSpec
from issuers.model import Issuer
from issuers.rules.credit_code import make_credit_code
from issuers.samples import sample_document
from issuers.service import IssuedCertificate, IssuerService
from issuers.store import CertificateStore
from ledger import store as st
from ledger.anvil import IDLE_BLOCK_TIME_S, free_port, start_anvil
from ledger.chainview import IndexedChainView, RpcChainView
from ledger.devnet import Devnet
from ledger.indexer import Indexer
from ledger.nodes import AddNodeKey
from ledger.rpc import RpcClient
from verifier._ecdsa import address_of
from verifier.codec import encode
from verifier.engine import VerifierPolicy, verify_text
from verifier.presentation import make_presentation
from verifier.qr import qr_version

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1024
#: What a clerk checks on a business licence: the entity, its 统一社会信用代码, the legal
#: representative and the registration date (short fields; the QR code stays readable).
DISCLOSED = ("claims.entityName", "claims.creditCode", "claims.legalRepresentative", "claims.registrationDate")
PURPOSE = "在河北办理营业执照异地经营备案"
REGION_MIX = ((HE, 55), (TJ, 15), (BJ, 20), (SH, 10))
REVOKED, SUSPENDED = 16, 16
#: Share of requests that must be answered with a verdict for a throughput to be printed.
MIN_VERDICT_SHARE = 0.999


@dataclass(frozen=True)
class Item:
    """One presentation of the mix: the text a phone shows and the region of the clerk scanning it."""

    text: str
    region: int
    kind: str  # "normal", "tampered", "stale", "garbage"
    bound: bool  # holder-signed


# ------------------------------------------------------------------------------------ set-up


def issue_batch(net: Devnet, tmp: Path, rng: random.Random,
                suite: int = 1) -> tuple[list[IssuedCertificate], dict[str, bytes]]:
    """Register a Beijing department and issue + anchor one batch of 1,024 business licences.

    Suite 2 (国密): a second department, sealing with an SM2 key registered beside its transaction
    key, SM3 trees, SM4-GCM fields, the batch anchored with anchorGuomi.
    """
    credit_code = make_credit_code(f"11{BJ}HR000000{suite}")
    name = "北京市朝阳区市场监督管理局" if suite == 1 else "北京市海淀区市场监督管理局"
    account = net.new_account()
    iid = net.register_issuer(BJ, credit_code, name, [account.address], [LICENCE])
    signing_key, signing_address = bytes(account.key), account.address
    if suite == 2:
        pair = sm2_generate_keypair()
        signing_key, signing_address = pair.private_key, net.add_sm2_key(BJ, iid, pair.public_key)
    department = Department(credit_code, BJ, name)
    chain = ChainLink(net.rpc, net.manifest, net.abis, account)
    key_text = new_field_key(suite)
    store = CertificateStore(f"sqlite:///{tmp / f'bench-issuer-{suite}.sqlite'}", FieldCipher.from_key_text(key_text))
    service = IssuerService(store, IntakeSpec(department, signing_key, chain.domain, key_text, suite=suite), chain)
    issuer = Issuer(credit_code, BJ, name, signing_address)
    holder_keys: dict[str, bytes] = {}
    docs = []
    for i in range(BATCH):
        key = rng.randbytes(32) if i % 4 == 0 else None
        doc = sample_document(LICENCE, 5_000_000 + i, issuer=issuer,
                              holder_address=address_of(key) if key is not None else False)
        doc.pop("issuer")
        docs.append((doc, key))
    result = service.issue_many([d for d, _ in docs])
    assert not result.rejected, result.rejected[:3]
    for (_, key), cert_id in zip(docs, result.accepted, strict=True):
        if key is not None:
            holder_keys[cert_id] = key
    worker = AnchorWorker(store, chain, credit_code,
                          AnchorPolicy(batch_size=BATCH, batch_max_age=0, confirmations=1, poll_interval=0.02))
    assert worker.drain(120), worker.status.last_error
    certs = [service.certificate(cid) for cid in result.accepted]
    assert len({c.batch_root for c in certs}) == 1, "expected one anchored batch"
    for cert in certs[:REVOKED]:
        service.change_status(cert.cert_id, "revoke", "other")
    for cert in certs[REVOKED:REVOKED + SUSPENDED]:
        service.change_status(cert.cert_id, "suspend", "other")
    net.node.rpc("anvil_mine", [hex(3)])
    service.close()
    return certs, holder_keys


def make_mix(certs: Sequence[IssuedCertificate], holder_keys: dict[str, bytes], domain: Domain,
             stamper: StampSigner, seed_: int = 7) -> list[Item]:
    """The 1,024 presentations, created now (so each phase gets fresh codes), stamped as a wallet does."""
    rng = random.Random(seed_)
    regions = [r for r, weight in REGION_MIX for _ in range(weight)]
    now = int(time.time())
    items = []
    for cert in certs:
        assert cert.batch_root is not None and cert.batch_proof is not None
        roll = rng.random()
        kind = "tampered" if roll < 0.02 else "stale" if roll < 0.03 else "garbage" if roll < 0.04 else "normal"
        p = make_presentation(list(cert.fields), DISCLOSED, batch_root=cert.batch_root, batch_proof=cert.batch_proof,
                              issuer_signature=cert.signature, purpose=PURPOSE, domain=domain,
                              holder_key=holder_keys.get(cert.cert_id), now=now - 1200 if kind == "stale" else now,
                              ttl_s=600, stamp_signer=stamper, suite=cert.suite)
        if kind == "tampered":  # as a forger re-encodes it: HR2 carries no roots, they follow the fields
            fields = [replace(f, value="北京示例伪造科技有限公司") if f.path == "claims.entityName" else f
                      for f in p.disclosure.fields]
            h = digest_of(p.suite)
            root = process_multiproof([field_leaf(f.salt, f.path, f.value, h) for f in fields], p.disclosure.proof,
                                      p.disclosure.flags, h)
            p = replace(p, disclosure=replace(p.disclosure, fields=fields), document_root=root,
                        batch_root=process_proof(root, p.batch_proof, h))
        text = encode(p)
        if kind == "garbage":
            text = text[: len(text) // 2]
        items.append(Item(text, rng.choice(regions), kind, p.holder_signature is not None))
    return items


def measured_qr_version(items: Sequence[Item], holder_bound: bool) -> int:
    """Largest QR version (level M) among the well-formed presentations of one kind in the mix."""
    texts = [i.text for i in items if i.kind == "normal" and i.bound == holder_bound][:64]
    return max(qr_version(t) for t in texts) if texts else 0


# ------------------------------------------------------------------------------------ in-process


def inproc(items: Sequence[Item], view: Any, policies: dict[int, VerifierPolicy], passes: int,
           indexer: Indexer | None) -> tuple[float, float, float, Counter[str]]:
    """Verifications per second: (median wall rate, median CPU rate, best CPU rate, verdicts of the last pass)."""
    wall: list[float] = []
    cpu: list[float] = []
    verdicts: Counter[str] = Counter()
    for _ in range(passes):
        if indexer is not None:
            indexer.sync()
        verdicts.clear()
        now = int(time.time())
        t0, c0 = time.perf_counter(), time.process_time()
        for item in items:
            verdicts[verify_text(item.text, view, policies[item.region], now).verdict] += 1
        t1, c1 = time.perf_counter(), time.process_time()
        wall.append(len(items) / (t1 - t0))
        cpu.append(len(items) / max(c1 - c0, 1e-9))
    return statistics.median(wall), statistics.median(cpu), max(cpu), verdicts


def naive(items: Sequence[Item], view: RpcChainView, policies: dict[int, VerifierPolicy]) -> float:
    now = int(time.time())
    t0 = time.perf_counter()
    for item in items:
        view.refresh()
        verify_text(item.text, view, policies[item.region], now)
    return len(items) / (time.perf_counter() - t0)


# ------------------------------------------------------------------------------------ HTTP


WRK_SCRIPT = r"""
-- Posts the prepared bodies round-robin, each with its verifier credential; counts statuses.
local lines = {}
for line in io.lines(os.getenv("HUREN_BENCH_BODIES")) do lines[#lines + 1] = line end
local i = 0
statuses = {}  -- global: done() reads each thread's copy through thread:get
verdicts = 0  -- answers carrying a verdict (200, or 4xx MALFORMED): the ones a throughput may count
local threads = {}

setup = function(thread) table.insert(threads, thread) end
init = function(args) i = math.random(#lines) end

request = function()
  i = i % #lines + 1
  local tab = lines[i]:find("\t")
  local token, body = lines[i]:sub(1, tab - 1), lines[i]:sub(tab + 1)
  return wrk.format("POST", "/v1/verify", {["Content-Type"] = "application/json",
                                           ["Authorization"] = "Bearer " .. token}, body)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status < 500 and status ~= 429 and body and body:find('"verdict"', 1, true) then verdicts = verdicts + 1 end
end

done = function(summary, latency, requests)
  local merged = {}
  local with_verdict = 0
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do merged[code] = (merged[code] or 0) + n end
    with_verdict = with_verdict + thread:get("verdicts")
  end
  local parts = {}
  for code, n in pairs(merged) do parts[#parts + 1] = code .. ":" .. n end
  io.write("STATUSES " .. table.concat(parts, ",") .. "\n")
  io.write("VERDICTS " .. with_verdict .. "\n")
  io.write(string.format("PCTL p50=%.3f p90=%.3f p99=%.3f max=%.3f\n", latency:percentile(50) / 1000,
                         latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("TOTAL requests=%d duration_s=%.3f errors=%d\n", summary.requests,
                         summary.duration / 1e6, summary.errors.connect + summary.errors.read +
                         summary.errors.write + summary.errors.timeout))
end
"""


def _processes() -> Iterator[tuple[int, str, int, int]]:
    """(pid, command name, parent pid, CPU clock ticks used: user + system) of every process (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, _, rest = (entry / "stat").read_text().rpartition(")")
        except OSError:
            continue  # exited meanwhile
        fields = rest.split()
        yield int(entry.name), head.partition("(")[2], int(fields[1]), int(fields[11]) + int(fields[12])


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` and its direct children."""
    ticks = sum(cpu for p, _, parent, cpu in _processes() if pid in (p, parent))
    return ticks / os.sysconf("SC_CLK_TCK")


def named_processes_cpu_s(name: str) -> float:
    """CPU seconds used so far by every process whose command name is `name` (e.g. the PostgreSQL
    server's backends, which share the two cores with the API but are not its children)."""
    return sum(cpu for _, command, _, cpu in _processes() if command == name) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class HttpRun:
    per_s: float
    p50_ms: float
    p99_ms: float
    p90_ms: float
    max_ms: float
    statuses: dict[str, int]
    tool: str
    verdicts: int = 0  # answers carrying a verdict (200, or 400 MALFORMED)
    errors: int = 0  # requests without any answer (connect, read, write errors, time-outs)


def refusal(statuses: dict[str, int], verdicts: int, errors: int, min_share: float = MIN_VERDICT_SHARE) -> str | None:
    """Why a load run's throughput must not be printed, or None if it may.

    A throughput counts verifications; answers that are not verdicts (a 429 from the rate limit,
    a 307 redirect, a 401, a 5xx, no answer at all) would make any figure a lie, as the old
    httpx fallback's "650 verifications/s" of 307 redirects was.
    """
    requests = sum(statuses.values()) + errors
    if requests == 0:
        return "no request was answered"
    share = verdicts / requests
    if share < min_share:
        return (f"only {verdicts} of {requests} requests ({share:.1%}) were answered with a verdict, "
                f"{min_share:.1%} required; statuses {statuses}, {errors} without an answer")
    return None


def start_api(env: dict[str, str], port: int, workers: int, log_path: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    log = log_path.open("wb")
    process = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the API exited during start-up; see {log_path}")
            try:
                if client.get(url + "/readyz").status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
    stop_api(process)
    raise RuntimeError(f"the API did not become ready within 120 s; see {log_path}")


def stop_api(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def write_bodies(items: Sequence[Item], windows: Sequence[str], path: Path) -> None:
    """One line per presentation, scanned at its own window: `windows[i]` is item i's window's token."""
    with path.open("w") as f:
        for item, token in zip(items, windows, strict=True):
            f.write(token + "\t" + json.dumps({"presentation": item.text}) + "\n")


def run_wrk(url: str, bodies: Path, script: Path, connections: int, threads: int, seconds: int) -> HttpRun:
    run = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
         "-s", str(script), url],
        env={**os.environ, "HUREN_BENCH_BODIES": str(bodies)}, capture_output=True, text=True,
    )
    out = run.stdout
    if run.returncode != 0 or "TOTAL" not in out:
        raise RuntimeError(f"wrk failed (exit {run.returncode}):\n{out}\n{run.stderr}")
    pctl = dict(re.findall(r"(p50|p90|p99|max)=([0-9.]+)", out.split("PCTL", 1)[1]))
    total = dict(re.findall(r"(requests|duration_s|errors)=([0-9.]+)", out.split("TOTAL", 1)[1]))
    statuses = dict(x.split(":") for x in out.split("STATUSES ", 1)[1].split("\n", 1)[0].split(",") if x)
    verdicts = int(out.split("VERDICTS ", 1)[1].split("\n", 1)[0])
    return HttpRun(float(total["requests"]) / float(total["duration_s"]), float(pctl["p50"]), float(pctl["p99"]),
                   float(pctl["p90"]), float(pctl["max"]), {k: int(v) for k, v in statuses.items()}, "wrk",
                   verdicts, int(float(total["errors"])))


def run_httpx(url: str, bodies: Path, connections: int, seconds: int) -> HttpRun:
    """Fallback load: an asyncio + httpx client in a separate process (bench/verify.py --load ...)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.verify", "--load", url, str(bodies), str(connections), str(seconds)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return HttpRun(data["per_s"], data["p50_ms"], data["p99_ms"], data["p90_ms"], data["max_ms"], data["statuses"],
                   "httpx", data["verdicts"], data["errors"])


def _has_verdict(reply: httpx.Response) -> bool:
    if reply.status_code == 429 or not 200 <= reply.status_code < 500:
        return False
    try:
        body = reply.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("verdict"), str)


def _load_main(url: str, bodies_path: str, connections: int, seconds: int) -> None:
    """POST each body to `url`/v1/verify (the path itself: `base_url` + "" would add a slash, and
    the 307 redirects to the route were once counted as verifications); print the figures as JSON."""
    import asyncio

    lines = [line.rstrip("\n").split("\t", 1) for line in Path(bodies_path).read_text().splitlines()]

    async def main() -> None:
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        verdicts = errors = 0
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10, follow_redirects=False) as client:

            async def worker(start: int) -> None:
                nonlocal verdicts, errors
                i = start
                while time.perf_counter() < deadline:
                    token, body = lines[i % len(lines)]
                    i += connections
                    t = time.perf_counter()
                    try:
                        r = await client.post("/v1/verify", content=body,
                                              headers={"Authorization": f"Bearer {token}",
                                                       "Content-Type": "application/json"})
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    latencies.append(time.perf_counter() - t)
                    statuses[str(r.status_code)] += 1
                    verdicts += _has_verdict(r)

            t0 = time.perf_counter()
            await asyncio.gather(*(worker(k) for k in range(connections)))
            elapsed = time.perf_counter() - t0
        latencies.sort()
        pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0  # noqa: E731
        print(json.dumps({"per_s": len(latencies) / elapsed, "p50_ms": pct(0.5), "p90_ms": pct(0.9),
                          "p99_ms": pct(0.99), "max_ms": pct(1.0), "statuses": dict(statuses),
                          "verdicts": verdicts, "errors": errors}))

    asyncio.run(main())


def fresh_pg_database() -> tuple[str, Callable[[], None]]:
    """A new, empty database on the PostgreSQL server (as the tests' db_url fixture makes one)."""
    from sqlalchemy import create_engine, text

    url = os.environ.get("HUREN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"huren_bench_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{url.rpartition('/')[0]}/{name}", drop


# ------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run: 2 in-process passes, 10 s of HTTP load")
    parser.add_argument("--passes", type=int, default=None, help="in-process passes over the 1,024 (median)")
    parser.add_argument("--naive", type=int, default=None, help="presentations verified the naive way")
    parser.add_argument("--seconds", type=int, default=None, help="measured HTTP load duration")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--cpu", type=int, default=0, help="core the in-process measurement is pinned to")
    parser.add_argument("--tool", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the API's database (certificates, credentials, verification log): the demo's SQLite "
                             "file, or a fresh database on the PostgreSQL server of HUREN_TEST_PG_URL")
    parser.add_argument("--load", nargs=4, metavar=("URL", "BODIES", "CONNECTIONS", "SECONDS"),
                        help=argparse.SUPPRESS)  # internal: the httpx load-generator process
    args = parser.parse_args()
    if args.load:
        url, bodies, connections, seconds = args.load
        _load_main(url, bodies, int(connections), int(seconds))
        return
    passes = args.passes or (2 if args.quick else 7)
    naive_n = args.naive or (64 if args.quick else 256)
    seconds = args.seconds or (10 if args.quick else 30)

    print(describe())
    print("load average before the run (1/5/15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    node = start_anvil(block_time=IDLE_BLOCK_TIME_S, mixed_mining=True)  # facts stay fresh over long phases
    tmp = Path(tempfile.mkdtemp(prefix="huren-bench-verify-"))
    api: subprocess.Popen[bytes] | None = None
    cleanups: list[Callable[[], None]] = []
    try:
        t = time.perf_counter()
        db_url = None
        if args.db == "postgresql":
            db_url, pg_cleanup = fresh_pg_database()
            cleanups.append(pg_cleanup)
        world = seed(node, tmp / "demo", db_url=db_url)
        net = world.net
        certs, holder_keys = issue_batch(net, tmp, random.Random(3))
        stamper = load_stamp_signers(Path(world.env["HUREN_STAMP_KEYS_FILE"]),
                                     Path(world.env["HUREN_PASSPHRASE_FILE"]).read_text().strip())[BJ]
        domain = Domain(net.manifest.chain_id, net.manifest.ledger_address)
        policies = {r: VerifierPolicy(region=r, domain=domain, confirmations=2) for r, _ in REGION_MIX}
        print(f"set-up: demo consortium seeded, {BATCH} business licences issued and anchored in one batch, "
              f"{REVOKED} revoked, {SUSPENDED} suspended ({time.perf_counter() - t:.1f} s, not timed)")

        items = make_mix(certs, holder_keys, domain, stamper)
        sizes = [len(i.text) for i in items if i.kind == "normal"]
        qr_unbound, qr_bound = measured_qr_version(items, False), measured_qr_version(items, True)
        n_fields = min(len(c.fields) for c in certs)
        print(f"presentations: 4 of the {n_fields - 7} optional fields of a {n_fields}-field business licence "
              f"({n_fields + 1} with a holder key) disclosed (+7 always), batch of {BATCH}; HR2 text {min(sizes)}-"
              f"{max(sizes)} characters; QR version at level M: {qr_unbound} unbound, {qr_bound} holder-bound")

        # In-process, one core.
        indexer = Indexer(RpcClient(node.url), net.manifest, net.abis,
                          st.IndexStore(st.make_engine(f"sqlite:///{tmp / 'bench-index.sqlite'}")))
        indexer.sync()
        view = IndexedChainView(indexer)
        affinity = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {args.cpu})
        try:
            inproc(items[:128], view, policies, 1, indexer)  # warm caches (lru, domain separators)
            items = make_mix(certs, holder_keys, domain, stamper)
            wall_rate, cpu_median, cpu_rate, verdicts = inproc(items, view, policies, passes, indexer)
        finally:
            os.sched_setaffinity(0, affinity)
        print(f"in-process (indexed view, decode + verify, 1 thread pinned to core {args.cpu}, {passes} passes x "
              f"{len(items)}): {cpu_rate:.0f}/s per CPU second in the best pass, {cpu_median:.0f}/s median; "
              f"{wall_rate:.0f}/s wall clock (median; the machine is shared)")
        print("verdicts in the mix: " + ", ".join(f"{v} {n}" for v, n in verdicts.most_common()))

        # The same in crypto suite 2 (国密): SM3 trees, SM2 issuer signature and SM2 加注 stamp.
        t = time.perf_counter()
        certs_sm2, holder_keys_sm2 = issue_batch(net, tmp, random.Random(4), suite=2)
        sm2_stamp = SM2NodePrivateKey.generate()
        net.node_change(BJ, AddNodeKey(NodeAlgorithm.SM2_SM3, NodeKeyPurpose.STAMPING, sm2_stamp.public_bytes()))
        stamper_sm2 = StampSigner(BJ, sm2_stamp)
        print(f"set-up (suite 2): a second department with an SM2 key, {BATCH} licences anchored as a 国密 batch, "
              f"an SM2 stamping key registered for {BJ} ({time.perf_counter() - t:.1f} s, not timed)")
        items_sm2 = make_mix(certs_sm2, holder_keys_sm2, domain, stamper_sm2)
        os.sched_setaffinity(0, {args.cpu})
        try:
            inproc(items_sm2[:128], view, policies, 1, indexer)
            items_sm2 = make_mix(certs_sm2, holder_keys_sm2, domain, stamper_sm2)
            _, sm2_median, sm2_rate, verdicts_sm2 = inproc(items_sm2, view, policies, passes, indexer)
        finally:
            os.sched_setaffinity(0, affinity)
        qr_sm2 = measured_qr_version(items_sm2, False)
        print(f"in-process, suite 2 (same view and core): {sm2_rate:.0f}/s per CPU second in the best pass, "
              f"{sm2_median:.0f}/s median = {sm2_rate / cpu_rate:.2f} of suite 1; QR version {qr_sm2} unbound")
        print("verdicts in the suite-2 mix: " + ", ".join(f"{v} {n}" for v, n in verdicts_sm2.most_common()))

        # Naive: one eth_call per fact.
        naive_view = RpcChainView(RpcClient(node.url), net.manifest, net.abis)
        naive_rate = naive(items[:naive_n], naive_view, policies)
        print(f"naive (RpcChainView, eth_call per fact, {naive_n} presentations): {naive_rate:.1f}/s "
              f"-> indexed is {cpu_rate / naive_rate:.0f}x faster")

        # HTTP under concurrent load.
        # One service window per presentation, each with a credential at the default (one window's) rate.
        creds = CredentialStore(st.make_engine(world.env["HUREN_DB_URL"]))
        windows = [creds.add("verifier", f"bench window {item.region}-{k}", region=item.region)[1]
                   for k, item in enumerate(items)]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**world.env, "HUREN_PUBLIC_BASE_URL": url}
        api = start_api(env, port, args.workers, tmp / "api.log")
        tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
        script = tmp / "verify.lua"
        script.write_text(WRK_SCRIPT)
        bodies = tmp / "bodies.tsv"

        def load(duration: int, guomi: bool = False) -> HttpRun:
            mix = (make_mix(certs_sm2, holder_keys_sm2, domain, stamper_sm2) if guomi
                   else make_mix(certs, holder_keys, domain, stamper))
            write_bodies(mix, windows, bodies)
            if tool == "wrk":
                return run_wrk(url, bodies, script, args.connections, 1, duration)
            return run_httpx(url, bodies, args.connections, duration)

        load(3)  # warm-up: both workers' first requests, the log writer, connection set-up
        load(3, guomi=True)  # and the suite-2 paths (SM2 key objects, the SM2 stamping key's lookups)
        cpu_before, pg_before = process_tree_cpu_s(api.pid), named_processes_cpu_s("postgres")
        http = load(seconds)
        answered = max(1, sum(http.statuses.values()))
        server_cpu_ms = (process_tree_cpu_s(api.pid) - cpu_before) * 1000 / answered
        pg_cpu_ms = (named_processes_cpu_s("postgres") - pg_before) * 1000 / answered
        http_sm2 = load(seconds, guomi=True)  # the same mix of verdicts, every code in suite 2
        stop_api(api)
        api = None
        for run in (http, http_sm2):
            refused = refusal(run.statuses, run.verdicts, run.errors)
            if refused is not None:
                raise SystemExit(f"bench.verify: no throughput figure — {refused}")
        print(f"HTTP ({tool}, {args.connections} connections, {seconds} s, uvicorn --workers {args.workers}, "
              f"{args.db}, {len(windows)} service windows' verifier credentials at the default rate limit; "
              f"{http.verdicts} verdicts): {http.per_s:.0f}/s, "
              f"p50 {http.p50_ms:.1f} ms, p90 {http.p90_ms:.1f} ms, p99 {http.p99_ms:.1f} ms, "
              f"max {http.max_ms:.1f} ms; statuses {http.statuses}; API processes used {server_cpu_ms:.2f} ms of CPU "
              f"per request (2 cores' worth: {2000 / server_cpu_ms:.0f}/s if nothing else ran)"
              + (f"; the PostgreSQL server used {pg_cpu_ms:.2f} ms per request on the same cores"
                 if args.db == "postgresql" else ""))
        print(f"HTTP, suite 2 (国密; same server, tool and connections, {seconds} s, {http_sm2.verdicts} verdicts): "
              f"{http_sm2.per_s:.0f}/s, p50 {http_sm2.p50_ms:.1f} ms, p90 {http_sm2.p90_ms:.1f} ms, "
              f"p99 {http_sm2.p99_ms:.1f} ms, max {http_sm2.max_ms:.1f} ms; statuses {http_sm2.statuses}")
        print("load average after the run (1/5/15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        qr_default_max, _ = report(preset_sizes())
        print(f"verify inproc_per_s={cpu_rate:.0f} inproc_sm2_per_s={sm2_rate:.0f} http_per_s={http.per_s:.0f} "
              f"http_sm2_per_s={http_sm2.per_s:.0f} p99_sm2_ms={http_sm2.p99_ms:.1f} p50_ms={http.p50_ms:.1f} "
              f"p99_ms={http.p99_ms:.1f} naive_per_s={naive_rate:.1f} qr_version={qr_unbound} "
              f"qr_default_max={qr_default_max}")
    except BaseException:
        log = tmp / "api.log"
        if log.exists():
            print("---- API log (last 80 lines) ----\n" + "\n".join(log.read_text(errors="replace").splitlines()[-80:]))
        raise
    finally:
        if api is not None:
            stop_api(api)
        node.stop()
        for cleanup in cleanups:
            cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
