"""Per-market Markdown: language variant selection, fallback notice, Jinja rendering.

Pure: takes a :class:`~helpgen.content.Corpus` and a market, returns data. Jinja
runs with ``StrictUndefined`` so a misspelt variable fails the build, and every
error names the article file and line.
"""

from __future__ import annotations

import posixpath
import traceback
from dataclasses import dataclass
from typing import Any

import jinja2

from .config import Config, Market
from .content import Article, Corpus
from .errors import Problem, raise_if


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


def make_environment() -> jinja2.Environment:
    """One environment per build; templates are compiled once per file."""
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        extensions=[],
    )


def fallback_notice(config: Config, market: Market) -> str:
    lang = config.languages[market.language]
    text = (f'!!! info "Not yet available in {lang.name}"\n'
            f"    This article is not yet available in {lang.name}; you are reading the "
            f"English version.")
    if lang.notice:
        text += f"\n\n    {lang.notice}"
    return text + "\n"


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


def _link_function(current_src: str, by_id: dict[str, Article], market: Market):
    def link(article_id: str) -> str:
        target = by_id.get(article_id)
        if target is None or not target.applies_to(market.code):
            raise jinja2.UndefinedError(
                f"link({article_id!r}): no article with that id on the {market.code} site")
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
) -> RenderedMarket:
    """Render every article and page that applies to ``market``; raise all errors.

    ``templates`` is a cache keyed by source file, shared across markets so each file
    is compiled once per process.
    """
    env = env or make_environment()
    templates = {} if templates is None else templates
    prefix = config.docs_dir_name
    problems: list[Problem] = []
    by_id = corpus.by_id
    included = [a for a in corpus.articles if a.applies_to(market.code)]
    listing = [
        {"id": a.id, "title": a.title, "summary": a.summary, "audience": a.audience,
         "topic": a.topic, "src": a.src}
        for a in included if a.kind == "article"
    ]
    lang = market.language
    audiences = {k: {"title": v.text("title", lang), "description": v.text("description", lang)}
                 for k, v in config.audiences.items()}
    topics = {k: {"title": v.text("title", lang), "audience": v.audience}
              for k, v in config.topics.items()}
    pages: dict[str, RenderedPage] = {}
    for art in included:
        variant = art.variants.get(market.language)
        if variant is not None:
            body, body_line, source = variant.body, variant.body_line, variant.src
            title, summary = variant.title, variant.summary
            keywords = tuple(dict.fromkeys(variant.keywords + art.keywords))
            language, fallback = variant.language, False
        else:
            body, body_line, source = art.body, art.body_line, art.src
            title, summary, keywords = art.title, art.summary, art.keywords
            language = "en"
            fallback = market.language != "en" and art.kind == "article"
        name = f"{prefix}/{source}"
        context: dict[str, Any] = {
            "market": market.as_context(),
            "version": version,
            "article": {"id": art.id, "title": title, "summary": summary},
            "articles": listing,
            "audiences": audiences,
            "topics": topics,
            "ticket_categories": dict(config.ticket_categories),
            "link": _link_function(art.src, by_id, market),
        }
        try:
            template = templates.get(source)
            if template is None:
                template = _compile(env, body, name)
                templates[source] = template
            text = template.render(context)
        except jinja2.TemplateSyntaxError as exc:
            line = body_line + (exc.lineno or 1) - 1
            problems.append(Problem(f"template syntax error: {exc.message}", name, line))
            continue
        except jinja2.UndefinedError as exc:
            ln = _jinja_line(exc, name)
            line = body_line + ln - 1 if ln else body_line
            problems.append(Problem(
                f"{exc.message} on the {market.code} site (available: market.code, market.name, "
                f"market.language, market.locale, market.signup_url, version, article, "
                f"articles, audiences, topics, ticket_categories, link(id))", name, line))
            continue
        except jinja2.TemplateError as exc:
            ln = _jinja_line(exc, name)
            problems.append(Problem(f"template error: {exc}", name,
                                    body_line + ln - 1 if ln else body_line))
            continue
        if fallback:
            text = _insert_after_h1(text, fallback_notice(config, market))
        pages[art.src] = RenderedPage(article=art, language=language, fallback=fallback,
                                      title=title, summary=summary, keywords=keywords,
                                      markdown=text, source=source)
    raise_if(problems)
    return RenderedMarket(market=market, version=version, pages=pages)


def _compile(env: jinja2.Environment, body: str, name: str) -> jinja2.Template:
    code = env.compile(body, name=name, filename=name)
    return jinja2.Template.from_code(env, code, env.make_globals(None))


def navigation(rendered: RenderedMarket, config: Config) -> list[dict]:
    """MkDocs ``nav``: Home, then audience -> topic -> articles, then other pages."""
    nav: list[dict] = []
    pages = rendered.pages
    lang = rendered.market.language
    if "index.md" in pages:
        nav.append({pages["index.md"].title: "index.md"})
    for aud_code, audience in config.audiences.items():
        sections = []
        for topic_code, topic in config.topics.items():
            if topic.audience != aud_code:
                continue
            items = sorted(
                (p for p in rendered.articles()
                 if p.article.audience == aud_code and p.article.topic == topic_code),
                key=lambda p: (p.article.order, p.title),
            )
            if items:
                sections.append({topic.text("title", lang): [{p.title: p.src} for p in items]})
        if sections:
            nav.append({audience.text("title", lang): sections})
    for src, page in sorted(pages.items()):
        if page.article.kind == "page" and src != "index.md":
            nav.append({page.title: src})
    return nav
