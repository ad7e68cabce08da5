"""Articles -> a Whoosh index on disk, one per market and version.

The index holds what the reader of that market sees: the rendered Markdown of each
article (market variables applied, the market's language variant or the English text),
with Markdown syntax and the "not translated yet" notice removed.

:func:`build_market` writes ``<index_dir>/<market>/<version>/`` into a temporary folder
beside it and swaps it in only when complete: a failed build leaves the previous index
serving. :func:`write_aliases` records which version each alias (``latest``) means.
Analyzers, fields and the folder layout live in :mod:`helpgen.analysis`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from whoosh import index as whoosh_index
from whoosh.analysis import entoken

from . import analysis, atomic, cjk
from .errors import HelpgenError

if TYPE_CHECKING:  # the build side passes rendered pages in; no import at run time
    from .config import Config
    from .render import RenderedMarket


PARALLEL_MIN_DOCS = 1000  # below this, forking analysers costs more than it saves


@dataclass(frozen=True)
class IndexDoc:
    """One article as indexed: plain text, no Markdown."""

    id: str
    title: str
    summary: str
    keywords: tuple[str, ...]
    headings: tuple[str, ...]
    body: str
    audience: str
    topic: str
    url: str
    source: str
    language: str
    ticket_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexInfo:
    path: Path
    market: str
    version: str
    documents: int
    text_chars: int
    bytes: int
    seconds: float


# --------------------------------------------------------------------------- markdown -> text

_FENCE = re.compile(r"^(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ADMONITION = re.compile(r'^(?:!!!|\?\?\?\+?)\s*[\w-]+(?:\s+[\w-]+)*\s*(?:"(?P<title>[^"]*)")?\s*$')
_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links -> text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"<[^>\n]+>"), " "),  # inline HTML tags
    (re.compile(r"\{[:#.][^}]*\}"), ""),  # attr_list
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"\[\^[^\]]+\]:?"), ""),  # footnote markers
]
#: What the indexed text puts between a table's cells, and before each row after the first.
CELL_SEP = " · "
ROW_SEP = "— "
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


#: What each of :data:`_INLINE`'s patterns cannot match without (one of these strings):
#: the pattern is skipped when the text has none of them, which gives the same text.
_INLINE_NEEDS = (("![",), ("[",), ("[",), ("<",), ("{",), ("**", "__"), ("*", "_"), ("`",),
                 ("[^",))


def inline_text(text: str) -> str:
    for (pattern, repl), needs in zip(_INLINE, _INLINE_NEEDS):
        if any(n in text for n in needs):
            text = pattern.sub(repl, text)
    return text


def markdown_to_text(markdown: str, drop: str = "") -> tuple[str, tuple[str, ...]]:
    """(plain body text, headings) of rendered Markdown; the first H1 is the title.

    ``drop`` is a block removed verbatim first (the fallback notice).
    """
    if drop:
        markdown = markdown.replace(drop, "")
    markdown = cjk.join_breaks(markdown)  # as the page shows it: no space between CJK lines
    in_table = False
    lines_out: list[str] = []
    headings: list[str] = []
    in_fence = False
    seen_h1 = False
    for raw in markdown.splitlines():
        line = raw.rstrip()
        if _FENCE.match(line.strip()):
            in_fence = not in_fence
            continue
        if in_fence:
            lines_out.append(line.strip())
            continue
        stripped = line.strip()
        m = _HEADING.match(stripped)
        if m and not raw.startswith((" ", "\t")):
            text = inline_text(m.group(2)).strip()
            if len(m.group(1)) == 1 and not seen_h1:
                seen_h1 = True
                continue
            headings.append(text)
            lines_out.append("")
            in_table = False
            continue
        m = _ADMONITION.match(stripped)
        if m:
            if m.group("title"):
                lines_out.append(inline_text(m.group("title")) + ".")
            continue
        if _TABLE_RULE.match(stripped) and "-" in stripped:
            continue
        stripped = _LIST.sub("", stripped)
        stripped = stripped.lstrip(">").strip()
        if stripped.startswith("|"):
            # cells and rows stay apart in snippets: "Stage · Time — Submitted · 1 hour"
            row = CELL_SEP.join(c.strip() for c in stripped.strip("|").split("|"))
            lines_out.append((ROW_SEP if in_table else "") + inline_text(row))
            in_table = True
            continue
        in_table = False
        lines_out.append(inline_text(stripped))
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines_out:
        if line:
            current.append(line)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    body = "\n".join(p for p in paragraphs if p)
    return analysis.clean_text(body.replace("\n", " \n ")).replace(" \n ", "\n"), tuple(headings)


def documents(rendered: RenderedMarket, config: Config) -> list[IndexDoc]:
    """The index records of every article published on the rendered market."""
    from .render import fallback_notice  # build side only

    notice = fallback_notice(config, rendered.market)
    docs = []
    for page in rendered.searchable():
        art = page.article
        body, headings = markdown_to_text(page.markdown, notice if page.fallback else "")
        docs.append(IndexDoc(
            id=art.id, title=page.title, summary=page.summary, keywords=page.keywords,
            headings=headings, body=body, audience=art.audience, topic=art.topic,
            url=page.url, source=page.source, language=page.language,
            ticket_categories=art.ticket_categories,
        ))
    return docs


# --------------------------------------------------------------------------- synonyms

#: The product-neutral synonym lists shipped with helpgen, one per interface language.
DEFAULT_SYNONYMS_DIR = Path(__file__).parent / "synonyms"


def default_synonyms(languages: Iterable[str]) -> list[list[str]]:
    """The shipped groups for ``languages`` (``synonyms/<lang>.txt``; none for others)."""
    groups: list[list[str]] = []
    for lang in dict.fromkeys(languages):
        groups.extend(load_synonyms(DEFAULT_SYNONYMS_DIR / f"{lang}.txt"))
    return groups


def merge_synonyms(*lists: list[list[str]]) -> list[list[str]]:
    """Groups of several lists in order, each distinct group once."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for groups in lists:
        for g in groups:
            key = tuple(sorted(g))
            if key not in seen:
                seen.add(key)
                out.append(g)
    return out


