"""Ticket deflection: the articles that answer a support ticket before it is filed.

Pure logic over an open :class:`helpgen.search.Searcher` (no MkDocs, no Whoosh here).
:func:`suggest` opens the market's index; :func:`suggest_with` takes an open one (the
server keeps one per market and version); :func:`suggest_payload` is the
``POST /api/suggest`` request handling.

What a ticket has that a search query lacks, and how it is used:

* **Subject and title** are short and on-topic: they are spell-corrected like a search
  query (``submt tikcet`` -> ``submit ticket``) and their words weigh fully.
* **The description** is long free text: its distinct words (up to
  :data:`MAX_DESCRIPTION_WORDS`) join an any-word query and weigh
  :data:`DESCRIPTION_WEIGHT` each in the coverage below.
* **The category** picked in the form: whether an article lists it in
  ``ticket_categories`` is one of the model's features (people pick the wrong category
  too, so it is a signal, not a filter). The form may be another system's, so any text
  is accepted: :func:`resolve_category` maps it to one of ours
  (``deflection.category_map``, our codes and titles, compared case- and
  accent-insensitively); anything else is ignored by the scorer and echoed back as
  ``category_ignored``.

The candidates are the hits of ``search(subject + title)`` in its order, then those
only the whole ticket's ``search_text`` finds: search's own ranking, never re-ranked,
so what is shown is never ranked worse than the search box would rank it. A small
fitted logistic model (:mod:`helpgen.deflect_model`) decides whether to show them: its
gate reads the first candidate (its search scores and margins, *coverage* - the
IDF-weighted share of the ticket's key words it matches, each word checked alone with
synonyms -, the share of subject/title words in its title, category agreement, and how
much of the ticket no article mentions, weighted by how rare those words are in the
language) and gives the probability that the first three answer the draft; under the
threshold (chosen by ``helpgen eval --fit`` with cross-validation on the tune split of
``evals/tickets.yml``) the draft gets nothing. Each shown candidate's confidence (0-1)
is the model's per-candidate probability that it answers the draft.

Input is untrusted: every field is cleaned and trimmed to a documented maximum
(``deflection.max_field_chars``; subject and title a tenth of it); markup, query
syntax, SQL, emoji or 10,000 characters are plain text and never raise.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import HelpgenError

TICKET_FIELDS = ("subject", "category", "title", "description", "audience")
API_FIELDS = ("market", "version", "limit", "draft_id") + TICKET_FIELDS
MAX_LIMIT = 10
MAX_HEAD_WORDS = 16
MAX_DESCRIPTION_WORDS = 30
DESCRIPTION_WEIGHT = 0.4
CORRECTED_CREDIT = 0.8  # a word matched only after spelling correction counts less
CATEGORY_CREDIT = 0.8  # a word only the title of a category the article declares names
UNKNOWN_DF = 0.5  # document frequency assumed for a word no article uses
BM25_WEIGHT = 0.3  # share of the ranking score from the whole ticket's BM25 score
CANDIDATES = 12
#: word frequencies (log10 of the share of running text) from "common" (1 in 10,000:
#: "forgot") over a span of three orders of magnitude to "rare" (1 in 10,000,000)
RARITY_COMMON = 4.0
RARITY_SPAN = 3.0
MIN_SLIP_CHARS = 4  # shorter words in no word list are not read as typing slips
_WORD_RE = re.compile(r"[^\W_]+", re.U)
_CJK_RE = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                     "\uac00-\ud7af\uff66-\uff9f]")
_JA_RE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
#: kanji or katakana stretches of two or more characters, or Latin words inside the run
_JA_CONTENT_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々]{2,}"
                            "|[\u30a0-\u30ff\uff66-\uff9f]{2,}|[^\\W\\d_\u3040-\u30ff"
                            "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]{2,}")
DEFAULTS: Mapping[str, Any] = {
    "deflection.min_confidence": 0.0,
    "deflection.model": "evals/deflection-model.json",
    "deflection.category_boost": 0.25,
    "deflection.max_field_chars": 4000,
    "deflection.category_map": {},
}


# --------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Ticket:
    """A ticket draft; every field may be empty. Build it with :meth:`from_mapping`."""

    subject: str = ""
    category: str = ""
    title: str = ""
    description: str = ""
    audience: str = ""
    category_ignored: str = ""  # the category as sent when it is none of ours

    @property
    def head(self) -> str:
        """Subject and title: the short, on-topic part."""
        return " ".join(t for t in (self.subject, self.title) if t)

    @property
    def empty(self) -> bool:
        return not (self.head or self.description)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], categories: Mapping[str, str] | tuple = (),
                     audiences: Mapping[str, Any] | tuple = (), max_chars: int = 4000,
                     ignore: tuple[str, ...] = (),
                     category_map: Mapping[str, str] | None = None) -> Ticket:
        """Validate and clean an untrusted mapping; raises one error listing every field.

        Unknown keys, non-text values or an unknown ``audience`` are usage errors (exit
        code 2) naming the allowed values. Any ``category`` text is accepted and resolved
        with :func:`resolve_category`. Text is cleaned and trimmed: ``description`` to
        ``max_chars``, the other fields to a tenth of it.
        """
        if not isinstance(data, Mapping):
            raise HelpgenError("a ticket must be a JSON object with subject, category, title, "
                               "description", exit_code=2)
        problems = []
        unknown = [k for k in data if k not in TICKET_FIELDS and k not in ignore]
        if unknown:
            problems.append(f"unknown field(s) {', '.join(map(repr, map(str, unknown)))}; "
                            f"allowed: {', '.join(TICKET_FIELDS + ignore)}")
        values: dict[str, str] = {}
        for name in TICKET_FIELDS:
            value = data.get(name)
            if value is None:
                value = ""
            if not isinstance(value, str):
                problems.append(f"'{name}' must be a text, got {type(value).__name__}")
                value = ""
            limit = max_chars if name == "description" else max(max_chars // 10, 20)
            values[name] = clean(value, limit)
        if values["category"]:
            values["category"], values["category_ignored"] = resolve_category(
                values["category"], categories, category_map or {})
        audience = values["audience"]
        if audience and audiences and audience not in audiences:
            problems.append(f"'audience' {audience!r} is not an audience; allowed: "
                            f"{', '.join(audiences)}")
        if problems:
            raise HelpgenError("invalid ticket: " + "; ".join(problems), exit_code=2)
        return cls(**values)


@dataclass(frozen=True)
class Suggestion:
    """One suggested article: the search result record plus confidence and reason."""

    id: str
    title: str
    url: str  # site path with the version resolved, like search hits: "/us/2026.11/..."
    source: str
    snippet: str
    summary: str
    audience: str
    topic: str
    language: str
    score: float  # the confidence (suggestions keep search's order, see the module doc)
    confidence: float  # 0-1, compared with deflection.min_confidence
    reason: str
    category_match: bool = False
    features: tuple[float, ...] = field(default=(), repr=False)  # the model's inputs

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "url": self.url, "source": self.source,
                "score": round(self.score, 4), "snippet": self.snippet, "summary": self.summary,
                "audience": self.audience, "topic": self.topic, "language": self.language,
                "confidence": round(self.confidence, 4), "reason": self.reason,
                "category_match": self.category_match}


@dataclass(frozen=True)
class Suggestions:
    ticket: Ticket
    market: str
    version: str  # resolved version, e.g. 2026.11
    suggestions: tuple[Suggestion, ...]  # confident ones, best first, at most ``limit``
    min_confidence: float  # the gate's threshold for draft_confidence
    candidates: tuple[Suggestion, ...] = field(default=(), repr=False)  # all, search's order
    draft_confidence: float = 0.0  # probability that the first three answer the draft


# --------------------------------------------------------------------------- categories

def fold(text: str) -> str:
    """``text`` for comparing category names: accents dropped, case folded, every run
    of other characters one space (``"Zahlungen & Auszahlung"`` ~ ``"zahlungen auszahlung"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD_RE.findall(unicodedata.normalize("NFKC", bare).casefold()))


