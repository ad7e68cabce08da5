"""The drop-in widget on ticket forms of other sites, in Chromium: the real server on
one loopback port, the host pages on others (other origins), each page under the
Content-Security-Policy manual/widget.md tells host pages to send. Also a form in the
style of Zendesk's Copenhagen theme, reading helpgen's Zendesk-shaped endpoint."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import expect

from serverkit import copy_project, running
from static_host import Quiet, serving_static

pytestmark = pytest.mark.browser

WIDGET = "/widget/v1/helpgen-widget.js"
ANSWERABLE = "where do I open a support ticket"
UNANSWERABLE = "VAT invoice for cross-border payout fees"

FORM_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' {api};
 connect-src 'self' {api}; style-src 'self'; img-src 'self'; form-action 'self'">
<title>Partner console · new ticket</title>
<script src="{api}{widget}" defer data-helpgen-url="{api}" data-market="{market}"
 data-subject="#ticket_subject" data-description="#ticket_body" data-category="#ticket_kind">
</script>
</head><body>
<h1>New ticket</h1>
<form id="new-ticket" action="sent.html" method="get">
  <label for="ticket_kind">Kind</label>
  <select id="ticket_kind" name="kind"><option value="">-</option>
    <option value="Login">Login</option><option value="Payout">Payout</option></select>
  <label for="ticket_subject">Subject</label>
  <input id="ticket_subject" name="subject">
  <label for="ticket_body">Description</label>
  <textarea id="ticket_body" name="body"></textarea>
  <button id="send" type="submit">Send</button>
</form>
</body></html>
"""

# A self-hosted copy of a Copenhagen-style request form: its own script (no inline
# code) debounces the subject 500 ms and reads {"results": [{id, title, html_url,
# snippet}]} from the deflection endpoint, as SuggestedArticles.tsx does.
COPENHAGEN_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self';
 connect-src 'self' {api}">
<title>Submit a request</title>
<script src="copenhagen.js" defer data-api="{api}"></script>
</head><body>
<form id="new_request"><label for="request_subject">Subject</label>
<input id="request_subject" name="request[subject]">
<div class="suggestion-list" aria-live="polite"></div></form>
</body></html>
"""
COPENHAGEN_JS = """(function () {
  var api = document.currentScript.dataset.api;
  function start() {
    var subject = document.getElementById("request_subject");
    var list = document.querySelector(".suggestion-list");
    var timer = null;
    subject.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = api + "/api/v2/help_center/deflection/suggestions.json?locale=" +
          encodeURIComponent(document.documentElement.lang.toLowerCase()) + "&query=" +
          encodeURIComponent(subject.value);
        fetch(url).then(function (r) { return r.json(); }).then(function (data) {
          list.textContent = "";
          data.results.forEach(function (a) {
            var li = document.createElement("li");
            var link = document.createElement("a");
            link.href = a.html_url;
            link.textContent = a.title;
            link.dataset.id = a.id;
            var p = document.createElement("p");
            p.textContent = a.snippet;
            li.appendChild(link);
            li.appendChild(p);
            list.appendChild(li);
          });
        });
      }, 500);
    });
  }
  document.addEventListener("DOMContentLoaded", start);
})();
"""


class _OpenToAll(Quiet):
    """A static host that lets every origin read its files (as GitHub Pages does)."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()


