"""The navigation helpgen renders once per build (inactive items cached, the page's
active path rendered per page) as Material's JavaScript sees it in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ARTICLE = "/us/2026.11/partners/registration/create-your-account/"
PRIMARY = "nav.md-nav--primary"


def test_active_item_and_expanded_sections(page, live_site, page_log):
    page.goto(live_site.url + ARTICLE)
    nav = page.locator(PRIMARY)
    active = nav.locator("a.md-nav__link--active")
    expect(active).to_have_count(1)
    expect(active).to_contain_text("Create your Partner Center account")
    assert active.get_attribute("href") == "./"
    # every ancestor of the page is active and its toggle checked (expanded)
    ancestors = nav.locator("li.md-nav__item--active.md-nav__item--nested")
    assert ancestors.count() >= 2
    for i in range(ancestors.count()):
        expect(ancestors.nth(i).locator("> input.md-nav__toggle")).to_be_checked()
    expect(ancestors.last.locator("> nav.md-nav")).to_have_attribute("aria-expanded", "true")
    # an inactive topic elsewhere is a pruned link that leads to its first article
    other = nav.locator("li.md-nav__item--pruned > a.md-nav__link").first
    expect(other).to_be_visible()
    href = other.get_attribute("href")
    assert href.startswith("../../../"), href  # relative to this page, not to a cached one
    other.click()
    page.wait_for_load_state()
    expect(page.locator(f"{PRIMARY} a.md-nav__link--active")).to_have_count(1)
    expect(page.locator("article h1")).to_contain_text(
        page.locator(f"{PRIMARY} a.md-nav__link--active").inner_text().strip())
    page_log.assert_clean()


def test_every_navigation_link_resolves(page, live_site, page_log):
    page.goto(live_site.url + ARTICLE)
    hrefs = page.eval_on_selector_all(f"{PRIMARY} a.md-nav__link", "els => els.map(e => e.href)")
    assert len(hrefs) > 10
    for url in sorted(set(hrefs)):
        answer = page.request.get(url)
        assert answer.status == 200, url
    page_log.assert_clean()


def test_keyboard_collapses_and_expands_the_active_topic(page, live_site, page_log):
    page.goto(live_site.url + ARTICLE)
    nav = page.locator(PRIMARY)
    topic = nav.locator("li.md-nav__item--active.md-nav__item--nested").last
    label = topic.locator("> label.md-nav__link[tabindex='0']")
    toggle = topic.locator("> input.md-nav__toggle")
    expect(toggle).to_be_checked()
    label.focus()
    expect(label).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).not_to_be_checked()
    page.keyboard.press("Enter")
    expect(toggle).to_be_checked()
    page_log.assert_clean()


def test_mobile_drawer_opens_on_the_active_item(page, live_site, page_log):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(live_site.url + ARTICLE)
    drawer = page.locator("#__drawer")
    expect(drawer).not_to_be_checked()
    page.locator("label.md-header__button[for='__drawer']").click()
    expect(drawer).to_be_checked()
    # on a narrow screen Material shows the page's item as the toggle of its contents
    active = page.locator(f"{PRIMARY} label.md-nav__link--active[for='__toc']")
    expect(active).to_be_in_viewport()
    expect(active).to_contain_text("Create your Partner Center account")
    # the drawer's back title of the active topic leads up one level
    topic = page.locator(f"{PRIMARY} li.md-nav__item--active.md-nav__item--nested").last
    topic.locator("> nav > label.md-nav__title").click()
    expect(topic.locator("> input.md-nav__toggle")).not_to_be_checked()
    page_log.assert_clean()
