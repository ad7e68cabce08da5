"""The hand-off from the "Submit a ticket" page to a configured ticket form, in Chromium
against the real server: the form opens with the draft filled in (never the draft id),
and a draft that got nothing is recorded once as no_suggestion, without its text."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from serverkit import copy_project, running

pytestmark = pytest.mark.browser

TICKET_PAGE = "/us/2026.11/submit-a-ticket/"
FORM_URL = "https://partner.example/hc/requests/new?ticket_form_id=42"
SUBJECT = "VAT invoice for cross-border payout fees"
DESCRIPTION = "My order 4711-2231 needs it, mail me at jo@example.com please"


class Site:
    def __init__(self, url: str, events_db: Path) -> None:
        self.url, self.events_db = url, events_db

    def no_suggestions(self, wait: float = 5.0) -> list[tuple]:
        deadline = time.monotonic() + wait
        while True:
            with sqlite3.connect(self.events_db) as db:
                rows = db.execute("SELECT draft_id, category, query FROM events "
                                  "WHERE type = 'no_suggestion' ORDER BY id").fetchall()
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)


@pytest.fixture(scope="module")
def handoff_site(tmp_path_factory) -> Iterator[Site]:
    from helpgen import config, server, site

    root = copy_project(tmp_path_factory.mktemp("handoff") / "project")
    cfg_file = root / "helpgen.yml"
    text = cfg_file.read_text(encoding="utf-8")
    cfg_file.write_text(text.replace("\ndeflection:\n", "\ndeflection:\n  ticket_forms:\n"
                                     f"    partners: {{url: '{FORM_URL}'}}\n", 1),
                        encoding="utf-8")
    cfg = config.load(root)
    site.build(cfg, "us", "2026.11", ["latest"], root / "site", index_dir=root / "search_index")
    app = server.make_app(cfg, root / "site", root / "search_index", root / "events.sqlite3",
                          settings=server.ServerSettings(rate_limit_per_minute=0))
    with running(app) as url:
        yield Site(url, root / "events.sqlite3")
    app.close()


@pytest.fixture
def fresh_events(handoff_site):
    if handoff_site.events_db.exists():
        with sqlite3.connect(handoff_site.events_db) as db:
            db.execute("DELETE FROM events")
    return handoff_site


def the_partner_form(page) -> list[str]:
    """The partner site is not ours: its form is answered here and its URLs kept."""
    opened: list[str] = []

    def answer(route):
        opened.append(route.request.url)
        route.fulfill(status=200, content_type="text/html",
                      body="<!DOCTYPE html><title>New ticket</title><h1>New ticket</h1>")
    page.route("https://partner.example/**", answer)
    return opened


def type_unanswerable_draft(page, site, description: str = DESCRIPTION) -> None:
    page.goto(site.url + TICKET_PAGE)
    with page.expect_response(re.compile(r"/api/suggest$")):
        page.locator("#helpgen-subject").fill(SUBJECT)
        page.locator("#helpgen-description").fill(description)
    expect(page.locator(".helpgen-suggestions__empty")).to_be_visible(timeout=10000)
    page.wait_for_load_state("networkidle")


def test_still_need_help_opens_the_form_with_the_draft_and_records_no_suggestion(
        page, fresh_events):
    site = fresh_events
    opened = the_partner_form(page)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    type_unanswerable_draft(page, site)
    page.get_by_role("button", name="I still need help").click()
    link = page.locator('.helpgen-handoff[data-audience="partners"]')
    expect(link).to_be_focused()
    expect(link).to_have_text("Open the ticket form with what you typed")
    link.click()
    page.wait_for_url(re.compile(r"^https://partner\.example/"))
    assert len(opened) == 1
    query = parse_qs(urlsplit(opened[0]).query)
    assert query == {"ticket_form_id": ["42"], "tf_subject": [SUBJECT],
                     "tf_description": [DESCRIPTION]}

    rows = site.no_suggestions()
    assert len(rows) == 1, rows
    draft_id, category, terms = rows[0]
    assert draft_id and draft_id not in opened[0]
    assert category is None
    assert terms.split()[:4] == ["vat", "invoice", "for", "cross"]
    for secret in ("4711", "2231", "jo@example.com", "example"):
        assert secret not in terms, terms
    assert errors == []


def test_leaving_the_page_records_the_last_state_once(page, fresh_events):
    site = fresh_events
    type_unanswerable_draft(page, site)
    page.select_option("#helpgen-category", "support-channel")
    page.locator("#helpgen-subject").fill(SUBJECT + " quarterly")
    with page.expect_response(re.compile(r"/api/suggest$")):
        page.locator("#helpgen-subject").press("End")
        page.locator("#helpgen-subject").type(" statement")
    expect(page.locator(".helpgen-suggestions__empty")).to_be_visible(timeout=10000)
    page.wait_for_load_state("networkidle")
    page.goto(site.url + "/us/2026.11/")
    rows = site.no_suggestions()
    time.sleep(0.5)  # a second beacon would have arrived by now
    rows = site.no_suggestions()
    assert len(rows) == 1, rows
    assert rows[0][1] == "support-channel"
    assert "quarterly" in rows[0][2] and "statement" in rows[0][2]


def test_a_long_description_is_cut_to_fit_the_url(page, fresh_events):
    site = fresh_events
    opened = the_partner_form(page)
    long_text = "Die Rechnung fehlt seit Wochen und niemand antwortet. " * 80
    type_unanswerable_draft(page, site, long_text)
    href = page.locator('.helpgen-handoff[data-audience="partners"]').get_attribute("href")
    assert 1900 < len(href) <= 2000
    page.locator('.helpgen-handoff[data-audience="partners"]').click()
    page.wait_for_url(re.compile(r"^https://partner\.example/"))
    description = parse_qs(urlsplit(opened[0]).query)["tf_description"][0]
    assert description.endswith("…")
    assert long_text.startswith(description[:-1].rstrip())


def test_a_draft_that_got_suggestions_is_not_recorded_as_no_suggestion(page, fresh_events):
    site = fresh_events
    the_partner_form(page)
    page.goto(site.url + TICKET_PAGE)
    page.locator("#helpgen-subject").fill("where do I open a support ticket")
    expect(page.locator(".helpgen-suggestion").first).to_be_visible(timeout=10000)
    page.wait_for_load_state("networkidle")
    page.locator('.helpgen-handoff[data-audience="partners"]').click()
    page.wait_for_url(re.compile(r"^https://partner\.example/"))
    assert site.no_suggestions(wait=1.0) == []
