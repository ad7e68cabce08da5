"""The API's edges (helpgen.server.api, helpgen.server.limits): flat JSON bodies only,
any parse failure a 400, a damaged index a 503 reported by /healthz."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from helpgen import config, server
from serverkit import call, damage


#: the app of conftest.py, without an events store
pytestmark = pytest.mark.no_events


def post(app, path: str, raw: bytes, headers: dict[str, str] | None = None):
    return call(app, "POST", path, body=raw,
                headers={"Content-Type": "application/json", **(headers or {})})


def error_code(reply) -> str:
    assert reply.headers["content-type"] == "application/json"
    return reply.json()["error"]["code"]


GOOD_SUGGEST = {"subject": "where is my refund", "category": "return-refund"}
GOOD_EVENT = {"type": "search", "market": "us", "query": "refund", "results": 3}

NOT_FLAT = [
    {"subject": ["where", "is", "my", "refund"]},
    {"subject": {"text": "refund"}},
    {"limit": [3]},
    {"market": {"$ne": "us"}},
    {"results": []},
]


@pytest.mark.parametrize("path,good", [("/api/suggest", GOOD_SUGGEST),
                                       ("/api/events", GOOD_EVENT)])
def test_bodies_must_be_flat_objects(app, path, good):
    assert post(app, path, json.dumps(good).encode()).status in (200, 204)
    for extra in NOT_FLAT:
        r = post(app, path, json.dumps({**good, **extra}).encode())
        assert r.status == 400 and error_code(r) == "bad_json", (extra, r.body)
        assert "flat JSON object" in r.json()["error"]["message"]


HUGE_NUMBERS = [b"2" * 22, str(2 ** 70).encode(), str(-(2 ** 53) - 1).encode(),
                str(2 ** 53 + 1).encode(), b"1" * 5000, b"1e400", b"-1e999", b"NaN",
                b"Infinity", b"-Infinity"]


@pytest.mark.parametrize("number", HUGE_NUMBERS, ids=lambda n: n[:12].decode())
def test_integers_outside_2_to_the_53_and_non_finite_numbers_answer_400(app, number):
    for path, field in (("/api/events", b"results"), ("/api/suggest", b"limit")):
        r = post(app, path, b'{"type":"search","market":"us","query":"x","' + field + b'":'
                 + number + b"}")
        assert r.status == 400 and error_code(r) == "bad_json", r.body
        assert b"Traceback" not in r.body


def test_integers_at_2_to_the_53_are_valid_json(app):
    r = post(app, "/api/events", json.dumps({**GOOD_EVENT, "results": 2 ** 53}).encode())
    assert r.status in (204, 400)
    assert r.status == 204 or error_code(r) == "bad_event"  # parsed; the event judges it


@pytest.mark.parametrize("depth", [50, 1000, 100_000])
def test_deeply_nested_json_answers_400_never_500(app, caplog, depth):
    raw = b'{"subject":' + b"[" * depth + b"]" * depth + b"}"
    with caplog.at_level(logging.ERROR, logger="helpgen.server"):
        for path in ("/api/suggest", "/api/events"):
            r = post(app, path, raw[:65_536] if len(raw) > 65_536 else raw)
            assert r.status in (400, 413), r.body
    assert not [rec for rec in caplog.records if rec.exc_info]  # no traceback logged


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"[]", b"null", b'"x"', b"1",
                                 b'{"a":1}{"b":2}', b"\x00" * 10, b'{"a": "\\ud800"}'])
def test_any_parse_failure_is_a_400(app, raw):
    r = post(app, "/api/suggest", raw)
    assert r.status in (200, 400), raw
    if r.status == 400:
        assert error_code(r) in ("bad_json", "bad_ticket")


def test_content_length_with_transfer_encoding_answers_400_in_the_app(app):
    """Other WSGI servers may pass both headers through; the app refuses them itself."""
    r = post(app, "/api/events", json.dumps(GOOD_EVENT).encode(),
             headers={"Transfer-Encoding": "chunked"})
    assert r.status == 400 and error_code(r) == "bad_framing"


DAMAGE = ["truncated", "garbled", "empty", "toc", "deleted"]


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_index_answers_503_logs_it_and_healthz_reports_it(served, tmp_path, caplog,
                                                                    how):
    root = tmp_path / "p"
    shutil.copytree(served, root, symlinks=True)
    damage(root, how)
    a = server.make_app(config.load(root), root / "site", root / "search_index",
                        settings=server.ServerSettings(rate_limit_per_minute=0))
    try:
        with caplog.at_level(logging.ERROR, logger="helpgen.server"):
            s = call(a, "GET", "/api/search", "q=refund")
            g = post(a, "/api/suggest", json.dumps(GOOD_SUGGEST).encode())
            old = call(a, "GET", "/api/search", "q=refund&version=2026.10")
        for r in (s, g):
            assert r.status == 503 and error_code(r) == "index_unavailable", r.body
            assert str(root) not in r.text
        assert old.status == 200  # the other version's index is fine
        logged = [rec.getMessage() for rec in caplog.records]
        assert any("us/2026.11" in m for m in logged), logged
        health = call(a, "GET", "/healthz").json()
        assert health["status"] == "degraded"
        assert list(health["degraded_indexes"]) == ["us/2026.11"]
        assert str(root) not in json.dumps(health)
    finally:
        a.close()


def test_healthz_is_ok_again_after_the_index_is_rebuilt(served, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(served, root, symlinks=True)
    good = root / "good-index"
    shutil.copytree(root / "search_index" / "us" / "2026.11", good)
    damage(root, "toc")
    a = server.make_app(config.load(root), root / "site", root / "search_index",
                        settings=server.ServerSettings(rate_limit_per_minute=0))
    try:
        assert call(a, "GET", "/api/search", "q=refund").status == 503
        assert call(a, "GET", "/healthz").json()["status"] == "degraded"
        target = root / "search_index" / "us" / "2026.11"
        shutil.rmtree(target)
        shutil.copytree(good, target)  # a new folder: a new inode, as a rebuild swaps in
        assert call(a, "GET", "/api/search", "q=refund").status == 200
        health = call(a, "GET", "/healthz").json()
        assert health["status"] == "ok" and "degraded_indexes" not in health
    finally:
        a.close()


def test_search_results_carry_audience_and_topic_titles_in_the_markets_language(app):
    us = call(app, "GET", "/api/search", "q=refund&market=us").json()["results"]
    hit = next(h for h in us if h["id"] == "buyer-protection-program")
    assert (hit["audience_title"], hit["topic_title"]) == ("Buyers", "Buyer protection")
    de = call(app, "GET", "/api/search", "q=ticket&market=de").json()["results"]
    assert de and all(h["audience_title"] in {"Verkäufer", "Partner", "Käufer"} for h in de)
    titles = {h["topic"]: h["topic_title"] for h in de}
    assert titles.get("support-tickets") == "Support-Tickets"
