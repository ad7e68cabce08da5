"""Articles: Markdown files with YAML front matter, validated against one schema.

Files directly under ``docs/`` are *pages* (home page, submit-a-ticket page): they
need only a ``title``. Files in sub-folders are *articles* and carry the full schema
in :data:`ARTICLE_FIELDS`. ``name.<lang>.md`` beside an article is its translation
(a *variant*) and carries only the translated fields in :data:`VARIANT_FIELDS`.

Every problem in every file is collected and raised together as
``docs/<file>.md:<line>:<col>: error: ...`` lines. No MkDocs import here.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from . import urls, yamlpos
from .config import Config
from .errors import Problem, raise_if
from .urls import normalize_redirect  # noqa: F401  (part of this module's API)

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
VARIANT_RE = re.compile(r"^(?P<stem>.+)\.(?P<lang>[a-z]{2,3})\.md$")
FRONT_RE = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.S)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    required: bool
    help: str
    example: str


#: The article front-matter schema: the single source for validation and the docs.
ARTICLE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", True, "Stable unique slug (lower-case letters, digits, hyphens). "
              "Gives the permalink /<market>/<version>/a/<id>/; never change it.",
              "submit-a-ticket"),
    FieldSpec("title", True, "The question or task the article answers.",
              "Submit a support ticket"),
    FieldSpec("summary", True, "One sentence (at most 200 characters) shown in search "
              "results and suggestions.", "How to open a ticket from the Partner Center."),
    FieldSpec("audience", True, "Who reads it; one of the audiences in helpgen.yml (not needed "
              "when the project has one audience).", "partners"),
    FieldSpec("topic", False, "Navigation group; one of the topics in helpgen.yml (it must "
              "belong to the audience; `billing/invoices` for a sub-topic). Default: the "
              "article's folders under the audience, when they name a topic.",
              "support-tickets"),
    FieldSpec("markets", False, "`all` (default) or a list of market codes the article "
              "applies to; other markets leave it out of site, navigation and search.",
              "[us, uk]"),
    FieldSpec("ticket_categories", False, "Ticket categories (helpgen.yml "
              "`ticket_categories`) this article answers; used by ticket deflection.",
              "[ticket-submission]"),
    FieldSpec("keywords", False, "Words people search with that the text may not contain.",
              "[case, support request]"),
    FieldSpec("last_reviewed", True, "Date an editor last checked the facts (YYYY-MM-DD).",
              "2026-11-25"),
    FieldSpec("redirects", False, "Old URLs of this article (site-relative paths such as "
              "`partners/old-name/`); each keeps redirecting here.", "[partners/tickets/]"),
    FieldSpec("order", False, "Position within its topic in the navigation (smaller first).",
              "10"),
    FieldSpec("draft", False, "`true` keeps the article (and its translations) off the "
              "published site, its search index, sitemaps and evaluation; `helpgen preview` "
              "and `helpgen build --drafts` show it. `helpgen new` writes `draft: true`. "
              "Published articles must not link to a draft.", "true"),
    FieldSpec("jinja", False, "`true` makes the file a Jinja template rendered per market "
              "(market variables, `link(id)`, loops over articles); without it the text is "
              "published exactly as written. Jinja inside code is always literal.", "true"),
)
VARIANT_FIELDS: tuple[str, ...] = ("id", "title", "summary", "keywords", "last_reviewed",
                                   "jinja")
PAGE_FIELDS: tuple[str, ...] = ("id", "title", "summary", "markets", "hide", "template",
                                "keywords", "jinja", "search")
SUMMARY_MAX = 200
FRONT_MATTER_MAX_CHARS = 64 * 1024
TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_-]+\.html$")
#: Files under docs/ that are published as they are (anything else is refused: an
#: .html, .js or .css file, for instance, would put code on the site).
ASSET_SUFFIXES: tuple[str, ...] = (
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".ico", ".bmp", ".svg",
    ".pdf", ".txt", ".csv", ".zip", ".mp4", ".webm", ".mp3", ".ogg", ".wav",
)


@dataclass(frozen=True)
class Variant:
    """A translation of an article into one language."""

    language: str
    src: str  # docs-relative posix path, e.g. "partners/x.de.md"
    title: str
    summary: str
    keywords: tuple[str, ...]
    last_reviewed: _dt.date
    body: str
    body_line: int  # 1-based file line of the first body line
    jinja: bool = False  # a template (front matter ``jinja: true``)


@dataclass(frozen=True)
class Article:
    src: str  # docs-relative posix path of the English file
    kind: str  # "article" or "page"
    id: str
    title: str
    summary: str
    body: str
    body_line: int
    audience: str = ""
    topic: str = ""
    markets: tuple[str, ...] | None = None  # None: every market
    ticket_categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    last_reviewed: _dt.date | None = None
    redirects: tuple[str, ...] = ()
    order: int = 100
    extra_meta: Mapping[str, Any] = field(default_factory=dict)  # hide/template for pages
    variants: Mapping[str, Variant] = field(default_factory=dict)
    jinja: bool = False  # a template (front matter ``jinja: true``)
    searchable: bool = True  # in the search index (pages may say ``search: false``)
    draft: bool = False  # front matter ``draft: true``: published only with drafts on

    def applies_to(self, market: str) -> bool:
        return self.markets is None or market in self.markets

    @property
    def url(self) -> str:
        """Site-relative directory URL MkDocs gives the page (use_directory_urls)."""
        return src_to_url(self.src)


@dataclass(frozen=True)
class Corpus:
    articles: tuple[Article, ...]
    docs_dir: Path

    @property
    def by_id(self) -> dict[str, Article]:
        return {a.id: a for a in self.articles}

    @property
    def by_src(self) -> dict[str, Article]:
        return {a.src: a for a in self.articles}

    def variant_sources(self) -> set[str]:
        return {v.src for a in self.articles for v in a.variants.values()}


def src_to_url(src: str) -> str:
    stem = src[:-3] if src.endswith(".md") else src
    if stem == "index" or stem.endswith("/index"):
        stem = stem[: -len("index")]
        return stem
    return stem + "/"


def is_content_file(rel: str) -> bool:
    """Markdown that is published: skips ``_meta/``-style and hidden folders."""
    parts = rel.split("/")
    return rel.endswith(".md") and not any(p.startswith(("_", ".")) for p in parts)


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Return (front matter text or None, body, 1-based line where body starts)."""
    m = FRONT_RE.match(text)
    if not m:
        return None, text, 1
    fm = m.group(1) or ""
    body_line = text[: m.end()].count("\n") + 1
    if not text[: m.end()].endswith("\n"):
        body_line = text[: m.end()].count("\n") + 1
    return fm, text[m.end():], body_line


