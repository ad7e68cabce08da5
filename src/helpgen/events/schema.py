"""The schema both stores share: tables, numbered migrations, the per-draft upsert and
retention's statements, written once in portable SQL (``?`` placeholders)."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Mapping, Sequence

from ..errors import HelpgenError
from .model import _now

SCHEMA_VERSION = 4

#: Event types that mean the draft saw suggestions (the deflection rate's denominator).
SHOWN_TYPES = ("suggestion_shown", "article_opened", "solved", "irrelevant")
DRAFT_COLUMNS = ("draft_id, market, version, category, first_ts, last_ts, shown, solved, "
                 "submitted")
#: One row per draft, the same SQL on both engines: its market, version, last category,
#: first and last event, and whether it saw suggestions, was solved, was submitted
#: anyway. Kept longer than the events (events.draft_retention_days), it keeps the
#: deflection rate exact (distinct drafts, never additive daily counts).
DRAFTS_MIGRATION: tuple[str, ...] = (
    "CREATE TABLE drafts (draft_id TEXT PRIMARY KEY, market TEXT NOT NULL, "
    "version TEXT NOT NULL DEFAULT '', category TEXT, first_ts TEXT NOT NULL, "
    "last_ts TEXT NOT NULL, shown INTEGER NOT NULL DEFAULT 0, "
    "solved INTEGER NOT NULL DEFAULT 0, submitted INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX drafts_market_last ON drafts(market, last_ts)",
    f"INSERT INTO drafts ({DRAFT_COLUMNS}) SELECT draft_id, MIN(market), MIN(version), "
    "MAX(category), MIN(ts), MAX(ts), "
    f"MAX(CASE WHEN type IN {SHOWN_TYPES!r} THEN 1 ELSE 0 END), "
    "MAX(CASE WHEN type = 'solved' THEN 1 ELSE 0 END), "
    "MAX(CASE WHEN type = 'ticket_submitted_anyway' THEN 1 ELSE 0 END) "
    "FROM events WHERE draft_id IS NOT NULL GROUP BY draft_id",
)
#: Merges one draft's row into the drafts table (both engines; ``?`` placeholders):
#: flags are OR-ed, the earliest and latest times kept, the last category given wins.
DRAFT_UPSERT = (
    f"INSERT INTO drafts ({DRAFT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (draft_id) DO UPDATE SET "
    "category = COALESCE(excluded.category, drafts.category), "
    "first_ts = CASE WHEN excluded.first_ts < drafts.first_ts THEN excluded.first_ts "
    "ELSE drafts.first_ts END, "
    "last_ts = CASE WHEN excluded.last_ts > drafts.last_ts THEN excluded.last_ts "
    "ELSE drafts.last_ts END, "
    "shown = CASE WHEN excluded.shown = 1 THEN 1 ELSE drafts.shown END, "
    "solved = CASE WHEN excluded.solved = 1 THEN 1 ELSE drafts.solved END, "
    "submitted = CASE WHEN excluded.submitted = 1 THEN 1 ELSE drafts.submitted END")
#: version -> statements that bring a file from ``version - 1`` to ``version``.
MIGRATIONS: Mapping[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, type TEXT NOT NULL, "
        "market TEXT NOT NULL, version TEXT NOT NULL DEFAULT '', article_id TEXT, "
        "draft_id TEXT, query TEXT)",
        "CREATE INDEX events_type_ts ON events(type, ts)",
    ),
    2: (  # per-category reports and result counts for searches
        "ALTER TABLE events ADD COLUMN category TEXT",
        "ALTER TABLE events ADD COLUMN results INTEGER",
        "CREATE INDEX events_market_ts ON events(market, ts)",
    ),
    3: (  # no_suggestion: one row per draft, its last state (record() replaces it)
        "CREATE UNIQUE INDEX events_no_suggestion_draft ON events(draft_id) "
        "WHERE type = 'no_suggestion'",
    ),
    4: DRAFTS_MIGRATION,  # per-draft outcomes, kept longer than the events
}

#: The statements that store rows: SQLite replaces a draft's no_suggestion row (its last
#: state); PostgreSQL updates it in place (ON CONFLICT on the same partial unique index).
INSERT_COLUMNS = "ts, type, market, version, article_id, draft_id, category, query, results"

def prune_cutoff(retention_days: int, now: _dt.datetime | None = None) -> str:
    """The stored timestamp before which events are deleted ("" keeps any age)."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    if retention_days <= 0:
        return ""
    return (now - _dt.timedelta(days=retention_days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def prune_statements(cutoff: str, max_rows: int, draft_cutoff: str = ""
                     ) -> tuple[tuple[str, tuple[Any, ...], bool], ...]:
    """Retention's DELETEs, the same on both engines (``?`` placeholders): events by age,
    then all but the newest ``max_rows`` by id; drafts by age of their last event, then
    all but the newest ``max_rows``. The flag says whether the count is of events."""
    return (("DELETE FROM events WHERE ts < ?", (cutoff,), True),
            ("DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC "
             "LIMIT 1 OFFSET ?)", (max_rows,), True),
            ("DELETE FROM drafts WHERE last_ts < ?", (draft_cutoff,), False),
            ("DELETE FROM drafts WHERE last_ts < (SELECT last_ts FROM drafts ORDER BY "
             "last_ts DESC LIMIT 1 OFFSET ?)", (max_rows,), False))


def draft_rows(rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The drafts-table rows (for :data:`DRAFT_UPSERT`) of checked event rows."""
    out = []
    for ts, etype, market, version, _article, draft_id, category, _query, _results in rows:
        if draft_id is None:
            continue
        out.append((draft_id, market, version, category, ts, ts,
                    int(etype in SHOWN_TYPES), int(etype == "solved"),
                    int(etype == "ticket_submitted_anyway")))
    return out

def apply_migrations(conn: Any, current: int, target: int,
                     migrations: Mapping[int, Sequence[str]], record: str,
                     location: Any, container: str) -> None:
    """The migration steps both stores share, inside the caller's transaction and lock:
    refuse a schema newer than this helpgen knows, then run each missing migration up to
    ``target`` and record it with ``record`` (the engine's INSERT into schema_version).
    ``container`` names what events.db points at in the error ("file", "database")."""
    if current > SCHEMA_VERSION:
        raise HelpgenError(
            f"the events database has schema v{current}, newer than this helpgen "
            f"understands (v{SCHEMA_VERSION}): upgrade helpgen or point events.db at "
            f"another {container}", location, exit_code=2)
    for version in range(current + 1, target + 1):
        for statement in migrations[version]:
            conn.execute(statement)
        conn.execute(record, (version, _now()))


def where_clause(market: str | None, since: str | None, ts: str = "ts") -> tuple[str, list[Any]]:
    """`` WHERE market = ? AND ts >= ?`` (the parts given) and its arguments."""
    clauses, args = [], []
    if market:
        clauses.append("market = ?")
        args.append(market)
    if since:
        clauses.append(f"{ts} >= ?")
        args.append(since)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args