def project_synonyms(config: Config, language: str) -> list[list[str]]:
    """What a market's index uses: the shipped lists of English and the market's language
    (unless ``search.default_synonyms`` is off), then ``docs/_meta/synonyms.txt``."""
    shipped = (default_synonyms(analysis.index_languages(language))
               if config.setting("search.default_synonyms") else [])
    return merge_synonyms(load_synonyms(config.docs_dir / "_meta" / "synonyms.txt"), shipped)


def load_synonyms(path: Path) -> list[list[str]]:
    """Groups from ``docs/_meta/synonyms.txt``: one comma-separated group per line."""
    if not path.is_file():
        return []
    groups = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        terms = [analysis.clean_text(t).lower() for t in line.split(",")]
        terms = list(dict.fromkeys(t for t in terms if t))
        if len(terms) > 1:
            groups.append(terms)
    return groups


# --------------------------------------------------------------------------- writing

class _Analysis:
    """Each article's text analysed once, every field fed from that analysis.

    A language's analyzer is the spelling field's (script tokenizer and lower case)
    followed by per-token filters (stop words, stems, accents), so each piece of text is
    tokenised once: the spelling field takes those words, the language's filters run once
    over them, and ``title_*``, ``all_*`` etc. get pre-tokenised values (lists, which
    Whoosh indexes as given). The field separators (`` . ``, spaces) end every token,
    so the terms and counts are those of analysing each field's joined text.
    """

    def __init__(self, schema: object, languages: tuple[str, ...]) -> None:
        from whoosh.analysis import LowercaseFilter

        spell = schema["spell"].analyzer  # type: ignore[index]
        head = list(spell.items)
        self.fast = [type(i) for i in head] == [analysis.ScriptTokenizer, LowercaseFilter]
        self.words = spell
        self.filters: dict[str, list] = {}
        # word -> its terms: the filters work token by token, so each word once per build
        self.terms: dict[str, dict[str, tuple[str, ...]]] = {}
        for lang in languages:
            items = list(schema[f"all_{lang}"].analyzer.items)  # type: ignore[index]
            if items[:len(head)] != head:
                raise HelpgenError(f"the {lang} analyzer does not begin with the spelling "
                                   "field's tokenizer")
            self.filters[lang] = items[len(head):]
            self.terms[lang] = {}

    def _terms_of(self, word: str, lang: str) -> tuple[str, ...]:
        gen: Iterable = entoken([word], mode="index")
        for f in self.filters[lang]:
            gen = f(gen)
        got = self.terms[lang][word] = tuple(t.text for t in gen if not t.stopped)
        return got

    def tokens(self, text: str, lang: str) -> tuple[list[str], list[str]]:
        """(spelling words, ``lang`` terms) of ``text``, stop words dropped."""
        if self.fast:
            words = analysis.words(text)
        else:
            words = [t.text for t in self.words(text, mode="index") if not t.stopped]
        memo = self.terms[lang]
        terms: list[str] = []
        for w in words:
            got = memo.get(w)
            terms.extend(got if got is not None else self._terms_of(w, lang))
        return words, terms

    def fields(self, doc: IndexDoc, languages: tuple[str, ...]) -> dict:
        lang = doc.language if doc.language in languages else "en"
        # analysed text is NFKC-normalised like queries are (full-width letters and digits)
        title, summary, body = (analysis.clean_text(t)
                                for t in (doc.title, doc.summary, doc.body))
        keywords = " . ".join(analysis.clean_text(k) for k in doc.keywords)
        headings = " . ".join(analysis.clean_text(h) for h in doc.headings)
        spell: list[str] = []
        terms: dict[str, list[str]] = {}
        for name, text in (("title", title), ("summary", summary), ("keywords", keywords),
                           ("headings", headings), ("body", body)):
            words, terms[name] = self.tokens(text, lang)
            spell += words
        t, k = terms["title"], terms["keywords"]
        return {
            "id": doc.id, "url": doc.url, "source": doc.source, "language": doc.language,
            "audience": doc.audience, "topic": doc.topic,
            "ticket_categories": ",".join(doc.ticket_categories),
            "title": doc.title, "summary": doc.summary, "text": doc.body, "keywords": keywords,
            "spell": spell,
            f"title_{lang}": t,
            f"keywords_{lang}": k,
            f"headings_{lang}": terms["headings"],
            f"summary_{lang}": terms["summary"],
            f"body_{lang}": terms["body"],
            # title and keywords twice: the first pass already leans towards them
            f"all_{lang}": t + t + k + k + terms["headings"] + terms["summary"] + terms["body"],
        }


