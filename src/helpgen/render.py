"""Per-market Markdown: language variant selection, fallback notice, Jinja rendering.

Pure: takes a :class:`~helpgen.content.Corpus` and a market, returns data.

Templating is opt-in: only a file whose front matter says ``jinja: true`` is rendered,
in the sandbox of :mod:`helpgen.sandbox` (documented variables only, time and size
budgets, ``StrictUndefined`` so a misspelt variable fails the build); every other file
is published exactly as written. Inside a template, code spans and fenced blocks stay
literal. Every error names the article file and line.
"""

from __future__ import annotations

import html
import posixpath
import re
import hashlib
import traceback
import unicodedata
from dataclasses import dataclass
from typing import Any

import jinja2

from . import catalog, home, mdcode, sandbox
from .config import Config, Market
from .content import Article, Corpus
from .errors import Problem, raise_if
from .handoff import ticket_forms


@dataclass(frozen=True)
class RenderedPage:
    article: Article
    language: str  # language of the text actually served
    fallback: bool  # True when the market's language has no variant yet
    title: str
    summary: str
    keywords: tuple[str, ...]
    markdown: str  # body only, front matter removed
    source: str  # docs-relative file the text came from

    @property
    def src(self) -> str:
        return self.article.src

    @property
    def url(self) -> str:
        return self.article.url


@dataclass(frozen=True)
class RenderedMarket:
    market: Market
    version: str
    pages: dict[str, RenderedPage]  # by English src

    def articles(self) -> list[RenderedPage]:
        return [p for p in self.pages.values() if p.article.kind == "article"]

    def searchable(self) -> list[RenderedPage]:
        """What the search index holds: every article, and the pages at the root of the
        docs unless they say ``search: false``."""
        return [p for p in self.pages.values()
                if p.article.kind == "article" or p.article.searchable]


def make_environment() -> jinja2.Environment:
    """One sandboxed environment per build; templates are compiled once per file."""
    return sandbox.TemplateSandbox()


def _text(value: str) -> str:
    """Front-matter text as Markdown shows it literally (``<``, ``&`` escaped)."""
    return html.escape(value, quote=False)


def fallback_notice(config: Config, market: Market) -> str:
    """The note on an article shown in English, wholly in the market's language: the
    catalog's ``fallback.title`` and the language's ``notice`` (else ``fallback.body``)."""
    strings = config.catalog()
    lang = config.languages[market.language]
    title = strings.text("fallback.title", lang.code).replace('"', "&quot;")
    body = lang.notice or strings.text("fallback.body", lang.code)
    return f'!!! info "{_text(title)}"\n    {_text(body)}\n'


def _insert_after_h1(body: str, block: str) -> str:
    lines = body.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("# "):
            return "".join(lines[: i + 1]) + "\n" + block + "\n" + "".join(lines[i + 1:])
        if line.strip():
            break
    return block + "\n" + body


def _jinja_line(exc: BaseException, name: str) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == name:
            return frame.lineno
    return None


_UNDEFINED_RE = re.compile(r"'(?P<name>[^']+)' is undefined|has no attribute '(?P<attr>[^']+)'")


def _undefined_hint(message: str, shared: dict[str, Any], article_id: str
                    ) -> tuple[str | None, str]:
    """(the misspelt name, ``"; did you mean ..."`` or ``""``) of an undefined error."""
    from .rules import did_you_mean

    m = _UNDEFINED_RE.search(message)
    if m is None:
        return None, ""
    if m.group("name"):
        return m.group("name"), did_you_mean(m.group("name"),
                                             [*shared, "article", "link"], "'{}'")
    attr = m.group("attr")
    names = [f"market.{k}" for k in shared["market"]] + [f"article.{k}" for k in
                                                         ("id", "title", "summary")]
    hint = did_you_mean(attr, [n.split(".", 1)[1] for n in names])
    if hint:
        close = hint[len("; did you mean "):-1]
        hint = f"; did you mean {next(n for n in names if n.endswith('.' + close))!r}?"
    return attr, hint


