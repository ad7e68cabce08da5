"""Search speed on synthetic corpora: helpgen's whole search against a raw Whoosh floor.

    python benchmarks/search_speed.py [--sizes 500 2000 5000] [--queries 300]

For each corpus size it writes an index with helpgen.index.write (same schema and
analyzers as a real build), then, warm and in-process, times:

* helpgen: ``Searcher.search(q)`` - cleaning, typo check/correction, synonyms, the
  multi-field multi-language query, total count and snippet highlighting of the hits;
* floor: the same words as one OR query on one field (``body_en``) through Whoosh
  directly (QueryParser + searcher.search, limit 10) on the same open index.

It also prints the index size on disk next to the text indexed, the build time, and the
cold ``helpgen search`` process time next to ``python -c "import whoosh"``, and checks
with ``python -X importtime`` that the search path imports no MkDocs, Material or Jinja.
Targets: p50 <= 2x floor, p99 <= 3x floor, cold <= import whoosh + 0.3 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from whoosh.qparser import OrGroup, QueryParser

from helpgen import index
from helpgen.search import Searcher

REPO = Path(__file__).resolve().parents[1]
WORDS = sorted({w.lower() for p in (REPO / "docs").rglob("*.md") if ".ja." not in p.name
                and ".de." not in p.name
                for w in p.read_text(encoding="utf-8").split() if w.isalpha() and len(w) > 3})
AUDIENCES = ("buyers", "partners", "sellers")
TOPICS = {"buyers": "orders", "partners": "account", "sellers": "support-channels"}


def synthetic_docs(n: int, rng: random.Random, words_per_doc: int = 400) -> list[index.IndexDoc]:
    # a Zipf-like draw: a few very common words, a long tail of rare ones
    weights = [1 / (i + 1) for i in range(len(WORDS))]
    vocab = WORDS[:]
    rng.shuffle(vocab)
    docs = []
    for i in range(n):
        body = rng.choices(vocab, weights, k=words_per_doc)
        title = " ".join(rng.choices(vocab, weights, k=6)).capitalize()
        aud = AUDIENCES[i % 3]
        sentences = [" ".join(body[j:j + 15]).capitalize() + "." for j in range(0, len(body), 15)]
        docs.append(index.IndexDoc(
            id=f"a{i}", title=title, summary=" ".join(body[:20]),
            keywords=tuple(rng.sample(vocab, 5)), headings=tuple(
                " ".join(rng.choices(vocab, weights, k=3)) for _ in range(4)),
            body="\n".join(sentences), audience=aud, topic=TOPICS[aud], url=f"x/a{i}/",
            source=f"x/a{i}.md", language="en"))
    return docs


def queries(rng: random.Random, count: int) -> list[str]:
    out = []
    for i in range(count):
        words = rng.sample(WORDS, rng.choice((1, 2, 2, 3, 4)))
        if i % 10 == 0:  # one in ten carries a typo (swapped letters)
            w = words[0]
            k = rng.randrange(1, len(w) - 1)
            words[0] = w[:k - 1] + w[k] + w[k - 1] + w[k + 1:]
        out.append(" ".join(words))
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def time_calls(fn, items) -> list[float]:
    out = []
    for it in items:
        t0 = time.perf_counter()
        fn(it)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def bench_size(n: int, nq: int, workdir: Path) -> None:
    rng = random.Random(n)
    docs = synthetic_docs(n, rng)
    # one analysing process, one segment: the index as ``helpgen build`` writes it (the
    # two-process writer leaves two segments, which every query reads separately)
    info = index.write(docs, workdir / "idx", "us", "bench", "en", procs=1)
    mb = info.bytes / 1e6
    print(f"\n## {n} articles: text {info.text_chars / 1e6:.1f} MB indexed in "
          f"{info.seconds:.1f} s, index {mb:.1f} MB on disk")
    qs = queries(rng, nq)
    with Searcher(workdir / "idx", "us", "bench") as s:
        parser = QueryParser("body_en", s._ix.schema, group=OrGroup)
        raw = s._searcher

        def floor(q: str) -> None:
            r = raw.search(parser.parse(q), limit=10)
            [h["id"] for h in r]

        def helpgen(q: str) -> None:
            s.search(q, limit=10)

        for fn in (floor, helpgen):  # warm up caches and the stemmer
            time_calls(fn, qs[:50])
        f, h = [], []
        for _ in range(3):  # interleaved rounds: the same machine state for both
            f += time_calls(floor, qs)
            h += time_calls(helpgen, qs)
    f50, f99, h50, h99 = pct(f, 50), pct(f, 99), pct(h, 50), pct(h, 99)
    print(f"floor  (raw Whoosh, one field)  p50 {f50:6.2f} ms  p99 {f99:6.2f} ms")
    print(f"helpgen search (whole)          p50 {h50:6.2f} ms  p99 {h99:6.2f} ms")
    print(f"ratio                           p50 {h50 / f50:5.2f}x    p99 {h99 / f99:5.2f}x   "
          f"(targets 2x / 3x)")


def cold(workdir: Path) -> None:
    def median_run(cmd: list[str], runs: int = 7) -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    base = median_run([sys.executable, "-c", "import whoosh"])
    cmd = [sys.executable, "-m", "helpgen.cli", "search", "quick answer", "--market", "us",
           "--version", "bench", "--index-dir", str(workdir / "idx")]
    full = median_run(cmd)
    print(f"\n## cold process (index of the last size)\n"
          f"python -c 'import whoosh'   {base:.3f} s\nhelpgen search              {full:.3f} s"
          f"   (+{full - base:.3f} s; target +0.300 s)")
    out = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], capture_output=True,
                         text=True).stderr
    heavy = sorted({line.split("|")[-1].strip().split(".")[0] for line in out.splitlines()
                    if line.split("|")[-1].strip().split(".")[0] in ("mkdocs", "material",
                                                                       "jinja2", "markdown")})
    print(f"heavy modules imported on the search path: {', '.join(heavy) or 'none'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000])
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            bench_size(n, args.queries, Path(tmp) / str(n))
        cold(Path(tmp) / str(args.sizes[-1]))


if __name__ == "__main__":
    main()
