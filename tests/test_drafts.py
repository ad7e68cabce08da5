"""``draft: true``: validated everywhere, published only by preview and ``build --drafts``."""

from __future__ import annotations

import json

import pytest

from helpgen import check, content, scaffold, search, site
from helpgen import config as config_mod
from helpgen.cli import main
from helpgen.errors import HelpgenError

DRAFT = "buyers/orders/track-a-parcel.md"
FRONT = """id: track-a-parcel
title: Track a parcel with the zebrafish code
summary: Follow a parcel from the warehouse to your door with its zebrafish code.
audience: buyers
topic: orders
last_reviewed: 2026-11-20
draft: true
"""
BODY = "# Track a parcel with the zebrafish code\n\nType the zebrafish code on the order page.\n"


def write_draft(project, front: str = FRONT, body: str = BODY):
    path = project / "docs" / DRAFT
    path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    return path


def test_a_draft_stays_out_of_the_site_sitemap_and_search_until_built_with_drafts(project):
    write_draft(project)
    with open(project / "mkdocs.yml", "a", encoding="utf-8") as fh:
        fh.write("\nsite_url: https://help.example.com/\n")  # sitemap.xml lists pages then
    cfg = config_mod.load(project)
    assert "track-a-parcel" not in content.load(cfg).by_id
    assert content.load(cfg, drafts=True).by_id["track-a-parcel"].draft is True
    site_dir, index_dir = project / "site", project / "search_index"
    site.build(cfg, "us", "2026.11", ["latest"], site_dir, index_dir=index_dir)
    out = site_dir / "us/2026.11"
    assert not (out / "buyers/orders/track-a-parcel").exists()
    assert not (out / "a/track-a-parcel").exists()
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert "message-the-seller" in sitemap and "track-a-parcel" not in sitemap
    lunr = json.loads((out / "search/search_index.json").read_text(encoding="utf-8"))
    assert not [d for d in lunr["docs"] if "zebrafish" in d["title"].lower() + d["text"]]
    hits = search.search("zebrafish", "us", "2026.11", index_dir=index_dir).hits
    assert "track-a-parcel" not in [h.id for h in hits]

    assert main(["--project", str(project), "-q", "build", "--drafts", "--version",
                 "2026.12"]) == 0
    out = site_dir / "us/2026.12"
    assert (out / "buyers/orders/track-a-parcel/index.html").is_file()
    assert "track-a-parcel" in (out / "sitemap.xml").read_text(encoding="utf-8")
    lunr = json.loads((out / "search/search_index.json").read_text(encoding="utf-8"))
    assert [d for d in lunr["docs"] if "zebrafish" in d["title"]]
    hits = search.search("zebrafish", "us", "2026.12", index_dir=index_dir).hits
    assert [h.id for h in hits][:1] == ["track-a-parcel"]


def test_a_link_from_a_published_article_to_a_draft_is_a_check_error(project):
    write_draft(project)
    page = project / "docs/buyers/orders/message-the-seller.md"
    page.write_text(page.read_text(encoding="utf-8")
                    + "\nSee [tracking](track-a-parcel.md#steps).\n", encoding="utf-8")
    report = check.check(config_mod.load(project), markets=["us"])
    errors = [f for f in report.errors if "draft" in f.msg]
    assert len(errors) == 1
    assert errors[0].path == "docs/buyers/orders/message-the-seller.md" and errors[0].line
    assert "docs/buyers/orders/track-a-parcel.md, a draft" in errors[0].msg
    # the draft itself may link to published articles, and it is checked like any article
    assert not [f for f in report.findings if f.path == "docs/" + DRAFT]
    with pytest.raises(HelpgenError, match="message-the-seller.md:.*track-a-parcel.md"):
        site.build(config_mod.load(project), "us", "2026.11", ["latest"], project / "site")


def test_new_writes_a_draft_and_check_warns_about_its_placeholder_body(project):
    cfg = config_mod.load(project)
    made = scaffold.new_article(cfg, "Change a delivery slot", "orders",
                                summary="Pick another delivery time before the parcel ships.")
    assert "draft: true" in made.path.read_text(encoding="utf-8")
    assert made.id not in content.load(cfg).by_id
    report = check.check(cfg)
    assert report.errors == []
    [warning] = report.warnings
    assert warning.path == made.path.relative_to(project).as_posix()
    assert "placeholder text from helpgen new" in warning.msg and warning.line == 16
