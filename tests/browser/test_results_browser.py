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
