"""Site builds: one MkDocs build per market x version, published without loss.

This is the only module that imports MkDocs (the renderer stays swappable). A build
renders into a staging folder beside its destination and is moved into place only
when MkDocs finished without a warning, so a failed build never replaces a good
published one. ``versions.json`` is written in mike's format under a file lock.

Layout of a site folder::

    site/index.html                  lists the markets
    site/widget/v1/helpgen-widget.js the drop-in widget for other sites' ticket forms
    site/<market>/index.html         redirects to the default alias
    site/<market>/versions.json      mike's format (Material's version selector)
    site/<market>/<version>/         the built site
    site/<market>/<alias>/           redirect pages to the same page of its version
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import html
import json
import logging
import multiprocessing
import os
import posixpath
import re
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's end-of-life banner

from . import atomic, catalog, csp, faults, urls  # noqa: E402
from . import content as content_mod  # noqa: E402
from . import layout, render, rules  # noqa: E402
from .config import VERSION_RE, Config, Market  # noqa: E402
from .config import load as load_config  # noqa: E402
from .errors import EXIT_ENVIRONMENT, EXIT_INTERNAL, HelpgenError, Problem, raise_if  # noqa: E402

STATE_KEY = "_helpgen_state"
#: helpgen's own theme files (its scripts and styles), layered over Material: they are
#: code, so they live in the package, not in docs/ where content arrives.
THEME_DIR = Path(__file__).resolve().parent / "theme"
VERSIONS_FILE = "versions.json"
EMPTY_SITEMAP = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n</urlset>\n')


# --------------------------------------------------------------------------- state

@dataclass
class BuildState:
    """Everything the hooks need for one market build, prepared before MkDocs runs."""

    config: Config
    market: Market
    version: str
    rendered: render.RenderedMarket
    nav: list
    warnings: list[logging.LogRecord] = field(default_factory=list)
    theme_cache: Any = None  # a ThemeCache shared by the builds of one worker process
    theme_scripts: set[str] = field(default_factory=set)  # CSP hashes (see helpgen.csp)
    #: what helpgen's rules found in the rendered pages; :func:`run_mkdocs` raises them
    #: after MkDocs ran (so a preview can still show the site with the problems)
    problems: list[Problem] = field(default_factory=list)
    nav_once: bool = True  # render each inactive navigation item once (see NavCache)
    #: render the theme's page-independent partials and translations once (FRAGMENTS)
    fragments_once: bool = True
    #: one Markdown converter for every page (see helpgen.mkdocs_markdown); None: MkDocs'
    #: own, a fresh converter per page
    markdown: Any = field(default_factory=lambda: _shared_markdown())
    strings_tag: str = ""  # the pages' helpgen-strings script (see :func:`strings_json`)
    #: "Last reviewed: <date>" by date: CLDR's formatting is the same for every page
    #: of the market that has the date
    reviewed_texts: dict = field(default_factory=dict)
    #: Material's search index entries next to the bundle: one title per page
    #: (:func:`write_lunr_titles`)
    lunr_titles: list = field(default_factory=list)


def _shared_markdown() -> Any:
    from .mkdocs_markdown import SharedMarkdown

    return SharedMarkdown()


#: The filter of MkDocs' ``Files.add_files_from_theme`` (MkDocs 1.6): it drops every path
#: with a part that starts with a dot (patterns ``.*`` and ``*/.*``), so
#: :func:`theme_files` need not walk those folders.
THEME_FILES_FILTER = "Files.add_files_from_theme.<locals>.filter"


def theme_files(loader: Any, filter_func: Any) -> list[str]:
    """What ``env.list_templates(filter_func=filter_func)`` returns for MkDocs' theme-file
    filter, without walking folders whose names start with a dot, which that filter
    drops whatever they hold: Material's ``.icons`` is 14,300 of its 14,500 files, and
    listing and filtering them cost every build about 0.15 s. Jinja's
    ``FileSystemLoader.list_templates`` otherwise (same names, same order;
    ``tests/test_build.py`` compares the two on the installed theme)."""
    found: set[str] = set()
    for searchpath in loader.searchpath:
        for dirpath, dirnames, filenames in os.walk(searchpath,
                                                    followlinks=loader.followlinks):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for filename in filenames:
                name = (os.path.join(dirpath, filename)[len(searchpath):]
                        .strip(os.path.sep).replace(os.path.sep, "/"))
                found.add(name[2:] if name[:2] == "./" else name)
    return [name for name in sorted(found) if filter_func(name)]


class ThemeCache:
    """What the market builds of one worker process share about the theme.

    MkDocs makes a fresh Jinja environment per build (and Material's search plugin one
    more per translated string), so every market would compile Material's templates
    again and list the theme's ~14,000 files again. :meth:`attach` wraps one build's
    ``theme.get_env`` so its environments use a bytecode cache keyed by template source
    and the theme's file listing made once per worker (the theme folders and
    mkdocs.yml are the same for every market of a build).

    ``persist``: compiled templates are also kept on disk between builds (Jinja's
    ``FileSystemBytecodeCache``, in ``directory`` or by default helpgen's cache folder,
    :mod:`helpgen.cache`), so a build does not compile the theme's fifty-odd templates
    again; Jinja checks each entry against the template's source. A cache
    folder that cannot be used or written only costs that time.
    """

    def __init__(self, persist: bool = False, directory: Path | None = None) -> None:
        import jinja2

        disk = None
        if persist:
            from .cache import folder as cache_folder

            directory = directory or cache_folder("templates")
            if directory is not None:
                disk = jinja2.FileSystemBytecodeCache(str(directory), "helpgen-%s.cache")

        class _Memory(jinja2.BytecodeCache):
            def __init__(self) -> None:
                self.store: dict[str, bytes] = {}

            def load_bytecode(self, bucket: Any) -> None:
                code = self.store.get(bucket.key)
                if code is not None:
                    bucket.bytecode_from_string(code)
                elif disk is not None:
                    with contextlib.suppress(OSError):
                        disk.load_bytecode(bucket)
                    if bucket.code is not None:
                        self.store[bucket.key] = bucket.bytecode_to_string()

            def dump_bytecode(self, bucket: Any) -> None:
                self.store[bucket.key] = bucket.bytecode_to_string()
                if disk is not None:
                    with contextlib.suppress(OSError):
                        disk.dump_bytecode(bucket)

        self.bytecode = _Memory()
        self.listings: dict[tuple, list[str]] = {}

    def attach(self, theme: Any) -> None:
        """Make every environment of this build's ``theme`` use the shared caches."""
        make_env = theme.get_env
        listings = self.listings

        def get_env() -> Any:
            env = make_env()
            env.bytecode_cache = self.bytecode
            list_templates = env.list_templates
            searchpath = tuple(getattr(env.loader, "searchpath", ()))

            def cached_list(extensions=None, filter_func=None):
                name = getattr(filter_func, "__qualname__", None)
                key = (searchpath, tuple(extensions or ()), name)
                if key not in listings:
                    listings[key] = (
                        theme_files(env.loader, filter_func)
                        if name == THEME_FILES_FILTER and not extensions
                        else list_templates(extensions, filter_func))
                return list(listings[key])

            env.list_templates = cached_list
            return env

        theme.get_env = get_env


def prepare(
    config: Config,
    market: str | Market,
    version: str,
    corpus: content_mod.Corpus | None = None,
    templates: dict | None = None,
    theme_cache: ThemeCache | None = None,
    budget: Any = None,
) -> BuildState:
    """Validate content, render it for ``market`` and judge it with the rules ``helpgen
    check`` applies (:func:`helpgen.rules.judge_market`); raises every problem.

    ``budget``: the template time shared by the markets of one build
    (:class:`helpgen.sandbox.RenderBudget`; a fresh one by default)."""
    market = market if isinstance(market, Market) else config.market(market)
    corpus = corpus or content_mod.load(config)
    judged = rules.judge_market(config, corpus, market, version, templates=templates,
                                budget=budget)
    if judged.rendered is None or judged.render_problems:
        raise_if(judged.problems)
    rendered = judged.rendered
    return BuildState(config, market, version, rendered, render.navigation(rendered, config),
                      theme_cache=theme_cache, problems=list(judged.page_problems))


# --------------------------------------------------------------------------- hooks

