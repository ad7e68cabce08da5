"""Hostile content in a real Chromium: a script in a title, a summary or an article body
runs nowhere, on a plain static host (no CSP there: the build's refusal is the only
protection) and under ``helpgen serve`` (whose CSP adds a second one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import expect

from projectkit import copy_project, write_article
from serverkit import running
from static_host import serving_static

pytestmark = pytest.mark.browser

# Every payload sets window.pwned (or opens a dialog) if it ever runs.
TITLE = '<img src=x onerror="window.pwned=\'title\'"><script>window.pwned="title2"</script>'
SUMMARY = '"><script>window.pwned="summary"</script><svg onload="window.pwned=\'svg\'">'
BODY = """# Hostile article

<script>window.pwned = "body"</script>

Inline <img src="missing.png" onerror="window.pwned='img'"> and
<b onmouseover="window.pwned='hover'">bold</b>.

[click me](javascript:window.pwned='link') and <a href="JaVa&#115;cript:alert(1)">entity</a>

Paragraph with attributes
{: onclick="window.pwned='attr'" }

<iframe srcdoc="<script>parent.pwned='srcdoc'</script>"></iframe>

<details open ontoggle="window.pwned='toggle'"><summary>More</summary>Text</details>

<form action="javascript:window.pwned='form'"><button id="go">Go</button></form>
"""


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Iterator[Path]:
    from helpgen import config, site

    root = copy_project(tmp_path_factory.mktemp("hostile") / "project")
    write_article(root, "buyers/orders/hostile.md", f"""
id: hostile
title: {json.dumps(TITLE)}
summary: {json.dumps(SUMMARY)}
audience: buyers
topic: orders
last_reviewed: 2026-11-25
""", BODY)
    # exists (the build checks images) but does not decode: an onerror would fire
    (root / "docs/buyers/orders/missing.png").write_bytes(b"not a png")
    site.build(config.load(root), "us", "2026.11", ["latest"], root / "site",
               index_dir=root / "search_index")
    yield root


def visit_every_page(page, base: str, version_dir: Path) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ran = []
    pages = sorted(p for p in version_dir.rglob("index.html") if "/a/" not in p.as_posix())
    assert len(pages) > 15
    for html in pages:
        rel = html.parent.relative_to(version_dir).as_posix()
        page.goto(f"{base}/us/2026.11/{'' if rel == '.' else rel + '/'}")
        page.wait_for_load_state("load")
        if page.locator("#go").count():
            page.click("#go")  # submitting the hostile form must not run its action
        page.mouse.move(200, 300)
        if page.evaluate("window.pwned") is not None:
            ran.append(f"{rel}: {page.evaluate('window.pwned')}")
    return ran + dialogs


def test_hostile_content_runs_nothing_on_a_plain_static_host(page, hostile_site):
    with serving_static(hostile_site / "site") as url:
        assert visit_every_page(page, url, hostile_site / "site/us/2026.11") == []
        page.goto(f"{url}/us/2026.11/buyers/orders/hostile/")
        heading = page.locator("article h1").first.inner_text()
        assert heading.startswith("Hostile article")
        assert "<script>" in page.title()  # the title is shown as text


def test_hostile_content_in_static_search_results_runs_nothing(page, hostile_site):
    """The static engine shows the hostile article's title and snippet as text: the
    bundle holds the article's words, and the result list gets escaped text only."""
    with serving_static(hostile_site / "site") as url:
        page.goto(f"{url}/us/2026.11/")
        expect(page.locator("html")).to_have_attribute("data-helpgen-search", "static")
        box = page.locator("input.md-search__input")
        box.click()
        for query in ("hostile article", "pwned onerror script", "paragraph attributes"):
            box.fill("")
            box.press_sequentially(query, delay=20)
            expect(page.locator(".md-search-result__list")).to_have_attribute(
                "data-query", query, timeout=15000)
            items = page.locator(".md-search-result__item")
            expect(items.first).to_be_visible()
            page.mouse.move(300, 300)
            assert page.evaluate("window.pwned") is None, query
        found = page.locator(".md-search-result__item", has_text="Hostile article")
        assert found.count() or page.locator(".md-search-result__item h1",
                                             has_text="<img").count()
        # the snippet holds <mark> elements and text, nothing else
        tags = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.helpgen-search-snippet *')).map(e => e.tagName)""")
        assert set(tags) <= {"MARK"}, tags


def test_hostile_content_runs_nothing_under_helpgen_serve(page, hostile_site):
    from helpgen import config, server

    app = server.make_app(config.load(hostile_site), hostile_site / "site",
                          hostile_site / "search_index",
                          settings=server.ServerSettings(rate_limit_per_minute=0))
    with running(app) as url:
        assert visit_every_page(page, url.rstrip("/"), hostile_site / "site/us/2026.11") == []
    app.close()
