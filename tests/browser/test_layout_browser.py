"""The phone and desktop layout in a real Chromium: no sideways scroll on any page,
the site name whole at 390 px, a search field above the fold; the old-version banner
(static host and helpgen serve); the way out of empty searches and 404 pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import expect

from serverkit import copy_project, write_article
from static_host import serving_static

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}
FULL_MARKETS = ("us", "de", "jp")  # every page; the others: home and ticket page
ARTICLE = "buyers/buyer-protection/buyer-protection-program/"
OLD_ONLY = """
id: old-only-notice
title: A notice only the older version has
summary: This article was dropped before the latest version.
audience: buyers
topic: orders
last_reviewed: 2026-10-01
"""


@pytest.fixture(scope="module")
def static_site(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Every market built as 2026.11 (latest), us also as 2026.10 with one article the
    latest lacks; served by a plain static file server."""
    from helpgen import config, site

    root = copy_project(tmp_path_factory.mktemp("layout-browser") / "project")
    extra = write_article(root, "buyers/orders/old-only-notice.md", OLD_ONLY,
                          "# A notice only the older version has\n\nOld text.\n")
    site.build(config.load(root), "us", "2026.10", [], root / "site")
    extra.unlink()
    site.build_all(config.load(root), "2026.11", ["latest"], root / "site", jobs=2)
    with serving_static(root / "site") as url:
        yield url, root / "site"


def site_pages(site_dir: Path) -> list[str]:
    """Site paths of the built pages to sweep (redirect pages left out)."""
    out = []
    for market_dir in sorted(p for p in site_dir.iterdir() if p.is_dir()):
        version = market_dir / "2026.11"
        if not version.is_dir():
            continue
        if market_dir.name in FULL_MARKETS:
            files = sorted(version.rglob("index.html")) + [version / "404.html"]
        else:
            files = [version / "index.html", version / "submit-a-ticket" / "index.html"]
        for f in files:
            if "http-equiv=\"refresh\"" in f.read_text(encoding="utf-8")[:600]:
                continue
            out.append("/" + f.relative_to(site_dir).as_posix().removesuffix("index.html"))
    return out


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_no_page_scrolls_sideways(page, static_site, viewport):
    url, site_dir = static_site
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    paths = site_pages(site_dir)
    assert len(paths) > 40 and any(p.startswith("/jp/") for p in paths)
    wide = []
    for path in paths:
        page.goto(url + path, wait_until="load")
        sw = page.evaluate("document.documentElement.scrollWidth")
        if sw > width:
            wide.append(f"{path}: {sw}")
    assert wide == []


def test_site_names_up_to_24_characters_are_whole_on_a_phone(page, static_site):
    url, _ = static_site
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url + "/de/2026.11/" + ARTICLE)
    name = page.locator(".md-header__topic").first.locator(".md-ellipsis")
    cut = "el => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight + 1"
    assert name.evaluate(cut) is False, name.inner_text()
    for text in ("Hilfe-Center Deutschland", "Centro assistenza Italia"[:24],
                 "Trung tâm trợ giúp Việt"):
        assert len(text) <= 24
        name.evaluate("(el, t) => { el.textContent = t; }", text)
        assert name.evaluate(cut) is False, text
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_search_field_is_visible_above_the_fold(page, static_site, viewport):
    url, _ = static_site
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    for path in ("/us/2026.11/", "/jp/2026.11/" + ARTICLE):
        page.goto(url + path)
        # on phones: the bar under the header, or the home page's own search box instead
        field = page.locator(".helpgen-searchbar input, .helpgen-home-search input"
                             if width < 960 else "input.md-search__input")
        expect(field).to_have_count(1)  # one search field on the page, not two
        expect(field).to_be_visible()
        box = field.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height and box["width"] > 150
    if width < 960:  # typing in it opens the search dialog with the words
        page.locator(".helpgen-searchbar input").click()
        expect(page.locator("input.md-search__input")).to_be_focused()
        page.keyboard.type("refund")
        expect(page.locator(".md-search-result__item").first).to_be_visible()


def test_old_version_banner_on_a_static_host(page, static_site):
    url, _ = static_site
    page.goto(url + "/us/2026.10/" + ARTICLE)
    banner = page.locator("[data-md-component=outdated]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("older version")
    page.locator("a.helpgen-latest").click()
    expect(page).to_have_url(re.compile(r"/us/2026\.11/" + re.escape(ARTICLE) + "$"))
    expect(page.locator("[data-md-component=outdated]")).to_be_hidden()
    # an article the latest version lacks leads to the latest home
    page.goto(url + "/us/2026.10/buyers/orders/old-only-notice/")
    expect(page.locator("[data-md-component=outdated]")).to_be_visible()
    link = page.locator("a.helpgen-latest")
    expect(link).to_have_attribute("href", "../../../../latest/")
    link.click()
    expect(page).to_have_url(re.compile(r"/us/2026\.11/$"))


def test_old_version_banner_under_helpgen_serve(page, live_site, page_log):
    page.goto(live_site.url + "/us/2026.10/" + ARTICLE)
    expect(page.locator("[data-md-component=outdated]")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()
    page.locator("a.helpgen-latest").click()
    expect(page).to_have_url(re.compile(r"/us/2026\.11/" + re.escape(ARTICLE) + "$"))
    page.goto(live_site.url + "/us/2026.11/" + ARTICLE)
    page.wait_for_load_state("networkidle")
    page_log.failed.clear()  # requests of the pages left behind, cut short by leaving
    expect(page.locator("article .helpgen-breadcrumbs li")).to_have_count(4)
    expect(page.locator("article .helpgen-reviewed")).to_have_text(
        "Last reviewed: November 25, 2026")
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def _search(page, words: str) -> None:
    page.locator("label.md-header__button[for=__search]").click()
    box = page.locator("input.md-search__input")
    box.fill("")
    box.press_sequentially(words, delay=30)


@pytest.mark.parametrize("host", ["served", "static"])
def test_no_results_offer_home_and_ticket(page, live_site, static_site, host):
    base = live_site.url if host == "served" else static_site[0]
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/de/2026.11/")
    _search(page, "qqxzvv")
    way_out = page.locator(".md-search-result .helpgen-deadend--search")
    expect(page.locator(".md-search-result__meta")).to_contain_text(
        "Keine Suchergebnisse", timeout=15000)
    expect(way_out).to_be_visible()
    expect(way_out.locator("a.helpgen-deadend__ticket")).to_have_text("Ticket einreichen")
    expect(way_out.locator("a.helpgen-deadend__home")).to_be_visible()
    page.locator("input.md-search__input").fill("")
    page.locator("input.md-search__input").press_sequentially("Ticket", delay=30)
    expect(page.locator(".md-search-result__item").first).to_be_visible(timeout=15000)
    expect(way_out).to_have_count(0)


def test_404_page_searches_and_links_home_and_ticket(page, live_site):
    page.goto(live_site.url + "/de/2026.11/keine-seite/")
    expect(page.locator(".md-header__topic").first).to_contain_text("Deutschland")
    page.locator("a.helpgen-deadend__ticket").click()
    expect(page).to_have_url(re.compile(r"/de/2026\.11/submit-a-ticket/$"))
    page.goto(live_site.url + "/de/2026.11/keine-seite/")
    page.locator("#helpgen-deadend-q").fill("Käuferschutz")
    page.locator("#helpgen-deadend-q").press("Enter")
    expect(page.locator("input.md-search__input")).to_have_value("Käuferschutz")
    expect(page.locator(".md-search-result__item").first).to_be_visible()
