"""Connections that hold: the real waitress server (helpgen.server.connections) on
loopback under idle and trickling connection floods, slow clients and timeouts."""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import threading
import time

import pytest

from helpgen import config, server
from serverkit import Flood, running_server


#: the app of conftest.py, without an events store
pytestmark = pytest.mark.no_events


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def timed_get(port: int, path: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.perf_counter() - t0
    finally:
        conn.close()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def test_limits_from_settings(served):
    limits = server.ConnectionLimits.from_config(config.load(served))
    assert limits == server.ConnectionLimits(200, 30.0, 10.0, 30.0)


def test_hundred_idle_and_trickling_connections_do_not_lock_out_normal_requests(app):
    limits = server.ConnectionLimits(connection_limit=50)
    with running_server(app, limits=limits) as (url, srv):
        port = port_of(url)
        with Flood(port, idle=50, trickling=50) as flood:
            time.sleep(1.5)  # the server is full and the rest wait in the listen queue
            times = []
            for i in range(20):
                status, took = timed_get(port, "/healthz" if i % 2 else "/us/latest/")
                assert status == 200
                times.append(took)
            held = flood.open_count()
        assert held == 100  # the flood kept its 100 connections open throughout
        assert srv.evicted > 0
    assert p95(times) < 1.0, times


def slow_post(port: int, body: bytes, bytes_per_second: int) -> tuple[int, bytes, float]:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    t0 = time.perf_counter()
    try:
        s.sendall(b"POST /api/suggest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        step = bytes_per_second // 10
        for i in range(0, len(body), step):
            s.sendall(body[i:i + step])
            time.sleep(0.1)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 10:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return int(data.split(b" ", 2)[1]), data, time.perf_counter() - t0
    finally:
        s.close()


def test_slow_client_sends_64_kb_at_50_kbit_during_a_flood(app):
    limits = server.ConnectionLimits(connection_limit=50)
    ticket = json.dumps({"subject": "refund for a damaged order", "category": "return-refund"})
    body = (ticket[:-1] + " " * (65_536 - len(ticket)) + "}").encode()
    assert len(body) == 65_536
    with running_server(app, limits=limits) as (url, srv):
        port = port_of(url)
        with Flood(port, idle=50, trickling=50):
            status, data, took = slow_post(port, body, 50_000 // 8)
    assert status == 200, data[:300]
    assert took > 10  # it really was slow: 64 KB at 50 kbit/s is 10.5 s
    assert b'"results"' in data


def closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True
    except (TimeoutError, socket.timeout):
        return False
    except OSError:
        return True


@pytest.mark.parametrize("kind", ["header", "body", "idle"])
def test_slow_requests_and_idle_connections_are_closed_after_their_timeout(app, kind):
    limits = server.ConnectionLimits(connection_limit=50, channel_timeout=1,
                                     request_header_timeout=1, request_body_timeout=1)
    with running_server(app, limits=limits) as (url, srv):
        s = socket.create_connection(("127.0.0.1", port_of(url)), timeout=5)
        try:
            if kind == "header":
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            elif kind == "body":
                s.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          b"application/json\r\nContent-Length: 100\r\n\r\n{")
            t0 = time.perf_counter()
            assert closed_within(s, 6)
            assert 0.5 < time.perf_counter() - t0 < 4
        finally:
            s.close()
        status, _ = timed_get(port_of(url), "/healthz")
        assert status == 200


def test_a_request_being_answered_is_never_evicted(served):
    """At the limit, connections whose request is in a worker thread stay open."""
    started = threading.Event()
    release = threading.Event()
    inner = server.make_app(config.load(served), served / "site", served / "search_index",
                            settings=server.ServerSettings(rate_limit_per_minute=0))

    def slow_app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            started.set()
            release.wait(10)
        return inner(environ, start_response)

    limits = server.ConnectionLimits(connection_limit=5)
    result: dict = {}
    with running_server(slow_app, limits=limits) as (url, srv):
        port = port_of(url)
        worker = threading.Thread(target=lambda: result.update(
            slow=timed_get(port, "/slow")))
        worker.start()
        assert started.wait(5)
        with Flood(port, idle=10, trickling=0):
            time.sleep(1.5)
            release.set()
            worker.join(10)
    inner.close()
    assert result["slow"][0] == 404  # answered (no such page), not cut off


def raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data  # the server closed the connection after answering
            data += chunk


def test_content_length_with_transfer_encoding_is_refused_and_closed(app):
    """RFC 9112 section 6.3: such a request may be refused; it is the smuggling shape."""
    body = b'{"type":"search","query":"x"}'
    chunked = hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"
    with running_server(app) as (url, srv):
        data = raw_exchange(port_of(url), (
            b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
            + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert data.startswith(b"HTTP/1.1 400 ")
    assert data.count(b"HTTP/1.1 ") == 1  # nothing smuggled after it was answered
    assert b"Content-Length and Transfer-Encoding" in data


def test_chunked_alone_is_accepted(app):
    body = b'{"subject":"where is my refund","category":"return-refund"}'
    chunked = hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"
    with running_server(app) as (url, srv):
        data = raw_exchange(port_of(url), (
            b"POST /api/suggest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked))
    assert data.startswith(b"HTTP/1.1 200 "), data[:300]
