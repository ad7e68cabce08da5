"""The "Submit a ticket" page and the article vote in Chromium against the real server:
live suggestions while typing, keyboard use, and events that `helpgen report` counts."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from helpgen import cli

pytestmark = pytest.mark.browser

TICKET_PAGE = "/us/2026.11/submit-a-ticket/"


def report(live_site, capsys) -> dict:
    capsys.readouterr()
    assert cli.main(["--project", str(live_site.root), "report", "--format", "json",
                     "--events-db", str(live_site.events_db)]) == 0
    return json.loads(capsys.readouterr().out)


def test_ticket_page_suggests_while_typing_and_counts_the_answer(page, live_site, page_log,
                                                                 media_dir, capsys):
    before = report(live_site, capsys)
    page.goto(live_site.url + TICKET_PAGE)
    panel = page.locator("#helpgen-suggestions")
    expect(panel).to_be_hidden()
    expect(panel).to_have_attribute("aria-live", "polite")
    page.select_option("#helpgen-category", "ticket-submission")
    with page.expect_response(re.compile(r"/api/suggest$")) as answer:
        page.locator("#helpgen-subject").press_sequentially("where do I open a support tikcet",
                                                            delay=20)
    assert answer.value.status == 200
    page.locator("#helpgen-description").press_sequentially(
        "I need to contact the support team from the Partner Center console", delay=5)
    items = page.locator(".helpgen-suggestion")
    expect(items.first).to_be_visible(timeout=10000)
    expect(page.locator('.helpgen-suggestion[data-id="submit-a-ticket"]')).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.screenshot(path=str(media_dir / "suggestions.png"))
    page.wait_for_load_state("networkidle")

    # keyboard only: tab from the description to the first suggestion's buttons
    solved = page.locator('.helpgen-suggestion[data-id="submit-a-ticket"] .helpgen-solved')
    page.locator("#helpgen-description").focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        if solved.evaluate("b => b === document.activeElement"):
            break
    assert solved.evaluate("b => b === document.activeElement"), "not reachable by Tab"
    with page.expect_response(re.compile(r"/api/events$")) as recorded:
        page.keyboard.press("Enter")
    assert recorded.value.status == 204
    expect(page.locator(".helpgen-suggestions__title")).to_contain_text("Glad that helped")
    page_log.assert_clean()

    after = report(live_site, capsys)
    assert after["drafts_solved"] == before["drafts_solved"] + 1
    assert after["by_type"].get("suggestion_shown", 0) > before["by_type"].get(
        "suggestion_shown", 0)
    assert any(row["article_id"] == "submit-a-ticket" for row in after["top_deflecting"])


def test_suggestions_arriving_while_a_keyboard_user_is_in_the_list_keep_the_focus(
        page, live_site, page_log):
    page.goto(live_site.url + TICKET_PAGE)
    page.select_option("#helpgen-category", "ticket-submission")
    with page.expect_response(re.compile(r"/api/suggest$")):
        page.locator("#helpgen-subject").press_sequentially("where do I open a support ticket",
                                                            delay=10)
    solved = page.locator('.helpgen-suggestion[data-id="submit-a-ticket"] .helpgen-solved')
    expect(solved).to_be_visible(timeout=10000)
    solved.focus()
    # the draft changes behind the focused button (another field, as a slow answer would):
    # the answer that follows must not rebuild the list out from under the focus
    with page.expect_response(re.compile(r"/api/suggest$")) as answer:
        page.evaluate("""() => {
            const d = document.querySelector('#helpgen-description');
            d.value = 'from the Partner Center console';
            d.dispatchEvent(new Event('input', {bubbles: true}));
        }""")
    assert answer.value.status == 200
    page.wait_for_timeout(300)  # the answer is rendered after the response resolves
    assert solved.evaluate("b => b === document.activeElement"), "focus lost"
    page_log.assert_clean()


def test_ticket_page_shows_nothing_for_an_unanswerable_draft(page, live_site, page_log):
    page.goto(live_site.url + TICKET_PAGE)
    with page.expect_response(re.compile(r"/api/suggest$")) as answer:
        page.locator("#helpgen-subject").press_sequentially(
            "VAT invoice for cross-border payout fees", delay=10)
    assert answer.value.status == 200
    expect(page.locator(".helpgen-suggestions__empty")).to_be_visible(timeout=10000)
    expect(page.locator(".helpgen-suggestion")).to_have_count(0)
    page_log.assert_clean()


def test_was_this_helpful_vote_is_recorded(page, live_site, page_log, capsys):
    before = report(live_site, capsys)
    page.goto(live_site.url + "/us/2026.11/partners/support-tickets/response-times/")
    yes = page.locator(".helpgen-helpful .helpgen-helpful")
    expect(yes).to_be_visible(timeout=10000)
    with page.expect_response(re.compile(r"/api/events$")) as recorded:
        yes.click()
    assert recorded.value.status == 204
    body = json.loads(recorded.value.request.post_data)
    assert (body["article_id"], body["market"], body["version"]) == (
        "ticket-response-times", "us", "2026.11")
    # the page names its article: no list of every article is fetched for the vote
    assert not any(u.endswith("/suggest/index.json") for u in page_log.requests)
    page_log.assert_clean()
    after = report(live_site, capsys)
    assert after["by_type"].get("helpful", 0) == before["by_type"].get("helpful", 0) + 1