def resolve_category(raw: str, categories: Mapping[str, Any] | tuple,
                     category_map: Mapping[str, str]) -> tuple[str, str]:
    """``(our category code, "")`` for a category sent by any ticket form, or
    ``("", raw)`` when it is none of ours.

    Tried in order: our code as is; ``category_map`` (an outside name -> our code);
    our codes and English titles. The last two compare :func:`fold`-ed text, so
    ``"PAYOUT"``, ``"payout"`` and ``"Pay-out"`` are one name. Without any declared
    categories every text is ignored.
    """
    if not raw:
        return "", ""
    if raw in categories:
        return raw, ""
    key = fold(raw)
    if key:
        for name, code in category_map.items():
            if fold(name) == key and code in categories:
                return code, ""
        titles = categories if isinstance(categories, Mapping) else {c: c for c in categories}
        for code, title in titles.items():
            if key in (fold(code), fold(str(title))):
                return code, ""
    return "", raw


# --------------------------------------------------------------------------- cleaning

def clean(text: str, max_chars: int) -> str:
    """NFKC, control/format characters dropped, whitespace collapsed, trimmed."""
    text = unicodedata.normalize("NFKC", text[: max_chars * 2])
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return " ".join(text.split())[:max_chars]


def load_model(config: Any) -> Any:
    """The project's fitted model (``deflection.model``, relative to the project), or
    the one shipped in the package when the project has none."""
    from . import deflect_model

    if config is not None:
        path = Path(config.root) / str(config.settings.get("deflection.model",
                                                          DEFAULTS["deflection.model"]))
        if path.is_file():
            return deflect_model.load(path)
    return deflect_model.load()