def hook_config(mkcfg: Any) -> Any:
    state: BuildState | None = mkcfg.get(STATE_KEY)
    if state is None:  # plain `mkdocs build` / `mkdocs serve`: preview a market
        config = load_config(Path(mkcfg.config_file_path).parent)
        state = prepare(config, os.environ.get("HELPGEN_MARKET") or config.default_market,
                        os.environ.get("HELPGEN_VERSION") or config.version)
        mkcfg[STATE_KEY] = state
    config, market = state.config, state.market
    theme = mkcfg["theme"]
    if str(THEME_DIR) not in theme.dirs:  # after a project's own custom_dir, if any
        theme.dirs.insert(1 if theme.custom_dir else 0, str(THEME_DIR))
    mkcfg["theme"]["language"] = market.language
    if state.theme_cache is not None:
        state.theme_cache.attach(mkcfg["theme"])
    _attach_nav_cache(mkcfg["theme"], state.nav_once, state.fragments_once)
    # theme/main.html's furniture, in the project's own wording where strings: sets it
    mkcfg["extra"]["helpgen_layout"] = layout.theme_context(state.rendered,
                                                           state.config.catalog())
    mkcfg["extra"]["helpgen_layout"]["search_bundle"] = bool(
        config.setting("search.static_bundle"))
    mkcfg["extra"]["helpgen_layout"]["market"] = state.market.code
    mkcfg["extra"]["helpgen_layout"]["version"] = state.version
    features = list(mkcfg["theme"]["features"] or [])
    if config.setting("build.navigation_prune") and "navigation.prune" not in features:
        features.append("navigation.prune")
    mkcfg["theme"]["features"] = features
    from .cjkext import CjkBreaksExtension

    if not any(isinstance(e, CjkBreaksExtension) for e in mkcfg["markdown_extensions"]):
        mkcfg["markdown_extensions"].append(CjkBreaksExtension())
    if not config.setting("build.allow_raw_html"):
        from .sanitize import SafeHtmlExtension

        exts = mkcfg["markdown_extensions"]
        if not any(isinstance(e, SafeHtmlExtension) for e in exts):
            exts.append(SafeHtmlExtension())
    strings = config.catalog()
    lang = market.language
    mkcfg["site_name"] = site_title(config, market, mkcfg["site_name"])
    mkcfg["nav"] = state.nav
    extra = mkcfg["extra"]
    extra["version"] = {"provider": "mike", "default": config.default_alias, "alias": True}
    extra["alternate"] = [
        {"name": strings.text("market.label", lang, market=m.name_in(lang),
                              language=m.language_name_in(lang)),
         "link": f"../../{m.code}/", "lang": m.language}
        for m in config.markets.values()
    ]
    # templates read config.extra.helpgen.strings["page.not_found"]; scripts get the
    # panel strings as the page's helpgen-strings JSON (hook_post_page)
    extra["helpgen"] = {"market": market.code, "version": state.version,
                        "strings": strings.for_language(lang)}
    return mkcfg


def site_title(config: Config, market: Market, site_name: str) -> str:
    """The site's name in the market's language with the market's ("Hilfe-Center
    Deutschland"): the catalog's ``site.name`` unless mkdocs.yml names the site otherwise
    (a brand, kept in every language) and ``strings:`` does not reword it."""
    strings = config.catalog()
    lang = market.language
    own = site_name != catalog.load().text("site.name", "en") \
        and "site.name" not in config.strings
    site = site_name if own else strings.text("site.name", lang)
    return strings.text("site.market_title", lang, site=site, market=market.name_in(lang))


#: key prefixes of the strings the panel scripts write (search.js, deflect.js)
SCRIPT_STRING_PREFIXES = ("search.", "deflect.")


def strings_json(config: Config, language: str) -> str:
    """The page's ``<script id="helpgen-strings" type="application/json">``: the panel
    scripts' words in ``language`` (with the project's ``strings:`` wording)."""
    strings = config.catalog()
    texts = {k: v for prefix in SCRIPT_STRING_PREFIXES
             for k, v in strings.for_language(language, prefix).items()}
    data = json.dumps(texts, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return f'<script id="helpgen-strings" type="application/json">{data}</script>'


def _with_strings(output: str, state: BuildState) -> str:
    if not state.strings_tag:  # the same on every page of the build
        state.strings_tag = strings_json(state.config, state.market.language)
    tag = state.strings_tag
    head = output.find("</head>")
    return output if head == -1 else output[:head] + tag + "\n" + output[head:]


def hook_files(files: Any, mkcfg: Any) -> Any:
    state: BuildState = mkcfg[STATE_KEY]
    state.lunr_titles.clear()  # a state may serve more than one MkDocs build
    pages = state.rendered.pages
    for f in list(files):
        if f.src_uri.endswith(".md") and f.src_uri not in pages:
            files.remove(f)  # other market's article, translation file, or _meta
    return files


def hook_page_read_source(page: Any, mkcfg: Any) -> str | None:
    """What MkDocs reads for a page helpgen rendered: nothing. helpgen has read the file,
    checked its front matter and rendered its text already (:func:`hook_page_markdown`
    hands MkDocs that text and sets the page's meta), so MkDocs neither reads the file
    again nor parses its front matter (YAML was 3% of the build)."""
    state: BuildState | None = mkcfg.get(STATE_KEY)
    if state is None or page.file.src_uri not in state.rendered.pages:
        return None
    return ""


def hook_page_markdown(markdown: str, page: Any, mkcfg: Any) -> str:
    state: BuildState = mkcfg[STATE_KEY]
    if state.markdown is not None:  # MkDocs renders the page right after this event
        state.markdown.attach(page)
    rp = state.rendered.pages.get(page.file.src_uri)
    if rp is None:
        return markdown
    # front matter is text: escaped before the theme puts it into HTML unescaped
    page.meta["title"] = html.escape(rp.title, quote=False)
    if page.is_homepage:  # the theme then titles it with the site name alone
        page.meta["title"] = ""
    page.update_date = review_date(rp, state.rendered)  # sitemap <lastmod>, not the build date
    if rp.summary:
        page.meta["description"] = html.escape(rp.summary, quote=False).replace('"', "&quot;")
    for key, value in rp.article.extra_meta.items():
        page.meta[key] = value
    if state.config.setting("search.static_bundle"):
        # helpgen's engine answers the search box; Material's own index is the fallback
        # only, and its worker downloads it on every page load: titles, not the text
        page.meta["search"] = {"exclude": True}
        if rp.article.searchable:
            state.lunr_titles.append({"location": page.url, "title": page.meta["title"]
                                      or html.escape(rp.title, quote=False), "text": ""})
    if rp.article.kind == "article":  # breadcrumbs, review date, old-version link
        date = layout.reviewed_date(rp)
        if date not in state.reviewed_texts:
            state.reviewed_texts[date] = layout.reviewed_text(rp, state.market)
        page.meta["helpgen_article"] = {"id": rp.article.id,
                                        "reviewed": state.reviewed_texts[date]}
    return rp.markdown


def review_date(page: render.RenderedPage, rendered: render.RenderedMarket) -> str:
    """When the served text was last reviewed (pages: the newest article's date).

    Used instead of the build date so that two builds of the same sources are identical.
    """
    variant = page.article.variants.get(page.language)
    date = variant.last_reviewed if variant is not None else page.article.last_reviewed
    if date is None:
        dates = [p.article.last_reviewed for p in rendered.articles() if p.article.last_reviewed]
        date = max(dates) if dates else _dt.date(2000, 1, 1)
    return date.isoformat()


def hook_post_page(output: str, page: Any, mkcfg: Any) -> str:
    """Remember the theme's inline scripts (the page's, less the article's own)."""
    state: BuildState = mkcfg[STATE_KEY]
    output = _with_strings(output, state)
    state.theme_scripts |= csp.theme_script_hashes(output, page.content or "")
    return output


def hook_post_template(output: str, template_name: str, mkcfg: Any) -> str:
    """The theme's own pages (404.html) get the panel strings too."""
    state: BuildState | None = mkcfg.get(STATE_KEY)
    if state is None or not template_name.endswith(".html"):
        return output
    return _with_strings(output, state)


def hook_post_build(mkcfg: Any) -> None:
    state: BuildState = mkcfg[STATE_KEY]
    write_redirects(state.rendered, Path(mkcfg["site_dir"]))
    if state.config.setting("search.static_bundle"):
        write_lunr_titles(Path(mkcfg["site_dir"]), state.lunr_titles)
    # the theme's static pages (404.html) hold no article content: all theirs
    for name in ("404.html",):
        page = Path(mkcfg["site_dir"]) / name
        if page.is_file():
            state.theme_scripts |= set(csp.inline_script_hashes(
                page.read_text(encoding="utf-8")))
    csp.write_manifest(Path(mkcfg["site_dir"]), state.theme_scripts)
    write_article_list(state.rendered, Path(mkcfg["site_dir"]))
    from . import deflect  # the ticket page's static suggestions, in the staged build

    deflect.write_static(state.config, state.rendered, Path(mkcfg["site_dir"]))


#: Marks a ``search/search_index.json`` that holds page titles only (see
#: :func:`write_lunr_titles`); Material's worker ignores the key.
LUNR_TITLES_KEY = "helpgen_titles_only"


def write_lunr_titles(site_dir: Path, entries: list[dict]) -> None:
    """Material's ``search/search_index.json`` with one entry per page, its title.

    With the static search bundle, helpgen answers the search box (server or bundle) and
    Material's lunr search is only the fallback should helpgen's scripts fail to load.
    Material's worker fetches its index on every page load, before any query: with the
    whole text that was 6.6 MB at 2,000 articles, and parsing every page for it was a
    tenth of the build. Without Material's search plugin (no file) nothing is written."""
    path = site_dir / "search" / "search_index.json"
    if not path.is_file():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    data["docs"] = entries
    data[LUNR_TITLES_KEY] = True
    path.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False),
                    encoding="utf-8")


# --------------------------------------------------------------------------- redirects

