"""Abuse below the JSON: oversized headers and bodies, lying lengths, bodies trickled byte by byte.

Each is answered with a 4xx or the connection is closed, within the suite's deadline, and the
server keeps answering everyone else (conftest.py checks it is alive and within its memory
bound after every test). Raw sockets where an HTTP client would refuse to send the attack.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import httpx
import pytest

from tests.adversarial.server import ANSWER_WITHIN_S, BODY_TIMEOUT_S, Served


@contextmanager
def _connection(served: Served) -> Iterator[socket.socket]:
    sock = socket.create_connection((served.host, served.port), timeout=ANSWER_WITHIN_S)
    try:
        yield sock
    finally:
        sock.close()


def _status_or_closed(sock: socket.socket) -> int | None:
    """The status code of the server's answer, or None if it closed the connection without one.

    A deadline passing (socket.timeout) fails the test: the server neither answered nor hung up.
    """
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        return None
    if not data:
        return None
    return int(data.split(b" ", 2)[1])


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send what the server may stop reading part-way (it answered early and closed)."""
    with suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def _request_head(served: Served, extra: bytes = b"", path: bytes = b"/v1/verify", length: int | None = None) -> bytes:
    head = (b"POST " + path + b" HTTP/1.1\r\nHost: " + served.host.encode() + b"\r\n"
            b"Authorization: Bearer " + served.tokens["verifier"].encode() + b"\r\n"
            b"Content-Type: application/json\r\n")
    if length is not None:
        head += b"Content-Length: %d\r\n" % length
    return head + extra + b"\r\n"


def _get(served: Served, extra: bytes = b"", target: bytes = b"/healthz") -> bytes:
    """A request the server answers 200 to, unless what `extra` or `target` adds is refused."""
    return b"GET " + target + b" HTTP/1.1\r\nHost: " + served.host.encode() + b"\r\n" + extra + b"\r\n"


@pytest.mark.parametrize("extra", [
    b"X-Big: " + b"a" * 1_000_000 + b"\r\n",
    b"".join(b"X-H%d: v\r\n" % i for i in range(20_000)),
    b"Cookie: " + b"c=" + b"x" * 500_000 + b"\r\n",
    b"X-Big: " + b"a" * 40_000 + b"\r\n",
], ids=["one-1MB-header", "20000-headers", "500kB-cookie", "40kB-header"])
def test_oversized_headers_get_a_431_or_the_connection_closed(served: Served, extra: bytes):
    with _connection(served) as sock:
        _send_quietly(sock, _get(served, extra))
        status = _status_or_closed(sock)
    assert status in (None, 431), status


def test_headers_of_a_browser_s_size_are_answered(served: Served):
    """The premise of the test above: the same request with a few kB of headers is answered 200."""
    with _connection(served) as sock:
        _send_quietly(sock, _get(served, b"Cookie: c=" + b"x" * 4000 + b"\r\n"))
        assert _status_or_closed(sock) == 200


@pytest.mark.parametrize("query", [b"q" * 1_000_000, b"q" * 40_000], ids=["1MB", "40kB"])
def test_an_oversized_url_gets_a_4xx_or_the_connection_closed(served: Served, query: bytes):
    with _connection(served) as sock:
        _send_quietly(sock, _get(served, target=b"/healthz?" + query))
        status = _status_or_closed(sock)
    assert status is None or 400 <= status < 500, status


@pytest.mark.parametrize("path", ["/v1/verify", "/v1/certificates/bulk", "/pages/clerk/verify"])
def test_a_declared_body_over_the_limit_is_a_413_before_it_is_read(served: Served, path: str):
    with _connection(served) as sock:
        _send_quietly(sock, _request_head(served, path=path.encode(), length=3_000_000))
        assert _status_or_closed(sock) == 413


@pytest.mark.parametrize("length", [b"99999999999999999999999", b"-1", b"ten", b"1, 2"])
def test_a_nonsensical_content_length_gets_a_4xx_or_the_connection_closed(served: Served, length: bytes):
    with _connection(served) as sock:
        _send_quietly(sock, _request_head(served, b"Content-Length: " + length + b"\r\n") + b"{}")
        status = _status_or_closed(sock)
    assert status is None or 400 <= status < 500, status


def test_a_chunked_body_over_the_limit_is_a_413(served: Served):
    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b"[" * 100_000

    with served.client("verifier") as c:
        reply = c.post("/v1/verify", content=chunks(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 413
    assert "上限" in reply.json()["error"]["message"]


def test_a_body_shorter_than_declared_is_answered_when_the_client_gives_up(served: Served):
    """Declares 1,000 bytes, sends 10, then waits: the body deadline answers (408) or hangs up."""
    with _connection(served) as sock:
        _send_quietly(sock, _request_head(served, length=1000) + b'{"present')
        status = _status_or_closed(sock)
    assert status in (None, 408), status


def _trickle(served: Served, path: bytes, stop: threading.Event, results: list[int | None]) -> None:
    with _connection(served) as sock:
        _send_quietly(sock, _request_head(served, path=path, length=100_000))
        sock.settimeout(0.2)
        status: int | None = -1  # stays -1 if neither answered nor closed within the deadline
        deadline = time.monotonic() + ANSWER_WITHIN_S
        while time.monotonic() < deadline:
            if stop.is_set():  # the test failed elsewhere: no verdict from this one
                return
            try:
                _send_quietly(sock, b" ")  # one byte of whitespace at a time: valid JSON so far
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                data = b""
            status = int(data.split(b" ", 2)[1]) if data else None
            break
        results.append(status)


@pytest.mark.parametrize("path", [b"/v1/verify", b"/v1/certificates/bulk", b"/pages/clerk/verify"])
def test_a_trickled_body_is_cut_off_with_a_408_while_others_are_answered(served: Served, path: bytes):
    stop = threading.Event()
    results: list[int | None] = []
    trickler = threading.Thread(target=_trickle, args=(served, path, stop, results))
    trickler.start()
    answered = 0
    try:
        with httpx.Client(timeout=ANSWER_WITHIN_S) as c:
            while trickler.is_alive():  # the server answers others meanwhile
                assert c.get(served.base_url + "/healthz").status_code == 200
                answered += 1
                time.sleep(0.05)
    except BaseException:
        stop.set()
        raise
    finally:
        trickler.join()
    assert answered > 0
    assert results in ([408], [None]), results


def test_fifty_trickled_bodies_at_once_do_not_stop_the_server_answering(served: Served):
    stop = threading.Event()
    results: list[int | None] = []
    tricklers = [threading.Thread(target=_trickle, args=(served, b"/v1/verify", stop, results)) for _ in range(50)]
    for t in tricklers:
        t.start()
    try:
        time.sleep(BODY_TIMEOUT_S / 2)  # every trickler connected and holding its request open
        with served.client("verifier") as c:
            reply = c.post("/v1/verify", json={"presentation": "HR1:X"})
        assert reply.status_code == 400 and reply.json()["verdict"] == "MALFORMED"
    except BaseException:
        stop.set()
        raise
    finally:
        for t in tricklers:
            t.join()
    assert len(results) == 50 and set(results) <= {408, None}, results
