"""The served help site in a real Chromium: no remote or failed requests, no console
errors under the server's CSP, search, versions, German market, fallback notice."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_home_page_loads_cleanly_under_the_csp(page, live_site, page_log):
    page.goto(live_site.url + "/us/")  # market index -> latest -> 2026.11
    expect(page).to_have_url(re.compile(r"/us/2026\.11/$"))
    expect(page.locator("h1").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()
    assert any("/assets/javascripts/bundle." in u for u in page_log.requests)


def test_market_list_links_to_every_built_market(page, live_site, page_log):
    page.goto(live_site.url + "/")
    links = page.locator("a[href]")
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert hrefs == {"us/", "de/"}
    page.click("a[href='de/']")
    expect(page).to_have_url(re.compile(r"/de/2026\.11/$"))
    page_log.assert_clean()


def test_material_search_finds_an_article(page, live_site, page_log, media_dir):
    page.goto(live_site.url + "/us/2026.11/")
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially("ticket response", delay=30)
    results = page.locator(".md-search-result__item")
    expect(results.first).to_be_visible(timeout=15000)
    expect(page.locator(".md-search-result")).to_contain_text("response")
    page.screenshot(path=str(media_dir / "search.png"))
    results.first.locator("a").first.click()
    expect(page.locator("article h1")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_version_selector_lists_both_versions(page, live_site, page_log):
    page.goto(live_site.url + "/us/2026.11/partners/support-tickets/submit-a-ticket/")
    version = page.locator(".md-version")
    expect(version).to_contain_text("2026.11", timeout=15000)
    items = page.locator(".md-version__list .md-version__link")
    expect(items).to_have_count(2)
    texts = [items.nth(i).text_content().strip() for i in range(items.count())]
    assert texts[0].startswith("2026.11") and texts[1].startswith("2026.10")
    version.hover()
    expect(items.nth(1)).to_be_visible()
    items.nth(1).click()
    expect(page).to_have_url(re.compile(r"/us/2026\.10/"))
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_german_market_has_a_german_interface_and_translated_article(page, live_site,
                                                                      page_log):
    page.goto(live_site.url + "/de/2026.11/partners/support-tickets/submit-a-ticket/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("article h1")).to_contain_text("Supportticket im Partner Center einreichen")
    expect(page.locator("input.md-search__input")).to_have_attribute("placeholder", "Suche")
    expect(page.locator(".admonition.info")).to_have_count(0)  # translated: no notice
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_untranslated_article_shows_the_fallback_notice(page, live_site, page_log):
    page.goto(live_site.url + "/de/2026.11/partners/support-tickets/track-your-tickets/")
    notice = page.locator(".admonition.info")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("nicht auf Deutsch verfügbar")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_missing_page_shows_the_markets_404_page_with_its_theme(page, live_site, page_log):
    response = page.goto(live_site.url + "/de/2026.11/no/such/page/")
    assert response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".md-header")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page_log.remote() == [] and page_log.failed == []
    assert [s for s in page_log.bad_status if "/no/such/page/" not in s] == []
    assert len(page_log.errors) == 1 and "404" in page_log.errors[0]  # the page itself