def _fields(doc: IndexDoc, languages: tuple[str, ...]) -> dict:
    """The field values of ``doc`` as joined text, analysed by Whoosh field by field
    (the reference :class:`_Analysis` must match; tests compare the two indexes)."""
    lang = doc.language if doc.language in languages else "en"
    title, summary, body = (analysis.clean_text(t) for t in (doc.title, doc.summary, doc.body))
    keywords = " . ".join(analysis.clean_text(k) for k in doc.keywords)
    headings = " . ".join(analysis.clean_text(h) for h in doc.headings)
    return {
        "id": doc.id, "url": doc.url, "source": doc.source, "language": doc.language,
        "audience": doc.audience, "topic": doc.topic,
        "ticket_categories": ",".join(doc.ticket_categories),
        "title": doc.title, "summary": doc.summary, "text": doc.body, "keywords": keywords,
        "spell": " ".join([title, summary, keywords, headings, body]),
        f"title_{lang}": title,
        f"keywords_{lang}": keywords,
        f"headings_{lang}": headings,
        f"summary_{lang}": summary,
        f"body_{lang}": body,
        f"all_{lang}": " . ".join([title, title, keywords, keywords, headings, summary, body]),
    }


def locked(mdir: Path) -> contextlib.AbstractContextManager[None]:
    """An exclusive lock on a market's index folder (``.lock`` inside it)."""
    return atomic.locked(mdir, ".lock")


def install(staging: Path, mdir: Path, version: str) -> Path:
    """Move the complete index folder ``staging`` to ``mdir/version`` under the market's
    lock (two builds of one market swap one after the other); returns the new folder."""
    mdir.mkdir(parents=True, exist_ok=True)
    with locked(mdir):
        atomic.swap_into_place(staging, mdir / version)
    return mdir / version


def _remember_field_lengths(writer: Any) -> None:
    """Whoosh's commit reads a document's field length back from the segment's files
    for every posting (a fifth of indexing); a document has one length per field, so
    remember it (the same values, read once)."""
    make = getattr(writer, "per_document_reader", None)
    if make is None:
        return

    def per_document_reader() -> Any:
        reader = make()
        read = reader.doc_field_length
        lengths: dict[tuple[int, str], int] = {}

        def doc_field_length(docnum: int, fieldname: str, default: int = 0) -> int:
            key = (docnum, fieldname)
            value = lengths.get(key)
            if value is None:
                value = lengths[key] = read(docnum, fieldname, default)
            return value

        reader.doc_field_length = doc_field_length
        return reader

    writer.per_document_reader = per_document_reader


