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


def test_search_box_shows_whoosh_results_for_a_typo_and_opens_the_article(page, live_site,
                                                                          page_log, media_dir):
    page.goto(live_site.url + "/us/2026.11/")
    expect(page.locator("html")).to_have_attribute("data-helpgen-search", "api")
    box = page.locator("input.md-search__input")
    box.click()
    with page.expect_response(re.compile(r"/api/search\?q=refnud")) as answer:
        box.press_sequentially("refnud", delay=40)
    assert answer.value.status == 200
    expect(page.locator(".md-search-result__list")).to_have_attribute("data-query", "refnud")
    meta = page.locator(".md-search-result__meta")
    expect(meta).to_have_attribute("aria-live", "polite")
    expect(meta.locator(".helpgen-did-you-mean")).to_have_text("refund")
    first = page.locator(".md-search-result__item").first
    expect(first).to_contain_text("Buyer Protection Program")
    expect(first.locator("mark").first).to_have_text(re.compile("refund", re.I))
    page.screenshot(path=str(media_dir / "search.png"))
    box.press("Enter")  # the keyboard opens the first result
    expect(page).to_have_url(re.compile(r"/us/2026\.11/buyers/buyer-protection/"
                                        r"buyer-protection-program/$"))
    expect(page.locator("article h1")).to_contain_text("Buyer Protection Program")
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_search_box_finds_synonyms_and_results_are_keyboard_links(page, live_site, page_log):
    page.goto(live_site.url + "/us/2026.11/")
    expect(page.locator("html")).to_have_attribute("data-helpgen-search", "api")
    box = page.locator("input.md-search__input")
    box.click()
    with page.expect_response(re.compile(r"/api/search\?q=ticket%20response")):
        box.press_sequentially("ticket response", delay=30)
    expect(page.locator(".md-search-result__list")).to_have_attribute("data-query",
                                                                      "ticket response")
    links = page.locator(".md-search-result__list a.md-search-result__link[href]")
    expect(links.first).to_be_visible()
    assert links.count() >= 2
    assert links.first.get_attribute("href").startswith("/us/2026.11/")
    expect(page.locator(".md-search-result__meta")).to_contain_text("matching")
    focused = "document.activeElement.getAttribute('href')"
    page.keyboard.press("ArrowDown")  # Material's keyboard navigation over our results
    assert page.evaluate(focused) == links.nth(0).get_attribute("href")
    page.keyboard.press("ArrowDown")
    second = links.nth(1).get_attribute("href")
    assert page.evaluate(focused) == second
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(second) + "$"))
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_plain_static_host_answers_from_the_search_bundle(page, live_site, page_log):
    """The same site from a static file server (no /healthz): helpgen's results from the
    static bundle, in Material's result list, with nothing asked of an API."""
    from static_host import serving_static

    with serving_static(live_site.root / "site") as base:
        page.goto(base + "/us/2026.11/")
        expect(page.locator("html")).to_have_attribute("data-helpgen-search", "static")
        box = page.locator("input.md-search__input")
        box.click()
        box.press_sequentially("ticket response", delay=30)
        expect(page.locator(".md-search-result__list")).to_have_attribute(
            "data-query", "ticket response", timeout=15000)
        first = page.locator(".md-search-result__item").first
        expect(first).to_contain_text("response")
        assert first.locator(".helpgen-search-snippet mark").count() > 0
        assert not any("/api/search" in u for u in page_log.requests)
        remote = [u for u in page_log.requests if not u.startswith(base)]
        assert remote == [], remote
        assert [e for e in page_log.errors if "404" not in e] == []  # /healthz: 404


def test_when_the_engine_cannot_load_materials_search_answers_from_titles(page, live_site):
    """Material's own index holds page titles only next to the bundle (its worker fetches
    it on every page load); should helpgen's engine fail to load, that index still
    answers in the box."""
    import json

    from helpgen import site
    from static_host import serving_static

    lunr = json.loads((live_site.root / "site/us/2026.11/search/search_index.json")
                      .read_text(encoding="utf-8"))
    assert lunr[site.LUNR_TITLES_KEY] is True
    assert {d["text"] for d in lunr["docs"]} == {""}
    titles = {d["location"]: d["title"] for d in lunr["docs"]}
    assert "submit-a-ticket/" not in titles and "" not in titles  # pages with search: false
    assert titles["partners/support-tickets/submit-a-ticket/"] == (
        "Submit a support ticket in the Partner Center")
    with serving_static(live_site.root / "site") as base:
        page.route("**/assets/helpgen/engine.js", lambda route: route.abort())
        page.goto(base + "/us/2026.11/")
        expect(page.locator("html")).to_have_attribute("data-helpgen-search", "static")
        box = page.locator("input.md-search__input")
        box.click()
        box.press_sequentially("submit", delay=30)
        page.wait_for_timeout(800)  # the engine's load fails: the box goes back to Material
        box.press_sequentially(" ticket", delay=30)
        first = page.locator(".md-search-result__item").first
        expect(first).to_contain_text("Submit a", timeout=15000)
        assert page.locator(".helpgen-search-snippet").count() == 0


