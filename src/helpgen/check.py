"""``helpgen check``: validate every article for every market without building a site.

One pass reports every problem, each at its file, line and column:

* front matter against the schema, duplicate ids, unknown markets/audiences/topics
  (:func:`helpgen.content.load`);
* Jinja that fails to render for any market (:func:`helpgen.render.render_market`);
* per market: internal links and ``#anchors`` that do not resolve (a link to an article
  left out of a market is an error on that market's site), local images that do not
  exist, remote images, scripts, frames and stylesheets (the site must work offline);
* warnings: articles whose ``last_reviewed`` is older than ``check.max_review_age_days``
  and summaries still holding the ``helpgen new`` placeholder.

Pure apart from reading ``docs/``: no MkDocs import, no printing. ``cli.py`` formats the
:class:`Report` as text, GitHub Actions annotations or JSON (:func:`format_report`).
"""

from __future__ import annotations

import datetime as _dt
import json
import multiprocessing
import os
import posixpath
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import unquote

import markdown
from markdown.extensions import toc as _toc
import yaml

from . import content as content_mod
from . import mdcode, render, sandbox
from .config import Config
from .errors import HelpgenError, Problem

ERROR = "error"
WARNING = "warning"
FORMATS = ("text", "github", "json")
PLACEHOLDER_SUMMARY = "TODO: one sentence shown in search results and suggestions."
PLACEHOLDER_BODY = "Start with the answer in one or two sentences."  # helpgen new's body

_MD_LINK_RE = re.compile(
    r"(?P<bang>!?)\[(?P<text>(?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?(?P<target>[^()\s<>]*(?:\([^()\s]*\)"
    r"[^()\s<>]*)*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_REF_DEF_RE = re.compile(r"^ {0,3}\[(?P<label>[^\]\n]+)\]:[ \t]*<?(?P<target>\S+?)>?(?:[ \t]+.*)?$",
                         re.M)
_HTML_ATTR_RE = re.compile(
    r"<(?P<tag>img|script|iframe|link|source|video|audio|a)\b[^>]*?\s(?P<attr>src|href)\s*=\s*"
    r"(?P<q>[\"'])(?P<target>[^\"']*)(?P=q)", re.I)
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Finding:
    """One problem (``error`` fails the check, ``warning`` does not)."""

    severity: str
    msg: str
    path: str | None = None
    line: int | None = None
    col: int | None = None

    @classmethod
    def from_problem(cls, p: Problem, severity: str = ERROR) -> "Finding":
        return cls(severity, p.msg, p.path, p.line, p.col)

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path + "".join(f":{n}" for n in _position(self.line, self.col)) + ": "
        return f"{where}{self.severity}: {self.msg}"

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "path": self.path, "line": self.line,
                "col": self.col, "message": self.msg}


def _position(line: int | None, col: int | None) -> tuple[int, ...]:
    if not line:
        return ()
    return (line, col) if col else (line,)


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    articles: int  # articles and pages checked (0 when the front matter did not load)
    markets: tuple[str, ...]
    seconds: float

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]


# --------------------------------------------------------------------------- checking

def check(
    config: Config,
    paths: Sequence[Path | str] = (),
    markets: Sequence[str] | None = None,
    today: _dt.date | None = None,
    jobs: int | None = None,
) -> Report:
    """Check every article for ``markets`` (default: all); report only under ``paths``.

    Large corpora are checked by ``jobs`` processes (default: ``build.jobs``, 0 = one per
    core); a few hundred pages are faster in this process alone.
    """
    t0 = time.perf_counter()
    codes = tuple(markets or config.markets)
    for code in codes:
        config.market(code)
    wanted = _wanted(config, paths)
    today = today or _dt.date.today()
    findings: list[Finding] = []
    articles = 0
    try:
        corpus = content_mod.load(config, drafts=True)  # drafts are checked too
    except HelpgenError as exc:
        findings.extend(Finding.from_problem(p) for p in exc.problems)
    else:
        articles = len(corpus.articles)
        findings.extend(_draft_findings(config, corpus))
        findings.extend(_review_findings(config, corpus, today))
        findings.extend(_template_findings(config, corpus))
        # forking pays off only when there is real work to share
        work = len(corpus.articles) * len(codes)
        jobs = (jobs or config.setting("build.jobs") or os.cpu_count() or 1) if work > 2000 else 1
        findings.extend(_market_findings(config, corpus, codes, jobs))
    findings = _only_under(findings, wanted)
    order = sorted(set(findings), key=lambda f: (f.path or "", f.line or 0, f.col or 0,
                                                 f.severity, f.msg))
    return Report(tuple(order), articles, codes, time.perf_counter() - t0)