def _settings(config: Any) -> dict[str, Any]:
    out = dict(DEFAULTS)
    if config is not None:
        for key in DEFAULTS:
            if key in config.settings:
                out[key] = config.settings[key]
    return out


# --------------------------------------------------------------------------- engine

@dataclass
class _Word:
    text: str
    weight: float
    idf: float = 0.0
    total: int = 0  # articles that use it
    matched: dict[str, float] = field(default_factory=dict)  # doc id -> credit (0-1)
    in_native: bool = False  # an article in the market's language uses it (or a title names it)
    in_other: bool = False  # an English fallback article does (all articles, on English markets)


def _words(text: str, limit: int, seen: set[str]) -> list[str]:
    """Distinct words of ``text`` not in ``seen``, in order. Japanese and Chinese runs
    are cut into their kanji and katakana stretches (the content words; hiragana carries
    the grammar), so each is looked up alone; Thai and Korean runs stay whole."""
    out = []
    for m in _WORD_RE.finditer(text.lower()):
        for w in _JA_CONTENT_RE.findall(m.group(0)) if _JA_RE.search(m.group(0)) else (
                m.group(0),):
            if w in seen or w.isdigit() or (len(w) < 2 and not _CJK_RE.match(w)):
                continue
            seen.add(w)
            out.append(w)
            if len(out) >= limit:
                return out
    return out