class _Checker:
    """Validates one file's front matter, collecting problems with positions."""

    def __init__(self, rel: str, loc: yamlpos.Located, problems: list[Problem]):
        self.rel, self.loc, self.problems = rel, loc, problems
        self.data = loc.data

    def bad(self, msg: str, *path: Any, value: bool = True) -> None:
        line, col = self.loc.where(*path, value=value)
        self.problems.append(Problem(msg, self.rel, line or 1, col))

    def string(self, key: str, required: bool = True, max_len: int | None = None) -> str:
        v = self.data.get(key)
        if v is None:
            if required:
                self.problems.append(Problem(f"missing required field '{key}'", self.rel, 1))
            return ""
        if not isinstance(v, str) or not v.strip():
            self.bad(f"'{key}' must be a non-empty text, got {v!r}", key)
            return ""
        if max_len and len(v) > max_len:
            self.bad(f"'{key}' is {len(v)} characters; keep it at most {max_len}", key)
        return v.strip()

    def choice(self, key: str, allowed: Mapping | tuple) -> str:
        v = self.string(key)
        if v and v not in allowed:
            self.bad(f"'{key}' must be one of: {', '.join(allowed)}; got {v!r}", key)
            return ""
        return v

    def str_list(self, key: str, allowed: Mapping | tuple | None = None) -> tuple[str, ...]:
        v = self.data.get(key)
        if v is None:
            return ()
        if isinstance(v, str):
            self.bad(f"'{key}' must be a list, got {v!r} (try {key}: [{v}])", key)
            return ()
        if not isinstance(v, list):
            self.bad(f"'{key}' must be a list of texts, got {v!r}", key)
            return ()
        out = []
        for i, item in enumerate(v):
            if not isinstance(item, str) or not item.strip():
                self.bad(f"'{key}' item {i + 1} must be a non-empty text, got {item!r}", key, i)
            elif allowed is not None and item not in allowed:
                self.bad(f"'{key}' has unknown value {item!r}; allowed: {', '.join(allowed)}",
                         key, i)
            else:
                out.append(item.strip())
        return tuple(out)

    def boolean(self, key: str, default: bool = False) -> bool:
        v = self.data.get(key, default)
        if not isinstance(v, bool):
            self.bad(f"'{key}' must be true or false, got {v!r}", key)
            return False
        return v

    def date(self, key: str) -> _dt.date | None:
        v = self.data.get(key)
        if v is None:
            self.problems.append(Problem(f"missing required field '{key}' (YYYY-MM-DD)",
                                         self.rel, 1))
            return None
        if isinstance(v, _dt.datetime):
            return v.date()
        if isinstance(v, _dt.date):
            return v
        try:
            return _dt.date.fromisoformat(str(v))
        except ValueError:
            self.bad(f"'{key}' must be a date YYYY-MM-DD, got {v!r}", key)
            return None

    def unknown(self, allowed: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in allowed:
                self.bad(f"unknown field {key!r}; allowed: {', '.join(allowed)}", key,
                         value=False)


def _parse_file(path: Path, rel: str, problems: list[Problem]):
    """Returns (Located front matter or None, body, body_line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(f"file is not UTF-8 ({exc.reason} at byte {exc.start})", rel, 1))
        return None, "", 1
    fm, body, body_line = split_front_matter(text)
    if fm is None:
        problems.append(Problem("missing front matter: start the file with a '---' line, "
                                "the fields, and a closing '---' line", rel, 1))
        return None, body, body_line
    try:
        loc = yamlpos.load(fm, line_offset=1, max_chars=FRONT_MATTER_MAX_CHARS)
    except yamlpos.Refused as exc:
        mark = exc.problem_mark
        problems.append(Problem(f"front matter: {exc.problem}", rel,
                                (mark.line + 2) if mark else 1,
                                (mark.column + 1) if mark else None))
        return None, body, body_line
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.append(Problem(f"front matter is not valid YAML: {exc.problem}", rel,
                                (mark.line + 2) if mark else 1,
                                (mark.column + 1) if mark else None))
        return None, body, body_line
    if not isinstance(loc.data, dict):
        problems.append(Problem("front matter must be a mapping of 'field: value' lines", rel, 2))
        return None, body, body_line
    return loc, body, body_line


_SVG_DANGER_RE = re.compile(
    r"<\s*(?:script|foreignobject|iframe|embed|object|handler|listener)\b|<!entity|\bon[a-z]+\s*="
    r"|javascript:|vbscript:|(?:xlink:)?href\s*=\s*[\"']?\s*(?!#)[^\s\"'>]", re.I)


def svg_problem(text: str) -> str | None:
    """Why an SVG file could run code when opened (None when it is plain drawing):
    scripts, event handlers, foreign objects, entities, links other than ``#fragment``."""
    import html as _html

    for candidate in (text, _html.unescape(text)):
        m = _SVG_DANGER_RE.search(candidate)
        if m:
            return (f"SVG holds {m.group(0).strip()!r}: scripts, event handlers, embedded "
                    "documents and links out are not allowed in images; export it as a "
                    "plain drawing (or PNG)")
    return None


def scan_files(docs_dir: Path, prefix: str, problems: list[Problem]) -> list[Path]:
    """The published Markdown files under ``docs_dir``, sorted; every other file and
    link is judged on the way: a symlink that resolves outside ``docs_dir`` is an
    error (MkDocs would copy what it points at), and published files other than
    Markdown must be of a type in :data:`ASSET_SUFFIXES` (an SVG without scripts).
    Folders starting with ``_`` or ``.`` are not published; only their links are checked.
    """
    import os

    root = Path(os.path.realpath(docs_dir))
    found: list[Path] = []
    for folder, dirs, names in os.walk(docs_dir, followlinks=False):
        here = Path(folder)
        for name in sorted(dirs + names):
            path = here / name
            src = path.relative_to(docs_dir).as_posix()
            rel = f"{prefix}/{src}"
            if path.is_symlink():
                target = Path(os.path.realpath(path))
                if not target.is_relative_to(root):
                    problems.append(Problem(f"symbolic link to {target} outside {prefix}/: "
                                            "copy the file into the docs instead", rel, 1))
                    continue
                if target.is_dir():  # inside the docs: MkDocs reaches it by itself
                    continue
            if path.is_dir() or not path.is_file():
                continue
            hidden = any(part.startswith(("_", ".")) for part in src.split("/"))
            if name.endswith(".md"):
                if not hidden:
                    found.append(path)
                continue
            if hidden:
                continue
            suffix = path.suffix.lower()
            if suffix not in ASSET_SUFFIXES:
                problems.append(Problem(f"files of type '{suffix or name}' are not published "
                                        "from the docs (they could carry code); allowed: "
                                        f"{', '.join(ASSET_SUFFIXES)}", rel, 1))
            elif suffix == ".svg":
                try:
                    why = svg_problem(path.read_text(encoding="utf-8", errors="replace"))
                except OSError as exc:
                    why = f"cannot read it ({exc.strerror})"
                if why:
                    problems.append(Problem(why, rel, 1))
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    return sorted(found)


def load(config: Config, docs_dir: Path | None = None,
         reserved: tuple[str, ...] | None = None, drafts: bool | None = None,
         partial: bool = False) -> Any:
    """Read and validate every Markdown file under ``docs_dir``; raise all problems.

    Drafts (``draft: true``) are validated like every article but left out of the
    corpus unless ``drafts`` (default: the ``build.drafts`` setting) is true.
    ``partial=True``: raise nothing; return ``(corpus, problems)``, the corpus holding
    only the files without a problem (what ``helpgen check`` can still judge).

    ``reserved``: top-level folder names no article URL or redirect may take (default:
    the configured version and default alias, besides :data:`helpgen.urls.RESERVED_TOP`).
    """
    docs_dir = Path(docs_dir or config.docs_dir)
    if reserved is None:
        reserved = (config.version, config.default_alias)
    prefix = config.docs_dir_name.rstrip("/")
    problems: list[Problem] = []
    bases: dict[str, dict] = {}
    variant_files: list[tuple[str, str, str, Path]] = []

    files = scan_files(docs_dir, prefix, problems)
    for path in files:
        src = path.relative_to(docs_dir).as_posix()
        if not is_content_file(src):
            continue
        rel = f"{prefix}/{src}"
        m = VARIANT_RE.match(path.name)
        if m:
            base_src = src[: -len(path.name)] + m.group("stem") + ".md"
            variant_files.append((src, base_src, m.group("lang"), path))
            continue
        loc, body, body_line = _parse_file(path, rel, problems)
        if loc is None:
            continue
        bases[src] = {"loc": loc, "body": body, "body_line": body_line, "rel": rel}

    articles: dict[str, Article] = {}
    ids: dict[str, str] = {}
    all_markets = tuple(config.markets)
    for src, info in bases.items():
        chk = _Checker(info["rel"], info["loc"], problems)
        is_page = "/" not in src
        if is_page:
            chk.unknown(PAGE_FIELDS)
            art_id = chk.data.get("id") or ("home" if src == "index.md" else src[:-3])
            title = chk.string("title")
            summary = chk.string("summary", required=False, max_len=SUMMARY_MAX)
            markets = _markets(chk, all_markets)
            extra = {k: chk.data[k] for k in ("hide", "template") if k in chk.data}
            template = extra.get("template")
            if template is not None and (not isinstance(template, str)
                                         or not TEMPLATE_NAME_RE.match(template)):
                chk.bad(f"'template' must name a theme template such as main.html, got "
                        f"{template!r}", "template")
                extra.pop("template")
            art = Article(src=src, kind="page", id=str(art_id), title=title, summary=summary,
                          body=info["body"], body_line=info["body_line"], markets=markets,
                          keywords=chk.str_list("keywords"), extra_meta=extra,
                          jinja=chk.boolean("jinja"),
                          searchable=chk.boolean("search", default=True))
        else:
            chk.unknown(tuple(f.name for f in ARTICLE_FIELDS))
            art_id = chk.string("id")
            if art_id and not ID_RE.match(art_id):
                chk.bad(f"'id' must be lower-case letters, digits and hyphens, got {art_id!r}",
                        "id")
            audience, topic = _taxonomy(chk, config, src)
            order = chk.data.get("order", 100)
            if not isinstance(order, int) or isinstance(order, bool):
                chk.bad(f"'order' must be a whole number, got {order!r}", "order")
                order = 100
            redirects = _redirects(chk)
            art = Article(
                src=src, kind="article", id=art_id, title=chk.string("title"),
                summary=chk.string("summary", max_len=SUMMARY_MAX),
                body=info["body"], body_line=info["body_line"], audience=audience, topic=topic,
                markets=_markets(chk, all_markets),
                ticket_categories=chk.str_list("ticket_categories",
                                               tuple(config.ticket_categories)),
                keywords=chk.str_list("keywords"), last_reviewed=chk.date("last_reviewed"),
                redirects=redirects, order=order, jinja=chk.boolean("jinja"),
                draft=chk.boolean("draft"),
            )
        if art.id:
            if art.id in ids:
                line, col = info["loc"].where("id", value=True)
                problems.append(Problem(f"duplicate id {art.id!r}: also used by "
                                        f"{prefix}/{ids[art.id]}; ids must be unique", info["rel"],
                                        line or 1, col))
            else:
                ids[art.id] = src
        articles[src] = art

    # variants
    variants: dict[str, dict[str, Variant]] = {}
    for src, base_src, lang, path in variant_files:
        rel = f"{prefix}/{src}"
        if lang not in config.languages or lang == "en":
            allowed = [c for c in config.languages if c != "en"]
            problems.append(Problem(f"unknown language suffix '.{lang}.md'; allowed: "
                                    f"{', '.join(allowed)}", rel, 1))
            continue
        if base_src not in bases:
            problems.append(Problem(f"translation without an English article: create "
                                    f"{prefix}/{base_src} first", rel, 1))
            continue
        loc, body, body_line = _parse_file(path, rel, problems)
        if loc is None:
            continue
        chk = _Checker(rel, loc, problems)
        chk.unknown(VARIANT_FIELDS)
        base = articles.get(base_src)
        vid = loc.data.get("id")
        if base is not None and vid is not None and vid != base.id:
            chk.bad(f"'id' must match the English article's id {base.id!r}, got {vid!r}", "id")
        variants.setdefault(base_src, {})[lang] = Variant(
            language=lang, src=src, title=chk.string("title"),
            summary=chk.string("summary", max_len=SUMMARY_MAX),
            keywords=chk.str_list("keywords"), last_reviewed=chk.date("last_reviewed"),
            body=body, body_line=body_line, jinja=chk.boolean("jinja"),
        )

    # URLs, permalinks and redirects: no collisions, nothing reserved
    problems.extend(_url_problems(articles, bases, prefix, tuple(reserved)))

    bad: set[str | None] = set()
    if partial:
        bad = {p.path for p in problems}
    else:
        raise_if(problems)
    if drafts is None:
        drafts = bool(config.settings.get("build.drafts", False))
    final = []
    for src in sorted(articles):
        a = articles[src]
        if f"{prefix}/{src}" in bad or (a.draft and not drafts):
            continue
        kept = {lang: v for lang, v in variants.get(src, {}).items()
                if f"{prefix}/{v.src}" not in bad}
        if kept:
            a = _replace(a, variants=MappingProxyType(kept))
        final.append(a)
    corpus = Corpus(articles=tuple(final), docs_dir=docs_dir)
    return (corpus, problems) if partial else corpus


def _replace(a: Article, **kw) -> Article:
    from dataclasses import replace

    return replace(a, **kw)


def _taxonomy(chk: _Checker, config: Config, src: str) -> tuple[str, str]:
    """(audience, topic) of an article. A help center with one audience needs no
    ``audience``; ``topic`` defaults to the article's folders under the audience
    (``docs/sellers/billing/invoices/x.md`` -> ``billing/invoices``) when that is a topic."""
    only = config.single_audience
    if only and "audience" not in chk.data:
        audience = only
    else:
        audience = chk.choice("audience", tuple(config.audiences))
    if "topic" not in chk.data:
        folders = src.split("/")[:-1]
        if folders and folders[0] == audience:
            folders = folders[1:]
        derived = "/".join(folders)
        if derived in config.topics:
            return audience, derived
    topic = chk.choice("topic", tuple(config.topics))
    if audience and topic and config.topics[topic].audience != audience:
        fitting = [t for t, v in config.topics.items() if v.audience == audience]
        chk.bad(f"topic {topic!r} belongs to audience "
                f"{config.topics[topic].audience!r}; for {audience!r} use one of: "
                f"{', '.join(fitting)}", "topic")
    return audience, topic


def _redirects(chk: _Checker) -> tuple[str, ...]:
    """Valid redirects, normalized; each invalid one is a problem at its list item."""
    out = []
    for i, raw in enumerate(chk.str_list("redirects")):
        why = urls.redirect_problem(raw) or urls.reserved_problem(raw, ())
        if why:
            chk.bad(why, "redirects", i)
        else:
            out.append(normalize_redirect(raw))
    return tuple(out)


def _url_problems(articles: dict[str, Article], bases: dict[str, dict], prefix: str,
                  reserved: tuple[str, ...]) -> list[Problem]:
    """Article URLs, permalinks and redirects that would collide with each other or with
    the names the site needs (see :mod:`helpgen.urls`)."""
    problems = []
    urls_of = {a.url: a.src for a in articles.values()}
    seen: dict[str, str] = {}
    for a in articles.values():
        rel = f"{prefix}/{a.src}"
        why = urls.reserved_problem(a.url, reserved) if a.url else None
        if why:
            problems.append(Problem(f"this file's URL {a.url!r} collides: {why}; rename or "
                                    "move the file", rel, 1))
        loc = bases[a.src]["loc"]
        for i, r in enumerate(a.redirects):
            line, col = loc.where("redirects", i, value=True)
            where = (line or 1, col)
            why = urls.reserved_problem(r, reserved)
            if why:
                problems.append(Problem(f"redirect {r!r} collides: {why}", rel, *where))
            elif r in urls_of:
                problems.append(Problem(f"redirect {r!r} would hide the page "
                                        f"{prefix}/{urls_of[r]}; remove it", rel, *where))
            elif r in seen:
                problems.append(Problem(f"redirect {r!r} is also declared by "
                                        f"{prefix}/{seen[r]}", rel, *where))
            seen[r] = a.src
    return problems


def _markets(chk: _Checker, all_markets: tuple[str, ...]) -> tuple[str, ...] | None:
    v = chk.data.get("markets")
    if v is None or v == "all":
        return None
    if isinstance(v, str):
        chk.bad(f"'markets' must be 'all' or a list of market codes, got {v!r} "
                f"(try markets: [{v}]); allowed: {', '.join(all_markets)}", "markets")
        return None
    codes = chk.str_list("markets", all_markets)
    return codes
