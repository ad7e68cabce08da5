"""Publishing safely: all-or-nothing --all, interrupted builds, concurrent versions.json
updates, reproducible output, and the example GitHub Actions workflow."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mike.versions import Versions

from helpgen import config as config_mod
from helpgen import site
from helpgen.cli import main
from helpgen.errors import HelpgenErrors

from projectkit import REPO, copy_project, write_article

MARKETS = ["us", "de", "jp"]


def snapshot(folder: Path) -> dict[str, str]:
    """Every published file (staging folders excluded) with its content hash."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not any(part.startswith(".staging-") for part in rel.split("/")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A project with us, de and jp published at 2026.11 (read-only: copy to change)."""
    root = copy_project(tmp_path_factory.mktemp("published") / "project")
    site.build_all(config_mod.load(root), "2026.11", ["latest"], root / "site", jobs=2,
                   markets=MARKETS)
    return root


def copy_published(published: Path, dest: Path) -> Path:
    import shutil

    root = copy_project(dest)
    shutil.copytree(published / "site", root / "site")
    return root


def test_one_bad_market_publishes_nothing_and_keeps_the_previous_site(published, tmp_path):
    root = copy_published(published, tmp_path / "project")
    before = snapshot(root / "site")
    write_article(root, "partners/support-tickets/jp-broken.md", """
id: jp-broken
title: Broken only in Japan
summary: Renders everywhere but in the Japanese market.
audience: partners
topic: support-tickets
last_reviewed: 2026-11-25
""", "# Broken\n\n{% if market.code == 'jp' %}{{ market.yen }}{% endif %}Hello.\n")
    with pytest.raises(HelpgenErrors, match="on the jp site"):
        site.build_all(config_mod.load(root), "2026.11", ["latest"], root / "site", jobs=2,
                       markets=MARKETS)
    assert snapshot(root / "site") == before
    leftovers = [p for folder in ("site", "search_index") for p in (root / folder).rglob(".staging-*")]
    assert leftovers == []
    # a new version fails the same way and does not appear in versions.json
    with pytest.raises(HelpgenErrors):
        site.build_all(config_mod.load(root), "2026.12", ["latest"], root / "site", jobs=2,
                       markets=MARKETS)
    for code in MARKETS:
        versions = Versions.loads((root / "site" / code / "versions.json").read_text("utf-8"))
        assert [str(v.version) for v in versions] == ["2026.11"]
    assert not (root / "site/us/2026.12").exists()


def test_killed_build_leaves_the_published_site_as_it_was(published, tmp_path):
    root = copy_published(published, tmp_path / "project")
    before = snapshot(root / "site")
    # Content changes, so a completed build would change files: it must not get that far.
    page = root / "docs/partners/support-tickets/submit-a-ticket.md"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "# Submit a support ticket", "# Submit a support ticket (new)", 1), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpgen.cli", "--project", str(root), "build", "--market", "us",
         "--market", "de", "--market", "jp", "--jobs", "1", "--progress", "plain"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    first = proc.stdout.readline()  # the first market is built, the others are still running
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert first.startswith("helpgen: built "), first
    assert snapshot(root / "site") == before
    # the next build completes and publishes the change
    assert main(["--project", str(root), "-q", "build", "--market", "us"]) == 0
    assert "(new)" in (root / "site/us/2026.11/partners/support-tickets/submit-a-ticket/"
                       "index.html").read_text(encoding="utf-8")


def _publish_versions(site_dir: str, versions: list[str], start: float) -> None:
    config = config_mod.load(REPO)
    while time.time() < start:  # every process starts publishing at the same moment
        time.sleep(0.001)
    for version in versions:
        staging = Path(site_dir) / "us" / f".staging-{version}-test"
        staging.mkdir(parents=True)
        (staging / "index.html").write_text(f"<p>{version}</p>", encoding="utf-8")
        site.publish(config, Path(site_dir), "us", version, staging, ())


def test_concurrent_publishers_all_end_up_in_versions_json(tmp_path):
    site_dir = tmp_path / "site"
    ctx = multiprocessing.get_context("fork")
    start = time.time() + 0.5
    batches = [[f"2026.{p}{i}" for i in range(5)] for p in range(1, 7)]
    procs = [ctx.Process(target=_publish_versions, args=(str(site_dir), batch, start))
             for batch in batches]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * len(procs)
    versions = Versions.loads((site_dir / "us/versions.json").read_text(encoding="utf-8"))
    expected = sorted(v for batch in batches for v in batch)
    assert sorted(str(v.version) for v in versions) == expected
    for v in expected:
        assert (site_dir / "us" / v / "index.html").read_text(encoding="utf-8") == f"<p>{v}</p>"


