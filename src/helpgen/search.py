"""Query -> ranked hits, read-only, from the index :mod:`helpgen.index` wrote.

:func:`search` answers one query. Servers and ticket deflection keep one
:class:`Searcher` open across many queries (``with Searcher(index_dir, "us") as s:``).

How a query is answered (``Searcher.search``):

1. The text is cleaned (control characters and NUL dropped, at most
   :data:`MAX_QUERY_CHARS` characters). Nothing in it is query syntax: quotes, ``AND``,
   ``*`` or ``:`` are plain characters, so any input is safe.
2. Words the index has never seen are corrected against the index's own vocabulary
   (Damerau-Levenshtein distance 1, or 2 for words of five letters or more; the most
   frequent candidate wins): ``refnud`` -> ``refund``. Known words cost one term look-up;
   only unknown ones pay for the fuzzy search. The corrected query is the did-you-mean
   suggestion.
3. Synonym groups from ``docs/_meta/synonyms.txt`` (copied into the index at build time)
   add the other terms of every group the query mentions, at a lower weight.
4. Each word is analysed in every language of the index (the market's and English) and
   looked up in the title, keywords, headings, summary and body fields of that language
   with decreasing weights; documents matching more of the query's words score higher.
5. Only the returned hits are highlighted: the best window of the article text with the
   matched words in ``<mark>``, HTML-escaped.

Nothing here imports MkDocs or Jinja: a cold ``helpgen search`` stays fast.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from whoosh import index as whoosh_index
from whoosh.query import And, Or, Query, Term

from . import analysis
from .errors import HelpgenError

MAX_QUERY_CHARS = 500  # longer queries are cut (search_text takes long texts)
MAX_QUERY_TERMS = 24
MAX_TEXT_TERMS = 80
SYNONYM_WEIGHT = 0.6
CORRECTION_WEIGHT = 0.9
SNIPPET_CHARS = 180
COORDINATION = 1.0  # Or(scale=...): bonus for matching more of the query's words


@dataclass(frozen=True)
class Hit:
    """One search result, the record every interface (CLI, HTTP, deflection) shares."""

    id: str
    title: str
    url: str  # site-relative URL inside the version, e.g. "partners/support-tickets/submit-a-ticket/"
    source: str  # docs-relative source file indexed, e.g. "partners/support-tickets/submit-a-ticket.de.md"
    score: float
    snippet: str  # HTML-escaped text with <mark>…</mark> around matched words
    summary: str
    audience: str
    topic: str
    language: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "url": self.url, "source": self.source,
                "score": round(self.score, 4), "snippet": self.snippet, "summary": self.summary,
                "audience": self.audience, "topic": self.topic, "language": self.language}


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    suggestion: str | None  # did-you-mean: the query with misspelt words corrected
    total: int  # documents matching (before ``limit``)
    market: str = ""
    version: str = ""  # the version the alias resolved to, e.g. "2026.11"


@dataclass(frozen=True)
class _Word:
    text: str  # lower-case word or CJK run as typed
    alternatives: tuple[tuple[str, float], ...]  # (text, weight): corrections


class Searcher:
    """An open index of one market and version; answers many queries.

    ``Searcher(index_dir, market, version="latest")`` resolves aliases, checks the schema
    version and keeps the Whoosh searcher open until :meth:`close` (or the end of a
    ``with`` block). Calls are serialised by a lock, so one instance may be shared
    between the threads of a server.

    * :meth:`search` - a query typed into a search box (typo correction, did-you-mean).
    * :meth:`search_text` - any-word matching over a long text such as a support ticket
      (for deflection): every distinct meaningful word of ``text`` (up to
      :data:`MAX_TEXT_TERMS`) plus synonyms, no typo correction, optional filters by
      ``audience`` and by ``categories`` (ticket categories an article answers). Hits come
      back best first with their BM25F scores.
    """

    def __init__(self, index_dir: str | Path = "search_index", market: str = "us",
                 version: str = "latest") -> None:
        path, resolved = analysis.resolve(Path(index_dir), market, version)
        self.meta = analysis.read_meta(path)
        self.path = path
        self.market = market
        self.version = resolved
        self.language: str = self.meta["language"]
        self.languages: tuple[str, ...] = tuple(self.meta["languages"])
        self.audiences: tuple[str, ...] = tuple(self.meta.get("audiences", ()))
        self.topics: tuple[str, ...] = tuple(self.meta.get("topics", ()))
        self._analyzers = {lang: analysis.analyzer(lang) for lang in self.languages}
        self._stop = frozenset().union(*(analysis.stop_words(lang) for lang in self.languages))
        self._synonyms = _Synonyms(analysis.read_json(path / analysis.SYNONYMS_FILE) or [],
                                   self._match_key)
        try:
            self._ix = whoosh_index.open_dir(str(path))
        except Exception as exc:  # damaged or foreign files
            raise HelpgenError(f"cannot open the search index at {path} ({exc}); rebuild "
                               "with helpgen build", exit_code=2) from None
        self._searcher = self._ix.searcher()
        self._lock = threading.Lock()

    # -- lifecycle
    def close(self) -> None:
        self._searcher.close()
        self._ix.close()

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public queries
    def search(self, query: str, limit: int = 10, audience: str | None = None,
               topic: str | None = None) -> SearchResult:
        """Ranked hits for a query typed by a person; see the module docstring."""
        if not isinstance(query, str) or not analysis.clean_text(query[:4 * MAX_QUERY_CHARS]):
            raise HelpgenError("empty query: type a few words to search for", exit_code=2)
        text = analysis.clean_text(query, MAX_QUERY_CHARS)
        filt = self._filter(audience, topic, None)
        limit = _check_limit(limit)
        with self._lock:
            words = self._words(text, MAX_QUERY_TERMS)
            words, suggestion = self._correct(words, text)
            q = self._query(words, text if suggestion is None else suggestion)
            return self._run(query, q, limit, filt, suggestion)

    def search_text(self, text: str, limit: int = 10, audience: str | None = None,
                    categories: Sequence[str] | None = None) -> SearchResult:
        """Any-word search over a long text (a ticket); see the class docstring."""
        cleaned = analysis.clean_text(text or "", 20_000)
        if not cleaned:
            raise HelpgenError("empty text: nothing to search for", exit_code=2)
        filt = self._filter(audience, None, categories)
        limit = _check_limit(limit)
        with self._lock:
            words = self._words(cleaned, MAX_TEXT_TERMS)
            q = self._query(words, cleaned)
            return self._run(text, q, limit, filt, None)

    # -- validation
    def _filter(self, audience: str | None, topic: str | None,
                categories: Sequence[str] | None) -> Query | None:
        parts: list[Query] = []
        if audience:
            if audience not in self.audiences:
                raise HelpgenError(f"unknown audience {audience!r}; allowed: "
                                   f"{', '.join(self.audiences)}", exit_code=2)
            parts.append(Term("audience", audience))
        if topic:
            if topic not in self.topics:
                raise HelpgenError(f"unknown topic {topic!r}; allowed: {', '.join(self.topics)}",
                                   exit_code=2)
            parts.append(Term("topic", topic))
        if categories:
            parts.append(Or([Term("ticket_categories", c) for c in categories]))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else And(parts)

    # -- query building
    def _match_key(self, text: str) -> tuple[str, ...]:
        """Stemmed words (all languages) + raw CJK runs: how synonyms are matched."""
        out: list[str] = []
        for m in analysis.TOKEN_RE.finditer(text.lower()):
            if m.group("cjk"):
                out.append(m.group(0))
                continue
            word = m.group(0)
            stems = {t.text for lang in self.languages
                     for t in self._analyzers[lang](word, removestops=False)}
            out.append(min(stems) if stems else word)
        return tuple(out)

    def _words(self, text: str, max_terms: int) -> list[_Word]:
        seen: dict[str, _Word] = {}
        for m in analysis.TOKEN_RE.finditer(text.lower()):
            word = m.group(0)
            if word in seen or (m.group("word") and word in self._stop):
                continue
            seen[word] = _Word(word, ())
            if len(seen) >= max_terms:
                break
        return list(seen.values())

    def _known(self, word: str) -> bool:
        return self._searcher.doc_frequency("spell", word) > 0

    def _correct(self, words: list[_Word], text: str) -> tuple[list[_Word], str | None]:
        """Replace words the index never saw by their closest frequent neighbour."""
        fixes: dict[str, str] = {}
        out = []
        for w in words:
            if (analysis.CJK_RUN.fullmatch(w.text) or len(w.text) < 3 or w.text.isdigit()
                    or self._known(w.text)):
                out.append(w)
                continue
            best = self._closest(w.text)
            if best is None:
                out.append(w)
                continue
            if not (best.startswith(w.text) or w.text.startswith(best)):
                fixes[w.text] = best  # an inflection is searched, not suggested
            out.append(_Word(w.text, ((best, CORRECTION_WEIGHT),)))
        if not fixes:
            return out, None
        suggestion = re.sub(r"\w+", lambda m: _keep_case(m.group(0), fixes.get(m.group(0).lower())),
                            text)
        return out, suggestion

    def _closest(self, word: str) -> str | None:
        reader = self._searcher.reader()
        maxdist = 1 if len(word) < 5 else 2
        best: tuple[int, int, str] | None = None
        for dist in range(1, maxdist + 1):
            for cand in reader.terms_within("spell", word, dist, prefix=1):
                if cand == word or len(cand) < 2:
                    continue
                key = (dist, -reader.doc_frequency("spell", cand), cand)
                if best is None or key < best:
                    best = key
            if best is not None:
                break
        return best[2] if best else None

    def _terms(self, word: str, weight: float) -> list[Query]:
        """One word (or CJK run) as terms over every field of every index language."""
        subs: list[Query] = []
        for lang in self.languages:
            tokens = [t.text for t in self._analyzers[lang](word)]
            if not tokens:
                continue
            for field, boost in analysis.FIELD_BOOSTS.items():
                name = f"{field}_{lang}"
                if len(tokens) == 1:
                    subs.append(Term(name, tokens[0], boost=boost * weight))
                else:  # CJK bigrams: documents having more of them rank higher
                    subs.append(Or([Term(name, t) for t in dict.fromkeys(tokens)],
                                   boost=boost * weight / len(tokens) ** 0.5))
        return subs

    def _query(self, words: list[_Word], text: str) -> Query | None:
        concepts: list[Query] = []
        for w in words:
            subs = self._terms(w.text, 1.0)
            for alt, weight in w.alternatives:
                subs += self._terms(alt, weight)
            if subs:
                concepts.append(Or(subs))
        for group in self._synonyms.expansions(text):
            alts: list[Query] = []
            for phrase in group:
                parts = []
                for m in analysis.TOKEN_RE.finditer(phrase):
                    if m.group("word") and m.group(0) in self._stop:
                        continue
                    subs = self._terms(m.group(0), SYNONYM_WEIGHT)
                    if subs:
                        parts.append(Or(subs))
                if parts:
                    alts.append(parts[0] if len(parts) == 1 else And(parts))
            if alts:
                concepts.append(Or(alts))
        if not concepts:
            return None
        return Or(concepts, scale=COORDINATION)

    # -- running and highlighting
    def _run(self, original: str, q: Query | None, limit: int, filt: Query | None,
             suggestion: str | None) -> SearchResult:
        if q is None:
            return SearchResult(original, (), suggestion, 0, self.market, self.version)
        results = self._searcher.search(q, limit=limit, filter=filt, terms=True)
        hits = []
        for hit in results:
            stored = hit.fields()
            lang = stored["language"] if stored["language"] in self.languages else "en"
            terms = {t.decode("utf-8") if isinstance(t, bytes) else t
                     for f, t in hit.matched_terms() if f.endswith("_" + lang)}
            snippet = make_snippet(stored.get("text", ""), terms, self._analyzers[lang])
            if "<mark>" not in snippet and stored.get("summary"):
                alt = make_snippet(stored["summary"], terms, self._analyzers[lang])
                snippet = alt if "<mark>" in alt else snippet
            hits.append(Hit(id=stored["id"], title=stored["title"], url=stored["url"],
                            source=stored["source"], score=float(hit.score), snippet=snippet,
                            summary=stored.get("summary", ""), audience=stored["audience"],
                            topic=stored["topic"], language=stored["language"]))
        if len(hits) < limit:
            total = len(hits)
        elif filt is None:
            total = len(results)
        else:  # Whoosh's len(results) ignores the filter
            total = len(results.docs() & set(self._searcher.docs_for_query(filt)))
        return SearchResult(original, tuple(hits), suggestion, int(total), self.market,
                            self.version)


class _Synonyms:
    """Synonym groups matched on stemmed word sequences (CJK terms as substrings)."""

    def __init__(self, groups: Iterable[Sequence[str]], key) -> None:
        self._groups = [list(g) for g in groups if isinstance(g, list)]
        self._keys = [[key(t) for t in g] for g in self._groups]
        self._key = key

    def expansions(self, text: str) -> list[list[str]]:
        """For each group the text mentions, the group's other terms."""
        if not self._groups:
            return []
        qkey = self._key(text)
        out = []
        for group, keys in zip(self._groups, self._keys):
            hit = [i for i, k in enumerate(keys) if k and _contains(qkey, k)]
            if hit:
                out.append([t for i, t in enumerate(group) if i not in hit])
        return [g for g in out if g]