class Sites:
    def __init__(self, api: str, allowed: str, refused: str, static: str,
                 events_db: Path) -> None:
        self.api, self.allowed, self.refused, self.events_db = api, allowed, refused, events_db
        self.static = static  # the built site on a plain static host

    def events(self, kind: str, wait: float = 5.0, at_least: int = 1) -> list[tuple]:
        deadline = time.monotonic() + wait
        while True:
            rows = []
            if self.events_db.exists():
                with sqlite3.connect(self.events_db) as db:
                    rows = db.execute("SELECT market, article_id, draft_id, category, query "
                                      "FROM events WHERE type = ? ORDER BY id",
                                      (kind,)).fetchall()
            if len(rows) >= at_least or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[Sites]:
    from helpgen import config, server, site

    root = copy_project(tmp_path_factory.mktemp("widget") / "project")
    cfg = config.load(root)
    site.build_all(cfg, "2026.11", ["latest"], root / "site", jobs=2, markets=["us", "de"],
                   index_dir=root / "search_index")
    pages = tmp_path_factory.mktemp("host")
    with serving_static(pages) as allowed, serving_static(pages) as refused, \
            serving_static(root / "site", _OpenToAll) as static:
        settings = server.ServerSettings(rate_limit_per_minute=0, cors_origins=(allowed,))
        app = server.make_app(cfg, root / "site", root / "search_index",
                              root / "events.sqlite3", settings=settings)
        with running(app) as api:
            for market in ("us", "de"):
                (pages / f"form-{market}.html").write_text(
                    FORM_PAGE.format(api=api, widget=WIDGET, market=market), encoding="utf-8")
            (pages / "form-static.html").write_text(
                FORM_PAGE.format(api=static, widget=WIDGET, market="us")
                .replace(f' data-helpgen-url="{static}"', ""), encoding="utf-8")
            (pages / "sent.html").write_text("<!DOCTYPE html><title>Sent</title><p>Sent",
                                             encoding="utf-8")
            (pages / "copenhagen.html").write_text(COPENHAGEN_PAGE.format(api=api),
                                                   encoding="utf-8")
            (pages / "copenhagen.js").write_text(COPENHAGEN_JS, encoding="utf-8")
            (pages / "favicon.ico").write_bytes(b"")  # asked for by every page
            yield Sites(api, allowed, refused, static, root / "events.sqlite3")
        app.close()


@pytest.fixture
def fresh(sites) -> Sites:
    if sites.events_db.exists():
        with sqlite3.connect(sites.events_db) as db:
            db.execute("DELETE FROM events")
    return sites


