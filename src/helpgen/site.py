"""Site builds: one MkDocs build per market x version, published without loss.

This is the only module that imports MkDocs (the renderer stays swappable). A build
renders into a staging folder beside its destination and is moved into place only
when MkDocs finished without a warning, so a failed build never replaces a good
published one. ``versions.json`` is written in mike's format under a file lock.

Layout of a site folder::

    site/index.html                  lists the markets
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
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's end-of-life banner

from . import atomic, csp, urls  # noqa: E402
from . import content as content_mod  # noqa: E402
from . import render  # noqa: E402
from .config import VERSION_RE, Config, Market  # noqa: E402
from .config import load as load_config  # noqa: E402
from .errors import HelpgenError, Problem, raise_if  # noqa: E402

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


class ThemeCache:
    """What the market builds of one worker process share about the theme.

    MkDocs makes a fresh Jinja environment per build (and Material's search plugin one
    more per translated string), so every market would compile Material's templates
    again and list the theme's ~14,000 files again. :meth:`attach` wraps one build's
    ``theme.get_env`` so its environments use a bytecode cache keyed by template source
    and the theme's file listing made once per worker (the theme folders and
    mkdocs.yml are the same for every market of a build).
    """

    def __init__(self) -> None:
        import jinja2

        class _Memory(jinja2.BytecodeCache):
            def __init__(self) -> None:
                self.store: dict[str, bytes] = {}

            def load_bytecode(self, bucket: Any) -> None:
                code = self.store.get(bucket.key)
                if code is not None:
                    bucket.bytecode_from_string(code)

            def dump_bytecode(self, bucket: Any) -> None:
                self.store[bucket.key] = bucket.bytecode_to_string()

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
                key = (searchpath, tuple(extensions or ()),
                       getattr(filter_func, "__qualname__", None))
                if key not in listings:
                    listings[key] = list_templates(extensions, filter_func)
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
    """Validate content and render it for ``market`` (raises every problem).

    ``budget``: the template time shared by the markets of one build
    (:class:`helpgen.sandbox.RenderBudget`; a fresh one by default)."""
    market = market if isinstance(market, Market) else config.market(market)
    corpus = corpus or content_mod.load(config)
    rendered = render.render_market(corpus, config, market, version, templates=templates,
                                    budget=budget)
    return BuildState(config, market, version, rendered, render.navigation(rendered, config),
                      theme_cache=theme_cache)


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
    features = list(mkcfg["theme"]["features"] or [])
    if config.setting("build.navigation_prune") and "navigation.prune" not in features:
        features.append("navigation.prune")
    mkcfg["theme"]["features"] = features
    if not config.setting("build.allow_raw_html"):
        from .sanitize import SafeHtmlExtension

        exts = mkcfg["markdown_extensions"]
        if not any(isinstance(e, SafeHtmlExtension) for e in exts):
            exts.append(SafeHtmlExtension())
    mkcfg["site_name"] = f"{mkcfg['site_name']} · {market.name}"
    mkcfg["nav"] = state.nav
    extra = mkcfg["extra"]
    extra["version"] = {"provider": "mike", "default": config.default_alias, "alias": True}
    extra["alternate"] = [
        {"name": f"{m.name} ({m.language_name})", "link": f"../../{m.code}/",
         "lang": m.language}
        for m in config.markets.values()
    ]
    extra["helpgen"] = {"market": market.code, "version": state.version}
    return mkcfg


def hook_files(files: Any, mkcfg: Any) -> Any:
    state: BuildState = mkcfg[STATE_KEY]
    pages = state.rendered.pages
    for f in list(files):
        if f.src_uri.endswith(".md") and f.src_uri not in pages:
            files.remove(f)  # other market's article, translation file, or _meta
    return files


def hook_page_markdown(markdown: str, page: Any, mkcfg: Any) -> str:
    state: BuildState = mkcfg[STATE_KEY]
    rp = state.rendered.pages.get(page.file.src_uri)
    if rp is None:
        return markdown
    # front matter is text: escaped before the theme puts it into HTML unescaped
    page.meta["title"] = html.escape(rp.title, quote=False)
    page.update_date = review_date(rp, state.rendered)  # sitemap <lastmod>, not the build date
    if rp.summary:
        page.meta["description"] = html.escape(rp.summary, quote=False).replace('"', "&quot;")
    for key, value in rp.article.extra_meta.items():
        page.meta[key] = value
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
    state.theme_scripts |= csp.theme_script_hashes(output, page.content or "")
    return output


def hook_post_build(mkcfg: Any) -> None:
    state: BuildState = mkcfg[STATE_KEY]
    write_redirects(state.rendered, Path(mkcfg["site_dir"]))
    csp.write_manifest(Path(mkcfg["site_dir"]), state.theme_scripts)
    from . import deflect  # issue 5: the ticket page's static suggestions, in the staged build

    deflect.write_static(state.config, state.rendered, Path(mkcfg["site_dir"]))


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


def _write_redirect(site_dir: Path, from_url: str, to_url: str) -> None:
    """Write ``<site_dir>/<from_url>/index.html`` pointing at site-relative ``to_url``.

    Refuses (HelpgenError) a path that leaves ``site_dir`` or a page that exists
    already: content validation rules both out, this is the last defence."""
    here = from_url.rstrip("/")
    if urls.redirect_problem(here or "."):
        raise HelpgenError(f"refusing to write the redirect {from_url!r}: "
                           f"{urls.redirect_problem(here or '.')}")
    rel = posixpath.relpath(to_url or ".", here or ".")
    rel = "./" if rel == "." else (rel if rel.endswith("/") else rel + "/")
    out = urls.confine(site_dir, f"{here}/index.html")
    if out.exists():
        raise HelpgenError(f"refusing to write the redirect {from_url!r}: "
                           f"{out.relative_to(Path(os.path.realpath(site_dir)))} exists")
    out.parent.mkdir(parents=True, exist_ok=True)
    urls.confine(site_dir, f"{here}/index.html")  # no link appeared on the way
    out.write_text(redirect_html(rel), encoding="utf-8")


def write_redirects(rendered: render.RenderedMarket, site_dir: Path) -> None:
    """Permalinks ``a/<id>/`` and every old URL declared in ``redirects``."""
    for page in rendered.pages.values():
        art = page.article
        if art.kind != "article":
            continue
        _write_redirect(site_dir, f"a/{art.id}/", art.url)
        for old in art.redirects:
            _write_redirect(site_dir, old, art.url)


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
        line = None
        path = state.config.docs_dir / source
        with contextlib.suppress(OSError):
            for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if m.group("target").split("#")[0] in text:
                    line = i
                    break
        return Problem(f"broken link to {m.group('target')!r} on the {state.market.code} site "
                       "(link to an existing .md file, or write the name as plain text)",
                       f"{prefix}/{source}", line)
    return Problem(f"MkDocs: {msg} (building {state.market.code} {state.version})")


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
            problems = [_warning_problem(r, state) for r in log.records]
            if not problems:
                problems = [Problem(f"MkDocs: {exc}")]
            rel = state.config.mkdocs_file_name
            raise_if([Problem(p.msg, p.path or rel) for p in problems])
    raise_if([_warning_problem(r, state) for r in log.records])


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


@contextlib.contextmanager
def locked(market_dir: Path) -> Iterator[None]:
    """Exclusive lock around read-modify-write of a market's versions.json."""
    market_dir.mkdir(parents=True, exist_ok=True)
    with atomic.locked(market_dir, ".versions.lock"):
        yield


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


