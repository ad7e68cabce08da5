"""The content rules helpgen judges itself, used by both ``helpgen check`` and builds.

One rule, one place: :func:`judge_market` renders a market and judges its pages;
:func:`helpgen.check.check` calls it for every market, and every build calls it through
:func:`helpgen.site.prepare` (template errors stop the build there; the other problems
are raised once MkDocs has run, so a preview can still show the site). A problem
therefore reads the same (file, line, column, wording) wherever it is found:

* Jinja that fails to render (:func:`helpgen.render.render_market`), with "did you mean";
* internal links to articles that do not exist, are left out of the market, or are not
  Markdown; ``#anchors`` that are not headings of the target page;
* local images and media that do not exist;
* remote images, media, frames, scripts and stylesheets (the site must work offline);
* footnote definitions (``[^1]: text``) are not links, and nothing inside code is.

A problem found on several markets is reported once, naming them (:func:`merge`).
What only MkDocs knows (its own warnings) stays build-only (see ``manual/editors.md``).
Pure apart from reading ``docs/``: no MkDocs import.
"""

from __future__ import annotations

import difflib
import html
import posixpath
import re
from dataclasses import dataclass
from typing import Iterable, Sequence
from urllib.parse import unquote

import jinja2
import markdown
from markdown.extensions import toc as _toc
import yaml

from . import content as content_mod
from . import mdcode, render, sandbox
from .config import Config, Market
from .errors import HelpgenError, Problem

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
_REMOTE_RE = re.compile(r"^(?://|https?:)", re.I)
_WHAT = {"img": "image", "source": "media", "video": "video", "audio": "audio",
         "script": "script", "iframe": "frame", "link": "stylesheet"}


