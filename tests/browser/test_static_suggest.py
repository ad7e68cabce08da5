"""Ticket suggestions on a plain static host: suggest.js (the port of
deflect.suggest_with over the static search bundle) against Python's suggest_with, in a
real Chromium, on the real project built for every market evals/tickets.yml uses and
served by Python's http.server (no helpgen server)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect

from projectkit import copy_project
from static_host import serving_static

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
VERSION = "2026.11"
LIMIT = 3

RUN_DRAFTS = """async (items) => {
  const engine = await window.helpgenStaticEngine();
  if (!window.helpgenSuggest) {
    const src = document.querySelector("meta[name=helpgen-search-bundle]").dataset.suggest;
    await new Promise((resolve, reject) => {
      const el = document.createElement("script");
      el.src = src; el.onload = resolve; el.onerror = reject;
      document.head.appendChild(el);
    });
  }
  const out = [];
  for (const it of items) {
    try {
      const r = await window.helpgenSuggest.suggest(engine, it, {limit: %d});
      out.push({ids: r.results.map(s => s.id), gate: r.draft_confidence,
                candidates: r.candidates.map(s => s.id),
                features: r.candidates.length ? r.candidates[0].features : null,
                snippets: r.results.map(s => s.snippet),
                confidences: r.results.map(s => s.confidence)});
    } catch (err) {
      out.push({error: String(err && err.stack || err)});
    }
  }
  return out;
}""" % LIMIT


@pytest.fixture(scope="module")
def ticket_site(tmp_path_factory):
    from helpgen import config, deflect, evaluate, site

    root = copy_project(tmp_path_factory.mktemp("static-suggest") / "project")
    cfg = config.load(root)
    drafts = evaluate.load(cfg, REPO / "evals" / "tickets.yml")
    markets = sorted({d.market for d in drafts})
    site.build_all(cfg, VERSION, ["latest"], root / "site", jobs=2, markets=markets,
                   index_dir=root / "search_index")
    with serving_static(root / "site") as url:
        yield root, url, drafts, deflect.load_model(cfg)


_WORD_LISTS: dict = {}


def _shared_word_lists(languages) -> dict:
    """search._load_dictionaries, loaded once per language for the whole module (each
    Searcher would read pyspellchecker's lists again: seconds per market)."""
    from helpgen import search

    out = {}
    for lang in languages:
        if lang not in _WORD_LISTS:
            _WORD_LISTS[lang] = search._load_dictionaries([lang]).get(lang)
        if _WORD_LISTS[lang] is not None:
            out[lang] = _WORD_LISTS[lang]
    return out


def python_answers(root: Path, market: str, drafts: list, model) -> list[dict]:
    from helpgen import deflect
    from helpgen.search import Searcher

    out = []
    with Searcher(root / "search_index", market) as s:
        s._dictionaries = _shared_word_lists(s.languages)
        for d in drafts:
            r = deflect.suggest_with(s, d.ticket, LIMIT, model=model)
            out.append({"ids": [x.id for x in r.suggestions], "gate": r.draft_confidence,
                        "candidates": [x.id for x in r.candidates],
                        "features": list(r.candidates[0].features) if r.candidates else None,
                        "snippets": [x.snippet for x in r.suggestions]})
    return out


def open_page(page, address: str) -> None:
    page.goto(address)
    page.wait_for_function("typeof window.helpgenStaticEngine === 'function'")


def draft_item(d) -> dict:
    t = d.ticket
    return {"subject": t.subject, "title": t.title, "description": t.description,
            "category": t.category, "audience": t.audience}


def test_static_suggestions_are_the_servers_for_the_evaluation_drafts(page, ticket_site):
    root, url, drafts, model = ticket_site
    by_market: dict[str, list] = {}
    for d in drafts:
        by_market.setdefault(d.market, []).append(d)
    rows = []
    # Python answers in a thread while Chromium answers (each takes about a minute)
    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs = {market: pool.submit(python_answers, root, market, ds, model)
                  for market, ds in sorted(by_market.items())}
        for market, ds in sorted(by_market.items()):
            open_page(page, f"{url}/{market}/{VERSION}/")
            mine = page.evaluate(RUN_DRAFTS, [draft_item(d) for d in ds])
            rows += list(zip(ds, mine, theirs[market].result()))
    errors = [(d.id, m["error"]) for d, m, _ in rows if "error" in m]
    assert errors == [], errors[:3]

    differ = [(d.market, d.id, m["ids"], t["ids"], round(m["gate"], 4), round(t["gate"], 4))
              for d, m, t in rows if m["ids"] != t["ids"]]
    same = 1 - len(differ) / len(rows)
    print(f"\nidentical suggestions: {same:.3f} of {len(rows)} drafts")
    for row in differ:
        print("  differs:", row)
    features = [(d.id, [round(a - b, 6) for a, b in zip(m["features"], t["features"])])
                for d, m, t in rows if m["features"] and t["features"]
                and any(abs(a - b) > 1e-9 for a, b in zip(m["features"], t["features"]))]
    print(f"first candidate's features differ for {len(features)} drafts")
    for row in features:
        print("  features:", row)
    order = [(d.id, m["candidates"], t["candidates"]) for d, m, t in rows
             if m["candidates"] != t["candidates"]]
    print(f"candidate lists differ for {len(order)} drafts")
    assert same >= 0.95, differ

    empty_mine = sum(1 for _, m, _ in rows if not m["ids"]) / len(rows)
    empty_theirs = sum(1 for _, _, t in rows if not t["ids"]) / len(rows)
    print(f"drafts shown nothing: static {empty_mine:.3f}, server {empty_theirs:.3f}")
    assert abs(empty_mine - empty_theirs) <= 0.05
    snippets = [(d.id, a, b) for d, m, t in rows if m["ids"] == t["ids"]
                for a, b in zip(m["snippets"], t["snippets"]) if a != b]
    assert snippets == [], snippets[:3]


def test_ticket_page_on_a_static_host_suggests_from_the_bundle(page, ticket_site):
    """Typed into the Submit-a-ticket page of a plain static host: the port's answer
    (the bundle's files are read, no request to /api/suggest succeeds), with links to
    the articles of the page's version."""
    root, url, _, _ = ticket_site
    requests: list[str] = []
    answers: dict[str, int] = {}
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: answers.__setitem__(r.url, r.status))
    page.goto(f"{url}/us/{VERSION}/submit-a-ticket/")
    page.select_option("#helpgen-category", "ticket-submission")
    page.locator("#helpgen-subject").press_sequentially("where do I open a support tikcet",
                                                        delay=20)
    item = page.locator('.helpgen-suggestion[data-id="submit-a-ticket"]')
    expect(item).to_be_visible(timeout=15000)
    href = item.locator("a").get_attribute("href")
    assert href.startswith(f"{url}/us/{VERSION}/") and href.endswith("/submit-a-ticket/"), href
    suggest_calls = [u for u in requests if u.endswith("/api/suggest")]
    assert suggest_calls and all(answers.get(u, 0) >= 400 for u in suggest_calls)
    assert any(u.endswith("/assets/helpgen/suggest.js") for u in requests)
    assert any("/search/bundle/" in u for u in requests)
    assert not any("/assets/helpgen/suggest/" in u for u in requests)  # no per-category JSON
    assert all(u.startswith(url) for u in requests)
    # the panel still says nothing was found for a draft nothing answers
    page.locator("#helpgen-subject").fill("")
    page.select_option("#helpgen-category", "")
    page.locator("#helpgen-subject").press_sequentially("qwzx vbnm plkj", delay=10)
    expect(page.locator(".helpgen-suggestions__empty")).to_be_visible(timeout=15000)


def test_fetches_per_draft(page, ticket_site):
    """What a draft costs a fresh page (no file cached yet): bundle files and bytes."""
    root, url, drafts, _ = ticket_site
    sample = [d for d in drafts if d.market in ("us", "de", "jp")][::20][:8]
    counts, sizes = [], []
    for d in sample:
        open_page(page, f"{url}/{d.market}/{VERSION}/")
        fetched: list[str] = []

        def seen(r, fetched=fetched):
            if re.search(r"/search/bundle/", r.url):
                fetched.append(r.url)

        page.on("request", seen)
        page.evaluate(RUN_DRAFTS, [draft_item(d)])
        page.remove_listener("request", seen)
        files = sorted(set(fetched))
        counts.append(len(files))
        sizes.append(sum((root / "site" / u.split(url + "/", 1)[1]).stat().st_size
                         for u in files))
    print(f"\nper draft (fresh page, {len(sample)} drafts): files "
          f"{sum(counts) / len(counts):.1f} (max {max(counts)}), bytes "
          f"{sum(sizes) / len(sizes) / 1024:.0f} KiB (max {max(sizes) / 1024:.0f} KiB)")
    assert max(counts) <= 120
