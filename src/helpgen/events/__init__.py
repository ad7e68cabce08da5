"""What people did with search and suggestions (no personal data), in an event store.

Events are small records: a type from :data:`EVENT_TYPES`, market, version, an article
id, a random *draft id* the ticket page makes per ticket draft, a ticket category, and
for searches the query, masked by :func:`helpgen.privacy.mask` and truncated. Ticket text
is never stored: :func:`check_row` refuses any text column that is not the masked
query or a slug, token or enumerated value.

Two stores share one interface (:class:`EventStore`), chosen by ``events.db``
(:func:`open_store`): a path or ``sqlite:///path`` is :class:`EventLog`, one SQLite
file for one host (the embedded default); ``postgresql://...`` is
:class:`helpgen.events.postgres.PostgresStore`, one database shared by several server
processes and hosts. Both carry their schema version in a ``schema_version`` table and
apply the same numbered migrations (:data:`MIGRATIONS` for SQLite,
``postgres.MIGRATIONS`` in PostgreSQL's spelling); a store written by a newer helpgen is
refused with an error.

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

The package, one module per concern: :mod:`.model` (event records and the checks on
them), :mod:`.schema` (tables, migrations and retention SQL both engines share),
:mod:`.stores` (the interface, choosing and copying stores), :mod:`.sqlite`,
:mod:`.postgres`, and :mod:`.report`.
"""

from __future__ import annotations

from ..privacy import mask
from .model import (CATEGORY_MAX_CHARS, CATEGORY_RE, DRAFT_ID_RE, EVENT_TYPES, FIELDS, MARKET_RE,
                    MAX_KEY_TERMS, SLUG_RE, TS_RE, VERSION_RE, Event, category_slug, check_row,
                    key_terms, make_event, store_category)
from .report import Report, parse_since, report, report_csv, report_table
from .schema import (DRAFT_COLUMNS, DRAFT_UPSERT, MIGRATIONS, SCHEMA_VERSION, SHOWN_TYPES,
                     prune_cutoff)
from .sqlite import EventLog, migrate
from .stores import (POSTGRES_SCHEMES, EventStore, StoreOptions, copy_events, open_store, redact, store_target,
                     url_problem)

__all__ = ["CATEGORY_MAX_CHARS", "CATEGORY_RE", "DRAFT_COLUMNS", "DRAFT_ID_RE", "DRAFT_UPSERT",
           "EVENT_TYPES", "FIELDS", "MARKET_RE", "MAX_KEY_TERMS", "MIGRATIONS", "POSTGRES_SCHEMES",
           "SCHEMA_VERSION", "SHOWN_TYPES", "SLUG_RE", "TS_RE", "VERSION_RE", "Event", "EventLog",
           "EventStore", "Report", "StoreOptions", "category_slug", "check_row", "copy_events",
           "key_terms", "make_event", "mask", "migrate", "open_store", "parse_since",
           "prune_cutoff", "redact", "report", "report_csv", "report_table", "store_category",
           "store_target", "url_problem"]
