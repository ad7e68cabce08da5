"""The real WSGI app writing to both event stores (SQLite file, PostgreSQL database):
client events and searches recorded, retention under a flood, and a PostgreSQL outage
that never fails a request (bounded buffer, dropped counter in /healthz)."""

from __future__ import annotations

import json
import time

import pytest

from helpgen import events, server

from pgcluster import wait_until
from serverkit import call, error_of


def post_json(app, path: str, data) -> object:
    return call(app, "POST", path, headers={"Content-Type": "application/json"},
                body=json.dumps(data).encode())


@pytest.fixture
def events_app(served, cfg, events_target):
    a = server.make_app(cfg, served / "site", served / "search_index", events_target,
                        settings=server.ServerSettings(rate_limit_per_minute=0))
    yield a
    a.close()


def stored(app) -> list[events.Event]:
    store = app._events()
    assert store.flush(10)
    return store.events()


def test_client_events_are_validated_and_recorded(events_app):
    event = {"type": "helpful", "market": "us", "version": "2026.11",
             "article_id": "buyer-protection-program"}
    r = post_json(events_app, "/api/events", event)
    assert r.status == 204 and r.body == b""
    assert [(e.type, e.article_id) for e in stored(events_app)] == [
        ("helpful", "buyer-protection-program")]
    bad = post_json(events_app, "/api/events", {"type": "drop table", "market": "us"})
    assert bad.status == 400 and "type" in error_of(bad)["message"]
    smuggled = post_json(events_app, "/api/events", {**event, "description": "my card"})
    assert smuggled.status == 400
    assert len(stored(events_app)) == 1


def test_searches_are_recorded_masked(events_app):
    call(events_app, "GET", "/api/search", query="q=refund%20for%20jane%40example.com")
    call(events_app, "GET", "/api/search", query="q=qqqqxxxzz")
    got = stored(events_app)
    assert [e.type for e in got] == ["search", "search_no_answer"]
    assert got[0].query == "refund for [email]" and got[0].results > 0


def test_event_flood_is_bounded_by_retention(served, cfg, events_target):
    log = events.open_store(events_target)
    log.record(events.make_event({"type": "helpful", "market": "us"}, markets=cfg.markets,
                                 now="2020-01-01T00:00:00.000000Z"))
    a = server.make_app(cfg, served / "site", served / "search_index", events_target,
                        settings=server.ServerSettings(rate_limit_per_minute=0,
                                                       events_max_rows=20))
    try:
        for i in range(100):
            r = post_json(a, "/api/events", {"type": "not_helpful", "market": "us",
                                             "article_id": f"article-{i}"})
            assert r.status == 204
        assert a._events().flush(10)
        assert wait_until(lambda: not a._pruning)
        got = log.events()
    finally:
        a.close()
        log.close()
    # SQLite prunes in the request; PostgreSQL in the background, while the writer
    # thread may still hold the last few events.
    assert len(got) <= (22 if log.engine == "sqlite" else 30)
    assert got[-1].article_id == "article-99"
    assert all(e.ts > "2021" for e in got)  # the 2020 event aged out (400 days)


def test_healthz_shows_the_store_engine_and_dropped_counter(events_app, events_target):
    post_json(events_app, "/api/events", {"type": "helpful", "market": "us"})
    health = call(events_app, "GET", "/healthz").json()
    assert health["status"] == "ok"
    assert health["events"]["engine"] == ("sqlite" if not isinstance(events_target, str)
                                          else "postgresql")
    assert health["events"]["dropped"] == 0
    assert "127.0.0.1" not in json.dumps(health) and "helpgen@" not in json.dumps(health)


def test_postgresql_outage_never_fails_a_request_and_counts_dropped_events(
        served, cfg, pg_cluster, pg_url):
    small = cfg.with_setting("events.buffer_size", 5)
    a = server.make_app(small, served / "site", served / "search_index", pg_url,
                        settings=server.ServerSettings(rate_limit_per_minute=0))
    try:
        assert post_json(a, "/api/events", {"type": "helpful", "market": "us"}).status == 204
        assert a._events().flush(10)
        pg_cluster.pause()
        try:
            slowest = 0.0
            for i in range(12):
                start = time.monotonic()
                r = post_json(a, "/api/events", {"type": "not_helpful", "market": "us",
                                                 "article_id": f"down-{i}"})
                slowest = max(slowest, time.monotonic() - start)
                assert r.status == 204
                s = call(a, "GET", "/api/search", query="q=refund")
                assert s.status == 200
            assert slowest < 0.5
            assert wait_until(lambda: not a._events().health()["ok"], timeout=30)
            health = call(a, "GET", "/healthz").json()
            assert health["status"] == "degraded"
            assert health["events"]["buffered"] == 5
            assert health["events"]["dropped"] == 24 - 5  # 12 events + 12 searches, 5 kept
            assert health["events"]["last_error"] == "PostgreSQL is unreachable"
        finally:
            pg_cluster.resume()
        assert a._events().flush(60)
        assert wait_until(lambda: a._events().health()["ok"], timeout=30)
        assert call(a, "GET", "/healthz").json()["status"] == "ok"
        got = a._events().events()
        assert len(got) == 1 + 5 and got[0].type == "helpful"
    finally:
        a.close()
