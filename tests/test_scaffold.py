"""`helpgen new`: a new article that passes `helpgen check`, never overwriting a file."""

from __future__ import annotations

import datetime as _dt

import pytest

from helpgen import check, content, scaffold
from helpgen import config as config_mod
from helpgen.cli import main
from helpgen.errors import HelpgenError


def test_new_article_passes_check_and_loads_with_todays_date(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    assert main(["new", "Where is my order?", "--topic", "orders", "--summary",
                 "How to follow a parcel: where it is now and when it arrives."]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == "docs/buyers/orders/where-is-my-order.md"
    cfg = config_mod.load(project)
    report = check.check(cfg)
    assert report.errors == [], [str(f) for f in report.findings]
    assert [f.msg.split(";")[0] for f in report.warnings] == [
        "the body is still the placeholder text from helpgen new"]
    art = content.load(cfg, drafts=True).by_id["where-is-my-order"]
    assert art.draft
    assert (art.audience, art.topic, art.markets) == ("buyers", "orders", None)
    assert art.last_reviewed == _dt.date.today()
    assert art.title == "Where is my order?"


def test_placeholder_summary_is_a_check_warning_not_an_error(project):
    cfg = config_mod.load(project)
    made = scaffold.new_article(cfg, "Change a delivery slot", "orders", "buyers")
    report = check.check(cfg)
    assert report.errors == []
    summary = [f for f in report.warnings if "summary" in f.msg]
    assert [f.path for f in summary] == [made.path.relative_to(project).as_posix()]


def test_a_title_whose_id_is_taken_is_a_usage_error_naming_the_file(project, capsys):
    target = project / "docs/partners/support-tickets/submit-a-ticket.md"
    before = target.read_text(encoding="utf-8")
    code = main(["--project", str(project), "new", "Submit a ticket", "--topic",
                 "support-tickets"])
    assert code == 2
    err = capsys.readouterr().err
    assert "'submit-a-ticket' that the title gives is already used by " \
        "docs/partners/support-tickets/submit-a-ticket.md" in err and "--id" in err
    assert not (target.parent / "submit-a-ticket-2.md").exists()
    cfg = config_mod.load(project)
    with pytest.raises(HelpgenError, match="already used by docs/partners/support-tickets/"):
        scaffold.new_article(cfg, "Anything", "support-tickets", article_id="submit-a-ticket")
    made = scaffold.new_article(cfg, "Submit a ticket", "support-tickets",
                                article_id="submit-a-ticket-by-email")
    assert made.path.name == "submit-a-ticket-by-email.md"
    assert target.read_text(encoding="utf-8") == before


def test_a_title_that_gives_no_id_asks_for_one(project, capsys):
    code = main(["--project", str(project), "new", "注文はどこ？", "--topic", "orders"])
    assert code == 2
    assert "gives no id" in capsys.readouterr().err
    assert not (project / "docs/buyers/orders/orders-article.md").exists()
    code = main(["--project", str(project), "new", "注文はどこ？", "--topic", "orders",
                 "--id", "where-is-my-order"])
    assert code == 0
    assert "title: 注文はどこ？" in (project / "docs/buyers/orders/where-is-my-order.md"
                                  ).read_text(encoding="utf-8")


def test_unknown_audience_and_topic_list_allowed_values(project, capsys):
    code = main(["--project", str(project), "new", "X", "--topic", "orders", "--audience",
                 "shoppers"])
    assert code == 2
    assert "unknown audience 'shoppers'; allowed: sellers, partners, buyers" in \
        capsys.readouterr().err
    code = main(["--project", str(project), "new", "X", "--topic", "orders", "--audience",
                 "sellers"])
    assert code == 2
    assert "for 'sellers' use one of: support-channels" in capsys.readouterr().err
    code = main(["--project", str(project), "new", "X", "--topic", "refunds"])
    assert code == 2
    assert "allowed: support-channels, support-tickets, registration" in capsys.readouterr().err


def test_markets_categories_and_awkward_titles_round_trip(project):
    cfg = config_mod.load(project)
    title = "Où est: ma commande #2? [yes]"
    made = scaffold.new_article(cfg, title, "orders", markets=["de", "fr"],
                                categories=["order-status"], summary="no: really")
    assert made.id == "ou-est-ma-commande-2-yes"
    art = content.load(cfg, drafts=True).by_id[made.id]
    assert art.title == title and art.summary == "no: really"
    assert art.markets == ("de", "fr") and art.ticket_categories == ("order-status",)
    assert check.check(cfg).errors == []


def test_slug_is_cut_at_a_word_boundary():
    slug = scaffold.slugify("How do I " + "really " * 20 + "submit it")
    assert len(slug) <= scaffold.ID_MAX and not slug.endswith("-")
    assert slug.startswith("how-do-i-really") and slug.split("-")[-1] == "really"
    assert scaffold.slugify("日本語のタイトル") == ""