def test_without_the_bundle_a_static_host_keeps_materials_search(page, tmp_path):
    """A site built with search.static_bundle off: Material's own (lunr) search answers
    on a static host, as before the bundle existed."""
    import json

    from helpgen import config, site
    from projectkit import copy_project, set_setting
    from static_host import serving_static

    root = set_setting(copy_project(tmp_path / "project"), "search", "static_bundle", False)
    site.build(config.load(root), "us", "2026.11", ["latest"], root / "site",
               index_dir=root / "search_index")
    assert not (root / "site" / "us" / "2026.11" / "search" / "bundle").exists()
    lunr = json.loads((root / "site/us/2026.11/search/search_index.json").read_text(
        encoding="utf-8"))  # Material's whole index: it is the search here
    assert site.LUNR_TITLES_KEY not in lunr
    assert any("response" in d["text"] for d in lunr["docs"])
    with serving_static(root / "site") as base:
        page.goto(base + "/us/2026.11/")
        box = page.locator("input.md-search__input")
        box.click()
        box.press_sequentially("ticket response", delay=30)
        results = page.locator(".md-search-result__item")
        expect(results.first).to_be_visible(timeout=15000)
        expect(page.locator(".md-search-result")).to_contain_text("response")
        assert page.locator("html").get_attribute("data-helpgen-search") is None
        assert page.locator(".helpgen-search-snippet").count() == 0


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
    expect(notice.locator(".admonition-title")).to_have_text("Noch nicht übersetzt")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_german_pages_title_and_vote_panel_speak_german(page, live_site, page_log):
    page.goto(live_site.url + "/de/2026.11/partners/support-tickets/track-your-tickets/")
    expect(page).to_have_title(re.compile(r" - Hilfe-Center Deutschland$"))
    vote = page.locator("article div.helpgen-helpful")
    expect(vote).to_contain_text("War das hilfreich?")  # deflect.js: the page's strings
    expect(vote.locator("button")).to_have_text(["Ja", "Nein"])
    vote.get_by_role("button", name="Ja").click()
    expect(vote).to_have_text("Vielen Dank für Ihr Feedback.")
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_missing_page_shows_the_markets_404_page_with_its_theme(page, live_site, page_log):
    response = page.goto(live_site.url + "/de/2026.11/no/such/page/")
    assert response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".md-header")).to_be_visible()
    expect(page.locator("h1").first).to_have_text("Seite nicht gefunden")
    page.wait_for_load_state("networkidle")
    assert page_log.remote() == [] and page_log.failed == []
    assert [s for s in page_log.bad_status if "/no/such/page/" not in s] == []
    assert len(page_log.errors) == 1 and "404" in page_log.errors[0]  # the page itself


def switch_market(page, name: str) -> None:
    page.locator(".md-header .md-select").hover()
    link = page.locator(".md-select__link", has_text=name)
    expect(link).to_be_visible()
    link.click()


def test_market_switch_keeps_the_article_when_the_other_market_has_it(page, live_site,
                                                                      page_log):
    page.goto(live_site.url + "/us/2026.11/partners/support-tickets/submit-a-ticket/")
    page.wait_for_load_state("networkidle")  # the selector has read the market sitemaps
    switch_market(page, "Germany")
    expect(page).to_have_url(re.compile(r"/de/2026\.11/partners/support-tickets/"
                                        r"submit-a-ticket/$"))
    expect(page.locator("article h1")).to_contain_text("Supportticket")
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_market_switch_goes_home_when_the_other_market_lacks_the_article(page, live_site,
                                                                        page_log):
    page.goto(live_site.url + "/us/2026.11/buyers/orders/us-sales-tax/")
    expect(page.locator("article h1")).to_contain_text("Sales tax")
    page.wait_for_load_state("networkidle")
    switch_market(page, "Germany")
    expect(page).to_have_url(re.compile(r"/de/2026\.11/$"))
    page.wait_for_load_state("networkidle")
    page_log.assert_clean()


def test_market_selector_lists_only_published_markets(page, live_site, page_log):
    page.goto(live_site.url + "/us/2026.11/")
    page.wait_for_load_state("networkidle")
    items = page.locator(".md-select__link[hreflang]")
    assert items.count() == 12  # built with every configured market ...
    visible = page.locator(".md-select__item:not([hidden]) .md-select__link[hreflang]")
    expect(visible).to_have_count(2)  # ... shown: the two that are published (us, de)
    hrefs = sorted(visible.nth(i).get_attribute("href") for i in range(2))
    assert [h.rstrip("/").split("/")[-1] for h in hrefs] == ["de", "us"]
    page_log.assert_clean()
