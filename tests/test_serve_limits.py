"""Audit M3 and L1: slow clients and too many clients, through real uvicorn on a free port.

M3 (slowloris): a connection whose request does not arrive whole within ``read_timeout_s`` (headers
sent a byte at a time, a body shorter than its Content-Length, nothing sent at all) is answered
408 and closed by the server; connections past ``max_connections`` get 503 at once; ``/health``
stays reachable. L1: past ``max_queue`` waiting requests, 503 with Retry-After."""
from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest

from tests.serve_support import Server

#: a hang detector, not a speed assertion: the deadline is 1 s, the old server never closed them
CLOSE_WITHIN_S = 15


@pytest.fixture(scope="module")
def served():
    from tunewise.serving import load_served
    return load_served("tiny-random")


def read_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection; AssertionError if it is still
    open at ``deadline``."""
    data = b""
    while True:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            part = sock.recv(65536)
        except socket.timeout:
            raise AssertionError(f"the server kept the slow connection open; got {data[:200]!r}")
        except ConnectionResetError:
            return data
        if not part:
            return data
        data += part


def test_slow_requests_are_answered_408_and_closed(served):
    from tunewise.serving import create_app
    with Server(create_app(served=served, read_timeout_s=1.0)) as s:
        addr = ("127.0.0.1", s.port)
        trickle, body, silent = (socket.create_connection(addr) for _ in range(3))
        body.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n"
                     + b"{" * 300)
        stop = threading.Event()

        def drip():  # slowloris: one header byte every 0.2 s, never a whole header
            header = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " \
                + b"a" * 10_000
            for b in header:
                if stop.wait(0.2):
                    return
                try:
                    trickle.sendall(bytes([b]))
                except OSError:
                    return

        t = threading.Thread(target=drip, daemon=True)
        t.start()
        try:
            assert httpx.get(s.url + "/health", timeout=10).status_code == 200
            deadline = time.monotonic() + CLOSE_WITHIN_S
            got = {name: read_until_closed(sock, deadline)
                   for name, sock in (("trickle", trickle), ("body", body), ("silent", silent))}
        finally:
            stop.set()
            for sock in (trickle, body, silent):
                sock.close()
        for name, data in got.items():
            assert data.startswith(b"HTTP/1.1 408"), (name, data[:200])
            assert b'"code": "request_timeout"' in data and b"--read-timeout" in data
        # and the server goes on answering
        assert httpx.get(s.url + "/health", timeout=10).status_code == 200
        r = httpx.post(s.url + "/v1/chat/completions", timeout=60, json={
            "model": "tiny-random", "max_tokens": 2,
            "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200


def test_connections_past_the_cap_get_503_and_health_comes_back(served):
    from tunewise.serving import create_app
    with Server(create_app(served=served, read_timeout_s=1.5, max_connections=3)) as s:
        idle = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(3)]
        try:
            deadline = time.monotonic() + 10
            while True:  # once the server has taken the three, a fourth connection is refused
                r = httpx.get(s.url + "/health", timeout=10)
                if r.status_code == 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "too_many_connections"
            assert r.headers["retry-after"] == "1"
            # the idle ones are closed at the read deadline, so the server is reachable again
            deadline = time.monotonic() + CLOSE_WITHIN_S
            for sock in idle:
                read_until_closed(sock, deadline)
        finally:
            for sock in idle:
                sock.close()
        assert httpx.get(s.url + "/health", timeout=10).status_code == 200


def test_a_full_queue_answers_503_with_retry_after(served):
    from tunewise.serving import create_app
    app = create_app(served=served, max_batch=1, batch_wait_ms=0, max_queue=2)
    body = {"model": "tiny-random", "temperature": 0, "max_tokens": 500,
            "messages": [{"role": "user", "content": "go on"}]}

    async def go(url):
        async with httpx.AsyncClient(timeout=120) as c:
            return await asyncio.gather(*[c.post(url + "/v1/chat/completions", json=body)
                                          for _ in range(8)])

    with Server(app) as s:
        rs = asyncio.run(go(s.url))
        health = httpx.get(s.url + "/health").json()
    codes = sorted(r.status_code for r in rs)
    assert set(codes) <= {200, 503} and codes.count(503) >= 1 and codes.count(200) >= 2, codes
    for r in rs:
        if r.status_code == 503:
            assert r.json()["error"]["code"] == "server_overloaded"
            assert r.headers["retry-after"] == "1"
    assert health["refused_overloaded"] == codes.count(503)