def write(docs: Iterable[IndexDoc], index_dir: Path | str, market: str, version: str,
          language: str, *, audiences: Iterable[str] = (), topics: Iterable[str] = (),
          synonyms: list[list[str]] | None = None, procs: int | None = None,
          build_id: str | None = None, analyse_once: bool = True,
          category_titles: Mapping[str, str] | None = None) -> IndexInfo:
    """Index ``docs`` as ``<index_dir>/<market>/<version>/``, atomically.

    The index is written into a temporary folder beside the destination and renamed
    into place only after Whoosh committed it and the meta file was written.
    ``procs``: analysing processes (one segment each); by default two for a list of at
    least :data:`PARALLEL_MIN_DOCS` documents on a machine with two or more cores.
    ``build_id`` is recorded in the meta file, the same id as the site's ``build.json``.
    ``analyse_once=False`` lets Whoosh analyse each field's text itself (the reference
    the tests compare :class:`_Analysis` with). ``category_titles`` (ticket category code
    -> its title in the market's language) is recorded in the meta file: ticket deflection
    reads a draft word found in a category's title as evidence for the articles that
    declare the category.
    """
    if procs is None:
        many = isinstance(docs, Sequence) and len(docs) >= PARALLEL_MIN_DOCS
        procs = min(2, os.cpu_count() or 1) if many else 1
    t0 = time.perf_counter()
    mdir = analysis.market_dir(Path(index_dir), market)
    mdir.mkdir(parents=True, exist_ok=True)
    languages = analysis.index_languages(language)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{version}-", dir=mdir))
    count = chars = 0
    try:
        schema = analysis.make_schema(languages)
        ix = whoosh_index.create_in(str(staging), schema)
        fields = _Analysis(schema, languages).fields if analyse_once else _fields
        if procs > 1:
            writer = ix.writer(limitmb=128, procs=procs, multisegment=True)
        else:
            writer = ix.writer(limitmb=128)
            _remember_field_lengths(writer)
        try:
            for doc in docs:
                writer.add_document(**fields(doc, languages))
                count += 1
                chars += len(doc.title) + len(doc.summary) + len(doc.body)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        ix.close()
        (staging / analysis.SYNONYMS_FILE).write_text(
            json.dumps(synonyms or [], ensure_ascii=False), encoding="utf-8")
        meta = {
            "schema_version": analysis.SCHEMA_VERSION,
            "market": market,
            "version": version,
            "language": language,
            "languages": list(languages),
            "audiences": sorted(set(audiences)),
            "topics": sorted(set(topics)),
            "category_titles": dict(category_titles or {}),
            "documents": count,
            "text_chars": chars,
            "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        if build_id:
            meta["build_id"] = build_id
        (staging / analysis.META_FILE).write_text(json.dumps(meta, indent=2) + "\n",
                                                  encoding="utf-8")
        final = install(staging, mdir, version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in final.iterdir() if p.is_file())
    return IndexInfo(final, market, version, count, chars, size, time.perf_counter() - t0)


def build_market(config: Config, rendered: RenderedMarket, index_dir: Path | str,
                 build_id: str | None = None, procs: int | None = None) -> IndexInfo:
    """Index one rendered market build (into a staging tree ``site.build`` publishes).

    ``procs``: see :func:`write`; a daemonic build child passes 1 (it may not fork)."""
    language = rendered.market.language
    synonyms = project_synonyms(config, language)
    titles = {code: c.text("title", language) for code, c in config.categories.items()}
    return write(documents(rendered, config), index_dir, rendered.market.code, rendered.version,
                 language, audiences=config.audiences, topics=config.topics,
                 synonyms=synonyms, build_id=build_id, procs=procs, category_titles=titles)


def write_aliases(index_dir: Path | str, market: str, versions: list[dict]) -> dict[str, str]:
    """Mirror the site's ``versions.json`` aliases for the versions that have an index."""
    mdir = analysis.market_dir(Path(index_dir), market)
    indexed = set(analysis.indexed_versions(mdir))
    aliases = {a: v["version"] for v in versions if v.get("version") in indexed
               for a in v.get("aliases", [])}
    if not mdir.is_dir():
        raise HelpgenError(f"no search index for market {market!r} in {index_dir}",
                           exit_code=2)
    with locked(mdir):
        atomic.write_text(mdir / analysis.ALIASES_FILE,
                          json.dumps(aliases, indent=2, sort_keys=True) + "\n")
    return aliases
