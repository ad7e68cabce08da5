"""Page furniture the theme shows around an article: breadcrumbs, the review date, the
old-version banner and the links out of dead ends (no search results, 404).

Pure: takes the rendered market and returns the texts and site-relative links the
templates (``src/helpgen/theme/main.html`` and its ``partials/helpgen-*.html``) write.
Dates come from front matter only, never from a file's time, so that two builds of the
same sources stay byte-identical.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from babel.dates import format_date

from . import catalog
from .config import Market
from .render import RenderedMarket, RenderedPage

#: the docs page holding the ticket form (helpgen's scaffold and this project's docs)
TICKET_PAGE = "submit-a-ticket.md"


def reviewed_date(page: RenderedPage) -> _dt.date | None:
    """The ``last_reviewed`` date of the text served: the translation's own date when
    a translation is served, the English file's otherwise; None when it has none."""
    variant = page.article.variants.get(page.language)
    if variant is not None:
        return variant.last_reviewed
    return page.article.last_reviewed


def format_day(date: _dt.date, market: Market) -> str:
    """``date`` written the market's way (CLDR's long format: "November 25, 2026",
    "25. November 2026", "2026年11月25日")."""
    return format_date(date, format="long", locale=market.locale or market.language)


def reviewed_text(page: RenderedPage, market: Market,
                  strings: catalog.Catalog | None = None) -> str:
    """"Last reviewed: <date>" in the market's language, or "" without a date."""
    date = reviewed_date(page)
    if date is None:
        return ""
    strings = strings or catalog.load()
    return strings.text("layout.last_reviewed", market.language, date=format_day(date, market))


def theme_context(rendered: RenderedMarket, strings: catalog.Catalog | None = None
                  ) -> dict[str, Any]:
    """What the templates read as ``config.extra.helpgen_layout``: the ``layout.*``
    strings in the market's language and the ticket page's site-relative URL ("" when
    the market has none)."""
    strings = strings or catalog.load()
    ticket = rendered.pages.get(TICKET_PAGE)
    return {
        "strings": {k.split(".", 1)[1]: v for k, v in
                    strings.for_language(rendered.market.language, "layout.").items()},
        "ticket_url": ticket.url if ticket is not None else "",
    }