@pytest.fixture
def console(page) -> list[str]:
    """Console messages, page errors and CSP violations of the page."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: seen.append(f"pageerror: {e}"))
    return seen


def widget_messages(console: list[str]) -> list[str]:
    return [m for m in console if "helpgen widget" in m]


def test_widget_on_another_origin_suggests_help_center_articles_and_records_events(
        page, fresh, console):
    sites = fresh
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/api/suggest") else None)
    page.goto(sites.allowed + "/form-us.html")
    region = page.locator(".helpgen-widget[aria-live=polite]")
    expect(region).to_have_count(1)
    expect(page.locator(".helpgen-suggestions")).to_be_hidden()
    with page.expect_response(re.compile(r"/api/suggest$")) as answer:
        page.locator("#ticket_subject").press_sequentially(ANSWERABLE, delay=15)
    assert answer.value.status == 200
    assert answer.value.request.all_headers()["origin"] == sites.allowed
    items = region.locator(".helpgen-suggestion")
    expect(items.first).to_be_visible(timeout=10000)
    expect(region).to_contain_text("These articles may answer your question")
    expect(region.locator('.helpgen-suggestion[data-id="submit-a-ticket"]')).to_be_visible()
    hrefs = region.locator(".helpgen-suggestion a").evaluate_all("as => as.map(a => a.href)")
    assert hrefs and all(h.startswith(sites.api + "/us/2026.11/") for h in hrefs), hrefs
    assert all(p for p in region.locator(".helpgen-suggestion p").all_inner_texts())
    assert len(asked) == 1, asked  # 32 keystrokes 15 ms apart: one request (debounced)

    shown = sites.events("suggestion_shown")
    assert {r[0] for r in shown} == {"us"}
    assert "submit-a-ticket" in {r[1] for r in shown}

    # keyboard: Tab from the description reaches the first suggestion's link next
    page.locator("#ticket_body").focus()
    page.keyboard.press("Tab")
    first = items.first.locator("a")
    expect(first).to_be_focused()
    first_id = items.first.get_attribute("data-id")
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    opened.value.wait_for_load_state()
    assert opened.value.url.startswith(sites.api + "/us/2026.11/")
    clicked = sites.events("article_opened")
    assert [r[1] for r in clicked] == [first_id]
    assert sites.events("no_suggestion", wait=0.5) == []
    assert widget_messages(console) == []
    assert not [m for m in console if m.startswith(("error", "pageerror"))], console


def test_widget_updates_the_live_region_and_reports_a_draft_that_got_nothing_once(
        page, fresh, console):
    sites = fresh
    page.goto(sites.allowed + "/form-us.html")
    page.select_option("#ticket_kind", "Payout")
    with page.expect_response(re.compile(r"/api/suggest$")):
        page.locator("#ticket_subject").fill(UNANSWERABLE)
    region = page.locator(".helpgen-widget[aria-live=polite]")
    expect(region.locator(".helpgen-suggestions__empty")).to_be_visible(timeout=10000)
    expect(region).to_contain_text("No article matches yet")
    expect(region.locator(".helpgen-suggestion")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    page.locator("#send").click()
    page.wait_for_url(re.compile(r"/sent\.html"))
    rows = sites.events("no_suggestion")
    time.sleep(0.5)  # a second report would have arrived by now
    rows = sites.events("no_suggestion")
    assert len(rows) == 1, rows
    market, _, draft_id, category, terms = rows[0]
    assert market == "us" and draft_id
    assert category == "payout"
    assert terms.split()[:2] == ["vat", "invoice"]
    assert widget_messages(console) == []


def test_widget_speaks_the_language_of_its_market(page, fresh):
    page.goto(fresh.allowed + "/form-de.html")
    with page.expect_response(re.compile(r"/api/suggest$")) as answer:
        page.locator("#ticket_subject").fill("Wo eröffne ich ein Support-Ticket")
    assert answer.value.request.post_data_json["market"] == "de"
    region = page.locator(".helpgen-widget")
    expect(region.locator(".helpgen-suggestions")).to_be_visible(timeout=10000)
    expect(region).to_contain_text("Diese Artikel beantworten vielleicht Ihre Frage")
    hrefs = region.locator(".helpgen-suggestion a").evaluate_all("as => as.map(a => a.href)")
    assert all(h.startswith(fresh.api + "/de/2026.11/") for h in hrefs), hrefs


def test_widget_on_an_origin_the_server_refuses_says_so_once_and_shows_nothing(
        page, fresh, console):
    sites = fresh
    page.goto(sites.refused + "/form-us.html")
    page.wait_for_load_state("networkidle")
    page.locator("#ticket_subject").fill(ANSWERABLE)
    page.wait_for_timeout(800)  # past the debounce: nothing may be asked or shown
    expect(page.locator(".helpgen-widget")).to_have_count(0)
    expect(page.locator(".helpgen-suggestion")).to_have_count(0)
    messages = widget_messages(console)
    assert messages == [f"error: helpgen widget: origin {sites.refused} is not in "
                        f"server.cors_origins of {sites.api}; add it there (a static host "
                        "must send Access-Control-Allow-Origin) to show suggestions on "
                        "this page"], console
    assert sites.events("suggestion_shown", wait=0.3) == []


def test_copenhagen_style_form_on_another_origin_shows_suggestions(page, sites, console):
    page.goto(sites.allowed + "/copenhagen.html")
    with page.expect_response(re.compile(r"suggestions\.json\?")) as answer:
        page.locator("#request_subject").fill(ANSWERABLE)
    assert answer.value.status == 200
    assert "locale=en-us" in answer.value.url
    links = page.locator(".suggestion-list a")
    expect(links.first).to_be_visible(timeout=10000)
    ids = links.evaluate_all("as => as.map(a => a.dataset.id)")
    assert "submit-a-ticket" in ids
    hrefs = links.evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert all(h.startswith("/us/2026.11/") or h.startswith(sites.api) for h in hrefs)
    assert all(t for t in page.locator(".suggestion-list p").all_inner_texts())
    assert not [m for m in console if m.startswith(("error", "pageerror"))], console


def test_widget_from_a_static_host_suggests_from_the_builds_search_bundle(page, fresh, console):
    """No API: the script's own address is the site (no data-helpgen-url), the static
    host lets the origin read, and the model runs in the page over the search bundle
    of the version the alias names (the help center's own scripts and files)."""
    sites = fresh
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(sites.allowed + "/form-static.html")
    with page.expect_response(re.compile(r"/search/bundle/manifest\.json$")) as manifest:
        page.locator("#ticket_subject").fill("submit a support ticket in the partner center")
    assert manifest.value.url.startswith(sites.static + "/us/2026.11/")
    region = page.locator(".helpgen-widget[aria-live=polite]")
    expect(region.locator(".helpgen-suggestion").first).to_be_visible(timeout=10000)
    hrefs = region.locator(".helpgen-suggestion a").evaluate_all("as => as.map(a => a.href)")
    assert all(h.startswith(sites.static + "/us/2026.11/") for h in hrefs), hrefs
    assert any(u.endswith("/assets/helpgen/suggest.js") for u in asked)
    assert not any(u.endswith("/suggest/index.json") for u in asked)  # not the old fallback
    assert widget_messages(console) == []
    assert sites.events("suggestion_shown", wait=0.3) == []  # a static host records nothing
