"""Limits and CORS (helpgen.server.limits, .api): rate limit, forwarded-for, CORS,
body validation and size."""

from __future__ import annotations

import json

import pytest

from helpgen import server
from serverkit import call, error_of



# --------------------------------------------------------------------------- limits, CORS

def test_rate_limit_answers_429_with_retry_after_per_client(served, cfg):
    now = [1000.0]
    a = server.make_app(cfg, served / "site", served / "search_index",
                        settings=server.ServerSettings(rate_limit_per_minute=60,
                                                       rate_limit_burst=3),
                        clock=lambda: now[0])
    for _ in range(3):
        assert call(a, "GET", "/api/search", query="q=refund").status == 200
    r = call(a, "GET", "/api/search", query="q=refund")
    assert r.status == 429 and r.headers["retry-after"] == "1"
    assert error_of(r)["code"] == "rate_limited"
    assert call(a, "GET", "/api/search", query="q=refund", remote="10.0.0.2").status == 200
    assert call(a, "GET", "/healthz").status == 200  # monitoring is not limited
    assert call(a, "GET", "/us/2026.11/").status == 200  # static files are not limited
    now[0] += 1.0
    assert call(a, "GET", "/api/search", query="q=refund").status == 200


def test_rate_limit_uses_forwarded_for_only_when_trusted(served, cfg):
    def make(trust: bool):
        return server.make_app(cfg, served / "site", served / "search_index",
                               settings=server.ServerSettings(
                                   rate_limit_per_minute=60, rate_limit_burst=1,
                                   trust_proxy_headers=trust), clock=lambda: 0.0)
    for trust, second_status in ((False, 429), (True, 200)):
        a = make(trust)
        call(a, "GET", "/api/search", query="q=refund", headers={"X-Forwarded-For": "1.1.1.1"})
        r = call(a, "GET", "/api/search", query="q=refund",
                 headers={"X-Forwarded-For": "2.2.2.2"})
        assert r.status == second_status


def test_cors_preflight_and_headers_only_for_configured_origins(served, cfg):
    a = server.make_app(cfg, served / "site", served / "search_index",
                        settings=server.ServerSettings(cors_origins=("https://shop.example",),
                                                       rate_limit_per_minute=0))
    ok = call(a, "OPTIONS", "/api/suggest", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert ok.status == 204
    assert ok.headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in ok.headers["access-control-allow-methods"]
    bad = call(a, "OPTIONS", "/api/suggest", headers={"Origin": "https://evil.example"})
    assert bad.status == 403 and "access-control-allow-origin" not in bad.headers
    got = call(a, "GET", "/api/search", query="q=refund", headers={"Origin": "https://shop.example"})
    assert got.headers["access-control-allow-origin"] == "https://shop.example"
    assert "Origin" in got.headers["vary"]
    other = call(a, "GET", "/api/search", query="q=refund", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_by_default(app):
    r = call(app, "GET", "/api/search", query="q=refund", headers={"Origin": "https://x.example"})
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize("headers, body, status, code", [
    ({"Content-Type": "application/json", "Content-Length": "999999"}, b"{}", 413,
     "body_too_large"),
    ({"Content-Type": "text/plain"}, b"{}", 415, "unsupported_media_type"),
    ({"Content-Type": "application/json"}, b"{not json", 400, "bad_json"),
    ({"Content-Type": "application/json"}, b"[1, 2]", 400, "bad_json"),
    ({"Content-Type": "application/json"}, b"\xff\xfe", 400, "bad_json"),
    ({"Content-Type": "application/json"}, json.dumps({"type": "x" * 70000}).encode(), 413,
     "body_too_large"),
])
def test_post_bodies_are_validated(app, headers, body, status, code):
    r = call(app, "POST", "/api/events", headers=headers, body=body)
    if "Content-Length" in headers:  # a lying Content-Length is not read at all
        r = call(app, "POST", "/api/events", headers=headers, body=body)
    assert r.status == status and error_of(r)["code"] == code


def test_body_without_content_length_is_bounded(app):
    r = call(app, "POST", "/api/events", headers={"Content-Type": "application/json"},
             body=b"x" * 70000, drop=("CONTENT_LENGTH",))
    assert r.status == 413


# --------------------------------------------------------------------------- units

def test_rate_limiter_refills_on_its_clock_and_forgets_old_clients():
    now = [0.0]
    limiter = server.RateLimiter(per_minute=60, burst=2, clock=lambda: now[0], max_clients=3)
    assert [limiter.take("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)  # one token a second
    now[0] += 1.0
    assert limiter.take("a") == 0.0
    for client in ("b", "c", "d"):
        limiter.take(client)
    assert "a" not in limiter._buckets and len(limiter._buckets) == 3
    assert server.RateLimiter(per_minute=0, burst=1).take("x") == 0.0


@pytest.mark.parametrize("length,raw,status", [
    ("5", b"hello", None), ("", b"hi", None), ("x", b"", 400), ("-1", b"", 400),
    ("70000", b"", 413), ("", b"y" * 70_000, 413)])
def test_read_body_is_bounded(length, raw, status):
    import io

    from helpgen.server.limits import read_body

    environ = {"CONTENT_LENGTH": length, "wsgi.input": io.BytesIO(raw)}
    if status is None:
        assert read_body(environ, 65_536) == raw
    else:
        with pytest.raises(server.ApiError) as err:
            read_body(environ, 65_536)
        assert err.value.status == status
