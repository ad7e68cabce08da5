"""Query -> ranked hits, read-only, from the index :mod:`helpgen.index` wrote.

:func:`search` answers one query. Servers and ticket deflection keep one
:class:`Searcher` open across many queries (``with Searcher(index_dir, "us") as s:``).

How a query is answered (``Searcher.search``):

1. The text is cleaned (control characters and NUL dropped, at most
   :data:`MAX_QUERY_CHARS` characters). Nothing in it is query syntax: quotes, ``AND``,
   ``*`` or ``:`` are plain characters, so any input is safe.
2. Words the index has never seen are corrected against the index's own vocabulary:
   one edit (a swap of neighbouring letters counts as one) for words up to seven
   letters, two for longer ones; the most frequent candidate wins (``refnud`` ->
   ``refund``). A word of the dictionary of an index language (pyspellchecker's word
   lists, read only when a word is unknown to the index) is never corrected, nor a
   German compound of known words: ``3 days ago nobody replied`` and ``Abo`` stay as
   typed. Known words cost one term look-up; only unknown ones pay for the fuzzy
   search. The corrections (``SearchResult.corrections``: word as typed -> fix) are the
   did-you-mean; ``suggestion`` is the corrected query, for a link that runs it.
3. Synonym groups from ``docs/_meta/synonyms.txt`` (copied into the index at build time)
   add the other terms of every group the query mentions, at a lower weight, as
   alternatives of the word that triggered them; a multi-word synonym must match all
   its words. German words also match indexed compounds they begin or end, the parts
   of a compound, and participles of their verb (see ``Searcher._german``).
4. Each word is analysed in every language of the index (the market's and English).
   Phase 1 picks :data:`CANDIDATES` documents by BM25 on one combined field per
   language (as cheap as a one-field query), the same number for every limit up to
   :data:`STABLE_LIMIT`, so the first k hits of ``limit=50`` are the hits of ``limit=k``. Phase 2 rescores only those: BM25F on the
   title, keywords, headings, summary and body fields with decreasing weights, the best
   alternative of each query word counting fully, plus a bonus for matching more of the
   query's words and one for articles in the market's own language.
5. Only the returned hits are highlighted: the best window of the article text with the
   matched words in ``<mark>``, HTML-escaped.

Nothing here imports MkDocs or Jinja: a cold ``helpgen search`` stays fast.
"""

from __future__ import annotations

import bisect
import html
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import AbstractSet as Set
from typing import Any, Callable, Iterable, Iterator, Sequence

from whoosh import index as whoosh_index
from whoosh.query import And, Or, Prefix, Query, Term
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F, bm25

from . import analysis
from .errors import HelpgenError

MAX_QUERY_CHARS = 500  # longer queries are cut (search_text takes long texts)
MAX_QUERY_TERMS = 24
MAX_TEXT_TERMS = 80
MAX_WORD_CHARS = 30  # longer words are not typo-corrected (no real word is that long)
SYNONYM_WEIGHT = 0.6
CORRECTION_WEIGHT = 0.9
SNIPPET_CHARS = 180
MAX_SNIPPET_SPANS = 40  # windows tried when choosing a snippet
COORDINATION = 1.0  # score bonus for matching more of the query's concepts
ALTERNATIVES_TIEBREAK = 0.1  # share of a concept's other matching alternatives counted
COMPOUND_WEIGHT = 0.5  # "Antwort" finding "Antwortzeiten" (German compounds)
PARTICIPLE_WEIGHT = 0.8  # "gekündigt" finding "kündigen" and back
MAX_COMPOUNDS = 8
MIN_PART = 4  # shortest part of a split German compound
NATIVE_BONUS = 1.25  # an article in the market's language beats an English fallback
STABLE_LIMIT = 50  # limits up to this rank the same documents in the same order
CANDIDATES = STABLE_LIMIT + 5  # phase 1 keeps this many documents (or limit + 5) for rescoring


@dataclass(frozen=True)
class Hit:
    """One search result, the record every interface (CLI, HTTP, deflection) shares."""

    id: str
    title: str
    url: str  # site path with the version resolved: "/us/2026.11/partners/support-tickets/submit-a-ticket/"
    source: str  # docs-relative source file indexed, e.g. "partners/support-tickets/submit-a-ticket.de.md"
    score: float
    snippet: str  # HTML-escaped text with <mark>…</mark> around matched words
    summary: str
    audience: str
    topic: str
    language: str
    path: str = ""  # the same page inside its version: "partners/support-tickets/submit-a-ticket/"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "url": self.url, "source": self.source,
                "score": round(self.score, 4), "snippet": self.snippet, "summary": self.summary,
                "audience": self.audience, "topic": self.topic, "language": self.language,
                "path": self.path}


@dataclass(frozen=True)
class Correction:
    """One corrected word of a did-you-mean: ``word`` as typed, ``fix`` searched instead."""

    word: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {"from": self.word, "to": self.fix}


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    suggestion: str | None  # the query with misspelt words corrected (a link target)
    total: int  # documents matching (before ``limit``)
    market: str = ""
    version: str = ""  # the version the alias resolved to, e.g. "2026.11"
    corrections: tuple[Correction, ...] = ()  # did-you-mean: only the corrected words

    def did_you_mean(self) -> str:
        """The corrected words only, for display: ``"refund"``, ``"ticket, status"``."""
        return ", ".join(c.fix for c in self.corrections)

    def href(self, hit: Hit) -> str:
        """Site-absolute path of a hit with the version resolved (its ``url``)."""
        return hit.url


