"""The static search bundle: bytes, engine time and build cost, run by hand.

    python benchmarks/static_search.py [--sizes 2000 10000] [--queries 60] [--repeat 1]

For each size it builds a synthetic project of that many articles (build_speed.py's
corpus) for one market, serves the site with Python's http.server and drives the
system Chromium (headless, Playwright) over it:

* first query: in a fresh browser context per query, every request the page makes after
  its load event (engine scripts, manifest, chunks, article files, and anything else the
  page fetches then) is gzip-compressed
  (level 6, as a host compressing on the fly would) and summed; the maximum and median
  over the queries (target: 150 KB at 2,000 articles, 300 KB at 10,000);
* cold time: from the first call to the page's result (scripts and files fetched over
  loopback), reported beside the warm figure;
* warm engine time: every query once to fetch its files, then again timed with
  ``performance.now()`` in one page: p50 / p99 (target 10 ms / 50 ms at 2,000);
* parity: the engine's top 3 against the server's ``Searcher.search`` on the same index;
* build cost: ``helpgen build`` of the market with the bundle off (subprocess, median of
  ``--repeat``) against writing the bundle from its index (in process): the share the
  bundle adds (target <= 20% at 2,000 articles).

Queries are two or three words drawn from the corpus vocabulary, a third of them with
two neighbouring letters swapped in one word (a typo), seeded.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "tests" / "browser"))

import build_speed  # noqa: E402
from static_host import serving_static  # noqa: E402

ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "CI": "true"}
CHROMIUM = "/usr/bin/chromium"

RUN_ONE = """async (q) => {
  const t0 = performance.now();
  const engine = await window.helpgenStaticEngine();
  const r = await engine.search(q, {limit: 10});
  return {ms: performance.now() - t0, ids: r.hits.map(h => h.id)};
}"""

RUN_ALL = """async (qs) => {
  const engine = await window.helpgenStaticEngine();
  for (const q of qs) { await engine.search(q, {limit: 10}); }   // files fetched
  const times = [];
  for (const q of qs) {
    const t0 = performance.now();
    await engine.search(q, {limit: 10});
    times.push(performance.now() - t0);
  }
  return times;
}"""


def queries(n: int, seed: int = 11) -> list[str]:
    rnd = random.Random(seed)
    words = [w for w in build_speed.WORDS if len(w) >= 4]
    out = []
    for i in range(n):
        picked = [rnd.choice(words) for _ in range(rnd.choice((2, 2, 3)))]
        if i % 3 == 0:
            w = picked[0]
            j = rnd.randrange(1, len(w) - 1)
            picked[0] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        out.append(" ".join(picked))
    return out


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def build(root: Path, bundle: bool) -> float:
    """Wall seconds of ``helpgen build --market us`` with the bundle on or off."""
    build_speed.static_bundle(root, bundle)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "helpgen.cli", "-q", "build", "--market", "us"],
                   cwd=root, env=ENV, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def measure(n: int, nq: int, repeat: int) -> dict:
    from playwright.sync_api import sync_playwright

    from helpgen import analysis, bundle
    from helpgen.search import Searcher

    work = Path(tempfile.mkdtemp(prefix=f"helpgen-static-{n}-"))
    # helpgen's cache folder for this run only, in the builds and in this process
    os.environ["HELPGEN_CACHE_DIR"] = ENV["HELPGEN_CACHE_DIR"] = str(work / "cache")
    try:
        root = build_speed.copy_project(work / "project")
        build_speed.synthetic_corpus(root, n)
        off = [build(root, False) for _ in range(repeat)]
        build(root, True)
        index_dir, version = analysis.resolve(root / "search_index", "us", "latest")
        writes = []
        for _ in range(repeat):
            tmp = work / "bundle-timing"
            shutil.rmtree(tmp, ignore_errors=True)
            # as a fresh build process: the word lists come from helpgen's cache folder
            # (the benchmark's own, filled by the builds above), not from this process
            bundle._WORD_LISTS.clear()
            writes.append(bundle.write(index_dir, tmp).seconds)
        site_version = root / "site" / "us" / version
        folder = site_version / bundle.BUNDLE_DIR
        total_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        files = sum(1 for p in folder.rglob("*") if p.is_file())
        qs = queries(nq)
        with Searcher(root / "search_index", "us") as s:
            server = [[h.id for h in s.search(q, limit=10).hits] for q in qs]
        first, cold, same = [], [], 0
        with serving_static(root / "site") as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            page_url = f"{url}/us/{version}/"
            for q, theirs in zip(qs, server):
                ctx = browser.new_context()
                page = ctx.new_page()
                page.goto(page_url, wait_until="load")
                page.wait_for_function("window.helpgenStaticEngine !== undefined")
                asked: list = []  # requests the page makes after its load event
                page.on("request", lambda r: asked.append(r))
                got = page.evaluate(RUN_ONE, q)
                page.wait_for_load_state("networkidle")
                size, parts = 0, []
                for req in asked:
                    r = req.response()
                    try:
                        k = len(gzip.compress(r.body(), 6)) if r is not None else 0
                    except Exception:  # a response without a body (redirect)
                        continue
                    size += k
                    parts.append((k, r.url.rsplit("/", 1)[-1]))
                first.append(size)
                if size == max(first):
                    worst = (q, size, sorted(parts, reverse=True)[:8])
                cold.append(got["ms"])
                same += got["ids"][:3] == theirs[:3]
                ctx.close()
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(page_url, wait_until="load")
            warm = page.evaluate(RUN_ALL, qs)
            ctx.close()
            browser.close()
        return {
            "articles": n, "queries": nq, "bundle_files": files,
            "bundle_mb": round(total_bytes / 1e6, 1),
            "first_query_kb_max": round(max(first) / 1024, 1),
            "first_query_kb_median": round(statistics.median(first) / 1024, 1),
            "cold_ms_median": round(statistics.median(cold), 1),
            "cold_ms_max": round(max(cold), 1),
            "warm_ms_p50": round(percentile(warm, 50), 2),
            "warm_ms_p99": round(percentile(warm, 99), 2),
            "same_top3_as_server": round(same / nq, 3),
            "build_without_bundle_s": round(statistics.median(off), 2),
            "bundle_write_s": round(statistics.median(writes), 2),
            "bundle_share_of_build": round(statistics.median(writes) / statistics.median(off), 3),
            "load_1min": round(os.getloadavg()[0], 2),
            "worst_first_query": worst,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    for n in args.sizes:
        print(json.dumps(measure(n, args.queries, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
