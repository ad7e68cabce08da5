"""The attack run against `helpgen serve`, as tests: each class of probes with its count,
sent as raw bytes to the real waitress server on loopback.

A probe is *refused* when the server answers it without doing what it tried: no file
outside the site folder, no echoed header or markup, no 5xx, nothing smuggled. Each
test asserts how many probes its class holds, so a shrinking list is noticed;
benchmarks/README.md (## Server under attack) records the counts.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from urllib.parse import quote

import pytest

from helpgen import config, server
from serverkit import Flood, damage, running_server

SECRETS = (b"root:x:0:0", b"default_market:", b"SQLite format", b"Traceback",
           b"site-packages", b'"aliases"')


@pytest.fixture(scope="module")
def live(served, tmp_path_factory):
    """(port, project root) of `helpgen serve`'s server over the served project."""
    app = server.make_app(config.load(served), served / "site", served / "search_index",
                          tmp_path_factory.mktemp("events") / "events.db",
                          settings=server.ServerSettings(rate_limit_per_minute=0))
    with running_server(app) as (url, _srv):
        yield int(url.rsplit(":", 1)[1]), served
    app.close()


def exchange(port: int, request: bytes, timeout: float = 5) -> tuple[int, bytes, bytes]:
    """Send raw bytes, read until the server closes; (status, head, body) of the first
    response, status 0 when the server closed without answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            data += chunk
    if not data.startswith(b"HTTP/"):
        return 0, b"", data
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def get(port: int, target: bytes, method: bytes = b"GET", headers: bytes = b"",
        host: bytes = b"127.0.0.1") -> tuple[int, bytes, bytes]:
    return exchange(port, method + b" " + target + b" HTTP/1.1\r\nHost: " + host
                    + b"\r\nConnection: close\r\n" + headers + b"\r\n")


def assert_refused(status: int, head: bytes, body: bytes, what: object) -> None:
    assert 0 < status < 500, (what, status, body[:200])
    for secret in SECRETS:
        assert secret not in body, (what, secret)


# --------------------------------------------------------------------------- traversal

def traversal_probes() -> list[bytes]:
    targets = ["helpgen.yml", "etc/passwd", "search_index/us/aliases.json", "events.db"]
    ups = ["../", "..%2f", "%2e%2e/", "%2e%2e%2f", ".%2e/", "%2e./", "..%5c", "..\\",
           "%252e%252e%252f", "..%c0%af", "..%00/", "..;/", "..%2F", "%2E%2E/"]
    probes = []
    for up in ups:
        for depth, target in ((1, targets[0]), (6, targets[1]), (1, targets[2]),
                              (1, targets[3])):
            probes.append(("/us/latest/" + up * (depth + 2) + target).encode("latin-1"))
    probes += [p.encode() for p in (
        "/../helpgen.yml", "/..", "/.", "//etc/passwd", "/%2e%2e", "/.git/config",
        "/.lock", "/us/.lock", "/site/../helpgen.yml", "/us/latest/%00", "/us/latest/a%00.html",
        "/us/%2e%2e/%2e%2e/helpgen.yml", "/us/latest/..%252f..%252fhelpgen.yml",
        "/\\..\\helpgen.yml", "/us/latest/....//....//helpgen.yml", "/C:/Windows/win.ini",
        "/us/latest/file:///etc/passwd", "/%c0%ae%c0%ae/helpgen.yml", "/%u002e%u002e/x",
        "/us/latest/%ff", "/us/latest/\x01", "/us/latest/../../../../.ssh/id_rsa",
        "http://127.0.0.1/../helpgen.yml", "*", "/us/latest/?../../helpgen.yml",
        "/us/latest/#/../../helpgen.yml", "/search_index/us/aliases.json",
        "/" + quote("../") * 3 + "helpgen.yml", "/us/latest/..%u2215helpgen.yml",
    )]
    return probes


TRAVERSAL = traversal_probes()


def test_traversal_probes_are_refused(live):
    port, root = live
    assert len(TRAVERSAL) == 85 and len(set(TRAVERSAL)) == 85
    refused = 0
    for target in TRAVERSAL:
        status, head, body = get(port, target)
        assert_refused(status, head, body, target)
        if b"?" in target or b"#" in target:  # the dots are in the query: the page itself
            assert status in (200, 400, 404), (target, status)
        else:
            assert status in (400, 404) or (status == 301 and b"Location: /" in head), \
                (target, status)
        refused += 1
    assert refused == len(TRAVERSAL)


# --------------------------------------------------------------------------- methods

ODD_METHODS = [b"PUT", b"DELETE", b"PATCH", b"TRACE", b"CONNECT", b"PROPFIND", b"MKCOL",
               b"COPY", b"MOVE", b"LOCK", b"DEBUG", b"TRACK", b"FOO", b"get"]
METHOD_PROBES = [(m, p) for m in ODD_METHODS for p in (b"/", b"/api/search?q=refund")]


def test_odd_method_probes_are_refused_without_echo(live):
    port, _ = live
    assert len(METHOD_PROBES) == 28
    for method, target in METHOD_PROBES:
        status, head, body = get(port, target, method, b"X-Probe: echo-me-7d1\r\n")
        assert_refused(status, head, body, method)
        assert status in (400, 405, 501), (method, target, status)
        assert b"echo-me-7d1" not in head + body


# --------------------------------------------------------------------------- API XSS

XSS = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "<svg/onload=alert(1)>",
       "javascript:alert(1)", "</script><script>alert(1)</script>", "{{7*7}}<b>x</b>",
       "&lt;script&gt;"]


def xss_probes() -> list[tuple[str, str, dict | str]]:
    probes: list[tuple[str, str, dict | str]] = []
    for payload in XSS:
        for field in ("q", "market", "version", "audience"):
            probes.append(("GET", "/api/search", f"q=refund&{field}={quote(payload)}"
                           if field != "q" else f"q={quote(payload)}"))
    for payload in XSS[:4]:
        for field in ("subject", "category", "market", "draft_id"):
            probes.append(("POST", "/api/suggest", {"subject": "refund", field: payload}))
    for payload in XSS[:3]:
        probes.append(("POST", "/api/events", {"type": payload, "query": payload}))
    return probes


XSS_PROBES = xss_probes()


def test_api_xss_probes_never_come_back_as_markup(live):
    port, _ = live
    assert len(XSS_PROBES) == 47
    for method, path, payload in XSS_PROBES:
        if method == "GET":
            status, head, body = get(port, f"{path}?{payload}".encode())
        else:
            data = json.dumps(payload).encode()
            status, head, body = exchange(port, (
                f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                f"application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data)
        assert_refused(status, head, body, payload)
        lower = head.lower()
        assert b"content-type: application/json" in lower, (payload, head)
        assert b"x-content-type-options: nosniff" in lower
        assert b"default-src 'none'" in lower
        for marker in (b"<script", b"<img", b"<svg", b"</script", b"<b>"):
            assert marker not in body.lower(), (payload, body[:200])


# --------------------------------------------------------------------------- Host

HOSTILE_HOSTS = [b"evil.example", b"evil.example:8080", b"<x>\"evil", b"evil.example/path",
                 b"127.0.0.1@evil.example", b"[::1]:80", b"evil.example\tx", b"a" * 300,
                 b"evil.example, other.example", b"xn--evil-7ya.example"]
HOST_TARGETS = [b"/de/sitemap.xml", b"/us/sitemap.xml", b"/de/partners/",
                b"/us/no-such-page/", b"/api/search?q=refund"]


def test_host_header_is_never_reflected(live):
    port, _ = live
    probes = [(h, t) for h in HOSTILE_HOSTS for t in HOST_TARGETS]
    assert len(probes) == 50
    for host, target in probes:
        status, head, body = get(port, target, host=host)
        assert_refused(status, head, body, host)
        for piece in (b"evil", b"<x>", b"a" * 50, b"xn--"):
            assert piece not in head + body, (host, target)


# --------------------------------------------------------------------------- JSON

NESTED = [10, 100, 500, 999, 1000, 1001, 3000, 10_000, 30_000]


def post_raw(port: int, path: str, data: bytes) -> tuple[int, bytes, bytes]:
    return exchange(port, (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                           f"Content-Type: application/json\r\nContent-Length: {len(data)}"
                           "\r\n\r\n").encode() + data)


def test_nested_json_probes_answer_400(live):
    port, _ = live
    probes = [(path, b'{"subject":' + opener * depth + closer * depth + b"}")
              for path in ("/api/suggest", "/api/events") for depth in NESTED
              for opener, closer in ((b"[", b"]"), (b'{"a":', b"}"))]
    assert len(probes) == 36
    for path, data in probes:
        status, head, body = post_raw(port, path, data)
        assert_refused(status, head, body, len(data))
        assert status in (400, 413), (path, len(data), status)


HUGE = [2 ** 53 + 1, -(2 ** 53) - 1, 2 ** 64, 2 ** 70, -(2 ** 70), 10 ** 30, 10 ** 4000]


def test_huge_integer_probes_answer_400(live):
    port, _ = live
    probes = [(path, field, n) for path, field in (("/api/events", "results"),
                                                    ("/api/suggest", "limit"))
              for n in HUGE]
    probes += [("/api/events", "results", lit) for lit in ("1e400", "-1e400", "NaN")]
    assert len(probes) == 17
    for path, field, n in probes:
        data = (f'{{"type":"search","market":"us","query":"x","{field}":{n}}}').encode()
        status, head, body = post_raw(port, path, data)
        assert_refused(status, head, body, str(n)[:30])
        assert status == 400 and b"bad_json" in body, (field, str(n)[:30], body[:200])


# --------------------------------------------------------------------------- framing

CL_TE = [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
    b"Content-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n",
    b"Content-Length: 5\r\nTransfer-Encoding: identity\r\n",
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    b"Content-Length: 5\r\nContent-Length: 6\r\n",
    b"Content-Length: 5\r\nTransfer-Encoding:\tchunked\r\n",
]


def test_content_length_with_transfer_encoding_probes_are_refused(live):
    port, _ = live
    assert len(CL_TE) == 8
    body = b'{"type":"search","market":"us","query":"x"}'
    chunked = hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    for headers in CL_TE:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\n" + headers + b"\r\n" + chunked + smuggled)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 400 ") or data.startswith(b"HTTP/1.1 501 "), \
            (headers, data[:100])
        assert data.count(b"HTTP/1.1 ") == 1, headers  # closed: nothing smuggled after it


# --------------------------------------------------------------------------- damage

DAMAGE = ["truncated", "garbled", "empty", "toc", "deleted", "meta"]


def test_damaged_index_probes_answer_503_and_healthz_degraded(served, tmp_path):
    assert len(DAMAGE) == 6
    for how in DAMAGE:
        root = tmp_path / how
        shutil.copytree(served, root, symlinks=True)
        damage(root, how, seed=5)
        app = server.make_app(config.load(root), root / "site", root / "search_index",
                              settings=server.ServerSettings(rate_limit_per_minute=0))
        with running_server(app) as (url, _srv):
            port = int(url.rsplit(":", 1)[1])
            status, head, body = get(port, b"/api/search?q=refund")
            assert status == 503 and b"index_unavailable" in body, (how, status)
            assert str(root).encode() not in body
            status, head, body = get(port, b"/healthz")
            health = json.loads(body)
            assert health["status"] == "degraded" and "us/2026.11" in \
                health["degraded_indexes"], how
        app.close()


# --------------------------------------------------------------------------- slow clients

def test_slow_client_flood_probes_do_not_lock_anyone_out(served):
    """100 idle and trickling connections (reopened whenever closed) against a limit
    of 50; the probes counted are the flood's connection attempts."""
    app = server.make_app(config.load(served), served / "site", served / "search_index",
                          settings=server.ServerSettings(rate_limit_per_minute=0))
    with running_server(app, limits=server.ConnectionLimits(connection_limit=50)) as (url, srv):
        port = int(url.rsplit(":", 1)[1])
        with Flood(port, idle=50, trickling=50) as flood:
            time.sleep(1.5)
            served_ok = 0
            for _ in range(20):
                status, _, _ = get(port, b"/healthz")
                served_ok += status == 200
            held = flood.open_count()
        assert flood.opened >= 100 and held == 100
        assert served_ok == 20
    app.close()