def suggest_with(searcher: Any, ticket: Ticket, limit: int = 3, *,
                 min_confidence: float | None = None,
                 category_boost: float | None = None,
                 model: Any = None) -> Suggestions:
    """Rank the articles of an open searcher's market for ``ticket`` (see module doc).

    ``model`` is a :class:`helpgen.deflect_model.Model` (default: the one shipped in
    the package); ``min_confidence`` overrides its threshold when given and above 0.
    ``category_boost`` is accepted for compatibility and not used: category agreement
    is one of the model's features.
    """
    from . import deflect_model

    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise HelpgenError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}",
                           exit_code=2)
    model = model or deflect_model.load()
    threshold = min_confidence if min_confidence else model.threshold
    market, version = searcher.market, searcher.version
    if ticket.empty:
        if not ticket.category:
            return Suggestions(ticket, market, version, (), threshold)
        return Suggestions(ticket, market, version, tuple(
            _from_hit(h, 1.0, f"answers category {ticket.category!r}", True)
            for h in searcher.category_hits(ticket.category, limit,
                                            ticket.audience or None).hits), threshold,
            draft_confidence=1.0)
    audience = ticket.audience or None

    # 1. the head like a search query (spelling corrected), then the whole ticket
    head = ticket.head
    corrected = head
    head_hits: tuple = ()
    if _has_words(head):
        res = searcher.search(head, limit=CANDIDATES, audience=audience)  # with snippets
        corrected = res.suggestion or head
        head_hits = res.hits
    full = " ".join(t for t in (corrected, ticket.description) if t)
    if not _has_words(full):
        return Suggestions(ticket, market, version, (), threshold)
    whole = searcher.search_text(full, limit=CANDIDATES, audience=audience, snippets=False)
    in_category: set[str] = set()
    if ticket.category:  # the articles declaring it: a filter, no text query
        in_category = {h.id for h in searcher.category_hits(ticket.category, 1000,
                                                            audience).hits}

    # 2. coverage: each key word alone, IDF-weighted
    total_docs = max(int(searcher.meta.get("documents", 0) or 0), 1)
    seen: set[str] = set()
    words = [_Word(w, 1.0) for w in _words(corrected, MAX_HEAD_WORDS, seen)]
    head_count = len(words)
    words += [_Word(w, DESCRIPTION_WEIGHT)
              for w in _words(ticket.description, MAX_DESCRIPTION_WORDS, seen)]
    stop = _stop_words(searcher)
    head_words = [w for w in words[:head_count] if w.text not in stop]
    words = [w for w in words if w.text not in stop]
    # every key word against the candidates at once (unscored), then the unknown ones
    # that are typing slips of a word the articles use
    candidate_ids = list(dict.fromkeys([h.id for h in head_hits] + [h.id for h in whole.hits]))
    # the articles in the market's language join the look-ups, to tell which words only
    # they use (or only the English fallbacks): see _reachable
    native = searcher.native_ids()
    look_ids = candidate_ids + sorted(native.difference(candidate_ids))
    found = searcher.word_matches([w.text for w in words], look_ids, audience)
    fixes: dict[str, str] = {}
    for w in words:
        if not found[w.text][1]:
            fix = searcher.correction(w.text)
            if fix and is_slip(w.text, fix.lower()):
                fixes[w.text] = fix.lower()
    fixed = searcher.word_matches(list(fixes.values()), look_ids, audience) if fixes else {}
    by_category = searcher.category_matches([w.text for w in words], look_ids, audience)
    unknown = weight_total = 0.0
    rarity = _rarity(searcher, getattr(model, "no_word_list_rarity", 1.0))
    for w in words:
        ids, total = found[w.text]
        named_ids, named_total = by_category.get(w.text, (frozenset(), 0))
        credit = 1.0
        if not total and w.text in fixes and fixed[fixes[w.text]][1]:
            (ids, total), credit = fixed[fixes[w.text]], CORRECTED_CREDIT
            w.text = fixes[w.text]
        for doc_id in named_ids - ids:  # named by a category title the article declares
            w.matched[doc_id] = CATEGORY_CREDIT
        w.in_native = bool(ids & native or named_ids & native)
        w.in_other = total > len(ids & native) or named_total > len(named_ids & native)
        total = max(total, named_total)
        w.total = total
        w.idf = math.log(1 + total_docs / (total + UNKNOWN_DF))  # unknown words weigh most
        if total == 0:  # topical ("stripe", "gdpr") or narrative ("forgot", "weekend")?
            w.weight *= rarity(w.text)
            unknown += w.idf * w.weight
        weight_total += w.idf * w.weight
        for doc_id in ids:
            w.matched[doc_id] = credit
    reach = {side: _reachable(words, head_words, side) for side in (True, False)}
    unknown_share = unknown / weight_total if weight_total else 0.0

    # 3. the candidates in search's order: search(subject + title) first, then what
    #    only the whole ticket finds; the model scores each, and the draft's best score
    #    decides whether anything is shown at all
    head_unknown = (sum(1 for w in head_words if not w.total) / len(head_words)
                    if head_words else unknown_share)
    head_rare = (sum(rarity(w.text) for w in head_words if not w.total) / len(head_words)
                 if head_words else unknown_share)
    order: dict[str, Any] = {h.id: h for h in head_hits}
    for h in whole.hits:
        order.setdefault(h.id, h)
    text_rank = {h.id: i for i, h in enumerate(whole.hits)}
    head_rank = {h.id: i for i, h in enumerate(head_hits)}
    head_top = {h.id for h in head_hits[:3]}
    text_top = {h.id for h in whole.hits[:3]}
    ranked: list[Suggestion] = []
    for pos, (doc_id, hit) in enumerate(order.items()):
        matched = [w for w in words if doc_id in w.matched and w.weight]
        denominator, reach_head, head_denominator = reach[doc_id in native]
        coverage = sum(w.idf * w.weight * w.matched[doc_id] for w in matched) / denominator
        head_cov = (sum(w.idf * w.matched[doc_id] for w in reach_head if doc_id in w.matched)
                    / head_denominator if reach_head else coverage)
        in_cat = doc_id in in_category
        text_share, text_rr, text_margin = _rank_features(whole.hits, text_rank.get(doc_id))
        head_share, head_rr, head_margin = _rank_features(head_hits, head_rank.get(doc_id))
        x = (1.0 / (pos + 1), head_rr, head_share, head_margin, text_rr, text_share,
             text_margin, 1.0 if doc_id in head_top and doc_id in text_top else 0.0,
             coverage, head_cov, _title_match(hit.title, head_words),
             1.0 if in_cat else 0.0, 1.0 if ticket.category and not in_cat else 0.0,
             unknown_share, head_unknown,
             sum(1 for w in reach_head if doc_id in w.matched) / len(reach_head)
             if reach_head else coverage, head_rare)
        confidence = model.probability(x)
        top_words = [w.text for w in sorted(matched, key=lambda w: -w.idf * w.weight)][:5]
        reason = (f"matches {', '.join(repr(t) for t in top_words) or 'nothing'}"
                  f" ({coverage:.0%} of the ticket's key words)")
        if in_cat:
            reason += f"; answers category {ticket.category!r}"
        ranked.append(_from_hit(hit, confidence, reason, in_cat, score=confidence,
                                features=x))
    draft_confidence = model.draft_probability([s.features for s in ranked])
    chosen = tuple(ranked[:limit]) if ranked and draft_confidence >= threshold else ()
    if any(s.id not in head_rank for s in chosen):  # snippets of what only the
        snippets = {h.id: h.snippet for h in searcher.search_text(  # whole ticket found
            full, limit=CANDIDATES, audience=audience).hits}
        chosen = tuple(dataclasses.replace(s, snippet=snippets.get(s.id, s.snippet))
                       if s.id not in head_rank else s for s in chosen)
    return Suggestions(ticket, market, version, chosen, threshold, tuple(ranked),
                       draft_confidence)


