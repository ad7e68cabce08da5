"""``helpgen eval``: measure ticket deflection (and search) against a built index.

The ticket set (``evals/tickets.yml``) holds drafts with the article ids that answer
them (``expect``) or ``expect: []`` for drafts nothing answers, each in the ``tune``,
``holdout``, ``final``, ``final2``, ``final3``, ``final4``, ``final5``, ``final6`` or
``reserve`` split.
For every split scored this reports, over the suggestions actually shown (after the model's threshold):

* answerable drafts: hit@1, hit@3 (an expected article among the first 1/3) and MRR;
* unanswerable drafts: the share given no suggestion at all;
* ties: the share of pairs among a draft's first three candidates that share a
  confidence while one is right and the other wrong;
* two baselines, top 3 each: ``search(subject + " " + title)`` and
  ``search_text(subject + title + description)``.

A plain run scores tune and holdout; ``final=True`` adds the final splits (never a gate)
and records the commit. ``fit=True`` refits :mod:`helpgen.deflect_model` on the tune
split with k-fold cross-validation (:func:`fit_model`) and writes it to
``deflection.model``. The gate fails when hit@3 is under ``deflection.eval_min_hit3``
or the unanswerable share under ``deflection.eval_min_unanswerable`` on tune or holdout.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from . import deflect, yamlpos
from .config import Config
from .errors import HelpgenError, Problem, raise_if

SPLITS = ("tune", "holdout", "final", "final2", "final3", "final4", "final5", "final6",
          "reserve")
#: Scored by a plain ``helpgen eval``; the final splits only with ``--final``.
DEFAULT_SPLITS = ("tune", "holdout")
#: Reported with ``--final``, never gated. ``final`` was scored once before the engine was
#: reworked, so it is no longer untouched; ``final2`` was written and committed after that
#: and scored once before the next engine change; ``final3`` was committed before that change
#: and scored once after it; ``final4`` was committed before the change after that and has
#: been scored several times since; ``final5`` was committed before the language-normalised
#: gate change after that and scored once at its end. ``final6`` was committed on its own
#: before the next engine change and has not been scored yet: the untouched one.
FINAL_SPLITS = ("final", "final2", "final3", "final4", "final5", "final6")
#: Reported with ``--final``, neither fitted on nor gated: drafts kept for a later gate
#: (German and Japanese drafts about English-only articles that, fitted on, made today's
#: gate worse: to its features they look like English near misses).
RESERVE_SPLITS = ("reserve",)
#: The split ``--fit`` learns from (k-fold cross-validated).
FIT_SPLIT = "tune"
FOLDS = 5
#: ``--fit`` picks the lowest threshold giving this share of unanswerable drafts nothing.
FIT_MIN_UNANSWERABLE = 0.95
ENTRY_KEYS = ("id", "split", "market", "category", "subject", "title", "description",
              "audience", "expect")
SWEEP = tuple(round(i * 0.01, 2) for i in range(0, 101))


@dataclass(frozen=True)
class EvalTicket:
    id: str
    split: str
    market: str
    ticket: deflect.Ticket
    expect: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Outcome:
    id: str
    split: str
    market: str
    expect: tuple[str, ...]
    shown: tuple[str, ...]  # suggested ids after the threshold, best first
    candidates: tuple[tuple[str, float], ...]  # (id, confidence) of every candidate
    baseline: tuple[str, ...]  # search(subject + " " + title): top 3 ids
    baseline_text: tuple[str, ...] = ()  # search_text(subject + title + description): top 3
    features: tuple[tuple[float, ...], ...] = ()  # the model's inputs, per candidate
    gate: float = 0.0  # the draft's probability that its first three answer it

    @property
    def answerable(self) -> bool:
        return bool(self.expect)

    def rank(self, ids: tuple[str, ...]) -> int | None:
        return next((i + 1 for i, x in enumerate(ids) if x in self.expect), None)

    def ties(self) -> tuple[int, int]:
        """(pairs of candidates sharing a confidence while one is right and the other
        wrong, all pairs) among the first three candidates and the shown ones."""
        first = [c for c in self.candidates[:3]]
        n = bad = 0
        for i in range(len(first)):
            for j in range(i + 1, len(first)):
                n += 1
                (a, ca), (b, cb) = first[i], first[j]
                if round(ca, 4) == round(cb, 4) and ((a in self.expect) != (b in self.expect)):
                    bad += 1
        return bad, n


@dataclass(frozen=True)
class Figures:
    answerable: int
    unanswerable: int
    hit1: float | None
    hit3: float | None
    mrr: float | None
    unanswerable_empty: float | None  # share of unanswerable drafts given nothing
    baseline_hit3: float | None  # search(subject + " " + title)
    baseline_unanswerable_empty: float | None
    baseline_text_hit3: float | None = None  # search_text(subject + title + description)
    baseline_text_unanswerable_empty: float | None = None
    tied_pairs: float | None = None  # share of same-draft pairs tied while right/wrong


@dataclass
class EvalReport:
    file: str
    min_confidence: float
    splits: dict[str, Figures]
    outcomes: list[Outcome]
    thresholds: dict[str, float]
    failures: list[str] = field(default_factory=list)
    sweep: list[dict[str, float]] = field(default_factory=list)
    recommended: float | None = None
    search: dict[str, Any] | None = None
    search_text: str = ""
    commit: str = ""  # with --final: the commit the final split was scored on
    fitted: dict[str, Any] | None = None  # with --fit: cross-validated figures, model file

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        out = {
            "file": self.file, "min_confidence": self.min_confidence,
            "splits": {k: asdict(v) for k, v in self.splits.items()},
            "thresholds": self.thresholds, "passed": self.passed, "failures": self.failures,
            "misses": [m for m in (_miss(o) for o in self.outcomes) if m],
        }
        if self.sweep:
            out["sweep"] = self.sweep
            out["recommended_min_confidence"] = self.recommended
        if self.search is not None:
            out["search"] = self.search
        if self.commit:
            out["commit"] = self.commit
        if self.fitted is not None:
            out["fit"] = self.fitted
        return out


def _miss(o: Outcome) -> dict[str, Any] | None:
    if o.answerable and o.rank(o.shown[:3]) is None:
        return {"id": o.id, "split": o.split, "expect": list(o.expect), "shown": list(o.shown)}
    if not o.answerable and o.shown:
        return {"id": o.id, "split": o.split, "expect": [], "shown": list(o.shown)}
    return None


# --------------------------------------------------------------------------- loading

def load(config: Config, path: Path) -> list[EvalTicket]:
    """Read and validate the ticket set; every problem names file and line."""
    rel = str(path.relative_to(config.root)) if path.is_relative_to(config.root) else str(path)
    if not path.is_file():
        raise HelpgenError(f"ticket evaluation set not found: {path} (pass --file)",
                           exit_code=2)
    try:
        loc = yamlpos.load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise HelpgenError(f"invalid YAML: {exc.problem}", rel, mark.line + 1 if mark else None,
                           exit_code=2) from None
    data = loc.data if isinstance(loc.data, dict) else {}
    entries = data.get("tickets")
    if not isinstance(entries, list) or not entries:
        raise HelpgenError("the file needs a non-empty 'tickets:' list", rel, 1, exit_code=2)
    problems: list[Problem] = []
    out: list[EvalTicket] = []
    seen: set[str] = set()
    max_chars = config.settings.get("deflection.max_field_chars", 4000)
    for i, e in enumerate(entries):
        line = loc.where("tickets", i)[0] or 1

        def bad(msg: str, key: str | None = None) -> None:
            at, col = loc.where("tickets", i, key, value=True) if key else (line, None)
            problems.append(Problem(msg, rel, at or line, col))

        if not isinstance(e, dict):
            bad("each ticket must be a mapping")
            continue
        for key in e:
            if key not in ENTRY_KEYS:
                bad(f"unknown key {key!r}; allowed: {', '.join(ENTRY_KEYS)}", key)
        tid = str(e.get("id") or "")
        if not tid or tid in seen:
            bad(f"'id' must be a unique name, got {tid!r}", "id")
        seen.add(tid)
        if e.get("split") not in SPLITS:
            bad(f"'split' must be one of {', '.join(SPLITS)}; got {e.get('split')!r}", "split")
        if e.get("market") not in config.markets:
            bad(f"'market' must be one of {', '.join(config.markets)}; got {e.get('market')!r}",
                "market")
        expect = e.get("expect")
        if not isinstance(expect, list) or not all(isinstance(x, str) for x in expect):
            bad("'expect' must be a list of article ids ([] when no article answers it)",
                "expect")
            expect = []
        try:
            ticket = deflect.Ticket.from_mapping(
                {k: e.get(k) for k in deflect.TICKET_FIELDS}, config.ticket_categories,
                config.audiences, max_chars,
                category_map=config.settings.get("deflection.category_map", {}))
        except HelpgenError as exc:
            bad(exc.problem.msg)
            continue
        if problems:
            continue
        out.append(EvalTicket(tid, e["split"], e["market"], ticket, tuple(expect), line))
    raise_if(problems, exit_code=2)
    return out


# --------------------------------------------------------------------------- running

@contextlib.contextmanager
def _searchers(index_dir: Path) -> Iterator[Any]:
    from .search import Searcher

    opened: dict[str, Any] = {}

    def get(market: str) -> Any:
        if market not in opened:
            opened[market] = Searcher(index_dir, market, "latest")
        return opened[market]

    try:
        yield get
    finally:
        for s in opened.values():
            s.close()


def run_tickets(config: Config, tickets: list[EvalTicket], index_dir: Path,
                min_confidence: float, model: Any = None) -> list[Outcome]:
    model = model or deflect.load_model(config)
    outcomes = []
    with _searchers(index_dir) as get:
        for t in tickets:
            s = get(t.market)
            result = deflect.suggest_with(s, t.ticket, deflect.MAX_LIMIT,
                                          min_confidence=min_confidence, model=model)
            baseline: tuple[str, ...] = ()
            query = " ".join(x for x in (t.ticket.subject, t.ticket.title) if x)
            if query.strip():
                with contextlib.suppress(HelpgenError):
                    baseline = tuple(h.id for h in s.search(query, limit=3).hits)
            baseline_text: tuple[str, ...] = ()
            text = " ".join(x for x in (t.ticket.subject, t.ticket.title,
                                        t.ticket.description) if x)
            if text.strip():
                with contextlib.suppress(HelpgenError):
                    baseline_text = tuple(h.id for h in s.search_text(text, limit=3).hits)
            outcomes.append(Outcome(
                t.id, t.split, t.market, t.expect, tuple(x.id for x in result.suggestions),
                tuple((x.id, x.confidence) for x in result.candidates), baseline,
                baseline_text, tuple(x.features for x in result.candidates),
                result.draft_confidence))
    return outcomes


def rescore(outcomes: list[Outcome], model: Any, threshold: float) -> list[Outcome]:
    """``outcomes`` with the confidences from ``model`` (same features, same order:
    search's)."""
    return [_with_probs(o, [model.probability(x) for x in o.features],
                        model.draft_probability(o.features), threshold) for o in outcomes]


def _with_probs(o: Outcome, probs: list[float], gate: float, threshold: float) -> Outcome:
    from . import deflect_model as dm

    cands = tuple((o.candidates[i][0], p) for i, p in enumerate(probs))
    shown = tuple(cands[i][0] for i in dm.shown(gate, len(cands), threshold,
                                                 deflect.MAX_LIMIT))
    return Outcome(o.id, o.split, o.market, o.expect, shown, cands, o.baseline,
                   o.baseline_text, o.features, gate)


def _ratio(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def figures(outcomes: list[Outcome], threshold: float | None = None) -> Figures:
    """Figures for ``outcomes``; with ``threshold``, re-thresholded from the candidates."""
    def shown(o: Outcome) -> tuple[str, ...]:
        if threshold is None:
            return o.shown
        if not o.candidates or o.gate < threshold:
            return ()
        return tuple(i for i, _ in o.candidates)

    ans = [o for o in outcomes if o.answerable]
    una = [o for o in outcomes if not o.answerable]
    ranks = [o.rank(shown(o)) for o in ans]
    ties = [o.ties() for o in outcomes]
    pairs = sum(n for _, n in ties)
    return Figures(
        answerable=len(ans), unanswerable=len(una),
        hit1=_ratio([1.0 if r == 1 else 0.0 for r in ranks]),
        hit3=_ratio([1.0 if r is not None and r <= 3 else 0.0 for r in ranks]),
        mrr=_ratio([1.0 / r if r else 0.0 for r in ranks]),
        unanswerable_empty=_ratio([0.0 if shown(o) else 1.0 for o in una]),
        baseline_hit3=_ratio([1.0 if o.rank(o.baseline) else 0.0 for o in ans]),
        baseline_unanswerable_empty=_ratio([0.0 if o.baseline else 1.0 for o in una]),
        baseline_text_hit3=_ratio([1.0 if o.rank(o.baseline_text) else 0.0 for o in ans]),
        baseline_text_unanswerable_empty=_ratio([0.0 if o.baseline_text else 1.0
                                                 for o in una]),
        tied_pairs=round(sum(b for b, _ in ties) / pairs, 4) if pairs else None,
    )


def fit_model(config: Config, outcomes: list[Outcome], min_unanswerable: float = 0.95
              ) -> tuple[Any, dict[str, Any]]:
    """Fit the deflection model on the :data:`FIT_SPLIT` drafts of ``outcomes``.

    :data:`FOLDS`-fold cross-validation (folds grouped by draft) gives pooled
    out-of-fold probabilities; the threshold is the lowest at which at least
    ``min_unanswerable`` of the unanswerable drafts get nothing (with
    :data:`~helpgen.deflect_model.THRESHOLD_MARGIN` above those it hides), and the
    precision/recall curve is computed from them too. The coefficients are then fitted
    on every drafts of the split. Returns (model, summary for the report)."""
    from . import deflect_model as dm

    train = [o for o in outcomes if o.split == FIT_SPLIT]
    drafts = [dm.Draft(o.id, o.features, tuple(int(i in o.expect) for i, _ in o.candidates),
                       o.answerable) for o in train]
    oof, gates = dm.cross_validate(drafts, FOLDS)
    threshold = dm.choose_threshold(drafts, gates, min_unanswerable)
    coefs, intercept = dm.fit([r for d in drafts for r in d.rows],
                              [y for d in drafts for y in d.labels])
    gcoefs, gintercept = dm.fit_gate(drafts)
    cv = dm.score(drafts, gates, threshold)
    oof_outcomes = [_with_probs(o, oof[o.id], gates[o.id], threshold) for o in train]
    pooled = figures(oof_outcomes)
    curve = [{k: round(v, 4) for k, v in r.items()} for r in dm.curve(drafts, gates)]
    info = {"fitted_on": f"{FIT_SPLIT} split, {len(drafts)} drafts, "
                         f"{sum(len(d.rows) for d in drafts)} candidates",
            "folds": FOLDS, "l2": dm.L2, "gate_l2": dm.GATE_L2,
            "min_unanswerable": min_unanswerable, "threshold_margin": dm.THRESHOLD_MARGIN,
            "cross_validated": {**cv, "baseline_hit3": pooled.baseline_hit3,
                                "baseline_text_hit3": pooled.baseline_text_hit3,
                                "hit1": pooled.hit1, "mrr": pooled.mrr,
                                "tied_pairs": pooled.tied_pairs},
            "curve": curve}
    model = dm.Model(coefs, intercept, threshold, info=info,
                     gate=dm.Gate(gcoefs, gintercept, threshold),
                     no_word_list_rarity=dm.NO_WORD_LIST_RARITY)
    return model, {"pooled": asdict(pooled), **{k: v for k, v in info.items()
                                                if k != "curve"}}


def git_commit(root: Path) -> str:
    """The commit ``root`` is checked out at (``+dirty`` with uncommitted changes), or
    ``unknown`` outside a git work tree."""
    import subprocess

    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], check=True, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def threshold_sweep(outcomes: list[Outcome]) -> tuple[list[dict[str, float]], float]:
    """Tune-split figures per threshold and the recommended threshold."""
    tune = [o for o in outcomes if o.split == "tune"]
    rows = []
    for th in SWEEP:
        f = figures(tune, th)
        rows.append({"min_confidence": th, "hit3": f.hit3 or 0.0,
                     "unanswerable_empty": f.unanswerable_empty or 0.0})
    means = [(r["hit3"] + r["unanswerable_empty"]) / 2 for r in rows]
    best = max(means)
    runs: list[list[float]] = []  # contiguous stretches of the best value
    for r, mean in zip(rows, means):
        if mean != best:
            continue
        if runs and round(r["min_confidence"] - runs[-1][-1], 2) <= 0.01:
            runs[-1].append(r["min_confidence"])
        else:
            runs.append([r["min_confidence"]])
    widest = max(runs, key=len)
    return rows, widest[(len(widest) - 1) // 2]


def run(config: Config, path: Path, index_dir: Path, *, search: bool = True,
        sweep: bool = False, min_confidence: float | None = None, final: bool = False,
        fit: bool = False) -> EvalReport:
    """Run the ticket set (and the search set when present); see the module docstring.

    ``final`` scores the final splits too (and records the commit); ``fit`` refits the
    model on the tune split and writes it to ``deflection.model`` before scoring."""
    tickets = load(config, Path(path))
    splits_run = SPLITS if final else DEFAULT_SPLITS
    tickets = [t for t in tickets if t.split in splits_run]
    configured = (config.settings.get("deflection.min_confidence", 0.0)
                  if min_confidence is None else min_confidence)
    model = deflect.load_model(config)
    if fit:  # measure the features as the model about to be fitted will read them
        from . import deflect_model as dm

        model = dataclasses.replace(model, no_word_list_rarity=dm.NO_WORD_LIST_RARITY)
    outcomes = run_tickets(config, tickets, Path(index_dir), configured, model)
    fitted = None
    if fit:
        import json

        model, fitted = fit_model(config, outcomes, FIT_MIN_UNANSWERABLE)
        target = config.root / str(config.settings.get("deflection.model",
                                                       deflect.DEFAULTS["deflection.model"]))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(model.as_dict(), indent=1) + "\n", encoding="utf-8")
        fitted["model_file"] = str(target)
        outcomes = rescore(outcomes, model, configured or model.threshold)
    threshold = configured or model.threshold
    splits = {name: figures([o for o in outcomes if o.split == name]) for name in splits_run}
    limits = {"hit3": config.settings.get("deflection.eval_min_hit3", 0.9),
              "unanswerable_empty": config.settings.get("deflection.eval_min_unanswerable", 0.9)}
    report = EvalReport(str(path), threshold, splits, outcomes, limits, fitted=fitted)
    if final:
        report.commit = git_commit(config.root)
    for name, f in splits.items():
        if name in FINAL_SPLITS or name in RESERVE_SPLITS:
            continue  # reported, never a gate: a gate would invite tuning on it
        if f.hit3 is not None and f.hit3 < limits["hit3"]:
            report.failures.append(f"{name}: hit@3 {f.hit3:.3f} is under "
                                   f"deflection.eval_min_hit3 = {limits['hit3']}")
        if f.unanswerable_empty is not None and f.unanswerable_empty < limits["unanswerable_empty"]:
            report.failures.append(
                f"{name}: only {f.unanswerable_empty:.3f} of unanswerable drafts got no "
                f"suggestion, under deflection.eval_min_unanswerable = "
                f"{limits['unanswerable_empty']}")
    if sweep:
        report.sweep, report.recommended = threshold_sweep(outcomes)
    if search:
        found = _search_eval(config, Path(index_dir), Path(path).parent / "search.yml")
        if found is not None:
            report.search, report.search_text, failures = found
            report.failures.extend(failures)
    return report


def _search_eval(config: Config, index_dir: Path, path: Path
                 ) -> tuple[dict[str, Any], str, list[str]] | None:
    """The search set (``search.yml`` beside the ticket set) through
    :mod:`helpgen.search_eval`: (figures, text, failures against ``search.eval_*``)."""
    from . import search_eval

    if not path.is_file():
        return None
    result = search_eval.run(config, path, index_dir)
    failures = [f"search {f}" for f in search_eval.check(config, result)]
    return result.as_dict(), result.format_text(), failures


# --------------------------------------------------------------------------- output

def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:5.3f}"


