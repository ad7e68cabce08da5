"""Search results, the home page, the root market chooser and the market switch in a
real Chromium, served by helpgen and by a plain static host."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def open_search(page, url: str):
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("data-helpgen-search", "api")
    box = page.locator("input.md-search__input")
    box.click()
    return box


def test_results_show_their_audience_and_topic(page, live_site, page_log):
    box = open_search(page, live_site.url + "/us/2026.11/")
    box.press_sequentially("refund", delay=30)
    expect(page.locator(".md-search-result__list")).to_have_attribute("data-query", "refund")
    first = page.locator(".md-search-result__item", has_text="Buyer Protection Program").first
    expect(first.locator(".helpgen-search-place")).to_have_text("Buyers · Buyer protection")
    page_log.assert_clean()


def test_results_show_audience_and_topic_in_the_markets_language(page, live_site, page_log):
    box = open_search(page, live_site.url + "/de/2026.11/")
    box.press_sequentially("ticket", delay=30)
    expect(page.locator(".md-search-result__list")).to_have_attribute("data-query", "ticket")
    places = page.locator(".md-search-result__item .helpgen-search-place")
    expect(places.first).to_be_visible()
    assert any("Support-Tickets" in t for t in places.all_text_contents())
    assert not any("Partners" in t for t in places.all_text_contents())
    page_log.assert_clean()


def test_did_you_mean_runs_the_corrected_search_and_keeps_the_panel_open(page, live_site,
                                                                         page_log):
    box = open_search(page, live_site.url + "/us/2026.11/")
    box.press_sequentially("refnud", delay=40)
    fix = page.locator(".md-search-result__meta .helpgen-did-you-mean")
    expect(fix).to_have_text("refund")
    with page.expect_response(re.compile(r"/api/search\?q=refund&")):
        fix.click()
    expect(page.locator(".md-search-result__list")).to_have_attribute("data-query", "refund")
    assert page.locator("[data-md-toggle=search]").is_checked()
    expect(page.locator(".md-search-result__item").first).to_be_visible()
    expect(box).to_have_value("refund")
    expect(box).to_be_focused()
    assert page.url.endswith("/us/2026.11/")  # no "#" navigation either
    page_log.assert_clean()


def switch_market(page, name: str) -> None:
    page.locator(".md-header .md-select").hover()
    link = page.locator(".md-select__link", has_text=name)
    expect(link).to_be_visible()
    link.click()


def test_static_host_market_switch_keeps_the_article(page, live_site):
    from static_host import serving_static

    with serving_static(live_site.root / "site") as base:
        page.goto(base + "/us/2026.11/partners/support-tickets/submit-a-ticket/")
        page.wait_for_load_state("networkidle")
        switch_market(page, "Germany")
        expect(page).to_have_url(re.compile(r"/de/2026\.11/partners/support-tickets/"
                                            r"submit-a-ticket/$"))
        expect(page.locator("article h1")).to_contain_text("Supportticket")


def test_static_host_market_switch_goes_home_without_the_article(page, live_site):
    from static_host import serving_static

    with serving_static(live_site.root / "site") as base:
        page.goto(base + "/us/2026.11/buyers/orders/us-sales-tax/")
        page.wait_for_load_state("networkidle")
        switch_market(page, "Germany")
        expect(page).to_have_url(re.compile(r"/de/2026\.11/$"))


def test_root_is_a_styled_chooser_of_the_published_markets(page, live_site, page_log):
    page.goto(live_site.url + "/")
    cards = page.locator("ul.helpgen-markets > li > a")
    expect(cards).to_have_count(2)
    assert cards.all_text_contents() == ["United StatesEnglish", "DeutschlandDeutsch"]
    header = page.locator("header")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(64, 81, 181)"
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), width
        box = cards.nth(1).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    cards.nth(1).click()
    expect(page).to_have_url(re.compile(r"/de/2026\.11/$"))
    page_log.assert_clean()


def test_home_page_has_a_search_box_featured_articles_and_topic_cards(page, live_site,
                                                                      page_log):
    page.goto(live_site.url + "/us/2026.11/")
    expect(page.locator("html")).to_have_attribute("data-helpgen-search", "api")
    featured = page.locator(".helpgen-featured a")
    expect(featured.first).to_have_text("Submit a support ticket in the Partner Center")
    cards = page.locator(".grid.cards.helpgen-topics > ul > li")
    expect(cards.first).to_contain_text("Getting support · 4 articles")
    assert cards.count() == 6
    assert cards.first.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    box = page.locator(".helpgen-home-search input")
    assert box.bounding_box()["y"] < 800  # above the fold at 1280x720
    box.click()
    box.press_sequentially("refund", delay=30)
    expect(page.locator(".md-search-result__list")).to_have_attribute("data-query", "refund")
    assert page.locator("[data-md-toggle=search]").is_checked()
    expect(page.locator("input.md-search__input")).to_be_focused()
    expect(page.locator(".md-search-result__item").first).to_be_visible()
    page_log.assert_clean()


def test_german_home_page_cards_are_german(page, live_site, page_log):
    page.goto(live_site.url + "/de/2026.11/")
    expect(page.locator(".helpgen-home-search input")).to_have_attribute(
        "placeholder", "Im Hilfe-Center suchen")
    expect(page.locator("h2", has_text="Empfohlene Artikel")).to_be_visible()
    expect(page.locator(".helpgen-topics").first).to_contain_text("Artikel")
    page_log.assert_clean()