def redirect_html(target: str) -> str:
    """A static redirect page (mike's style): meta refresh plus a script keeping #anchors.

    The script is the same on every redirect page (:data:`helpgen.csp.REDIRECT_SCRIPT`:
    it follows the canonical link), so the server's CSP allows it by one known hash."""
    t = html.escape(target, quote=True)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
        f"<title>Redirecting…</title>\n<link rel=\"canonical\" href=\"{t}\">\n"
        f"<meta http-equiv=\"refresh\" content=\"0; url={t}\">\n"
        "<meta name=\"robots\" content=\"noindex\">\n"
        f"<script>{csp.REDIRECT_SCRIPT}</script>\n"
        f"</head><body>Redirecting to <a href=\"{t}\">{t}</a>…</body></html>\n"
    )


def _write_redirect(site_dir: Path, from_url: str, to_url: str,
                    resolved_site: str | None = None) -> None:
    """Write ``<site_dir>/<from_url>/index.html`` pointing at site-relative ``to_url``.

    Refuses (HelpgenError) a path that leaves ``site_dir`` or a page that exists
    already: content validation rules both out, this is the last defence.
    ``resolved_site``: ``os.path.realpath(site_dir)``, resolved once by the caller."""
    here = from_url.rstrip("/")
    why = urls.redirect_problem(here or ".")
    if why:
        raise HelpgenError(f"refusing to write the redirect {from_url!r}: {why}")
    rel = _relative_target(here, to_url)
    resolved_site = resolved_site or os.path.realpath(site_dir)
    out = urls.confine(site_dir, f"{here}/index.html", resolved_site)
    if out.exists():
        raise HelpgenError(f"refusing to write the redirect {from_url!r}: "
                           f"{out.relative_to(resolved_site)} exists")
    out.parent.mkdir(parents=True, exist_ok=True)
    urls.confine(site_dir, f"{here}/index.html", resolved_site)  # no link appeared on the way
    out.write_text(redirect_html(rel), encoding="utf-8")


def _relative_target(here: str, to_url: str) -> str:
    """``to_url`` (site-relative) as a link from the folder ``here``, ending in '/'."""
    rel = posixpath.relpath(to_url or ".", here or ".")
    return "./" if rel == "." else (rel if rel.endswith("/") else rel + "/")


