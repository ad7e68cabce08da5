"""``helpgen new``: write a new article whose front matter already passes the schema.

The id is derived from the title (ASCII slug, at most :data:`ID_MAX` characters, cut at
a word boundary). A title that gives no slug, or a slug another article already has, is a
usage error asking for ``--id``: a silent ``-2`` suffix or a made-up id would hide a
duplicate article or give a permalink nobody chose. The file goes
to ``docs/<audience>/<topic>/<id>.md``; an existing file is never overwritten.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import yaml

from . import content as content_mod
from . import yamlpos
from .check import PLACEHOLDER_BODY, PLACEHOLDER_SUMMARY
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


def existing_ids(config: Config) -> dict[str, str]:
    """Every id in use and the docs-relative file that holds it: from the validated
    corpus, or from ``id:`` lines when it does not load."""
    prefix = config.docs_dir_name.rstrip("/")
    try:
        return {a.id: f"{prefix}/{a.src}" for a in content_mod.load(config).articles}
    except HelpgenError:
        ids: dict[str, str] = {}
        for path in sorted(config.docs_dir.rglob("*.md")):
            m = _ID_LINE_RE.search(path.read_text(encoding="utf-8", errors="replace")[:2000])
            if m:
                rel = path.relative_to(config.docs_dir).as_posix()
                ids.setdefault(m.group(1), f"{prefix}/{rel}")
        return ids


def derived_id(title: str, taken: Mapping[str, str], folder: Path, root: Path) -> str:
    """The id ``title`` gives, or a usage error: a title without Latin letters or digits
    gives none, and an id already in use names the file that has it (``--id`` decides)."""
    base = slugify(title)
    if not base:
        raise UsageError(f"the title {title!r} gives no id (ids are made of a-z, 0-9 and "
                         "'-'); choose one with --id, e.g. --id where-is-my-order")
    path = folder / f"{base}.md"
    if base in taken or path.exists():
        holder = taken.get(base) or _rel(path, root)
        raise UsageError(f"the id {base!r} that the title gives is already used by {holder}; "
                         "edit that article, or choose another id with --id")
    return base


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


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
        "draft: true  # unpublished: helpgen preview shows it; delete this line to publish",
        "---",
        "",
        f"# {title}",
        "",
        PLACEHOLDER_BODY,
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
        taken = existing_ids(config)
        if article_id in taken:
            raise UsageError(f"id {article_id!r} is already used by {taken[article_id]}; "
                             "choose another --id")
        path = folder / f"{article_id}.md"
        if path.exists():
            raise UsageError(f"{path} already exists; not overwriting it")
        new_id = article_id
    else:
        new_id = derived_id(title, existing_ids(config), folder, config.root)
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