def _reachable(words: list[_Word], head_words: list[_Word], native: bool
               ) -> tuple[float, list[_Word], float]:
    """(coverage denominator, head words, head coverage denominator) for a candidate
    written in the market's language (``native``) or an English fallback, over the key
    words such an article could contain: those no article uses (they count against every
    candidate) and those some article of its kind uses (or a category title it could
    declare names). On a German or Japanese market the words only the translated
    articles use (``neue``, ``beantragen``) cannot be in an English article, so they no
    longer count against it: a German draft about an English-only article is measured
    like an English draft about it. On an English market every article is of one kind
    and nothing changes."""
    def ok(w: _Word) -> bool:
        return not w.total or (w.in_native if native else w.in_other)

    head = [w for w in head_words if ok(w)]
    return (sum(w.idf * w.weight for w in words if ok(w)) or 1.0, head,
            sum(w.idf * w.weight for w in head) or 1.0)


def _rank_features(hits: tuple, i: int | None) -> tuple[float, float, float]:
    """(score / the best score, 1 / rank, (score - the next hit's) / the best score) of
    the hit at ``i`` in ``hits``; zeros when the candidate is not among them."""
    if i is None or not hits:
        return 0.0, 0.0, 0.0
    best = hits[0].score or 1.0
    following = hits[i + 1].score if i + 1 < len(hits) else 0.0
    return hits[i].score / best, 1.0 / (i + 1), (hits[i].score - following) / best


