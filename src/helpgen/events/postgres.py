"""The PostgreSQL event store: one database shared by every server process and host.

Install with ``pip install 'helpgen[postgres]'`` (psycopg 3 and its pool). ``events.db:
postgresql://user@host:5432/dbname?sslmode=verify-full`` selects it; the password never
sits in the URL of ``helpgen.yml``: libpq reads it from ``PGPASSWORD`` or ``~/.pgpass``.
Any libpq parameter can go in the URL's query (``sslmode``, ``sslrootcert``,
``connect_timeout``, ``application_name``).

Writes from requests go through :meth:`PostgresStore.submit`: the row is checked, put in
a bounded in-memory buffer (``events.buffer_size``) and written in batches by one writer
thread, so a request never waits on the database. While PostgreSQL is unreachable the
writer retries with a growing pause (up to 5 s); once the buffer is full new events are
dropped and counted (``dropped`` in ``/healthz``). Reads (``helpgen report``) and the
writer share a pool of at most ``events.pool_size`` connections per process.

Schema: the same tables, columns and numbered migrations as the SQLite store
(:data:`MIGRATIONS`, recorded in ``schema_version``), applied under an advisory lock so
that servers starting together migrate once. Retention is pruned under another advisory
lock taken with ``pg_try_advisory_xact_lock``: one process prunes, the others skip.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import logging
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

from ..errors import HelpgenError
from .model import FIELDS, Event, check_row
from .schema import (DRAFT_UPSERT, DRAFTS_MIGRATION, INSERT_COLUMNS, SCHEMA_VERSION,
                     apply_migrations, draft_rows, prune_cutoff, prune_statements, where_clause)
from .stores import StoreOptions, redact

logger = logging.getLogger("helpgen.events")
T = TypeVar("T")

#: Advisory lock keys (per database): migrating, pruning.
MIGRATE_LOCK = 0x68656C7001
PRUNE_LOCK = 0x68656C7002
#: Rows written per INSERT batch by the writer thread.
BATCH_ROWS = 500
#: version -> statements, the PostgreSQL spelling of events.MIGRATIONS (same versions).
MIGRATIONS: Mapping[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "ts TEXT NOT NULL, type TEXT NOT NULL, market TEXT NOT NULL, "
        "version TEXT NOT NULL DEFAULT '', article_id TEXT, draft_id TEXT, query TEXT)",
        "CREATE INDEX events_type_ts ON events(type, ts)",
    ),
    2: (
        "ALTER TABLE events ADD COLUMN category TEXT",
        "ALTER TABLE events ADD COLUMN results INTEGER",
        "CREATE INDEX events_market_ts ON events(market, ts)",
    ),
    3: (
        "CREATE UNIQUE INDEX events_no_suggestion_draft ON events(draft_id) "
        "WHERE type = 'no_suggestion'",
    ),
    4: DRAFTS_MIGRATION,  # the same SQL on both engines
}
INSERT_SQL = (
    f"INSERT INTO events ({INSERT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (draft_id) WHERE type = 'no_suggestion' DO UPDATE SET ts = EXCLUDED.ts, "
    "market = EXCLUDED.market, version = EXCLUDED.version, "
    "article_id = EXCLUDED.article_id, category = EXCLUDED.category, "
    "query = EXCLUDED.query, results = EXCLUDED.results")


def pg_sql(sql: str) -> str:
    """The portable SQL of the report (``?`` placeholders) in psycopg's spelling."""
    return sql.replace("%", "%%").replace("?", "%s")


def _import_psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError:
        raise HelpgenError("events.db is a PostgreSQL URL but psycopg is not installed: "
                           "pip install 'helpgen[postgres]'", exit_code=2) from None
    return psycopg, psycopg_pool


