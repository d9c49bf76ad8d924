"""Rate limits on every path that verifies, issues or signs in — API route, fast lane, clerk page,
sign-in, issuance — over real HTTP, and counted once per host by `huren serve --workers 2`.

The stack here limits credentials without a rate of their own to 3 requests and then one per
1,000 s, and failed sign-ins likewise, so "the 4th request is refused" does not depend on how
fast the test runs. Each test uses credentials of its own; the sign-in tests each come from a
loopback address of their own (127.0.0.x), since failed sign-ins are counted per client address.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from api.credentials import CredentialStore
from api.ratelimit import FILE_NAME
from api.seed import seed
from ledger.anvil import free_port, start_anvil
from ledger.store import make_engine
from tests.e2e.stack import Stack, running_stack
from tests.e2e.test_e2e_metrics_workers import HUREN, ROOT, Served, _wait_ready

BURST = 3
SLOW = 0.001  # requests per second after the burst: one per 1,000 s


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    node = start_anvil()
    try:
        with running_stack(node, tmp_path_factory.mktemp("limited"), rate_per_s=SLOW, rate_burst=BURST,
                           signin_rate_per_s=SLOW, signin_burst=BURST) as s:
            yield s
    finally:
        node.stop()


def _client(stack: Stack, token: str | None = None, source: str = "127.0.0.1") -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=stack.base_url, headers=headers, timeout=30,
                        transport=httpx.HTTPTransport(local_address=source))


def _verifier(stack: Stack) -> str:
    return stack.app.state.runtime.credentials.add("verifier", "河北省政务服务中心 测试窗口", region=130000)[1]


def _assert_api_429(reply: httpx.Response, code: str = "RATE_LIMITED") -> None:
    assert reply.status_code == 429, reply.text
    assert int(reply.headers["Retry-After"]) >= 1
    error = reply.json()["error"]
    assert error["code"] == code and ("频繁" in error["message"] or "过多" in error["message"]), error


def _assert_page_429(reply: httpx.Response, words: str) -> None:
    assert reply.status_code == 429, reply.text[:500]
    assert reply.headers["content-type"].startswith("text/html")
    assert int(reply.headers["Retry-After"]) >= 1
    assert words in reply.text and "秒后再试" in reply.text
    assert '"error"' not in reply.text and "Traceback" not in reply.text


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def _sign_in(c: httpx.Client, token: str) -> httpx.Response:
    return c.post("/pages/signin", data={"token": token, "csrf": _csrf(c.get("/pages/signin"))})


def test_the_api_route_refuses_a_credential_over_its_limit(limited: Stack):
    """A reference URL is answered by the FastAPI route, not the fast lane."""
    with _client(limited, _verifier(limited)) as c:
        answers = [c.post("/v1/verify", json={"reference": f"{limited.base_url}/r/unknown{i}"}) for i in range(BURST)]
        refused = c.post("/v1/verify", json={"reference": f"{limited.base_url}/r/unknown"})
    assert all("REFERENCE" in a.json()["error"]["code"] for a in answers), [a.text for a in answers]  # the route's
    _assert_api_429(refused)


def test_the_fast_lane_refuses_a_credential_over_its_limit(limited: Stack):
    with _client(limited, _verifier(limited)) as c:
        answers = [c.post("/v1/verify", json={"presentation": "HR1:X"}) for _ in range(BURST)]
        refused = c.post("/v1/verify", json={"presentation": "HR1:X"})
    assert [a.json()["verdict"] for a in answers] == ["MALFORMED"] * BURST
    _assert_api_429(refused)


def test_the_clerk_page_counts_against_the_same_credential_as_the_api(limited: Stack):
    token = _verifier(limited)
    with _client(limited) as page, _client(limited, token) as api:
        assert _sign_in(page, token).status_code == 303  # a successful sign-in costs nothing
        csrf = _csrf(page.get("/pages/clerk"))
        assert api.post("/v1/verify", json={"presentation": "HR1:X"}).status_code == 400
        assert api.post("/v1/verify", json={"presentation": "HR1:X"}).status_code == 400
        last = page.post("/pages/clerk/verify", data={"text": "HR1:X", "csrf": csrf})
        refused = page.post("/pages/clerk/verify", data={"text": "HR1:X", "csrf": csrf})
        api_refused = api.post("/v1/verify", json={"presentation": "HR1:X"})
    assert last.status_code == 200 and "窗口核验" in last.text
    _assert_page_429(refused, "操作过于频繁")
    _assert_api_429(api_refused)


def test_a_pages_script_gets_the_refusal_as_json_it_can_show(limited: Stack):
    token = _verifier(limited)
    with _client(limited) as page:
        _sign_in(page, token)
        csrf = _csrf(page.get("/pages/clerk"))
        script = {"X-Requested-With": "huren-page"}
        answers = [page.post("/pages/clerk/verify", data={"text": "HR1:X", "csrf": csrf}, headers=script)
                   for _ in range(BURST + 1)]
    assert [a.status_code for a in answers] == [200] * BURST + [429]
    assert answers[-1].json()["error"]["title"] == "操作过于频繁"
    assert int(answers[-1].headers["Retry-After"]) >= 1


def test_issuance_refuses_a_department_credential_over_its_limit(limited: Stack):
    dept = limited.world.department("bj-amr")
    _, token = limited.app.state.runtime.credentials.add("department", "对接系统", credit_code=dept.credit_code,
                                                         region=dept.region)
    with _client(limited, token) as c:
        answers = [c.post("/v1/certificates", json={"document": {"type": "x"}}) for _ in range(BURST)]
        refused = c.post("/v1/certificates", json={"document": {"type": "x"}})
    assert 429 not in [a.status_code for a in answers]
    _assert_api_429(refused)


def test_a_credentials_own_rate_replaces_the_default(limited: Stack):
    _, token = limited.app.state.runtime.credentials.add("verifier", "全省汇聚系统", region=130000,
                                                         rate_per_s=SLOW, rate_burst=BURST * 4)
    with _client(limited, token) as c:
        statuses = [c.post("/v1/verify", json={"presentation": "HR1:X"}).status_code for _ in range(BURST * 4 + 1)]
    assert statuses == [400] * (BURST * 4) + [429]


def test_failed_signins_from_one_address_are_refused_even_with_the_right_token(limited: Stack):
    token = _verifier(limited)
    with _client(limited, source="127.0.0.2") as c:
        failures = [_sign_in(c, "hr_guess-" + str(i)).status_code for i in range(BURST)]
        guess = _sign_in(c, "hr_guess-more")
        right = _sign_in(c, token)
    assert failures == [400] * BURST
    _assert_page_429(guess, "登录尝试过于频繁")
    _assert_page_429(right, "登录尝试过于频繁")  # guessing stops here, whatever the next guess is
    with _client(limited, source="127.0.0.3") as elsewhere:
        assert _sign_in(elsewhere, token).status_code == 303  # another address is not affected


def test_successful_signins_cost_nothing(limited: Stack):
    token = _verifier(limited)
    with _client(limited, source="127.0.0.4") as c:
        assert [_sign_in(c, token).status_code for _ in range(BURST * 2)] == [303] * (BURST * 2)


def test_unknown_bearer_tokens_count_as_failed_signins(limited: Stack):
    with _client(limited, source="127.0.0.5") as c:
        unknown = [c.post("/v1/verify", json={"presentation": "HR1:X"},
                          headers={"Authorization": f"Bearer hr_guess-{i}"}).status_code for i in range(BURST)]
        refused = c.get("/v1/wallet/certificates", headers={"Authorization": "Bearer hr_guess-more"})
        page = _sign_in(c, "hr_guess-page")
    assert unknown == [401] * BURST
    _assert_api_429(refused, "TOO_MANY_FAILED_SIGNINS")
    _assert_page_429(page, "登录尝试过于频繁")  # one count for the API and the page


# ---------------------------------------------------------------- two worker processes, one count


def _requests_by_worker(metrics_dir: Path) -> Counter[str]:
    """POST requests each worker process has answered so far (its own histogram file)."""
    counts: Counter[str] = Counter()
    for f in metrics_dir.glob("histogram_*.db"):
        for metric in MultiProcessCollector.merge([str(f)]):
            for s in metric.samples:
                if s.name == "huren_http_request_seconds_count" and s.labels.get("method") == "POST":
                    counts[f.stem.rpartition("_")[2]] += int(s.value)
    return counts


def test_two_worker_processes_count_a_credential_once(tmp_path: Path):
    """`huren serve --workers 2`: a credential allowed 6 requests gets 6 answers in all, not 6 per worker."""
    node = start_anvil()
    served = None
    try:
        world = seed(node, tmp_path / "demo")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "HUREN_RATE_DIR")}
        env.update(world.env, HUREN_PUBLIC_BASE_URL=url, TMPDIR=str(tmp_path))
        log = tmp_path / "api.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(HUREN), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        served = Served(url, "", tmp_path, process, log, node)
        _wait_ready(served)
        [metrics_dir] = tmp_path.glob("huren-metrics-*")
        assert (metrics_dir / FILE_NAME).exists()  # the buckets the workers share
        store = CredentialStore(make_engine(world.env["HUREN_DB_URL"]))
        allowed, sent = 6, 24
        for _ in range(40):  # until one round was answered by both workers (concurrent connections spread)
            _, token = store.add("verifier", "河北省政务服务中心 并发窗口", region=130000, rate_per_s=SLOW,
                                 rate_burst=allowed)
            before = _requests_by_worker(metrics_dir)

            def verify(_: int, token: str = token) -> int:
                with httpx.Client(timeout=30, headers={"Connection": "close"}) as c:
                    return c.post(url + "/v1/verify", json={"presentation": "HR1:X"},
                                  headers={"Authorization": f"Bearer {token}"}).status_code

            with ThreadPoolExecutor(8) as pool:
                statuses = Counter(pool.map(verify, range(sent)))
            assert statuses == Counter({400: allowed, 429: sent - allowed}), statuses
            answered = _requests_by_worker(metrics_dir) - before
            if len(+answered) == 2:
                break
        else:
            pytest.fail(f"one worker answered every round: {answered}")
        assert sum(answered.values()) == sent
    finally:
        if served is not None:
            served.stop()
        node.stop()



def test_the_endpoint_that_stamps_codes_is_rate_limited_per_holder(limited: Stack):
    """The wallet's code endpoint signs with the node's stamping key: it must not be a signing oracle,
    so a holder's calls count against the holder's credential like any other (issue 15, item 1)."""
    token = limited.app.state.runtime.credentials.add("holder", "测试持证人", holder_id_number="11010519491231002X")[1]
    cert = "1.2.156.3005.2.11100000MB0143028R001.91110105MA00000000.2025000001.001.0"
    with _client(limited, token) as c:
        answers = [c.post(f"/v1/wallet/certificates/{cert}/presentation", json={"purpose": "办理"})
                   for _ in range(BURST)]
        refused = c.post(f"/v1/wallet/certificates/{cert}/presentation", json={"purpose": "办理"})
    assert [a.status_code for a in answers] == [404] * BURST, [a.text for a in answers]  # not this holder's
    _assert_api_429(refused)
