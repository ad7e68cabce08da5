"""The SQLite store: one file for one host (the embedded default)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from ..errors import HelpgenError
from .model import Event, check_row
from .model import FIELDS
from .schema import (DRAFT_UPSERT, INSERT_COLUMNS, MIGRATIONS, SCHEMA_VERSION, apply_migrations,
                     draft_rows, prune_cutoff, prune_statements, where_clause)

logger = logging.getLogger("helpgen.events")
T = TypeVar("T")

class _SchemaLost(HelpgenError):
    """The file or its tables vanished under a migrated :class:`EventLog` (the next call
    creates them again; :meth:`EventLog._run` retries once at once)."""

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
        sql, args = where_clause(market, since)
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

def _version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND "
                       "name='schema_version'").fetchone()
    if row is None:
        return 0
    got = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    return int(got or 0)

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
