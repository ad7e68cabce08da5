"""What people did with search and suggestions (no personal data), in an event store.

Events are small records: a type from :data:`EVENT_TYPES`, market, version, an article
id, a random *draft id* the ticket page makes per ticket draft, a ticket category, and
for searches the query, masked by :func:`helpgen.privacy.mask` and truncated. Ticket text
is never stored: :func:`check_row` refuses any text column that is not the masked
query or a slug, token or enumerated value.

Two stores share one interface (:class:`EventStore`), chosen by ``events.db``
(:func:`open_store`): a path or ``sqlite:///path`` is :class:`EventLog`, one SQLite
file for one host (the embedded default); ``postgresql://...`` is
:class:`helpgen.events_pg.PostgresStore`, one database shared by several server
processes and hosts. Both carry their schema version in a ``schema_version`` table and
apply the same numbered migrations (:data:`MIGRATIONS` here, ``events_pg.MIGRATIONS``
there); a store written by a newer helpgen is refused with an error.

The SQLite file uses WAL mode (readers never block the writer) and is created on first
use. Every call opens its own short-lived connection, so an :class:`EventLog` can be
shared by the threads of a server. A file deleted (or emptied) while a server runs is
created again with the migrations on the next call, logged once per loss and counted in
:meth:`EventLog.health`.

Reading side: :func:`report` computes the deflection rate (solved drafts / drafts that
saw suggestions), the articles that deflect most, those marked irrelevant most, and the
content gaps (categories whose drafts were filed anyway, searches with no answer). Its
SQL is one text for both engines (``?`` placeholders; :meth:`EventStore.rows` adapts
them). The deflection rate and the per-category rates come from the ``drafts`` table,
one row per draft (its flags merged as its events arrive), kept longer than the events:
never additive daily counts, so the rate stays exact (distinct drafts).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import re
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TypeVar

from .errors import HelpgenError
from .privacy import mask

__all__ = ["EVENT_TYPES", "Event", "EventLog", "EventStore", "MIGRATIONS", "SCHEMA_VERSION",
           "StoreOptions", "check_row", "copy_events", "make_event", "mask", "migrate",
           "open_store", "parse_since", "report", "report_csv", "report_table", "store_target"]

logger = logging.getLogger("helpgen.events")
T = TypeVar("T")

#: Every event type, with what it means (the docs and the report use this table).
EVENT_TYPES: Mapping[str, str] = {
    "suggestion_shown": "the ticket page showed suggestions for a draft",
    "article_opened": "a suggested article was opened from the ticket page",
    "solved": "\"this answered my question\": the draft was not filed",
    "irrelevant": "\"not what I need\" on a suggested article",
    "ticket_submitted_anyway": "the draft was submitted as a ticket after suggestions",
    "helpful": "\"Was this helpful?\" yes, at the end of an article",
    "not_helpful": "\"Was this helpful?\" no, at the end of an article",
    "search": "a search (query masked and truncated) and its number of results",
    "search_no_answer": "a search that found nothing (query masked and truncated)",
    "no_suggestion": "a draft that got no suggestion, in its last state when it was handed "
                     "off or the page was left: category and masked key terms (in query), "
                     "once per draft_id",
}
SCHEMA_VERSION = 4
#: Key terms kept of a no_suggestion event's query.
MAX_KEY_TERMS = 12
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
DRAFT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: A stored category: our code, or another system's name slugified (letters of any script).
CATEGORY_RE = re.compile(r"^[^\W_A-Z]+(?:-[^\W_A-Z]+)*$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MARKET_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$")
FIELDS = ("type", "market", "version", "article_id", "draft_id", "category", "query", "results",
          "ts")

@dataclass(frozen=True)
class Event:
    type: str
    market: str
    version: str = ""
    article_id: str | None = None
    draft_id: str | None = None
    category: str | None = None
    query: str | None = None
    results: int | None = None
    ts: str = field(default_factory=lambda: _now())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_event(
    payload: Mapping[str, Any],
    *,
    markets: Iterable[str],
    categories: Mapping[str, str] | Iterable[str] = (),
    query_max_chars: int = 100,
    now: str | None = None,
    category_map: Mapping[str, str] | None = None,
) -> Event:
    """Validate an untrusted event (e.g. a ``POST /api/events`` body) into an :class:`Event`.

    Raises :class:`HelpgenError` (exit code 2) naming each bad field and what is
    allowed. Unknown fields are refused, so ticket text cannot be smuggled in. Any
    ``category`` text is accepted (the form may be another system's): one of ours, or
    mapped to one by ``category_map``, is stored as our code; any other is stored as
    :func:`category_slug` so ``helpgen report`` can list it for mapping.
    """
    if not isinstance(payload, Mapping):
        raise HelpgenError("an event must be a JSON object", exit_code=2)
    problems: list[str] = []
    unknown = sorted(set(payload) - set(FIELDS) - {"ts"})
    if unknown:
        problems.append(f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: "
                        f"{', '.join(f for f in FIELDS if f != 'ts')}")
    etype = payload.get("type")
    if etype not in EVENT_TYPES:
        problems.append(f"'type' must be one of {', '.join(EVENT_TYPES)}; got {etype!r}")
    markets = tuple(markets)
    market = payload.get("market")
    if market not in markets:
        problems.append(f"'market' must be one of {', '.join(markets)}; got {market!r}")
    version = payload.get("version") or ""
    if version and (not isinstance(version, str) or not VERSION_RE.match(version)):
        problems.append(f"'version' must be a version name such as 2026.11; got {version!r}")
    article_id = payload.get("article_id") or None
    if article_id is not None and (not isinstance(article_id, str)
                                   or not SLUG_RE.match(article_id) or len(article_id) > 100):
        problems.append(f"'article_id' must be an article id (a slug); got {article_id!r}")
    draft_id = payload.get("draft_id") or None
    if draft_id is not None and (not isinstance(draft_id, str) or not DRAFT_ID_RE.match(draft_id)):
        problems.append("'draft_id' must be a random token of 8-64 letters, digits, '-' or '_'")
    category = payload.get("category") or None
    if category is not None:
        if not isinstance(category, str):
            problems.append(f"'category' must be a text; got {type(category).__name__}")
            category = None
        else:
            category = store_category(category, categories, category_map or {})
    query = payload.get("query")
    if query is not None and not isinstance(query, str):
        problems.append("'query' must be a text")
    if etype == "no_suggestion":
        if draft_id is None:
            problems.append("'draft_id' is required for a no_suggestion event")
        if isinstance(query, str):
            query = key_terms(query, query_max_chars)
    results = payload.get("results")
    if results is not None and (not isinstance(results, int) or isinstance(results, bool)
                                or results < 0):
        problems.append(f"'results' must be a whole number >= 0; got {results!r}")
    if problems:
        raise HelpgenError("invalid event: " + "; ".join(problems), exit_code=2)
    return Event(
        type=str(etype), market=str(market), version=version, article_id=article_id,
        draft_id=draft_id, category=category,
        query=mask(query, query_max_chars) if query else None, results=results,
        ts=now or _now(),
    )


CATEGORY_MAX_CHARS = 40


def key_terms(text: str, max_chars: int = 100) -> str:
    """A draft's key terms as stored for ``no_suggestion``: masked first, then its
    distinct words of two or more letters, lower case, at most :data:`MAX_KEY_TERMS`."""
    seen: list[str] = []
    for word in re.findall(r"\[[a-z]+\]|[^\W_]{2,}", mask(text[:2000], 2000).lower()):
        if word not in seen and not word.isdigit():
            seen.append(word)
        if len(seen) >= MAX_KEY_TERMS:
            break
    return " ".join(seen)[:max_chars].strip()


def category_slug(text: str) -> str | None:
    """A category name from any ticket form as a stored slug: masked (no e-mail
    addresses or numbers survive), accents dropped, lower case, words joined by ``-``,
    at most :data:`CATEGORY_MAX_CHARS` characters (``"Orders & Shipping"`` ->
    ``orders-shipping``; ``"返品・返金"`` -> ``返品-返金``). None when nothing is left."""
    from .deflect import fold

    slug = "-".join(fold(mask(text[:400], 200)).split())[:CATEGORY_MAX_CHARS].strip("-")
    return slug or None


def store_category(raw: str, categories: Mapping[str, str] | Iterable[str],
                   category_map: Mapping[str, str]) -> str | None:
    """What is stored for the category ``raw``: our code, or :func:`category_slug`."""
    from .deflect import clean, resolve_category

    raw = clean(raw, 400)
    known = categories if isinstance(categories, Mapping) else tuple(categories)
    code, _ = resolve_category(raw, known, category_map)
    return code or category_slug(raw)



# --------------------------------------------------------------------------- stores

class EventStore(Protocol):
    """What the server, ``helpgen report`` and ``helpgen events copy`` need of a store.

    ``rows`` runs one SELECT written once for both engines: ``?`` placeholders, standard
    SQL only (``CASE``, ``COALESCE``, ``CAST``, ``COUNT(DISTINCT ...)``), no engine
    functions. ``submit`` is the request path: it never raises and never waits on the
    database (a store may buffer; what it cannot keep is counted as dropped in
    ``health``). ``prune(..., wait=False)`` gives up at once (returns None) when another
    process is pruning.
    """

    engine: str  # "sqlite" or "postgresql"
    location: str  # the path, or the URL without any password (safe to print)
    buffered: bool  # submit() queues for a writer thread (else it writes at once)

    def record(self, *events: Event) -> int: ...
    def submit(self, event: Event) -> None: ...
    def flush(self, timeout: float = 10.0) -> bool: ...
    def events(self, market: str | None = None, since: str | None = None) -> list[Event]: ...
    def rows(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]: ...
    def write(self, sql: str, rows: Iterable[Iterable[Any]]) -> None: ...
    def exists(self) -> bool: ...
    def count(self) -> int: ...
    def prune(self, retention_days: int, max_rows: int, now: _dt.datetime | None = None,
              wait: bool = True, draft_retention_days: int = 0) -> int | None: ...
    def schema_version(self) -> int: ...
    def health(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class StoreOptions:
    """The ``events.*`` settings a store uses (see config.SETTINGS for their help)."""

    query_max_chars: int = 100
    pool_size: int = 4
    buffer_size: int = 10_000

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> StoreOptions:
        return cls(int(settings.get("events.query_max_chars", cls.query_max_chars)),
                   int(settings.get("events.pool_size", cls.pool_size)),
                   int(settings.get("events.buffer_size", cls.buffer_size)))


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def url_problem(value: str) -> str | None:
    """Why ``value`` cannot be an ``events.db`` (None when it can): an unknown URL
    scheme, or a PostgreSQL URL that carries a password."""
    from urllib.parse import parse_qs, urlsplit

    if value.startswith(POSTGRES_SCHEMES):
        parts = urlsplit(value)
        if parts.password is not None or "password" in parse_qs(parts.query):
            return ("a PostgreSQL URL must not carry a password: remove it and give it to "
                    "libpq in PGPASSWORD or ~/.pgpass (postgresql://user@host/db)")
        return None
    if value.startswith("sqlite:///") or "://" not in value:
        return None
    return (f"unknown events store {value.split('://', 1)[0]!r}:// ; use a file path, "
            "sqlite:///path or postgresql://user@host/db")


def store_target(value: str | Path, root: Path | None = None) -> Path | str:
    """``events.db`` as a SQLite :class:`Path` (relative to ``root``) or a PostgreSQL URL.

    ``sqlite:///rel.db`` is relative to ``root``, ``sqlite:////abs/rel.db`` absolute (the
    SQLAlchemy convention). Raises :class:`HelpgenError` (exit 2) for an unknown scheme.
    """
    if isinstance(value, Path):
        return value if root is None or value.is_absolute() else root / value
    problem = url_problem(value)
    if problem and value.startswith(POSTGRES_SCHEMES):
        problem = None  # a password given outside helpgen.yml reaches libpq as given
    if problem:
        raise HelpgenError(f"events.db: {problem}", exit_code=2)
    if value.startswith(POSTGRES_SCHEMES):
        return value
    path = Path(value[len("sqlite:///"):] if value.startswith("sqlite:///") else value)
    return path if root is None or path.is_absolute() else root / path


def open_store(target: Path | str, options: StoreOptions | None = None) -> EventStore:
    """The store for ``target`` (see :func:`store_target`): an :class:`EventLog` for a
    path, a :class:`helpgen.events_pg.PostgresStore` for a PostgreSQL URL (needs the
    ``helpgen[postgres]`` extra)."""
    options = options or StoreOptions()
    target = store_target(target)
    if isinstance(target, str):
        from .events_pg import PostgresStore

        return PostgresStore(target, options)
    return EventLog(target, options.query_max_chars)


def redact(url: str) -> str:
    """``url`` without its password (for messages and /healthz)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


