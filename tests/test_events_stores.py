"""What differs between the two event stores, each against the real engine: settings
and URLs in helpgen.yml, the libpq password, migrations and retention one process at a
time, dropped tables, and `helpgen events copy` from SQLite into PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from helpgen import cli, config, events
from helpgen.events import postgres as events_pg
from helpgen.errors import HelpgenError

from pgcluster import PASSWORD, PASSWORD_ROLE
from projectkit import copy_project


def _project_with(tmp_path, text: str):
    root = copy_project(tmp_path / "project")
    with (root / "helpgen.yml").open("a", encoding="utf-8") as fh:
        fh.write(text)
    return root


def _line_of(root, needle: str) -> int:
    lines = (root / "helpgen.yml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


# ---- helpgen.yml -----------------------------------------------------------------------

def test_a_password_in_the_events_url_is_a_config_error_at_its_line(tmp_path):
    root = _project_with(tmp_path, "\nevents:\n  db: postgresql://app:hunter2@db.internal/help\n")
    with pytest.raises(HelpgenError) as info:
        config.load(root)
    text = str(info.value)
    assert f"helpgen.yml:{_line_of(root, 'hunter2')}:" in text
    assert "PGPASSWORD" in text and "~/.pgpass" in text


@pytest.mark.parametrize("value, ok", [
    ("postgresql://app@db.internal:5432/help?sslmode=verify-full", True),
    ("postgres://app@db.internal/help", True),
    ("sqlite:///data/events.sqlite3", True),
    ("data/events.sqlite3", True),
    ("postgresql://app@db.internal/help?password=x", False),
    ("mysql://app@db.internal/help", False),
])
def test_events_db_accepts_a_path_or_sqlite_or_postgresql_urls(tmp_path, value, ok):
    root = _project_with(tmp_path, f"\nevents:\n  db: '{value}'\n")
    if ok:
        assert config.load(root).setting("events.db") == value
    else:
        with pytest.raises(HelpgenError, match="events.db"):
            config.load(root)


def test_sqlite_urls_and_paths_resolve_against_the_project(tmp_path):
    assert events.store_target("sqlite:///data/e.db", tmp_path) == tmp_path / "data" / "e.db"
    assert events.store_target("sqlite:////srv/e.db", tmp_path).as_posix() == "/srv/e.db"
    assert events.store_target("e.db", tmp_path) == tmp_path / "e.db"
    url = "postgresql://app@db/help?sslmode=require"
    assert events.store_target(url, tmp_path) == url


def test_old_retention_names_still_work_with_a_deprecation_warning(tmp_path):
    root = _project_with(tmp_path, "\nserver:\n  events_max_rows: 50\n"
                                   "  events_retention_days: 30\n")
    cfg = config.load(root)
    assert cfg.setting("events.max_rows") == 50 and cfg.setting("events.retention_days") == 30
    messages = [str(w) for w in cfg.warnings]
    line = _line_of(root, "events_max_rows")
    assert any(f"helpgen.yml:{line}:" in m and "server.events_max_rows is deprecated" in m
               and "events.max_rows" in m for m in messages)
    from helpgen.server import ServerSettings

    assert ServerSettings.from_config(cfg).events_max_rows == 50
    new = config.load(_project_with(tmp_path / "n", "\nserver:\n  events_max_rows: 50\n"
                                                    "events:\n  max_rows: 70\n"))
    assert new.setting("events.max_rows") == 70  # the new name wins


# ---- PostgreSQL: libpq password, migrations, locks ---------------------------------------

def test_the_password_comes_from_pgpassword_or_a_pgpass_file(pg_url, tmp_path, monkeypatch):
    url = pg_url.replace("helpgen@", f"{PASSWORD_ROLE}@")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    store = events.open_store(url)
    with pytest.raises(HelpgenError, match="refused the login.*PGPASSWORD"):
        store.record(events.Event("helpful", "us"))
    store.close()
    assert PASSWORD not in json.dumps(store.health())

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    store = events.open_store(url)
    store.record(events.Event("helpful", "us"))
    store.close()

    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:*:*:{PASSWORD_ROLE}:{PASSWORD}\n", encoding="utf-8")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    store = events.open_store(url)
    assert len(store.events()) == 1
    store.close()


def test_servers_starting_together_migrate_once(pg_url):
    stores = [events.open_store(pg_url) for _ in range(4)]
    errors: list[Exception] = []

    def start(store) -> None:
        try:
            store.record(events.Event("helpful", "us"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    versions = stores[0].rows("SELECT version FROM schema_version ORDER BY version")
    assert [r["version"] for r in versions] == list(range(1, events.SCHEMA_VERSION + 1))
    assert stores[0].count() == 4
    for s in stores:
        s.close()


def test_a_newer_postgresql_schema_is_refused_with_advice(pg_url, pg_cluster):
    events.open_store(pg_url).record(events.Event("helpful", "us"))
    pg_cluster.admin("INSERT INTO schema_version VALUES (99, 'future')",
                     dbname=pg_url.rsplit("/", 1)[1])
    store = events.open_store(pg_url)
    with pytest.raises(HelpgenError, match="v99.*upgrade helpgen"):
        store.events()
    store.close()


def test_dropped_postgresql_tables_are_created_again(pg_url, pg_cluster):
    store = events.open_store(pg_url)
    store.record(events.Event("helpful", "us"))
    pg_cluster.admin("DROP TABLE events", dbname=pg_url.rsplit("/", 1)[1])
    store.record(events.Event("solved", "us"))
    assert [e.type for e in store.events()] == ["solved"]
    store.close()


def test_postgresql_prunes_in_one_process_at_a_time(pg_url):
    import psycopg

    store = events.open_store(pg_url)
    store.record(events.Event("helpful", "us", ts="2020-01-01T00:00:00.000000Z"),
                 events.Event("helpful", "us"))
    with psycopg.connect(pg_url, autocommit=True) as other:  # another server pruning
        other.execute("SELECT pg_advisory_lock(%s)", (events_pg.PRUNE_LOCK,))
        assert store.prune(400, 1000, wait=False) is None
        assert store.count() == 2
        other.execute("SELECT pg_advisory_unlock(%s)", (events_pg.PRUNE_LOCK,))
    assert store.prune(400, 1000, wait=False) == 1
    assert store.health()["ok"]
    store.close()


def test_sqlite_prunes_in_one_process_at_a_time(tmp_path):
    path = tmp_path / "e.sqlite3"
    store = events.open_store(path)
    store.record(events.Event("helpful", "us", ts="2020-01-01T00:00:00.000000Z"),
                 events.Event("helpful", "us"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert store.prune(400, 1000, wait=False) is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.health()["ok"]
    assert store.prune(400, 1000, wait=False) == 1


# ---- helpgen events copy -----------------------------------------------------------------

def test_events_copy_moves_a_sqlite_store_into_postgresql_once(tmp_path, pg_url, capsys):
    root = _project_with(tmp_path, "\nevents:\n  db: data/ev.sqlite3\n")
    source = events.open_store(root / "data" / "ev.sqlite3")
    for i in range(30):
        draft = f"draft{i:04d}"
        source.record(events.Event("suggestion_shown", "us", "2026.11", "submit-a-ticket",
                                   draft, "ticket-submission"),
                      events.Event("solved" if i % 3 else "ticket_submitted_anyway", "us",
                                   "2026.11", "submit-a-ticket", draft, "ticket-submission"))
    source.record(events.Event("no_suggestion", "us", draft_id="draft9999", query="vat"),
                  events.Event("search", "us", query="payout fee", results=0))
    assert cli.main(["--project", str(root), "events", "copy", "--to", pg_url]) == 0
    assert "copied 62 event(s)" in capsys.readouterr().out

    reports = []
    for target in (str(root / "data" / "ev.sqlite3"), pg_url):
        assert cli.main(["--project", str(root), "report", "--format", "json",
                         "--events-db", target]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[0] == reports[1]  # one report SQL, the same answer on both engines
    assert reports[1]["deflection_rate"] == 0.6667 and reports[1]["events"] == 62

    assert cli.main(["--project", str(root), "events", "copy", "--to", pg_url]) == 2
    err = capsys.readouterr().err
    assert "already holds 62 event(s)" in err and "counted twice" in err
    assert cli.main(["--project", str(root), "report", "--format", "json",
                     "--events-db", pg_url]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 62


def test_events_copy_refuses_a_password_in_the_target_url(tmp_path, capsys):
    root = _project_with(tmp_path, "\nevents:\n  db: data/ev.sqlite3\n")
    events.open_store(root / "data" / "ev.sqlite3").record(events.Event("helpful", "us"))
    assert cli.main(["--project", str(root), "events", "copy", "--to",
                     "postgresql://app:hunter2@127.0.0.1/x"]) == 2
    err = capsys.readouterr().err
    assert "PGPASSWORD" in err and "hunter2" not in err
