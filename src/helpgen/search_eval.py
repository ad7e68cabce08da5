"""Search quality against ``evals/search.yml``: hit@1, hit@3 and MRR per split.

:func:`run` asks helpgen's search every question of the evaluation set; :func:`run_lunr`
asks Material's own search engine the same questions: lunr (the ``lunr`` package, a port
of lunr.js) over the site's ``search/search_index.json``, built the way Material's
search worker builds it (``title`` boosted 1000x over ``text``, each word also matched as
a prefix). Both return a :class:`Report`; ``helpgen search-eval`` prints it and
``benchmarks/search_quality.py`` compares the two.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import yaml

from .config import Config
from .errors import HelpgenError, Problem, raise_if

SPLITS = ("tune", "holdout", "untouched", "languages")
#: Splits the ``search.eval_*`` thresholds apply to. ``untouched`` is reported, never
#: gated: a gate on it would invite tuning on it.
GATED_SPLITS = ("tune", "holdout")


@dataclass(frozen=True)
class Question:
    q: str
    market: str
    expect: tuple[str, ...]
    split: str
    kind: str = ""
    audience: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class Outcome:
    question: Question
    ranked: tuple[str, ...]  # article ids, best first

    @property
    def rank(self) -> int | None:
        for i, art in enumerate(self.ranked, 1):
            if art in self.question.expect:
                return i
        return None


@dataclass(frozen=True)
class SplitFigures:
    split: str
    questions: int
    hit1: float
    hit3: float
    mrr: float
    misses: tuple[Outcome, ...]  # not in the first three

    def as_dict(self) -> dict:
        return {"split": self.split, "questions": self.questions, "hit1": round(self.hit1, 3),
                "hit3": round(self.hit3, 3), "mrr": round(self.mrr, 3),
                "misses": [{"q": m.question.q, "market": m.question.market,
                            "expect": list(m.question.expect), "got": list(m.ranked[:3]),
                            "rank": m.rank} for m in self.misses]}


@dataclass(frozen=True)
class Report:
    engine: str
    outcomes: tuple[Outcome, ...]
    splits: dict[str, SplitFigures] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"engine": self.engine, "splits": {k: v.as_dict() for k, v in self.splits.items()}}

    def format_text(self) -> str:
        lines = [f"{self.engine}:"]
        for fig in self.splits.values():
            lines.append(f"  {fig.split:8s} n={fig.questions:3d}  hit@1 {fig.hit1:.3f}  "
                         f"hit@3 {fig.hit3:.3f}  MRR {fig.mrr:.3f}")
        for fig in self.splits.values():
            for m in fig.misses:
                lines.append(f"  miss ({fig.split}) [{m.question.market}] {m.question.q!r}: "
                             f"expected {', '.join(m.question.expect)}; got "
                             f"{', '.join(m.ranked[:3]) or 'nothing'} (rank {m.rank or '-'})")
        return "\n".join(lines) + "\n"


def load_questions(path: Path, config: Config) -> list[Question]:
    """Read and check the evaluation set; every problem is reported at once."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HelpgenError("search evaluation set not found", path, exit_code=2) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise HelpgenError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path,
                           mark.line + 1 if mark else None) from None
    items = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise HelpgenError("expected a 'questions:' list", path)
    problems: list[Problem] = []
    out: list[Question] = []
    for i, item in enumerate(items, 1):
        where = f"question {i}"
        if not isinstance(item, dict):
            problems.append(Problem(f"{where} must be a mapping", str(path)))
            continue
        q, market, expect = item.get("q"), item.get("market"), item.get("expect")
        split = item.get("split")
        if not isinstance(q, str) or not q.strip():
            problems.append(Problem(f"{where}: 'q' must be a text", str(path)))
            continue
        if market not in config.markets:
            problems.append(Problem(f"{where} ({q!r}): unknown market {market!r}; allowed: "
                                    f"{', '.join(config.markets)}", str(path)))
        if split not in SPLITS:
            problems.append(Problem(f"{where} ({q!r}): split must be one of "
                                    f"{', '.join(SPLITS)}", str(path)))
        if not isinstance(expect, list) or not expect:
            problems.append(Problem(f"{where} ({q!r}): 'expect' must list article ids",
                                    str(path)))
            continue
        out.append(Question(q=q, market=str(market), expect=tuple(map(str, expect)),
                            split=str(split), kind=str(item.get("kind", "")),
                            audience=item.get("audience"), topic=item.get("topic")))
    raise_if(problems)
    return out


def figures(engine: str, outcomes: Sequence[Outcome]) -> Report:
    splits: dict[str, SplitFigures] = {}
    for split in SPLITS:
        chosen = [o for o in outcomes if o.question.split == split]
        if not chosen:
            continue
        n = len(chosen)
        ranks = [o.rank for o in chosen]
        splits[split] = SplitFigures(
            split=split, questions=n,
            hit1=sum(1 for r in ranks if r == 1) / n,
            hit3=sum(1 for r in ranks if r is not None and r <= 3) / n,
            mrr=sum(1 / r for r in ranks if r is not None) / n,
            misses=tuple(o for o in chosen if o.rank is None or o.rank > 3),
        )
    return Report(engine, tuple(outcomes), splits)


