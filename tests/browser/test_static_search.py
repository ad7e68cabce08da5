"""The static search engine (engine.js over the bundle the build writes) against the
server's Whoosh search, in a real Chromium, on the real project built for every market
the evaluation sets use and served by Python's http.server (no helpgen server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from projectkit import copy_project
from static_host import serving_static

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
VERSION = "2026.11"

RUN_QUERIES = """async (items) => {
  const engine = await window.helpgenStaticEngine();
  const out = [];
  for (const it of items) {
    try {
      const r = await engine.search(it.q, {limit: 10, audience: it.audience || undefined,
                                           topic: it.topic || undefined});
      out.push({ids: r.hits.map(h => h.id), suggestion: r.suggestion,
                snippets: r.hits.map(h => h.snippet), total: r.total,
                corrections: r.corrections});
    } catch (err) {
      out.push({error: String(err && err.stack || err)});
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def eval_site(tmp_path_factory):
    from helpgen import config, search_eval, site

    root = copy_project(tmp_path_factory.mktemp("static-search") / "project")
    cfg = config.load(root)
    questions = search_eval.load_questions(REPO / "evals" / "search.yml", cfg)
    markets = sorted({q.market for q in questions})
    site.build_all(cfg, VERSION, ["latest"], root / "site", jobs=2, markets=markets,
                   index_dir=root / "search_index")
    with serving_static(root / "site") as url:
        yield root, url, questions


def engine_answers(page, url: str, market: str, items: list[dict]) -> list[dict]:
    page.goto(f"{url}/{market}/{VERSION}/")
    expect(page.locator("html")).to_have_attribute("data-helpgen-search", "static")
    return page.evaluate(RUN_QUERIES, items)


def server_answers(root: Path, market: str, items: list[dict]) -> list[dict]:
    from helpgen.search import Searcher

    out = []
    with Searcher(root / "search_index", market) as s:
        for it in items:
            r = s.search(it["q"], limit=10, audience=it.get("audience"), topic=it.get("topic"))
            out.append({"ids": [h.id for h in r.hits], "suggestion": r.suggestion,
                        "snippets": [h.snippet for h in r.hits], "total": r.total,
                        "corrections": [c.as_dict() for c in r.corrections]})
    return out


def test_static_engine_ranks_the_evaluation_questions_as_the_server_does(page, eval_site):
    root, url, questions = eval_site
    by_market: dict[str, list] = {}
    for q in questions:
        by_market.setdefault(q.market, []).append(q)
    rows = []
    for market, qs in sorted(by_market.items()):
        items = [{"q": q.q, "audience": q.audience, "topic": q.topic} for q in qs]
        mine = engine_answers(page, url, market, items)
        theirs = server_answers(root, market, items)
        rows += list(zip(qs, mine, theirs))
    errors = [(q.q, m["error"]) for q, m, _ in rows if "error" in m]
    assert errors == [], errors[:3]
    differ = [(q.market, q.q, m["ids"][:3], t["ids"][:3]) for q, m, t in rows
              if m["ids"][:3] != t["ids"][:3]]
    same_share = 1 - len(differ) / len(rows)
    print(f"identical top 3: {same_share:.3f} of {len(rows)}; differing: {differ}")
    assert same_share >= 0.95, differ

    def figures(sel):
        hit3 = mrr_m = mrr_t = hits_t = 0.0
        for q, m, t in sel:
            for ranked, acc in ((m["ids"], "m"), (t["ids"], "t")):
                rank = next((i for i, a in enumerate(ranked, 1) if a in q.expect), None)
                if acc == "m":
                    hit3 += bool(rank and rank <= 3)
                    mrr_m += 1 / rank if rank else 0
                else:
                    hits_t += bool(rank and rank <= 3)
                    mrr_t += 1 / rank if rank else 0
        n = max(len(sel), 1)
        return hit3 / n, hits_t / n, mrr_m / n, mrr_t / n

    for name, sel in (("all", rows), ("de", [r for r in rows if r[0].market == "de"]),
                      ("jp", [r for r in rows if r[0].market == "jp"])):
        h_m, h_t, r_m, r_t = figures(sel)
        print(f"{name}: hit@3 static {h_m:.3f} server {h_t:.3f}; MRR {r_m:.3f} / {r_t:.3f}")
        assert abs(h_m - h_t) <= 0.02 and abs(r_m - r_t) <= 0.02, name
    # the did-you-mean and the marked snippets are the server's too
    fixes = [(q.q, m["suggestion"], t["suggestion"]) for q, m, t in rows
             if m["suggestion"] != t["suggestion"]]
    assert fixes == []
    snippets = [(q.q, a, b) for q, m, t in rows if m["ids"] == t["ids"]
                for a, b in zip(m["snippets"], t["snippets"]) if a != b]
    assert snippets == [], snippets[:3]


def test_static_site_search_box_answers_from_the_bundle(page, eval_site):
    """Typed into the page's own search box on a plain static host: the bundle's answer
    with the did-you-mean, no request to an API, nothing from another origin."""
    root, url, _ = eval_site
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{url}/us/{VERSION}/")
    expect(page.locator("html")).to_have_attribute("data-helpgen-search", "static")
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially("refnud", delay=30)
    results = page.locator(".md-search-result__list")
    expect(results).to_have_attribute("data-query", "refnud", timeout=15000)
    expect(page.locator(".helpgen-did-you-mean")).to_have_text("refund")
    first = page.locator(".md-search-result__item a").first
    href = first.get_attribute("href")
    assert href.startswith(f"{url}/us/{VERSION}/"), href
    assert page.locator(".md-search-result__item mark").count() > 0
    assert not any("/api/" in u for u in requests)
    assert all(u.startswith(url) for u in requests), [u for u in requests if not u.startswith(url)]
    # Enter opens the first result, as with the server
    box.press("Enter")
    expect(page).to_have_url(href)


def test_bundle_files_are_named_by_their_content(eval_site):
    """Every file but the manifest is named by a hash of its content, or sits in a
    folder named by a hash of the whole folder's content: cacheable for ever."""
    import hashlib
    import re

    root, _, _ = eval_site
    folder = root / "site" / "us" / VERSION / "search" / "bundle"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["market"] == "us" and manifest["version"] == VERSION
    top = [p for p in folder.glob("*.json") if p.name != "manifest.json"]
    assert len(top) > 3
    for path in top:
        digest = path.stem.rsplit("-", 1)[-1]
        assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(digest), path
    folders = [p for p in folder.iterdir() if p.is_dir()]
    assert {p.name.split("-")[0] for p in folders} >= {"a", "spell", "dict"}
    assert all(re.search(r"-[0-9a-f]{12}$", p.name) for p in folders), folders
    files = manifest["files"]
    named = [files["docs"], files["ids"], files["articles"], files["spell"]["dir"],
             *(d["dir"] for d in files["dict"].values()),
             *(c[1] for chunks in files["terms"].values() for c in chunks)]
    assert all((folder / n).exists() for n in named), named
    assert (folder / files["articles"] / "0.json").is_file()


def test_a_page_opened_from_a_file_says_search_needs_http(page, eval_site):
    """file:// pages may read no other file (Chromium): Material hides its search box,
    helpgen's boxes go too, and the home page says why in the page's language."""
    root, _, _ = eval_site
    page.goto((root / "site" / "de" / VERSION / "index.html").as_uri())
    expect(page.locator("html")).to_have_attribute("data-helpgen-search", "file")
    note = page.locator(".helpgen-needs-http")
    expect(note).to_contain_text("http(s)")
    expect(note).to_contain_text("Die Suche")
    assert not page.locator(".helpgen-home-search").is_visible()
    assert not page.locator("input.md-search__input").is_visible()