def _rarity(searcher: Any, no_word_list: float = 1.0) -> Callable[[str], float]:
    """How rare a word is in everyday language, 0 (as common as "forgot") to 1 (in no
    word list, like "instagram", or as rare as "paypal"), from the spelling
    dictionaries' word frequencies (loaded once per open searcher). A word the help
    center never uses says the draft is about something else when it is a rare, topical
    word; a common one ("forgot", "weekend") is only narrative. A word in no list that
    is one slip away from a listed word (``mistke``) is as rare as that word. A word in a
    script no word list covers (Japanese, Chinese, Thai, Korean) has no frequency to
    read: it weighs ``no_word_list`` (the model's ``no_word_list_rarity``; 1, "rare", for
    models fitted before it), so common Japanese words (``追加``, ``情報``) need not look
    like a draft about something else."""
    searcher._in_dictionary("a")  # loads the word lists of the index's languages
    checkers = list((getattr(searcher, "_dictionaries", None) or {}).values())

    def share(word: str) -> float:
        return max((d.word_frequency[word] / d.word_frequency.total_words
                    for d in checkers), default=0.0)

    def rarity(word: str) -> float:
        if _CJK_RE.search(word):
            return no_word_list
        best = share(word)
        if not best and len(word) >= MIN_SLIP_CHARS:
            best = max((share(fix) for d in checkers
                        if (fix := d.correction(word)) and fix != word), default=0.0)
        if not best:
            return 1.0
        return min(1.0, max(0.0, (-math.log10(best) - RARITY_COMMON) / RARITY_SPAN))

    return rarity


def _title_match(title: str, words: list[_Word]) -> float:
    """Share of the subject/title words found in an article's title (a word counts when
    it shares its first five letters with a title word; CJK words as substrings)."""
    if not words:
        return 0.0
    low = title.lower()
    stems = {t[:5] for t in _WORD_RE.findall(low)}
    found = sum(1 for w in words if (w.text in low if _CJK_RE.match(w.text)
                                     else w.text[:5] in stems))
    return found / len(words)


def _from_hit(hit: Any, confidence: float, reason: str, category_match: bool,
              score: float | None = None, features: tuple[float, ...] = ()) -> Suggestion:
    return Suggestion(
        id=hit.id, title=hit.title, url=hit.url, source=hit.source, snippet=hit.snippet,
        summary=hit.summary, audience=hit.audience, topic=hit.topic, language=hit.language,
        score=hit.score if score is None else score, confidence=confidence, reason=reason,
        category_match=category_match, features=features)


def require_input(ticket: Ticket) -> None:
    """Refuse a draft with nothing to match: no subject, title, description or category
    left after cleaning (exit code 2; the server answers 400)."""
    if ticket.empty and not ticket.category and not ticket.category_ignored:
        raise HelpgenError("empty ticket: give a subject, title, description or category "
                           "(nothing was left after cleaning)", exit_code=2)


