"""``helpgen report``: what deflected tickets and where content is missing, from either
store with one SQL text."""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from ..errors import HelpgenError
from .schema import where_clause
from .stores import EventStore

def parse_since(text: str) -> str:
    """``YYYY-MM-DD`` (or a full ISO time) -> the stored timestamp form; usage error else."""
    try:
        if len(text) == 10:
            return _dt.date.fromisoformat(text).isoformat() + "T00:00:00.000000Z"
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HelpgenError(f"--since must be a date YYYY-MM-DD, got {text!r}",
                           exit_code=2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

@dataclass(frozen=True)
class Report:
    market: str | None
    since: str | None
    events: int
    drafts_with_suggestions: int
    drafts_solved: int
    drafts_submitted_anyway: int
    deflection_rate: float | None  # solved / drafts that saw suggestions
    by_type: dict[str, int]
    top_deflecting: list[dict[str, Any]]  # article_id, solved
    top_irrelevant: list[dict[str, Any]]  # article_id, irrelevant
    helpfulness: list[dict[str, Any]]  # article_id, helpful, not_helpful
    categories: list[dict[str, Any]]  # category, drafts, solved, submitted_anyway, rate
    top_searches: list[dict[str, Any]]  # query, searches
    no_answer_searches: list[dict[str, Any]]  # query, searches
    #: categories sent by ticket forms that are none of ours (category, drafts): the
    #: names to add to deflection.category_map
    unmapped_categories: list[dict[str, Any]] = field(default_factory=list)
    #: drafts that got no suggestion (category, query = masked key terms, drafts): content
    #: gaps, from no_suggestion events
    no_suggestion: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def report(log: EventStore, market: str | None = None, since: str | None = None,
           limit: int = 10, known_categories: Iterable[str] | None = None) -> Report:
    """Aggregate the events of ``market`` (all markets when None) from ``since``.

    With ``known_categories`` (our category codes), the other categories recorded are
    listed as ``unmapped_categories``. A store that does not exist yet gives an empty
    report (and is not created). The SQL is the same on both engines.
    """
    known = None if known_categories is None else frozenset(known_categories)
    if not log.exists():
        return Report(market, since, 0, 0, 0, 0, None, {}, [], [], [], [], [], [], [])
    where, args = where_clause(market, since)
    w = where or " WHERE 1=1"

    def rows(sql: str, *extra: Any) -> list[dict[str, Any]]:
        return log.rows(sql, [*args, *extra])

    def one(sql: str, *extra: Any) -> int:
        return int(next(iter(rows(sql, *extra)[0].values())) or 0)

    total = one(f"SELECT COUNT(*) AS n FROM events{where}")
    by_type = {r["type"]: int(r["n"]) for r in rows(
        f"SELECT type, COUNT(*) AS n FROM events{w} GROUP BY type ORDER BY type")}

    dwhere, dargs = where_clause(market, since, ts="last_ts")
    dw = dwhere or " WHERE 1=1"
    outcome = log.rows(
        "SELECT COUNT(CASE WHEN shown = 1 THEN 1 END) AS shown, "
        "COUNT(CASE WHEN solved = 1 THEN 1 END) AS solved, "
        f"COUNT(CASE WHEN submitted = 1 THEN 1 END) AS anyway FROM drafts{dwhere}", dargs)[0]
    shown, solved, anyway = (int(outcome[k] or 0) for k in ("shown", "solved", "anyway"))
    top_deflecting = rows(
        "SELECT article_id, COUNT(DISTINCT COALESCE(draft_id, CAST(id AS TEXT))) AS solved "
        f"FROM events{w} AND type = 'solved' AND article_id IS NOT NULL GROUP BY article_id "
        "ORDER BY solved DESC, article_id LIMIT ?", limit)
    top_irrelevant = rows(
        f"SELECT article_id, COUNT(*) AS irrelevant FROM events{w} AND type = 'irrelevant'"
        " AND article_id IS NOT NULL GROUP BY article_id "
        "ORDER BY irrelevant DESC, article_id LIMIT ?", limit)
    helpfulness = rows(
        "SELECT article_id, COUNT(CASE WHEN type = 'helpful' THEN 1 END) AS helpful, "
        "COUNT(CASE WHEN type = 'not_helpful' THEN 1 END) AS not_helpful "
        f"FROM events{w} AND type IN ('helpful', 'not_helpful') AND article_id IS NOT NULL "
        "GROUP BY article_id ORDER BY not_helpful DESC, helpful DESC, article_id LIMIT ?",
        limit)
    categories = log.rows(
        "SELECT category, COUNT(*) AS drafts, COUNT(CASE WHEN solved = 1 THEN 1 END) "
        "AS solved, COUNT(CASE WHEN submitted = 1 THEN 1 END) AS submitted_anyway "
        f"FROM drafts{dw} AND category IS NOT NULL GROUP BY category "
        "ORDER BY submitted_anyway DESC, drafts DESC, category", dargs)
    for c in categories:
        c["rate"] = round(c["solved"] / c["drafts"], 4) if c["drafts"] else None
    top_searches = rows(
        f"SELECT query, COUNT(*) AS searches FROM events{w} AND type IN "
        "('search', 'search_no_answer') AND query IS NOT NULL GROUP BY query "
        "ORDER BY searches DESC, query LIMIT ?", limit)
    no_answer = rows(
        f"SELECT query, COUNT(*) AS searches FROM events{w} AND (type = "
        "'search_no_answer' OR (type = 'search' AND results = 0)) AND query IS NOT NULL "
        "GROUP BY query ORDER BY searches DESC, query LIMIT ?", limit)
    no_suggestion = rows(
        f"SELECT category, query, COUNT(DISTINCT draft_id) AS drafts FROM events{w} AND "
        "type = 'no_suggestion' GROUP BY category, query "
        "ORDER BY drafts DESC, category, query LIMIT ?", limit)
    return Report(
        market=market, since=since, events=total, drafts_with_suggestions=shown,
        drafts_solved=solved, drafts_submitted_anyway=anyway,
        deflection_rate=round(solved / shown, 4) if shown else None, by_type=by_type,
        top_deflecting=top_deflecting, top_irrelevant=top_irrelevant,
        helpfulness=helpfulness, categories=categories, top_searches=top_searches,
        no_answer_searches=no_answer,
        no_suggestion=no_suggestion,
        unmapped_categories=[] if known is None else [
            {"category": c["category"], "drafts": c["drafts"]} for c in categories
            if c["category"] not in known],
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def report_table(rep: Report, source: str = "") -> str:
    """The report as plain-text tables for a terminal."""
    out = [f"Deflection report{' for ' + rep.market if rep.market else ''}"
           f"{' since ' + rep.since[:10] if rep.since else ''}"
           f"{' (' + source + ')' if source else ''}",
           f"  events: {rep.events}",
           f"  drafts that saw suggestions: {rep.drafts_with_suggestions}",
           f"  solved by an article: {rep.drafts_solved}",
           f"  submitted anyway: {rep.drafts_submitted_anyway}",
           f"  deflection rate: {_pct(rep.deflection_rate)}", ""]

    def table(title: str, rows: list[dict[str, Any]], cols: tuple[str, ...]) -> None:
        out.append(title)
        if not rows:
            out.extend(["  (none)", ""])
            return
        widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in cols]
        out.append("  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        for r in rows:
            out.append("  " + "  ".join(str(_pct(r[c]) if c == "rate" else r[c]).ljust(w)
                                        for c, w in zip(cols, widths)))
        out.append("")

    table("Articles that deflect most", rep.top_deflecting, ("article_id", "solved"))
    table("Articles marked irrelevant most", rep.top_irrelevant, ("article_id", "irrelevant"))
    table("Was this helpful?", rep.helpfulness, ("article_id", "helpful", "not_helpful"))
    table("Categories (content gaps first: drafts filed anyway)", rep.categories,
          ("category", "drafts", "solved", "submitted_anyway", "rate"))
    table("Categories that are none of ours (map them with deflection.category_map)",
          rep.unmapped_categories, ("category", "drafts"))
    table("Drafts that got no suggestion (content gaps: write these next)",
          rep.no_suggestion, ("category", "query", "drafts"))
    table("Searches with no answer (write these next)", rep.no_answer_searches,
          ("query", "searches"))
    table("Top searches", rep.top_searches, ("query", "searches"))
    return "\n".join(out)


def report_csv(rep: Report) -> str:
    """The report as ``section,key,value`` rows (one row per figure)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("section", "key", "value"))
    for name in ("events", "drafts_with_suggestions", "drafts_solved",
                 "drafts_submitted_anyway", "deflection_rate"):
        value = getattr(rep, name)
        w.writerow((name, "", "" if value is None else value))
    for etype, n in rep.by_type.items():
        w.writerow(("by_type", etype, n))
    for section, key, value in (("top_deflecting", "article_id", "solved"),
                                ("top_irrelevant", "article_id", "irrelevant"),
                                ("helpful", "article_id", "helpful"),
                                ("not_helpful", "article_id", "not_helpful"),
                                ("category_drafts", "category", "drafts"),
                                ("category_solved", "category", "solved"),
                                ("category_submitted_anyway", "category", "submitted_anyway"),
                                ("unmapped_categories", "category", "drafts"),
                                ("no_suggestion", "query", "drafts"),
                                ("top_searches", "query", "searches"),
                                ("no_answer_searches", "query", "searches")):
        source = {"helpful": rep.helpfulness, "not_helpful": rep.helpfulness,
                  "category_drafts": rep.categories, "category_solved": rep.categories,
                  "category_submitted_anyway": rep.categories}.get(section)
        for row in source if source is not None else getattr(rep, section):
            w.writerow((section, row[key], row[value]))
    return buf.getvalue()