class PostgresStore:
    """The events of the database at ``url`` (see the module docstring)."""

    engine = "postgresql"
    buffered = True

    def __init__(self, url: str, options: StoreOptions | None = None) -> None:
        self.url = url
        self.location = redact(url)
        self.options = options or StoreOptions()
        self.query_max_chars = self.options.query_max_chars
        self._psycopg, self._pool_mod = _import_psycopg()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pool: Any = None
        self._ready = False
        self._buffer: collections.deque[tuple[Any, ...]] = collections.deque()
        self._writer: threading.Thread | None = None
        self._closing = False
        self._dropped = 0
        self._written = 0
        self._last_ok = True
        self._last_error: str | None = None
        self._warned_full = False

    # ---- connections

    def _get_pool(self) -> Any:
        with self._lock:
            if self._closing:
                raise HelpgenError("the events store is closed", exit_code=3)
            if self._pool is None:
                kwargs: dict[str, Any] = {"application_name": "helpgen"}
                if "connect_timeout" not in self.url:
                    kwargs["connect_timeout"] = 5
                self._pool = self._pool_mod.ConnectionPool(
                    self.url, min_size=1, max_size=max(1, self.options.pool_size),
                    kwargs=kwargs, open=False, timeout=5.0, name="helpgen-events",
                    check=self._pool_mod.ConnectionPool.check_connection)
                self._pool.open(wait=False)
            return self._pool

    def _failed(self, exc: Exception) -> HelpgenError:
        psycopg = self._psycopg
        if isinstance(exc, self._pool_mod.PoolTimeout):
            exc = self._why_no_connection(exc)
        text = str(exc)
        if "password" in text or "authentication" in text:
            public = ("PostgreSQL refused the login (libpq takes the password from "
                      "PGPASSWORD or ~/.pgpass)")
        elif isinstance(exc, (psycopg.OperationalError, self._pool_mod.PoolTimeout)):
            public = "PostgreSQL is unreachable"
        else:
            public = f"PostgreSQL error {getattr(exc, 'sqlstate', None) or type(exc).__name__}"
        self._last_ok = False
        self._last_error = public
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return HelpgenError(f"events database error: {public}: {first}", self.location,
                            exit_code=3)

    def _why_no_connection(self, timeout: Exception) -> Exception:
        """The pool only says it timed out: one direct connection tells why (refused,
        login, TLS), or that the pool is busy."""
        try:
            with self._psycopg.connect(self.url, connect_timeout=5):
                pass
        except self._psycopg.Error as exc:
            return exc
        return RuntimeError(f"all events.pool_size={self.options.pool_size} connections are "
                            f"busy ({timeout})")

    @contextlib.contextmanager
    def connect(self) -> Iterator[Any]:
        """A pooled connection with the schema up to date, in a transaction."""
        psycopg = self._psycopg
        pool = self._get_pool()
        try:
            with pool.connection() as conn:
                if not self._ready:
                    migrate(conn, self.location)
                    self._ready = True
                with conn.transaction():
                    yield conn
        except HelpgenError:
            raise
        except psycopg.errors.UndefinedTable:
            self._ready = False  # the tables were dropped: migrate again on the next call
            raise _TablesLost() from None
        except (psycopg.Error, self._pool_mod.PoolTimeout) as exc:
            raise self._failed(exc) from None
        self._last_ok = True

    def _run(self, work: Callable[[Any], T]) -> T:
        for attempt in (1, 2):
            try:
                with self.connect() as conn:
                    return work(conn)
            except _TablesLost:
                if attempt == 2:
                    raise HelpgenError("events database error: the events table is missing "
                                       "after migrating", self.location, exit_code=3) from None
                logger.warning("the events tables of %s were dropped; creating them again",
                               self.location)
        raise AssertionError("unreachable")

    # ---- writing

    def record(self, *events: Event) -> int:
        """Store ``events`` now (each checked by :func:`check_row`); returns how many."""
        rows = [check_row(e, self.query_max_chars) for e in events]
        self._insert(rows)
        return len(rows)

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        drafts = draft_rows(rows)

        def work(conn: Any) -> None:
            with conn.cursor() as cur:
                cur.executemany(INSERT_SQL, rows)
                if drafts:
                    cur.executemany(pg_sql(DRAFT_UPSERT), drafts)

        self._run(work)

    def write(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """One portable statement (``?`` placeholders) for each of ``rows``, one transaction."""
        rows = [tuple(r) for r in rows]

        def work(conn: Any) -> None:
            with conn.cursor() as cur:
                cur.executemany(pg_sql(sql), rows)

        self._run(work)

    def submit(self, event: Event) -> None:
        """Queue ``event`` for the writer thread; never raises, never waits on PostgreSQL.
        A full buffer (PostgreSQL down or slow) drops the event and counts it."""
        try:
            row = check_row(event, self.query_max_chars)
        except HelpgenError as exc:
            logger.error("recording an event failed: %s", exc)
            with self._lock:
                self._dropped += 1
            return
        with self._wake:
            if self._closing or len(self._buffer) >= max(1, self.options.buffer_size):
                self._dropped += 1
                if not self._warned_full:
                    self._warned_full = True
                    logger.error("the events buffer is full (%d events; PostgreSQL %s): "
                                 "dropping new events until it drains",
                                 len(self._buffer), self._last_error or "is slow")
                return
            self._buffer.append(row)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop,
                                                name="helpgen-events-writer", daemon=True)
                self._writer.start()
            self._wake.notify_all()

    def _write_loop(self) -> None:
        pause = 0.1
        while True:
            with self._wake:
                while not self._buffer and not self._closing:
                    self._wake.wait()
                if not self._buffer:
                    return
                batch = [self._buffer[i] for i in range(min(BATCH_ROWS, len(self._buffer)))]
            try:
                self._insert(batch)
            except HelpgenError as exc:
                logger.warning("writing %d buffered event(s) failed, retrying in %.1f s: %s",
                               len(batch), pause, exc.problem.msg)
                with self._wake:
                    if self._closing:
                        self._dropped += len(self._buffer)
                        self._buffer.clear()
                        self._wake.notify_all()
                        return
                    self._wake.wait(pause)
                pause = min(pause * 2, 5.0)
                continue
            except Exception:  # a bug must not kill the writer silently
                logger.exception("the events writer failed; dropping %d event(s)", len(batch))
                with self._wake:
                    for _ in batch:
                        self._buffer.popleft()
                    self._dropped += len(batch)
                continue
            pause = 0.1
            with self._wake:
                for _ in batch:
                    self._buffer.popleft()
                self._written += len(batch)
                self._warned_full = False
                self._wake.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the buffer is written (True) or ``timeout`` seconds pass (False)."""
        end = time.monotonic() + timeout
        with self._wake:
            while self._buffer:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.1))
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is buffered (for up to ``timeout`` s), stop the writer, close the pool.
        Events still buffered then are counted as dropped."""
        self.flush(timeout)
        with self._wake:
            self._closing = True
            self._wake.notify_all()
            writer, pool = self._writer, self._pool
        if writer is not None:
            writer.join(timeout)
        with self._wake:
            self._dropped += len(self._buffer)
            self._buffer.clear()
        if pool is not None:
            pool.close()

    # ---- reading

    def rows(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """The rows of one portable SELECT (see :class:`helpgen.events.EventStore`)."""
        from psycopg.rows import dict_row

        args = list(args)

        def work(conn: Any) -> list[dict[str, Any]]:
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(pg_sql(sql), args)
                return list(cur.fetchall())

        return self._run(work)

    def exists(self) -> bool:
        """True when the events table exists (the report does not create it)."""
        def work(conn: Any) -> bool:
            return conn.execute("SELECT to_regclass('events') IS NOT NULL").fetchone()[0]

        try:
            with self._get_pool().connection() as conn:
                return bool(work(conn))
        except (self._psycopg.Error, self._pool_mod.PoolTimeout) as exc:
            raise self._failed(exc) from None

    def count(self) -> int:
        if not self.exists():
            return 0
        return int(self.rows("SELECT COUNT(*) AS n FROM events")[0]["n"])

    def events(self, market: str | None = None, since: str | None = None) -> list[Event]:
        sql, args = where_clause(market, since)
        rows = self.rows(f"SELECT {', '.join(FIELDS)} FROM events{sql} ORDER BY id", args)
        return [Event(**r) for r in rows]

    def prune(self, retention_days: int, max_rows: int, now: _dt.datetime | None = None,
              wait: bool = True, draft_retention_days: int = 0) -> int | None:
        """Retention, as :meth:`helpgen.events.EventLog.prune`, under an advisory lock: with
        ``wait=False`` a prune running in another process makes this one return None."""
        statements = prune_statements(prune_cutoff(retention_days, now), max_rows,
                                      prune_cutoff(draft_retention_days, now))

        def work(conn: Any) -> int | None:
            if wait:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (PRUNE_LOCK,))
            elif not conn.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                  (PRUNE_LOCK,)).fetchone()[0]:
                return None
            deleted = 0
            for statement, args, counted in statements:
                n = conn.execute(pg_sql(statement), args).rowcount
                deleted += n if counted else 0
            return deleted

        return self._run(work)

    def schema_version(self) -> int:
        return self._run(_version)

    def health(self) -> dict[str, Any]:
        """State for ``/healthz``: ``ok`` (the last database call succeeded), ``engine``,
        ``last_error`` (without host or password), ``buffered`` (events waiting for the
        writer), ``dropped`` (events lost to a full buffer or a failure), ``written``.
        Cheap: it does not touch the database."""
        with self._lock:
            return {"ok": self._last_ok, "engine": self.engine, "recreated": 0,
                    "last_error": self._last_error, "buffered": len(self._buffer),
                    "dropped": self._dropped, "written": self._written}


class _TablesLost(Exception):
    pass


def _version(conn: Any) -> int:
    if not conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
               .fetchone()[0])


def migrate(conn: Any, location: str = "events", target: int = SCHEMA_VERSION) -> int:
    """Apply the missing :data:`MIGRATIONS` up to ``target``, one process at a time."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
                     "applied TEXT NOT NULL)")
        current = _version(conn)
        if current and not conn.execute("SELECT to_regclass('events') IS NOT NULL"
                                         ).fetchone()[0]:
            conn.execute("DELETE FROM schema_version")  # the events table is gone
            conn.execute("DROP TABLE IF EXISTS drafts")
            current = 0
        apply_migrations(conn, current, target, MIGRATIONS,
                         "INSERT INTO schema_version (version, applied) VALUES (%s, %s)",
                         location, "database")
    return max(current, target)
