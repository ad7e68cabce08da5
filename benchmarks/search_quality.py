"""Search quality: helpgen against Material's own search (lunr) on evals/search.yml.

    python benchmarks/search_quality.py [--eval evals/search.yml] [--verbose]

Builds the real project (config, hooks, articles) into a temporary folder for every
market the evaluation set uses, then asks both engines every question:

* helpgen: ``helpgen.search`` over the index the build wrote;
* lunr: Material's built-in search rebuilt with lunr.py from the same build's
  ``site/<market>/<version>/search/search_index.json`` (title boosted as Material does,
  each word also as a prefix; the question's audience/topic filter applied afterwards).
  The project is built with ``search.static_bundle: false``, so that Material's index
  holds every page's text as Material writes it.

Prints hit@1, hit@3 and MRR per split (tune / holdout) for both, helpgen's lead in
hit@3, and (with --verbose) every miss of both engines.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

from helpgen import config as config_mod  # noqa: E402
from helpgen import search_eval, site  # noqa: E402

# this folder is on sys.path when run
from build_speed import copy_project, without_bundle  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", default=str(REPO / "evals" / "search.yml"))
    ap.add_argument("--verbose", action="store_true", help="list every miss")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = without_bundle(copy_project(Path(tmp) / "project"))
        cfg = config_mod.load(root)
        markets = sorted({q.market for q in search_eval.load_questions(Path(args.eval), cfg)})
        site.build_all(cfg, cfg.version, [cfg.default_alias], root / "site", jobs=2,
                       markets=markets)
        ours = search_eval.run(cfg, args.eval, root / "search_index")
        lunr = search_eval.run_lunr(cfg, args.eval, root / "site")
    print(f"markets: {', '.join(markets)}\n")
    print(f"{'engine':26s} {'split':8s} {'n':>3s} {'hit@1':>6s} {'hit@3':>6s} {'MRR':>6s}")
    for report in (ours, lunr):
        for fig in report.splits.values():
            print(f"{report.engine:26s} {fig.split:8s} {fig.questions:3d} {fig.hit1:6.3f} "
                  f"{fig.hit3:6.3f} {fig.mrr:6.3f}")
    for split, fig in ours.splits.items():
        print(f"helpgen lead in hit@3 ({split}): {fig.hit3 - lunr.splits[split].hit3:+.3f}")
    print()
    for report in (ours, lunr) if args.verbose else (ours,):
        text = report.format_text()
        print("\n".join(line for line in text.splitlines() if "miss" in line) or
              f"{report.engine}: no misses")


if __name__ == "__main__":
    main()
