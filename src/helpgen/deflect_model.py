"""The deflection confidence: a small logistic model over per-candidate features.

Pure Python, no dependency. :data:`FEATURES` names what the engine measures for each
candidate article of a ticket draft (see :func:`helpgen.deflect.suggest_with`). A
:class:`Model` has two logistic parts over them: the candidate part turns one
candidate's features into the probability that it answers the draft (the confidence
shown); the :class:`Gate` turns the draft's first candidate (search's best) into the
probability that the first three answer it, and carries the threshold under which the
draft is shown nothing. :func:`fit` learns the
coefficients (L2-regularised Newton steps) and :func:`cross_validate` makes pooled
out-of-fold predictions with k folds grouped by draft, from which the threshold and the
precision/recall curve come. ``helpgen eval --fit`` writes the result to
``evals/deflection-model.json``; a project without one uses the copy shipped in the
package (:data:`DEFAULT_MODEL`), fitted on this repository's ticket set.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .errors import HelpgenError

#: What the engine measures per candidate, in this order.
FEATURES = (
    "position",        # 1 / place in the candidate list (search's order)
    "head_rank",       # 1 / rank in search(subject + title) (0: not there)
    "head_share",      # its search(subject + title) score / the best head hit's
    "head_margin",     # (that score - the next head hit's) / the best head score
    "text_rank",       # 1 / rank in search_text of the whole ticket (0: not there)
    "text_share",      # its search_text score / the best one's
    "text_margin",     # (its search_text score - the next hit's) / the best score
    "both_top3",       # among the first three of both searches (the baselines agree)
    "coverage",        # IDF-weighted share of the ticket's key words the article matches
    "head_coverage",   # the same over subject and title words only
    "title_match",     # share of the subject/title words found in the article's title
    "category_match",  # the ticket's category (ours) is one the article answers
    "category_other",  # the ticket has one of our categories, and this article lacks it
    "unknown_share",   # share of the ticket's key-word weight no article uses
    "head_unknown",    # share of the subject/title key words no article uses
    "head_words",      # share of the subject/title key words the article matches
    "head_rare",       # head_unknown, each word weighted by its rarity in the language
)
#: What the gate reads from the draft's first candidate: how strongly search found it
#: and how much of the draft it and the help center cover (its ranks are 1 by definition).
GATE_FEATURES = ("head_share", "text_share", "both_top3", "coverage", "head_coverage",
                 "title_match", "category_match", "category_other", "unknown_share",
                 "head_unknown", "head_rare")
DEFAULT_MODEL = Path(__file__).with_name("deflection-model.json")
L2 = 0.1
GATE_L2 = 3.0  # few drafts (one row each): a stronger penalty generalises better
#: how far above the unanswerable drafts it hides the gate's threshold is placed. Chosen
#: by nested cross-validation on the tune split: with no margin, a threshold picked on
#: four folds gave only 0.923 of the fifth fold's unanswerable drafts nothing; with 0.03,
#: 0.962 (hit@3 0.808 instead of 0.821).
THRESHOLD_MARGIN = 0.03
#: how rare a word counts (0-1) when no word list covers its script (Japanese, Chinese,
#: Thai, Korean), in place of 1: the mean rarity of the words no article uses in the
#: English and German tune drafts, whose frequencies the word lists give (0.29 and
#: 0.39). A model records the value its features were measured with.
NO_WORD_LIST_RARITY = 0.3


@dataclass(frozen=True)
class Gate:
    """Whether a draft is shown anything: a logistic model over :data:`GATE_FEATURES`
    of its first candidate, and the threshold its probability must reach."""

    coefficients: tuple[float, ...]  # one per GATE_FEATURES entry
    intercept: float
    threshold: float

    def probability(self, x: Sequence[float]) -> float:
        """``x`` is a full :data:`FEATURES` row (the draft's first candidate)."""
        return _sigmoid(self.intercept + sum(c * x[i] for c, i in zip(self.coefficients,
                                                                       _GATE_INDEX)))

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(GATE_FEATURES),
                "coefficients": {n: round(c, 6) for n, c in zip(GATE_FEATURES,
                                                                 self.coefficients)},
                "intercept": round(self.intercept, 6), "threshold": round(self.threshold, 6)}


_GATE_INDEX = tuple(FEATURES.index(n) for n in GATE_FEATURES)


