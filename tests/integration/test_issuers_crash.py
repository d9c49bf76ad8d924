"""Crash safety: SIGKILL the issuer process at random moments; every accepted certificate must
end up anchored exactly once — never lost, never twice.

The issuer runs as a real subprocess (`python -m issuers.runner`): it issues deterministic
sample certificates into the store while its anchoring worker anchors batches to a real
anvil. The test kills it with SIGKILL after a random delay, restarts it, repeats, and finally
lets it drain. Then it checks the store AND the chain (eth_getLogs of `Anchored`):

* every certificate the runner reported as accepted is in the store (never lost);
* every stored certificate is a member of exactly one batch, every batch is final;
* every batch root is anchored on chain exactly once, and the chain holds no root of this
  department that the store does not know (no orphan, no double anchor);
* each batch root recomputed from its members' document roots equals the anchored root, and
  the certificate counts on chain add up to the number of accepted certificates.

A second test kills the process at each named point of the outbox protocol (via
HUREN_FAULT_POINT) — right after a batch closes, after the signed tx is saved but before it is
broadcast, after the broadcast, after the receipt but before it is saved — and checks the
same guarantees after a restart.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.merkle import StandardMerkleTree
from issuers.field_cipher import FieldCipher
from issuers.store import BatchState, CertificateStore
from ledger.anvil import ROOT
from tests.integration.issuer_env import (
    DEPT_TYPES,
    LICENCE,
    DeptEnv,
    anchored_events,
    register_department,
    write_cli_env,
)

pytestmark = pytest.mark.slow

SAMPLES = 2000  # "thousands of issuances" (issue 4), sized for a 20-minute CI on 2 cores
KILLS = 6


def _spawn(env: dict[str, str], out: Path, *args: str) -> subprocess.Popen[bytes]:
    with out.open("ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "issuers.runner", *args], cwd=ROOT,
                                env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT)


def _wait_for(out: Path, word: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and word in out.read_text(errors="replace").split():
            return
        if process.poll() is not None:
            raise AssertionError(f"runner exited ({process.returncode}) before {word!r}:\n{out.read_text()[-3000:]}")
        time.sleep(0.02)
    raise AssertionError(f"runner did not print {word!r} within {timeout} s")


def _accepted_lines(outputs: list[Path]) -> set[str]:
    ids: set[str] = set()
    for out in outputs:
        for line in out.read_text(errors="replace").splitlines(keepends=True):
            # A SIGKILL can cut the last write short: only whole lines count as reported.
            if line.startswith("accepted ") and line.endswith("\n"):
                ids.add(line.split(" ", 1)[1].strip())
    return ids


def _assert_exactly_once(dept: DeptEnv, db_url: str, reported: set[str], expected_count: int, note: str) -> None:
    store = CertificateStore(db_url, FieldCipher.from_key_text(dept.field_key))
    try:
        code = dept.department.credit_code
        stored = store.certificate_ids(code)
        assert reported <= set(stored), f"{note}: accepted but lost: {sorted(reported - set(stored))[:5]}"
        assert len(stored) == len(set(stored)) == expected_count, note
        batches = store.batches(code)
        assert batches and all(b.state is BatchState.FINAL for b in batches), note
        members = {b.id: store.members(b.id) for b in batches}
        batched = [cid for m in members.values() for cid, _ in m]
        assert sorted(batched) == sorted(stored), f"{note}: a certificate is in no batch or in two"
        for b in batches:
            assert StandardMerkleTree.of([root for _, root in members[b.id]]).root == b.root, note
            assert b.cert_count == len(members[b.id]), note
        iid = dept.net.huren.key_info(dept.account.address)[0]
        events = [e for e in anchored_events(dept.net) if bytes(e["issuerId"]) == iid]
        chain_roots = [bytes(e["batchRoot"]) for e in events]
        assert len(chain_roots) == len(set(chain_roots)), f"{note}: a root was anchored twice"
        assert set(chain_roots) == {b.root for b in batches}, f"{note}: store and chain disagree on batch roots"
        assert sum(int(e["certCount"]) for e in events) == expected_count, note
        for b in batches:
            record = dept.net.huren.anchor_of(b.root)
            assert record is not None and record["blockNumber"] == b.block_number, note
    finally:
        store.close()


@pytest.fixture
def dept(devnet) -> DeptEnv:  # type: ignore[no-untyped-def]
    return register_department(devnet)


def _env(dept: DeptEnv, tmp_path: Path, db_url: str, **policy: str) -> dict[str, str]:
    env = write_cli_env(dept, tmp_path, db_url)
    env.update({"HUREN_BATCH_SIZE": "100", "HUREN_BATCH_MAX_AGE": "0.3", "HUREN_CONFIRMATIONS": "1", **policy})
    return env


def test_sigkilled_issuer_anchors_every_accepted_certificate_exactly_once(dept, db_url, tmp_path):
    seed = int(os.environ.get("HUREN_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    note = f"kill seed {seed} (rerun with HUREN_CRASH_SEED={seed})"
    env = _env(dept, tmp_path, db_url)
    types = ",".join(DEPT_TYPES)
    outputs: list[Path] = []
    delays: list[float] = []
    left: list[dict[str, int]] = []  # what each kill left behind in the store
    started = time.monotonic()
    for k in range(KILLS):
        out = tmp_path / f"run{k}.out"
        outputs.append(out)
        process = _spawn(env, out, "--samples", str(SAMPLES), "--seed", "7", "--types", types)
        _wait_for(out, "ready", process)
        delays.append(round(rng.uniform(0.05, 1.2), 2))
        time.sleep(delays[-1])
        process.send_signal(signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL, f"{note}: runner had already exited"
        store = CertificateStore(db_url, FieldCipher.from_key_text(dept.field_key))
        left.append(store.overview())
        store.close()
    out = tmp_path / "final.out"
    outputs.append(out)
    process = _spawn(env, out, "--samples", str(SAMPLES), "--seed", "7", "--types", types,
                     "--drain", "--timeout", "120")
    assert process.wait(180) == 0, f"{note}:\n{out.read_text()[-3000:]}"
    reported = _accepted_lines(outputs)
    killed_mid_issuance = sum(1 for o in outputs[:-1] if "issued" not in o.read_text().split())
    print(f"{note}; delays {delays}; killed during issuance {killed_mid_issuance}/{KILLS}; "
          f"{time.monotonic() - started:.1f} s")
    for k, o in enumerate(left):
        print(f"  after kill {k}: {o}")
    assert killed_mid_issuance >= 1, f"{note}: no kill landed while certificates were being issued"
    _assert_exactly_once(dept, db_url, reported, SAMPLES, note)


def _anchored_within(dept: DeptEnv, root: bytes, timeout: float) -> bool:
    """A transaction killed just after broadcast sits in the node's pool: anvil mines it a moment
    later, so "broadcast" means "will be on chain", not "is on chain at the instant of the kill"."""
    deadline = time.monotonic() + timeout
    while True:
        if dept.net.huren.anchor_of(root) is not None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


@pytest.mark.parametrize("point", ["batch_closed", "submit_saved", "broadcast", "receipt"])
def test_kill_at_each_outbox_step_neither_loses_nor_double_anchors(dept, tmp_path, point):
    db_url = f"sqlite:///{tmp_path / 'issuer.sqlite'}"
    env = _env(dept, tmp_path, db_url, HUREN_BATCH_SIZE="16")
    out = tmp_path / "crash.out"
    crashed = _spawn({**env, "HUREN_FAULT_POINT": point}, out, "--samples", "40", "--types", LICENCE)
    assert crashed.wait(60) == -signal.SIGKILL, f"the fault point {point} was never reached:\n{out.read_text()}"
    store = CertificateStore(db_url, FieldCipher.from_key_text(dept.field_key))
    batch = store.batches()[0]
    expected = {"batch_closed": (BatchState.PENDING, False), "submit_saved": (BatchState.SUBMITTED, False),
                "broadcast": (BatchState.SUBMITTED, True), "receipt": (BatchState.SUBMITTED, True)}[point]
    on_chain = _anchored_within(dept, batch.root, 10.0 if expected[1] else 0.0)
    assert (batch.state, on_chain) == expected
    store.close()
    final = tmp_path / "final.out"
    process = _spawn(env, final, "--samples", "40", "--types", LICENCE, "--drain", "--timeout", "60")
    assert process.wait(120) == 0, final.read_text()[-3000:]
    _assert_exactly_once(dept, db_url, _accepted_lines([out, final]), 40, f"fault point {point}")