def did_you_mean(word: str, candidates: Iterable[str], fmt: str = "{}") -> str:
    """``"; did you mean X?"`` for the closest of ``candidates`` (difflib), else ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {fmt.format(close[0])}?" if close else ""


def merge(per_market: dict[Problem, list[str]], codes: Sequence[str]) -> list[Problem]:
    """One problem per distinct problem, naming the markets it was found on (in
    configuration order) when more than one market was judged."""
    out = []
    for p, where in per_market.items():
        msg = p.msg
        if len(codes) > 1:
            where = [c for c in codes if c in where]
            msg += (" (on every market's site)" if len(where) == len(codes)
                    else f" (on the {', '.join(where)} site{'s' if len(where) > 1 else ''})")
        out.append(Problem(msg, p.path, p.line, p.col, p.severity))
    return out


@dataclass(frozen=True)
class Judgement:
    """What :func:`judge_market` found for one market."""

    rendered: render.RenderedMarket | None  # None when nothing rendered
    render_problems: tuple[Problem, ...]  # templates that failed (nothing to build)
    page_problems: tuple[Problem, ...]  # links, anchors, images, remote media

    @property
    def problems(self) -> list[Problem]:
        return [*self.render_problems, *self.page_problems]


def judge_market(
    config: Config,
    corpus: content_mod.Corpus,
    market: Market,
    version: str,
    env: jinja2.Environment | None = None,
    templates: dict | None = None,
    budget: sandbox.RenderBudget | None = None,
    anchors: "Anchors | None" = None,
    sources: dict | None = None,
    skip: frozenset[str] = frozenset(),
) -> Judgement:
    """Render ``market`` and judge every page.

    When some articles fail to render, the others are still judged (the rendered
    market then holds only those). ``skip``: sources whose front matter did not load;
    links to them are not judged (their own error says what is wrong).
    """
    env = env or render.make_environment()
    templates = {} if templates is None else templates
    anchors = anchors or Anchors(config)
    sources = {} if sources is None else sources
    failures: list[Problem] = []
    try:
        rendered = render.render_market(corpus, config, market, version, env=env,
                                        templates=templates, budget=budget)
    except HelpgenError as exc:
        failures.extend(exc.problems)
        failed = {p.path for p in exc.problems}
        prefix = config.docs_dir_name + "/"
        ok = [a for a in corpus.articles if prefix + a.src not in failed
              and not any(prefix + v.src in failed for v in a.variants.values())]
        try:
            rendered = render.render_market(
                content_mod.Corpus(tuple(ok), corpus.docs_dir), config, market, version,
                env=env, templates=templates, budget=budget)
        except HelpgenError:
            return Judgement(None, tuple(failures), ())
    all_srcs = corpus.by_src
    found: list[Problem] = []
    for page in rendered.pages.values():
        found.extend(page_problems(config, page, rendered, all_srcs, anchors, sources, skip))
    return Judgement(rendered, tuple(failures), tuple(found))


def targets(markdown_text: str) -> Iterable[tuple[str, str, int, int]]:
    """(kind, target, line, col) of each link/image/HTML reference outside code; kind is
    ``a``, ``img`` or the HTML tag. Footnote definitions are not links."""
    for i, line in enumerate(mdcode.blank_code(markdown_text).split("\n"), 1):
        if "](" not in line and "]:" not in line and "=" not in line:
            continue  # most lines: no link, no definition, no HTML attribute
        for m in _MD_LINK_RE.finditer(line):
            yield ("img" if m.group("bang") else "a"), m.group("target"), i, m.start("target") + 1
        m = _REF_DEF_RE.match(line)
        if m and not m.group("label").startswith("^"):
            yield "a", m.group("target"), i, m.start("target") + 1
        if "=" in line:
            for m in _HTML_ATTR_RE.finditer(line):  # entities decoded, as a browser does
                yield (m.group("tag").lower(), html.unescape(m.group("target")), i,
                       m.start("target") + 1)


def locate(config: Config, source: str, target: str, sources: dict, expected: int | None
           ) -> tuple[int | None, int | None]:
    """Line/column of ``target`` in the source file, outside code, nearest ``expected``
    (the line in the rendered text, which templates and notices may have moved)."""
    lines = sources.get(source)
    if lines is None:
        try:
            text = (config.docs_dir / source).read_text(encoding="utf-8")
        except OSError:
            text = ""
        lines = sources[source] = mdcode.blank_code(text).split("\n")
    for needle in (f"]({target}", f"]: {target}", f"]:{target}", f'"{target}"',
                   f"'{target}'", f"(<{target}"):
        best = None
        for i, text in enumerate(lines, 1):
            col = text.find(needle)
            if col >= 0 and (best is None or abs(i - (expected or 0))
                                             < abs(best[0] - (expected or 0))):
                best = (i, col + 1 + needle.index(target))
        if best:
            return best
    return expected, None


def page_problems(config: Config, page: render.RenderedPage, rendered: render.RenderedMarket,
                  all_srcs: dict, anchors: "Anchors", sources: dict,
                  skip: frozenset[str] = frozenset()) -> Iterable[Problem]:
    """Problems of one rendered page's links, anchors, images and remote media."""
    prefix = config.docs_dir_name
    here = posixpath.dirname(page.src)
    path = f"{prefix}/{page.source}"
    body_line = (page.article.variants[page.language].body_line
                 if page.source != page.src else page.article.body_line)
    for kind, target, line, _col in targets(page.markdown):
        if not target:
            continue

        def where(target: str = target, line: int = line) -> tuple[int, int | None]:
            return locate(config, page.source, target, sources, body_line + line - 1)

        if _REMOTE_RE.match(target):
            if kind != "a":
                yield Problem(f"remote {_WHAT[kind]} {target!r}: the site must work offline; "
                              f"save the file under {prefix}/assets/ and link it relatively",
                              path, *where())
            continue
        if _SCHEME_RE.match(target) or target.startswith("/"):
            continue  # mailto:, tel:, absolute site paths: not ours to resolve
        file_part, _, anchor = target.partition("#")
        file_part = unquote(file_part.split("?")[0])
        if kind != "a":  # a local image or media file
            resolved = posixpath.normpath(posixpath.join(here, file_part))
            if resolved.startswith("../") or not (config.docs_dir / resolved).is_file():
                yield Problem(f"image not found: {prefix}/{resolved}; put images under "
                              f"{prefix}/assets/ and link them relatively", path, *where())
            continue
        if not file_part:
            dest = page.src
        else:
            resolved = posixpath.normpath(posixpath.join(here, file_part))
            if resolved in skip:
                continue  # its front matter did not load: that error is reported there
            if not resolved.endswith(".md"):
                if (config.docs_dir / resolved).is_file():
                    continue  # a downloadable file shipped with the docs
                yield Problem(f"link {target!r} does not point to a Markdown file (link to "
                              "the article's .md file so the link follows it to every market "
                              "and version)", path, *where())
                continue
            if resolved not in all_srcs:
                hint = did_you_mean(resolved, all_srcs)
                if hint:
                    close = hint[len("; did you mean "):-1]
                    hint = f"; did you mean {posixpath.relpath(close, here or '.')!r}?"
                yield Problem(f"broken link {target!r}: no article {prefix}/{resolved}{hint}",
                              path, *where())
                continue
            if resolved not in rendered.pages:
                if all_srcs[resolved].applies_to(rendered.market.code):
                    continue  # it failed to render: that error is reported at the article
                yield Problem(f"link {target!r} points to an article published only in "
                              f"{', '.join(all_srcs[resolved].markets or ())}; wrap the link "
                              f"in {{% if market.code in [...] %}} or remove it", path, *where())
                continue
            dest = resolved
        if anchor:
            known = anchors.of(rendered.pages[dest])
            if anchor not in known:
                listed = sorted(known)
                yield Problem(f"anchor '#{anchor}' not found in {prefix}/"
                              f"{rendered.pages[dest].source}"
                              f"{did_you_mean(anchor, listed, '#{}')} (headings there: "
                              f"{', '.join(listed[:12]) or 'none'})", path, *where())


_PLAIN_HEADING_RE = re.compile(r"^#{1,6}[ \t]+([^{}*_`\[\]<>&\\!|~^=+]*?)[ \t#]*$")
_TEXT_CHANGING_EXTENSIONS = ("smarty", "smartsymbols", "emoji", "caret", "tilde", "mark",
                             "betterem", "slugs")


class Anchors:
    """Heading ids of rendered pages, computed with the site's Markdown extensions."""

    def __init__(self, config: Config) -> None:
        self._md = markdown_for(config)
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


def markdown_for(config: Config) -> markdown.Markdown:
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


