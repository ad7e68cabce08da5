"""One interface for both stores (:class:`EventStore`), choosing one from ``events.db``
(:func:`open_store`), and copying events between them."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol

from ..config import POSTGRES_SCHEMES, events_db_problem as url_problem
from ..errors import HelpgenError
from .model import Event
from .schema import DRAFT_COLUMNS, DRAFT_UPSERT
from .sqlite import EventLog

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
        from .postgres import PostgresStore

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