def _contains(seq: tuple[str, ...], sub: tuple[str, ...]) -> bool:
    if len(sub) == 1 and analysis.CJK_RUN.fullmatch(sub[0]):
        return any(sub[0] in s for s in seq)
    n = len(sub)
    return any(seq[i:i + n] == sub for i in range(len(seq) - n + 1))


def _keep_case(word: str, fix: str | None) -> str:
    if fix is None:
        return word
    return fix.capitalize() if word[:1].isupper() else fix


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise HelpgenError(f"limit must be a positive whole number, got {limit!r}", exit_code=2)
    return min(limit, 1000)


def make_snippet(text: str, terms: set[str], ana: Any, width: int = SNIPPET_CHARS) -> str:
    """The window of ``text`` with the most matched terms, HTML-escaped, terms in <mark>."""
    if not text:
        return ""
    spans: list[tuple[int, int, str]] = []
    if terms:
        for tok in ana(text, chars=True, positions=False):
            if tok.text in terms:
                spans.append((tok.startchar, tok.endchar, tok.text))
    if not spans:
        cut = text[:width]
        if len(text) > width:
            cut = cut.rsplit(" ", 1)[0] + " …"
        return html.escape(cut, quote=False)
    merged: list[list[int]] = []
    for s, e, _ in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    best_start, best_score = 0, -1
    for s, _e, _t in spans:
        window = {t for s2, e2, t in spans if s <= s2 and e2 <= s + width}
        if len(window) > best_score:
            best_start, best_score = s, len(window)
    start = max(0, best_start - width // 4)
    if start:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    out = ["… "] if start else []
    pos = start
    for s, e in merged:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[pos:s], quote=False))
        out.append("<mark>" + html.escape(text[s:e], quote=False) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end], quote=False))
    if end < len(text):
        out.append(" …")
    return "".join(out).replace("\n", " ")


def plain_snippet(snippet: str) -> str:
    """A snippet as plain text (tags removed, entities decoded) for terminals."""
    return html.unescape(snippet.replace("<mark>", "").replace("</mark>", ""))


def open_searcher(index_dir: str | Path, market: str, version: str = "latest") -> Searcher:
    """An open :class:`Searcher`; close it (or use ``with``) when done."""
    return Searcher(index_dir, market, version)


def search(query: str, market: str, version: str = "latest", limit: int = 10,
           audience: str | None = None, topic: str | None = None,
           index_dir: str | Path = "search_index") -> SearchResult:
    """Search one market's index once (opens and closes it; see :class:`Searcher`)."""
    if not isinstance(query, str) or not analysis.clean_text(query[:4 * MAX_QUERY_CHARS]):
        raise HelpgenError("empty query: type a few words to search for", exit_code=2)
    with Searcher(index_dir, market, version) as s:
        return s.search(query, limit=limit, audience=audience, topic=topic)
