"""The on-disk index: fields, markets, aliases, atomic swap and schema checks (real builds)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from helpgen import analysis, index, site
from helpgen import config as config_mod
from helpgen.cli import main
from helpgen.errors import HelpgenError
from helpgen.search import Searcher, search

from projectkit import copy_project, write_article

UK_ONLY = """
id: uk-vat-invoices
title: VAT invoices for UK partners
summary: Where UK partners download VAT invoices.
audience: partners
topic: account
markets: [uk]
last_reviewed: 2026-11-25
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """us, uk and de built with the CLI into a custom --index-dir, plus a uk-only article."""
    root = copy_project(tmp_path_factory.mktemp("index") / "project")
    write_article(root, "partners/account/uk-vat-invoices.md", UK_ONLY,
                  "# VAT invoices for UK partners\n\nDownload your **VAT invoice** from "
                  "[Billing](../account/switch-between-roles.md).\n\n"
                  '!!! note "Quarterly statements"\n    Statements arrive every quarter.\n')
    rc = main(["build", "--market", "us", "--market", "uk", "--market", "de", "--jobs", "2",
               "--index-dir", str(root / "idx"), "--project", str(root), "-q"])
    assert rc == 0
    return root


def open_index(project: Path, market: str, version: str = "2026.11"):
    return whoosh_index.open_dir(str(project / "idx" / market / version))


def stored(project: Path, market: str) -> dict[str, dict]:
    ix = open_index(project, market)
    with ix.searcher() as s:
        docs = {d["id"]: d for d in s.all_stored_fields()}
    ix.close()
    return docs


def test_build_cli_writes_index_with_fields_and_meta(project):
    ix = open_index(project, "de")
    names = set(ix.schema.names())
    ix.close()
    for field in ("title", "summary", "headings", "body", "keywords"):
        assert {f"{field}_en", f"{field}_de"} <= names
    assert {"id", "url", "source", "language", "audience", "topic", "ticket_categories",
            "spell"} <= names
    meta = json.loads((project / "idx/de/2026.11" / analysis.META_FILE).read_text("utf-8"))
    assert meta["schema_version"] == analysis.SCHEMA_VERSION
    assert meta["market"] == "de" and meta["languages"] == ["en", "de"]
    docs = stored(project, "de")
    assert meta["documents"] == len(docs) == 18
    de = docs["submit-a-ticket"]
    assert de["source"] == "partners/support-tickets/submit-a-ticket.de.md"
    assert de["url"] == "partners/support-tickets/submit-a-ticket/"
    assert de["language"] == "de" and de["ticket_categories"] == "ticket-submission"
    assert not (project / "search_index").exists()  # --index-dir was honoured


def test_indexed_text_is_plain_without_markdown_or_fallback_notice(project):
    docs = stored(project, "uk")
    text = docs["uk-vat-invoices"]["text"]
    assert "Download your VAT invoice from Billing." in text
    assert "Quarterly statements." in text and "Statements arrive every quarter." in text
    assert "**" not in text and "](" not in text and "!!!" not in text
    assert not text.startswith("VAT invoices for UK partners")  # the H1 is the title field
    fallback = stored(project, "de")["switch-partner-roles"]
    assert fallback["language"] == "en"
    assert "Deutsch" not in fallback["text"] and "not yet available" not in fallback["text"]


def test_article_for_another_market_is_absent_from_the_index(project):
    assert "uk-vat-invoices" in stored(project, "uk")
    assert "uk-vat-invoices" not in stored(project, "us")
    assert search("VAT invoices", "uk", index_dir=project / "idx").hits[0].id == \
        "uk-vat-invoices"
    assert "uk-vat-invoices" not in [h.id for h in
                                     search("VAT invoices", "us", index_dir=project / "idx").hits]