def is_slip(typed: str, known: str) -> bool:
    """Whether ``typed`` is ``known`` with a letter left out, doubled or two swapped.

    The search layer corrects any unknown word to its nearest known one, which turns
    words the help center never mentions into look-alikes (``print`` -> ``point``,
    ``parcel`` -> ``panel``) and would make an unanswerable ticket look covered. The
    typing slips people make in a hurry keep the letters (``payot``, ``tikcet``,
    ``tallk``), so only those count.
    """
    a, b = Counter(typed), Counter(known)
    return a == b or sum(((a - b) + (b - a)).values()) == 1


def _stop_words(searcher: Any) -> frozenset[str]:
    """Stop words of the index's languages (plus question words people type)."""
    from . import analysis  # the search layer's analyzers

    return frozenset().union(*(analysis.stop_words(lang) for lang in searcher.languages))


def _has_words(text: str) -> bool:
    return bool(_WORD_RE.search(text or ""))


def suggest(ticket: Mapping[str, Any] | Ticket, market: str, version: str = "latest",
            limit: int = 3, index_dir: str | Path = "search_index", config: Any = None,
            *, min_confidence: float | None = None) -> Suggestions:
    """Suggestions for ``ticket`` on ``market``/``version`` from the index in ``index_dir``.

    ``ticket`` is a mapping with ``subject``, ``category``, ``title``, ``description``
    and optionally ``audience`` (any may be empty) or a :class:`Ticket`. ``config``
    supplies the ``deflection.*`` settings and validates category and audience; without
    it the defaults in :data:`DEFAULTS` apply. Only articles published for that market
    and version are in its index, so only they are suggested.
    """
    from .search import Searcher  # the index layer; imported here so tests can read DEFAULTS

    settings = _settings(config)
    if not isinstance(ticket, Ticket):
        ticket = Ticket.from_mapping(
            ticket, config.ticket_categories if config is not None else (),
            config.audiences if config is not None else (),
            settings["deflection.max_field_chars"],
            category_map=settings["deflection.category_map"])
    require_input(ticket)
    if config is not None:
        config.market(market)
    threshold = settings["deflection.min_confidence"] if min_confidence is None else min_confidence
    with Searcher(index_dir, market, version) as searcher:
        return suggest_with(searcher, ticket, limit, min_confidence=threshold,
                            model=load_model(config))


# --------------------------------------------------------------------------- HTTP API

