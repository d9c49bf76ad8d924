"""Issuance benchmark: certificates end to end, from submitted JSON to a confirmed anchor.

    .venv/bin/python -m bench.issue            # 20,000 certificates
    .venv/bin/python -m bench.issue --quick    # 2,000 certificates

What is timed, per certificate: validation (`validate_certificate`: JSON Schema, GB 11643,
GB 32100, GB/T 2260, GB/T 36904, cross-field checks), completion with the department's
issuer block, per-field 128-bit salts, leaves and document root, the EIP-712 signature,
AES-GCM sealing of the sensitive fields, the commit to the store (a SQLite file, WAL) —
that commit is the acceptance — then batch closing, the anchor transactions and their
receipts on a local anvil (one block per transaction; confirmations = 1, as on a QBFT chain
with immediate finality). The clock stops when the last batch is final in the store.

Not timed: generating the sample documents (they stand for what a department submits),
starting anvil and deploying the contracts.

Validation and sealing run in `--workers` processes (default: one per core), the store
commits in the parent, the anchoring worker runs in a thread beside it: the same code paths
as `IssuerService.issue_many` and `AnchorWorker` in production.

Both crypto suites in the same run (issue 17), one department each: suite 1 (keccak trees,
secp256k1 EIP-712 signatures, AES-GCM) and suite 2 (国密: SM3 trees, SM2 signatures, SM4-GCM,
batches anchored with anchorGuomi). Last line:
`issue certs_per_s=<x> gas_per_cert=<y> certs_sm2_per_s=<x2> gas_per_cert_sm2=<y2> n=<n>`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.machine import describe
from common.gm import sm2_generate_keypair
from issuers.anchoring import AnchorPolicy, AnchorWorker
from issuers.catalogue import default_catalogue
from issuers.chain_link import ChainLink
from issuers.field_cipher import FieldCipher, new_field_key
from issuers.intake import Department, IntakeSpec
from issuers.model import Issuer
from issuers.rules.credit_code import make_credit_code
from issuers.samples import TYPE_CODES, sample_document, sample_issuer
from issuers.service import IssuerService
from issuers.store import CertificateStore
from ledger.anvil import start_anvil
from ledger.devnet import Devnet, start_devnet

BJ = 110000
#: The department's types, most issued first. A department issues mostly one type (a 市场监督管理局:
#: business licences); `--types 4` spreads the load over four, which splits batches four ways.
TYPES = (TYPE_CODES["business_licence"], TYPE_CODES["resident_id_card"], TYPE_CODES["driving_licence"],
         TYPE_CODES["degree"])  # fmt: skip


def _documents(args: tuple[int, int, Issuer, tuple[str, ...]]) -> list[dict[str, Any]]:
    start, count, issuer, types = args
    return [sample_document(types[i % len(types)], 7_000_000 + i, issuer=issuer) for i in range(start, start + count)]


def generate(n: int, issuer: Issuer, workers: int, types: tuple[str, ...]) -> list[dict[str, Any]]:
    chunk = 500
    jobs = [(s, min(chunk, n - s), issuer, types) for s in range(0, n, chunk)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [doc for part in pool.map(_documents, jobs) for doc in part]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stage_profile(spec: IntakeSpec, docs: list[dict[str, Any]]) -> dict[str, float]:
    """Single-core microseconds per certificate for each stage (on a sample), to show where time goes."""
    intake = spec.build()
    out: dict[str, list[float]] = {"validate": [], "salt+root+sign": [], "encrypt+layout": []}
    for doc in docs:
        t0 = time.perf_counter()
        cert = intake.validate(doc)
        t1 = time.perf_counter()
        sealed = intake.sealer.seal(cert)
        t2 = time.perf_counter()
        intake.row(sealed, intake.cipher.fingerprint(b""))
        t3 = time.perf_counter()
        out["validate"].append(t1 - t0)
        out["salt+root+sign"].append(t2 - t1)
        out["encrypt+layout"].append(t3 - t2)
    return {k: statistics.median(v) * 1e6 for k, v in out.items()}


def measure(net: Devnet, tmp: Path, n: int, args: argparse.Namespace, suite: int, credit_code: str) -> dict[str, Any]:
    """Issue `n` certificates of one department in crypto `suite` and time them until final on chain.

    Suite 2 (国密): the department seals with an SM2 key registered beside its transaction key
    (IssuerRegistry.addSM2Key), SM3 trees, SM4-GCM field sealing, batches anchored with anchorGuomi.
    """
    catalogue = default_catalogue()
    template = sample_issuer(TYPES[0], "110105")
    account = net.new_account()
    iid = net.register_issuer(BJ, credit_code, template.name, [account.address], list(TYPES))
    signing_key, signing_address = bytes(account.key), account.address
    if suite == 2:
        pair = sm2_generate_keypair()
        signing_key, signing_address = pair.private_key, net.add_sm2_key(BJ, iid, pair.public_key)
    department = Department(credit_code, template.region, template.name)
    issuer = Issuer(credit_code, template.region, template.name, signing_address)
    chain = ChainLink(net.rpc, net.manifest, net.abis, account)
    field_key = new_field_key(suite)
    spec = IntakeSpec(department, signing_key, chain.domain, field_key, suite=suite)
    db_url = args.db or f"sqlite:///{tmp / f'issuer-suite{suite}.sqlite'}"
    store = CertificateStore(db_url, FieldCipher.from_key_text(field_key))
    service = IssuerService(store, spec, chain, workers=args.workers, parallel_threshold=1)
    policy = AnchorPolicy(batch_size=args.batch_size, batch_max_age=2.0, confirmations=1, poll_interval=0.05)
    worker = AnchorWorker(store, chain, department.credit_code, policy)
    try:
        t = time.perf_counter()
        types = TYPES[: args.types]
        docs = generate(n, issuer, args.workers, types)
        print(f"[suite {suite}] generated {n} sample documents ({len(types)} type(s)) in "
              f"{time.perf_counter() - t:.1f} s (not timed)")
        profile = stage_profile(spec, docs[:400])
        service.issue_many(docs[:64])  # start the worker processes (not timed); these 64 are not counted
        worker.drain(60)
        first_block = net.rpc.block_number() + 1

        pids = {"this process": os.getpid(), "anvil": net.node.process.pid,
                **{f"worker {i}": p.pid for i, p in enumerate(service._pool._processes.values())}}  # type: ignore[union-attr]
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        t0 = time.perf_counter()
        worker.start()
        result = service.issue_many(docs[64:], chunk=args.chunk)
        t_accepted = time.perf_counter()
        worker.stop()
        assert worker.drain(600), "anchoring did not finish"
        t_final = time.perf_counter()
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}

        counted = n - 64
        assert len(result.accepted) == counted and not result.rejected, (len(result.accepted), result.rejected[:3])
        batches = [b for b in store.batches() if b.block_number is not None and b.block_number >= first_block]
        assert sum(b.cert_count for b in batches) == counted
        assert all(b.suite == suite for b in batches), "a batch of the other suite"
        receipts = net.rpc.batch([("eth_getTransactionReceipt", ["0x" + b.tx_hash.hex()]) for b in batches
                                  if b.tx_hash])  # fmt: skip
        gas = sum(int(str(r["gasUsed"]), 16) for r in receipts if isinstance(r, dict))
        elapsed = t_final - t0
        rate = counted / elapsed
        print(f"[suite {suite}] store: {db_url.split(':', 1)[0]}; workers: {args.workers} processes; batch size "
              f"{args.batch_size}, max age {policy.batch_max_age:g} s; types: "
              f"{', '.join(catalogue[t].name for t in types)}")
        print(f"[suite {suite}] single-core stage medians (us/cert): "
              + ", ".join(f"{k} {v:.0f}" for k, v in profile.items()))
        print(f"[suite {suite}] accepted {counted} certificates in {t_accepted - t0:.2f} s "
              f"({counted / (t_accepted - t0):.0f}/s); all anchored and final after {elapsed:.2f} s")
        cpu_total = sum(cpu.values())
        print(f"[suite {suite}] CPU used in the timed part: " + ", ".join(f"{k} {v:.1f} s" for k, v in cpu.items())
              + f"; {cpu_total / counted * 1e6:.0f} us CPU per certificate -> on {os.cpu_count()} idle cores at most "
              f"{(os.cpu_count() or 1) * counted / cpu_total:.0f} certificates/s (wall-clock figure is below)")
        print(f"[suite {suite}] {len(batches)} anchor transactions, {gas} gas in total, "
              f"{gas / len(batches):.0f} gas per batch, {gas / counted:.1f} gas per certificate")
        return {"rate": rate, "gas_per_cert": gas / counted, "n": counted}
    finally:
        service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 certificates instead of 20,000")
    parser.add_argument("-n", type=int, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--types", type=int, default=1, choices=range(1, len(TYPES) + 1),
                        help="certificate types issued (batches are per type: more types, smaller batches)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--chunk", type=int, default=128, help="certificates per worker task and per commit")
    parser.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file per suite)")
    parser.add_argument("--suites", default="1,2", help="crypto suites to measure, in this order (default 1,2)")
    args = parser.parse_args()
    n = args.n or (2_000 if args.quick else 20_000)
    suites = [int(x) for x in args.suites.split(",")]

    print(describe())
    print("load average before the run (1/5/15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    node = start_anvil()
    tmp = Path(tempfile.mkdtemp(prefix="huren-bench-issue-"))
    try:
        net = start_devnet(node)
        catalogue = default_catalogue()
        for code in TYPES:
            net.define_type(code, catalogue[code].name, catalogue[code].schema_hash)
        credit_codes = {1: sample_issuer(TYPES[0], "110105").credit_code, 2: make_credit_code(f"11{BJ}HRGM00001")}
        figures = {suite: measure(net, tmp, n, args, suite, credit_codes[suite]) for suite in suites}
        print("load average after the run (1/5/15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        line = "issue"
        if 1 in figures:
            line += f" certs_per_s={figures[1]['rate']:.0f} gas_per_cert={figures[1]['gas_per_cert']:.1f}"
        if 2 in figures:
            line += (f" certs_sm2_per_s={figures[2]['rate']:.0f}"
                     f" gas_per_cert_sm2={figures[2]['gas_per_cert']:.1f}")
        print(f"{line} n={n - 64}")
    finally:
        node.stop()


if __name__ == "__main__":
    main()
