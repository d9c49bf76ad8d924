"""A self-contained issuer process: the anchoring worker plus a stream of sample issuances.

    python -m issuers.runner --samples 3000 --seed 7 --types T1,T2 [--chunk 50] [--drain]

Configured like the CLI (HUREN_* environment variables, see `issuers.config`). It starts the
anchoring worker in a thread, then issues deterministic sample certificates
(`issuers.samples`, in the department's own name) chunk by chunk, printing one line

    accepted <cert id>

per certificate right after the chunk's commit: a printed id is an accepted one. It resumes
where the store says it stopped (re-submitted samples are recognised, never issued twice).
With `--drain` it exits 0 once every certificate is anchored and final; without, the worker
keeps running until the process is stopped.

This is what the crash test SIGKILLs at random moments and restarts; it is also a small
load generator for the demo.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from issuers.config import IssuerConfig, open_service, open_worker
from issuers.model import Issuer
from issuers.samples import TYPE_CODES, sample_document

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m issuers.runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=0, help="sample certificates to issue in total")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--types", default=TYPE_CODES["business_licence"], help="comma-separated type codes")
    parser.add_argument("--chunk", type=int, default=50, help="certificates per store transaction")
    parser.add_argument("--drain", action="store_true", help="exit once everything is anchored and final")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")

    config = IssuerConfig.from_env()
    service = open_service(config, check_authorisation=False)
    worker = open_worker(service, config)
    worker.start()
    print("ready", flush=True)

    dept = service.department
    me = Issuer(dept.credit_code, dept.region, dept.name, service.intake.sealer.address)
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    start = len(service.store.certificate_ids(dept.credit_code))  # chunks commit in seed order
    for first in range(start, args.samples, args.chunk):
        seeds = range(first, min(first + args.chunk, args.samples))
        docs = [sample_document(types[s % len(types)], args.seed * 1_000_003 + s, issuer=me) for s in seeds]
        result = service.issue_many(docs, chunk=args.chunk)
        if result.rejected:
            print(f"rejected {len(result.rejected)}: {result.rejected[0]}", file=sys.stderr, flush=True)
            return 2
        sys.stdout.write("".join(f"accepted {cid}\n" for cid in result.accepted))
        sys.stdout.flush()
    print("issued", flush=True)

    if not args.drain:
        while True:
            time.sleep(3600)
    worker.stop()
    ok = worker.drain(args.timeout)
    print("drained" if ok else "drain timed out", flush=True)
    service.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