def _write_alias(market_dir: Path, alias: str, version: str) -> None:
    """``<alias>/`` mirrors every page of ``<version>/`` as a redirect to it."""
    version_dir = market_dir / version
    staging = Path(tempfile.mkdtemp(prefix=f".alias-{alias}-", dir=market_dir))
    for page in version_dir.rglob("*.html"):
        rel = page.relative_to(version_dir)
        out = staging / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        depth = len(rel.parts)  # alias/a/b/index.html -> ../../../<version>/a/b/
        target = "../" * depth + version + "/" + rel.as_posix()
        if target.endswith("index.html"):
            target = target[: -len("index.html")]
        out.write_text(redirect_html(target), encoding="utf-8")
    atomic.swap_into_place(staging, market_dir / alias)


def write_market_index(config: Config, market_dir: Path, versions: list[dict]) -> None:
    alias = config.default_alias
    target = None
    for v in versions:
        if alias in v.get("aliases", []):
            target = alias + "/"
    if target is None and versions:
        target = versions[0]["version"] + "/"
    if target:
        atomic.write_text(market_dir / "index.html", redirect_html(target))
    # Material's market/language selector fetches <link>/sitemap.xml to map the current
    # page; without a site_url there is nothing to map, so answer with an empty, valid
    # sitemap rather than a 404 (the selector then follows the link to this index).
    atomic.write_text(market_dir / "sitemap.xml", EMPTY_SITEMAP)