def _wanted(config: Config, paths: Sequence[Path | str]) -> list[str]:
    """``paths`` as project-relative posix paths (the form findings use)."""
    wanted = []
    for p in paths:
        p = Path(p)
        p = (p if p.is_absolute() else Path.cwd() / p).resolve()
        if not p.exists():
            raise HelpgenError(f"{p}: no such file or folder to check", exit_code=2)
        wanted.append(p.relative_to(config.root).as_posix() if p.is_relative_to(config.root)
                      else str(p))
    return wanted


def _only_under(findings: list[Finding], wanted: list[str]) -> list[Finding]:
    """Keep findings in ``wanted`` files or folders; say how many were left out."""
    if not wanted:
        return findings

    def inside(path: str | None) -> bool:
        return path is not None and any(w in (".", "") or path == w or path.startswith(w + "/")
                                        for w in wanted)

    kept = [f for f in findings if inside(f.path)]
    others = [f for f in findings if not inside(f.path) and f.severity == ERROR]
    if others:
        kept.append(Finding(ERROR, f"{len(others)} error(s) in other files also block the "
                                   "build; run helpgen check without paths to see them"))
    return kept


def _line_of_key(path: Path, key: str) -> tuple[int | None, int | None]:
    """Line/column of ``key:`` in a file's front matter (value column)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None, None
    for i, text in enumerate(lines[1:], 2):
        if text.strip() == "---":
            break
        if text.startswith(key + ":"):
            value = text[len(key) + 1:]
            return i, len(key) + 2 + (len(value) - len(value.lstrip()))
    return None, None


def _review_findings(config: Config, corpus: content_mod.Corpus, today: _dt.date
                     ) -> Iterable[Finding]:
    max_age = config.setting("check.max_review_age_days")
    prefix = config.docs_dir_name
    for art in corpus.articles:
        dated = [(art.src, art.last_reviewed)] + [(v.src, v.last_reviewed)
                                                  for v in art.variants.values()]
        for src, reviewed in dated:
            if reviewed is None or max_age <= 0:
                continue
            age = (today - reviewed).days
            if age > max_age:
                line, col = _line_of_key(config.docs_dir / src, "last_reviewed")
                yield Finding(WARNING, f"last reviewed {reviewed.isoformat()}, {age} days ago "
                              f"(check.max_review_age_days is {max_age}): check the facts, "
                              "then set last_reviewed to today", f"{prefix}/{src}", line, col)
        if art.summary == PLACEHOLDER_SUMMARY:
            line, col = _line_of_key(config.docs_dir / art.src, "summary")
            yield Finding(WARNING, "summary is still the placeholder from helpgen new; write "
                          "the one sentence search results show", f"{prefix}/{art.src}", line, col)


_LINK_CALL_RE = re.compile(r"""\blink\(\s*["']([a-z0-9-]+)["']\s*\)""")


def _draft_findings(config: Config, corpus: content_mod.Corpus) -> Iterable[Finding]:
    """Drafts are published only by ``preview`` and ``build --drafts``: a published page
    that links to one (by its .md file or ``link(id)``) would link to a missing page.
    Any article still holding the body ``helpgen new`` wrote gets a warning."""
    prefix = config.docs_dir_name
    drafts = {a.src: a for a in corpus.articles if a.draft}
    draft_ids = {a.id: a.src for a in drafts.values()}
    for art in corpus.articles:
        texts = [(art.src, art.body, art.body_line)] + [
            (v.src, v.body, v.body_line) for v in art.variants.values()]
        for src, body, body_line in texts:
            at = body.find(PLACEHOLDER_BODY)
            if at >= 0:
                yield Finding(WARNING, "the body is still the placeholder text from helpgen "
                              "new; write the answer before publishing", f"{prefix}/{src}",
                              body_line + body.count("\n", 0, at), None)
            if art.draft or not drafts:
                continue
            here = posixpath.dirname(src)
            for kind, target, line, col in _targets(body):
                file_part = unquote(target.partition("#")[0].split("?")[0])
                if kind != "a" or not file_part or _SCHEME_RE.match(target):
                    continue
                resolved = posixpath.normpath(posixpath.join(here, file_part))
                if resolved in drafts:
                    yield Finding(ERROR, f"link {target!r} points to {prefix}/{resolved}, a "
                                  "draft that is not published; publish it (remove 'draft: "
                                  "true') or remove the link", f"{prefix}/{src}",
                                  body_line + line - 1, col)
            for m in _LINK_CALL_RE.finditer(body):
                if m.group(1) in draft_ids:
                    yield Finding(ERROR, f"{m.group(0)} points to {prefix}/"
                                  f"{draft_ids[m.group(1)]}, a draft that is not published; "
                                  "publish it (remove 'draft: true') or remove the link",
                                  f"{prefix}/{src}", body_line + body.count("\n", 0, m.start()),
                                  None)


def _market_findings(config: Config, corpus: content_mod.Corpus, codes: Sequence[str],
                     jobs: int = 1) -> list[Finding]:
    """Render every market; check links, anchors and images of each rendered page.

    With ``jobs`` > 1 the markets are shared among forked worker processes.
    """
    jobs = max(1, min(jobs, len(codes)))
    if jobs == 1:
        plain, per_market = _check_markets(config, corpus, list(codes))
    else:
        ctx = multiprocessing.get_context("fork")  # forked: config and corpus are not copied
        queue = ctx.Queue()
        procs = [ctx.Process(target=_check_worker,
                             args=(config, corpus, list(codes[i::jobs]), queue))
                 for i in range(jobs)]
        for proc in procs:
            proc.start()
        try:
            parts = [queue.get(timeout=3600) for _ in procs]
        finally:
            for proc in procs:
                proc.join()
        for part in parts:
            if isinstance(part, BaseException):
                raise part
        plain, per_market = [], {}
        for part_plain, part_markets in parts:
            plain.extend(part_plain)
            for key, where in part_markets.items():
                per_market.setdefault(key, []).extend(where)
    out = plain
    for (severity, msg, path, line, col), where in per_market.items():
        if len(codes) > 1:
            where = [c for c in codes if c in where]  # configuration order
            msg += (" (on every market's site)" if len(where) == len(codes)
                    else f" (on the {', '.join(where)} site{'s' if len(where) > 1 else ''})")
        out.append(Finding(severity, msg, path, line, col))
    return out


def _check_worker(config: Config, corpus: content_mod.Corpus, codes: list[str],
                  queue: Any) -> None:
    try:
        queue.put(_check_markets(config, corpus, codes))
    except BaseException as exc:  # reported by the parent, never swallowed
        queue.put(RuntimeError(f"checking {', '.join(codes)} failed: {exc!r}"))


def _check_markets(config: Config, corpus: content_mod.Corpus, codes: list[str]
                   ) -> tuple[list[Finding], dict[tuple, list[str]]]:
    """Findings of ``codes``: (render errors, {(severity, msg, path, line, col): markets})."""
    env = render.make_environment()
    templates: dict = {}
    budget = sandbox.RenderBudget()
    anchors = _Anchors(config)
    sources: dict[str, tuple] = {}  # (file, link target) -> (line, col) in the file
    per_market: dict[tuple, list[str]] = {}
    plain: list[Finding] = []
    all_srcs = corpus.by_src
    for code in codes:
        market = config.markets[code]
        try:
            rendered = render.render_market(corpus, config, market, config.version, env=env,
                                            templates=templates, budget=budget)
        except HelpgenError as exc:
            plain.extend(Finding.from_problem(p) for p in exc.problems)
            # check the links of every article that did render
            failed = {p.path for p in exc.problems}
            prefix = config.docs_dir_name + "/"
            ok = [a for a in corpus.articles if prefix + a.src not in failed
                  and not any(prefix + v.src in failed for v in a.variants.values())]
            try:
                rendered = render.render_market(
                    content_mod.Corpus(tuple(ok), corpus.docs_dir), config, market,
                    config.version, env=env, templates=templates, budget=budget)
            except HelpgenError:
                continue
        for page in rendered.pages.values():
            for key in _page_findings(config, page, rendered, all_srcs, anchors, sources):
                per_market.setdefault(key, []).append(code)
    return plain, per_market


def _strip_code(markdown_text: str) -> list[str]:
    """Lines of ``markdown_text`` with fenced blocks and inline code blanked (same count)."""
    return mdcode.blank_code(markdown_text).split("\n")


_JINJA_RE = re.compile(r"\{\{|\{%")


def _template_findings(config: Config, corpus: content_mod.Corpus) -> Iterable[Finding]:
    """Warnings for files that hold Jinja syntax outside code but are not templates:
    they are published as written, which is rarely what the author meant."""
    prefix = config.docs_dir_name
    for art in corpus.articles:
        texts = [(art.src, art.body, art.body_line, art.jinja)]
        texts += [(v.src, v.body, v.body_line, v.jinja) for v in art.variants.values()]
        for src, body, body_line, is_template in texts:
            if is_template or ("{{" not in body and "{%" not in body):
                continue
            for i, line in enumerate(_strip_code(body)):
                m = _JINJA_RE.search(line)
                if m:
                    yield Finding(WARNING, f"{m.group(0)!r} outside code in a file that is not "
                                  "a template: it is published exactly as written; add "
                                  "'jinja: true' to the front matter to render it, or put "
                                  "it in `code`", f"{prefix}/{src}", body_line + i,
                                  m.start() + 1)
                    break


def _targets(markdown_text: str) -> Iterable[tuple[str, str, int, int]]:
    """(kind, target, line, col) for each link/image/HTML reference; kind is the tag."""
    for i, line in enumerate(_strip_code(markdown_text), 1):
        if "](" not in line and "]:" not in line and "=" not in line:
            continue  # most lines: no link, no definition, no HTML attribute
        for m in _MD_LINK_RE.finditer(line):
            yield ("img" if m.group("bang") else "a"), m.group("target"), i, m.start("target") + 1
        m = _REF_DEF_RE.match(line)
        if m:
            yield "a", m.group("target"), i, m.start("target") + 1
        if "=" in line:
            for m in _HTML_ATTR_RE.finditer(line):
                yield m.group("tag").lower(), m.group("target"), i, m.start("target") + 1


def _locate(config: Config, source: str, target: str, sources: dict[str, tuple],
            fallback: int) -> tuple[int, int | None]:
    """Line/column of ``target`` in the source file (the rendered text may have moved)."""
    key = f"{source}\0{target}"
    if key in sources:
        return sources[key] or (fallback, None)
    try:
        lines = (config.docs_dir / source).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for needle in (f"]({target}", f'"{target}"', f"'{target}'", target):
        for i, text in enumerate(lines, 1):
            col = text.find(needle)
            if col >= 0:
                sources[key] = (i, col + 1 + (len(needle) - len(target) if needle != target
                                              else 0))
                return sources[key]
    sources[key] = ()
    return fallback, None


def _page_findings(config: Config, page: render.RenderedPage, rendered: render.RenderedMarket,
                   all_srcs: dict, anchors: "_Anchors", sources: dict[str, tuple]
                   ) -> Iterable[tuple]:
    prefix = config.docs_dir_name
    here = posixpath.dirname(page.src)
    path = f"{prefix}/{page.source}"
    body_line = (page.article.variants[page.language].body_line
                 if page.source != page.src else page.article.body_line)
    for kind, target, line, _col in _targets(page.markdown):
        if not target:
            continue
        def where(target: str = target, line: int = line) -> tuple[int, int | None]:
            return _locate(config, page.source, target, sources, body_line + line - 1)

        remote = target.startswith("//") or bool(re.match(r"^https?:", target, re.I))
        if remote:
            if kind != "a":
                what = {"img": "image", "source": "media", "video": "video", "audio": "audio",
                        "script": "script", "iframe": "frame", "link": "stylesheet"}[kind]
                yield (ERROR, f"remote {what} {target!r}: the site must work offline; save the "
                       f"file under {prefix}/ and link it relatively", path, *where())
            continue
        if _SCHEME_RE.match(target) or target.startswith("/"):
            continue  # mailto:, tel:, absolute site paths: not ours to resolve
        file_part, _, anchor = target.partition("#")
        file_part = unquote(file_part.split("?")[0])
        if kind != "a":  # a local image or media file
            resolved = posixpath.normpath(posixpath.join(here, file_part))
            if resolved.startswith("../") or not (config.docs_dir / resolved).is_file():
                yield (ERROR, f"image {target!r} not found (looked for {prefix}/{resolved})",
                       path, *where())
            continue
        if not file_part:
            dest = page.src
        else:
            resolved = posixpath.normpath(posixpath.join(here, file_part))
            if not resolved.endswith(".md"):
                if (config.docs_dir / resolved).is_file():
                    continue  # a downloadable file shipped with the docs
                yield (ERROR, f"link {target!r} does not point to a Markdown file (link to the "
                       "article's .md file so the link follows it to every market and version)",
                       path, *where())
                continue
            if resolved not in all_srcs:
                yield (ERROR, f"broken link {target!r}: no article {prefix}/{resolved}", path,
                       *where())
                continue
            if resolved not in rendered.pages:
                if all_srcs[resolved].applies_to(rendered.market.code):
                    continue  # it failed to render: that error is reported at the article
                yield (ERROR, f"link {target!r} points to an article published only in "
                       f"{', '.join(all_srcs[resolved].markets or ())}; wrap the link in "
                       f"{{% if market.code in [...] %}} or remove it", path, *where())
                continue
            dest = resolved
        if anchor and anchor not in anchors.of(rendered.pages[dest]):
            known = sorted(anchors.of(rendered.pages[dest]))
            yield (ERROR, f"anchor '#{anchor}' not found in {prefix}/{rendered.pages[dest].source}"
                   f" (headings there: {', '.join(known[:12]) or 'none'})", path, *where())


_PLAIN_HEADING_RE = re.compile(r"^#{1,6}[ \t]+([^{}*_`\[\]<>&\\!|~^=+]*?)[ \t#]*$")
_TEXT_CHANGING_EXTENSIONS = ("smarty", "smartsymbols", "emoji", "caret", "tilde", "mark",
                             "betterem", "slugs")


class _Anchors:
    """Heading ids of rendered pages, computed with the site's Markdown extensions."""

    def __init__(self, config: Config) -> None:
        self._md = _markdown(config)
        self._cache: dict[str, frozenset[str]] = {}
        # Plain headings ("## Returns and refunds") get the toc extension's default ids
        # without running the whole converter, unless the site changes how ids or
        # heading text come out (a custom slugify, typographic extensions).
        toc = self._md.treeprocessors["toc"] if "toc" in self._md.treeprocessors else None
        custom = toc is None or toc.slugify is not _toc.slugify or toc.sep != "-"
        exts = {type(e).__module__.rsplit(".", 1)[-1] for e in self._md.registeredExtensions}
        self._fast = not custom and not exts & set(_TEXT_CHANGING_EXTENSIONS)

    def of(self, page: render.RenderedPage) -> frozenset[str]:
        # Only lines that can carry an id matter; converting just those keeps the ids
        # (and the order that de-duplicates them) while skipping the prose.
        key = "\n\n".join(line for line in page.markdown.split("\n")
                           if line[:1] == "#" or "id=" in line or "{#" in line or "{:" in line)
        ids = self._cache.get(key)
        if ids is None:
            ids = self._plain(key) if self._fast else None
            if ids is None:
                ids = self._convert(key)
            self._cache[key] = ids
        return ids

    def _convert(self, key: str) -> frozenset[str]:
        self._md.reset()
        html = self._md.convert(key)
        return frozenset(re.findall(r"\bid=\"([^\"]+)\"", html))

    @staticmethod
    def _plain(key: str) -> frozenset[str] | None:
        """Ids of headings that are plain text, as the toc extension makes them; None as
        soon as one heading needs the real converter."""
        used: set[str] = set()
        for line in key.split("\n\n") if key else ():
            m = _PLAIN_HEADING_RE.match(line)
            if m is None:
                return None
            _toc.unique(_toc.slugify(m.group(1).strip(), "-"), used)
        return frozenset(used)


class _TolerantLoader(yaml.SafeLoader):
    """Reads mkdocs.yml, turning ``!!python/name:`` and ``!ENV`` tags into None."""


_TolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def _markdown(config: Config) -> markdown.Markdown:
    """A Markdown converter with mkdocs.yml's ``markdown_extensions`` (as MkDocs uses them)."""
    exts: list[str] = []
    configs: dict[str, dict] = {}
    try:
        data = yaml.load(config.mkdocs_file.read_text(encoding="utf-8"), Loader=_TolerantLoader)
    except (OSError, yaml.YAMLError):
        data = {}
    for item in (data or {}).get("markdown_extensions") or []:
        if isinstance(item, str):
            exts.append(item)
        elif isinstance(item, dict):
            for name, opts in item.items():
                exts.append(name)
                if isinstance(opts, dict):
                    configs[name] = {k: v for k, v in opts.items() if v is not None}
    if "toc" not in exts:
        exts.append("toc")
    try:
        return markdown.Markdown(extensions=exts, extension_configs=configs)
    except Exception:  # an extension we cannot load here: headings are what matter
        return markdown.Markdown(extensions=["toc", "attr_list"])


# --------------------------------------------------------------------------- output

def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_line(f: Finding) -> str:
    """``::error file=docs/x.md,line=3,col=5,title=helpgen check::message``."""
    props = []
    if f.path:
        props.append(f"file={_gh_escape(f.path, True)}")
    if f.line:
        props.append(f"line={f.line}")
    if f.col:
        props.append(f"col={f.col}")
    props.append("title=helpgen check")
    return f"::{f.severity} {','.join(props)}::{_gh_escape(f.msg)}"


def summary_line(report: Report) -> str:
    return (f"helpgen check: {report.articles} articles in {len(report.markets)} market(s): "
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in "
            f"{report.seconds:.1f}s")


def format_report(report: Report, fmt: str) -> str:
    """The report as ``text`` lines, GitHub ``github`` annotations or a ``json`` document."""
    if fmt == "json":
        return json.dumps({
            "ok": not report.errors,
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "articles": report.articles,
            "markets": list(report.markets),
            "seconds": round(report.seconds, 3),
            "problems": [f.as_dict() for f in report.findings],
        }, indent=2, ensure_ascii=False)
    if fmt == "github":
        return "\n".join(github_line(f) for f in report.findings)
    if fmt == "text":
        return "\n".join(str(f) for f in report.findings)
    raise HelpgenError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}", exit_code=2)