def test_markdown_to_text_strips_syntax_and_collects_headings():
    body, headings = index.markdown_to_text(
        "# Title\n\nSee [the guide](x.md) and `code` with *stress*.\n\n## Step one\n\n"
        "1. Click **Save**\n- item\n\n| a | b |\n|---|---|\n| c | d |\n\n```\nraw\n```\n")
    assert headings == ("Step one",)
    assert "See the guide and code with stress." in body
    assert "Click Save item" in body and "a · b — c · d" in body and "raw" in body
    assert "#" not in body and "|" not in body and "*" not in body


@pytest.fixture
def versions(tmp_path) -> Path:
    """us published as 2026.11 then 2026.12 (which takes 'latest'), sharing one index dir."""
    root = copy_project(tmp_path / "project")
    cfg = config_mod.load(root)
    site.build(cfg, "us", "2026.11", ["latest"], root / "site")
    write_article(root, "partners/account/new-in-december.md", UK_ONLY.replace(
        "uk-vat-invoices", "december-novelty").replace("markets: [uk]", "markets: all"),
        "# December novelty\n\nFresh zebra content.\n")
    site.build(config_mod.load(root), "us", "2026.12", ["latest"], root / "site")
    return root


def test_latest_alias_follows_the_site_and_old_version_stays_searchable(versions):
    idx = versions / "search_index"
    aliases = json.loads((idx / "us" / analysis.ALIASES_FILE).read_text("utf-8"))
    assert aliases == {"latest": "2026.12"}
    latest = search("zebra", "us", index_dir=idx)
    assert latest.version == "2026.12" and latest.hits[0].id == "december-novelty"
    old = search("zebra", "us", version="2026.11", index_dir=idx)
    assert old.version == "2026.11" and old.hits == ()
    with pytest.raises(HelpgenError, match=r"no search index for us version 'beta'.*indexed: "
                       r"2026.12, 2026.11, latest.*helpgen build --market us") as exc:
        search("zebra", "us", version="beta", index_dir=idx)
    assert exc.value.exit_code == 2


def test_failed_index_build_keeps_the_previous_index(versions):
    idx = versions / "search_index"
    good = search("zebra", "us", version="2026.12", index_dir=idx).hits
    assert good

    def broken_docs():
        yield index.IndexDoc(id="half", title="Half written", summary="", keywords=(),
                             headings=(), body="zebra", audience="partners", topic="account",
                             url="half/", source="half.md", language="en")
        raise RuntimeError("disk full while indexing")

    with pytest.raises(RuntimeError, match="disk full"):
        index.write(broken_docs(), idx, "us", "2026.12", "en")
    after = search("zebra", "us", version="2026.12", index_dir=idx).hits
    assert [h.id for h in after] == [h.id for h in good]
    assert [p.name for p in (idx / "us").iterdir() if p.name.startswith(".") and p.is_dir()] \
        == []  # no staging or old folder left behind


def test_other_schema_version_asks_for_a_rebuild(versions):
    idx = versions / "search_index"
    meta_path = idx / "us" / "2026.11" / analysis.META_FILE
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["schema_version"] = 0
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    expected = (f"index at {idx / 'us' / '2026.11'} has schema v0, this helpgen needs "
                f"v{analysis.SCHEMA_VERSION}: rebuild with helpgen build")
    with pytest.raises(HelpgenError) as exc:
        Searcher(idx, "us", "2026.11")
    assert expected in str(exc.value) and exc.value.exit_code == 2


def test_missing_index_names_the_command_to_run(tmp_path, capsys):
    with pytest.raises(HelpgenError, match=r"no search index at .*: run helpgen build --market us"):
        search("ticket", "us", index_dir=tmp_path / "nothing")
    rc = main(["search", "ticket", "--market", "us", "--index-dir", str(tmp_path / "nothing")])
    assert rc == 2 and "helpgen build --market us" in capsys.readouterr().err


def test_index_of_an_unbuilt_market_names_the_command(versions):
    shutil.rmtree(versions / "site")
    with pytest.raises(HelpgenError, match=r"unknown market 'de': no search index for it.*"
                       r"indexed markets: us.*helpgen build --market de"):
        search("ticket", "de", index_dir=versions / "search_index")