def write_site_index(config: Config, site_dir: Path) -> None:
    """``site/index.html``: every market that has a published version."""
    rows = []
    for m in config.markets.values():
        versions = read_versions(site_dir / m.code)
        if not versions:
            continue
        rows.append(
            f'<li><a href="{m.code}/" hreflang="{m.language}"><strong>{html.escape(m.name)}'
            f"</strong> <span>{html.escape(m.language_name)}</span></a> "
            f'<small>{html.escape(", ".join(v["version"] for v in versions))}</small></li>'
        )
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
        "<title>Help Center · choose your market</title>\n<style>"
        "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;"
        "color:#1a1a1a}ul{list-style:none;padding:0}li{margin:.4rem 0}a{color:#3f51b5;"
        "text-decoration:none}a:hover span,a:hover strong{text-decoration:underline}"
        "small{color:#666;margin-left:.5rem}</style></head>\n<body>\n"
        "<h1>Help Center</h1>\n<p>Choose your market:</p>\n<ul>\n" + "\n".join(rows) +
        "\n</ul>\n</body></html>\n"
    )
    site_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_text(site_dir / "index.html", page)


def publish(config: Config, site_dir: Path, market: str, version: str, staging: Path,
            aliases: Sequence[str]) -> Path:
    """Move a finished staging build into place and update versions.json and aliases."""
    market_dir = site_dir / market
    with locked(market_dir):
        versions = read_versions(market_dir)
        clash = [v["version"] for v in versions if v["version"] in aliases]
        if clash or version in {a for v in versions for a in v.get("aliases", [])}:
            raise HelpgenError(f"{market}: a name cannot be both a version and an alias "
                               f"({', '.join(clash) or version})", exit_code=2)
        atomic.swap_into_place(staging, market_dir / version)
        entry = next((v for v in versions if v["version"] == version), None)
        if entry is None:
            entry = {"version": version, "title": version, "aliases": []}
            versions.append(entry)
        for v in versions:
            if v is not entry:
                v["aliases"] = [a for a in v.get("aliases", []) if a not in aliases]
        entry["aliases"] = sorted(set(entry.get("aliases", [])) | set(aliases))
        for alias in aliases:
            _write_alias(market_dir, alias, version)
        write_versions(market_dir, versions)
        write_market_index(config, market_dir, versions)
    return market_dir / version


def remove(config: Config, site_dir: Path, market: str, name: str, force: bool = False,
           index_dir: Path | None = None) -> str:
    """Remove a published version (with its aliases and search index) or one alias.

    Returns what was removed. The index's ``aliases.json`` follows ``versions.json``.
    """
    from . import index  # issue 4

    config.market(market)
    market_dir = site_dir / market
    index_dir = Path(index_dir or config.root / config.setting("search.index_dir"))
    with locked(market_dir):
        removed = _remove_locked(config, market_dir, market, name, force)
        versions = read_versions(market_dir)
    if removed.startswith("version ") and (index_dir / market / name).is_dir():
        with index.locked(index_dir / market):
            shutil.rmtree(index_dir / market / name, ignore_errors=True)
    if (index_dir / market).is_dir():
        index.write_aliases(index_dir, market, versions)
    write_site_index(config, site_dir)
    return removed


def _remove_locked(config: Config, market_dir: Path, market: str, name: str,
                   force: bool) -> str:
    versions = read_versions(market_dir)
    for v in versions:
        if v["version"] == name:
            if config.default_alias in v.get("aliases", []) and not force:
                raise HelpgenError(
                    f"{market} {name} carries the default alias '{config.default_alias}' "
                    "the market index redirects to; publish another version with "
                    f"--alias {config.default_alias} first, or pass --force", exit_code=1)
            versions.remove(v)
            for alias in v.get("aliases", []):
                shutil.rmtree(market_dir / alias, ignore_errors=True)
            shutil.rmtree(market_dir / name, ignore_errors=True)
            write_versions(market_dir, versions)
            write_market_index(config, market_dir, versions)
            return f"version {market}/{name}"
        if name in v.get("aliases", []):
            v["aliases"].remove(name)
            shutil.rmtree(market_dir / name, ignore_errors=True)
            write_versions(market_dir, versions)
            write_market_index(config, market_dir, versions)
            return f"alias {market}/{name} (was {v['version']})"
    known = [v["version"] for v in versions] + [a for v in versions for a in v["aliases"]]
    raise HelpgenError(f"{market} has no version or alias {name!r}; published: "
                       f"{', '.join(known) or 'none'}", exit_code=2)