@dataclass(frozen=True)
class _Word:
    text: str  # lower-case word or CJK run as typed
    alternatives: tuple[tuple[str, float], ...]  # (text, weight): corrections


def _held(m: Any, docnums: Sequence[int]) -> Iterator[int]:
    """The documents of ``docnums`` (ascending) that matcher ``m`` holds, ``m`` left on
    each while the caller reads its weight or score: a skip through the postings to the
    few documents asked about, not a walk over all of them."""
    for d in docnums:
        if not m.is_active():
            return
        if m.id() < d:
            m.skip_to(d)
        if m.is_active() and m.id() == d:
            yield d


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
            self._searcher = self._ix.searcher()
            # documents written in the market's own language (not English fallbacks)
            self._native = (frozenset(self._searcher.docs_for_query(
                Term("language", self.language))) if self.language != "en" else frozenset())
        except Exception as exc:  # damaged or foreign files (segments are read here too)
            raise HelpgenError(f"cannot open the search index at {path} "
                               f"({type(exc).__name__}: {exc}); rebuild with helpgen build",
                               exit_code=2) from None
        self._lock = threading.Lock()
        self._token_cache: dict[str, dict[str, tuple[str, ...]]] = {}
        self._plan_cache: dict[str, list] = {}  # matching_ids: cleaned text -> plan
        self._de_reversed: list[str] | None = None
        self._dictionaries: dict[str, Set[str]] | None = None
        self._category_keys: dict[str, tuple[str, frozenset[str]]] | None = None
        self._native_ids: frozenset[str] | None = None
        #: field -> {document number: Whoosh's field length}, read once per document
        self._field_lengths: dict[str, dict[int, int]] = {}

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
               topic: str | None = None, *, snippets: bool = True) -> SearchResult:
        """Ranked hits for a query typed by a person; see the module docstring."""
        if not isinstance(query, str) or not analysis.clean_text(query[:4 * MAX_QUERY_CHARS]):
            raise HelpgenError("empty query: type a few words to search for", exit_code=2)
        text = analysis.clean_text(query, MAX_QUERY_CHARS)
        filt = self._filter(audience, topic, None)
        limit = _check_limit(limit)
        with self._lock:
            words = self._words(text, MAX_QUERY_TERMS)
            words, suggestion, corrections = self._correct(words, text)
            plan = self._plan(words, text if suggestion is None else suggestion)
            return self._run(query, plan, limit, filt, suggestion, corrections,
                             snippets=snippets)

    def search_text(self, text: str, limit: int = 10, audience: str | None = None,
                    categories: Sequence[str] | None = None, *,
                    snippets: bool = True) -> SearchResult:
        """Any-word search over a long text (a ticket); see the class docstring.
        ``snippets=False`` leaves every hit's snippet empty (cheaper)."""
        cleaned = analysis.clean_text(text or "", 20_000)
        if not cleaned:
            raise HelpgenError("empty text: nothing to search for", exit_code=2)
        filt = self._filter(audience, None, categories)
        limit = _check_limit(limit)
        with self._lock:
            words = self._words(cleaned, MAX_TEXT_TERMS)
            plan = self._plan(words, cleaned)
            return self._run(text, plan, limit, filt, None, snippets=snippets)

    def matching_ids(self, text: str, limit: int = 10, audience: str | None = None,
                     categories: Sequence[str] | None = None) -> tuple[tuple[str, ...], int]:
        """The ids of :meth:`search_text`'s top ``limit`` hits and its total, without
        building hits or snippets (deflection looks up every key word of a ticket)."""
        cleaned = analysis.clean_text(text or "", 20_000)
        if not cleaned:
            return (), 0
        filt = self._filter(audience, None, categories)
        limit = _check_limit(limit)
        with self._lock:
            plan = self._plan_cache.get(cleaned)
            if plan is None:
                if len(self._plan_cache) > 20_000:
                    self._plan_cache.clear()
                plan = self._plan_cache[cleaned] = self._plan(
                    self._words(cleaned, MAX_TEXT_TERMS), cleaned)
            if not plan:
                return (), 0
            if all(len(parts) == 1 and not parts[0].loose for alts in plan for parts in alts):
                # one word and its single-word synonyms: phase 1 alone ranks them, and
                # every document it finds matches (no all-words alternative to check)
                docnums, total = self._candidates(plan, filt, limit)
                ids = tuple(self._searcher.stored_fields(d)["id"] for d in docnums)
                return ids, total
            pool = max(CANDIDATES, limit + 5)
            docnums, total = self._candidates(plan, filt, pool)
            scores = self._rescore(plan, docnums)
            total = len(scores) if len(docnums) < pool else max(len(scores), total)
            best = sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:limit]
            return tuple(self._searcher.stored_fields(d)["id"] for d, _ in best), total

    def word_matches(self, words: Sequence[str], ids: Iterable[str],
                     audience: str | None = None) -> dict[str, tuple[frozenset[str], int]]:
        """For each of ``words``: which of the articles ``ids`` contain it (the word, a
        stem or a synonym, as :meth:`matching_ids` reads it; every token of a CJK word)
        and how many articles contain it in all. Unscored look-ups, for checking a
        ticket's key words against its candidate articles."""
        out: dict[str, tuple[frozenset[str], int]] = {}
        with self._lock:
            docs_of, allowed = self._scope(ids, audience)
            # one-token words are counted without reading their postings (below) when no
            # filter narrows the count and no deleted document inflates it
            plain = allowed is None and not self._searcher.reader().has_deletions()
            for word in words:
                cleaned = analysis.clean_text(word or "", MAX_QUERY_CHARS)
                plan = self._plan_cache.get(cleaned) if cleaned else []
                if plan is None:
                    if len(self._plan_cache) > 20_000:
                        self._plan_cache.clear()
                    plan = self._plan_cache[cleaned] = self._plan(
                        self._words(cleaned, MAX_TEXT_TERMS), cleaned)
                alternatives = [And([Or([And([Term(f"all_{lang}", t) for t in toks])
                                         for lang, toks in part.tokens.items()])
                                     for part in parts])
                                for alts in plan or () for parts in alts]
                if not alternatives:
                    out[word] = (frozenset(), 0)
                    continue
                single = self._single_term(plan) if plain else None
                if single is not None:  # most words: their count, and the few candidates
                    out[word] = self._term_in(single, docs_of)
                    continue
                found = set(self._searcher.docs_for_query(Or(alternatives)))
                if allowed is not None:
                    found &= allowed
                out[word] = (frozenset(i for d, i in docs_of.items() if d in found), len(found))
        return out

    @staticmethod
    def _single_term(plan: list) -> tuple[str, str] | None:
        """(field, token) when a word's plan is one token of one language (no synonym,
        no second language, no CJK bigrams)."""
        if len(plan) != 1 or len(plan[0]) != 1 or len(plan[0][0]) != 1:
            return None
        tokens = plan[0][0][0].tokens
        if len(tokens) != 1:
            return None
        (lang, toks), = tokens.items()
        return (f"all_{lang}", toks[0]) if len(toks) == 1 else None

    def _term_in(self, term: tuple[str, str], docs_of: dict[int, str]
                 ) -> tuple[frozenset[str], int]:
        """Which of ``docs_of`` hold ``term``, and how many documents do: its document
        frequency and a skip through its postings to the few candidates, instead of
        reading every posting of a common word."""
        field, tok = term
        reader = self._searcher.reader()
        count = reader.doc_frequency(field, tok)
        if not count:
            return frozenset(), 0
        m = reader.postings(field, tok)  # no scorer: membership only
        return frozenset(docs_of[d] for d in _held(m, sorted(docs_of))), count

    def native_ids(self) -> frozenset[str]:
        """The ids of the articles written in the market's own language (not English
        fallbacks); none on an English market. Read once per searcher."""
        if self._native_ids is None:
            with self._lock:
                self._native_ids = frozenset(self._searcher.stored_fields(d)["id"]
                                             for d in self._native)
        return self._native_ids

    def category_matches(self, words: Sequence[str], ids: Iterable[str],
                         audience: str | None = None
                         ) -> dict[str, tuple[frozenset[str], int]]:
        """For each of ``words`` named by the title of a ticket category in the market's
        language (``meta["category_titles"]``, written by the build): which of the
        articles ``ids`` declare such a category, and how many articles do in all. A word
        is named when it shares a stem with a title word, begins or ends a German title
        compound (``Rolle`` in ``Partnerrollen``), or, for Japanese and Chinese, stands in
        the title (``ロール`` in ``パートナーロールの切り替え``). Words no title names are
        left out. The translated titles are the project's own words for what its articles
        answer, also where an article exists only in English."""
        out: dict[str, tuple[frozenset[str], int]] = {}
        with self._lock:
            keys = self._category_title_keys()
            named: dict[str, list[str]] = {}
            for w in words if keys else ():
                mine = self._word_stems(w)
                codes = [code for code, (title, stems) in keys.items()
                         if self._names(w, mine, title, stems)]
                if codes:
                    named[w] = codes
            if not named:
                return out
            id_of, allowed = self._scope(ids, audience)
            declaring: dict[str, set[int]] = {}
            for code in {c for codes in named.values() for c in codes}:
                docs = set(self._searcher.docs_for_query(Term("ticket_categories", code)))
                declaring[code] = docs if allowed is None else docs & allowed
        for w, codes in named.items():
            docs = set().union(*(declaring[c] for c in codes))
            out[w] = (frozenset(id_of[d] for d in docs if d in id_of), len(docs))
        return out

    def _scope(self, ids: Iterable[str], audience: str | None
               ) -> tuple[dict[int, str], frozenset[int] | None]:
        """The document numbers of the articles ``ids`` (-> their id), and those the
        audience filter allows (None: every one). Call with the lock held."""
        filt = self._filter(audience, None, None)
        allowed = frozenset(self._searcher.docs_for_query(filt)) if filt else None
        docs_of = {d: doc_id for doc_id in ids
                   for d in self._searcher.docs_for_query(Term("id", doc_id))}
        return docs_of, allowed

    def _category_title_keys(self) -> dict[str, tuple[str, frozenset[str]]]:
        """Category code -> (lower-case title, stems of its words in every index
        language), read once per searcher."""
        if self._category_keys is None:
            titles = self.meta.get("category_titles") or {}
            self._category_keys = {
                code: (str(title).lower(), frozenset(
                    stem for m in analysis.TOKEN_RE.finditer(str(title).lower())
                    if m.group("word") for stem in self._word_stems(m.group(0))))
                for code, title in titles.items()}
        return self._category_keys

    def _word_stems(self, word: str) -> frozenset[str]:
        return frozenset(t.text for lang in self.languages for t in self._analyzers[lang](word))

    def _names(self, word: str, mine: frozenset[str], title: str,
               stems: frozenset[str]) -> bool:
        """Whether a category title (lower case, and its stems) names ``word`` (whose
        stems are ``mine``)."""
        if analysis.CJK_RUN.fullmatch(word):
            return word in title
        if mine & stems:
            return True
        return "de" in self.languages and any(
            len(m) >= MIN_PART and len(s) >= len(m) + MIN_PART and (s.startswith(m) or
                                                                    s.endswith(m))
            for m in mine for s in stems)

    def correction(self, query: str) -> str | None:
        """The query with misspelt words corrected, as :meth:`search` would search it
        (None when nothing needs correcting), without running the search."""
        text = analysis.clean_text(query or "", MAX_QUERY_CHARS)
        if not text:
            return None
        with self._lock:
            _, suggestion, _ = self._correct(self._words(text, MAX_QUERY_TERMS), text)
        return suggestion

    def category_hits(self, category: str, limit: int = 10,
                      audience: str | None = None) -> SearchResult:
        """The articles that declare ticket category ``category`` (a draft with nothing
        typed yet): articles in the market's language first, then by title; score 0,
        the summary as snippet."""
        import html

        filt = self._filter(audience, None, [category])
        limit = _check_limit(limit)
        with self._lock:
            docs = [(d, self._searcher.stored_fields(d))
                    for d in self._searcher.docs_for_query(filt)]
        docs.sort(key=lambda x: (x[0] not in self._native, x[1]["title"], x[1]["id"]))
        hits = tuple(Hit(id=f["id"], title=f["title"], url=f"/{self.market}/{self.version}/{f['url']}",
                         path=f["url"], source=f["source"], score=0.0,
                         snippet=html.escape(f.get("summary", "")),
                         summary=f.get("summary", ""), audience=f["audience"],
                         topic=f["topic"], language=f["language"]) for _, f in docs[:limit])
        return SearchResult(category, hits, None, len(docs), self.market, self.version)

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
            # a topic includes its sub-topics: billing finds billing/invoices too
            parts.append(Or([Term("topic", topic), Prefix("topic", topic + "/")]))
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

    def _in_dictionary(self, word: str) -> bool:
        """Whether a word is in the dictionary of an index language, or (German) a
        compound of two such words; the word lists load on first use."""
        if self._dictionaries is None:
            self._dictionaries = _load_dictionaries(self.languages)
        if any(word in d for d in self._dictionaries.values()):
            return True
        de = self._dictionaries.get("de")
        return de is not None and _is_compound(word, lambda w: w in de or self._known(w))

    def _correct(self, words: list[_Word],
                 text: str) -> tuple[list[_Word], str | None, tuple[Correction, ...]]:
        """Replace words neither the index nor a dictionary knows by their closest
        frequent indexed neighbour."""
        fixes: dict[str, str] = {}
        out = []
        for w in words:
            if (analysis.CJK_RUN.fullmatch(w.text) or not 3 <= len(w.text) <= MAX_WORD_CHARS
                    or w.text.isdigit() or self._known(w.text) or self._in_dictionary(w.text)):
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
            return out, None, ()
        suggestion = re.sub(r"\w+", lambda m: _keep_case(m.group(0), fixes.get(m.group(0).lower())),
                            text)
        typed = {m.group(0).lower(): m.group(0) for m in re.finditer(r"\w+", text)}
        corrections = tuple(Correction(typed.get(word, word),
                                       _keep_case(typed.get(word, word), fix))
                            for word, fix in fixes.items())
        return out, suggestion, corrections

    def _closest(self, word: str) -> str | None:
        """The most frequent indexed word within the allowed typo distance of ``word``:
        one edit (a swap of two neighbouring letters counts as one) for words of up to
        seven letters, two edits for longer ones."""
        reader = self._searcher.reader()
        allowed = 1 if len(word) < 8 else 2
        best: tuple[int, int, str] | None = None
        for cand in reader.terms_within("spell", word, 2, prefix=1):
            if cand == word or len(cand) < 2:
                continue
            dist = osa_distance(word, cand)
            if dist > allowed:
                continue
            key = (dist, -reader.doc_frequency("spell", cand), cand)
            if best is None or key < best:
                best = key
        return best[2] if best else None

    def _part(self, word: str, weight: float) -> _Part | None:
        """One word (or CJK run) analysed in every index language."""
        tokens = {}
        for lang in self.languages:
            toks = tuple(dict.fromkeys(t.text for t in self._analyzers[lang](word)))
            if toks:
                tokens[lang] = toks
        return _Part(tokens, weight, (word,)) if tokens else None

    def _german_endings(self) -> list[str]:
        """Every German term of the index spelt backwards, sorted: the terms ending in a
        stem are one bisect away (read once per searcher, on the first German query)."""
        if self._de_reversed is None:
            reader = self._searcher.reader()
            terms = reader.lexicon("all_de") if "all_de" in reader.indexed_field_names() else []
            self._de_reversed = sorted((t.decode("utf-8") if isinstance(t, bytes) else t)[::-1]
                                       for t in terms)
        return self._de_reversed

    def _german_compounds(self, stem: str) -> list[str]:
        """Indexed German terms that begin or end with ``stem`` (and are at least three
        letters longer), at most :data:`MAX_COMPOUNDS`."""
        found = []
        for term in self._searcher.reader().expand_prefix("all_de", stem):
            term = term.decode("utf-8") if isinstance(term, bytes) else term
            if len(term) >= len(stem) + 3:
                found.append(term)
                if len(found) >= MAX_COMPOUNDS:
                    return found
        # a compound ending in the word needs a first part of MIN_PART letters:
        # "Studentenrabatt" ends in "Rabatt", but "Verkauf" is no kind of "Kauf"
        endings = self._german_endings()
        rev = stem[::-1]
        i = bisect.bisect_left(endings, rev)
        while i < len(endings) and endings[i].startswith(rev):
            if len(endings[i]) - len(stem) >= max(3, MIN_PART):
                found.append(endings[i][::-1])
                if len(found) >= MAX_COMPOUNDS:
                    break
            i += 1
        return found

    def _de_known(self, tok: str) -> bool:
        return self._searcher.doc_frequency("all_de", tok) > 0

    def _de_stem(self, word: str) -> str | None:
        toks = [t.text for t in self._analyzers["de"](word)]
        return toks[0] if len(toks) == 1 else None

    def _german(self, word: str) -> list[list[_Part]]:
        """German alternatives of one query word, each checked against the index's own
        German vocabulary (at most :data:`MAX_COMPOUNDS` terms of each kind):

        * compounds the word begins or ends (``Antwort`` -> ``Antwortzeiten``,
          ``Rabatt`` -> ``Studentenrabatt``), weight :data:`COMPOUND_WEIGHT`;
        * the verb of a ``ge-...-t`` participle and the participle of a verb
          (``gekündigt`` ~ ``kündigen``), weight :data:`PARTICIPLE_WEIGHT`;
        * the parts of a compound (``Dunkelmodus`` -> ``dunkel`` and ``modus``, both
          required, anywhere in the article; at :data:`COMPOUND_WEIGHT` when the index
          has the compound itself); when only the last part is indexed, it alone at
          :data:`COMPOUND_WEIGHT` (``Mitgliederrabatt`` -> ``Rabatt``).
        """
        if "de" not in self.languages or not analysis.WORD_RE.fullmatch(word):
            return []
        stem = self._de_stem(word)
        if stem is None:
            return []
        out: list[list[_Part]] = []
        if len(stem) >= analysis.MIN_GERMAN_STEM:
            found = self._german_compounds(stem)
            if found:
                out.append([_Part({"de": tuple(found)}, COMPOUND_WEIGHT, (word,))])
        related = {s for s in (self._de_stem(f) for f in _participle_forms(word))
                   if s and s != stem and self._de_known(s)}
        if related:
            out.append([_Part({"de": tuple(sorted(related))}, PARTICIPLE_WEIGHT, (word,))])
        split = self._split_compound(word) if len(word) >= 2 * MIN_PART else None
        if split is not None:  # a word the index has keeps its own match ahead
            head, parts = split
            weight = COMPOUND_WEIGHT if self._de_known(stem) else 1.0
            if len(parts) == 2:
                out.append([_Part({"de": (s,)}, weight, (w,), loose=True) for w, s in parts])
            else:
                out.append([_Part({"de": (parts[0][1],)}, COMPOUND_WEIGHT, (head,))])
        return out

    def _split_compound(self, word: str) -> tuple[str, list[tuple[str, str]]] | None:
        """The best split of a German compound against the index vocabulary:
        (last part, [(part, stem), ...]) with both parts when both are indexed, else
        only the last part; ``None`` when no last part of four letters or more is."""
        lower = word.lower()
        head_only = None
        for i in range(MIN_PART, len(lower) - MIN_PART + 1):
            left, right = lower[:i], lower[i:]
            rstem = self._de_stem(right)
            if not rstem or not self._de_known(rstem):
                continue
            for link in ("", "s", "n", "en", "es", "e"):  # Fugenelemente: Student-en-rabatt
                if link and not left.endswith(link):
                    continue
                base = left[:len(left) - len(link)] if link else left
                if len(base) < MIN_PART - 1:
                    continue
                lstem = self._de_stem(base)
                if lstem and self._de_known(lstem):
                    return right, [(base, lstem), (right, rstem)]
            if head_only is None:
                head_only = (right, [(right, rstem)])
        return head_only

    def _plan(self, words: list[_Word], text: str) -> list[list[list[_Part]]]:
        """Concepts -> alternatives -> parts (all parts of an alternative must match).

        A concept is one query word (with its typo corrections as alternatives) or one
        synonym group the text mentions (its other terms as alternatives).
        """
        concepts: list[list[list[_Part]]] = []
        concept_of: dict[int, int] = {}  # word index -> concept index
        for i, w in enumerate(words):
            alts = [[p] for p in (self._part(w.text, 1.0),
                                  *(self._part(a, wt) for a, wt in w.alternatives)) if p]
            alts.extend(self._german(w.text))
            if alts:
                concept_of[i] = len(concepts)
                concepts.append(alts)
        # a group triggered by one query word joins that word's concept (a synonym is
        # the same concept); a group triggered by a phrase is a concept of its own
        expansions = self._synonyms.expansions(text)
        by_key = {self._match_key(w.text): i for i, w in enumerate(words)} if expansions else {}
        for triggers, group in expansions:
            alts = []
            for phrase in group:
                parts = [self._part(m.group(0), SYNONYM_WEIGHT)
                         for m in analysis.TOKEN_RE.finditer(phrase)
                         if not (m.group("word") and m.group(0) in self._stop)]
                parts = [p for p in parts if p]
                if parts:
                    alts.append(parts)
            if not alts:
                continue
            owners = {by_key.get(k) for k in triggers}
            word = owners.pop() if len(owners) == 1 else None
            if word is not None and word in concept_of:
                concepts[concept_of[word]].extend(alts)
            else:
                concepts.append(alts)
        return concepts

    # -- running and highlighting
    def _word_tokens(self, lang: str) -> Callable[[str], Sequence[str]]:
        """Analysed tokens of one word, remembered by this searcher (bounded)."""
        cache = self._token_cache.setdefault(lang, {})
        ana = self._analyzers[lang]

        def tokens_of(word: str) -> Sequence[str]:
            got = cache.get(word)
            if got is None:
                if len(cache) > 100_000:
                    cache.clear()
                got = cache[word] = tuple(t.text for t in ana(word))
            return got

        return tokens_of

    def _candidates(self, plan: list[list[list[_Part]]], filt: Query | None,
                    pool: int) -> tuple[list[int], int]:
        """Phase 1: the best ``pool`` documents by one combined field (as cheap as a
        one-field query), and how many documents match at all.

        Whoosh's block-quality skipping is off (``optimize=False``): with the many
        boosted terms of a query plus its synonyms and of a whole ticket, computing the
        union's block bounds cost more than the postings it skipped (2,000 articles: a
        search 6.5 -> 5.5 ms p50, p99 29 -> 16 ms; a ticket suggestion 48 -> 35 ms), the
        same documents come back in the same order, and the count past the pool is
        nearer the truth (exact for 94% of 135 synthetic queries, mean error 2% against
        5% with skipping)."""
        terms: dict[tuple[str, str], float] = {}
        for alts in plan:
            for parts in alts:
                for part in parts:
                    for lang, toks in part.tokens.items():
                        for tok in toks:
                            key = (f"all_{lang}", tok)
                            terms[key] = max(terms.get(key, 0.0), part.weight)
        q = Or([Term(f, t, boost=w) for (f, t), w in terms.items()])
        results = self._searcher.search(q, limit=pool, filter=filt, optimize=False)
        docnums = sorted(docnum for _score, docnum in results.top_n)
        if len(docnums) < pool:
            return docnums, len(docnums)
        return docnums, max(len(docnums), int(results.estimated_length()))

    def _rescore(self, plan: list[list[list[_Part]]], docnums: list[int]) -> dict[int, float]:
        """Phase 2: BM25F per field with field weights, all-parts-must-match alternatives
        and a bonus for matching more of the query's concepts, on the candidates only."""
        cache: dict[tuple[str, str], dict[int, float]] = {}
        searcher = self._searcher
        reader = searcher.reader()
        weighting = searcher.weighting
        plain_bm25 = type(weighting) is BM25F

        def postings(field: str, tok: str) -> dict[int, float]:
            key = (field, tok)
            got = cache.get(key)
            if got is None:
                got = {}
                # Whoosh's own BM25F, with the document's field length from a per-index
                # memo instead of Whoosh's column reader, on postings without a scorer
                own = plain_bm25 and searcher.schema[field].scorable
                try:
                    m = reader.postings(field, tok) if own else searcher.postings(field, tok)
                except TermNotFound:
                    m = None
                if m is not None:
                    if own:
                        idf = searcher.idf(field, tok)
                        avgfl = searcher.avg_field_length(field) or 1
                        b = getattr(weighting, "_field_B", {}).get(field, weighting.B)
                        k1 = weighting.K1
                        lengths = self._field_lengths.setdefault(field, {})
                    else:
                        lengths = None
                    for d in _held(m, docnums):
                        if lengths is None:
                            got[d] = m.score()
                            continue
                        fl = lengths.get(d)
                        if fl is None:
                            fl = lengths[d] = searcher.doc_field_length(d, field, 1)
                        got[d] = bm25(idf, m.weight(), fl, avgfl, b, k1)
                cache[key] = got
            return got

        def part_scores(part: _Part) -> dict[int, float]:
            out: dict[int, float] = {}
            for lang, toks in part.tokens.items():
                norm = part.weight / (len(toks) ** 0.5)
                for field, boost in analysis.FIELD_BOOSTS.items():
                    for tok in toks:
                        for d, sc in postings(f"{field}_{lang}", tok).items():
                            out[d] = out.get(d, 0.0) + sc * boost * norm
            return out

        totals: dict[int, float] = {}
        matched: dict[int, int] = {}
        texts: dict[int, str] = {}  # lower-cased stored text, read only for phrases
        for alts in plan:
            best: dict[int, float] = {}
            rest: dict[int, float] = {}
            for parts in alts:
                scored = [part_scores(p) for p in parts]
                common = set(scored[0]).intersection(*scored[1:])
                if len(parts) > 1 and not parts[0].loose:  # a phrase: words stand together
                    common = {d for d in common if self._has_phrase(d, parts, texts)}
                for d in common:
                    sc = sum(s[d] for s in scored)
                    low, high = sorted((best.get(d, 0.0), sc))
                    best[d] = high
                    rest[d] = rest.get(d, 0.0) + low
            # the best alternative counts fully, the others a little: a document that
            # uses many synonyms of one word does not outrank one matching more words
            for d, sc in best.items():
                totals[d] = totals.get(d, 0.0) + sc + ALTERNATIVES_TIEBREAK * rest[d]
                matched[d] = matched.get(d, 0) + 1
        n = len(plan)
        native = self._native
        return {d: sc * (1 + COORDINATION * matched[d] / n) * (NATIVE_BONUS if d in native else 1)
                for d, sc in totals.items()}

    def _has_phrase(self, docnum: int, parts: list[_Part], texts: dict[int, str]) -> bool:
        """Whether the words of a multi-word synonym (``money back``) stand next to each
        other (any endings) in the article's title, keywords, summary or text."""
        text = texts.get(docnum)
        if text is None:
            f = self._searcher.stored_fields(docnum)
            text = texts[docnum] = " ".join(
                (f.get("title", ""), f.get("keywords", ""), f.get("summary", ""),
                 f.get("text", ""))).lower()
        words = [re.escape(w.lower()[: max(3, len(w) - 2)]) for p in parts for w in p.words]
        return re.search(r"\b" + r"\w*\W+".join(words) + r"\w*", text) is not None

    def _run(self, original: str, plan: list[list[list[_Part]]], limit: int,
             filt: Query | None, suggestion: str | None,
             corrections: tuple[Correction, ...] = (), snippets: bool = True
             ) -> SearchResult:
        if not plan:
            return SearchResult(original, (), suggestion, 0, self.market, self.version,
                                corrections)
        # one pool for every limit up to STABLE_LIMIT: the top k never depends on limit
        pool = max(CANDIDATES, limit + 5)
        docnums, total = self._candidates(plan, filt, pool)
        scores = self._rescore(plan, docnums)
        # candidates matching only part of an all-words alternative score nothing
        total = len(scores) if len(docnums) < pool else max(len(scores), total)
        best = sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:limit]
        hits = []
        hints = frozenset(w.lower() for alts in plan for parts in alts for p in parts
                          for w in p.words)
        highlight: dict[str, tuple] = {}  # language -> (terms, tokens_of, pattern)
        for docnum, score in best:
            stored = self._searcher.stored_fields(docnum)
            lang = stored["language"] if stored["language"] in self.languages else "en"
            if not snippets:
                highlight.setdefault(lang, ((), None, None))
            elif lang not in highlight:
                terms = frozenset(t for alts in plan for parts in alts for p in parts
                                  for t in p.tokens.get(lang, ()))
                highlight[lang] = (terms, self._word_tokens(lang),
                                   _candidate_pattern(terms, hints) if terms else None)
            terms, tokens_of, pattern = highlight[lang]
            snippet = (make_snippet(stored.get("text", ""), terms, tokens_of, pattern=pattern)
                       if snippets else "")
            if snippets and "<mark>" not in snippet and stored.get("summary"):
                alt = make_snippet(stored["summary"], terms, tokens_of, pattern=pattern)
                snippet = alt if "<mark>" in alt else snippet
            hits.append(Hit(id=stored["id"], title=stored["title"],
                            url=f"/{self.market}/{self.version}/{stored['url']}",
                            path=stored["url"],
                            source=stored["source"], score=float(score), snippet=snippet,
                            summary=stored.get("summary", ""), audience=stored["audience"],
                            topic=stored["topic"], language=stored["language"]))
        return SearchResult(original, tuple(hits), suggestion, total, self.market,
                            self.version, corrections)