def _write_permalink(folder: str, art_id: str, to_url: str) -> None:
    """``<folder>/<art_id>/index.html``, ``folder`` being the build's checked ``a/``.

    One folder per article under a folder already confined: the article id is one plain
    segment (content validation), the folder is made here and the file created only if
    absent, never through a link (``O_EXCL | O_NOFOLLOW``)."""
    if not art_id or "/" in art_id or art_id.startswith("."):
        raise HelpgenError(f"refusing to write the permalink of article id {art_id!r}")
    dest = os.path.join(folder, art_id)
    try:
        os.mkdir(dest)
    except FileExistsError:  # a page's own folder under a/: fine unless it is a link
        if not stat.S_ISDIR(os.lstat(dest).st_mode):
            raise HelpgenError(f"refusing to write the redirect 'a/{art_id}/': "
                               f"a/{art_id} is not a folder") from None
    data = redirect_html(_relative_target(f"a/{art_id}", to_url)).encode("utf-8")
    try:
        fd = os.open(os.path.join(dest, "index.html"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        raise HelpgenError(f"refusing to write the redirect 'a/{art_id}/': "
                           f"a/{art_id}/index.html exists") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def write_redirects(rendered: render.RenderedMarket, site_dir: Path) -> None:
    """Permalinks ``a/<id>/`` and every old URL declared in ``redirects``."""
    resolved_site = os.path.realpath(site_dir)
    folder = ""
    for page in rendered.pages.values():
        art = page.article
        if art.kind != "article":
            continue
        if not folder:  # a/, checked once
            urls.confine(site_dir, "a", resolved_site).mkdir(exist_ok=True)
            folder = str(urls.confine(site_dir, "a", resolved_site))  # no link appeared
        _write_permalink(folder, art.id, art.url)
        for old in art.redirects:
            _write_redirect(site_dir, old, art.url, resolved_site)


# --------------------------------------------------------------------------- mkdocs

_LINK_RE = re.compile(r"Doc file '(?P<src>[^']+)' contains (?:a|an) [a-z ]*link '(?P<target>[^']+)'")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _captured_mkdocs_log() -> Iterator[_Collect]:
    logger = logging.getLogger("mkdocs")
    handler = _Collect()
    old_propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # keep dependency chatter out of the user's terminal
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate


def _warning_problem(record: logging.LogRecord, state: BuildState) -> Problem:
    msg = record.getMessage().strip()
    m = _LINK_RE.search(msg)
    prefix = state.config.docs_dir_name
    if m:
        rp = state.rendered.pages.get(m.group("src"))
        source = rp.source if rp else m.group("src")
        line, col = rules.locate(state.config, source, m.group("target"), {}, None)
        return Problem(f"broken link to {m.group('target')!r} on the {state.market.code} site "
                       "(link to an existing .md file, or write the name as plain text)",
                       f"{prefix}/{source}", line, col)
    return Problem(f"MkDocs: {msg} (building {state.market.code} {state.version})")


class NavCache:
    """The navigation HTML of one build's inactive items, rendered once per build.

    Material renders the whole navigation into every page, so the build grew with
    pages x navigation size. An item the page is not in renders the same for every page
    but for its links, which are relative to the page. helpgen's ``partials/nav-item.html``
    renders such an item once while recording (from :meth:`hit` to :meth:`put`; the
    ``helpgen_nav_url`` filter then writes each link as a site-relative placeholder) and
    :meth:`links` puts in the
    page's relative links with MkDocs' own ``normalize_url``, so the HTML is
    byte-identical to Material's rendering of every page. The theme's partials in
    :data:`FRAGMENTS` are rendered once per build the same way (:meth:`fragment`).

    A section the page is in (active) renders the same for every page in it but for its
    children: it is recorded once with a mark where each child goes (a *shell*,
    :meth:`_shell`), and each page gets the shell with its links, the inactive children's
    cached HTML and its active child rendered for it (recursively: the next section's
    shell, down to the page's own item with its table of contents, rendered per page).
    Links are put in once per folder of pages where that gives the same HTML
    (:meth:`_resolved`). A section whose index page is the page renders per page.
    """

    def __init__(self) -> None:
        self.html: dict[tuple, str] = {}
        self.recording = 0  # depth of the cached renders under way
        self._shell_of: Any = None  # the section whose shell is being recorded
        # where a child goes in a shell: its navigation path (``__nav_2_3``) behind a
        # token no title can hold
        self._token = f"\x02{os.urandom(8).hex()}"
        self._mark = re.compile(f"{self._token}([^\x02\x03]*)\x03")
        self._inside: dict[tuple, frozenset] = {}  # shell -> folders its links are in
        self._by_folder: dict[tuple, Any] = {}  # (shell, pages' folder) -> its HTML
        self._parts: dict[str, list[str]] = {}  # link -> its path's parts
        self._page_url: str | None = None  # the page :meth:`_relative_to` last split
        self._page_parts: list[str] = []

    def hit(self, nav_item: Any, path: str, level: int, parent: Any, page: Any,
            base_url: str, render: Any = None, render_uncached: Any = None
            ) -> str | tuple | None:
        """For ``render``: None if ``nav_item`` is rendered per page, else its HTML for
        this page (from the cache, or an active section's shell filled in; ``render``
        and ``render_uncached`` are the template's macros), or on a miss the key to
        :meth:`put` it under (recording begins)."""
        if getattr(nav_item, "pages", None):
            return None
        if parent is not None and parent is self._shell_of:  # recording that shell
            return f"{self._token}{path}\x03"
        if getattr(nav_item, "active", False):
            if render is None or render_uncached is None:
                return None
            return self._shell(nav_item, path, level, parent, page, base_url, render,
                               render_uncached)
        key = self._item_key(path, level, parent)
        html = self.html.get(key)
        if html is not None:
            return self.links(html, page, base_url)
        self.recording += 1
        return key

    @staticmethod
    def _item_key(path: str, level: int, parent: Any) -> tuple:
        """Where an inactive item's HTML is cached: it renders the same wherever the
        navigation puts it at ``path`` and ``level`` under a parent as active as this."""
        return (path, level, parent.active if parent else None)

    def _shell(self, nav_item: Any, path: str, level: int, parent: Any, page: Any,
               base_url: str, render: Any, render_uncached: Any) -> str | None:
        """An active section's HTML for ``page``: its shell (recorded on first use, a
        mark where each child goes) with the page's links, each inactive child's cached
        HTML and the active child rendered for the page. None (render per page) for the
        page's own item, and for a section whose index page is the page or that has not
        exactly one active child."""
        children = getattr(nav_item, "children", None)
        if not children or self.recording:
            return None
        active = [i for i, child in enumerate(children, 1) if getattr(child, "active", False)]
        if len(active) != 1:
            return None
        child = children[active[0] - 1]
        if child is page and getattr(child, "is_index", False):
            return None  # the page is the section's index: Material marks it in the shell
        key = ("shell", path, level)
        shell = self.html.get(key)
        if shell is None:
            self.recording += 1
            self._shell_of = nav_item
            try:
                shell = str(render_uncached(nav_item, path, level, parent))
            finally:
                self.recording -= 1
                self._shell_of = None
            marks = [m[1] for m in self._mark.finditer(shell)]
            want = [f"{path}_{i}" for i in range(1, len(children) + 1)]
            if len(set(marks)) != len(marks) or not set(marks) <= set(want) \
                    or f"{path}_{active[0]}" not in marks:
                shell = ""  # not the shape expected: rendered per page
            self.html[key] = shell
        if not shell:
            return None
        prefix, rest = self._resolved(key, shell, page, base_url)
        out = [prefix]
        for mark, after in rest:
            i = int(mark.rsplit("_", 1)[1])
            item_key = self._item_key(mark, level + 1, nav_item)
            html = None if i == active[0] else self.html.get(item_key)
            if html is None:  # the active child, or a first time (recorded by the template)
                out.append(str(render(children[i - 1], mark, level + 1, nav_item)))
            else:
                out.append(self._resolved(item_key, html, page, base_url, split=False))
            out.append(after)
        return "".join(out)

    def _resolved(self, key: tuple, html: str, page: Any, base_url: str,
                  split: bool = True) -> Any:
        """:meth:`links` of recorded ``html`` for ``page``, once per folder of pages (a
        link's relative form depends only on the page's folder unless it points at the
        page or inside it: then, or for a link that is no plain folder path, per page);
        with ``split``, a shell as (text before the first child, [(child mark, text
        after it), ...])."""
        url = getattr(page, "url", None)
        folder = None
        if url and url.endswith("/"):
            inside = self._inside.get(key)
            if inside is None:
                inside = self._inside[key] = _link_folders(html)
            if inside and url not in inside:
                folder = url[: url.rstrip("/").rfind("/") + 1]
                done = self._by_folder.get((key, folder))
                if done is not None:
                    return done
        done = self.links(html, page, base_url)
        if split:
            pieces = self._mark.split(done)
            done = (pieces[0], list(zip(pieces[1::2], pieces[2::2])))
        if folder is not None:
            self._by_folder[(key, folder)] = done
        return done

    def put(self, key: tuple, html: str) -> str:
        self.recording -= 1
        self.html[key] = str(html)
        return self.html[key]

    def links(self, html: str, page: Any, base_url: str) -> str:
        if self.recording:  # inside an outer cached render: keep the placeholders
            return html
        if page is None or getattr(page, "url", None) is None:
            from mkdocs.utils import normalize_url

            return _NAV_LINK.sub(lambda m: normalize_url(m[1], page=page, base=base_url), html)
        relative = self._relative_to(page)
        return _NAV_LINK.sub(lambda m: relative(m[1]), html)

    def _relative_to(self, page: Any) -> Callable[[str], str]:
        """MkDocs' ``normalize_url(url, page=page)`` for the ~100 links of a page: the
        page's path is split once per page and a link's once per build (MkDocs splits
        and normalises both for every link). Links other than plain folder paths
        (``a/b/``) go to MkDocs' own function."""
        if self._page_url != page.url:
            self._page_url = page.url
            other = page.url
            dirname, _, basename = other.rpartition("/")
            if "." in basename:
                other = dirname
            other = posixpath.normpath("/" + other)[1:]
            self._page_parts = other.split("/") if other else []
        mine = self._page_parts
        parts = self._parts
        from mkdocs.utils import normalize_url

        def relative(url: str) -> str:
            dest = parts.get(url)
            if dest is None:
                if not _PLAIN_FOLDER.fullmatch(url):
                    return normalize_url(url, page=page)
                dest = parts[url] = url[:-1].split("/")
            common = 0
            for a, b in zip(mine, dest):
                if a != b:
                    break
                common += 1
            return "../" * (len(mine) - common) + "".join(d + "/" for d in dest[common:]) \
                or "./"

        return relative

    def url(self, context: Any, value: Any) -> str:
        """The ``helpgen_nav_url`` filter: MkDocs' ``url``, or a placeholder to record."""
        if self.recording:
            return f"\x00{value}\x01"
        from mkdocs.utils.templates import url_filter

        return url_filter(context, value)

    def fragment(self, template: Any) -> None:
        """Render ``template`` (one of :data:`FRAGMENTS`) once, its links recorded as
        placeholders (the ``url`` filter is :meth:`url` then), and give every page that
        HTML with the page's links put in."""
        render = template.root_render_func
        key = ("fragment", template.name)

        def once(context: Any) -> Iterator[str]:
            html = self.html.get(key)
            if html is None:
                self.recording += 1
                try:
                    html = "".join(render(context))
                finally:
                    self.recording -= 1
                self.html[key] = html
            yield self.links(html, context.get("page"), context.get("base_url"))

        template.root_render_func = once


class Translations:
    """Material's ``lang.t(key)`` answered once per key and build (helpgen's
    ``partials/language.html``); ``enabled=False``: Material's macro itself."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.texts: dict[tuple, str] = {}

    def of(self, macro: Any, lang: Any, fallback: Any) -> Any:
        if not self.enabled:
            return macro
        texts = self.texts
        tables = (lang.__name__, fallback.__name__)

        def t(key: Any) -> str:
            found = texts.get((tables, key))
            if found is None:
                found = texts[(tables, key)] = macro(key)
            return found

        return t


#: Theme partials that render the same on every page of a build but for the links they
#: write with the ``url`` filter: they read only the build's config and translations
#: (tests/test_nav_once.py checks their sources and the pages, byte for byte).
FRAGMENTS = frozenset({
    "partials/logo.html", "partials/palette.html", "partials/alternate.html",
    "partials/search.html", "partials/icons.html", "partials/top.html",
    "partials/helpgen-searchbar.html", "partials/helpgen-deadend-template.html",
})


_NAV_LINK = re.compile("\x00([^\x00\x01]*)\x01")


def _link_folders(html: str) -> frozenset:
    """Every folder the recorded links of ``html`` lead into (``a/b/`` -> ``a/`` and
    ``a/b/``); empty when a link is no plain folder path (nothing can be shared)."""
    folders: set[str] = set()
    for m in _NAV_LINK.finditer(html):
        link = m[1]
        if not _PLAIN_FOLDER.fullmatch(link):
            return frozenset()
        end = link.find("/")
        while end != -1:
            folders.add(link[: end + 1])
            end = link.find("/", end + 1)
    return frozenset(folders)


#: a link MkDocs reads as a plain relative folder path (no scheme, query, anchor, dot
#: segment or backslash): ``NavCache._relative_to`` answers it without MkDocs
_PLAIN_FOLDER = re.compile(r"(?:[^/\\.:#?][^/\\:#?]*/)+")


def _fragment_dirs() -> tuple[str, ...]:
    """The folders whose :data:`FRAGMENTS` are known to read no page: helpgen's theme
    and Material's templates."""
    import material

    return tuple(os.path.join(str(d), "") for d in
                 (THEME_DIR, Path(material.__file__).resolve().parent / "templates"))


def _attach_nav_cache(theme: Any, enabled: bool, fragments: bool = True) -> None:
    """Give every Jinja environment of this build's ``theme`` its own :class:`NavCache`
    (``enabled=False``: only the filter, which then is MkDocs' ``url``); with
    ``fragments``, the :data:`FRAGMENTS` are rendered once per environment and the
    theme's translations looked up once (:class:`Translations`)."""
    import jinja2

    make_env = theme.get_env

    def get_env() -> Any:
        env = make_env()
        cache = NavCache()
        url = jinja2.pass_context(lambda context, value: cache.url(context, value))
        env.filters["helpgen_nav_url"] = url
        env.globals["helpgen_translations"] = Translations(fragments)
        if enabled:
            env.globals["helpgen_nav_cache"] = cache
        if fragments:
            env.filters["url"] = url
            load = env.loader.load  # once per template and environment (Jinja's cache)
            ours = _fragment_dirs()

            def load_fragment(environment: Any, name: str, globals: Any = None) -> Any:
                template = load(environment, name, globals)
                # a project's own version of the partial (theme.custom_dir) may read the
                # page: rendered per page
                if name in FRAGMENTS and template.filename \
                        and os.path.realpath(template.filename).startswith(ours):
                    cache.fragment(template)
                return template

            env.loader.load = load_fragment
        return env

    theme.get_env = get_env


def run_mkdocs(state: BuildState, out_dir: Path) -> None:
    """Build ``state`` into ``out_dir`` in this process; MkDocs warnings are errors."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config as mkdocs_load_config

    from mkdocs.exceptions import Abort, ConfigurationError

    with _captured_mkdocs_log() as log:
        try:
            mkcfg = mkdocs_load_config(str(state.config.mkdocs_file), site_dir=str(out_dir))
            mkcfg[STATE_KEY] = state
            mkdocs_build(mkcfg)
        except (Abort, ConfigurationError) as exc:
            problems = _mkdocs_problems(log.records, state)
            if not problems:
                problems = [Problem(f"MkDocs: {exc}")]
            rel = state.config.mkdocs_file_name
            raise_if(state.problems + [Problem(p.msg, p.path or rel) for p in problems])
    raise_if(state.problems + _mkdocs_problems(log.records, state))


def _mkdocs_problems(records: list[logging.LogRecord], state: BuildState) -> list[Problem]:
    """MkDocs' warnings as problems, less its link warnings in files where helpgen's
    rules already reported a problem (the same broken link, in MkDocs' words)."""
    judged = {p.path for p in state.problems}
    prefix = state.config.docs_dir_name
    out = []
    for record in records:
        m = _LINK_RE.search(record.getMessage())
        if m and judged:
            rp = state.rendered.pages.get(m.group("src"))
            if f"{prefix}/{rp.source if rp else m.group('src')}" in judged:
                continue
        out.append(_warning_problem(record, state))
    return out


# --------------------------------------------------------------------------- publish

@dataclass(frozen=True)
class BuildResult:
    market: str
    version: str
    aliases: tuple[str, ...]
    path: Path
    pages: int
    seconds: float


def _natural_key(version: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", version) if p)


def read_versions(market_dir: Path) -> list[dict]:
    path = market_dir / VERSIONS_FILE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HelpgenError(f"not valid JSON ({exc.msg}); delete it and rebuild", path,
                           exc.lineno, exc.colno) from None
    return data if isinstance(data, list) else []


def write_versions(market_dir: Path, versions: list[dict]) -> None:
    versions = sorted(versions, key=lambda v: _natural_key(v["version"]), reverse=True)
    atomic.write_text(market_dir / VERSIONS_FILE, json.dumps(versions, indent=2) + "\n")


def _alias_tree(version_dir: Path, out: Path, version: str) -> None:
    """Fill ``out`` (an alias folder being staged) with one redirect page per page of
    ``version_dir``, plus a copy of its ``build.json``.

    One folder listing and one ``mkdir`` per folder, and the pages written as bytes
    (two pages per article: this runs for every build)."""
    root = str(version_dir)
    for folder, _dirs, names in os.walk(root):
        pages = [n for n in names if n.endswith(".html")]
        if not pages:
            continue
        rel_dir = os.path.relpath(folder, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dest_dir = os.path.join(out, rel_dir) if rel_dir else str(out)
        try:
            os.mkdir(dest_dir)
        except FileNotFoundError:  # its parent holds no page
            os.makedirs(dest_dir)
        except FileExistsError:
            pass
        up = "../" * (rel_dir.count("/") + 1) + version + "/"
        for name in pages:
            # alias/a/b/index.html -> ../../../<version>/a/b/
            target = up + rel_dir + (name[:-len("index.html")] if name.endswith("index.html")
                                     else name)
            with open(os.path.join(dest_dir, name), "wb") as fh:
                fh.write(redirect_html(target).encode("utf-8"))
    if (version_dir / BUILD_FILE).is_file():
        shutil.copyfile(version_dir / BUILD_FILE, out / BUILD_FILE)


def _market_pages(config: Config, versions: list[dict]) -> dict[str, str]:
    """``index.html`` (a redirect to the default alias) and ``sitemap.xml`` of a market."""
    alias = config.default_alias
    target = None
    for v in versions:
        if alias in v.get("aliases", []):
            target = alias + "/"
    if target is None and versions:
        target = versions[0]["version"] + "/"
    pages = {"index.html": redirect_html(target)} if target else {}
    # Material's market/language selector fetches <link>/sitemap.xml to map the current
    # page; without a site_url there is nothing to map, so answer with an empty, valid
    # sitemap rather than a 404 (the selector then follows the link to this index).
    pages["sitemap.xml"] = EMPTY_SITEMAP
    return pages


def write_market_index(config: Config, market_dir: Path, versions: list[dict]) -> None:
    for name, text in _market_pages(config, versions).items():
        atomic.write_text(market_dir / name, text)


MARKETS_FILE = "markets.json"
#: Per built version: the folder URLs of its articles and pages, so that the market
#: selector can open the same article in another market (on any static host).
ARTICLES_FILE = "articles.json"


def write_article_list(rendered: render.RenderedMarket, version_dir: Path) -> None:
    """``<market>/<version>/articles.json``: ``{"pages": {url: id}}``, sorted."""
    pages = {p.url: p.article.id for p in rendered.pages.values()}
    atomic.write_text(version_dir / ARTICLES_FILE, json.dumps(
        {"pages": dict(sorted(pages.items()))}, ensure_ascii=False, indent=0) + "\n")


def default_target(config: Config, versions: list[dict]) -> str | None:
    """The version a market's default alias points to (else its newest)."""
    for v in versions:
        if config.default_alias in v.get("aliases", []):
            return v["version"]
    return versions[0]["version"] if versions else None


#: The root market chooser's look: Material's default palette (indigo header, cards).
_ROOT_STYLE = (
    ":root{--fg:rgba(0,0,0,.87);--light:rgba(0,0,0,.54);--primary:#4051b5}"
    "*{box-sizing:border-box}body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"
    "'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:#fff;"
    "-webkit-font-smoothing:antialiased}"
    "header{background:var(--primary);color:#fff;box-shadow:0 0 .2rem rgba(0,0,0,.1),"
    "0 .2rem .4rem rgba(0,0,0,.2)}header div{max-width:61rem;margin:0 auto;padding:.9rem "
    "1rem;font-size:1.1rem;font-weight:700}"
    "main{max-width:61rem;margin:0 auto;padding:1.5rem 1rem 3rem}"
    "h1{font-size:1.6rem;font-weight:300;margin:.5rem 0 1.2rem;color:var(--light)}"
    "ul{list-style:none;padding:0;margin:0;display:grid;gap:.8rem;"
    "grid-template-columns:repeat(auto-fill,minmax(13rem,1fr))}"
    "a{display:block;height:100%;padding:.9rem 1rem;border:1px solid rgba(0,0,0,.07);"
    "border-radius:.2rem;color:inherit;text-decoration:none;transition:box-shadow .25s,"
    "border-color .25s}a:hover,a:focus{border-color:transparent;box-shadow:0 .2rem .5rem "
    "rgba(0,0,0,.15),0 0 .05rem rgba(0,0,0,.25)}a:focus-visible{outline:2px solid "
    "var(--primary)}strong{display:block;font-size:1rem;color:var(--primary);"
    "overflow-wrap:anywhere}span{display:block;margin-top:.2rem;font-size:.85rem;"
    "color:var(--light)}"
    "@media (prefers-color-scheme:dark){body{background:#1e2129;color:#e2e4e9}"
    "a{border-color:rgba(255,255,255,.12)}strong{color:#8c9ded}span,h1{color:#a0a4b0}}"
)


def root_page(config: Config, published: list[dict]) -> str:
    """The market chooser at ``/``: one card per published market, its name and
    language (in the language itself), linking to the market's home."""
    rows = "\n".join(
        f'<li><a href="{html.escape(m["code"])}/" hreflang="{html.escape(m["language"])}">'
        f'<strong lang="{html.escape(m["language"])}">{html.escape(m["name"])}</strong>'
        f'<span lang="{html.escape(m["language"])}">{html.escape(m["language_name"])}'
        "</span></a></li>" for m in published)
    site_name = html.escape(_site_name(config))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
        f"<title>{site_name}</title>\n<style>{_ROOT_STYLE}</style></head>\n<body>\n"
        f"<header><div>{site_name}</div></header>\n<main>\n"
        f"<h1>{html.escape(catalog.load().text('root.choose_market', 'en'))}</h1>\n"
        f'<ul class="helpgen-markets">\n{rows}\n</ul>\n</main>\n</body></html>\n'
    )


def _site_name(config: Config) -> str:
    """``site_name`` of mkdocs.yml (read as text: the root page needs no MkDocs)."""
    try:
        text = config.mkdocs_file.read_text(encoding="utf-8")
    except OSError:
        return "Help Center"
    found = re.search(r"^site_name:\s*[\"']?(.*?)[\"']?\s*(?:#.*)?$", text, re.M)
    return found.group(1) if found and found.group(1) else "Help Center"


def write_site_index(config: Config, site_dir: Path) -> None:
    """``site/index.html`` and ``site/markets.json``: every market that has a published
    version (the page's market selector shows only those; ``default`` is the version
    its default alias serves, where the selector looks for the same article)."""
    published = []
    for m in config.markets.values():
        versions = read_versions(site_dir / m.code)
        if not versions:
            continue
        published.append({"code": m.code, "name": m.name, "language": m.language,
                          "language_name": m.language_name,
                          "versions": [v["version"] for v in versions],
                          "default": default_target(config, versions)})
    page = root_page(config, published)
    site_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_text(site_dir / MARKETS_FILE,
                      json.dumps({"markets": published}, ensure_ascii=False, indent=1) + "\n")
    atomic.write_text(site_dir / "index.html", page)
    from . import widget  # the drop-in widget, at a URL no version is part of

    widget.write(config, site_dir)




# --------------------------------------------------------------------------- build ids

BUILD_FILE = "build.json"
JOURNAL_FILE = ".publish-journal.json"
PUBLISH_LOCK = ".publish.lock"


def new_build_id() -> str:
    """A unique id for one build: UTC time plus random hex (``20261202T051500Z-1a2b3c4d``)."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{os.urandom(4).hex()}"


def _read_json_quietly(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def site_build_id(folder: Path) -> str | None:
    """The build id in a published (or staged) version folder's ``build.json``."""
    data = _read_json_quietly(folder / BUILD_FILE)
    return data.get("build_id") if isinstance(data, dict) else None


def index_build_id(folder: Path) -> str | None:
    """The build id in a search index folder's meta file (``helpgen-index.json``)."""
    from .analysis import META_FILE

    data = _read_json_quietly(folder / META_FILE)
    return data.get("build_id") if isinstance(data, dict) else None


def _write_build_file(folder: Path, build_id: str, market: str, version: str) -> None:
    (folder / BUILD_FILE).write_text(json.dumps(
        {"build_id": build_id, "market": market, "version": version}, indent=2) + "\n",
        encoding="utf-8")


# --------------------------------------------------------------------------- publish

@dataclass
class Staged:
    """One market's finished build, waiting in locked staging folders to be published."""

    market: str
    site: atomic.Staging
    index: atomic.Staging | None = None  # holds <market>/<version>/ of the search index
    index_dir: Path | None = None
    pages: int = 0
    seconds: float = 0.0
    #: the version, aliases and build id of this item when they differ from the
    #: publish's own (``helpgen merge`` publishes builds made elsewhere, each with its own)
    version: str | None = None
    aliases: tuple[str, ...] | None = None
    build_id: str | None = None


@contextlib.contextmanager
def publishing(site_dir: Path) -> Iterator[None]:
    """The one lock of every change to what ``site_dir`` (and its indexes) publish."""
    site_dir.mkdir(parents=True, exist_ok=True)
    with atomic.locked(site_dir, PUBLISH_LOCK):
        yield


def _plan(config: Config, site_dir: Path, version: str, aliases: Sequence[str],
          staged: Sequence[Staged], build_id: str, alias_stages: list[atomic.Staging]) -> dict:
    """The journal of one publish; the staging folders of its alias pages are appended
    to ``alias_stages``.

    Phase 1 ("prepared") swaps every market's search index and site folder in; nothing
    lists them yet, and :func:`_roll_back` can swap the old trees back. The commit point
    marks the journal "committed"; phase 2 then only renames finished files and alias
    folders into place (versions.json last but one, aliases.json last), which
    :func:`_roll_forward` can repeat after a kill.

    Each item is published as ``version`` with ``aliases`` and ``build_id`` unless it
    carries its own; several items may be versions of one market (one listing each).
    """
    from . import analysis

    by_market: dict[str, list[Staged]] = {}
    for item in staged:
        by_market.setdefault(item.market, []).append(item)
    markets = []
    for code, items in by_market.items():
        market_dir = site_dir / code
        versions = read_versions(market_dir)
        swaps: list[dict] = []
        staged_versions: dict[str, tuple[str, str]] = {}  # version -> (staged dir, build id)
        with_index: set[str] = set()
        for item in items:
            iversion = item.version or version
            ialiases = tuple(item.aliases) if item.aliases is not None else tuple(aliases)
            ibid = item.build_id or build_id
            clash = [v["version"] for v in versions if v["version"] in ialiases]
            if clash or iversion in {a for v in versions for a in v.get("aliases", [])}:
                raise HelpgenError(f"{code}: a name cannot be both a version and an alias "
                                   f"({', '.join(clash) or iversion})", exit_code=2)
            entry = next((v for v in versions if v["version"] == iversion), None)
            if entry is None:
                entry = {"version": iversion, "title": iversion, "aliases": []}
                versions.append(entry)
            for v in versions:
                if v is not entry:
                    v["aliases"] = [a for a in v.get("aliases", []) if a not in ialiases]
            entry["aliases"] = sorted(set(entry.get("aliases", [])) | set(ialiases))
            final = market_dir / iversion
            if item.index is not None and item.index_dir is not None:
                ifinal = Path(item.index_dir) / code / iversion
                swaps.append({"kind": "index", "stage": str(item.index.path / code / iversion),
                              "final": str(ifinal), "had_old": os.path.lexists(ifinal),
                              "build_id": ibid})
                with_index.add(iversion)
            swaps.append({"kind": "site", "stage": str(item.site.path), "final": str(final),
                          "had_old": os.path.lexists(final), "build_id": ibid})
            staged_versions[iversion] = (str(item.site.path), ibid)
        trees = []
        for v in versions:
            if v["version"] not in staged_versions:
                continue
            vdir, vbid = staged_versions[v["version"]]
            for alias in v.get("aliases", []):
                stage = atomic.make_staging(market_dir, f".alias-{alias}-")
                alias_stages.append(stage)
                trees.append({"stage": str(stage.path), "final": str(market_dir / alias),
                              "version_dir": vdir, "version": v["version"],
                              "build_id": vbid})
        files: list[dict] = []

        def add(final_file: Path, text: str) -> None:
            nxt = final_file.with_name(f".staging-{final_file.name}-{build_id}")
            files.append({"next": str(nxt), "final": str(final_file), "text": text})

        add(market_dir / VERSIONS_FILE, json.dumps(  # listing order: versions.json first,
            sorted(versions, key=lambda v: _natural_key(v["version"]), reverse=True),
            indent=2) + "\n")
        index_dirs = {Path(i.index_dir) for i in items if i.index_dir is not None}
        for idir in sorted(index_dirs):  # then aliases.json, then the market's pages
            mdir = idir / code
            indexed = set(analysis.indexed_versions(mdir)) | with_index
            alias_map = {a: v["version"] for v in versions if v["version"] in indexed
                         for a in v.get("aliases", [])}
            add(mdir / analysis.ALIASES_FILE, json.dumps(alias_map, indent=2, sort_keys=True)
                + "\n")
        for name, text in _market_pages(config, versions).items():
            add(market_dir / name, text)
        markets.append({"market": code, "swaps": swaps, "trees": trees, "files": files,
                        "version_dir": str(items[0].site.path),
                        "build_id": items[0].build_id or build_id})
    cleanup = [str(s.path) for s in alias_stages]
    for item in staged:
        cleanup.append(str(item.site.path))
        if item.index is not None:
            cleanup.append(str(item.index.path))
    return {"build_id": build_id, "version": version, "state": "prepared",
            "markets": markets, "cleanup": cleanup}


def _write_journal(site_dir: Path, journal: dict) -> None:
    atomic.write_text(site_dir / JOURNAL_FILE, json.dumps(journal, indent=1) + "\n")


def _publish_set(config: Config, site_dir: Path, version: str, aliases: Sequence[str],
                 staged: Sequence[Staged], build_id: str) -> list[Path]:
    """Publish the staged builds of one or more markets: all of them, or none."""
    with publishing(site_dir):
        _recover_locked(config, site_dir)
        alias_stages: list[atomic.Staging] = []
        try:
            journal = _plan(config, site_dir, version, aliases, staged, build_id, alias_stages)
        except BaseException:
            for stage in alias_stages:
                stage.discard()
            raise
        try:
            try:
                _write_journal(site_dir, journal)
                for m in journal["markets"]:  # files phase 2 renames into place
                    for tree in m["trees"]:
                        _alias_tree(Path(tree["version_dir"]), Path(tree["stage"]),
                                    tree["version"])
                    for f in m["files"]:
                        atomic.write_text(Path(f["next"]), f["text"])
                faults.reached("publish", "after-journal", site_dir)
                for m in journal["markets"]:
                    for swap in m["swaps"]:
                        if swap["kind"] == "index":
                            from . import index as index_mod

                            mdir = Path(swap["final"]).parent
                            with index_mod.locked(mdir):
                                atomic.put_in_place(Path(swap["stage"]), Path(swap["final"]))
                        else:
                            atomic.put_in_place(Path(swap["stage"]), Path(swap["final"]))
                        faults.reached("publish", f"after-{swap['kind']}-swap", swap["final"])
                journal["state"] = "committed"
                _write_journal(site_dir, journal)
            except BaseException:
                _roll_back(site_dir, journal)
                raise
            faults.reached("publish", "after-commit", site_dir)
            try:
                _roll_forward(config, site_dir, journal)
            except OSError as exc:
                err = atomic.environment_error(exc, "the new build is in place; the next "
                                               "build or remove lists it in every market first")
                if err is None:
                    raise
                raise err from exc
        finally:
            for stage in alias_stages:
                stage.close()
    return [site_dir / item.market / (item.version or version) for item in staged]


def _roll_back(site_dir: Path, journal: dict) -> None:
    """Undo phase 1 of an uncommitted publish: every old tree back, every new one gone."""
    with faults.suspended():  # an injected error must not stop the undoing
        _roll_back_steps(site_dir, journal)


def _roll_back_steps(site_dir: Path, journal: dict) -> None:
    bid = journal["build_id"]
    for m in reversed(journal["markets"]):
        for swap in reversed(m["swaps"]):
            stage, final = Path(swap["stage"]), Path(swap["final"])
            reader = site_build_id if swap["kind"] == "site" else index_build_id
            if os.path.lexists(final) and reader(final) == swap.get("build_id", bid):
                # this build is in place
                if swap["had_old"] and os.path.lexists(stage):
                    atomic.put_in_place(stage, final)  # old tree back, new one at stage
                else:
                    shutil.rmtree(final, ignore_errors=True)
        for f in m["files"]:
            with contextlib.suppress(FileNotFoundError):
                Path(f["next"]).unlink()
    for folder in journal["cleanup"]:
        shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (site_dir / JOURNAL_FILE).unlink()


def _roll_forward(config: Config, site_dir: Path, journal: dict) -> None:
    """Phase 2 of a committed publish (repeatable): alias folders, then the listings."""
    bid = journal["build_id"]
    for m in journal["markets"]:
        for tree in m["trees"]:
            stage, final = Path(tree["stage"]), Path(tree["final"])
            tree_bid = tree.get("build_id", bid)
            if site_build_id(final) != tree_bid and site_build_id(stage) == tree_bid:
                atomic.put_in_place(stage, final)
        for f in m["files"]:
            if os.path.lexists(f["next"]):
                atomic.replace_file(Path(f["next"]), Path(f["final"]))
        faults.reached("publish", "after-listing", site_dir / m["market"])
    write_site_index(config, site_dir)
    faults.reached("publish", "before-cleanup", site_dir)
    for folder in journal["cleanup"]:
        shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (site_dir / JOURNAL_FILE).unlink()


def _recover_locked(config: Config, site_dir: Path) -> str | None:
    """Finish what a killed publish left (the caller holds :func:`publishing`): roll an
    uncommitted one back, complete a committed one. Returns what was done."""
    path = site_dir / JOURNAL_FILE
    if not path.exists():
        return None
    journal = _read_json_quietly(path)
    if not isinstance(journal, dict) or "markets" not in journal:
        raise HelpgenError("damaged publish journal; compare versions.json with the version "
                           "folders, then delete the file and build again", path,
                           exit_code=2)
    if journal.get("state") == "committed":
        _roll_forward(config, site_dir, journal)
        return f"completed publish {journal['build_id']}"
    _roll_back(site_dir, journal)
    return f"rolled back publish {journal['build_id']}"


def recover(config: Config, site_dir: Path) -> str | None:
    """Complete or roll back an interrupted publish under the publish lock (every build
    and remove does this first)."""
    with publishing(site_dir):
        return _recover_locked(config, site_dir)


def _default_index_dir(config: Config, index_dir: Path | str | None) -> Path:
    return Path(index_dir or config.root / config.setting("search.index_dir"))


def sweep_leftovers(config: Config, site_dir: Path, index_dir: Path) -> list[Path]:
    """Recover an interrupted publish, then delete every staging folder of the site and
    index folders whose lock is free (its build was killed), whatever its age."""
    removed: list[Path] = []
    with publishing(site_dir):
        _recover_locked(config, site_dir)
        for code in config.markets:
            for parent in (site_dir / code, index_dir / code):
                removed += atomic.sweep(parent)
    return removed


def publish(config: Config, site_dir: Path, market: str, version: str, staging: Path,
            aliases: Sequence[str]) -> Path:
    """Publish a finished site folder ``staging`` (no search index) as ``version``."""
    site_dir = Path(site_dir)
    build_id = site_build_id(staging)
    if build_id is None:
        build_id = new_build_id()
        _write_build_file(staging, build_id, market, version)
    item = Staged(market, atomic.Staging(Path(staging), -1))
    return _publish_set(config, site_dir, version, aliases, [item], build_id)[0]


def remove(config: Config, site_dir: Path, market: str, name: str, force: bool = False,
           index_dir: Path | None = None, fault: faults.Fault | None = None) -> str:
    """Remove a published version (with its aliases and search index) or one alias,
    or a version folder that versions.json does not list (left by an old failure).

    Returns what was removed. The index's ``aliases.json`` follows ``versions.json``.
    """
    with faults.active(fault), atomic.disk_errors():
        return _remove(config, Path(site_dir), market, name, force,
                       _default_index_dir(config, index_dir))


def _remove(config: Config, site_dir: Path, market: str, name: str, force: bool,
            index_dir: Path) -> str:
    from . import index

    config.market(market)
    market_dir = site_dir / market
    with publishing(site_dir):
        _recover_locked(config, site_dir)
        removed = _remove_locked(config, market_dir, market, name, force,
                                 index_dir / market / name)
        versions = read_versions(market_dir)
        if removed.startswith(("version ", "unlisted ")) and (index_dir / market / name).is_dir():
            with index.locked(index_dir / market):
                shutil.rmtree(index_dir / market / name, ignore_errors=True)
        if (index_dir / market).is_dir():
            index.write_aliases(index_dir, market, versions)
        write_site_index(config, site_dir)
    return removed


def _remove_locked(config: Config, market_dir: Path, market: str, name: str,
                   force: bool, index_folder: Path) -> str:
    versions = read_versions(market_dir)
    for v in versions:
        if v["version"] == name:
            if config.default_alias in v.get("aliases", []) and not force:
                raise HelpgenError(
                    f"{market} {name} carries the default alias '{config.default_alias}' "
                    "the market index redirects to; publish another version with "
                    f"--alias {config.default_alias} first, or pass --force", exit_code=1)
            if len(versions) == 1 and not force:
                raise HelpgenError(
                    f"{market} {name} is the only published version of {market}; removing it "
                    f"leaves /{market}/ with nothing to show. Publish another version first, "
                    "or pass --force", exit_code=1)
            versions.remove(v)
            write_versions(market_dir, versions)  # unlisted first, then deleted
            write_market_index(config, market_dir, versions)
            if not versions:  # no redirect into a deleted folder
                (market_dir / "index.html").unlink(missing_ok=True)
            for alias in v.get("aliases", []):
                shutil.rmtree(market_dir / alias, ignore_errors=True)
            shutil.rmtree(market_dir / name, ignore_errors=True)
            return f"version {market}/{name}"
        if name in v.get("aliases", []):
            v["aliases"].remove(name)
            write_versions(market_dir, versions)
            write_market_index(config, market_dir, versions)
            shutil.rmtree(market_dir / name, ignore_errors=True)
            return f"alias {market}/{name} (was {v['version']})"
    known = [v["version"] for v in versions] + [a for v in versions for a in v["aliases"]]
    folder = market_dir / name
    if VERSION_RE.match(name) and name != "a" and (folder.is_dir() or index_folder.is_dir()):
        shutil.rmtree(folder, ignore_errors=True)  # versions.json does not list it
        return f"unlisted version folder {market}/{name}"
    raise HelpgenError(f"{market} has no version or alias {name!r}; published: "
                       f"{', '.join(known) or 'none'}", exit_code=2)


def _check_names(version: str, aliases: Sequence[str]) -> None:
    for name in (version, *aliases):
        if not VERSION_RE.match(name) or name in ("a", "index.html"):
            raise HelpgenError(f"invalid version/alias name {name!r}: use letters, digits, "
                               "'.', '_' and '-' (e.g. 2026.11, latest)", exit_code=2)
    if version in aliases:
        raise HelpgenError(f"alias {version!r} equals the version name", exit_code=2)



def build_staged(state: BuildState, site_dir: Path) -> Path:
    """Render one market into a fresh staging folder under ``site/<market>/`` and return
    it (its lock released: publish it or remove it soon)."""
    stage = atomic.make_staging(site_dir / state.market.code, f".staging-{state.version}-")
    try:
        run_mkdocs(state, stage.path)
    except BaseException:
        stage.discard()
        raise
    stage.close()
    return stage.path


def _die_with_parent(parent_pid: int) -> None:
    """In a forked child: be killed when the parent dies (see :mod:`helpgen.children`);
    the parent's kill points and injected errors are not the child's."""
    from .children import die_with_parent

    die_with_parent(parent_pid)
    faults.clear()


def _child_problems(exc: BaseException, what: str) -> tuple[list[Problem], int | None]:
    if isinstance(exc, HelpgenError):
        return exc.problems, exc.exit_code
    env = atomic.environment_error(exc)
    if env is not None:
        return env.problems, env.exit_code
    return [Problem(f"internal error {what}: {exc!r}")], EXIT_INTERNAL


def _get(queue: Any, procs: Sequence[Any]) -> Any:
    """The next item a child put on ``queue``; an error if the children died first."""
    import queue as queue_mod

    while True:
        try:
            return queue.get(timeout=0.5)
        except queue_mod.Empty:
            if not any(p.is_alive() for p in procs):
                try:
                    return queue.get(timeout=0.5)
                except queue_mod.Empty:
                    codes = ", ".join(str(p.exitcode) for p in procs)
                    raise HelpgenError(f"a build process ended without a result (exit "
                                       f"code {codes}); run again with --debug",
                                       exit_code=EXIT_INTERNAL) from None


def _release(site_dir: Path, stages: Sequence[atomic.Staging | None]) -> None:
    """Remove the staging folders of a build, unless a publish journal still needs them
    (then the next build completes or rolls back that publish)."""
    keep = (site_dir / JOURNAL_FILE).exists()
    for stage in stages:
        if stage is not None:
            stage.close() if keep else stage.discard()


def build(
    config: Config,
    market: str | None = None,
    version: str | None = None,
    aliases: Sequence[str] | None = None,
    site_dir: Path | None = None,
    corpus: content_mod.Corpus | None = None,
    index_dir: Path | None = None,
    fault: faults.Fault | None = None,
) -> BuildResult:
    """Build one market at one version and publish it (never deleting other versions).

    ``fault`` (see :mod:`helpgen.faults`) kills the process or fails a write at one
    named point, for tests of interrupted publishing.
    """
    with faults.active(fault), atomic.disk_errors():
        return _build(config, market, version, aliases, site_dir, corpus, index_dir)


def _build(config: Config, market: str | None, version: str | None,
           aliases: Sequence[str] | None, site_dir: Path | None,
           corpus: content_mod.Corpus | None, index_dir: Path | None) -> BuildResult:
    t0 = time.perf_counter()
    version = version or config.version
    aliases = tuple(aliases) if aliases is not None else (config.default_alias,)
    _check_names(version, aliases)
    site_dir = Path(site_dir or config.root / "site")
    index_dir = _default_index_dir(config, index_dir)
    state = prepare(config, market or config.default_market, version, corpus,
                    theme_cache=ThemeCache(persist=True))
    code = state.market.code
    build_id = new_build_id()
    sweep_leftovers(config, site_dir, index_dir)
    site_stage = index_stage = None
    try:
        site_stage = atomic.make_staging(site_dir / code, f".staging-{version}-")
        index_stage = atomic.make_staging(index_dir / code, f".staging-{version}-")
        # The search index needs only the rendered text, so a forked child writes it into
        # its staging folder while MkDocs renders the site on the other core; both are
        # published only when both succeeded.
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        # imported before the fork: the child inherits them, and this process needs them
        # to publish (after the fork both processes imported Whoosh, 80 ms each)
        from . import bundle, index  # noqa: F401
        # not a daemon: a large index is written by Whoosh's own worker processes, which
        # a daemonic process may not start (the child dies with us: PR_SET_PDEATHSIG)
        child = ctx.Process(target=_stage_index_child,
                            args=(config, state, index_stage.path, build_id, queue, os.getpid()),
                            daemon=False)
        child.start()
        try:
            faults.reached("build", "after-fork", site_stage.path)
            run_mkdocs(state, site_stage.path)
            _write_build_file(site_stage.path, build_id, code, version)
            problems, exit_code = _get(queue, [child])
        finally:
            if child.is_alive():
                child.join(timeout=5)
            if child.is_alive():
                child.kill()
            child.join()
        raise_if(problems or [], exit_code=exit_code)
        bundle.move_into(index_stage.path / BUNDLE_STAGE, site_stage.path)
        item = Staged(code, site_stage, index_stage, index_dir, len(state.rendered.pages))
        path = _publish_set(config, site_dir, version, aliases, [item], build_id)[0]
    finally:
        _release(site_dir, [site_stage, index_stage])
    return BuildResult(code, version, aliases, path, len(state.rendered.pages),
                       time.perf_counter() - t0)


#: Where the index child of a one-market build writes the search bundle (inside the
#: index's staging folder, beside <market>/<version>/), for the parent to move.
BUNDLE_STAGE = ".bundle"


def _stage_index_child(config: Config, state: BuildState, stage: Path, build_id: str,
                       queue: Any, parent_pid: int) -> None:
    """Forked by :func:`build`: index into ``stage``, report (problems, exit code)."""
    from . import index

    _die_with_parent(parent_pid)
    try:
        # one analysing process: MkDocs has the other core, and a daemon may not fork
        index.build_market(config, state.rendered, stage, build_id, procs=1)
        # the static search bundle too, while MkDocs still renders: the parent moves it
        # into the site's staging folder (only <market>/<version>/ of this one is published)
        from . import bundle

        bundle.write_for_build(config, stage, state.market.code, state.version,
                               stage / BUNDLE_STAGE)
        queue.put((None, None))
    except BaseException as exc:  # reported, never swallowed
        queue.put(_child_problems(exc, "while indexing"))


def _worker(config: Config, corpus: content_mod.Corpus, markets: list[str], version: str,
            stages: dict[str, tuple[str, str]], build_id: str, queue: Any,
            parent_pid: int) -> None:
    """Build each market's site and search index into its staging folders (in parallel)."""
    from . import bundle, index
    from .sandbox import RenderBudget

    _die_with_parent(parent_pid)
    templates: dict = {}
    theme_cache = ThemeCache(persist=True)
    budget = RenderBudget()
    for code in markets:
        t0 = time.perf_counter()
        site_stage, index_stage = (Path(p) for p in stages[code])
        try:
            state = prepare(config, code, version, corpus, templates, theme_cache, budget)
            run_mkdocs(state, site_stage)
            _write_build_file(site_stage, build_id, code, version)
            index.build_market(config, state.rendered, index_stage, build_id, procs=1)
            bundle.write_for_build(config, index_stage, code, version, site_stage)
            queue.put((code, len(state.rendered.pages), time.perf_counter() - t0, None, None))
        except BaseException as exc:  # reported, never swallowed
            problems, exit_code = _child_problems(exc, "")
            queue.put((code, 0, 0.0, problems, exit_code))


def build_all(
    config: Config,
    version: str | None = None,
    aliases: Sequence[str] | None = None,
    site_dir: Path | None = None,
    jobs: int | None = None,
    markets: Sequence[str] | None = None,
    index_dir: Path | None = None,
    progress: Callable[[str, str, float], None] | None = None,
    fault: faults.Fault | None = None,
) -> list[BuildResult]:
    """Build every market; publish all of them only if every one succeeded.

    ``progress(event, market, seconds)`` is called as each market finishes building
    (event ``built`` or ``failed``) and once it is published (``published``).

    Content is parsed once here; ``jobs`` forked workers (MkDocs imported once each)
    take a share of the markets and compile each article template once. Publishing is
    one journaled step for all markets (see :func:`_plan`): a kill at any moment leaves
    every market old or, once the next build finished it, every market new.
    """
    with faults.active(fault), atomic.disk_errors():
        return _build_all(config, version, aliases, site_dir, jobs, markets, index_dir,
                          progress)


def _build_all(config: Config, version: str | None, aliases: Sequence[str] | None,
               site_dir: Path | None, jobs: int | None, markets: Sequence[str] | None,
               index_dir: Path | None,
               progress: Callable[[str, str, float], None] | None) -> list[BuildResult]:
    version = version or config.version
    aliases = tuple(aliases) if aliases is not None else (config.default_alias,)
    _check_names(version, aliases)
    site_dir = Path(site_dir or config.root / "site")
    index_dir = _default_index_dir(config, index_dir)
    codes = list(markets or config.markets)
    for code in codes:
        config.market(code)
    corpus = content_mod.load(config)
    jobs = jobs or config.setting("build.jobs") or os.cpu_count() or 1
    jobs = max(1, min(jobs, len(codes)))
    import mkdocs.commands.build  # noqa: F401  (imported once, shared by forked workers)
    import material  # noqa: F401

    build_id = new_build_id()
    sweep_leftovers(config, site_dir, index_dir)
    stages: dict[str, tuple[atomic.Staging, atomic.Staging]] = {}
    try:
        for code in codes:
            stages[code] = (atomic.make_staging(site_dir / code, f".staging-{version}-"),
                            atomic.make_staging(index_dir / code, f".staging-{version}-"))
        paths = {code: (str(s.path), str(i.path)) for code, (s, i) in stages.items()}
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        chunks = [codes[i::jobs] for i in range(jobs)]
        procs = [ctx.Process(target=_worker, daemon=False,  # may start Whoosh's workers
                             args=(config, corpus, chunk, version, paths, build_id, queue,
                                   os.getpid()))
                 for chunk in chunks if chunk]
        for p in procs:
            p.start()
        results: dict[str, tuple] = {}
        try:
            while len(results) < len(codes):
                item = _get(queue, procs)
                results[item[0]] = item
                if progress is not None:
                    progress("failed" if item[3] else "built", item[0], item[2])
        finally:
            for p in procs:
                p.join(timeout=5)
                if p.is_alive():
                    p.kill()
                    p.join()
        per_market: dict[Problem, list[str]] = {}  # one line per problem, naming markets
        for item in results.values():
            for pr in dict.fromkeys(item[3] or ()):
                per_market.setdefault(pr, []).append(item[0])
        problems = rules.merge(per_market, codes)
        if problems:
            codes_seen = [item[4] for item in results.values() if item[3]]
            exit_code = EXIT_ENVIRONMENT if EXIT_ENVIRONMENT in codes_seen else (
                max((c for c in codes_seen if c is not None), default=None))
            raise_if(problems, exit_code=exit_code)
        staged = [Staged(code, stages[code][0], stages[code][1], index_dir, results[code][1],
                         results[code][2]) for code in codes]
        _publish_set(config, site_dir, version, aliases, staged, build_id)
    finally:
        _release(site_dir, [s for pair in stages.values() for s in pair])
    out = []
    for item in staged:
        out.append(BuildResult(item.market, version, aliases, site_dir / item.market / version,
                               item.pages, item.seconds))
        if progress is not None:
            progress("published", item.market, item.seconds)
    return out
