"""Static search quality: helpgen's browser engine against Pagefind, MiniSearch and
Material's own search, on the same built site and evals/search.yml.

    python benchmarks/static_rivals.py [--eval evals/search.yml] [--verbose]
                                       [--minisearch PATH/TO/dist/umd/index.js]

Needs Playwright's Python package and the system Chromium (/usr/bin/chromium); npm for
MiniSearch and, for Pagefind, ``pip install 'pagefind[extended]'`` (its indexer ships in
the wheel). Neither rival is a dependency of helpgen: this script finds or fetches them.

Builds the real project (config, hooks, articles) into a temporary folder for every
market the evaluation set uses (as benchmarks/search_quality.py does), serves the site
with Python's http.server (a plain static host, tests/browser/static_host.py) and asks
every question of the set, each in a fresh browser context on the market's home page:

* helpgen: the theme's engine.js over the build's static bundle
  (``<market>/<version>/search/bundle/``), with the question's audience/topic filters;
* Pagefind: ``python -m pagefind`` run over each built version folder (only Material's
  ``<article>`` indexed: ``--root-selector article``), queried in Chromium through
  ``pagefind/pagefind.js`` (``search(q)``, then ``data()`` of the results, ten at a time,
  until ten articles pass the filters or 30 results were read);
* MiniSearch: its UMD build loaded into the page, which fetches Material's
  ``search/search_index.json``, folds its sections into one document per page
  (title, headings, text) and searches with MiniSearch's recommended options
  ``{fuzzy: 0.2, prefix: true, boost: {title: 2}}``;
* lunr (Material's search): ranked in Python by ``helpgen.search_eval.run_lunr``
  (lunr.py over the same ``search_index.json``, as Material's worker builds it).

Next to the bundle, helpgen writes Material's index with page titles only (its fallback);
the ``search_index.json`` the peers read comes from a second build of the same pages with
``search.static_bundle: false``, i.e. Material's index as Material writes it.

Engines without filters get the question's audience/topic applied afterwards, as
run_lunr does; results that are not articles (home, category pages) are dropped.
The server's own search (Whoosh, ``helpgen.search_eval.run``) is printed too, as the
reference the static engine should match.

Figures: hit@1, hit@3 and MRR (over the first 10) overall, per split, for the questions
of kind ``typo`` and for the de and jp markets; and the bytes a first query fetches:
gzip (level 6) sizes of every response body received, in a fresh context, after the
page's load event and the page's own start-up requests (network idle), from the query
until its answer, engine scripts included (helpgen's analysis.js/engine.js, Pagefind's
pagefind.js and WebAssembly, MiniSearch's script). In those contexts Material's search
worker is blocked, as a site using another engine would not run it. Material's lunr
search is measured as Material runs it: the bytes its worker fetches after the load
event (worker script, search_index.json, lunr language scripts), on every page before
any query; that is one figure per market. These are quality and size figures, not
timings.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))  # static_host
sys.path.insert(0, str(REPO / "benchmarks"))  # build_speed

from helpgen import config as config_mod  # noqa: E402
from helpgen import content, search_eval, site  # noqa: E402
from helpgen.search_eval import Outcome, Question  # noqa: E402
from build_speed import copy_project, without_bundle  # noqa: E402
from static_host import serving_static  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
MINISEARCH_VERSION = "7.2.0"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "helpgen-benchmarks"
LIMIT = 10
RIVALS_DIR = "_rivals"  # inside the served site: the MiniSearch script

# --------------------------------------------------------------------------- page code

HELPGEN_JS = """async (it) => {
  let open = window.helpgenStaticEngine;
  if (typeof open !== 'function') {
    // search.js reads the bundle's meta tag before the page has it (it is written after
    // the scripts): load the engine as search.js would, from the same tag
    const meta = document.querySelector('meta[name=helpgen-search-bundle]');
    const load = (src) => new Promise((ok, bad) => {
      const el = document.createElement('script');
      el.src = src; el.onload = ok; el.onerror = () => bad(new Error('cannot load ' + src));
      document.head.appendChild(el);
    });
    await load(meta.dataset.analysis);
    await load(meta.dataset.engine);
    const base = new URL(meta.getAttribute('content'), location.href).href;
    open = () => window.helpgenEngine.open(base);
  }
  const engine = await open();
  const r = await engine.search(it.q, {limit: it.limit, audience: it.audience || undefined,
                                       topic: it.topic || undefined});
  return {ids: r.hits.map(h => h.id), fallback: window.helpgenStaticEngine === null};
}"""

PAGEFIND_JS = """async (it) => {
  const pf = await import(new URL('pagefind/pagefind.js', location.href).href);
  const s = await pf.search(it.q);
  const urls = [];
  let kept = 0;
  for (let i = 0; i < Math.min(s.results.length, it.read) && kept < it.limit; i += 10) {
    const data = await Promise.all(s.results.slice(i, i + 10).map(r => r.data()));
    for (const d of data) {
      // Pagefind's URLs start at the site root: /<market>/<version>/<article>/
      const path = new URL(d.url, location.href).pathname;
      const rel = path.startsWith(location.pathname) ? path.slice(location.pathname.length) : path;
      urls.push(rel);
      if (it.keep.includes(rel)) { kept += 1; }
    }
  }
  return {urls};
}"""

MINISEARCH_JS = """async (it) => {
  await new Promise((ok, bad) => {
    const el = document.createElement('script');
    el.src = it.script; el.onload = ok; el.onerror = () => bad(new Error('no MiniSearch'));
    document.head.appendChild(el);
  });
  const data = await (await fetch(new URL('search/search_index.json', location.href))).json();
  const pages = new Map();
  const plain = (html) => (html || '').replace(/<[^>]*>/g, ' ');
  for (const d of data.docs) {
    const [url, anchor] = d.location.split('#');
    if (!pages.has(url)) { pages.set(url, {id: url, title: '', headings: [], text: []}); }
    const p = pages.get(url);
    if (anchor === undefined) { p.title = d.title; } else { p.headings.push(d.title); }
    p.text.push(plain(d.text));
  }
  const docs = [...pages.values()].map(p => ({id: p.id, title: p.title,
    headings: p.headings.join(' '), text: p.text.join(' ')}));
  const ms = new MiniSearch({fields: ['title', 'headings', 'text']});
  ms.addAll(docs);
  const hits = ms.search(it.q, {fuzzy: 0.2, prefix: true, boost: {title: 2}});
  return {urls: hits.slice(0, it.read).map(h => h.id)};
}"""


# --------------------------------------------------------------------------- rivals


def minisearch_script(given: str | None) -> tuple[Path, str]:
    """MiniSearch's UMD build and its version: --minisearch, else the cache, else
    ``npm pack minisearch@MINISEARCH_VERSION`` into the cache (never into the project)."""
    if given:
        path = Path(given)
    else:
        folder = CACHE / f"minisearch-{MINISEARCH_VERSION}"
        path = folder / "dist" / "umd" / "index.js"
        if not path.is_file():
            CACHE.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run(["npm", "pack", f"minisearch@{MINISEARCH_VERSION}",
                                      "--silent", "--pack-destination", tmp],
                                     check=True, capture_output=True, text=True)
                tgz = Path(tmp) / out.stdout.strip().splitlines()[-1]
                with tarfile.open(tgz) as tar:
                    tar.extractall(tmp, filter="data")
                shutil.rmtree(folder, ignore_errors=True)
                shutil.move(str(Path(tmp) / "package"), folder)
    pkg = path.parents[2] / "package.json"
    version = json.loads(pkg.read_text())["version"] if pkg.is_file() else "unknown"
    return path, version


def pagefind_index(version_dirs: list[Path]) -> str | None:
    """Run Pagefind's indexer over every built version folder; its version, or None with
    the reason printed when it cannot run here."""
    try:
        out = subprocess.run([sys.executable, "-m", "pagefind", "--version"], check=True,
                             capture_output=True, text=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        print(f"Pagefind is not installed here ({getattr(exc, 'stderr', exc)!s:.200}); "
              "try pip install 'pagefind[extended]'. Going on without it.\n")
        return None
    version = out.stdout.strip()
    for folder in version_dirs:
        subprocess.run([sys.executable, "-m", "pagefind", "--site", str(folder),
                        "--root-selector", "article", "--output-subdir", "pagefind",
                        "--silent"], check=True)
    return version


# --------------------------------------------------------------------------- browser


@dataclass
class Answer:
    ranked: tuple[str, ...]
    bytes: int | None


def gz(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=6))


def first_query(browser, page_url: str, script: str, arg: dict) -> tuple[dict, int]:
    """``script`` run once on the page in a fresh context (Material's search worker
    blocked); its answer and the gzip size of every response received meanwhile."""
    ctx = browser.new_context()
    try:
        ctx.route("**/assets/javascripts/workers/search.*.js", lambda r: r.abort())
        page = ctx.new_page()
        page.goto(page_url, wait_until="load")
        page.wait_for_load_state("networkidle")
        seen: list = []
        page.on("response", lambda r: seen.append(r))
        answer = page.evaluate(script, arg)
        total = 0
        for resp in seen:
            try:
                total += gz(resp.body())
            except Exception:  # a redirect or an aborted request has no body
                pass
        return answer, total
    finally:
        ctx.close()


def material_bytes(browser, page_url: str) -> int:
    """What Material's search worker fetches (it starts as the page's load event fires,
    on every page, query or not): worker script, search_index.json, lunr language files."""
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        seen: list = []
        page.on("response", lambda r: seen.append(r))
        page.goto(page_url, wait_until="load")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        total = 0
        for resp in seen:
            url = resp.url
            if ("/search/search_index.json" in url or "/javascripts/workers/search." in url
                    or "/javascripts/lunr/" in url):
                total += gz(resp.body())
        return total
    finally:
        ctx.close()


# --------------------------------------------------------------------------- figures


def stats(outcomes: list[Outcome]) -> tuple[int, float, float, float]:
    n = len(outcomes)
    ranks = [o.rank for o in outcomes]
    if not n:
        return 0, 0.0, 0.0, 0.0
    return (n, sum(r == 1 for r in ranks) / n,
            sum(r is not None and r <= 3 for r in ranks) / n,
            sum(1 / r for r in ranks if r) / n)


GROUPS = (("all", lambda q: True),
          ("tune", lambda q: q.split == "tune"),
          ("holdout", lambda q: q.split == "holdout"),
          ("untouched", lambda q: q.split == "untouched"),
          ("typo", lambda q: q.kind == "typo"),
          ("de", lambda q: q.market == "de"),
          ("jp", lambda q: q.market == "jp"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", default=str(REPO / "evals" / "search.yml"))
    ap.add_argument("--minisearch", help="MiniSearch's dist/umd/index.js (else the cache "
                    f"{CACHE}, filled by npm pack)")
    ap.add_argument("--verbose", action="store_true", help="list every miss of every engine")
    ap.add_argument("--sample", type=int, help=argparse.SUPPRESS)  # every n-th question
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    ms_path, ms_version = minisearch_script(args.minisearch)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_project(Path(tmp) / "project")
        cfg = config_mod.load(root)
        questions = search_eval.load_questions(Path(args.eval), cfg)
        markets = sorted({q.market for q in questions})
        if args.sample:
            questions = questions[::args.sample]
        site_dir = root / "site"
        site.build_all(cfg, cfg.version, [cfg.default_alias], site_dir, jobs=2,
                       markets=markets)
        version = cfg.version
        # Material's index as Material writes it (next to the bundle helpgen writes page
        # titles only): from a build without the bundle, for lunr and MiniSearch
        plain = without_bundle(copy_project(Path(tmp) / "plain"))
        site.build_all(config_mod.load(plain), version, [cfg.default_alias], plain / "site",
                       jobs=2, markets=markets)
        for m in markets:
            rel = Path(m) / version / "search" / "search_index.json"
            shutil.copy2(plain / "site" / rel, site_dir / rel)
        pf_version = pagefind_index([site_dir / m / version for m in markets])
        (site_dir / RIVALS_DIR).mkdir()
        shutil.copy2(ms_path, site_dir / RIVALS_DIR / "minisearch.js")

        articles = [a for a in content.load(cfg).articles if a.kind == "article"]
        by_url = {a.url: a.id for a in articles}
        audience = {a.id: a.audience for a in articles}
        topic = {a.id: a.topic for a in articles}

        def ids_of(q: Question, urls: list[str]) -> tuple[str, ...]:
            ids = [by_url[u] for u in (u.lstrip("/").split("#", 1)[0] for u in urls)
                   if u in by_url]
            ids = [i for i in ids if (not q.audience or audience[i] == q.audience)
                   and (not q.topic or topic[i] == q.topic)]
            return tuple(dict.fromkeys(ids))[:LIMIT]

        server = search_eval.run(cfg, args.eval, root / "search_index")
        lunr = search_eval.run_lunr(cfg, args.eval, site_dir)
        answers: dict[str, list[Answer]] = {"helpgen": [], "pagefind": [], "minisearch": []}
        lunr_bytes: dict[str, int] = {}
        fallback = False
        with serving_static(site_dir) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            for m in markets:
                lunr_bytes[m] = material_bytes(browser, f"{url}/{m}/{version}/")
            for i, q in enumerate(questions, 1):
                home = f"{url}/{q.market}/{version}/"
                keep = [a.url for a in articles if (not q.audience or a.audience == q.audience)
                        and (not q.topic or a.topic == q.topic)]
                got, size = first_query(browser, home, HELPGEN_JS,
                                        {"q": q.q, "limit": LIMIT, "audience": q.audience,
                                         "topic": q.topic})
                fallback = fallback or got["fallback"]
                answers["helpgen"].append(Answer(tuple(got["ids"]), size))
                if pf_version:
                    got, size = first_query(browser, home, PAGEFIND_JS,
                                            {"q": q.q, "limit": LIMIT, "read": 3 * LIMIT,
                                             "keep": keep})
                    answers["pagefind"].append(Answer(ids_of(q, got["urls"]), size))
                got, size = first_query(browser, home, MINISEARCH_JS,
                                        {"q": q.q, "read": 3 * LIMIT,
                                         "script": f"{url}/{RIVALS_DIR}/minisearch.js"})
                answers["minisearch"].append(Answer(ids_of(q, got["urls"]), size))
                if i % 20 == 0:
                    print(f"  {i}/{len(questions)} questions", file=sys.stderr)
            browser.close()

    engines: dict[str, list[Outcome]] = {
        "helpgen static (engine.js)": [Outcome(q, a.ranked)
                                       for q, a in zip(questions, answers["helpgen"])],
    }
    if pf_version:
        engines[f"Pagefind {pf_version.split()[-1]}"] = [
            Outcome(q, a.ranked) for q, a in zip(questions, answers["pagefind"])]
    engines[f"MiniSearch {ms_version}"] = [Outcome(q, a.ranked)
                                           for q, a in zip(questions, answers["minisearch"])]
    asked = set(questions)
    engines["lunr (Material's search)"] = [o for o in lunr.outcomes if o.question in asked]
    reference = {"helpgen server (Whoosh)": [o for o in server.outcomes
                                             if o.question in asked]}
    sizes = {"helpgen static (engine.js)": [a.bytes for a in answers["helpgen"]],
             "lunr (Material's search)": [lunr_bytes[q.market] for q in questions]}
    if pf_version:
        sizes[f"Pagefind {pf_version.split()[-1]}"] = [a.bytes for a in answers["pagefind"]]
    sizes[f"MiniSearch {ms_version}"] = [a.bytes for a in answers["minisearch"]]

    print(f"\nquestions: {len(questions)} ({args.eval}); markets: {', '.join(markets)}; "
          f"version {version}; {time.time() - started:.0f} s")
    print(f"Pagefind: {pf_version or 'not installed here: left out'} "
          "(pip install 'pagefind[extended]', --root-selector article)")
    print(f"MiniSearch: {ms_version} ({ms_path}; fetched with npm pack when missing)")
    print("Chromium: " + subprocess.run([CHROMIUM, "--version"], capture_output=True,
                                        text=True).stdout.strip())
    if fallback:
        print("note: window.helpgenStaticEngine was null on the built pages (search.js "
              "found no bundle meta tag): the engine was loaded from the tag by this script")
    names = list(engines) + list(reference)
    every = {**engines, **reference}
    print("\nhit@1 / hit@3 / MRR (first 10 results)\n")
    print("| questions | n | " + " | ".join(names) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in names) + " |")
    for group, keep_q in GROUPS:
        cells = []
        n = 0
        for name in names:
            n, h1, h3, mrr = stats([o for o in every[name] if keep_q(o.question)])
            cells.append(f"{h1:.3f} / {h3:.3f} / {mrr:.3f}")
        if n:
            print(f"| {group} | {n} | " + " | ".join(cells) + " |")
    print("\ngzip bytes a first query fetches (fresh context), per question\n")
    print("| engine | median | max |")
    print("| --- | --- | --- |")
    for name, values in sizes.items():
        print(f"| {name} | {statistics.median(values):,.0f} | {max(values):,} |")
    print()
    for name in names if args.verbose else ():
        for o in every[name]:
            if o.rank is None or o.rank > 3:
                q = o.question
                print(f"miss {name} ({q.split}, {q.kind}) [{q.market}] {q.q!r}: expected "
                      f"{', '.join(q.expect)}; got {', '.join(o.ranked[:3]) or 'nothing'} "
                      f"(rank {o.rank or '-'})")


if __name__ == "__main__":
    main()