@dataclass(frozen=True)
class _Part:
    tokens: dict[str, tuple[str, ...]]  # language -> analysed tokens (CJK: bigrams)
    weight: float
    words: tuple[str, ...] = ()  # as typed
    loose: bool = False  # parts of a split compound: all must match, anywhere


class _Synonyms:
    """Synonym groups matched on stemmed word sequences (CJK terms as substrings)."""

    def __init__(self, groups: Iterable[Sequence[str]], key) -> None:
        self._groups = [list(g) for g in groups if isinstance(g, list)]
        self._keys = [[key(t) for t in g] for g in self._groups]
        self._key = key

    def expansions(self, text: str) -> list[tuple[tuple[tuple[str, ...], ...], list[str]]]:
        """For each group the text mentions: (the keys that matched, the other terms)."""
        if not self._groups:
            return []
        qkey = self._key(text)
        out = []
        for group, keys in zip(self._groups, self._keys):
            hit = [i for i, k in enumerate(keys) if k and _contains(qkey, k)]
            others = [t for i, t in enumerate(group) if i not in hit]
            if hit and others:
                out.append((tuple(keys[i] for i in hit), others))
        return out


def _load_dictionaries(languages: Iterable[str]) -> dict[str, Set[str]]:
    """The word lists of pyspellchecker for the languages it has (none for ja, th, vi)."""
    from spellchecker import SpellChecker

    have = set(SpellChecker.languages())
    return {lang: SpellChecker(language=lang, distance=1)
            for lang in languages if lang in have}


