"""One rule set: ``helpgen check`` and a real build report the same problems, alike."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from projectkit import copy_project, write_article

FRONT = """
id: {id}
title: Fixture {id}
summary: A fixture article both check and build judge.
audience: partners
topic: support-tickets
last_reviewed: 2026-11-20
{extra}
"""
T = "partners/support-tickets"
#: file -> (body, the text its one problem points at, or None for no problem)
ARTICLES = {
    "typo-link.md": ("# Typo\n\n```\nsubmit-a-tiket.md in code is not a link\n```\n\n"
                     "See [the form](submit-a-tiket.md).\n", "submit-a-tiket.md)"),
    "typo-anchor.md": ("# Anchor\n\n## Opening hours\n\nSee [hours](#opening-hour).\n",
                       "#opening-hour)"),
    "missing-image.md": ("# Image\n\n![Screenshot](img/missing.png)\n", "img/missing.png"),
    "remote-image.md": ("# Remote\n\n![Logo](https://cdn.example.com/logo.png)\n",
                        "https://cdn.example.com/logo.png"),
    "remote-frame.md": ('# Video\n\n<iframe src="https://video.example.com/v/1"></iframe>\n',
                        "https://video.example.com/v/1"),
    "footnote.md": ("# Footnote\n\nRefunds take a week.[^1]\n\n"
                    "[^1]: See the payout schedule for details.\n", None),
    "jinja-typo.md": ("# Jinja\n\nSign up at {{ markt.signup_url }}.\n", "markt"),
}
ERROR_RE = re.compile(r"^(?P<path>[^:\s]+\.md):(?P<line>\d+)(?::(?P<col>\d+))?: "
                      r"(?P<severity>error|warning): (?P<msg>.*)$")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("rules") / "project")
    for name, (body, _) in ARTICLES.items():
        extra = "jinja: true" if name == "jinja-typo.md" else ""
        write_article(root, f"{T}/{name}", FRONT.format(id=name[:-3], extra=extra), body)
    return root


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([sys.executable, "-m", "helpgen.cli", "--project", str(project),
                           *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def check_findings(project) -> set[tuple]:
    proc = run(project, "check", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    return {(p["severity"], p["path"], p["line"], p["col"], p["message"])
            for p in json.loads(proc.stdout)["problems"] if p["severity"] == "error"}


@pytest.fixture(scope="module")
def build_findings(project, tmp_path_factory) -> set[tuple]:
    site_dir = tmp_path_factory.mktemp("rules-site")
    proc = run(project, "build", "--all", "--site-dir", str(site_dir), "--jobs", "1")
    assert proc.returncode == 1, proc.stderr
    found = set()
    for line in proc.stderr.splitlines():
        m = ERROR_RE.match(line)
        if m:
            found.add((m["severity"], m["path"], int(m["line"]),
                       int(m["col"]) if m["col"] else None, m["msg"]))
    assert not (site_dir / "us" / "2026.11").exists()  # nothing published
    return found


def position(project: Path, name: str, needle: str) -> tuple[int, int]:
    """Line and column of ``needle`` outside the code block of a fixture file."""
    lines = (project / "docs" / T / name).read_text(encoding="utf-8").splitlines()
    hits = [(i, t.index(needle) + 1) for i, t in enumerate(lines, 1) if needle in t
            and not t.startswith(("```", "submit-a-tiket.md in code"))]
    return hits[-1]


def test_check_and_build_report_identical_findings(check_findings, build_findings):
    assert check_findings == build_findings
    assert {f[1] for f in check_findings} == {f"docs/{T}/{n}" for n, (_, at) in ARTICLES.items()
                                              if at}


@pytest.mark.parametrize("name", [n for n, (_, at) in ARTICLES.items() if at])
def test_each_problem_is_one_line_at_its_position_naming_every_market(
        name, project, check_findings):
    found = [f for f in check_findings if f[1] == f"docs/{T}/{name}"]
    assert len(found) == 1, found
    _, _, line, col, msg = found[0]
    needle = ARTICLES[name][1]
    assert (line, col) == position(project, name, needle)
    assert msg.endswith("(on every market's site)")


def test_messages_say_what_to_do(check_findings):
    msgs = {Path(f[1]).name: f[4] for f in check_findings}
    assert "did you mean 'submit-a-ticket.md'?" in msgs["typo-link.md"]
    assert "did you mean #opening-hours?" in msgs["typo-anchor.md"]
    assert msgs["missing-image.md"].startswith(
        f"image not found: docs/{T}/img/missing.png; put images under docs/assets/")
    assert msgs["remote-image.md"].startswith("remote image 'https://cdn.example.com/logo.png'")
    assert msgs["remote-frame.md"].startswith("remote frame 'https://video.example.com/v/1'")
    assert "'markt' is undefined; did you mean 'market'?" in msgs["jinja-typo.md"]


@pytest.fixture(scope="module")
def renderable(tmp_path_factory) -> Path:
    """The fixtures without the template error: every page renders, so MkDocs runs and
    helpgen's rules judge the rendered site after it."""
    root = copy_project(tmp_path_factory.mktemp("rules-renderable") / "project")
    for name, (body, _) in ARTICLES.items():
        if name != "jinja-typo.md":
            write_article(root, f"{T}/{name}", FRONT.format(id=name[:-3], extra=""), body)
    return root


def test_one_market_build_after_mkdocs_reports_what_check_reports(renderable, tmp_path):
    proc = run(renderable, "check", "--market", "us", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    checked = {(p["severity"], p["path"], p["line"], p["col"], p["message"])
               for p in json.loads(proc.stdout)["problems"] if p["severity"] == "error"}
    proc = run(renderable, "build", "--market", "us", "--site-dir", str(tmp_path / "site"))
    assert proc.returncode == 1, proc.stderr
    built = set()
    for line in proc.stderr.splitlines():
        m = ERROR_RE.match(line)
        assert m, line  # nothing but the rules' problems: MkDocs' duplicates are dropped
        built.add((m["severity"], m["path"], int(m["line"]),
                   int(m["col"]) if m["col"] else None, m["msg"]))
    assert checked == built
    assert len(built) == 5  # link, anchor, image, remote image, remote frame
    assert not (tmp_path / "site" / "us" / "2026.11").exists()


def test_footnote_definitions_are_not_links(check_findings):
    assert not [f for f in check_findings if f[1].endswith("footnote.md")]