def test_parallel_index_build_answers_like_a_single_process_one(tmp_path):
    docs = [index.IndexDoc(id=f"d{i}", title=f"Article {i} about {w}", summary="", keywords=(),
                           headings=(), body=f"Text number {i} explains {w} in detail.",
                           audience="partners", topic="account", url=f"d{i}/",
                           source=f"d{i}.md", language="en")
            for i, w in enumerate(["refunds", "tickets", "payouts", "orders"] * 10)]
    for procs, name in ((1, "one"), (2, "two")):
        index.write(docs, tmp_path / name, "us", "v1", "en", procs=procs)
    for query in ("refund", "tikets", "payout orders"):
        one = search(query, "us", "v1", limit=50, index_dir=tmp_path / "one")
        two = search(query, "us", "v1", limit=50, index_dir=tmp_path / "two")
        assert one.hits  # the same documents with the same scores (ties may swap places)
        assert ({h.id: round(h.score, 6) for h in one.hits}
                == {h.id: round(h.score, 6) for h in two.hits})
        assert one.total == two.total and one.suggestion == two.suggestion


SYNONYM_DOCS = [
    index.IndexDoc(id="refunds", title="Get your purchase reimbursed", summary="", keywords=(),
                   headings=(), body="We reimburse the purchase price within five days.",
                   audience="buyers", topic="orders", url="refunds/", source="refunds.md",
                   language="en"),
    index.IndexDoc(id="themes", title="Display colours", summary="", keywords=(), headings=(),
                   body="Pick the night mode in the display settings.", audience="buyers",
                   topic="orders", url="themes/", source="themes.md", language="en"),
]


@pytest.mark.parametrize("lang", ["en", "de", "ja", "fr", "es", "it", "vi", "th"])
def test_every_interface_language_ships_a_synonym_list(lang):
    groups = index.default_synonyms([lang])
    assert len(groups) >= 15
    assert all(len(g) >= 2 and all(t == t.lower().strip() for t in g) for g in groups)


def test_shipped_synonyms_are_part_of_the_package():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"synonyms/*.txt"' in text
    assert index.DEFAULT_SYNONYMS_DIR == Path(index.__file__).parent / "synonyms"


def test_market_index_merges_shipped_and_project_synonyms(tmp_path):
    root = copy_project(tmp_path / "project")
    (root / "docs" / "_meta" / "synonyms.txt").write_text("widget, gizmo\n", encoding="utf-8")
    cfg = config_mod.load(root)
    groups = index.project_synonyms(cfg, "de")
    assert groups[0] == ["widget", "gizmo"]  # the project's own groups first
    assert any("money back" in g for g in groups)  # English, for English fallbacks
    assert any("geld zurück" in g for g in groups)  # the market's language
    assert not any("返金" in g for g in groups)  # not other languages


def test_default_synonyms_switch_off_leaves_only_the_project_list(tmp_path):
    root = copy_project(tmp_path / "project")
    (root / "docs" / "_meta" / "synonyms.txt").write_text("widget, gizmo\n", encoding="utf-8")
    with (root / "helpgen.yml").open("a", encoding="utf-8") as fh:
        fh.write("\nsearch:\n  default_synonyms: false\n")
    assert index.project_synonyms(config_mod.load(root), "de") == [["widget", "gizmo"]]


def test_shipped_synonyms_find_words_the_articles_do_not_use(tmp_path):
    for name, groups in (("on", index.default_synonyms(["en"])), ("off", [])):
        index.write(SYNONYM_DOCS, tmp_path / name, "us", "v1", "en", synonyms=groups)
    for query, expected in (("money back", "refunds"), ("dark theme", "themes")):
        assert [h.id for h in search(query, "us", "v1", index_dir=tmp_path / "on").hits][:1] \
            == [expected]
        assert search(query, "us", "v1", index_dir=tmp_path / "off").hits == ()