def _is_compound(word: str, known: Callable[[str], bool]) -> bool:
    """Whether ``word`` is two known words (German linking letters allowed between)."""
    for i in range(MIN_PART - 1, len(word) - MIN_PART + 1):
        left, right = word[:i], word[i:]
        if not known(right):
            continue
        if any(known(left[:len(left) - len(link)] if link else left)
               for link in ("", "s", "n", "en", "es", "e")
               if not link or left.endswith(link)):
            return True
    return False


def _participle_forms(word: str) -> list[str]:
    """The verb of a ``ge-...-t`` participle (``gekündigt`` -> ``kündigen``,
    ``geändert`` -> ``ändern``) or the participle of an infinitive (``kündigen`` ->
    ``gekündigt``); the caller keeps only forms the index has."""
    w = word.lower()
    if w.startswith("ge") and w.endswith("t") and len(w) >= 7:
        base = w[2:-1]
        return [base + "n"] if base.endswith(("er", "el")) else [base + "en", base + "n"]
    if w.endswith(("ern", "eln")) and len(w) >= 6:
        return ["ge" + w[:-1] + "t"]
    if w.endswith("en") and len(w) >= 6:
        return ["ge" + w[:-2] + "t"]
    return []


def _contains(seq: tuple[str, ...], sub: tuple[str, ...]) -> bool:
    if len(sub) == 1 and analysis.CJK_RUN.fullmatch(sub[0]):
        return any(sub[0] in s for s in seq)
    n = len(sub)
    return any(seq[i:i + n] == sub for i in range(len(seq) - n + 1))


