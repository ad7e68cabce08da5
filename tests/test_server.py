"""The WSGI app in-process (wsgiref environ) over a real built site and Whoosh index,
plus the real waitress server on loopback."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket

import pytest

from helpgen import config, server, site
from helpgen.errors import HelpgenError
from serverkit import SECRET_MARKERS, assert_no_leak, call, error_of, copy_project, running



# --------------------------------------------------------------------------- /api/search

def test_search_finds_typo_and_links_to_a_served_page(app):
    r = call(app, "GET", "/api/search", query="q=refnud&market=us&limit=3")
    assert r.status == 200
    data = r.json()
    assert data["did_you_mean"] == "refund"
    assert data["version"] == "2026.11" and 1 <= len(data["results"]) <= 3
    ids = [h["id"] for h in data["results"]]
    assert "buyer-protection-program" in ids
    hit = data["results"][0]
    assert "<mark>" in hit["snippet"]
    assert hit["url"].startswith("/us/2026.11/") and hit["html_url"] == hit["url"]
    assert call(app, "GET", hit["html_url"]).status == 200


def test_search_in_german_market_and_older_version(app):
    de = call(app, "GET", "/api/search", query="q=Ticket%20einreichen&market=de").json()
    assert de["market"] == "de" and de["results"]
    assert any(h["language"] == "de" for h in de["results"])
    old = call(app, "GET", "/api/search", query="q=ticket&market=us&version=2026.10").json()
    assert old["version"] == "2026.10" and old["results"]
    assert all(h["html_url"].startswith("/us/2026.10/") for h in old["results"])


def test_search_filters_by_audience(app):
    data = call(app, "GET", "/api/search", query="q=ticket&audience=buyers").json()
    assert all(h["audience"] == "buyers" for h in data["results"])


@pytest.mark.parametrize("query, status, code", [
    ("market=us", 400, "missing_query"),
    ("q=%20%20&market=us", 400, "missing_query"),
    ("q=refund&limit=0", 400, "bad_limit"),
    ("q=refund&limit=51", 400, "bad_limit"),
    ("q=refund&limit=ten", 400, "bad_limit"),
    ("q=refund&market=xx", 404, "unknown_market"),
    ("q=refund&market=us&version=1999.01", 404, "unknown_version"),
    ("q=refund&market=fr", 404, "unknown_version"),
    ("q=refund&audience=aliens", 400, "unknown_audience"),
    ("q=refund&topic=nothing", 400, "unknown_topic"),
    ("q=" + "a" * 300, 413, "query_too_long"),
    ("q=%ff%fe", 400, "bad_query_string"),
])
def test_search_parameter_errors_are_json_with_the_right_status(app, served, query, status,
                                                                code):
    r = call(app, "GET", "/api/search", query=query)
    assert r.status == status
    err = error_of(r)
    assert err["code"] == code and err["message"]
    assert_no_leak(r, served)


def test_unknown_market_error_names_the_known_markets(app):
    err = error_of(call(app, "GET", "/api/search", query="q=x&market=xx"))
    assert "us" in err["message"] and "jp" in err["message"]
    assert err["markets"] == list(config.load(app.config.root).markets)


def test_hostile_query_comes_back_escaped(app):
    q = "%3Cscript%3Ealert(1)%3C%2Fscript%3E%20refund%20%22%20AND%20*%3A*"
    r = call(app, "GET", "/api/search", query=f"q={q}")
    assert r.status == 200
    assert b"<script" not in r.body and b"</" not in r.body
    data = r.json()
    assert data["query"].startswith("<script>")
    for hit in data["results"]:
        assert "<script" not in hit["snippet"]


def test_wrong_method_and_unknown_endpoint(app):
    r = call(app, "POST", "/api/search", body=b"{}")
    assert r.status == 405 and "GET" in r.headers["allow"]
    assert error_of(r)["code"] == "method_not_allowed"
    r = call(app, "GET", "/api/nothing")
    assert r.status == 404 and error_of(r)["code"] == "not_found"


def test_missing_index_is_503_without_disk_paths(served, cfg, tmp_path):
    a = server.make_app(cfg, served / "site", tmp_path / "no-index")
    r = call(a, "GET", "/api/search", query="q=refund")
    assert r.status == 503
    assert "helpgen build --market us" in error_of(r)["message"]
    assert_no_leak(r, tmp_path)


def test_rebuilt_index_is_picked_up_without_restart(tmp_path):
    from serverkit import copy_project, write_article

    root = copy_project(tmp_path / "p")
    c = config.load(root)
    site.build(c, "us", "2026.11", ["latest"], root / "site", index_dir=root / "idx")
    a = server.make_app(c, root / "site", root / "idx")
    assert call(a, "GET", "/api/search", query="q=zanzibarian").json()["results"] == []
    write_article(root, "buyers/orders/zanzibar.md", """