def _check_names(version: str, aliases: Sequence[str]) -> None:
    for name in (version, *aliases):
        if not VERSION_RE.match(name) or name in ("a", "index.html"):
            raise HelpgenError(f"invalid version/alias name {name!r}: use letters, digits, "
                               "'.', '_' and '-' (e.g. 2026.11, latest)", exit_code=2)
    if version in aliases:
        raise HelpgenError(f"alias {version!r} equals the version name", exit_code=2)


LEFTOVER_MAX_AGE = 6 * 3600  # seconds; no real build runs that long


def sweep_leftovers(folder: Path, max_age: float = LEFTOVER_MAX_AGE) -> list[Path]:
    """Delete hidden staging/old trees that a killed build left behind.

    Only folders older than ``max_age`` go, so a build running concurrently keeps its own.
    """
    removed = []
    now = time.time()
    for path in folder.glob(".*"):
        if path.is_dir() and path.name.startswith((".staging-", ".old-", ".alias-")):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > max_age:
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
    return removed


def build_staged(state: BuildState, site_dir: Path) -> Path:
    """Render one market into a fresh staging folder under ``site/<market>/``."""
    market_dir = site_dir / state.market.code
    market_dir.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(market_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{state.version}-", dir=market_dir))
    try:
        run_mkdocs(state, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def after_publish(config: Config, market: str, version: str, site_dir: Path,
                  staged_index: Path, index_dir: Path | None = None) -> None:
    """Steps that follow a published market build: move its staged search index in.

    ``staged_index`` was built by :func:`stage_index` while MkDocs rendered the site;
    it goes to ``<index_dir>/<market>/<version>/`` (default: the ``search.index_dir``
    setting under the project) under the index's per-market lock, and
    ``aliases.json`` beside it mirrors the aliases of ``versions.json``.
    """
    from . import index  # issue 4

    index_dir = Path(index_dir or config.root / config.setting("search.index_dir"))
    index.install(staged_index / market / version, index_dir / market, version)
    shutil.rmtree(staged_index, ignore_errors=True)
    index.write_aliases(index_dir, market, read_versions(site_dir / market))


def stage_index(config: Config, state: BuildState, index_dir: Path | None) -> Path:
    """Build the search index of ``state`` into a hidden folder under its market's index
    folder (same file system, so publishing it is a rename); returns that folder."""
    from . import index  # issue 4

    market_dir = Path(index_dir or config.root / config.setting("search.index_dir"))
    market_dir = market_dir / state.market.code
    market_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".staging-{state.version}-", dir=market_dir))
    try:
        index.build_market(config, state.rendered, stage)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return stage


def build(
    config: Config,
    market: str | None = None,
    version: str | None = None,
    aliases: Sequence[str] | None = None,
    site_dir: Path | None = None,
    corpus: content_mod.Corpus | None = None,
    index_dir: Path | None = None,
) -> BuildResult:
    """Build one market at one version and publish it (never deleting other versions)."""
    t0 = time.perf_counter()
    version = version or config.version
    aliases = tuple(aliases) if aliases is not None else (config.default_alias,)
    _check_names(version, aliases)
    site_dir = Path(site_dir or config.root / "site")
    state = prepare(config, market or config.default_market, version, corpus)
    # The search index needs only the rendered text, so a forked child writes it into a
    # staging folder while MkDocs renders the site on the other core; both are published
    # only when both succeeded.
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_stage_index_child, args=(config, state, index_dir, queue))
    child.start()
    staging = None
    try:
        staging = build_staged(state, site_dir)
        index_stage, problems = queue.get(timeout=3600)
    except BaseException:
        child.join(timeout=60)
        _discard_child_stage(queue)
        raise
    finally:
        child.join()
    if problems:
        shutil.rmtree(staging, ignore_errors=True)
        raise_if(problems)
    path = publish(config, site_dir, state.market.code, version, staging, aliases)
    after_publish(config, state.market.code, version, site_dir, Path(index_stage), index_dir)
    write_site_index(config, site_dir)
    return BuildResult(state.market.code, version, aliases, path, len(state.rendered.pages),
                       time.perf_counter() - t0)


