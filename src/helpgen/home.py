"""The help-center home page of a market: a prominent search box, the editor's
featured articles (``home.featured``) and one card per topic (its title, article count
and first articles), grouped by audience.

Pure: takes the market's article listing and the configuration, returns data and
Markdown. Home page sources use it as ``{{ home.page }}`` (or loop over
``home.featured`` and ``home.audiences`` themselves); the order is the navigation's, so
two builds of the same sources give the same page.
"""

from __future__ import annotations

import difflib
import html
import re
from typing import Any, Iterable, Mapping

from . import catalog
from .config import CONFIG_FILE, FEATURED_ALL, Config, Featured, Market
from .errors import Problem

_MD_SPECIAL_RE = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def _md(text: str) -> str:
    """Listing text (already HTML-escaped) with Markdown's own characters escaped."""
    return _MD_SPECIAL_RE.sub(r"\\\1", text)


def featured_ids(config: Config, market: str) -> tuple[Featured, ...]:
    """The ``home.featured`` entries that apply to ``market``."""
    given: Mapping[str, tuple[Featured, ...]] = config.setting("home.featured")
    return given.get(market, given.get(FEATURED_ALL, ()))


def featured_problems(config: Config, known_ids: Iterable[str]) -> list[Problem]:
    """Every ``home.featured`` id that no article has, at its line in helpgen.yml."""
    known = sorted(set(known_ids))
    problems = []
    for entries in config.setting("home.featured").values():
        for f in entries:
            if f.id in set(known):
                continue
            close = difflib.get_close_matches(f.id, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            shown = ", ".join(known[:40]) + (" …" if len(known) > 40 else "")
            problems.append(Problem(f"home.featured: no article has the id {f.id!r}{hint}; "
                                    f"allowed: {shown}", CONFIG_FILE, f.line, f.col))
    return problems


def context(listing: list[dict], sections: list[dict], config: Config,
            market: Market) -> dict[str, Any]:
    """The ``home`` template variable: ``featured`` (articles), ``audiences`` (with
    ``topics``: title, ``count``, ``top`` articles), the interface ``text`` and ``page``,
    the whole home page below its heading as Markdown."""
    lang = market.language
    by_id = {a["id"]: a for a in listing}
    featured = [by_id[f.id] for f in featured_ids(config, market.code) if f.id in by_id]
    top = config.setting("home.top_articles")
    audiences = [
        {"code": aud["code"], "title": aud["title"], "description": aud["description"],
         "topics": [{"code": t["code"], "title": t["title"], "count": len(t["articles"]),
                     "top": t["articles"][:top]} for t in aud["topics"]]}
        for aud in sections
    ]
    strings = config.catalog()
    texts = strings.for_language(lang, "home.")
    home = {"featured": featured, "audiences": audiences,
            "text": {k.split(".", 1)[1]: v for k, v in texts.items()}}
    home["page"] = page_markdown(home, lang, strings)
    return home


def _count(n: int, lang: str, strings: catalog.Catalog) -> str:
    key = "home.articles_one" if n == 1 else "home.articles_other"
    return strings.text(key, lang, count=n)


def page_markdown(home: Mapping[str, Any], lang: str,
                  strings: catalog.Catalog | None = None) -> str:
    """Search box, featured list and topic cards (Material's ``grid cards``); an article
    shown in another language than the page carries its ``marker`` (" (Englisch)")."""
    strings = strings or catalog.load()
    text = home["text"]
    q = html.escape(text["search_placeholder"], quote=True)
    out = [
        '<form class="helpgen-home-search" role="search" autocomplete="off" '
        'style="margin:1.2em 0 1.6em">'
        f'<input type="search" name="q" placeholder="{q}" aria-label="{q}" maxlength="200" '
        'style="box-sizing:border-box;width:100%;padding:.7em 1em;font-size:.9rem;'
        'border:1px solid var(--md-default-fg-color--lighter);border-radius:.3rem;'
        'background:var(--md-default-bg-color);color:var(--md-default-fg-color)">'
        "</form>",
        "",
    ]
    if home["featured"]:
        out += [f"## {_md(text['featured'])}", "", '<div class="helpgen-featured" markdown>', ""]
        out += [f"- [{_md(a['title'])}]({a['src']}){a.get('marker', '')}"
                + (f": {_md(a['summary'])}"
                                                          if a["summary"] else "")
                for a in home["featured"]]
        out += ["", "</div>", ""]
    for aud in home["audiences"]:
        out += [f"## {_md(aud['title'])}", ""]
        if aud["description"]:
            out += [_md(aud["description"]), ""]
        out += ['<div class="grid cards helpgen-topics" markdown>', ""]
        for topic in aud["topics"]:
            out += [f"-   **{_md(topic['title'])}** · {_md(_count(topic['count'], lang, strings))}",
                    "", "    ---", ""]
            out += [f"    - [{_md(a['title'])}]({a['src']}){a.get('marker', '')}"
                    for a in topic["top"]]
            out += [""]
        out += ["</div>", ""]
    return "\n".join(out)