def test_two_cli_builds_of_different_versions_at_once_both_listed(published, tmp_path):
    root = copy_published(published, tmp_path / "project")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "helpgen.cli", "--project", str(root), "-q",
                               "build", "--market", "us", "--version", version, *alias],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for version, alias in (("2026.12", ["--alias", "latest"]),
                                    ("2027.01", ["--no-alias"]))]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    versions = Versions.loads((root / "site/us/versions.json").read_text(encoding="utf-8"))
    assert sorted(str(v.version) for v in versions) == ["2026.11", "2026.12", "2027.01"]
    assert [str(v.version) for v in versions if "latest" in v.aliases] == ["2026.12"]


def test_two_builds_on_different_days_are_byte_identical(tmp_path, monkeypatch):
    from whoosh import index as whoosh_index

    sites, indexes = [], []
    for n, day in enumerate(("1764028800", "1767225600")):  # 2025-11-25, 2026-01-01
        monkeypatch.setenv("SOURCE_DATE_EPOCH", day)  # MkDocs' clock (the build date)
        root = copy_project(tmp_path / f"build{n}" / "project")
        cfg = config_mod.load(root)
        site.build_all(cfg, "2026.11", ["latest"], root / "site", jobs=2, markets=["us", "de"])
        sites.append(snapshot(root / "site"))
        indexes.append(root / cfg.setting("search.index_dir"))
    assert sites[0].keys() == sites[1].keys()
    differ = [name for name in sites[0] if sites[0][name] != sites[1][name]]
    # build.json names the build (a fresh id each time); every other byte is the same
    assert sorted(differ) == sorted(name for name in sites[0] if name.endswith("/build.json"))
    assert "us/2026.11/build.json" in differ and "us/latest/build.json" in differ
    assert "us/2026.11/sitemap.xml.gz" in sites[0]
    for market in ("us", "de"):
        readers = [whoosh_index.open_dir(str(ix / market / "2026.11")).reader() for ix in indexes]
        try:
            docs = [sorted(map(repr, r.all_stored_fields())) for r in readers]
            terms = [set(r.all_terms()) for r in readers]
            assert docs[0] == docs[1] and terms[0] == terms[1] and docs[0]
        finally:
            for r in readers:
                r.close()


def test_sitemap_timestamp_is_the_newest_review_date_not_the_build_date(published):
    import datetime as dt

    from helpgen import content

    data = (published / "site/us/2026.11/sitemap.xml.gz").read_bytes()
    stamp = int.from_bytes(data[4:8], "little")  # gzip header MTIME (RFC 1952)
    newest = max(a.last_reviewed for a in content.load(config_mod.load(published)).articles
                 if a.last_reviewed)
    assert dt.datetime.fromtimestamp(stamp, dt.timezone.utc).date() == newest


def test_example_workflow_is_valid_and_runs_check_eval_and_build_per_market():
    path = REPO / "examples/github-actions/publish.yml"
    wf = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # "on" stays a key
    assert "on" in wf and "jobs" in wf
    jobs = wf["jobs"]
    runs = "\n".join(step.get("run", "") for job in jobs.values() for step in job["steps"])
    assert "helpgen check --format github" in runs
    assert "helpgen eval" in runs
    assert "helpgen build --market ${{ matrix.market }}" in runs
    matrix = next(job["strategy"]["matrix"]["market"] for job in jobs.values()
                  if "strategy" in job)
    assert sorted(matrix) == sorted(config_mod.load(REPO).markets)
    for job in jobs.values():  # eval reads built indexes: a build comes first in its job
        steps = [step.get("run", "") for step in job["steps"]]
        evals = [i for i, run in enumerate(steps) if run.startswith("helpgen eval")]
        builds = [i for i, run in enumerate(steps) if run.startswith("helpgen build --all")]
        assert all(builds and min(builds) < i for i in evals), steps
    uses = [step.get("uses", "") for job in jobs.values() for step in job["steps"]]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    for job in jobs.values():
        for step in job["steps"]:
            assert "uses" in step or "run" in step, step


def test_ci_output_is_plain_lines_and_a_summary_table(project, capsys, monkeypatch):
    import re

    monkeypatch.setenv("CI", "true")
    assert main(["--project", str(project), "build", "--market", "us", "--market", "de"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^helpgen: built us 2026\.11 in \d+\.\ds$", out, re.M)
    assert re.search(r"^helpgen: built de 2026\.11 in \d+\.\ds$", out, re.M)
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("market"))
    assert lines[header].split() == ["market", "version", "articles", "pages", "index", "docs",
                                     "size", "time"]
    rows = {line.split()[0]: line.split() for line in lines[header + 1:]}
    published = {p.name for p in (project / "site/us/2026.11/a").iterdir()}
    assert rows["us"][1] == "2026.11" and int(rows["us"][2]) == len(published)
    assert int(rows["us"][3]) > int(rows["us"][2])  # articles plus the home page and others
    assert int(rows["de"][4]) > 0 and rows["de"][6] == "MB" and rows["de"][7].endswith("s")
    assert "\x1b[" not in out  # no terminal control codes in a CI log
    assert main(["--project", str(project), "-q", "build", "--market", "us"]) == 0
    assert capsys.readouterr().out == ""