def _name_the_object(message: str, body: str, ln: int | None, attr: str | None) -> str:
    """``'dict object' has no attribute 'x'`` as ``'market' has no attribute 'x'`` when
    the template line says which variable it was."""
    if not (ln and attr and message.startswith("'dict object' has no attribute")):
        return message
    lines = body.split("\n")
    m = re.search(rf"\b([A-Za-z_]\w*)\.{re.escape(attr)}\b",
                  lines[ln - 1] if ln <= len(lines) else "")
    return message.replace("'dict object'", f"'{m.group(1)}'", 1) if m else message


def _jinja_col(body: str, ln: int | None, word: str | None) -> int | None:
    """Column of ``word`` (else of the first ``{{``/``{%``) on line ``ln`` of ``body``."""
    if not ln:
        return None
    lines = body.split("\n")
    if ln > len(lines):
        return None
    text = lines[ln - 1]
    if word:
        m = re.search(rf"(?<![\w.]){re.escape(word)}\b|\.{re.escape(word)}\b", text)
        if m:
            return m.start() + 1 + (m.group(0).startswith("."))
    m = re.search(r"\{[{%]", text)
    return m.start() + 1 if m else None


def _link_function(current_src: str, by_id: dict[str, Article], market: Market):
    @sandbox.template_function
    def link(article_id: str) -> str:
        target = by_id.get(article_id)
        if target is None or not target.applies_to(market.code):
            raise jinja2.UndefinedError(
                f"link({article_id!r}): no article with that id on this site")
        start = posixpath.dirname(current_src) or "."
        return posixpath.relpath(target.src, start)

    return link


