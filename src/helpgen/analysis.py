"""Text analysis and on-disk layout shared by :mod:`helpgen.index` and :mod:`helpgen.search`.

Only this module, ``index.py`` and ``search.py`` import Whoosh (the maintained
``whoosh-reloaded`` fork, which imports as ``whoosh``). Nothing here imports MkDocs or
Jinja, so the query path stays fast to start.

Language-aware analysis: every analysed field exists once per language,
``<field>_<lang>`` (``title_en``, ``title_de``). A document fills only the fields of
the language its text is in (an English fallback article on the German site is English
text), and a query is analysed with every language of the index (the market's language
and English) against the matching fields.

* en, de, fr, es, it: word tokens, lower case, the language's stop words, Snowball
  stemming, then accent folding (``Rückerstattung`` and ``ruckerstattung`` meet).
  German keeps more of a word whose Snowball stem collides (an English stop word, or a
  stem under four letters that lost an umlaut; see :func:`german_stem`: ``ändern`` is
  ``ander``, not ``and``).
* ja, th (no spaces between words): runs of CJK/kana/Thai characters become character
  bigrams; Latin words inside them are treated as English.
* vi and any other language: word tokens, lower case, accent folding.

Layout of an index folder::

    <index_dir>/<market>/aliases.json        {"latest": "2026.11"}
    <index_dir>/<market>/<version>/          Whoosh files + helpgen-index.json (meta)
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    Filter,
    LowercaseFilter,
    StemFilter,
    StopFilter,
    Token,
    Tokenizer,
)
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Frequency
from whoosh.lang import has_stemmer, has_stopwords, stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint

from .errors import HelpgenError

#: Bump when fields or analyzers change; an index of another version must be rebuilt.
SCHEMA_VERSION = 4
META_FILE = "helpgen-index.json"
ALIASES_FILE = "aliases.json"
SYNONYMS_FILE = "synonyms.json"

#: Analysed text fields, most important first, with their query-time weights.
FIELD_BOOSTS: dict[str, float] = {
    "title": 6.0,
    "keywords": 4.0,
    "headings": 2.5,
    "summary": 2.0,
    "body": 1.0,
}
STEMMED = ("en", "de", "fr", "es", "it")
NGRAM = ("ja", "th", "zh", "ko")
#: Question words people type that say nothing about the topic (queries and index alike).
EXTRA_STOP = {
    "en": {"how", "what", "where", "why", "when", "who", "which", "do", "does", "did", "i",
           "my", "me", "can", "could", "would", "should", "want", "need", "please", "hi",
           "hello", "thanks", "is", "am", "there", "any", "someone", "anyone", "way", "tiktok",
           "im", "ive", "dont", "cant", "get", "got", "getting"},
    "de": {"wie", "was", "wo", "warum", "wann", "wer", "ich", "mein", "meine", "meinen",
           "kann", "bitte", "hallo", "danke", "tiktok"},
}
# Scripts written without spaces: indexed and queried as character bigrams.
CJK_CHARS = ("\u0e00-\u0e7f"  # Thai
             "\u3040-\u30ff"  # Hiragana, Katakana (with the long vowel mark)
             "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
             "\uac00-\ud7af"  # Hangul
             "\uff66-\uff9f")  # half-width Katakana
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
TOKEN_RE = re.compile(f"(?P<cjk>[{CJK_CHARS}]+)|(?P<word>[^\\W_{CJK_CHARS}]+)")
WORD_RE = re.compile(f"[^\\W_{CJK_CHARS}]+")


class ScriptTokenizer(Tokenizer):
    """Words for alphabetic scripts, character bigrams for CJK/Thai runs.

    A run of one CJK character yields that character. Token positions count words
    and bigrams alike, so phrase-like proximity still works across scripts.
    """

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "",
                 **kwargs: Any) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for m in TOKEN_RE.finditer(value):
            if m.group("word") is not None:
                pieces: Iterable[tuple[str, int]] = ((m.group(0), m.start()),)
            else:
                run, first = m.group(0), m.start()
                if len(run) == 1:
                    pieces = ((run, first),)
                else:
                    pieces = [(run[i:i + 2], first + i) for i in range(len(run) - 1)]
            for text, start in pieces:
                t.text = text
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = text
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar = start_char + start
                    t.endchar = start_char + start + len(text)
                pos += 1
                yield t


def words(value: str) -> list[str]:
    """What ``ScriptTokenizer() | LowercaseFilter()`` yields for ``value``, as a list (the
    index's analyse-once path; the tests compare the two)."""
    if CJK_RUN.search(value) is None:  # then every token is a word
        return [w.lower() for w in WORD_RE.findall(value)]
    out: list[str] = []
    for m in TOKEN_RE.finditer(value):
        run = m.group(0)
        if m.group("word") is not None or len(run) == 1:
            out.append(run.lower())
        else:
            out.extend(run[i:i + 2].lower() for i in range(len(run) - 1))
    return out


_ENGLISH_STOP = frozenset(stopwords_for_language("en"))


def stop_words(lang: str) -> frozenset[str]:
    base = set(stopwords_for_language(lang)) if has_stopwords(lang) else set()
    return frozenset(base | EXTRA_STOP.get(lang, set()))


#: Shortest German stem kept as Snowball cuts it; shorter ones collide too easily.
MIN_GERMAN_STEM = 4


def german_stem(word: str, snowball: Callable[[str], str]) -> str:
    """Snowball's German stem of a lower-case word, unless that stem collides: it is an
    English stop word, or it is under :data:`MIN_GERMAN_STEM` letters and not how the
    word begins (Snowball folds umlauts first, so ``ändern`` -> ``and`` would meet "Drag
    and Drop"). Then the word itself is kept without its infinitive ending: ``ändern``
    -> ``änder``, the stem Snowball gives ``Änderung``. Short stems that begin the word
    (``Tagen`` -> ``tag``, like ``Tag`` and ``Tage``) stay."""
    stem = snowball(word)
    collides = stem in _ENGLISH_STOP or (len(stem) < MIN_GERMAN_STEM
                                         and not word.startswith(stem))
    if not collides or len(word) <= len(stem):
        return stem
    if word.endswith(("ern", "eln")):
        return word[:-1]
    if word.endswith("en") and len(word) > MIN_GERMAN_STEM + 1:
        return word[:-2]
    return word


class GermanStemFilter(Filter):
    """Stems German tokens with :func:`german_stem` (a bounded cache per instance)."""

    is_morph = True

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __getstate__(self) -> dict:
        return {}  # the index schema is pickled; the cache and stemmer are not

    def __setstate__(self, state: dict) -> None:
        self._cache = {}

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        cache = self._cache
        snowball = stemmer_for_language("de")
        for t in tokens:
            if not t.stopped:
                text = t.text
                got = cache.get(text)
                if got is None:
                    if len(cache) > 50_000:
                        cache.clear()
                    got = cache[text] = german_stem(text, snowball)
                t.text = got
            yield t


def analyzer(lang: str) -> Analyzer:
    """The index and query analyzer for text in ``lang`` (see the module docstring)."""
    chain = ScriptTokenizer() | LowercaseFilter()
    if lang == "de":
        return (chain | StopFilter(stoplist=stop_words(lang), minsize=1) | GermanStemFilter()
                | CharsetFilter(accent_map))
    if lang in STEMMED:
        chain = chain | StopFilter(stoplist=stop_words(lang), minsize=1)
        if has_stemmer(lang):
            chain = chain | StemFilter(lang=lang)
        return chain | CharsetFilter(accent_map)
    if lang in NGRAM:  # Latin words inside Japanese/Thai text are English
        return (chain | StopFilter(stoplist=stop_words("en"), minsize=1) | StemFilter(lang="en")
                | CharsetFilter(accent_map))
    return chain | CharsetFilter(accent_map)


def spell_analyzer() -> Analyzer:
    """Plain lower-case words (no stemming): the vocabulary for typo correction."""
    return ScriptTokenizer() | LowercaseFilter()


#: A term's (weight, encoded count) for the counts most terms have in a document, made
#: once: the posting pool then holds one object of each instead of one per posting.
_COUNTS = tuple((float(n), pack_uint(n)) for n in range(256))


class WordsText(TEXT):
    """Whoosh's ``TEXT`` that counts a pre-tokenised value (a list of terms, as
    :class:`helpgen.index._Analysis` gives) with one ``Counter`` instead of a token
    object per word; a string is analysed as ``TEXT`` does. The postings are the same
    as Whoosh's ``Frequency`` format writes (each term's count, its count times the
    field boost as weight), which tests/test_index_once.py checks term by term.

    Whoosh keeps every posting in memory until its pool is full (the largest part of a
    build's peak memory), so a term's UTF-8 bytes are made once per index write and
    shared, as are small counts' encodings (Whoosh makes each weight again).

    Pickled into the index as a plain ``TEXT`` (without those bytes): the index on
    disk is unchanged and opens without this class.
    """

    def index(self, value: Any, **kwargs: Any) -> Iterable[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, list) or type(self.format) is not Frequency:
            return super().index(value, **kwargs)
        boost = self.format.field_boost
        encoded = self.__dict__.setdefault("_encoded", {})
        out = []
        for word, n in Counter(value).items():
            term = encoded.get(word)
            if term is None:
                term = encoded[word] = word.encode("utf-8")
            if n < 256 and boost == 1.0:
                out.append((term, n, *_COUNTS[n]))
            else:
                out.append((term, n, float(n) * boost, pack_uint(n)))
        return out

    def __reduce_ex__(self, protocol: Any) -> Any:
        plain = TEXT.__new__(TEXT)
        plain.__dict__.update((k, v) for k, v in self.__dict__.items() if k != "_encoded")
        # protocol 1's form (copyreg._reconstructor(TEXT, ...)): protocol 2's would name
        # the class of the object pickled, this one
        return plain.__reduce_ex__(1)


def index_languages(market_language: str) -> tuple[str, ...]:
    """Languages with their own fields in a market's index: English plus the market's."""
    return ("en",) if market_language == "en" else ("en", market_language)


def make_schema(languages: Iterable[str]) -> Schema:
    fields: dict[str, Any] = {
        "id": ID(stored=True, unique=True),
        "url": ID(stored=True),
        "source": ID(stored=True),
        "language": ID(stored=True),
        "audience": ID(stored=True),
        "topic": ID(stored=True),
        "ticket_categories": KEYWORD(stored=True, commas=True, scorable=False),
        "title": STORED(),
        "summary": STORED(),
        "keywords": STORED(),  # for checking multi-word synonyms
        "text": STORED(),  # the plain body text, for snippets
        "spell": WordsText(analyzer=spell_analyzer(), phrase=False),
    }
    for lang in languages:
        ana = analyzer(lang)
        for name in FIELD_BOOSTS:
            fields[f"{name}_{lang}"] = WordsText(analyzer=ana, phrase=False)
        # every text field at once: the cheap first pass that picks candidates
        fields[f"all_{lang}"] = WordsText(analyzer=ana, phrase=False)
    return Schema(**fields)


# --------------------------------------------------------------------------- cleaning

_ASCII_BREAKS = str.maketrans("\t\n\x0b\x0c\r", "     ")


def clean_text(text: str, max_chars: int | None = None) -> str:
    """Drop NUL/control/format characters, normalise to NFKC, collapse whitespace."""
    if max_chars is not None:
        text = text[: max_chars * 2]
    text = unicodedata.normalize("NFKC", text)
    # The common case, checked at C speed: once ASCII tabs and line breaks (category Cc)
    # are spaces, a printable string holds no other category-C character.
    spaced = text.translate(_ASCII_BREAKS)
    if spaced.isprintable():
        text = spaced
    else:
        text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = " ".join(text.split())
    return text[:max_chars] if max_chars is not None else text


# --------------------------------------------------------------------------- layout

def market_dir(index_dir: Path, market: str) -> Path:
    return Path(index_dir) / market


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HelpgenError(f"damaged search index file ({exc}); rebuild with helpgen build",
                           path, exit_code=2) from None


def resolve(index_dir: Path | str, market: str, version: str) -> tuple[Path, str]:
    """(folder, version) of the index for ``market``/``version``; aliases resolve.

    Raises a usage error naming the command that builds the missing index.
    """
    index_dir = Path(index_dir)
    build_cmd = f"helpgen build --market {market} --index-dir {index_dir}"
    if not re.fullmatch(r"[a-z][a-z0-9-]*", market or ""):
        raise HelpgenError(f"unknown market {market!r}; indexed markets: "
                           f"{', '.join(indexed_markets(index_dir)) or 'none'}", exit_code=2)
    if not index_dir.is_dir():
        raise HelpgenError(f"no search index at {index_dir}: run {build_cmd} first",
                           exit_code=2)
    mdir = market_dir(index_dir, market)
    if not mdir.is_dir():
        markets = indexed_markets(index_dir)
        raise HelpgenError(f"unknown market {market!r}: no search index for it in {index_dir} "
                           f"(indexed markets: {', '.join(markets) or 'none'}); run "
                           f"{build_cmd} to build it", exit_code=2)
    versions = indexed_versions(mdir)
    aliases = read_json(mdir / ALIASES_FILE) or {}
    target = version if version in versions else aliases.get(version)
    if target is None and version == "latest" and versions:
        target = versions[0]
    if target is None or not (mdir / str(target) / META_FILE).is_file():
        known = versions + [a for a in aliases if aliases[a] in versions]
        raise HelpgenError(f"no search index for {market} version {version!r} in {index_dir} "
                           f"(indexed: {', '.join(known) or 'none'}); run {build_cmd} "
                           f"--version {version}", exit_code=2)
    return mdir / str(target), str(target)


def indexed_markets(index_dir: Path) -> list[str]:
    if not Path(index_dir).is_dir():
        return []
    return sorted(p.name for p in Path(index_dir).iterdir()
                  if p.is_dir() and not p.name.startswith(".") and indexed_versions(p))


def indexed_versions(mdir: Path) -> list[str]:
    """Complete index folders of a market, newest first (natural order)."""
    if not mdir.is_dir():
        return []
    found = [p.name for p in mdir.iterdir()
             if p.is_dir() and not p.name.startswith(".") and (p / META_FILE).is_file()]
    return sorted(found, key=_natural_key, reverse=True)


def _natural_key(version: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", version) if p)


def read_meta(path: Path) -> dict:
    """The index's meta record, checked against :data:`SCHEMA_VERSION`."""
    meta = read_json(path / META_FILE)
    if not isinstance(meta, dict):
        raise HelpgenError(f"no search index at {path}: rebuild with helpgen build", exit_code=2)
    found = meta.get("schema_version")
    if found != SCHEMA_VERSION:
        raise HelpgenError(f"index at {path} has schema v{found}, this helpgen needs "
                           f"v{SCHEMA_VERSION}: rebuild with helpgen build", exit_code=2)
    return meta