def osa_distance(a: str, b: str) -> int:
    """Edit distance where swapping two neighbouring letters is one edit (OSA)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def _keep_case(word: str, fix: str | None) -> str:
    if fix is None:
        return word
    return fix.capitalize() if word[:1].isupper() else fix


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise HelpgenError(f"limit must be a positive whole number, got {limit!r}", exit_code=2)
    return min(limit, 1000)


def _candidate_pattern(terms: frozenset[str], hints: frozenset[str]) -> re.Pattern | None:
    """A regex over lower-cased text finding words that may analyse to one of ``terms``:
    words starting like a term or a typed word (stems and inflections share their first
    letters), and CJK bigrams literally. Each word found is checked with the analyzer."""
    prefixes = sorted({t[:3].lower() for t in (*terms, *hints) if analysis.WORD_RE.fullmatch(t)})
    grams = sorted((t for t in terms if analysis.CJK_RUN.fullmatch(t)), key=len, reverse=True)
    parts = [re.escape(g) for g in grams]
    if prefixes:
        parts.append(r"\b(?:" + "|".join(map(re.escape, prefixes)) + r")\w*")
    return re.compile("|".join(parts)) if parts else None


def make_snippet(text: str, terms: Set[str], tokens_of: Callable[[str], Sequence[str]],
                 width: int = SNIPPET_CHARS, hints: Iterable[str] = (),
                 pattern: re.Pattern | None = None) -> str:
    """The window of ``text`` with the most matched terms, HTML-escaped, terms in <mark>.

    ``terms`` are analysed tokens; ``tokens_of(word)`` analyses one word of the text
    (cache it: the same words recur across articles); ``hints`` are the words as typed
    (their first letters find inflections whose stem was accent-folded). ``pattern``
    (from :func:`_candidate_pattern`) saves rebuilding it for every hit of a query.
    """
    if not text:
        return ""
    spans: list[tuple[int, int, str]] = []
    if pattern is None and terms:
        pattern = _candidate_pattern(frozenset(terms), frozenset(hints))
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare letter whose lower case is longer: keep offsets
        lowered = "".join(ch.lower()[:1] for ch in text)
    if pattern is not None:
        found: set[str] = set()
        stop = len(text)
        for m in pattern.finditer(lowered):
            if m.start() > stop:  # far past the first match: a window is already there
                break
            word = m.group(0)
            tok = word if word in terms else next(
                (t for t in tokens_of(text[m.start():m.end()]) if t in terms), None)
            if tok is None:
                continue
            spans.append((m.start(), m.end(), tok))
            found.add(tok)
            if len(spans) == 1:
                stop = m.start() + 4 * width
            if len(found) == len(terms):
                break
    if not spans:
        cut = text[:width]
        if len(text) > width:
            cut = cut.rsplit(" ", 1)[0] + " …"
        return html.escape(cut, quote=False).replace("\n", " ")
    merged: list[list[int]] = []
    for s, e, _ in spans:  # already in text order
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    best_start, best_score = spans[0][0], -1
    wanted = len({t for _s, _e, t in spans})
    j = 0
    for i, (s, _e, _t) in enumerate(spans[:MAX_SNIPPET_SPANS]):  # sliding window
        j = max(j, i)
        while j + 1 < len(spans) and spans[j + 1][1] <= s + width:
            j += 1
        distinct = len({t for _s, _e2, t in spans[i:j + 1]})
        if distinct > best_score:
            best_start, best_score = s, distinct
            if distinct == wanted:
                break
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