def render_market(
    corpus: Corpus,
    config: Config,
    market: Market,
    version: str,
    env: jinja2.Environment | None = None,
    templates: dict[str, jinja2.Template] | None = None,
    budget: sandbox.RenderBudget | None = None,
) -> RenderedMarket:
    """Render every article and page that applies to ``market``; raise all errors.

    ``templates`` is a cache keyed by source file, shared across markets so each file
    is compiled once per process; ``budget`` is the template time of the whole build
    (shared across markets, see :class:`helpgen.sandbox.RenderBudget`).
    """
    env = env or make_environment()
    budget = budget if budget is not None else sandbox.RenderBudget()
    templates = {} if templates is None else templates
    prefix = config.docs_dir_name
    problems: list[Problem] = []
    by_id = corpus.by_id
    included = [a for a in corpus.articles if a.applies_to(market.code)]
    lang = market.language
    strings = config.catalog()
    in_english = strings.text("listing.in_english", lang)
    # "Title (Englisch)", but "タイトル（英語）": full-width brackets bring their own space
    in_english = _text(in_english if unicodedata.east_asian_width(in_english[:1] or " ")
                       in ("F", "W") else " " + in_english)
    listing = []
    for a in included:
        if a.kind == "article":
            v = a.variants.get(lang)
            english_only = v is None and lang != "en"
            listing.append({"id": a.id, "title": _text(v.title if v else a.title),
                            "summary": _text(v.summary if v else a.summary),
                            "audience": a.audience,
                            "topic": a.topic, "src": a.src, "order": a.order,
                            "language": v.language if v else "en",
                            # " (Englisch)" after an article shown in English, else ""
                            "marker": in_english if english_only else ""})
    audiences = {k: {"title": v.text("title", lang), "description": v.text("description", lang)}
                 for k, v in config.audiences.items()}
    topics = {k: {"title": v.text("title", lang), "audience": v.audience}
              for k, v in config.topics.items()}
    shared: dict[str, Any] = {  # the same for every article of this market
        "market": market.as_context(),
        "version": version,
        "articles": listing,
        "sections": (sections := _catalog(listing, config, lang)),
        "home": home.context(listing, sections, config, market),
        "audiences": audiences,
        "topics": topics,
        "ticket_categories": {code: _text(c.text("title", lang))
                              for code, c in config.categories.items()},
        "ticket_forms": ticket_forms(config, market.code),
        "handoff_text": {k.split(".", 1)[1]: v for k, v in
                         strings.for_language(lang, "handoff.").items()},
    }
    available = ", ".join([f"market.{k}" for k in shared["market"]]
                          + [k for k in shared if k != "market"] + ["article", "link(id)"])
    problems.extend(home.featured_problems(
        config, [a.id for a in corpus.articles if a.kind == "article"]))
    pages: dict[str, RenderedPage] = {}
    for art in included:
        variant = art.variants.get(market.language)
        if variant is not None:
            body, body_line, source = variant.body, variant.body_line, variant.src
            title, summary = variant.title, variant.summary
            keywords = tuple(dict.fromkeys(variant.keywords + art.keywords))
            language, fallback = variant.language, False
            is_template = variant.jinja
        else:
            body, body_line, source = art.body, art.body_line, art.src
            title, summary, keywords = art.title, art.summary, art.keywords
            language = "en"
            fallback = market.language != "en" and art.kind == "article"
            is_template = art.jinja
        name = f"{prefix}/{source}"
        try:
            if not is_template or not _uses_jinja(body):
                text = body  # published exactly as written
            else:
                # fixed per text, so a template compiled once serves every market
                marker = f"\x00hg{hashlib.sha1(body.encode('utf-8')).hexdigest()[:12]}\x00"
                protected, codes = mdcode.protect_code(body, marker)
                fast = _substitute_market(protected, shared["market"])
                if fast is not None:
                    text = fast  # only {{ market.x }} values: the same text Jinja would give
                else:
                    template = templates.get(source)
                    if template is None:
                        template = _compile(env, protected, name)
                        templates[source] = template
                    context = dict(shared, article={"id": art.id, "title": _text(title),
                                                    "summary": _text(summary)},
                                   link=_link_function(art.src, by_id, market))
                    text = sandbox.render(template, context, budget, source)
                text = mdcode.restore_code(text, marker, codes)
        except jinja2.TemplateSyntaxError as exc:
            ln = exc.lineno or 1
            problems.append(Problem(f"template syntax error: {exc.message}", name,
                                    body_line + ln - 1, _jinja_col(body, ln, None)))
            continue
        except jinja2.UndefinedError as exc:
            ln = _jinja_line(exc, name)
            word, hint = _undefined_hint(exc.message or "", shared, art.id)
            message = _name_the_object(exc.message or "", body, ln, word)
            problems.append(Problem(
                f"{message}{hint} (available: {available})", name,
                body_line + ln - 1 if ln else body_line, _jinja_col(body, ln, word)))
            continue
        except jinja2.TemplateError as exc:
            ln = _jinja_line(getattr(exc, "cause", None) or exc, name)
            problems.append(Problem(f"template error: {exc}", name,
                                    body_line + ln - 1 if ln else body_line,
                                    _jinja_col(body, ln, None)))
            continue
        if fallback:
            text = _insert_after_h1(text, fallback_notice(config, market))
        pages[art.src] = RenderedPage(article=art, language=language, fallback=fallback,
                                      title=title, summary=summary, keywords=keywords,
                                      markdown=text, source=source)
    raise_if(problems)
    return RenderedMarket(market=market, version=version, pages=pages)


_MARKET_VALUE_RE = re.compile(r"\{\{\s*market\.([a-z_]+)\s*\}\}")


def _substitute_market(body: str, market: dict[str, Any]) -> str | None:
    """Fast path for templates whose only Jinja is ``{{ market.<key> }}`` of known keys
    (no blocks, comments, filters or other variables); None when Jinja must run."""
    if "{%" in body or "{#" in body:
        return None
    keys = _MARKET_VALUE_RE.findall(body)
    if body.count("{{") != len(keys) or any(k not in market for k in keys):
        return None
    return _MARKET_VALUE_RE.sub(lambda m: str(market[m.group(1)]), body)