#: The statements that store rows: SQLite replaces a draft's no_suggestion row (its last
#: state); PostgreSQL updates it in place (ON CONFLICT on the same partial unique index).
INSERT_COLUMNS = "ts, type, market, version, article_id, draft_id, category, query, results"


def copy_events(source: EventStore, target: EventStore, batch: int = 5000) -> int:
    """Copy every event of ``source`` into ``target`` (oldest first); returns how many.

    Refuses (HelpgenError, exit 2) a target that already holds events, so running the
    copy twice cannot double the counts.
    """
    have = target.count()
    if have:
        raise HelpgenError(f"{target.location} already holds {have} event(s); copy only into "
                           "an empty store (drop its tables or use a new database), so no "
                           "event is counted twice", exit_code=2)
    stored = source.events()
    for start in range(0, len(stored), batch):
        target.record(*stored[start:start + batch])
    drafts = source.rows(f"SELECT {DRAFT_COLUMNS} FROM drafts ORDER BY first_ts, draft_id")
    for start in range(0, len(drafts), batch):  # drafts whose events aged out, too
        target.write(DRAFT_UPSERT, [tuple(d.values()) for d in drafts[start:start + batch]])
    return len(stored)


class _SchemaLost(HelpgenError):
    """The file or its tables vanished under a migrated :class:`EventLog` (the next call
    creates them again; :meth:`EventLog._run` retries once at once)."""