def run(config: Config, eval_file: Path | str, index_dir: Path | str,
        version: str = "latest", limit: int = 10) -> Report:
    """Ask helpgen's search every question; one open index per market."""
    from .search import Searcher

    questions = load_questions(Path(eval_file), config)
    outcomes = []
    for market in dict.fromkeys(q.market for q in questions):
        with Searcher(index_dir, market, version) as searcher:
            for q in (q for q in questions if q.market == market):
                result = searcher.search(q.q, limit=limit, audience=q.audience, topic=q.topic)
                outcomes.append(Outcome(q, tuple(h.id for h in result.hits)))
    return figures("helpgen", _in_file_order(questions, outcomes))


def _in_file_order(questions: list[Question], outcomes: list[Outcome]) -> list[Outcome]:
    order = {id(q): i for i, q in enumerate(questions)}
    return sorted(outcomes, key=lambda o: order[id(o.question)])


def check(config: Config, report: Report, lunr: Report | None = None) -> list[str]:
    """Failures against the ``search.eval_*`` settings (empty: the gate passes)."""
    min_hit3 = config.setting("search.eval_min_hit3")
    min_mrr = config.setting("search.eval_min_mrr")
    lead = config.setting("search.eval_min_lead_over_lunr")
    failures = []
    for name, fig in report.splits.items():
        if name not in GATED_SPLITS:
            continue
        if fig.hit3 < min_hit3:
            failures.append(f"{name}: hit@3 {fig.hit3:.3f} is below search.eval_min_hit3 "
                            f"{min_hit3}")
        if fig.mrr < min_mrr:
            failures.append(f"{name}: MRR {fig.mrr:.3f} is below search.eval_min_mrr {min_mrr}")
        base = lunr.splits.get(name) if lunr is not None else None
        if base is not None and fig.hit3 - base.hit3 < lead:
            failures.append(f"{name}: hit@3 leads lunr by {fig.hit3 - base.hit3:+.3f}, less "
                            f"than search.eval_min_lead_over_lunr {lead}")
    return failures


# --------------------------------------------------------------------------- lunr baseline

_LUNR_WORD = re.compile(r"[^\W_]+")


def lunr_searcher(search_index_json: Path) -> Callable[[str, int], list[str]]:
    """Material's search, rebuilt with lunr.py: query -> page URLs, best first."""
    from lunr import lunr
    from lunr.query import Query as LunrQuery

    from .site import LUNR_TITLES_KEY

    data = json.loads(Path(search_index_json).read_text(encoding="utf-8"))
    if data.get(LUNR_TITLES_KEY):
        raise HelpgenError(f"{search_index_json} holds page titles only (the build wrote the "
                           "static search bundle): build with 'search.static_bundle: false' "
                           "to compare with Material's own search", exit_code=2)
    docs = [{"id": str(i), "title": d.get("title", ""), "text": d.get("text", "")}
            for i, d in enumerate(data["docs"])]
    locations = [d["location"] for d in data["docs"]]
    idx = lunr(ref="id", fields=[{"field_name": "title", "boost": 1000}, "text"],
               documents=docs)

    def ask(query: str, limit: int) -> list[str]:
        words = [w.lower() for w in _LUNR_WORD.findall(query)]
        if not words:
            return []
        q = idx.create_query()
        for w in words:
            q.term(w, use_pipeline=True)
            q.term(w, use_pipeline=False, wildcard=LunrQuery.WILDCARD_TRAILING, boost=0.5)
        urls: list[str] = []
        for r in idx.query(q):
            url = locations[int(r["ref"])].split("#", 1)[0]
            if url not in urls:
                urls.append(url)
            if len(urls) >= limit:
                break
        return urls

    return ask


def run_lunr(config: Config, eval_file: Path | str, site_dir: Path | str,
             version: str = "latest", limit: int = 10) -> Report:
    """Ask Material's own (lunr) search the same questions over each market's built site."""
    from . import content

    questions = load_questions(Path(eval_file), config)
    articles = [a for a in content.load(config).articles if a.kind == "article"]
    by_url = {a.url: a.id for a in articles}
    audience = {a.id: a.audience for a in articles}
    topic = {a.id: a.topic for a in articles}
    outcomes = []
    for market in dict.fromkeys(q.market for q in questions):
        path = Path(site_dir) / market / _site_version(Path(site_dir) / market, version)
        ask = lunr_searcher(path / "search" / "search_index.json")
        for q in (q for q in questions if q.market == market):
            ids = [by_url[u] for u in ask(q.q, limit * 3) if u in by_url]
            ids = [i for i in ids if (not q.audience or audience[i] == q.audience)
                   and (not q.topic or topic[i] == q.topic)]  # the same filters, applied after
            outcomes.append(Outcome(q, tuple(dict.fromkeys(ids))[:limit]))
    return figures("lunr (Material's search)", _in_file_order(questions, outcomes))


def _site_version(market_dir: Path, version: str) -> str:
    versions = json.loads((market_dir / "versions.json").read_text(encoding="utf-8"))
    for v in versions:
        if v["version"] == version or version in v.get("aliases", []):
            return v["version"]
    raise HelpgenError(f"no site version {version!r} in {market_dir}; run helpgen build",
                       exit_code=2)
