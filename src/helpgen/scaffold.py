"""``helpgen new``: write a new article whose front matter already passes the schema.

The id is derived from the title (ASCII slug, at most :data:`ID_MAX` characters, cut at
a word boundary) and made unique against every id and file in ``docs/``. The file goes
to ``docs/<audience>/<topic>/<id>.md``; an existing file is never overwritten.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml

from . import content as content_mod
from . import yamlpos
from .check import PLACEHOLDER_SUMMARY
from .config import Config
from .errors import HelpgenError, UsageError

ID_MAX = 60
_ID_LINE_RE = re.compile(r"^id:\s*['\"]?([^'\"\s#]+)", re.M)


@dataclass(frozen=True)
class NewArticle:
    path: Path
    id: str
    audience: str
    topic: str


def slugify(title: str) -> str:
    """``"Où est ma commande ?"`` -> ``"ou-est-ma-commande"``; empty for non-Latin titles."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > ID_MAX:
        cut = slug[:ID_MAX + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:ID_MAX]
    return slug.strip("-")


def existing_ids(config: Config) -> set[str]:
    """Every id in use: from the validated corpus, or from ``id:`` lines if it does not load."""
    try:
        return set(content_mod.load(config).by_id)
    except HelpgenError:
        ids = set()
        for path in config.docs_dir.rglob("*.md"):
            m = _ID_LINE_RE.search(path.read_text(encoding="utf-8", errors="replace")[:2000])
            if m:
                ids.add(m.group(1))
        return ids


def unique_id(base: str, taken: set[str], folder: Path) -> str:
    candidate, n = base, 1
    while candidate in taken or (folder / f"{candidate}.md").exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _resolve_taxonomy(config: Config, audience: str | None, topic: str | None
                      ) -> tuple[str, str]:
    if audience is not None and audience not in config.audiences:
        raise UsageError(f"unknown audience {audience!r}; allowed: {', '.join(config.audiences)}")
    fitting = [t for t, v in config.topics.items() if audience is None or v.audience == audience]
    if topic is None:
        raise UsageError(f"--topic is required; allowed: {', '.join(fitting)}")
    if topic not in config.topics:
        raise UsageError(f"unknown topic {topic!r}; allowed: {', '.join(fitting)}")
    owner = config.topics[topic].audience
    if audience is not None and owner != audience:
        raise UsageError(f"topic {topic!r} belongs to audience {owner!r}; for {audience!r} use "
                         f"one of: {', '.join(fitting)}")
    return owner, topic


def _yaml_text(value: str) -> str:
    """A YAML scalar for ``value``: plain when it reads back unchanged, else quoted."""
    try:
        plain_ok = yamlpos.load(f"k: {value}").data == {"k": value}
    except yaml.YAMLError:
        plain_ok = False
    return value if plain_ok and "#" not in value else json.dumps(value, ensure_ascii=False)


def render_article(article_id: str, title: str, summary: str, audience: str, topic: str,
                   markets: Sequence[str], categories: Sequence[str], today: _dt.date) -> str:
    markets_txt = f"[{', '.join(markets)}]" if markets else "all"
    lines = [
        "---",
        f"id: {article_id}",
        f"title: {_yaml_text(title)}",
        f"summary: {_yaml_text(summary)}",
        *([f"audience: {audience}"] if audience else []),
        f"topic: {topic}",
        f"markets: {markets_txt}",
        f"ticket_categories: [{', '.join(categories)}]",
        "keywords: []",
        f"last_reviewed: {today.isoformat()}",
        "---",
        "",
        f"# {title}",
        "",
        "Start with the answer in one or two sentences.",
        "",
        "## Steps",
        "",
        "1. First step.",
        "2. Second step.",
        "",
        "## Related articles",
        "",
        "<!-- Link related articles by their .md file: `[Title](../topic/article.md)` -->",
        "",
    ]
    return "\n".join(lines)


def new_article(
    config: Config,
    title: str,
    topic: str | None,
    audience: str | None = None,
    summary: str | None = None,
    article_id: str | None = None,
    markets: Sequence[str] = (),
    categories: Sequence[str] = (),
    today: _dt.date | None = None,
) -> NewArticle:
    """Create the article file and return where it went (never overwrites)."""
    title = " ".join(title.split())
    if not title:
        raise UsageError("the title must not be empty")
    audience, topic = _resolve_taxonomy(config, audience, topic)
    for code in markets:
        if code not in config.markets:
            raise UsageError(f"unknown market {code!r}; allowed: {', '.join(config.markets)}")
    for cat in categories:
        if cat not in config.ticket_categories:
            raise UsageError(f"unknown ticket category {cat!r}; allowed: "
                             f"{', '.join(config.ticket_categories)}")
    summary = " ".join((summary or PLACEHOLDER_SUMMARY).split())
    if len(summary) > content_mod.SUMMARY_MAX:
        raise UsageError(f"the summary is {len(summary)} characters; keep it at most "
                         f"{content_mod.SUMMARY_MAX}")
    # a help center with one audience keeps no audience folder (docs/<topic>/)
    folder = config.docs_dir / topic if config.single_audience else \
        config.docs_dir / audience / topic
    if article_id is not None:
        if not content_mod.ID_RE.match(article_id):
            raise UsageError(f"--id must be lower-case letters, digits and hyphens, got "
                             f"{article_id!r}")
        if article_id in existing_ids(config):
            raise UsageError(f"id {article_id!r} is already used; choose another --id")
        path = folder / f"{article_id}.md"
        if path.exists():
            raise UsageError(f"{path} already exists; not overwriting it")
        new_id = article_id
    else:
        base = slugify(title) or f"{topic}-article"
        new_id = unique_id(base, existing_ids(config), folder)
        path = folder / f"{new_id}.md"
    folder.mkdir(parents=True, exist_ok=True)
    text = render_article(new_id, title, summary,
                          "" if config.single_audience else audience, topic, markets,
                          categories, today or _dt.date.today())
    try:
        with open(path, "x", encoding="utf-8") as fh:  # "x": refuse to overwrite, even in a race
            fh.write(text)
    except FileExistsError:
        raise UsageError(f"{path} already exists; not overwriting it") from None
    return NewArticle(path, new_id, audience, topic)