def check_row(event: Event, query_max_chars: int = 100) -> tuple[Any, ...]:
    """The row :meth:`EventLog.record` writes for ``event``, every text column checked.

    The only free text stored is the query, masked here (again) with
    :func:`helpgen.privacy.mask`; every other text column must be a slug, a random token,
    a version name, a timestamp or a value from :data:`EVENT_TYPES`. Anything else (ticket
    text smuggled into ``category``, say) raises :class:`HelpgenError`.
    """
    problems = []
    checks = (("type", event.type, lambda v: v in EVENT_TYPES),
              ("market", event.market, lambda v: isinstance(v, str) and MARKET_RE.match(v)),
              ("version", event.version,
               lambda v: v == "" or isinstance(v, str) and VERSION_RE.match(v)),
              ("article_id", event.article_id,
               lambda v: v is None or isinstance(v, str) and len(v) <= 100
               and SLUG_RE.match(v)),
              ("draft_id", event.draft_id,
               lambda v: v is None or isinstance(v, str) and DRAFT_ID_RE.match(v)),
              ("category", event.category,
               lambda v: v is None or isinstance(v, str) and len(v) <= 100
               and CATEGORY_RE.match(v)),
              ("query", event.query, lambda v: v is None or isinstance(v, str)),
              ("results", event.results,
               lambda v: v is None or isinstance(v, int) and not isinstance(v, bool)),
              ("ts", event.ts, lambda v: isinstance(v, str) and TS_RE.match(v)))
    for name, value, ok in checks:
        if not ok(value):
            problems.append(f"{name}={value!r}")
    if problems:
        raise HelpgenError("refusing to store an event with free text or a bad value in "
                           f"{', '.join(problems)}: only the masked query may be free text; "
                           "ids and categories must be slugs such as submit-a-ticket",
                           exit_code=2)
    query = mask(event.query, query_max_chars) if event.query else None
    return (event.ts, event.type, event.market, event.version, event.article_id,
            event.draft_id, event.category, query or None, event.results)


