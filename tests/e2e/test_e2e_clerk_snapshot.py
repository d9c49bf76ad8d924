"""The clerk page's trust snapshot over real HTTP (issue 16, item 3): only a signed-in window gets it;
it is the node's index for that window's region, signed by the publisher key the page's own
configuration names, and verifier/snapshot.load_snapshot accepts it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from api.seed import BJ, HE, LICENCE, SH
from common.eip712 import Domain
from tests.e2e.conftest import issue_licence, wait_anchored
from verifier.snapshot import TrustSnapshot, load_snapshot
from verifier.verdicts import Verdict

HEBEI, SHANGHAI = "verifier-130000", "verifier-310000"


@contextmanager
def _pages(stack: Any, handle: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as c:
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/pages/signin").text)
        assert csrf is not None
        signed_in = c.post("/pages/signin", data={"token": stack.world.tokens[handle], "csrf": csrf.group(1)})
        assert signed_in.status_code == 303
        yield c


def _snapshot(stack: Any, c: httpx.Client) -> tuple[TrustSnapshot, dict[str, Any]]:
    config = c.get("/pages/clerk/offline.json").json()
    reply = c.get("/pages/clerk/snapshot.json")
    assert reply.status_code == 200, reply.text
    rt = stack.app.state.runtime
    domain = Domain(config["domain"]["chainId"], config["domain"]["verifyingContract"])
    assert domain == rt.domain
    return load_snapshot(reply.text, config["publisher"], domain), config


def test_without_a_session_the_snapshot_is_refused(stack: Any) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as c:
        assert c.get("/pages/clerk/snapshot.json", headers={"X-Requested-With": "huren-page"}).status_code == 401
        assert c.get("/pages/clerk/snapshot.json").status_code == 303  # a browser is sent to sign in
        assert c.get("/pages/clerk/offline.json", headers={"X-Requested-With": "huren-page"}).status_code == 401


def test_a_holder_gets_no_snapshot(stack: Any) -> None:
    _, _, holder = issue_licence(stack, 81)
    with _pages(stack, holder) as c:
        reply = c.get("/pages/clerk/snapshot.json", headers={"X-Requested-With": "huren-page"})
    assert reply.status_code == 403
    assert "窗口" in reply.json()["error"]["message"] or "核验" in reply.json()["error"]["message"]


def test_the_snapshot_is_the_index_of_the_windows_region_signed_by_the_published_key(stack: Any) -> None:
    cert_id, _, holder = issue_licence(stack, 82)
    wait_anchored(stack, holder, cert_id)
    with _pages(stack, HEBEI) as c:
        snap, config = _snapshot(stack, c)
        raw = c.get("/pages/clerk/snapshot.json", headers={"Accept-Encoding": "identity"})
    model = stack.app.state.runtime.indexer.model
    assert raw.headers["cache-control"] == "no-store" and "content-encoding" not in raw.headers
    # Beijing's licences are recognised in Hebei: every anchored batch of them is in the list.
    bj_licences = {r.batch_root for r in model.anchors.values()
                   if model.issuers[r.issuer_id].region == BJ and r.type_code == LICENCE
                   and r.block_number <= snap.height}
    assert bj_licences and bj_licences <= {a.batch_root for a in snap.anchors}
    for a in snap.anchors:
        record = model.anchors[a.batch_root]
        assert (a.issuer_id, a.key, a.type_code, a.block_number, a.tx_hash) == (
            record.issuer_id, record.key, record.type_code, record.block_number, record.tx_hash)
    assert {r.verifier_region for r in snap.recognition} == {HE}
    assert {i.issuer_id for i in snap.issuers} == set(model.issuers)
    assert snap.stamp_keys and all(k.purpose == 2 for k in snap.stamp_keys)
    assert config["policy"]["region"] == HE
    assert config["policy"]["max_facts_age_s"] == stack.app.state.runtime.settings.offline_max_facts_age_s
    assert config["words"]["verdicts"]["REVOKED"]["label"] == Verdict.REVOKED.label


def test_a_revocation_reaches_the_snapshot(stack: Any) -> None:
    cert_id, _, holder = issue_licence(stack, 83)
    wait_anchored(stack, holder, cert_id)
    with stack.client("bj-amr") as c:
        assert c.post(f"/v1/certificates/{cert_id}/revoke", json={"reason": "撤销"}).status_code == 200
    rt = stack.app.state.runtime
    dept = rt.departments[stack.world.department("bj-amr").credit_code]
    root = dept.service.certificate(cert_id).document_root
    rt.indexer_nudge()
    deadline = time.monotonic() + 30
    with _pages(stack, HEBEI) as c:
        while True:
            snap, _ = _snapshot(stack, c)
            if any(s.status.cert_hash == root for s in snap.statuses) or time.monotonic() > deadline:
                break
            time.sleep(1)
    assert [s.status.status.name for s in snap.statuses if s.status.cert_hash == root] == ["REVOKED"]


def test_a_region_that_recognises_nothing_gets_only_its_own_batches(stack: Any) -> None:
    with _pages(stack, SHANGHAI) as c:
        snap, _ = _snapshot(stack, c)
    model = stack.app.state.runtime.indexer.model
    assert all(model.issuers[a.issuer_id].region == SH for a in snap.anchors)


def test_the_snapshot_is_gzip_encoded_when_the_page_accepts_it(stack: Any) -> None:
    with _pages(stack, HEBEI) as c:
        config = c.get("/pages/clerk/offline.json").json()
        reply = c.get("/pages/clerk/snapshot.json", headers={"Accept-Encoding": "gzip"})
        assert reply.headers.get("content-encoding") == "gzip"
        text = reply.text  # httpx decodes it
    assert text.startswith('{"signature":"0x')
    rt = stack.app.state.runtime
    assert load_snapshot(text, config["publisher"], rt.domain).height > 0


def test_the_service_worker_is_served_for_the_clerk_scope(stack: Any) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as c:
        reply = c.get("/pages/clerk/sw.js")
    assert reply.status_code == 200
    assert reply.headers["service-worker-allowed"] == "/pages/clerk"
    assert reply.headers["content-type"].startswith("text/javascript")
