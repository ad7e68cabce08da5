"""Page furniture in real builds: breadcrumbs, "Last reviewed" in the market's date
format, the old-version banner's link, and the way out of 404 pages (served too)."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import pytest

from projectkit import copy_project
from serverkit import call

ARTICLE = "buyers/buyer-protection/buyer-protection-program/index.html"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """us 2026.10 + 2026.11 (latest), de and jp 2026.11; the German translation says it
    was reviewed on another day than the English file."""
    from helpgen import config, site

    root = copy_project(tmp_path_factory.mktemp("layout") / "project")
    de = root / "docs" / "buyers" / "buyer-protection" / "buyer-protection-program.de.md"
    text = de.read_text(encoding="utf-8")
    de.write_text(re.sub(r"last_reviewed: \S+", "last_reviewed: 2026-03-04", text, count=1),
                  encoding="utf-8")
    cfg = config.load(root)
    for market, version, aliases in (("us", "2026.10", []), ("us", "2026.11", ["latest"]),
                                     ("de", "2026.11", ["latest"]),
                                     ("jp", "2026.11", ["latest"])):
        site.build(cfg, market, version, aliases, root / "site",
                   index_dir=root / "search_index")
    return root


def page(root: Path, market: str, rel: str, version: str = "2026.11") -> str:
    return (root / "site" / market / version / rel).read_text(encoding="utf-8")


def breadcrumbs(html_text: str) -> list[str]:
    nav = re.search(r'<nav class="helpgen-breadcrumbs"[^>]*>(.*?)</nav>', html_text, re.S)
    assert nav, "no breadcrumbs"
    return [re.sub(r"<[^>]+>", "", li).strip()
            for li in re.findall(r"<li>(.*?)</li>", nav.group(1), re.S)]


def test_article_breadcrumbs_go_home_audience_topic_article_in_the_page_language(built):
    assert breadcrumbs(page(built, "us", ARTICLE)) == [
        "Home", "Buyers", "Buyer protection", "TikTok Shop Buyer Protection Program"]
    de = breadcrumbs(page(built, "de", ARTICLE))
    assert de[:3] == ["Startseite", "Käufer", "Käuferschutz"]
    jp = breadcrumbs(page(built, "jp", ARTICLE))
    assert jp[:3] == ["ホーム", "購入者", "購入者保護"]
    home = re.search(r'helpgen-breadcrumbs.*?<a href="([^"]+)"', page(built, "us", ARTICLE),
                     re.S)
    assert home.group(1) == "../../.."  # the version's home page


def test_home_and_ticket_pages_have_no_breadcrumbs_or_review_date(built):
    for rel in ("index.html", "submit-a-ticket/index.html"):
        text = page(built, "us", rel)
        assert "helpgen-breadcrumbs" not in text.split("</header>", 1)[1]
        assert "helpgen-reviewed" not in text


def test_last_reviewed_is_the_served_texts_front_matter_date_in_the_market_format(built):
    assert '<p class="helpgen-reviewed">Last reviewed: November 25, 2026</p>' in page(
        built, "us", ARTICLE)
    # the German translation's own date, written the German way
    assert '<p class="helpgen-reviewed">Zuletzt geprüft: 4. März 2026</p>' in page(
        built, "de", ARTICLE)
    assert '<p class="helpgen-reviewed">最終確認日: 2026年11月25日</p>' in page(
        built, "jp", ARTICLE)


def test_review_date_ignores_file_times(built, tmp_path):
    """The date is the front matter's: touching the files changes nothing."""
    import os

    from helpgen import config, layout, render, content

    cfg = config.load(built)
    corpus = content.load(cfg)
    before = {p.src: layout.reviewed_date(p)
              for p in render.render_market(corpus, cfg, cfg.market("us"), "2026.11")
              .articles()}
    for f in (built / "docs").rglob("*.md"):
        os.utime(f, (0, 0))
    corpus = content.load(cfg)
    after = {p.src: layout.reviewed_date(p)
             for p in render.render_market(corpus, cfg, cfg.market("us"), "2026.11")
             .articles()}
    assert before == after
    assert before["buyers/buyer-protection/buyer-protection-program.md"] == _dt.date(2026, 11, 25)


def test_old_version_banner_links_to_the_article_in_the_default_alias(built):
    old = page(built, "us", ARTICLE, version="2026.10")
    link = re.search(r'<a class="helpgen-latest" data-helpgen-home="([^"]+)"\s+href="([^"]+)"',
                     old)
    assert link, "no old-version banner link"
    assert link.groups() == ("../../../../latest/",
                             "../../../../latest/a/buyer-protection-program/")
    assert "You are viewing an older version" in old
    # the link resolves on the published site (the alias's permalink redirect page)
    target = (built / "site" / "us" / "2026.10" / "buyers" / "buyer-protection"
              / "buyer-protection-program" / link.group(2) / "index.html")
    assert target.resolve().is_file()
    # the home page's banner leads to the latest home
    assert 'href="./../latest/"' in page(built, "us", "index.html", version="2026.10")
    # Material shows the banner from versions.json: the default alias is configured
    assert '"default": "latest"' in old


def test_404_page_offers_search_home_and_ticket_in_the_market_language(built):
    de = page(built, "de", "404.html")
    assert '<form class="helpgen-deadend__search"' in de and 'name="q"' in de
    assert "Im Hilfe-Center suchen" in de
    assert re.search(r'<a class="helpgen-deadend__home" href="[^"]*">Zur Startseite', de)
    assert re.search(r'<a class="helpgen-deadend__ticket" href="/submit-a-ticket/">'
                     r'Ticket einreichen</a>', de)


def test_served_404_is_the_markets_own_and_unknown_markets_get_the_neutral_list(built):
    from helpgen import config, server

    app = server.make_app(config.load(built), built / "site", built / "search_index",
                          built / "events.sqlite3",
                          settings=server.ServerSettings(rate_limit_per_minute=0))
    try:
        reply = call(app, path="/de/2026.11/no-such-page/")
        assert reply.status == 404
        body = reply.text
        assert "Deutschland" in re.search(r"<title>(.*?)</title>", body, re.S).group(1)
        assert 'href="/de/2026.11/submit-a-ticket/"' in body
        assert "Ticket einreichen" in body
        jp = call(app, path="/jp/latest/nothing-here/")
        assert jp.status == 404 and 'href="/jp/2026.11/submit-a-ticket/"' in jp.text
        neutral = call(app, path="/xx/")
        assert neutral.status == 404
        assert "helpgen-deadend" not in neutral.text and 'href="/us/"' in neutral.text
    finally:
        app.close()


def test_empty_search_template_and_layout_script_are_on_every_page(built):
    text = page(built, "us", ARTICLE)
    tpl = re.search(r'<template id="helpgen-no-results">(.*?)</template>', text, re.S)
    assert tpl and "Submit a ticket" in tpl.group(1) and "Help center home" in tpl.group(1)
    assert re.search(r'<script src="[^"]*assets/helpgen/layout\.js"></script>', text)
    assert (built / "site" / "us" / "2026.11" / "assets" / "helpgen" / "layout.css").is_file()