class EventLog:
    """The SQLite store: the events file at ``path``; created (with parent folders) on
    first use. For one host only: SQLite locks a file, not a network, and several hosts
    sharing a file on a network mount corrupt it or wait on its lock.

    The file is migrated once per :class:`EventLog`; if it disappears later (deleted,
    or replaced by an empty file) the next call creates it again, re-runs the
    migrations, logs a warning and counts it in :meth:`health`.
    """

    engine = "sqlite"
    buffered = False

    def __init__(self, path: Path | str, query_max_chars: int = 100) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.query_max_chars = query_max_chars
        self._dropped = 0
        self._ready = False
        self._lock = threading.Lock()
        self._recreated = 0
        self._last_error: str | None = None
        self._last_ok = True

    def _lost(self, why: str) -> None:
        """Forget the migrated state after the file or its tables vanished (lock held)."""
        if not self._ready:
            return  # another thread already noticed this loss
        self._ready = False
        self._recreated += 1
        logger.warning("the events database %s %s; creating it again (recreated %d time(s))",
                    self.path, why, self._recreated)
        if not self.path.exists():
            for suffix in ("-wal", "-shm"):  # stale journals of the lost file
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self.path}{suffix}").unlink()

    @contextlib.contextmanager
    def connect(self, busy_timeout_ms: int = 10000) -> Iterator[sqlite3.Connection]:
        """A connection with the schema up to date, committed on success, always closed."""
        with self._lock:
            if self._ready and not self.path.exists():
                self._lost("was deleted")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                conn = sqlite3.connect(self.path, timeout=10)
            except sqlite3.Error as exc:
                self._failed(f"cannot open the events database: {exc}")
                raise HelpgenError(f"cannot open the events database: {exc}", self.path,
                                   exit_code=3) from None
            try:
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                if not self._ready:
                    migrate(conn, self.path)
                    self._ready = True
            except sqlite3.DatabaseError as exc:
                conn.close()
                self._failed(f"events database error: {exc}")
                raise HelpgenError(f"events database error: {exc} (is it a helpgen events "
                                   "file?)", self.path, exit_code=3) from None
            except BaseException:
                conn.close()
                raise
        try:
            with conn:
                yield conn
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                with self._lock:
                    self._lost("lost its tables")
                raise _SchemaLost(f"events database error: {exc} (the file lost its tables; "
                                  "it is created again on the next call)", self.path,
                                  exit_code=3) from None
            self._failed(f"events database error: {exc}")
            raise HelpgenError(f"events database error: {exc} (is it a helpgen events file?)",
                               self.path, exit_code=3) from None
        except sqlite3.DatabaseError as exc:
            self._failed(f"events database error: {exc}")
            raise HelpgenError(f"events database error: {exc} (is it a helpgen events file?)",
                               self.path, exit_code=3) from None
        finally:
            conn.close()
        self._last_ok = True

    def _failed(self, message: str) -> None:
        self._last_ok = False
        self._last_error = message

    def _run(self, work: Callable[[sqlite3.Connection], T], busy_timeout_ms: int = 10000) -> T:
        """``work`` in a transaction; once more on a fresh file if the tables vanished."""
        for attempt in (1, 2):
            try:
                with self.connect(busy_timeout_ms) as conn:
                    return work(conn)
            except _SchemaLost as exc:
                if attempt == 2:
                    self._failed(exc.problem.msg)
                    raise HelpgenError(f"{exc.problem.msg}; creating it again did not help",
                                       self.path, exit_code=3) from None
        raise AssertionError("unreachable")

    def health(self) -> dict[str, Any]:
        """State for ``/healthz``: ``ok`` (the last call succeeded and a migrated file has
        not vanished since), ``recreated`` (how often the file was created again),
        ``last_error`` (the most recent failure, without the file's path),
        ``path_exists``, ``buffered`` (always 0: SQLite writes in the request) and
        ``dropped`` (events :meth:`submit` could not store). Cheap: it does not open the
        database."""
        exists = self.path.exists()
        return {"ok": self._last_ok and (exists or not self._ready), "engine": self.engine,
                "recreated": self._recreated, "last_error": self._last_error,
                "path_exists": exists, "buffered": 0, "dropped": self._dropped}

    def submit(self, event: Event) -> None:
        """Store ``event`` now; a failure is logged and counted as dropped, never raised."""
        try:
            self.record(event)
        except HelpgenError as exc:
            with self._lock:
                self._dropped += 1
            logger.error("recording an event failed: %s", exc)

    def flush(self, timeout: float = 10.0) -> bool:
        return True  # nothing is buffered

    def close(self) -> None:
        pass  # connections are per call

    def exists(self) -> bool:
        return self.path.exists()

    def count(self) -> int:
        if not self.path.exists():
            return 0
        return int(self._run(lambda conn: conn.execute("SELECT COUNT(*) FROM events")
                             .fetchone()[0]))

    def rows(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """The rows of one portable SELECT (see :class:`EventStore`) as dicts."""
        args = list(args)
        return self._run(lambda conn: [dict(r) for r in conn.execute(sql, args).fetchall()])

    def record(self, *events: Event) -> int:
        """Store ``events`` (each checked by :func:`check_row`); returns how many."""
        rows = [check_row(e, self.query_max_chars) for e in events]

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(f"INSERT OR REPLACE INTO events ({INSERT_COLUMNS}) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany(DRAFT_UPSERT, draft_rows(rows))

        self._run(work)
        return len(rows)

    def write(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """One portable statement (``?`` placeholders) for each of ``rows``, one transaction."""
        rows = [tuple(r) for r in rows]
        self._run(lambda conn: conn.executemany(sql, rows))

    def events(self, market: str | None = None, since: str | None = None) -> list[Event]:
        """Stored events, oldest first, optionally for one market and from ``since``."""
        sql, args = _where(market, since)
        rows = self._run(lambda conn: conn.execute(
            f"SELECT {', '.join(FIELDS)} FROM events{sql} ORDER BY id", args).fetchall())
        return [Event(**dict(r)) for r in rows]

    def prune(self, retention_days: int, max_rows: int, now: _dt.datetime | None = None,
              wait: bool = True, draft_retention_days: int = 0) -> int | None:
        """Retention: drop events older than ``retention_days`` (0 keeps any age) and all
        but the newest ``max_rows``; per-draft rows older than ``draft_retention_days``
        (0 keeps any age) and all but the newest ``max_rows``. Returns how many events
        were deleted.

        One process at a time: the deletes run under SQLite's write lock (``BEGIN
        IMMEDIATE``). With ``wait=False`` (the server) a lock held by another process
        means it is pruning or writing: this call returns None at once and the next
        scheduled prune tries again.
        """
        statements = prune_statements(prune_cutoff(retention_days, now), max_rows,
                                      prune_cutoff(draft_retention_days, now))

        def work(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            deleted = 0
            for statement, args, counted in statements:
                n = conn.execute(statement, args).rowcount
                deleted += n if counted else 0
            return int(deleted)

        if wait:
            return self._run(work)
        try:
            return self._run(work, busy_timeout_ms=0)
        except HelpgenError as exc:
            if "locked" in exc.problem.msg or "busy" in exc.problem.msg:
                self._last_ok = True  # another process holds the lock: not a failure
                return None
            raise

    def schema_version(self) -> int:
        return self._run(_version)

    def journal_mode(self) -> str:
        return self._run(lambda conn: str(conn.execute("PRAGMA journal_mode").fetchone()[0]))


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


def _version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND "
                       "name='schema_version'").fetchone()
    if row is None:
        return 0
    got = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    return int(got or 0)


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


def migrate(conn: sqlite3.Connection, path: Path | str = "events", target: int = SCHEMA_VERSION
            ) -> int:
    """Switch to WAL and apply the missing :data:`MIGRATIONS` up to ``target``."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")  # one process migrates at a time
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
                     "applied TEXT NOT NULL)")
        current = _version(conn)
        if current and conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                    "name = 'events'").fetchone() is None:
            conn.execute("DELETE FROM schema_version")  # the events table is gone: start afresh
            conn.execute("DROP TABLE IF EXISTS drafts")
            current = 0
        apply_migrations(conn, current, target, MIGRATIONS,
                         "INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                         path, "file")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return max(current, target)


def _where(market: str | None, since: str | None, ts: str = "ts") -> tuple[str, list[Any]]:
    clauses, args = [], []
    if market:
        clauses.append("market = ?")
        args.append(market)
    if since:
        clauses.append(f"{ts} >= ?")
        args.append(since)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


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


# --------------------------------------------------------------------------- report

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
    where, args = _where(market, since)
    w = where or " WHERE 1=1"

    def rows(sql: str, *extra: Any) -> list[dict[str, Any]]:
        return log.rows(sql, [*args, *extra])

    def one(sql: str, *extra: Any) -> int:
        return int(next(iter(rows(sql, *extra)[0].values())) or 0)

    total = one(f"SELECT COUNT(*) AS n FROM events{where}")
    by_type = {r["type"]: int(r["n"]) for r in rows(
        f"SELECT type, COUNT(*) AS n FROM events{w} GROUP BY type ORDER BY type")}

    dwhere, dargs = _where(market, since, ts="last_ts")
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
