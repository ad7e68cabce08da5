"""Property-based tests (Hypothesis) of the search query parser and every /api/* body:
never a 500, never a traceback, never a path of the server's disk."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpgen import config, search, server
from helpgen.errors import HelpgenError
from serverkit import call

PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
def app(served, tmp_path_factory):
    a = server.make_app(config.load(served), served / "site", served / "search_index",
                        tmp_path_factory.mktemp("events") / "events.db",
                        settings=server.ServerSettings(rate_limit_per_minute=0))
    yield a
    a.close()


@pytest.fixture(scope="module")
def searcher(served):
    with search.Searcher(served / "search_index", "us", "latest") as s:
        yield s


WORDS = ["refund", "order", "shipping", "address", "password", "reset", "ticket", "Rückgabe",
         "Bestellung", "返金", "注文", "AND", "OR", "NOT", "*", "?", "~", "~2", "^3", "\"",
         "(", ")", ":", "title:", "audience:buyers", "-", "+", "\\", "/", "[", "]", "{", "}",
         "TO", "<", ">", "=", "&", "|", "!", "'", "`", "\x00", "\u200b", "\ufeff", "%", "..",
         "../etc/passwd", "<script>alert(1)</script>", "🙂", "x" * 300]
queries = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=20)
    .map("".join),
)


def assert_clean(reply, root: Path) -> None:
    assert reply.status < 500, reply.body[:300]
    text = reply.body.decode("utf-8", "replace")
    for marker in ("Traceback", "site-packages", 'File "', str(root), str(Path.home()) + "/"):
        assert marker not in text, f"{marker!r} in {text[:300]!r}"


@PROPERTY
@given(q=queries)
def test_query_parser_answers_or_raises_helpgen_error(searcher, q):
    """The parser itself, not through the API (whose 503 could hide its bugs)."""
    try:
        result = searcher.search(q, limit=5)
    except HelpgenError as exc:
        assert "Traceback" not in str(exc)
        return
    assert len(result.hits) <= 5


@PROPERTY
@given(q=queries)
def test_ticket_text_search_answers_or_raises_helpgen_error(searcher, q):
    try:
        searcher.search_text(q, limit=3)
    except HelpgenError:
        pass


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=60), st.sampled_from(WORDS))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)
FIELDS = ["market", "version", "subject", "category", "title", "description", "audience",
          "limit", "draft_id", "type", "query", "results", "article_id", "topic", "q", "x"]
bodies = st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=12)), values,
                         max_size=8)
raw_bodies = st.one_of(
    bodies.map(lambda b: json.dumps(b).encode("utf-8")),
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.integers(1, 3000).map(lambda n: b'{"subject":' + b"[" * n + b"}"),
)


@PROPERTY
@given(path=st.sampled_from(["/api/suggest", "/api/events"]), raw=raw_bodies,
       ctype=st.sampled_from(["application/json", "application/json; charset=utf-8",
                              "text/plain", ""]))
def test_api_bodies_never_fail_the_server(app, served, caplog, path, raw, ctype):
    with caplog.at_level(logging.ERROR, logger="helpgen.server"):
        r = call(app, "POST", path, body=raw, headers={"Content-Type": ctype})
    assert_clean(r, served)
    assert r.status != 503  # the index is healthy: a 503 here would be a hidden bug
    assert not [rec for rec in caplog.records if rec.exc_info], "a traceback was logged"


params = st.dictionaries(
    st.sampled_from(["q", "limit", "market", "version", "audience", "topic", "x"]),
    st.one_of(queries, st.sampled_from(["us", "de", "fr", "latest", "2026.10", "buyers",
                                        "orders", "0", "-1", "51", "1e3", "9" * 30])),
    max_size=6)


@PROPERTY
@given(query=st.one_of(params.map(urlencode), st.text(max_size=200)),
       path=st.sampled_from(["/api/search", "/healthz", "/api/nope", "/api/events"]),
       method=st.sampled_from(["GET", "HEAD", "OPTIONS", "DELETE"]))
def test_api_query_strings_never_fail_the_server(app, served, caplog, query, path, method):
    with caplog.at_level(logging.ERROR, logger="helpgen.server"):
        r = call(app, method, path, query)
    assert_clean(r, served)
    assert r.status != 503
    assert not [rec for rec in caplog.records if rec.exc_info], "a traceback was logged"
