"""The deflection confidence: a small logistic model over per-candidate features.

Pure Python, no dependency. :data:`FEATURES` names what the engine measures for each
candidate article of a ticket draft (see :func:`helpgen.deflect.suggest_with`);
:class:`Model` turns them into a probability that the article answers the draft, and
carries the threshold under which nothing is shown. :func:`fit` learns the
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
    "text_share",      # whole-ticket search_text score / the best candidate's
    "text_rank",       # 1 / rank in search_text of the whole ticket (0: not there)
    "text_margin",     # (its search_text score - the next hit's) / the best score
    "head_share",      # search(subject + title) score / the best head hit's
    "head_rank",       # 1 / rank in search(subject + title) (0: not there)
    "coverage",        # IDF-weighted share of the ticket's key words the article matches
    "head_coverage",   # the same over subject and title words only
    "title_match",     # share of the subject/title words found in the article's title
    "category_match",  # the ticket's category (ours) is one the article answers
    "category_other",  # the ticket has one of our categories, and this article lacks it
    "unknown_share",   # share of the ticket's key-word weight no article uses
    "best_coverage",   # the highest coverage of any candidate of this draft
)
DEFAULT_MODEL = Path(__file__).with_name("deflection-model.json")
L2 = 0.1


@dataclass(frozen=True)
class Model:
    coefficients: tuple[float, ...]  # one per FEATURES entry
    intercept: float
    threshold: float  # a suggestion needs at least this probability
    source: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def probability(self, x: Sequence[float]) -> float:
        z = self.intercept + sum(c * v for c, v in zip(self.coefficients, x))
        return _sigmoid(z)

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES),
                "coefficients": {n: round(c, 6) for n, c in zip(FEATURES, self.coefficients)},
                "intercept": round(self.intercept, 6), "threshold": round(self.threshold, 6),
                **self.info}


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
        return Model(tuple(float(coefs[n]) for n in FEATURES), float(data["intercept"]),
                     float(data["threshold"]), str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HelpgenError(f"cannot read the deflection model ({type(exc).__name__}: {exc}); "
                           "refit it with: helpgen eval --fit", str(path), exit_code=2) from None


def fit(rows: Sequence[Sequence[float]], labels: Sequence[int], l2: float = L2,
        iterations: int = 30) -> tuple[tuple[float, ...], float]:
    """Logistic regression by Newton's method with an L2 penalty (not on the intercept);
    features are used as they are (all are 0-1 shares). Returns (coefficients,
    intercept)."""
    n = len(FEATURES) + 1
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


def cross_validate(drafts: Sequence[Draft], k: int = 5, l2: float = L2
                   ) -> dict[str, list[float]]:
    """Out-of-fold probabilities per draft id (fold = position mod ``k`` in id order,
    so a draft's candidates stay together and the folds do not depend on file order)."""
    ordered = sorted(drafts, key=lambda d: d.id)
    out: dict[str, list[float]] = {}
    for fold in range(k):
        train = [d for i, d in enumerate(ordered) if i % k != fold]
        test = [d for i, d in enumerate(ordered) if i % k == fold]
        coefs, b = fit([r for d in train for r in d.rows],
                       [y for d in train for y in d.labels], l2)
        model = Model(coefs, b, 0.5)
        for d in test:
            out[d.id] = [model.probability(r) for r in d.rows]
    return out


def shown(probs: Sequence[float], threshold: float, limit: int = 3) -> list[int]:
    """Indexes of the candidates shown: probability >= threshold, best first."""
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    return [i for i in order if probs[i] >= threshold][:limit]


def curve(drafts: Sequence[Draft], probs: dict[str, list[float]]) -> list[dict[str, float]]:
    """For every distinct probability as a threshold: hit@3 on answerable drafts, share
    of unanswerable drafts given nothing, precision of the shown suggestions and recall
    (answerable drafts with a right one shown)."""
    cuts = sorted({round(p, 6) for d in drafts for p in probs[d.id]} | {0.0, 1.0})
    rows = []
    for t in cuts:
        rows.append({"threshold": t, **score(drafts, probs, t)})
    return rows


def score(drafts: Sequence[Draft], probs: dict[str, list[float]], t: float
          ) -> dict[str, float]:
    hits = empty = right = total = 0
    ans = sum(1 for d in drafts if d.answerable)
    una = len(drafts) - ans
    for d in drafts:
        idx = shown(probs[d.id], t)
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


def choose_threshold(drafts: Sequence[Draft], probs: dict[str, list[float]],
                     min_unanswerable: float = 0.95) -> float:
    """The lowest threshold at which at least ``min_unanswerable`` of the unanswerable
    drafts get nothing (showing more can only raise hit@3), placed halfway to the next
    lower probability so it is not on a training point."""
    values = sorted({p for d in drafts for p in probs[d.id]})
    for i, t in enumerate(values):
        if score(drafts, probs, t)["unanswerable_empty"] >= min_unanswerable:
            lower = values[i - 1] if i else 0.0
            return (t + lower) / 2  # shows the same as t: nothing lies in between
    return 1.0