def format_text(report: EvalReport, verbose: bool = False) -> str:
    lines = [f"Ticket deflection: {report.file} (threshold {report.min_confidence:.4g})",
             f"  {'split':8} {'drafts':>6} {'hit@1':>6} {'hit@3':>6} {'MRR':>6} "
             f"{'no-answer':>9} {'ties':>6}   baselines hit@3 / no-answer: "
             "search(subject title)  search_text(all)"]

    def row(name: str, f: Figures) -> str:
        return (f"  {name:8} {f.answerable:>3}+{f.unanswerable:<2} {_fmt(f.hit1):>6} "
                f"{_fmt(f.hit3):>6} {_fmt(f.mrr):>6} {_fmt(f.unanswerable_empty):>9} "
                f"{_fmt(f.tied_pairs):>6}   {'':29}{_fmt(f.baseline_hit3)} / "
                f"{_fmt(f.baseline_unanswerable_empty)}   {_fmt(f.baseline_text_hit3)} / "
                f"{_fmt(f.baseline_text_unanswerable_empty)}")

    for name, f in report.splits.items():
        lines.append(row(name, f))
    if report.fitted is not None:
        cv = report.fitted["pooled"]
        lines.append(row("tune-oof", Figures(**cv)) + "   (pooled out-of-fold, "
                     f"{report.fitted['folds']} folds)")
        lines.append(f"  model written to {report.fitted['model_file']}")
    lines.append(f"  thresholds: hit@3 >= {report.thresholds['hit3']}, no-answer >= "
                 f"{report.thresholds['unanswerable_empty']} on tune and holdout (the final "
                 "splits are reported, never gated)")
    if report.commit:
        lines.append(f"  final splits scored on commit {report.commit} (final: no longer "
                     "untouched; final2, final3 and final4: scored many times; final5: scored once, "
                     "on e029937, at the end of the change it was written for; final6: "
                     "untouched)")
    misses = [o for o in report.outcomes if _miss(o)]
    if misses:
        lines.append("  misses:")
        for o in misses:
            want = ", ".join(o.expect) or "nothing"
            lines.append(f"    [{o.split}] {o.id} ({o.market}): expected {want}; shown "
                         f"{', '.join(o.shown[:3]) or 'nothing'}")
    if verbose:
        lines.append("  every draft:")
        for o in report.outcomes:
            cands = ", ".join(f"{i} {c:.2f}" for i, c in o.candidates[:3])
            lines.append(f"    [{o.split}] {o.id}: expect {', '.join(o.expect) or '-'}; "
                         f"shown {', '.join(o.shown[:3]) or '-'}; candidates {cands}")
    if report.sweep:
        lines.append("  threshold sweep (tune split):")
        for r in report.sweep:
            if round(r["min_confidence"] * 100) % 5 and r["min_confidence"] != report.recommended:
                continue
            mark = "  <- recommended" if r["min_confidence"] == report.recommended else ""
            lines.append(f"    min_confidence {r['min_confidence']:.2f}: hit@3 "
                         f"{r['hit3']:.3f}  no-answer {r['unanswerable_empty']:.3f}{mark}")
    if report.search_text:
        lines.append("Search evaluation (evals/search.yml), " + report.search_text.rstrip())
    lines.append("PASS" if report.passed else "FAIL")
    return "\n".join(lines) + "\n"