id: zanzibar-orders
title: Zanzibarian parcels
summary: Orders shipped to Zanzibar.
audience: buyers
topic: orders
markets: all
last_reviewed: 2026-11-25
""", "# Zanzibarian parcels\n\nZanzibarian parcels take longer.\n")
    c = config.load(root)
    site.build(c, "us", "2026.11", ["latest"], root / "site", index_dir=root / "idx")
    ids = [h["id"] for h in call(a, "GET", "/api/search", query="q=zanzibarian").json()["results"]]
    assert ids == ["zanzibar-orders"]
    assert call(a, "GET", "/healthz").json()["indexes_loaded"] == ["us/2026.11"]


# --------------------------------------------------------------------------- events, health

def test_healthz_lists_published_versions_and_loaded_indexes(app):
    before = call(app, "GET", "/healthz").json()
    assert before["status"] == "ok"
    assert before["markets"] == {"us": ["2026.11", "2026.10"], "de": ["2026.11"]}
    assert before["indexes_loaded"] == []
    call(app, "GET", "/api/search", query="q=refund&market=de")
    assert call(app, "GET", "/healthz").json()["indexes_loaded"] == ["de/2026.11"]


def test_internal_failure_is_a_json_500_without_traceback(app, served):
    r = call(app, "POST", "/api/events", headers={"Content-Type": "application/json"},
             body=b"{}", drop=("wsgi.input",))
    assert r.status == 500 and error_of(r)["code"] == "internal_error"
    assert_no_leak(r, served)


# --------------------------------------------------------------------------- real waitress

def raw_request(base: str, request: bytes) -> tuple[int, bytes]:
    host, port = base.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


def request_and_check(conn: http.client.HTTPConnection) -> None:
    try:
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["status"] == "ok"
        conn.request("GET", "/api/search?q=refund&limit=5", headers={"Accept-Encoding": "gzip"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Encoding") == "gzip"
        assert 1 <= len(json.loads(gzip.decompress(resp.read()))["results"]) <= 5
        conn.request("GET", "/us/2026.11/", headers={"Accept-Encoding": "gzip"})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200 and resp.getheader("Content-Encoding") == "gzip"
        assert b"<html" in gzip.decompress(body)
    finally:
        conn.close()


def test_real_waitress_server_serves_site_api_and_refuses_attacks(app, served):
    with running(app) as base:
        host, port = base.split("//")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        request_and_check(conn)
        for target in (b"/../helpgen.yml", b"/%2e%2e/helpgen.yml", b"/us/%2e%2e/%2e%2e/helpgen.yml",
                       b"/..%2f..%2fhelpgen.yml", b"/us/%00", b"/%5c..%5chelpgen.yml"):
            status, data = raw_request(base, b"GET " + target +
                                       b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert status in (400, 404), target
            assert b"default_market" not in data and str(served).encode() not in data
        big = b"x" * 66_000  # over server.max_body_bytes, under waitress's own cap
        status, data = raw_request(base, b"POST /api/events HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Type: application/json\r\nConnection: close\r\n"
                                   b"Content-Length: " + str(len(big)).encode() + b"\r\n\r\n" + big)
        assert status == 413 and b"body_too_large" in data



@pytest.fixture(scope="module")
def live(served):
    """The real waitress server on loopback, with a tight API rate limit (burst 40)."""
    a = server.make_app(config.load(served), served / "site", served / "search_index",
                        settings=server.ServerSettings(rate_limit_per_minute=60,
                                                       rate_limit_burst=40))
    with running(a) as base:
        yield base
    a.close()


@pytest.mark.parametrize("method, target, headers, body, status, code", [
    ("GET", "/api/search?q=refund&limit=0", {}, None, 400, "bad_limit"),
    ("GET", "/api/search?q=refund&limit=999", {}, None, 400, "bad_limit"),
    ("GET", "/api/search?limit=3", {}, None, 400, "missing_query"),
    ("GET", "/api/search?q=refund&market=xx", {}, None, 404, "unknown_market"),
    ("GET", "/api/search?q=refund&version=..%2f..%2fetc", {}, None, 404, "unknown_version"),
    ("GET", "/api/search?q=" + "x" * 400, {}, None, 413, "query_too_long"),
    ("DELETE", "/api/search?q=refund", {}, None, 405, "method_not_allowed"),
    ("POST", "/api/suggest", {"Content-Type": "text/plain"}, b"{}", 415,
     "unsupported_media_type"),
    ("POST", "/api/suggest", {"Content-Type": "application/json"}, b"{oops", 400, "bad_json"),
    ("POST", "/api/events", {"Content-Type": "application/json"},
     b'{"type": "helpful", "market": "us", "sql": "1; DROP TABLE events"}', 400, "bad_event"),
    ("OPTIONS", "/api/suggest", {"Origin": "https://evil.example"}, None, 403,
     "origin_not_allowed"),
    ("GET", "/api/../../helpgen.yml", {}, None, 404, "not_found"),
])
def test_real_server_answers_each_attack_with_its_status_and_no_leak(live, served, method,
                                                                      target, headers, body,
                                                                      status, code):
    host, port = live.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    assert resp.status == status
    assert resp.getheader("Content-Type") == "application/json"
    assert json.loads(data)["error"]["code"] == code
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    for marker in (*SECRET_MARKERS, str(served)):
        assert marker.encode() not in data


def test_real_server_rate_limit_answers_429_with_retry_after(live):
    host, port = live.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    statuses = []
    try:
        for _ in range(60):
            conn.request("GET", "/api/search?q=ticket&limit=1")
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
            if resp.status == 429:
                assert int(resp.getheader("Retry-After")) >= 1
                break
    finally:
        conn.close()
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}


# --------------------------------------------------------------------------- /api/suggest

def post_json(app, path: str, data) -> object:
    return call(app, "POST", path, headers={"Content-Type": "application/json"},
                body=json.dumps(data).encode())


def test_suggest_answers_a_ticket_draft_with_served_articles(app):
    r = post_json(app, "/api/suggest", {
        "market": "us", "category": "ticket-submission", "draft_id": "draft-1234abcd",
        "subject": "How do I submit a ticket?",
        "description": "I cannot find where to open a support ticket in the Partner Center."})
    assert r.status == 200
    data = r.json()
    assert data["draft_id"] == "draft-1234abcd" and data["results"]
    assert "submit-a-ticket" in [s["id"] for s in data["results"]]
    for s in data["results"]:
        assert 0 < s["confidence"] <= 1
        assert call(app, "GET", s["html_url"]).status == 200
    assert call(app, "GET", "/healthz").json()["indexes_loaded"] == ["us/2026.11"]


def test_suggest_validation_errors_are_400_naming_the_field(app, served):
    r = post_json(app, "/api/suggest", {"category": 7, "subject": "x"})
    assert r.status == 400
    err = error_of(r)
    assert err["code"] == "bad_ticket" and "category" in err["message"]
    assert_no_leak(r, served)
    r = post_json(app, "/api/suggest", {"subject": " ", "description": "\u200b"})
    assert r.status == 400 and "empty ticket" in error_of(r)["message"]
    r = post_json(app, "/api/suggest", {"category": "Payout", "subject": "submit a ticket"})
    assert r.status == 200 and r.json()["category_ignored"] == "Payout"
    r = post_json(app, "/api/suggest", {"category": "ticket-submission"})
    assert r.status == 200 and r.json()["results"]
    assert post_json(app, "/api/suggest", {"market": "zz", "subject": "x"}).status == 400
    r = post_json(app, "/api/suggest", {"market": "us", "version": "1999.01", "subject": "x"})
    assert r.status == 404 and error_of(r)["code"] == "unknown_version"
    assert call(app, "GET", "/api/suggest").status == 405


# --------------------------------------------------------------------------- market switch

def test_market_sitemap_lists_versionless_pages_and_never_echoes_the_host(app):
    r = call(app, "GET", "/de/sitemap.xml", headers={"Host": "evil.example:8080"})
    assert r.status == 200 and r.headers["content-type"] == "application/xml"
    locs = re.findall(r"<loc>([^<]+)</loc>", r.text)
    assert "http://localhost/de/partners/support-tickets/submit-a-ticket/" in locs
    assert "http://localhost/de/" in locs
    assert not any("/a/" in loc or "2026.11" in loc for loc in locs)
    assert b"evil" not in r.body and b"8080" not in r.body
    hostile = call(app, "GET", "/de/sitemap.xml", headers={"Host": "<x>\"evil"})
    assert b"evil" not in hostile.body and b"<x>" not in hostile.body
    unbuilt = call(app, "GET", "/fr/sitemap.xml")
    assert unbuilt.status == 200 and "<loc>" not in unbuilt.text


def test_base_url_makes_sitemap_search_and_suggestion_links_absolute(served, cfg):
    a = server.make_app(cfg, served / "site", served / "search_index",
                        settings=server.ServerSettings(rate_limit_per_minute=0,
                                                       base_url="https://help.example.com"))
    try:
        r = call(a, "GET", "/de/sitemap.xml", headers={"Host": "evil.example"})
        locs = re.findall(r"<loc>([^<]+)</loc>", r.text)
        assert "https://help.example.com/de/" in locs and b"evil" not in r.body
        hit = call(a, "GET", "/api/search", "q=refund", headers={"Host": "evil.example"}
                   ).json()["results"][0]
        assert hit["html_url"] == "https://help.example.com" + hit["url"]
        s = post_json(a, "/api/suggest", {"subject": "where is my refund",
                                          "category": "return-refund"}).json()["results"][0]
        assert s["html_url"].startswith("https://help.example.com/us/2026.11/")
    finally:
        a.close()


def test_base_url_setting_is_validated(tmp_path):
    root = copy_project(tmp_path / "p")
    yml = root / "helpgen.yml"
    yml.write_text(yml.read_text(encoding="utf-8") + "\nserver:\n  base_url: help.example.com\n",
                   encoding="utf-8")
    with pytest.raises(HelpgenError, match="server.base_url must be an absolute http"):
        config.load(root)
    yml.write_text(yml.read_text(encoding="utf-8").replace(
        "base_url: help.example.com", "base_url: https://help.example.com/"), encoding="utf-8")
    assert server.ServerSettings.from_config(config.load(root)).base_url == \
        "https://help.example.com"


def test_versionless_page_url_redirects_to_the_default_version(app):
    r = call(app, "GET", "/de/partners/support-tickets/submit-a-ticket/")
    assert r.status == 302
    assert r.headers["location"] == "/de/2026.11/partners/support-tickets/submit-a-ticket/"
    assert call(app, "GET", r.headers["location"]).status == 200
    assert call(app, "GET", "/de/no/such/page/").status == 404


# --------------------------------------------------------------------------- any WSGI server

@pytest.mark.parametrize("method, path, query, headers, body", [
    ("GET", "/", "", {}, None),
    ("GET", "/us/2026.11/", "", {"Accept-Encoding": "gzip"}, None),
    ("HEAD", "/us/2026.11/", "", {}, None),
    ("GET", "/us/versions.json", "", {"If-None-Match": "*"}, None),
    ("GET", "/us/2026.11", "", {}, None),
    ("GET", "/de/partners/", "", {}, None),
    ("GET", "/de/2026.11/missing/", "", {}, None),
    ("GET", "/api/search", "q=refund", {"Accept-Encoding": "gzip"}, None),
    ("GET", "/api/search", "limit=0", {}, None),
    ("POST", "/api/suggest", "", {"Content-Type": "application/json"},
     b'{"subject": "submit a ticket"}'),
    ("POST", "/api/events", "", {"Content-Type": "application/json"},
     b'{"type": "helpful", "market": "us"}'),
    ("OPTIONS", "/api/suggest", "", {}, None),
    ("GET", "/healthz", "", {}, None),
])
def test_app_follows_the_wsgi_spec(app, method, path, query, headers, body):
    """wsgiref's validator checks every call: the app runs under any WSGI server."""
    from wsgiref.validate import validator

    r = call(validator(app), method, path, query=query, headers=headers,
             body=body if body is not None else b"")
    assert 200 <= r.status < 500


def test_create_app_reads_the_environment(served, monkeypatch, tmp_path):
    monkeypatch.setenv("HELPGEN_PROJECT", str(served))
    monkeypatch.setenv("HELPGEN_EVENTS_DB", str(tmp_path / "ev.db"))
    a = server.create_app()
    try:
        assert call(a, "GET", "/healthz").json()["markets"]["de"] == ["2026.11"]
        assert call(a, "GET", "/api/search", query="q=refund").status == 200
    finally:
        a.close()


def test_access_log_lines_leave_out_query_strings(app):
    lines: list[str] = []
    logged = server.AccessLog(app, lines.append)
    call(logged, "GET", "/api/search", query="q=refund%20for%20jane%40example.com")
    call(logged, "GET", "/us/2026.11/nope\"/")
    assert re.fullmatch(r'127\.0\.0\.1 - - \[[^]]+\] "GET /api/search HTTP/1\.\d" 200 \d+ '
                        r'[\d.]+ms', lines[0]), lines[0]
    assert "jane" not in lines[0] and "refund" not in lines[0]
    assert '"GET /us/2026.11/nope?/ HTTP' in lines[1] and " 404 " in lines[1]
