"""The drop-in widget: the ticket page's suggestion panel for ticket forms on other sites.

The build writes it once per site, at a URL that no version or market is part of
(:data:`WIDGET_PATH`, ``site/widget/v1/helpgen-widget.js``), so a host page that
includes it keeps working across releases. It is the theme's ``deflect.js`` with its
``BUILT`` data filled in: every market's interface language, the default market and
alias, and the catalog's ``widget.*`` texts in every interface language. The host page
names its fields with ``data-`` attributes of the ``<script>`` element (the public
contract in manual/widget.md).

``v1`` is the contract's major version: the file at ``widget/v1/`` only ever changes in
ways that keep every page written against that contract working; a change that breaks
the contract would be written to ``widget/v2/`` beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import atomic, catalog
from .errors import EXIT_INTERNAL, HelpgenError

if TYPE_CHECKING:
    from .config import Config

#: The widget's URL path below the site root (the stable URL host pages include).
WIDGET_PATH = "widget/v1/helpgen-widget.js"
#: Cache-Control of the widget: browsers reuse it for an hour without asking, then
#: revalidate (ETag) in the background for up to a week, so a release reaches every
#: host page within about an hour of its first visit, while a page load never waits.
CACHE_CONTROL = "public, max-age=3600, stale-while-revalidate=604800"
SOURCE = Path(__file__).resolve().parent / "theme" / "assets" / "helpgen" / "deflect.js"
PLACEHOLDER = "  var BUILT = null;\n"
TEXT_PREFIX = "widget."


def built_data(config: Config) -> dict[str, Any]:
    """What the widget copy knows without asking the server."""
    texts = config.catalog()  # with the project's strings: wording
    return {
        "markets": {code: m.language for code, m in config.markets.items()},
        "default_market": config.default_market,
        "alias": config.default_alias,
        "text": {lang: {k[len(TEXT_PREFIX):]: v
                        for k, v in texts.for_language(lang, TEXT_PREFIX).items()}
                 for lang in catalog.INTERFACE_LANGUAGES},
    }


def script(config: Config) -> str:
    """The widget's JavaScript: ``deflect.js`` with ``BUILT`` filled in."""
    source = SOURCE.read_text(encoding="utf-8")
    if source.count(PLACEHOLDER) != 1:  # a broken installation, not the project's doing
        raise HelpgenError(f"expected one line {PLACEHOLDER.strip()!r}", SOURCE,
                           exit_code=EXIT_INTERNAL)
    data = json.dumps(built_data(config), ensure_ascii=False, sort_keys=True)
    return source.replace(PLACEHOLDER, f"  var BUILT = {data};\n", 1)


def write(config: Config, site_dir: Path) -> Path:
    """Write the widget to ``<site_dir>/`` :data:`WIDGET_PATH` (atomically)."""
    path = Path(site_dir) / WIDGET_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, script(config))
    return path