def _catalog(listing: list[dict], config: Config, lang: str) -> list[dict]:
    """``sections`` for the home page: audiences -> topics -> articles (in navigation
    order, in the market's language), only the non-empty ones. A sub-topic is listed
    after its parent, titled with its path ("Billing › Invoices"). Grouped once per
    market so a home page over thousands of articles need not filter them per topic."""
    by_topic: dict[str, list[dict]] = {}
    for a in listing:
        by_topic.setdefault(a["topic"], []).append(a)
    out = []
    for aud_code, audience in config.audiences.items():
        topics = [{"code": t_code, "title": topic_path_title(config, t_code, lang),
                   "articles": sorted(by_topic[t_code], key=lambda a: (a["order"], a["title"]))}
                  for t_code, topic in config.topics.items()
                  if topic.audience == aud_code and by_topic.get(t_code)]
        if topics:
            out.append({"code": aud_code, "title": audience.text("title", lang),
                        "description": audience.text("description", lang), "topics": topics})
    return out


def topic_path_title(config: Config, code: str, lang: str, sep: str = " › ") -> str:
    """``Billing › Invoices``: the titles of a topic and its parents, in ``lang``."""
    parts = code.split("/")
    return sep.join(config.topics["/".join(parts[:i + 1])].text("title", lang)
                    for i in range(len(parts)))


def _uses_jinja(body: str) -> bool:
    """Whether ``body`` holds any Jinja delimiter ({{, {% or {#}."""
    return "{{" in body or "{%" in body or "{#" in body


def _compile(env: jinja2.Environment, body: str, name: str) -> jinja2.Template:
    code = env.compile(body, name=name, filename=name)
    return jinja2.Template.from_code(env, code, env.make_globals(None))


def _topic_entries(items: list[RenderedPage], max_items: int) -> list[dict]:
    """A topic's nav entries; past ``max_items`` articles, alphabetical groups of at most
    that many, labelled by their first letters ("A–D"), so that with Material's
    navigation.prune a page embeds one group instead of the whole topic."""
    if not max_items or len(items) <= max_items:
        return [{_text(p.title): p.src} for p in items]
    ordered = sorted(items, key=lambda p: (p.title.casefold(), p.src))
    groups = [ordered[i:i + max_items] for i in range(0, len(ordered), max_items)]
    entries = []
    for group in groups:
        first, last = group[0].title[:1].upper(), group[-1].title[:1].upper()
        label = first if first == last else f"{first}–{last}"
        entries.append({_text(label): [{_text(p.title): p.src} for p in group]})
    return entries


def navigation(rendered: RenderedMarket, config: Config) -> list[dict]:
    """MkDocs ``nav``: Home, then audience -> topic -> sub-topics and articles, then other
    pages. A help center with one audience starts at its topics."""
    nav: list[dict] = []
    pages = rendered.pages
    lang = rendered.market.language
    max_items = config.setting("build.nav_max_items")
    by_topic: dict[str, list[RenderedPage]] = {}
    for p in rendered.articles():
        by_topic.setdefault(p.article.topic, []).append(p)

    def topic_nav(code: str) -> list[dict]:
        items = sorted(by_topic.get(code, ()), key=lambda p: (p.article.order, p.title))
        entries = _topic_entries(items, max_items)
        for child in config.topics.values():
            if child.parent == code:
                sub = topic_nav(child.code)
                if sub:
                    entries.append({_text(child.text("title", lang)): sub})
        return entries

    if "index.md" in pages:
        nav.append({_text(pages["index.md"].title): "index.md"})
    for aud_code, audience in config.audiences.items():
        sections = []
        for topic_code, topic in config.topics.items():
            if topic.audience != aud_code or topic.parent is not None:
                continue
            entries = topic_nav(topic_code)
            if entries:
                sections.append({_text(topic.text("title", lang)): entries})
        if sections and len(config.audiences) == 1:
            nav.extend(sections)
        elif sections:
            nav.append({_text(audience.text("title", lang)): sections})
    for src, page in sorted(pages.items()):
        if page.article.kind == "page" and src != "index.md":
            nav.append({_text(page.title): src})
    return nav