def gate_row(x: Sequence[float]) -> tuple[float, ...]:
    return tuple(x[i] for i in _GATE_INDEX)


@dataclass(frozen=True)
class Model:
    coefficients: tuple[float, ...]  # one per FEATURES entry
    intercept: float
    threshold: float  # the gate's threshold (a draft's probability to be shown anything)
    source: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False)
    gate: Gate | None = None  # without one, the best candidate's probability is the gate's
    #: the rarity of a word in a script no word list covers (helpgen.deflect._rarity);
    #: 1 for models written before it was recorded
    no_word_list_rarity: float = 1.0

    def probability(self, x: Sequence[float]) -> float:
        z = self.intercept + sum(c * v for c, v in zip(self.coefficients, x))
        return _sigmoid(z)

    def draft_probability(self, rows: Sequence[Sequence[float]]) -> float:
        """The probability that the draft's first three candidates (``rows`` in search's
        order) answer it: the gate on the first, or the best candidate's probability."""
        if not rows:
            return 0.0
        if self.gate is not None:
            return self.gate.probability(rows[0])
        return max(self.probability(r) for r in rows)

    def as_dict(self) -> dict[str, Any]:
        out = {"features": list(FEATURES),
               "coefficients": {n: round(c, 6) for n, c in zip(FEATURES, self.coefficients)},
               "intercept": round(self.intercept, 6), "threshold": round(self.threshold, 6)}
        if self.gate is not None:
            out["gate"] = self.gate.as_dict()
        out["no_word_list_rarity"] = self.no_word_list_rarity
        return {**out, **self.info}


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def load(path: Path | str | None = None) -> Model:
    """The model in ``path`` (default: the one shipped in the package)."""
    path = Path(path) if path else DEFAULT_MODEL
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        coefs = data["coefficients"]
        missing = [n for n in FEATURES if n not in coefs]
        if missing:
            raise KeyError(", ".join(missing))
        gate = None
        if data.get("gate"):
            g = data["gate"]
            gate = Gate(tuple(float(g["coefficients"][n]) for n in GATE_FEATURES),
                        float(g["intercept"]), float(data["threshold"]))
        return Model(tuple(float(coefs[n]) for n in FEATURES), float(data["intercept"]),
                     float(data["threshold"]), str(path), gate=gate,
                     no_word_list_rarity=float(data.get("no_word_list_rarity", 1.0)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HelpgenError(f"cannot read the deflection model ({type(exc).__name__}: {exc}); "
                           "refit it with: helpgen eval --fit", str(path), exit_code=2) from None


def fit(rows: Sequence[Sequence[float]], labels: Sequence[int], l2: float = L2,
        iterations: int = 30) -> tuple[tuple[float, ...], float]:
    """Logistic regression by Newton's method with an L2 penalty (not on the intercept);
    features are used as they are (all are 0-1 shares). Returns (coefficients,
    intercept)."""
    n = (len(rows[0]) if rows else len(FEATURES)) + 1
    w = [0.0] * n  # w[0] is the intercept
    xs = [(1.0, *r) for r in rows]
    for _ in range(iterations):
        grad = [0.0] * n
        hess = [[0.0] * n for _ in range(n)]
        for x, y in zip(xs, labels):
            p = _sigmoid(sum(a * b for a, b in zip(w, x)))
            d = p - y
            s = p * (1 - p)
            for i in range(n):
                grad[i] += d * x[i]
                if s:
                    xi = s * x[i]
                    row = hess[i]
                    for j in range(i, n):
                        row[j] += xi * x[j]
        for i in range(n):
            for j in range(i):
                hess[i][j] = hess[j][i]
            if i:
                grad[i] += l2 * w[i]
                hess[i][i] += l2
            hess[i][i] += 1e-9
        step = _solve(hess, grad)
        w = [a - b for a, b in zip(w, step)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return tuple(w[1:]), w[0]


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (a small dense system)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-12:
            continue
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            if f:
                for k in range(c, n + 1):
                    m[r][k] -= f * m[c][k]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(m[r][r]) < 1e-12:
            continue
        out[r] = (m[r][n] - sum(m[r][k] * out[k] for k in range(r + 1, n))) / m[r][r]
    return out


@dataclass(frozen=True)
class Draft:
    """One draft's candidates for fitting: feature rows and whether each answers it."""

    id: str
    rows: tuple[tuple[float, ...], ...]
    labels: tuple[int, ...]
    answerable: bool


def fit_gate(drafts: Sequence[Draft], l2: float = GATE_L2) -> tuple[tuple[float, ...], float]:
    """The gate's coefficients: one row per draft with candidates (its first
    candidate's :data:`GATE_FEATURES`), labelled 1 when one of its first three answers."""
    rows = [gate_row(d.rows[0]) for d in drafts if d.rows]
    labels = [int(any(d.labels[:3])) for d in drafts if d.rows]
    return fit(rows, labels, l2)


def cross_validate(drafts: Sequence[Draft], k: int = 5, l2: float = L2
                   ) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Out-of-fold candidate probabilities and gate probabilities per draft id (fold =
    position mod ``k`` in id order, so a draft's candidates stay together and the folds
    do not depend on file order)."""
    ordered = sorted(drafts, key=lambda d: d.id)
    out: dict[str, list[float]] = {}
    gates: dict[str, float] = {}
    for fold in range(k):
        train = [d for i, d in enumerate(ordered) if i % k != fold]
        test = [d for i, d in enumerate(ordered) if i % k == fold]
        coefs, b = fit([r for d in train for r in d.rows],
                       [y for d in train for y in d.labels], l2)
        gcoefs, gb = fit_gate(train)
        model = Model(coefs, b, 0.5, gate=Gate(gcoefs, gb, 0.5))
        for d in test:
            out[d.id] = [model.probability(r) for r in d.rows]
            gates[d.id] = model.draft_probability(d.rows)
    return out, gates


def shown(gate: float, count: int, threshold: float, limit: int = 3) -> list[int]:
    """Indexes of the candidates shown: none when the draft's gate probability is under
    ``threshold``, otherwise the first ``limit`` in the candidates' own order (search's)."""
    if not count or gate < threshold:
        return []
    return list(range(min(limit, count)))


def curve(drafts: Sequence[Draft], gates: dict[str, float]) -> list[dict[str, float]]:
    """For every distinct gate probability as a threshold: hit@3 on answerable drafts,
    share of unanswerable drafts given nothing, precision of the shown suggestions and
    recall (answerable drafts with a right one shown)."""
    cuts = sorted({round(gates[d.id], 6) for d in drafts} | {0.0, 1.0})
    return [{"threshold": t, **score(drafts, gates, t)} for t in cuts]


def score(drafts: Sequence[Draft], gates: dict[str, float], t: float) -> dict[str, float]:
    hits = empty = right = total = 0
    ans = sum(1 for d in drafts if d.answerable)
    una = len(drafts) - ans
    for d in drafts:
        idx = shown(gates[d.id], len(d.rows), t)
        if d.answerable:
            hits += any(d.labels[i] for i in idx)
        else:
            empty += not idx
        right += sum(d.labels[i] for i in idx)
        total += len(idx)
    return {"hit3": round(hits / ans, 4) if ans else 0.0,
            "unanswerable_empty": round(empty / una, 4) if una else 1.0,
            "precision": round(right / total, 4) if total else 1.0,
            "recall": round(hits / ans, 4) if ans else 0.0}


def choose_threshold(drafts: Sequence[Draft], gates: dict[str, float],
                     min_unanswerable: float = 0.95, margin: float = THRESHOLD_MARGIN
                     ) -> float:
    """The lowest threshold at which at least ``min_unanswerable`` of the unanswerable
    drafts get nothing (showing more can only raise hit@3), placed halfway to the next
    lower gate probability so it is not on a training point, and at least ``margin``
    above every unanswerable draft it hides: a threshold placed right on the training
    drafts lets more unanswerable drafts through on drafts it has not seen."""
    values = sorted({gates[d.id] for d in drafts})
    for i, t in enumerate(values):
        if score(drafts, gates, t)["unanswerable_empty"] >= min_unanswerable:
            lower = values[i - 1] if i else 0.0
            hidden = [gates[d.id] for d in drafts if not d.answerable and gates[d.id] < t]
            # (t + lower) / 2 shows the same as t: nothing lies in between
            return min(1.0, max((t + lower) / 2, max(hidden, default=0.0) + margin))
    return 1.0