def _stage_index_child(config: Config, state: BuildState, index_dir: Path | None,
                       queue: Any) -> None:
    """Forked by :func:`build`: stage the index, report (folder, problems)."""
    try:
        queue.put((str(stage_index(config, state, index_dir)), None))
    except HelpgenError as exc:
        queue.put((None, exc.problems))
    except BaseException as exc:  # reported, never swallowed
        queue.put((None, [Problem(f"internal error while indexing: {exc!r}")]))


def _discard_child_stage(queue: Any) -> None:
    """After a failed site build, remove the index the child staged (if it finished)."""
    with contextlib.suppress(Exception):
        folder, _ = queue.get(timeout=1)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def _worker(config: Config, corpus: content_mod.Corpus, markets: list[str], version: str,
            site_dir: Path, index_dir: Path | None, queue: Any) -> None:
    """Build each market's site and search index into staging folders (in parallel)."""
    from .sandbox import RenderBudget

    templates: dict = {}
    theme_cache = ThemeCache()
    budget = RenderBudget()
    for code in markets:
        t0 = time.perf_counter()
        staging = None
        try:
            state = prepare(config, code, version, corpus, templates, theme_cache, budget)
            staging = build_staged(state, site_dir)
            index_stage = stage_index(config, state, index_dir)
            queue.put((code, str(staging), len(state.rendered.pages),
                       time.perf_counter() - t0, None, str(index_stage)))
        except HelpgenError as exc:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            queue.put((code, None, 0, 0.0, exc.problems, None))
        except BaseException as exc:  # reported, never swallowed
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            queue.put((code, None, 0, 0.0, [Problem(f"internal error: {exc!r}")], None))


def build_all(
    config: Config,
    version: str | None = None,
    aliases: Sequence[str] | None = None,
    site_dir: Path | None = None,
    jobs: int | None = None,
    markets: Sequence[str] | None = None,
    index_dir: Path | None = None,
    progress: Callable[[str, str, float], None] | None = None,
) -> list[BuildResult]:
    """Build every market; publish all of them only if every one succeeded.

    ``progress(event, market, seconds)`` is called as each market finishes building
    (event ``built`` or ``failed``) and once it is published (``published``).

    Content is parsed once here; ``jobs`` forked workers (MkDocs imported once each)
    take a share of the markets and compile each article template once.
    """
    version = version or config.version
    aliases = tuple(aliases) if aliases is not None else (config.default_alias,)
    _check_names(version, aliases)
    site_dir = Path(site_dir or config.root / "site")
    codes = list(markets or config.markets)
    for code in codes:
        config.market(code)
    corpus = content_mod.load(config)
    jobs = jobs or config.setting("build.jobs") or os.cpu_count() or 1
    jobs = max(1, min(jobs, len(codes)))
    import mkdocs.commands.build  # noqa: F401  (imported once, shared by forked workers)
    import material  # noqa: F401

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    chunks = [codes[i::jobs] for i in range(jobs)]
    procs = [ctx.Process(target=_worker,
                         args=(config, corpus, chunk, version, site_dir, index_dir, queue))
             for chunk in chunks if chunk]
    for p in procs:
        p.start()
    results: dict[str, tuple] = {}
    try:
        while len(results) < len(codes):
            item = queue.get(timeout=3600)
            results[item[0]] = item
            if progress is not None:
                progress("failed" if item[4] else "built", item[0], item[3])
    finally:
        for p in procs:
            p.join()
    problems = [pr for item in results.values() if item[4] for pr in item[4]]
    if problems:
        for item in results.values():
            for folder in (item[1], item[5]):
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)
        raise_if(problems)
    out = []
    for code in codes:
        _, staging, pages, seconds, _, index_stage = results[code]
        path = publish(config, site_dir, code, version, Path(staging), aliases)
        after_publish(config, code, version, site_dir, Path(index_stage), index_dir)
        out.append(BuildResult(code, version, aliases, path, pages, seconds))
        if progress is not None:
            progress("published", code, seconds)
    write_site_index(config, site_dir)
    return out
