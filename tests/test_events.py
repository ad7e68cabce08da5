"""The event stores: real SQLite in tmp_path and a real PostgreSQL cluster (the ``store``
fixture runs a test on both), schema versions, masking, the report, retention."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from helpgen import cli, events
from helpgen.errors import HelpgenError

from projectkit import copy_project

MARKETS = ("us", "de", "jp")
CATEGORIES = ("ticket-submission", "return-refund", "registration")


@pytest.mark.parametrize("text, hidden, kept", [
    ("my email is jo.doe+shop@example.co.uk, help", "jo.doe", "help"),
    ("call me on +1 (415) 555-0199 please", "555-0199", "please"),
    ("phone 0171-555 1234", "555 1234", "phone"),
    ("order 576123456789012 never arrived", "576123456789012", "never arrived"),
    ("order #5761234 where is it", "5761234", "where is it"),
    ("charged twice on 4111 1111 1111 1111", "4111", "charged twice"),
    ("card 4111111111111111", "4111111111111111", "card"),
])
def test_mask_replaces_personal_data(text, hidden, kept):
    masked = events.mask(text)
    assert hidden not in masked
    assert kept in masked
    assert "[" in masked


@pytest.mark.parametrize("text", [
    "refund after 90 days", "delivered on 2026-11-25", "ticket 12345 rejected",
    "I have 3 orders and 12 items", "price 1,299.00",
])
def test_mask_keeps_dates_counts_and_short_numbers(text):
    assert events.mask(text) == text


def test_mask_truncates_and_drops_control_characters():
    masked = events.mask("a\x00b\nc " + "x" * 500, max_chars=40)
    assert len(masked) <= 40
    assert "\x00" not in masked and "\n" not in masked


def test_file_is_created_on_first_use_in_wal_mode_with_schema_version(tmp_path):
    path = tmp_path / "deep" / "events.sqlite3"
    log = events.EventLog(path)
    assert not path.exists()
    log.record(events.Event("helpful", "us", "2026.11", "submit-a-ticket"))
    assert path.exists()
    assert log.journal_mode() == "wal"
    assert log.schema_version() == events.SCHEMA_VERSION
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    conn.close()
    assert versions == list(range(1, events.SCHEMA_VERSION + 1))


def test_old_schema_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    events.migrate(conn, path, target=1)
    conn.execute("INSERT INTO events (ts, type, market, version, article_id) VALUES "
                 "('2026-01-01T00:00:00.000000Z', 'solved', 'us', '2026.11', 'x-y')")
    conn.commit()
    conn.close()
    log = events.EventLog(path)
    stored = log.events()
    assert log.schema_version() == events.SCHEMA_VERSION
    assert [(e.type, e.article_id, e.category) for e in stored] == [("solved", "x-y", None)]
    log.record(events.Event("solved", "us", category="return-refund"))
    assert log.events()[-1].category == "return-refund"


def test_newer_schema_is_refused_with_advice(tmp_path):
    path = tmp_path / "new.sqlite3"
    events.EventLog(path).record(events.Event("helpful", "us"))
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'future')")
    conn.close()
    with pytest.raises(HelpgenError, match="v99.*upgrade helpgen"):
        events.EventLog(path).events()


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.sqlite3"
    path.write_text("this is not sqlite " * 100, encoding="utf-8")
    with pytest.raises(HelpgenError, match="events database"):
        events.EventLog(path).events()


def test_stored_queries_are_masked_even_when_recorded_directly(events_target):
    log = events.open_store(events_target, events.StoreOptions(query_max_chars=30))
    log.record(events.Event("search_no_answer", "us", query="refund jo@example.com " * 5))
    (stored,) = log.events()
    log.close()
    assert "jo@example.com" not in stored.query
    assert len(stored.query) <= 30


def test_make_event_validates_every_field_and_names_the_allowed_values():
    with pytest.raises(HelpgenError) as info:
        events.make_event({"type": "clicked", "market": "xx", "draft_id": "my ticket text!",
                           "article_id": "<b>", "category": 7, "results": -1,
                           "description": "secret"}, markets=MARKETS, categories=CATEGORIES)
    msg = str(info.value)
    for part in ("unknown field(s) 'description'", "'type' must be one of suggestion_shown",
                 "'market' must be one of us, de, jp", "'draft_id'", "'article_id'",
                 "'category' must be a text", "'results'"):
        assert part in msg
    assert info.value.exit_code == 2


@pytest.mark.parametrize("sent, stored", [
    ("ticket-submission", "ticket-submission"),
    ("Payout", "payout"),
    ("Orders & Shipping", "orders-shipping"),
    ("Rückerstattung / Réclamation", "ruckerstattung-reclamation"),
    ("返品・返金", "返品-返金"),
    ("Refund for jo@example.com order 576123456", "refund-for-email-order-number"),
    ("x" * 300, "x" * 40),
    ("PAYOUT", "ticket-submission"),  # mapped by category_map
])
def test_any_category_is_accepted_and_stored_as_a_short_slug(store, tmp_path, sent, stored):
    event = events.make_event({"type": "ticket_submitted_anyway", "market": "us",
                               "draft_id": "draft0001", "category": sent},
                              markets=MARKETS, categories=CATEGORIES,
                              category_map={"payout ": "ticket-submission"}
                              if sent == "PAYOUT" else None)
    assert event.category == stored
    log = store
    log.record(event)
    assert log.events()[-1].category == stored
    assert events.make_event({"type": "solved", "market": "us", "category": "!!!"},
                             markets=MARKETS).category is None


def test_report_lists_categories_that_are_none_of_ours(store, tmp_path):
    log = store
    for draft, category in (("draft0001", "Payout"), ("draft0002", "Payout"),
                            ("draft0003", "ticket-submission"), ("draft0004", "Login")):
        log.record(events.make_event({"type": "ticket_submitted_anyway", "market": "us",
                                      "draft_id": draft, "category": category},
                                     markets=MARKETS, categories=CATEGORIES))
    rep = events.report(log, known_categories=CATEGORIES)
    assert rep.unmapped_categories == [{"category": "payout", "drafts": 2},
                                       {"category": "login", "drafts": 1}]
    assert re.search(r"none of ours.*\n.*\n  payout +2", events.report_table(rep))
    assert "unmapped_categories,payout,2" in events.report_csv(rep)
    assert rep.as_dict()["unmapped_categories"][0]["category"] == "payout"
    assert events.report(log).unmapped_categories == []


def test_no_suggestion_is_stored_once_per_draft_in_its_last_state(store, tmp_path):
    log = store

    def sent(query, category=None):
        return events.make_event({"type": "no_suggestion", "market": "us",
                                  "draft_id": "draft0001", "category": category,
                                  "query": query}, markets=MARKETS, categories=CATEGORIES)

    log.record(sent("VAT"))
    log.record(sent("VAT invoice for order 576123456, mail jo@example.com VAT", "Billing"))
    log.record(events.make_event({"type": "no_suggestion", "market": "us",
                                  "draft_id": "draft0002", "query": "ads billing"},
                                 markets=MARKETS))
    stored = [e for e in log.events() if e.type == "no_suggestion"]
    assert [(e.draft_id, e.category, e.query) for e in stored] == [
        ("draft0001", "billing", "vat invoice for order [number] mail [email]"),
        ("draft0002", None, "ads billing")]
    rep = events.report(log)
    assert {(r["category"], r["query"], r["drafts"]) for r in rep.no_suggestion} == {
        ("billing", "vat invoice for order [number] mail [email]", 1),
        (None, "ads billing", 1)}
    assert "Drafts that got no suggestion" in events.report_table(rep)
    assert "no_suggestion,ads billing,1" in events.report_csv(rep)
    with pytest.raises(HelpgenError, match="'draft_id' is required"):
        events.make_event({"type": "no_suggestion", "market": "us", "query": "x"},
                          markets=MARKETS)


def test_a_v2_events_file_migrates_to_the_current_schema_keeping_its_rows(tmp_path):
    path = tmp_path / "e.sqlite3"
    conn = sqlite3.connect(path)
    events.migrate(conn, path, target=2)
    conn.execute("INSERT INTO events (ts, type, market, draft_id) VALUES "
                 "('2026-11-25T10:00:00Z', 'solved', 'us', 'draft0001')")
    conn.commit()
    conn.close()
    log = events.EventLog(path)
    log.record(events.Event("no_suggestion", "us", draft_id="draft0009", query="vat"))
    assert log.schema_version() == events.SCHEMA_VERSION
    assert [e.type for e in log.events()] == ["solved", "no_suggestion"]


def test_make_event_masks_the_query():
    event = events.make_event({"type": "search_no_answer", "market": "de",
                               "query": "Bestellung 576123456789 fehlt, mail a@b.de"},
                              markets=MARKETS, now="2026-11-25T10:00:00.000000Z")
    assert event.query == "Bestellung [number] fehlt, mail [email]"
    assert event.ts == "2026-11-25T10:00:00.000000Z"


def _draft(log, draft, category, outcome, article="submit-a-ticket", market="us",
           ts="2026-11-20T10:00:00.000000Z"):
    log.record(events.Event("suggestion_shown", market, "2026.11", article, draft, category,
                            ts=ts))
    if outcome:
        log.record(events.Event(outcome, market, "2026.11", article, draft, category, ts=ts))


def test_report_counts_deflection_per_article_category_and_gaps(store, tmp_path):
    log = store
    _draft(log, "draft0001", "ticket-submission", "solved")
    _draft(log, "draft0002", "ticket-submission", "solved")
    _draft(log, "draft0003", "ticket-submission", "ticket_submitted_anyway")
    _draft(log, "draft0004", "return-refund", "irrelevant", article="message-the-seller")
    _draft(log, "draft0005", "return-refund", "ticket_submitted_anyway")
    _draft(log, "draft0006", "registration", "solved", market="de")
    log.record(events.Event("search", "us", query="payout fee", results=0),
               events.Event("search", "us", query="payout fee", results=0),
               events.Event("search_no_answer", "us", query="api rate limit"),
               events.Event("search", "us", query="refund", results=3))
    rep = events.report(log, market="us")
    assert rep.drafts_with_suggestions == 5
    assert rep.drafts_solved == 2
    assert rep.deflection_rate == pytest.approx(0.4)
    assert rep.top_deflecting == [{"article_id": "submit-a-ticket", "solved": 2}]
    assert rep.top_irrelevant == [{"article_id": "message-the-seller", "irrelevant": 1}]
    cats = {c["category"]: c for c in rep.categories}
    assert cats["return-refund"]["submitted_anyway"] == 1 and cats["return-refund"]["solved"] == 0
    assert "registration" not in cats  # a German draft
    assert rep.no_answer_searches[0] == {"query": "payout fee", "searches": 2}
    assert {"query": "api rate limit", "searches": 1} in rep.no_answer_searches
    assert rep.top_searches[0]["query"] == "payout fee"
    assert events.report(log).drafts_with_suggestions == 6


def test_report_since_filters_old_events(store, tmp_path):
    log = store
    _draft(log, "olddraft1", "return-refund", "solved", ts="2026-01-01T00:00:00.000000Z")
    _draft(log, "newdraft1", "return-refund", "ticket_submitted_anyway")
    rep = events.report(log, since=events.parse_since("2026-06-01"))
    assert rep.drafts_with_suggestions == 1
    assert rep.deflection_rate == 0.0


def test_concurrent_writers_lose_nothing(store, tmp_path):
    log = store
    log.record(events.Event("helpful", "us"))

    def write(n: int) -> None:
        for i in range(25):
            log.record(events.Event("helpful", "us", article_id=f"a-{n}-{i}"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log.events()) == 101


def test_report_command_reads_the_configured_file_in_every_format(tmp_path, capsys):
    root = copy_project(tmp_path / "project")
    with (root / "helpgen.yml").open("a", encoding="utf-8") as fh:
        fh.write("\nevents:\n  db: data/ev.sqlite3\n")
    log = events.EventLog(root / "data" / "ev.sqlite3")
    _draft(log, "draft0001", "return-refund", "solved", article="message-the-seller")
    _draft(log, "draft0002", "return-refund", "ticket_submitted_anyway")
    log.record(events.Event("search_no_answer", "us", query="carrier damage claim"))

    assert cli.main(["--project", str(root), "report", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["deflection_rate"] == 0.5
    assert data["top_deflecting"] == [{"article_id": "message-the-seller", "solved": 1}]

    assert cli.main(["--project", str(root), "report"]) == 0
    table = capsys.readouterr().out
    assert "50.0%" in table and "carrier damage claim" in table and "return-refund" in table

    assert cli.main(["--project", str(root), "report", "--format", "csv"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text.splitlines()[0] == "section,key,value"
    assert "deflection_rate,,0.5" in csv_text

    assert cli.main(["--project", str(root), "report", "--market", "de", "--format",
                     "json"]) == 0
    assert json.loads(capsys.readouterr().out)["drafts_with_suggestions"] == 0

    assert cli.main(["--project", str(root), "report", "--market", "zz"]) == 2
    assert "allowed: us" in capsys.readouterr().err
    assert cli.main(["--project", str(root), "report", "--since", "yesterday"]) == 2


def test_report_command_on_a_missing_file_says_there_is_nothing_yet(tmp_path, capsys):
    root = copy_project(tmp_path / "project")
    assert cli.main(["--project", str(root), "report", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 0
    assert not Path(root / "helpgen-events.sqlite3").exists()


def test_prune_drops_old_events_and_keeps_only_the_newest_rows(store, tmp_path):
    import datetime as dt

    log = store
    log.record(events.Event("helpful", "us", ts="2020-01-01T00:00:00.000000Z"),
               *[events.Event("helpful", "us", ts=f"2026-11-2{i}T00:00:00.000000Z")
                 for i in range(5)])
    now = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)
    assert log.prune(retention_days=400, max_rows=1000, now=now) == 1  # the 2020 event
    assert len(log.events()) == 5
    assert log.prune(retention_days=0, max_rows=2, now=now) == 3
    assert [e.ts[:10] for e in log.events()] == ["2026-11-23", "2026-11-24"]


# ---- a lost file is created again -------------------------------------------------------

def test_deleted_file_is_created_again_logged_once_and_counted(tmp_path, caplog):
    path = tmp_path / "e.sqlite3"
    log = events.EventLog(path)
    assert log.health() == {"ok": True, "engine": "sqlite", "recreated": 0, "last_error": None,
                            "path_exists": False, "buffered": 0, "dropped": 0}
    log.record(events.Event("helpful", "us", article_id="before-delete"))
    path.unlink()
    assert log.health()["ok"] is False  # migrated once, file gone: degraded until the next call
    assert log.health()["path_exists"] is False
    with caplog.at_level("WARNING", logger="helpgen.events"):
        assert log.record(events.Event("helpful", "us", article_id="first-after")) == 1
        log.record(events.Event("not_helpful", "us", article_id="second-after"))
        log.record(events.Event("search", "us", query="refund", results=2))
    assert [e.article_id for e in log.events()] == ["first-after", "second-after", None]
    assert log.schema_version() == events.SCHEMA_VERSION
    warnings = [r for r in caplog.records if r.name == "helpgen.events"]
    assert len(warnings) == 1 and "creating it again" in warnings[0].getMessage()
    assert log.health() == {"ok": True, "engine": "sqlite", "recreated": 1, "last_error": None,
                            "path_exists": True, "buffered": 0, "dropped": 0}


def test_emptied_file_is_migrated_again(tmp_path):
    path = tmp_path / "e.sqlite3"
    log = events.EventLog(path)
    log.record(events.Event("helpful", "us"))
    path.write_bytes(b"")  # an empty file is an empty database: "no such table"
    log.record(events.Event("solved", "us", article_id="after-empty"))
    assert [e.article_id for e in log.events()] == ["after-empty"]
    assert log.health()["recreated"] == 1 and log.health()["ok"]


def test_dropped_events_table_is_created_again(tmp_path):
    path = tmp_path / "e.sqlite3"
    log = events.EventLog(path)
    log.record(events.Event("helpful", "us"))
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE events")
    conn.commit()
    conn.close()
    log.record(events.Event("solved", "us", article_id="after-drop"))
    assert [e.article_id for e in log.events()] == ["after-drop"]
    assert log.health()["recreated"] == 1
    report = events.report(log)
    assert report.events == 1


def test_deleted_file_under_concurrent_writers_is_created_once(tmp_path):
    path = tmp_path / "e.sqlite3"
    log = events.EventLog(path)
    log.record(events.Event("helpful", "us"))
    path.unlink()
    errors = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                log.record(events.Event("helpful", "us", article_id=f"a-{n}-{i}"))
        except HelpgenError as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(log.events()) == 40
    assert log.health()["recreated"] == 1


def test_health_reports_the_last_error_without_the_path(tmp_path):
    folder = tmp_path / "secret-location" / "e.sqlite3"
    folder.mkdir(parents=True)  # a folder where the file should be: cannot be opened
    log = events.EventLog(folder)
    with pytest.raises(HelpgenError, match="events database"):
        log.record(events.Event("helpful", "us"))
    health = log.health()
    assert health["ok"] is False and health["path_exists"] is True
    assert health["last_error"] and "secret-location" not in health["last_error"]


# ---- no free text but the masked query --------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("category", "my order 576123 never came, jo@example.com"),
    ("article_id", "Refund Please"),
    ("draft_id", "ticket text here"),
    ("market", "US market"),
    ("version", "latest release notes!"),
    ("type", "free_text"),
    ("ts", "yesterday at noon"),
])
def test_record_refuses_free_text_outside_the_query(store, tmp_path, field, value):
    log = store
    event = events.Event(**{"type": "solved", "market": "us", field: value})
    with pytest.raises(HelpgenError, match=f"refusing to store.*{field}="):
        log.record(event)
    assert not (tmp_path / "e.sqlite3").exists() or log.events() == []


def test_every_stored_text_column_is_a_masked_query_or_a_slug(tmp_path):
    path = tmp_path / "e.sqlite3"
    log = events.EventLog(path)
    queries = ["refund to DE89 3704 0044 0532 0130 00", "password: hunter2",
               "login from 192.168.1.20", "ship to 221B Baker Street", "jo@example.com help"]
    for q in queries:
        log.record(events.make_event({"type": "search", "market": "us", "query": q,
                                      "results": 0}, markets=MARKETS))
    _draft(log, "draft0001", "return-refund", "solved")
    conn = sqlite3.connect(path)
    columns = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(events)")}
    text_columns = sorted(c for c, kind in columns.items() if kind == "TEXT")
    # a new text column needs its own rule in events.check_row before it may be added here
    assert text_columns == ["article_id", "category", "draft_id", "market", "query", "ts",
                            "type", "version"]
    rows = conn.execute(f"SELECT {', '.join(text_columns)} FROM events").fetchall()
    conn.close()
    rules = {"article_id": events.SLUG_RE, "category": events.CATEGORY_RE,
             "draft_id": events.DRAFT_ID_RE, "market": events.MARKET_RE, "ts": events.TS_RE,
             "version": events.VERSION_RE}
    stored_queries = []
    for row in rows:
        for name, value in zip(text_columns, row):
            if value is None or (name == "version" and value == ""):
                continue
            if name == "query":
                assert events.mask(value) == value
                stored_queries.append(value)
            elif name == "type":
                assert value in events.EVENT_TYPES
            else:
                assert rules[name].match(value), (name, value)
    assert stored_queries == ["refund to [iban]", "password: [secret]", "login from [ip]",
                              "ship to [address]", "[email] help"]


# ---- per-draft outcomes: the deflection rate stays exact --------------------------------

def test_deflection_rate_survives_the_events_retention_through_the_drafts_table(store):
    import datetime as dt

    old = "2026-01-10T10:00:00.000000Z"
    for i in range(10):
        _draft(store, f"olddraft{i:02d}", "return-refund",
               "solved" if i < 4 else "ticket_submitted_anyway", ts=old)
    _draft(store, "newdraft01", "return-refund", "solved")
    _draft(store, "newdraft01", "return-refund", "solved")  # the same draft twice
    before = events.report(store)
    assert (before.drafts_with_suggestions, before.drafts_solved) == (11, 5)
    now = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)
    deleted = store.prune(retention_days=30, max_rows=1000, now=now, draft_retention_days=800)
    assert deleted == 20  # the old drafts' events
    after = events.report(store)
    assert after.events == 4
    assert after.deflection_rate == before.deflection_rate == round(5 / 11, 4)
    assert after.categories == before.categories
    assert after.top_deflecting == [{"article_id": "submit-a-ticket", "solved": 1}]
    assert store.prune(retention_days=30, max_rows=1000, now=now, draft_retention_days=100) == 0
    assert events.report(store).drafts_with_suggestions == 1


def test_concurrent_events_of_the_same_drafts_merge_into_exact_outcomes(store):
    def write(n: int) -> None:
        for i in range(20):
            draft = f"shared{i:04d}"
            store.record(events.Event("suggestion_shown", "us", draft_id=draft,
                                      category="registration"))
            if n == 0 and i % 2:
                store.record(events.Event("solved", "us", article_id="x-y", draft_id=draft))
            if n == 1 and i % 5 == 0:
                store.record(events.Event("ticket_submitted_anyway", "us", draft_id=draft))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rep = events.report(store)
    assert (rep.drafts_with_suggestions, rep.drafts_solved, rep.drafts_submitted_anyway) == (
        20, 10, 4)
    assert rep.categories == [{"category": "registration", "drafts": 20, "solved": 10,
                               "submitted_anyway": 4, "rate": 0.5}]


def test_a_v3_file_gets_its_drafts_table_filled_from_its_events(tmp_path):
    path = tmp_path / "e.sqlite3"
    conn = sqlite3.connect(path)
    events.migrate(conn, path, target=3)
    conn.executemany(
        "INSERT INTO events (ts, type, market, draft_id, category) VALUES (?, ?, 'us', ?, ?)",
        [("2026-11-25T10:00:00.000000Z", "suggestion_shown", "draft0001", "registration"),
         ("2026-11-25T10:01:00.000000Z", "solved", "draft0001", None),
         ("2026-11-25T10:00:00.000000Z", "suggestion_shown", "draft0002", "registration")])
    conn.commit()
    conn.close()
    rep = events.report(events.EventLog(path))
    assert (rep.drafts_with_suggestions, rep.drafts_solved, rep.deflection_rate) == (2, 1, 0.5)
    assert rep.categories[0]["drafts"] == 2
