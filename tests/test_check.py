"""`helpgen check`: every kind of problem at its file, line and column, on real content."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest

from helpgen import check
from helpgen import config as config_mod
from helpgen.cli import main

from projectkit import REPO, copy_project, write_article

FRONT = """
id: {id}
title: {title}
summary: A fixture article for helpgen check.
audience: partners
topic: support-tickets
last_reviewed: 2026-11-20
{extra}
"""


def front(art_id: str, extra: str = "", title: str = "Fixture") -> str:
    return FRONT.format(id=art_id, title=title, extra=extra)


# Each fixture article holds one kind of problem; `needle` is the text its line holds.
@pytest.fixture(scope="module")
def bad_project(tmp_path_factory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("check") / "project")
    t = "partners/support-tickets"
    write_article(root, f"{t}/bad-audience.md", front("bad-audience").replace(
        "audience: partners", "audience: shoppers"))
    write_article(root, f"{t}/zz-dup-id.md", front("submit-a-ticket"))
    write_article(root, f"{t}/bad-market.md", front("bad-market", "markets: [us, zz]"))
    write_article(root, f"{t}/broken-link.md", front("broken-link"),
                  "# Broken\n\nSee [the guide](no-such-article.md) first.\n")
    write_article(root, f"{t}/uk-only.md", front("uk-only", "markets: [uk]"),
                  "# UK only\n\n## Opening hours\n\nText.\n")
    write_article(root, f"{t}/links-uk-only.md", front("links-uk-only"),
                  "# Links\n\nRead [UK notes](uk-only.md).\n")
    write_article(root, f"{t}/bad-anchor.md", front("bad-anchor", "markets: [uk]"),
                  "# Anchor\n\nSee [hours](uk-only.md#opening-times) and "
                  "[ok](uk-only.md#opening-hours).\n")
    write_article(root, f"{t}/missing-image.md", front("missing-image"),
                  "# Image\n\nIntro.\n\n![Screenshot](img/missing.png)\n")
    (root / "docs" / t / "img").mkdir()
    (root / "docs" / t / "img" / "present.png").write_bytes(b"\x89PNG\r\n")
    write_article(root, f"{t}/remote-assets.md", front("remote-assets"),
                  "# Remote\n\n![ok](img/present.png)\n\n![Logo](https://cdn.example.com/l.png)"
                  "\n\n<script src=\"https://cdn.example.com/x.js\"></script>\n\n"
                  "A [remote link](https://example.com/) is fine. `![no](code.png)` too.\n\n"
                  "```\n![in a fence](fence.png)\n```\n")
    write_article(root, f"{t}/jinja-de.md", front("jinja-de") + "\njinja: true",
                  "# Jinja\n\nIntro.\n\n{% if market.code == 'de' %}{{ market.currency }}"
                  "{% endif %}\n")
    write_article(root, f"{t}/stale.md", front("stale").replace(
        "last_reviewed: 2026-11-20", "last_reviewed: 2020-01-31"))
    return root


@pytest.fixture(scope="module")
def report(bad_project) -> check.Report:
    cfg = config_mod.load(bad_project)
    return check.check(cfg, today=datetime.date(2026, 11, 25), jobs=1)


@pytest.fixture(scope="module")
def market_report(bad_project, tmp_path_factory) -> check.Report:
    """The same project with the front-matter errors removed: per-market checks run."""
    root = _market_root(bad_project, tmp_path_factory.mktemp("check-markets"))
    return check.check(config_mod.load(root), today=datetime.date(2026, 11, 25), jobs=1)


def line_col(project: Path, src: str, needle: str) -> tuple[int, int]:
    lines = (project / "docs" / src).read_text(encoding="utf-8").splitlines()
    for i, text in enumerate(lines, 1):
        if needle in text:
            return i, text.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {src}")


def finding(report: check.Report, src: str, word: str) -> check.Finding:
    found = [f for f in report.findings
             if f.path == f"docs/partners/support-tickets/{src}" and word in f.msg]
    assert len(found) == 1, (src, word, [str(f) for f in report.findings])
    return found[0]


def test_unknown_audience_reports_value_position_and_allowed_values(report, bad_project):
    f = finding(report, "bad-audience.md", "'audience' must be one of")
    assert (f.line, f.col) == line_col(bad_project, "partners/support-tickets/bad-audience.md",
                                       "shoppers")
    assert "sellers, partners, buyers" in f.msg and f.severity == "error"


def test_duplicate_id_names_the_other_file(report, bad_project):
    f = finding(report, "zz-dup-id.md", "duplicate id")
    assert "docs/partners/support-tickets/submit-a-ticket.md" in f.msg
    assert (f.line, f.col) == line_col(bad_project, "partners/support-tickets/zz-dup-id.md",
                                       "submit-a-ticket")


def test_unknown_market_points_at_the_list_item(report, bad_project):
    f = finding(report, "bad-market.md", "'zz'")
    assert (f.line, f.col) == line_col(bad_project, "partners/support-tickets/bad-market.md", "zz")
    assert "allowed: us, uk" in f.msg


def test_front_matter_errors_fail_the_check_but_every_other_file_is_checked(report, market_report):
    assert report.errors
    assert report.articles == market_report.articles  # all but the three bad files
    per_market = {(f.path, f.line, f.col, f.msg) for f in market_report.findings
                  if f.severity == "error"}
    assert per_market and per_market <= {(f.path, f.line, f.col, f.msg) for f in report.findings}


def test_broken_internal_link_reported_at_the_link(market_report, bad_project):
    f = finding(market_report, "broken-link.md", "broken link")
    assert (f.line, f.col) == line_col(bad_project, "partners/support-tickets/broken-link.md",
                                       "no-such-article.md")
    assert "(on every market's site)" in f.msg


def test_link_to_article_left_out_of_a_market_is_an_error_there_only(market_report, bad_project):
    f = finding(market_report, "links-uk-only.md", "published only in uk")
    assert (f.line, f.col) == line_col(bad_project, "partners/support-tickets/links-uk-only.md",
                                       "uk-only.md")
    markets = re.search(r"\(on the ([a-z, ]+) sites\)$", f.msg).group(1).split(", ")
    assert "uk" not in markets and "us" in markets and len(markets) == 11


def test_unknown_anchor_is_reported_and_a_real_one_is_not(market_report, bad_project):
    f = finding(market_report, "bad-anchor.md", "anchor")
    assert "'#opening-times'" in f.msg and "opening-hours" in f.msg
    assert (f.line, f.col) == line_col(bad_project, "partners/support-tickets/bad-anchor.md",
                                       "uk-only.md#opening-times")


def test_missing_local_image_is_reported(market_report, bad_project):
    f = finding(market_report, "missing-image.md", "image")
    assert "img/missing.png" in f.msg
    assert (f.line, f.col) == line_col(bad_project, "partners/support-tickets/missing-image.md",
                                       "img/missing.png")


def test_remote_image_and_script_are_errors_but_remote_links_and_code_are_not(market_report):
    msgs = [f.msg for f in market_report.findings
            if f.path == "docs/partners/support-tickets/remote-assets.md"]
    assert len(msgs) == 2, msgs
    assert any(m.startswith("remote image 'https://cdn.example.com/l.png'") for m in msgs)
    assert any(m.startswith("remote script 'https://cdn.example.com/x.js'") for m in msgs)


def test_jinja_error_in_one_market_names_the_market_and_line(market_report, bad_project):
    f = finding(market_report, "jinja-de.md", "currency")
    assert "on the de site" in f.msg
    assert f.line == line_col(bad_project, "partners/support-tickets/jinja-de.md", "currency")[0]
    assert not [x for x in market_report.findings if "on the us site" in x.msg]


def test_stale_review_date_is_a_warning_with_position(market_report, bad_project):
    f = finding(market_report, "stale.md", "last reviewed")
    assert f.severity == "warning"
    assert (f.line, f.col) == line_col(bad_project, "partners/support-tickets/stale.md",
                                       "2020-01-31")
    assert "2020-01-31" in f.msg and "365" in f.msg


def test_real_docs_pass_the_check():
    report = check.check(config_mod.load(REPO))
    assert report.errors == [], [str(f) for f in report.errors]
    assert report.articles >= 15 and len(report.markets) == 12


def test_warnings_only_exit_0_and_errors_exit_1(project, capsys):
    write_article(project, "partners/support-tickets/old.md", front("old").replace(
        "2026-11-20", "2019-05-01"))
    assert main(["--project", str(project), "check"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^docs/partners/support-tickets/old\.md:\d+:\d+: warning: last reviewed",
                     out, re.M)
    assert main(["--project", str(project), "check", "--strict"]) == 1
    write_article(project, "partners/support-tickets/bad.md", front("bad", "order: first"))
    assert main(["--project", str(project), "check"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^docs/partners/support-tickets/bad\.md:\d+:\d+: error: 'order'", out, re.M)


def test_github_format_prints_annotations(market_report):
    text = check.format_report(market_report, "github")
    lines = text.splitlines()
    assert len(lines) == len(market_report.findings)
    f = finding(market_report, "broken-link.md", "broken link")
    expected = (f"::error file=docs/partners/support-tickets/broken-link.md,line={f.line},"
                f"col={f.col},title=helpgen check::")
    assert any(line.startswith(expected) for line in lines)
    assert any(line.startswith("::warning file=docs/partners/support-tickets/stale.md,line=")
               for line in lines)
    assert all(re.match(r"^::(error|warning) file=[^:]+,line=\d+(,col=\d+)?,title=", line)
               for line in lines), lines


def test_github_annotation_escapes_newlines_and_percent():
    f = check.Finding("error", "50% done\nnext", "docs/a,b.md", 3, 4)
    assert check.github_line(f) == ("::error file=docs/a%2Cb.md,line=3,col=4,"
                                    "title=helpgen check::50%25 done%0Anext")


def test_json_format_lists_every_problem(market_report):
    data = json.loads(check.format_report(market_report, "json"))
    assert data["ok"] is False
    assert data["errors"] == len(market_report.errors) and data["warnings"] >= 1
    assert len(data["problems"]) == len(market_report.findings)
    first = data["problems"][0]
    assert set(first) == {"severity", "path", "line", "col", "message"}


def test_paths_limit_what_is_reported(bad_project, capsys):
    target = bad_project / "docs/partners/support-tickets/bad-market.md"
    code = main(["--project", str(bad_project), "check", str(target)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert [line for line in out if line.startswith("docs/")] == [
        line for line in out if line.startswith("docs/partners/support-tickets/bad-market.md:")]
    assert any("error(s) in other files" in line for line in out)


def test_parallel_check_reports_the_same_as_one_process(bad_project, market_report, tmp_path):
    cfg = config_mod.load(bad_project)
    assert check.check(cfg, jobs=2).findings == check.check(cfg, jobs=1).findings
    # the per-market report too (links, anchors, Jinja in one market)
    again = check.check(config_mod.load(_market_root(bad_project, tmp_path)), jobs=2,
                        today=datetime.date(2026, 11, 25))
    assert again.findings == market_report.findings


def _market_root(bad_project: Path, tmp_path: Path) -> Path:
    root = copy_project(tmp_path / "project")
    t = "partners/support-tickets"
    for path in (bad_project / "docs" / t).rglob("*"):
        if path.is_file() and path.name not in ("bad-audience.md", "zz-dup-id.md", "bad-market.md"):
            dest = root / "docs" / t / path.relative_to(bad_project / "docs" / t)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
    return root


def test_cli_offers_exactly_the_formats_the_library_writes():
    from helpgen import reference
    from helpgen.cli import make_parser

    sub = reference.commands(make_parser())["check"]
    choices = next(a.choices for a in sub._actions if "--format" in a.option_strings)
    assert tuple(choices) == check.FORMATS
    for fmt in check.FORMATS:
        check.format_report(check.Report((), 0, ("us",), 0.0), fmt)


def test_unknown_path_or_market_is_a_usage_error(capsys):
    assert main(["--project", str(REPO), "check", str(REPO / "docs/no-such-folder")]) == 2
    assert "no such file or folder to check" in capsys.readouterr().err
    assert main(["--project", str(REPO), "check", "--market", "zz"]) == 2
    assert "unknown market 'zz'; allowed: us, uk" in capsys.readouterr().err


@pytest.mark.parametrize("headings", [
    ["# Submit a ticket", "## Before you start", "## Before you start", "### Step 1: sign in"],
    ["# Käuferschutz für Bestellungen", "## Häufige Fragen", "## FAQ", "## FAQ"],
    ["# チケットを送信する", "## 手順", "## Step 2 - wait (24 hours)", "## 返信 #"],
    ["# What's the 30-day window?", "## 90 calendar days, then?", "## A/B test: yes"],
    ["## Custom {#my-id}", "## *Emphasis* and `code`", "## Link [here](x.md)"],
])
def test_plain_heading_ids_equal_the_markdown_converters(headings):
    """check's fast path for plain headings must give exactly the ids Markdown's toc gives."""
    from helpgen import rules

    cfg = config_mod.load(REPO)
    anchors = rules.Anchors(cfg)
    assert anchors._fast
    key = "\n\n".join(headings)
    fast = anchors._plain(key)
    converted = anchors._convert(key)
    if any(ch in key for ch in "{*`["):
        assert fast is None  # not plain: the converter decides
    else:
        assert fast == converted, (fast, converted)


def test_invalid_front_matter_leaves_out_that_file_only_and_links_to_it_are_not_broken(
        tmp_path):
    root = copy_project(tmp_path / "project")
    t = "partners/support-tickets"
    write_article(root, f"{t}/bad.md", front("bad").replace("audience: partners",
                                                            "audience: shoppers"))
    write_article(root, f"{t}/links-bad.md", front("links-bad"),
                  "# Links\n\nSee [the bad one](bad.md) and [nothing](nothing.md).\n")
    good = check.check(config_mod.load(REPO), jobs=1)
    report = check.check(config_mod.load(root), jobs=1)
    assert report.articles == good.articles + 1  # links-bad.md counted, bad.md left out
    errors = [(f.path, f.msg.split(":")[0]) for f in report.errors]
    assert errors == [(f"docs/{t}/bad.md", "'audience' must be one of"),
                      (f"docs/{t}/links-bad.md", "broken link 'nothing.md'")], errors