def suggest_payload(body: Any, config: Any, index_dir: str | Path,
                    open_searcher: Callable[[str, str], Any] | None = None,
                    base_url: str = "") -> dict[str, Any]:
    """Handle a ``POST /api/suggest`` body; returns ``{"results": [...]}``.

    The body is a flat JSON object: ``market`` (default: default market), ``version``
    (default: the default alias), ``subject``, ``category``, ``title``,
    ``description``, ``audience``, ``limit`` (1-10, default 3) and ``draft_id`` (the
    page's random id of the draft; echoed back, never stored here). Each result is a
    :meth:`Suggestion.as_dict` record plus ``html_url``: ``base_url`` (the server's
    scheme and host, e.g. ``https://help.example.com``; empty gives a root-relative path)
    + ``/<market>/<version>/<url>``, like the ``html_url`` of Zendesk's suggestions.

    Invalid input raises :class:`HelpgenError` with ``exit_code`` 2 and a message
    naming each bad field (the server answers 400 with it). ``open_searcher(market,
    version)`` may return a cached open :class:`~helpgen.search.Searcher` (it is not
    closed here); without it the index is opened for this one request.
    """
    if not isinstance(body, Mapping):
        raise HelpgenError("the request body must be a JSON object", exit_code=2)
    settings = _settings(config)
    problems = []
    market = body.get("market") or config.default_market
    if not isinstance(market, str) or market not in config.markets:
        problems.append(f"'market' must be one of {', '.join(config.markets)}; got {market!r}")
    version = body.get("version") or config.default_alias
    if not isinstance(version, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
                                                         version):
        problems.append(f"'version' must be a version or alias such as latest; got {version!r}")
    limit = body.get("limit", 3)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        problems.append(f"'limit' must be a whole number from 1 to {MAX_LIMIT}; got {limit!r}")
    draft_id = body.get("draft_id")
    if draft_id is not None and (not isinstance(draft_id, str)
                                 or not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", draft_id)):
        problems.append("'draft_id' must be a random token of 8-64 letters, digits, '-' or '_'")
    try:
        ticket = Ticket.from_mapping(
            body, config.ticket_categories, config.audiences,
            settings["deflection.max_field_chars"], ignore=("market", "version", "limit",
                                                            "draft_id"),
            category_map=settings["deflection.category_map"])
    except HelpgenError as exc:
        problems.append(exc.problem.msg.removeprefix("invalid ticket: "))
        ticket = None
    if ticket is not None:
        try:
            require_input(ticket)
        except HelpgenError as exc:
            problems.append(exc.problem.msg)
    if problems or ticket is None:
        raise HelpgenError("invalid request: " + "; ".join(problems), exit_code=2)
    if open_searcher is None:
        from .search import Searcher

        with Searcher(index_dir, market, version) as searcher:
            result = suggest_with(searcher, ticket, limit,
                                  min_confidence=settings["deflection.min_confidence"],
                                  model=load_model(config))
    else:
        result = suggest_with(open_searcher(market, version), ticket, limit,
                              min_confidence=settings["deflection.min_confidence"],
                              model=load_model(config))
    results = []
    for s in result.suggestions:
        record = s.as_dict()
        record["html_url"] = f"{base_url.rstrip('/')}{s.url}"
        results.append(record)
    out: dict[str, Any] = {"results": results, "market": market, "version": version,
                           "resolved_version": result.version}
    if ticket.category_ignored:
        out["category_ignored"] = ticket.category_ignored
    if draft_id:
        out["draft_id"] = draft_id
    return out


# --------------------------------------------------------------------------- static fallback

STATIC_DIR = "assets/helpgen/suggest"


def static_payloads(config: Any, rendered: Any, limit: int | None = None) -> dict[str, Any]:
    """The JSON files a plain static host serves instead of ``POST /api/suggest``.

    ``<category>.json`` for every ticket category: the articles of this market build
    that declare the category (navigation order), at most ``deflection.static_limit``;
    ``index.json``: every article (id, title, url, summary, audience, categories,
    keywords) so the ticket page can rank them against the typed words in the browser,
    and so any page can find its own article id. Returns ``{file name: data}``.
    """
    limit = limit or config.settings.get("deflection.static_limit", 5)
    market, version = rendered.market, rendered.version
    pages = sorted(rendered.articles(), key=lambda p: (p.article.order, p.title))
    records = [{"id": p.article.id, "title": p.title, "url": p.url, "summary": p.summary,
                "audience": p.article.audience, "topic": p.article.topic,
                "language": p.language, "categories": list(p.article.ticket_categories),
                "keywords": list(p.keywords)} for p in pages]
    out: dict[str, Any] = {"index.json": {"market": market.code, "version": version,
                                          "articles": records}}
    for code, title in config.ticket_categories.items():
        results = [{k: r[k] for k in ("id", "title", "url", "summary", "audience", "topic")}
                   for r in records if code in r["categories"]][:limit]
        out[f"{code}.json"] = {"category": code, "title": title, "market": market.code,
                               "version": version, "results": results}
    return out


def write_static(config: Any, rendered: Any, site_dir: Path) -> list[Path]:
    """Write :func:`static_payloads` under ``<site_dir>/assets/helpgen/suggest/``."""
    import json

    folder = Path(site_dir) / STATIC_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in static_payloads(config, rendered).items():
        path = folder / name
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                        encoding="utf-8")
        written.append(path)
    return written
