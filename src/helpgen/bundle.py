"""The static search bundle: the Whoosh index of one market and version as files a
browser reads, so a site published as plain files searches as ``helpgen serve`` does.

Written by the build from the index it just wrote (Whoosh stays the source of truth)
into ``<version>/search/bundle/``; read by the theme's ``engine.js``. Every file but
``manifest.json`` is named by a hash of its content (``terms-en-3f2a9c0d41b7.json``),
so it can be cached for ever and a file that did not change between versions or
builds is fetched once. Files are plain JSON, not pre-compressed: hosts that compress
on the fly (GitHub Pages, CDNs, nginx ``gzip on``) serve them gzip-compressed; on
object storage without compression, upload them with ``Content-Encoding: gzip``
(manual/search.md).

What a browser fetches, and when:

* ``manifest.json`` (on the first query): constants, field statistics (documents,
  average field lengths), synonym groups, audiences, topics, ticket-category titles, the
  deflection model and the name of every other file;
* ``docs-*.json``: per document its audience, topic and ticket categories, and which
  are in the market's own language (read for a filtered search and by ticket
  suggestions); ``ids-*.json``: the article ids in document order (ticket suggestions);
* ``terms-<lang>-*.json``: term-range chunks of one language's terms, each term with
  its postings: document number gaps, the term's count in each field and those fields'
  lengths (BM25F is computed in the browser from these exactly as Whoosh computes it);
* ``spell-<hash>/<key>.json``: the spelling vocabulary (words as written, with their
  document frequency), one file per first letter and word length: a typo's candidates
  share the first letter and differ in length by at most two;
* ``dict-<lang>-<hash>/<n>.json``: the word lists that keep real words from being
  "corrected" (pyspellchecker's, with their counts), by a word's first two letters,
  neighbouring letter pairs packed into files of about 16 KB, read only for a word the
  index does not know (``keys.json`` lists each file's letter pairs);
* ``ends-*.json`` (German markets): the German terms spelt backwards, by last letter,
  for compounds ending in a query word;
* ``a-<hash>/<document number>.json``: one file per article (title, address, summary,
  text) for the hits shown, their snippets and multi-word synonyms.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import analysis, wordlists
from .wordlists import key_name
from .errors import HelpgenError

FORMAT = 1
BUNDLE_DIR = "search/bundle"  # inside a version's site folder
MANIFEST = "manifest.json"
FIELDS = tuple(analysis.FIELD_BOOSTS)  # title, keywords, headings, summary, body
#: Raw size at which a term chunk is closed: small enough that a query's few words
#: fetch little, large enough that a site has a few hundred chunks, not thousands.
CHUNK_CHARS = 8_000
HASH_CHARS = 12


@dataclass(frozen=True)
class BundleInfo:
    path: Path
    files: int
    bytes: int
    seconds: float


_dump = wordlists.dump


class _Writer:
    """Writes content-named files into one folder (the same content once)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = 0
        self.bytes = 0

    def raw(self, name: str, body: bytes) -> None:
        """Write ``body`` as ``name`` (a name the caller made unique to its content)."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        self.files += 1
        self.bytes += len(body)

    def folder_of(self, prefix: str, files: dict[str, bytes]) -> dict[str, Any]:
        """Write ``files`` (key -> content) as ``<prefix>-<hash of them all>/<key in
        hex>.json``: {"dir": the folder, "keys": the keys}."""
        folder = f"{prefix}-{wordlists.folder_digest(files)[:HASH_CHARS]}/"
        for key, body in files.items():
            self.raw(f"{folder}{key_name(key)}.json", body)
        return {"dir": folder, "keys": list(files)}

    def put(self, prefix: str, data: Any) -> str:
        """Write ``data`` as ``<prefix>-<hash of its content>.json``; its name."""
        body = _dump(data)
        name = f"{prefix}-{hashlib.sha256(body).hexdigest()[:HASH_CHARS]}.json"
        if not (self.folder / name).exists():  # the same content is written once
            self.raw(name, body)
        return name


def write(index_path: Path | str, site_version_dir: Path | str, *,
          model: dict | None = None, labels: dict | None = None,
          deflection: dict | None = None, dictionaries: bool = True) -> BundleInfo:
    """Write the bundle of the index at ``index_path`` (one market and version) into
    ``<site_version_dir>/search/bundle/`` (replacing any bundle there)."""
    from whoosh import index as whoosh_index

    t0 = time.perf_counter()
    index_path = Path(index_path)
    meta = analysis.read_meta(index_path)
    out = Path(site_version_dir) / BUNDLE_DIR
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    w = _Writer(out)
    ix = whoosh_index.open_dir(str(index_path))
    try:
        with ix.searcher() as s:
            manifest = _contents(s, meta, w, index_path, dictionaries)
    finally:
        ix.close()
    manifest["model"] = model
    manifest["labels"] = labels or {"audiences": {}, "topics": {}}
    manifest["deflection"] = deflection if deflection is not None else deflection_record(None)
    body = _dump(manifest)
    (out / MANIFEST).write_bytes(body)
    return BundleInfo(out, w.files + 1, w.bytes + len(body), time.perf_counter() - t0)


def _contents(s: Any, meta: dict, w: _Writer, index_path: Path,
              dictionaries: bool) -> dict[str, Any]:
    from .search import (ALTERNATIVES_TIEBREAK, CANDIDATES, COMPOUND_WEIGHT, COORDINATION,
                         CORRECTION_WEIGHT, MAX_COMPOUNDS, MAX_QUERY_CHARS, MAX_QUERY_TERMS,
                         MAX_TEXT_TERMS, MAX_WORD_CHARS, MIN_PART, NATIVE_BONUS,
                         PARTICIPLE_WEIGHT, SNIPPET_CHARS, STABLE_LIMIT, SYNONYM_WEIGHT)

    reader = s.reader()
    languages = list(meta["languages"])
    n = s.doc_count_all()
    weighting = s.weighting
    stats: dict[str, float] = {}
    for lang in languages:
        for f in (*FIELDS, "all"):
            name = f"{f}_{lang}"
            stats[name] = s.avg_field_length(name) or 1
    audiences = list(meta.get("audiences", ()))
    topics = list(meta.get("topics", ()))
    categories: list[str] = []
    docs: dict[str, Any] = {"count": n, "aud": [], "topic": [], "cats": [], "native": []}
    ids: list[str] = []
    lengths: list[list[int]] = []  # per document: its fields' lengths, then the combined
    native: list[bool] = []
    fragments: list[bytes] = []
    for docnum in range(n):
        f = s.stored_fields(docnum)
        lang = f["language"] if f["language"] in languages else "en"
        native.append(meta["language"] != "en" and f["language"] == meta["language"])
        if native[-1]:
            docs["native"].append(docnum)
        lengths.append([s.doc_field_length(docnum, f"{name}_{lang}", 1)
                        for name in (*FIELDS, "all")])
        docs["aud"].append(audiences.index(f["audience"]) if f["audience"] in audiences
                           else -1)
        docs["topic"].append(topics.index(f["topic"]) if f["topic"] in topics else -1)
        cats = [c for c in (f.get("ticket_categories") or "").split(",") if c]
        for c in cats:
            if c not in categories:
                categories.append(c)
        docs["cats"].append([categories.index(c) for c in cats])
        ids.append(f["id"])
        fragments.append(_dump({
            "id": f["id"], "title": f["title"], "url": f["url"], "source": f["source"],
            "summary": f.get("summary", ""), "keywords": f.get("keywords", ""),
            "text": f.get("text", ""), "audience": f["audience"], "topic": f["topic"],
            "language": f["language"]}))
    # one file per article, named by its document number in a folder named by a hash
    # of them all: a hit needs no list of names, and a name never changes its content
    digest = hashlib.sha256()
    for body in fragments:
        digest.update(hashlib.sha256(body).digest())
    articles = f"a-{digest.hexdigest()[:HASH_CHARS]}/"
    for docnum, body in enumerate(fragments):
        w.raw(f"{articles}{docnum}.json", body)
    docs_name = w.put("docs", docs)
    ids_name = w.put("ids", ids)  # read by ticket suggestions, not by the search box

    terms = {lang: _term_chunks(reader, lang, w, lengths, native) for lang in languages}
    spell = _spell_chunks(reader, w)
    ends = _ending_chunks(reader, w) if "de" in languages else {}
    dicts = ({lang: _dictionary_chunks(lang, w) for lang in languages
              if lang in _dictionary_languages()} if dictionaries else {})
    synonyms = analysis.read_json(index_path / analysis.SYNONYMS_FILE) or []
    return {
        "format": FORMAT,
        "market": meta["market"],
        "version": meta["version"],
        "language": meta["language"],
        "languages": languages,
        "documents": n,
        "bm25": {"B": getattr(weighting, "B", 0.75), "K1": getattr(weighting, "K1", 1.2)},
        "avg_length": stats,
        "field_boosts": analysis.FIELD_BOOSTS,
        "all_field": {"title": 2, "keywords": 2, "headings": 1, "summary": 1, "body": 1},
        "constants": {
            "MAX_QUERY_CHARS": MAX_QUERY_CHARS, "MAX_QUERY_TERMS": MAX_QUERY_TERMS,
            "MAX_TEXT_TERMS": MAX_TEXT_TERMS, "MAX_WORD_CHARS": MAX_WORD_CHARS,
            "SYNONYM_WEIGHT": SYNONYM_WEIGHT, "CORRECTION_WEIGHT": CORRECTION_WEIGHT,
            "COORDINATION": COORDINATION, "ALTERNATIVES_TIEBREAK": ALTERNATIVES_TIEBREAK,
            "COMPOUND_WEIGHT": COMPOUND_WEIGHT, "PARTICIPLE_WEIGHT": PARTICIPLE_WEIGHT,
            "MAX_COMPOUNDS": MAX_COMPOUNDS, "MIN_PART": MIN_PART, "NATIVE_BONUS": NATIVE_BONUS,
            "STABLE_LIMIT": STABLE_LIMIT, "CANDIDATES": CANDIDATES,
            "SNIPPET_CHARS": SNIPPET_CHARS, "MIN_GERMAN_STEM": analysis.MIN_GERMAN_STEM},
        "synonyms": synonyms,
        "audiences": audiences,
        "topics": topics,
        "categories": categories,
        "category_titles": meta.get("category_titles") or {},
        "files": {"docs": docs_name, "ids": ids_name, "articles": articles, "terms": terms,
                  "spell": spell, "ends": ends, "dict": dicts},
    }


def _term_chunks(reader: Any, lang: str, w: _Writer, lengths: list[list[int]],
                 native: list[bool]) -> list[list[str]]:
    """[[first term, file name], ...] of ``lang``'s terms in order. A term's postings
    are a flat list: for each document, the gap from the previous document number, a
    bit mask of the fields holding the term (title = 1, keywords = 2, ... body = 16;
    32: the article is in the market's own language), the term's count in each of those
    fields, the length of each of those fields, then the length of the combined field.
    The lengths are Whoosh's own (stored as a byte, so approximate for long fields):
    with them in the postings a query reads nothing per document beyond its terms."""
    all_field = f"all_{lang}"
    if all_field not in reader.indexed_field_names():
        return []
    chunks: list[list[str]] = []
    cur_terms: list[str] = []
    cur_posts: list[list[int]] = []
    size = 0

    def close() -> None:
        nonlocal cur_terms, cur_posts, size
        if cur_terms:
            chunks.append([cur_terms[0], w.put(f"terms-{lang}",
                                               {"t": cur_terms, "p": cur_posts})])
        cur_terms, cur_posts, size = [], [], 0

    field_names = [f"{f}_{lang}" for f in FIELDS]
    for btext in reader.lexicon(all_field):
        term = btext.decode("utf-8")
        per_doc: dict[int, list[int]] = {}
        for bit, fname in enumerate(field_names):
            try:
                m = reader.postings(fname, btext)
            except Exception:  # the term is in another field only
                continue
            for docnum, weight in m.items_as("weight"):
                per_doc.setdefault(docnum, [0] * len(FIELDS))[bit] = int(weight)
        flat: list[int] = []
        prev = 0
        for docnum in sorted(per_doc):
            tfs = per_doc[docnum]
            mask = sum(1 << i for i, tf in enumerate(tfs) if tf) | (32 if native[docnum] else 0)
            flat.append(docnum - prev)
            flat.append(mask)
            flat.extend(tf for tf in tfs if tf)
            flat.extend(ln for tf, ln in zip(tfs, lengths[docnum]) if tf)
            flat.append(lengths[docnum][-1])
            prev = docnum
        cur_terms.append(term)
        cur_posts.append(flat)
        size += len(term) + 3 * len(flat) + 4
        if size >= CHUNK_CHARS:
            close()
    close()
    return chunks


def spell_key(word: str) -> str:
    """The spelling file a word is in: its first letter and its length."""
    return f"{word[0]}{len(word)}"


def _spell_chunks(reader: Any, w: _Writer) -> dict[str, Any]:
    """{"dir": folder, "keys": [...]}: one file per first letter and length
    (``<dir><key in hex>.json``: [word, document frequency, ...])."""
    groups: dict[str, list] = {}
    for btext in reader.lexicon("spell"):
        word = btext.decode("utf-8")
        if analysis.CJK_RUN.search(word):  # CJK bigrams are never typo-corrected
            continue
        groups.setdefault(spell_key(word), []).extend(
            (word, reader.doc_frequency("spell", word)))
    return w.folder_of("spell", {key: _dump(flat) for key, flat in sorted(groups.items())})


def _ending_chunks(reader: Any, w: _Writer) -> dict[str, str]:
    groups: dict[str, list[str]] = {}
    if "all_de" not in reader.indexed_field_names():
        return {}
    for btext in reader.lexicon("all_de"):
        rev = btext.decode("utf-8")[::-1]
        groups.setdefault(rev[0], []).append(rev)
    return {key: w.put("ends", sorted(words)) for key, words in sorted(groups.items())}


@functools.lru_cache(maxsize=None)
def _dictionary_languages() -> frozenset[str]:
    try:
        from spellchecker import SpellChecker
    except ImportError:  # pragma: no cover - a declared dependency
        return frozenset()
    return frozenset(SpellChecker.languages())


def _dictionary_chunks(lang: str, w: _Writer) -> dict[str, Any]:
    """{"total": count of words, "dir": folder}: ``<dir>keys.json`` lists the packs of
    keys (a word's first two letters), ``<dir><n>.json`` maps each key of pack ``n`` to
    its words and their counts (:mod:`helpgen.wordlists`); read only when a query has a
    word the index does not know. The folder's name is the
    same in every build with the same word list, so browsers keep it across versions.
    Written by a small separate process (:mod:`helpgen.wordlists`), or copied from
    helpgen's cache folder when an earlier build wrote it; the next market of this
    process copies the folder it wrote."""
    tmp = w.folder / f".dict-{lang}-staging"
    shutil.rmtree(tmp, ignore_errors=True)
    done = _WORD_LISTS.get(lang)
    if done is not None and done[0].is_dir():
        shutil.copytree(done[0], tmp)
        info = done[1]
    else:
        try:
            info = wordlists.write_cached(lang, tmp)
        except RuntimeError as exc:
            raise HelpgenError(str(exc)) from None
    folder = f"dict-{lang}-{info['digest'][:HASH_CHARS]}/"
    tmp.rename(w.folder / folder)
    _WORD_LISTS[lang] = (w.folder / folder, info)
    w.files += info["files"]
    w.bytes += info["bytes"]
    return {"total": info["total"], "dir": folder}


#: per process: language -> (the word-list folder last written, what it holds)
_WORD_LISTS: dict[str, tuple[Path, dict[str, Any]]] = {}


def labels(config: Any, language: str) -> dict[str, dict[str, str]]:
    """Audience and topic titles in the market's language: the line under a result's
    title ("Sellers", "Billing")."""
    return {"audiences": {code: a.text("title", language) for code, a in config.audiences.items()},
            "topics": {code: t.text("title", language) for code, t in config.topics.items()}}


def write_for_build(config: Any, index_stage: Path, market: str, version: str,
                    site_stage: Path) -> BundleInfo | None:
    """The bundle of a staged build (index in ``<index_stage>/<market>/<version>/``)
    inside its staged site folder; nothing when ``search.static_bundle`` is off."""
    if not config.setting("search.static_bundle"):
        return None
    from .deflect import load_model

    language = config.market(market).language
    return write_to_stage(Path(index_stage) / market / version, Path(site_stage),
                          model=load_model(config).as_dict(),
                          labels=labels(config, language), deflection=deflection_record(config))


#: deflect.py's constants suggest.js runs with (as engine.js runs with search.py's)
DEFLECT_CONSTANTS = ("MAX_LIMIT", "MAX_HEAD_WORDS", "MAX_DESCRIPTION_WORDS",
                     "DESCRIPTION_WEIGHT", "CORRECTED_CREDIT", "CATEGORY_CREDIT", "UNKNOWN_DF",
                     "CANDIDATES", "RARITY_COMMON", "RARITY_SPAN", "MIN_SLIP_CHARS")


def deflection_record(config: Any) -> dict[str, Any]:
    """What ``POST /api/suggest`` reads from helpgen.yml (the defaults without a
    configuration) and deflect.py's constants, for the ticket page on a static host."""
    from . import deflect

    settings = deflect._settings(config)
    return {
        "categories": dict(config.ticket_categories) if config is not None else {},
        "category_map": dict(settings["deflection.category_map"]),
        "max_field_chars": settings["deflection.max_field_chars"],
        "min_confidence": settings["deflection.min_confidence"],
        "constants": {name: getattr(deflect, name) for name in DEFLECT_CONSTANTS}}


def move_into(written: Path, site_stage: Path) -> None:
    """Move a bundle :func:`write_for_build` wrote into the folder ``written`` into a
    staged site version (nothing when it wrote none: the setting is off)."""
    source = Path(written) / BUNDLE_DIR
    if not source.is_dir():
        return
    target = Path(site_stage) / BUNDLE_DIR
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(source), str(target))


def write_to_stage(index_path: Path, stage: Path, model: dict | None,
                   labels: dict | None = None, deflection: dict | None = None) -> BundleInfo:
    """Write into a fresh folder beside ``stage`` and move it in (a bundle is never
    half there)."""
    Path(stage).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=stage))
    try:
        info = write(index_path, tmp, model=model, labels=labels, deflection=deflection)
        move_into(tmp, stage)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BundleInfo(Path(stage) / BUNDLE_DIR, info.files, info.bytes, info.seconds)
