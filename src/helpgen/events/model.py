"""Event records: the types, the untrusted-payload check (:func:`make_event`) and the
row check every store applies before writing (:func:`check_row`)."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from ..errors import HelpgenError
from ..privacy import mask

#: Every event type, with what it means (the docs and the report use this table).
EVENT_TYPES: Mapping[str, str] = {
    "suggestion_shown": "the ticket page showed suggestions for a draft",
    "article_opened": "a suggested article was opened from the ticket page",
    "solved": "\"this answered my question\": the draft was not filed",
    "irrelevant": "\"not what I need\" on a suggested article",
    "ticket_submitted_anyway": "the draft was submitted as a ticket after suggestions",
    "helpful": "\"Was this helpful?\" yes, at the end of an article",
    "not_helpful": "\"Was this helpful?\" no, at the end of an article",
    "search": "a search (query masked and truncated) and its number of results",
    "search_no_answer": "a search that found nothing (query masked and truncated)",
    "no_suggestion": "a draft that got no suggestion, in its last state when it was handed "
                     "off or the page was left: category and masked key terms (in query), "
                     "once per draft_id",
}

#: Key terms kept of a no_suggestion event's query.
MAX_KEY_TERMS = 12

DRAFT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: A stored category: our code, or another system's name slugified (letters of any script).
CATEGORY_RE = re.compile(r"^[^\W_A-Z]+(?:-[^\W_A-Z]+)*$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MARKET_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$")
FIELDS = ("type", "market", "version", "article_id", "draft_id", "category", "query", "results",
          "ts")

@dataclass(frozen=True)
class Event:
    type: str
    market: str
    version: str = ""
    article_id: str | None = None
    draft_id: str | None = None
    category: str | None = None
    query: str | None = None
    results: int | None = None
    ts: str = field(default_factory=lambda: _now())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_event(
    payload: Mapping[str, Any],
    *,
    markets: Iterable[str],
    categories: Mapping[str, str] | Iterable[str] = (),
    query_max_chars: int = 100,
    now: str | None = None,
    category_map: Mapping[str, str] | None = None,
) -> Event:
    """Validate an untrusted event (e.g. a ``POST /api/events`` body) into an :class:`Event`.

    Raises :class:`HelpgenError` (exit code 2) naming each bad field and what is
    allowed. Unknown fields are refused, so ticket text cannot be smuggled in. Any
    ``category`` text is accepted (the form may be another system's): one of ours, or
    mapped to one by ``category_map``, is stored as our code; any other is stored as
    :func:`category_slug` so ``helpgen report`` can list it for mapping.
    """
    if not isinstance(payload, Mapping):
        raise HelpgenError("an event must be a JSON object", exit_code=2)
    problems: list[str] = []
    unknown = sorted(set(payload) - set(FIELDS) - {"ts"})
    if unknown:
        problems.append(f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: "
                        f"{', '.join(f for f in FIELDS if f != 'ts')}")
    etype = payload.get("type")
    if etype not in EVENT_TYPES:
        problems.append(f"'type' must be one of {', '.join(EVENT_TYPES)}; got {etype!r}")
    markets = tuple(markets)
    market = payload.get("market")
    if market not in markets:
        problems.append(f"'market' must be one of {', '.join(markets)}; got {market!r}")
    version = payload.get("version") or ""
    if version and (not isinstance(version, str) or not VERSION_RE.match(version)):
        problems.append(f"'version' must be a version name such as 2026.11; got {version!r}")
    article_id = payload.get("article_id") or None
    if article_id is not None and (not isinstance(article_id, str)
                                   or not SLUG_RE.match(article_id) or len(article_id) > 100):
        problems.append(f"'article_id' must be an article id (a slug); got {article_id!r}")
    draft_id = payload.get("draft_id") or None
    if draft_id is not None and (not isinstance(draft_id, str) or not DRAFT_ID_RE.match(draft_id)):
        problems.append("'draft_id' must be a random token of 8-64 letters, digits, '-' or '_'")
    category = payload.get("category") or None
    if category is not None:
        if not isinstance(category, str):
            problems.append(f"'category' must be a text; got {type(category).__name__}")
            category = None
        else:
            category = store_category(category, categories, category_map or {})
    query = payload.get("query")
    if query is not None and not isinstance(query, str):
        problems.append("'query' must be a text")
    if etype == "no_suggestion":
        if draft_id is None:
            problems.append("'draft_id' is required for a no_suggestion event")
        if isinstance(query, str):
            query = key_terms(query, query_max_chars)
    results = payload.get("results")
    if results is not None and (not isinstance(results, int) or isinstance(results, bool)
                                or results < 0):
        problems.append(f"'results' must be a whole number >= 0; got {results!r}")
    if problems:
        raise HelpgenError("invalid event: " + "; ".join(problems), exit_code=2)
    return Event(
        type=str(etype), market=str(market), version=version, article_id=article_id,
        draft_id=draft_id, category=category,
        query=mask(query, query_max_chars) if query else None, results=results,
        ts=now or _now(),
    )


CATEGORY_MAX_CHARS = 40


def key_terms(text: str, max_chars: int = 100) -> str:
    """A draft's key terms as stored for ``no_suggestion``: masked first, then its
    distinct words of two or more letters, lower case, at most :data:`MAX_KEY_TERMS`."""
    seen: list[str] = []
    for word in re.findall(r"\[[a-z]+\]|[^\W_]{2,}", mask(text[:2000], 2000).lower()):
        if word not in seen and not word.isdigit():
            seen.append(word)
        if len(seen) >= MAX_KEY_TERMS:
            break
    return " ".join(seen)[:max_chars].strip()


def category_slug(text: str) -> str | None:
    """A category name from any ticket form as a stored slug: masked (no e-mail
    addresses or numbers survive), accents dropped, lower case, words joined by ``-``,
    at most :data:`CATEGORY_MAX_CHARS` characters (``"Orders & Shipping"`` ->
    ``orders-shipping``; ``"返品・返金"`` -> ``返品-返金``). None when nothing is left."""
    from ..deflect import fold

    slug = "-".join(fold(mask(text[:400], 200)).split())[:CATEGORY_MAX_CHARS].strip("-")
    return slug or None


def store_category(raw: str, categories: Mapping[str, str] | Iterable[str],
                   category_map: Mapping[str, str]) -> str | None:
    """What is stored for the category ``raw``: our code, or :func:`category_slug`."""
    from ..deflect import clean, resolve_category

    raw = clean(raw, 400)
    known = categories if isinstance(categories, Mapping) else tuple(categories)
    code, _ = resolve_category(raw, known, category_map)
    return code or category_slug(raw)

def check_row(event: Event, query_max_chars: int = 100) -> tuple[Any, ...]:
    """The row :meth:`EventLog.record` writes for ``event``, every text column checked.

    The only free text stored is the query, masked here (again) with
    :func:`helpgen.privacy.mask`; every other text column must be a slug, a random token,
    a version name, a timestamp or a value from :data:`EVENT_TYPES`. Anything else (ticket
    text smuggled into ``category``, say) raises :class:`HelpgenError`.
    """
    problems = []
    checks = (("type", event.type, lambda v: v in EVENT_TYPES),
              ("market", event.market, lambda v: isinstance(v, str) and MARKET_RE.match(v)),
              ("version", event.version,
               lambda v: v == "" or isinstance(v, str) and VERSION_RE.match(v)),
              ("article_id", event.article_id,
               lambda v: v is None or isinstance(v, str) and len(v) <= 100
               and SLUG_RE.match(v)),
              ("draft_id", event.draft_id,
               lambda v: v is None or isinstance(v, str) and DRAFT_ID_RE.match(v)),
              ("category", event.category,
               lambda v: v is None or isinstance(v, str) and len(v) <= 100
               and CATEGORY_RE.match(v)),
              ("query", event.query, lambda v: v is None or isinstance(v, str)),
              ("results", event.results,
               lambda v: v is None or isinstance(v, int) and not isinstance(v, bool)),
              ("ts", event.ts, lambda v: isinstance(v, str) and TS_RE.match(v)))
    for name, value, ok in checks:
        if not ok(value):
            problems.append(f"{name}={value!r}")
    if problems:
        raise HelpgenError("refusing to store an event with free text or a bad value in "
                           f"{', '.join(problems)}: only the masked query may be free text; "
                           "ids and categories must be slugs such as submit-a-ticket",
                           exit_code=2)
    query = mask(event.query, query_max_chars) if event.query else None
    return (event.ts, event.type, event.market, event.version, event.article_id,
            event.draft_id, event.category, query or None, event.results)
