"""Zendesk's deflection endpoint (helpgen.server.api): the record the Copenhagen theme's
ticket form reads, absolute links from server.base_url, Zendesk locales mapped to markets,
the CORS allowlist, over the real app and the real indexes of the served project."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from helpgen import server
from serverkit import call

PATH = "/api/v2/help_center/deflection/suggestions.json"
SHOP = "https://shop.example"
BASE = "https://help.example.com"


@pytest.fixture
def app(served, cfg):
    a = server.make_app(cfg, served / "site", served / "search_index",
                        settings=server.ServerSettings(rate_limit_per_minute=0,
                                                       cors_origins=(SHOP,), base_url=BASE))
    yield a
    a.close()


def ask(app, query: str | None = None, locale: str | None = None, **headers: str):
    params = {k: v for k, v in (("query", query), ("locale", locale)) if v is not None}
    return call(app, "GET", PATH, urlencode(params), headers=headers)


def test_suggestions_have_zendesks_fields_and_absolute_links(app):
    r = ask(app, "where is my refund", "en-us")
    assert r.status == 200, r.body
    results = r.json()["results"]
    assert results, "a refund question must get a suggestion"
    for item in results:
        assert set(item) == {"id", "title", "name", "html_url", "snippet"}
        assert item["name"] == item["title"]
        assert item["html_url"].startswith(BASE + "/us/2026.11/"), item["html_url"]
    assert set(r.json()) == {"results"}


def test_suggestions_are_the_deflection_engines(app):
    suggested = call(app, "POST", "/api/suggest",
                     body=b'{"subject": "where is my refund", "limit": 3}',
                     headers={"Content-Type": "application/json"}).json()["results"]
    zendesk = ask(app, "where is my refund", "en-us").json()["results"]
    assert [s["id"] for s in zendesk] == [s["id"] for s in suggested]


@pytest.mark.parametrize("locale,market", [("de", "de"), ("DE", "de"), ("de-DE", "de"),
                                           ("de_de", "de"), ("en-us", "us"), ("EN-US", "us"),
                                           ("en-gb", "us"), ("xx-yy", "us"), ("", "us"),
                                           (None, "us")])
def test_locale_maps_to_a_market_case_insensitively(app, locale, market):
    r = ask(app, "refund", locale)
    assert r.status == 200, r.body
    urls = [item["html_url"] for item in r.json()["results"]]
    assert urls, locale
    assert all(u.startswith(f"{BASE}/{market}/") for u in urls), (locale, urls)


def test_a_locale_whose_market_has_no_site_answers_from_the_default_market(app):
    """ja names the jp market, which the served project has not built."""
    assert app.market_for_locale("ja") == "us"
    assert app.market_for_locale("ja-JP") == "us"


def test_locale_names_a_built_market_by_locale_code_or_language(app, served, tmp_path):
    import shutil

    site = tmp_path / "site"
    shutil.copytree(served / "site", site, symlinks=True)
    shutil.copytree(site / "us", site / "jp", symlinks=True)
    a = server.make_app(app.config, site, served / "search_index")
    try:
        assert a.market_for_locale("ja") == "jp"
        assert a.market_for_locale("JA-jp") == "jp"
        assert a.market_for_locale("jp") == "jp"
        assert a.market_for_locale("en") == "us"  # the default market of that language first
    finally:
        a.close()


@pytest.mark.parametrize("query", [None, "", "   ", "?!", "+++"])
def test_empty_query_answers_200_with_no_results(app, query):
    r = ask(app, query, "en-us")
    assert r.status == 200, r.body
    assert r.json() == {"results": []}


def test_too_long_query_answers_413(app):
    r = ask(app, "refund " * 100, "en-us")
    assert r.status == 413


def test_cors_follows_the_allowlist(app):
    allowed = ask(app, "refund", "en-us", Origin=SHOP)
    assert allowed.headers["access-control-allow-origin"] == SHOP
    other = ask(app, "refund", "en-us", Origin="https://evil.example")
    assert "access-control-allow-origin" not in other.headers
    pre = call(app, "OPTIONS", PATH, headers={"Origin": "https://evil.example"})
    assert pre.status == 403
    ok = call(app, "OPTIONS", PATH, headers={"Origin": SHOP})
    assert ok.status == 204 and ok.headers["access-control-allow-origin"] == SHOP


def test_only_get(app):
    r = call(app, "POST", PATH, body=b"{}", headers={"Content-Type": "application/json"})
    assert r.status == 405 and "GET" in r.headers["allow"]


def test_without_base_url_links_are_root_relative(served, cfg):
    a = server.make_app(cfg, served / "site", served / "search_index",
                        settings=server.ServerSettings(rate_limit_per_minute=0))
    try:
        results = ask(a, "where is my refund", "en-us").json()["results"]
        assert results and all(r["html_url"].startswith("/us/2026.11/") for r in results)
    finally:
        a.close()
