"""The evaluation set against real builds: helpgen's quality gate and its lead over lunr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpgen import config as config_mod
from helpgen import search_eval, site
from helpgen.cli import main

from projectkit import REPO, copy_project, set_setting

EVAL_FILE = REPO / "evals" / "search.yml"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[config_mod.Config, Path]:
    root = copy_project(tmp_path_factory.mktemp("search-eval") / "project")
    # without the static bundle Material's index holds every page's text (with it, its
    # fallback index holds titles only): the baseline is Material's search as it ships
    set_setting(root, "search", "static_bundle", False)
    cfg = config_mod.load(root)
    markets = sorted({q.market for q in search_eval.load_questions(EVAL_FILE, cfg)})
    site.build_all(cfg, "2026.11", ["latest"], root / "site", jobs=2, markets=markets)
    return cfg, root


@pytest.fixture(scope="module")
def reports(built) -> tuple[search_eval.Report, search_eval.Report]:
    cfg, root = built
    helpgen = search_eval.run(cfg, EVAL_FILE, root / "search_index")
    lunr = search_eval.run_lunr(cfg, EVAL_FILE, root / "site")
    print(helpgen.format_text() + lunr.format_text())  # shows every miss with -s
    return helpgen, lunr


def test_eval_set_is_large_and_mostly_not_tuned_on(built):
    questions = search_eval.load_questions(EVAL_FILE, built[0])
    assert len(questions) >= 60
    never_tuned = sum(1 for q in questions if q.split != "tune")
    assert 0.25 <= never_tuned / len(questions) <= 0.50
    kinds = {q.kind for q in questions}
    assert {"typo", "synonym", "german", "japanese", "unused"} <= kinds
    german = [q for q in questions if q.market == "de"]
    assert len(german) >= 30 and {q.split for q in german} == {"tune", "holdout", "untouched"}
    # every interface language has questions of its own
    assert {q.market for q in questions} >= {"us", "de", "jp", "fr", "es", "it", "vn", "th"}


@pytest.mark.parametrize("split", search_eval.GATED_SPLITS)
def test_search_meets_the_configured_quality_on_each_split(built, reports, split):
    cfg = built[0]
    fig = reports[0].splits[split]
    misses = fig.as_dict()["misses"]
    assert fig.hit3 >= cfg.setting("search.eval_min_hit3"), misses
    assert fig.mrr >= cfg.setting("search.eval_min_mrr"), misses


@pytest.mark.parametrize("split", search_eval.GATED_SPLITS)
def test_search_leads_materials_lunr_search(built, reports, split):
    helpgen, lunr = reports
    lead = helpgen.splits[split].hit3 - lunr.splits[split].hit3
    assert lead >= built[0].setting("search.eval_min_lead_over_lunr"), (helpgen.splits[split],
                                                                        lunr.splits[split])
    assert search_eval.check(built[0], helpgen, lunr) == []


def test_cli_search_eval_passes_and_prints_figures(built, capsys):
    cfg, root = built
    rc = main(["search-eval", "--file", str(EVAL_FILE), "--project", str(root)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "tune" in out and "holdout" in out and "untouched" in out
    assert "hit@3" in out and "MRR" in out


def test_cli_search_eval_fails_when_under_threshold(built, tmp_path, capsys):
    cfg, root = built
    strict = copy_project(tmp_path / "strict")
    text = (strict / "helpgen.yml").read_text(encoding="utf-8")
    (strict / "helpgen.yml").write_text(text + "\nsearch:\n  eval_min_mrr: 1.0\n",
                                        encoding="utf-8")
    rc = main(["search-eval", "--file", str(EVAL_FILE), "--project", str(strict),
               "--index-dir", str(root / "search_index")])
    assert rc == 1 and "below search.eval_min_mrr 1.0" in capsys.readouterr().err


#: every small limit, then every fifth (all fifty take a minute on two cores)
LIMITS = (*range(1, 11), *range(15, 51, 5))


def test_top_k_is_the_same_for_every_limit_up_to_50(built):
    """For every question: the hits of ``limit=k`` are the first k of ``limit=50``."""
    from helpgen.search import Searcher

    cfg, root = built
    questions = search_eval.load_questions(EVAL_FILE, cfg)
    unstable = []
    for market in sorted({q.market for q in questions}):
        with Searcher(root / "search_index", market) as s:
            for q in (q for q in questions if q.market == market):
                full = [h.id for h in s.search(q.q, limit=50, audience=q.audience,
                                                topic=q.topic).hits]
                for k in LIMITS:
                    got = [h.id for h in s.search(q.q, limit=k, audience=q.audience,
                                                   topic=q.topic).hits]
                    if got != full[:k]:
                        unstable.append((market, q.q, k, got, full[:k]))
                        break
    assert unstable == []


def test_untouched_split_is_reported_but_never_gated(built):
    q = search_eval.Question(q="x", market="us", expect=("a",), split="untouched")
    report = search_eval.figures("helpgen", [search_eval.Outcome(q, ("b",))])
    assert report.splits["untouched"].hit3 == 0.0
    assert search_eval.check(built[0], report) == []
    tuned = search_eval.figures("helpgen", [search_eval.Outcome(
        search_eval.Question(q="x", market="us", expect=("a",), split="tune"), ("b",))])
    assert search_eval.check(built[0], tuned) != []


def test_lunr_baseline_refuses_materials_titles_only_index(tmp_path):
    """Next to the static bundle Material's index holds titles only: comparing with it
    would understate Material's search, so the baseline says how to build the real one."""
    from helpgen.errors import HelpgenError

    path = tmp_path / "search_index.json"
    path.write_text(json.dumps({"config": {}, "docs": [{"location": "", "title": "Home",
                                                        "text": ""}],
                                site.LUNR_TITLES_KEY: True}), encoding="utf-8")
    with pytest.raises(HelpgenError, match="static_bundle: false"):
        search_eval.lunr_searcher(path)
    path.write_text(json.dumps({"config": {}, "docs": [{"location": "", "title": "Home",
                                                        "text": "returns"}]}), encoding="utf-8")
    assert search_eval.lunr_searcher(path)("returns", 3) == [""]
