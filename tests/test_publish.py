"""Publishing safely: all-or-nothing --all, interrupted builds, concurrent versions.json
updates, reproducible output, and the example GitHub Actions workflow."""

from __future__ import annotations

import hashlib
import json
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

from projectkit import REPO, copy_project, published_trees, write_article

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
jinja: true
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
    cached = [step for step in jobs["build"]["steps"]
              if step.get("uses", "").startswith("actions/cache@")]
    assert [step["with"]["path"] for step in cached] == ["~/.cache/helpgen"]  # helpgen.cache
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


# --------------------------------------------------------------------------- interrupted publishing

TWO = ["us", "de"]
UNCOMMITTED = ["publish:after-journal", "publish:after-index-swap:1", "publish:after-index-swap:2",
               "publish:after-site-swap:1", "publish:after-site-swap:2"]
COMMITTED = ["publish:after-commit", "publish:after-listing:1", "publish:after-listing:2",
             "publish:before-cleanup"]
MARKER = """
id: release-marker
title: Release marker {n}
summary: Which build of the help center this is.
audience: buyers
topic: orders
last_reviewed: 2026-11-25
"""
HIDDEN = (".staging-", ".alias-", ".old-")


def write_marker(root: Path, n: int) -> None:
    write_article(root, "buyers/orders/release-marker.md", MARKER.format(n=n),
                  f"# Release marker {n}\n\nThe zyxmarker page of build {n}.\n")


@pytest.fixture(scope="module")
def two_markets(tmp_path_factory) -> Path:
    """us and de published at 2026.11 (latest), with their search indexes (copy to change)."""
    root = copy_project(tmp_path_factory.mktemp("two") / "project")
    write_marker(root, 0)
    site.build_all(config_mod.load(root), "2026.11", ["latest"], root / "site", jobs=2,
                   markets=TWO)
    return root


def copy_two(two_markets: Path, dest: Path) -> Path:
    import shutil

    root = copy_project(dest)
    write_marker(root, 0)
    for folder in ("site", "search_index"):
        shutil.copytree(two_markets / folder, root / folder, symlinks=True)
    return root


def build_ids(root: Path, version: str = "2026.11") -> dict[str, tuple]:
    """market -> (site build id, alias 'latest' build id, index build id)."""
    return {m: (site.site_build_id(root / "site" / m / version),
                site.site_build_id(root / "site" / m / "latest"),
                site.index_build_id(root / "search_index" / m / version)) for m in TWO}


def leftovers(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for top in ("site", "search_index")
            for p in (root / top).rglob(".*") if p.name.startswith(HIDDEN)
            or p.name == site.JOURNAL_FILE]


def cli(root: Path, *args: str, fault: str | None = None,
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **(extra_env or {})}
    env.pop("HELPGEN_FAULT", None)
    if fault:
        env["HELPGEN_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "helpgen.cli", "--project", str(root), "-q",
                           *args], env=env, capture_output=True, text=True, timeout=180)


def test_build_id_is_the_same_in_site_alias_and_index(two_markets):
    ids = build_ids(two_markets)
    assert len({i for triple in ids.values() for i in triple}) == 1
    assert None not in ids["us"]
    data = json.loads((two_markets / "site/us/2026.11/build.json").read_text(encoding="utf-8"))
    assert data == {"build_id": ids["us"][0], "market": "us", "version": "2026.11"}


@pytest.mark.parametrize("point", UNCOMMITTED + COMMITTED)
def test_build_all_killed_at_a_publish_point_ends_all_old_or_all_new(two_markets, tmp_path,
                                                                      point):
    root = copy_two(two_markets, tmp_path / "project")
    before, old_ids = published_trees(root), build_ids(root)
    write_marker(root, 1)
    proc = cli(root, "build", "--market", "us", "--market", "de", "--jobs", "2", fault=point)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    # what the next build does first, under the publish lock
    site.sweep_leftovers(config_mod.load(root), root / "site", root / "search_index")
    after, ids = published_trees(root), build_ids(root)
    if point in UNCOMMITTED:
        assert after == before and ids == old_ids
    else:
        new = {i for triple in ids.values() for i in triple}
        assert len(new) == 1 and new != {old_ids["us"][0]}, ids  # one build, everywhere
        for m in TWO:
            page = root / f"site/{m}/2026.11/buyers/orders/release-marker/index.html"
            assert "Release marker 1" in page.read_text(encoding="utf-8")
            versions = Versions.loads((root / f"site/{m}/versions.json").read_text("utf-8"))
            assert [(str(v.version), sorted(v.aliases)) for v in versions] == [
                ("2026.11", ["latest"])]
    assert leftovers(root) == []


def test_killed_publish_of_a_new_version_leaves_no_unlisted_folder(two_markets, tmp_path):
    root = copy_two(two_markets, tmp_path / "project")
    before = published_trees(root)
    proc = cli(root, "build", "--market", "us", "--market", "de", "--version", "2026.12",
               fault="publish:after-site-swap:2")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (root / "site/de/2026.12").is_dir()  # swapped in, not listed: the kill's moment
    assert main(["--project", str(root), "-q", "build", "--market", "us",
                 "--version", "2026.13", "--no-alias"]) == 0  # the next build cleans up
    assert not any((root / top / m / "2026.12").exists() for top in ("site", "search_index")
                   for m in TWO)
    assert leftovers(root) == []
    after = published_trees(root)
    de = [k for k in before if k.startswith(("site/de/", "search_index/de/"))]
    assert de and {k: after.get(k) for k in de} == {k: before[k] for k in de}
    assert [k for k in after if k.startswith(("site/de/", "search_index/de/"))] == de


def _processes_with(token: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"HELPGEN_TEST_TOKEN={token}".encode() not in (proc / "environ").read_bytes():
                continue
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(proc.name))
    return found


def _kill_parent_mid_build(root: Path, markets: list[str], working: str) -> str:
    """Start a build, SIGKILL the helpgen process (not its group) once its forked children
    are at work (``working``, a glob under ``root``, matches a folder of each market's
    staging); returns the token in the environment of them all."""
    import uuid

    token = uuid.uuid4().hex
    args = [a for m in markets for a in ("--market", m)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpgen.cli", "--project", str(root), "-q", "build", *args,
         "--version", "2026.12", "--jobs", str(len(markets))],
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "HELPGEN_TEST_TOKEN": token},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while len(_processes_with(token)) < 1 + len(markets) and time.time() < deadline:
        time.sleep(0.005)
    assert len([p for p in _processes_with(token) if p != proc.pid]) == len(markets)
    while len(list(root.glob(working))) < len(markets) and time.time() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return token


def _gone_within(token: str, seconds: float) -> bool:
    deadline = time.time() + seconds
    while _processes_with(token) and time.time() < deadline:
        time.sleep(0.01)
    return _processes_with(token) == []


def test_index_child_dies_with_its_killed_parent(two_markets, tmp_path):
    root = copy_two(two_markets, tmp_path / "project")
    token = _kill_parent_mid_build(root, ["us"], "search_index/*/.staging-*/us")
    assert _gone_within(token, 0.15)
    time.sleep(1)
    stages = list((root / "search_index/us").glob(".staging-*"))
    assert len(stages) == 1 and not list(stages[0].rglob("helpgen-index.json"))
    # the kill point right after the fork: the child finds its parent gone and leaves
    proc = cli(root, "build", "--market", "us", "--version", "2026.12",
               fault="build:after-fork", extra_env={"HELPGEN_TEST_TOKEN": token})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert _gone_within(token, 2)
    assert main(["--project", str(root), "-q", "build", "--market", "us"]) == 0
    assert leftovers(root) == []


def test_build_all_workers_die_with_their_killed_parent(two_markets, tmp_path):
    root = copy_two(two_markets, tmp_path / "project")
    token = _kill_parent_mid_build(root, TWO, "site/*/.staging-*/assets")
    assert _gone_within(token, 0.15)  # a market takes over a second: killed, not done


@pytest.mark.parametrize("fault", ["write:staging:ENOSPC", "write:text:EROFS",
                                   "write:text:4:ENOSPC", "write:swap:2:EACCES"])
def test_disk_error_exits_4_naming_the_folder_and_a_retry_succeeds(two_markets, tmp_path,
                                                                   capsys, monkeypatch, fault):
    root = copy_two(two_markets, tmp_path / "project")
    before = published_trees(root)
    monkeypatch.setenv("HELPGEN_FAULT", fault)
    args = ["--project", str(root), "build", "--market", "us", "--market", "de",
            "--version", "2026.12", "--alias", "latest"]
    assert main(args) == 4
    err = capsys.readouterr().err
    assert f"cannot write in {root}" in err, err
    assert "then run the command again" in err and "[E" in err
    assert published_trees(root) == before  # nothing half-listed, no unlisted folder
    assert leftovers(root) == []
    monkeypatch.delenv("HELPGEN_FAULT")
    assert main(args) == 0
    for m in TWO:
        versions = Versions.loads((root / f"site/{m}/versions.json").read_text("utf-8"))
        assert [str(v.version) for v in versions if "latest" in v.aliases] == ["2026.12"]
        assert site.site_build_id(root / f"site/{m}/2026.12") == \
            site.index_build_id(root / f"search_index/{m}/2026.12")


def test_disk_error_message_names_the_folder_written_in(tmp_path):
    from helpgen import atomic

    (tmp_path / "site/us").mkdir(parents=True)
    for where in (tmp_path / "site/us", tmp_path / "site/us/versions.json"):
        err = atomic.environment_error(OSError(28, "No space left on device", str(where)))
        assert err is not None and err.exit_code == 4
        assert str(err).startswith(f"error: cannot write in {tmp_path / 'site/us'}: No space")
        assert "free space on that file system" in str(err)
    assert "read-only" in str(atomic.environment_error(OSError(30, "x", str(tmp_path))))
    assert atomic.environment_error(OSError(20, "Not a directory", str(tmp_path))) is None


def test_remove_deletes_a_version_folder_versions_json_does_not_list(two_markets, tmp_path,
                                                                     capsys):
    import shutil

    root = copy_two(two_markets, tmp_path / "project")
    shutil.copytree(root / "site/us/2026.11", root / "site/us/2026.09")
    shutil.copytree(root / "search_index/us/2026.11", root / "search_index/us/2026.09")
    assert main(["--project", str(root), "remove", "--market", "us", "2026.09"]) == 0
    assert "removed unlisted version folder us/2026.09" in capsys.readouterr().out
    assert not (root / "site/us/2026.09").exists()
    assert not (root / "search_index/us/2026.09").exists()
    assert main(["--project", str(root), "remove", "--market", "us", "2026.09"]) == 2


def test_fault_values_are_checked():
    from helpgen import faults
    from helpgen.errors import HelpgenError

    assert faults.parse("publish:after-site-swap:3") == faults.Fault("publish",
                                                                 "after-site-swap", 3)
    assert faults.parse("write:text:ENOSPC").action == "ENOSPC"
    with pytest.raises(HelpgenError, match="allowed: build:after-fork"):
        faults.parse("publish:nowhere")
    with pytest.raises(HelpgenError, match="neither a count"):
        faults.parse("publish:after-commit:soon")


def test_no_request_fails_through_ten_publishes(two_markets, tmp_path):
    """A client searches and fetches pages in a loop while us is published ten times:
    five new versions moving 'latest', five republishes of the version 'latest' is at.
    An error is any 5xx, any 404, or a page from another build than the search index
    that led to it (its marker is neither the one searched before nor after)."""
    import re
    import threading
    import urllib.error
    import urllib.request

    from helpgen import server
    from serverkit import running

    root = copy_two(two_markets, tmp_path / "project")
    cfg = config_mod.load(root)
    settings = server.ServerSettings.from_config(cfg, rate_limit_per_minute=10**9,
                                                 rate_limit_burst=10**9, record_searches=False)
    app = server.make_app(cfg, root / "site", root / "search_index", settings=settings)
    errors: list[str] = []
    done = {"requests": 0, "checked": 0}
    stop = threading.Event()

    def get(url: str) -> tuple[int, bytes]:
        done["requests"] += 1
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def search(base: str) -> tuple[str, int, str] | None:
        status, body = get(f"{base}/api/search?market=us&q=zyxmarker")
        if status != 200:
            errors.append(f"search: {status} {body[:200]!r}")
            return None
        data = json.loads(body)
        hit = next((h for h in data["results"] if h["id"] == "release-marker"), None)
        if hit is None:
            errors.append(f"search: no marker hit in {data['version']}")
            return None
        return data["version"], int(hit["title"].rsplit(" ", 1)[1]), hit["url"].strip("/")

    def client(base: str) -> None:
        while not stop.is_set():
            first = search(base)
            if first is None:
                continue
            version, n, url = first
            status, body = get(f"{base}/{url}/")  # the hit's own link: us/<version>/...
            for path in ("/us/latest/", "/us/versions.json", f"/us/{version}/build.json"):
                st, _ = get(base + path)
                if st >= 500 or st == 404:
                    errors.append(f"{path}: {st}")
            after = search(base)
            if status != 200:
                errors.append(f"page /{url}/: {status}")
                continue
            shown = re.search(r"Release marker (\d+)", body.decode("utf-8"))
            markers = {n} | ({after[1]} if after and after[0] == version else set())
            if shown is None or int(shown.group(1)) not in markers:
                errors.append(f"page of {version} shows {shown and shown.group(0)}, "
                              f"index said {sorted(markers)}")
            done["checked"] += 1

    with running(app) as base:
        thread = threading.Thread(target=client, args=(base,), daemon=True)
        thread.start()
        latest = "2026.11"
        for i in range(1, 11):
            write_marker(root, i)
            if i % 2:
                latest = f"2027.{i:02d}"
            site.build(cfg, "us", latest, ["latest"], root / "site",
                       index_dir=root / "search_index")
        time.sleep(0.3)
        stop.set()
        thread.join(timeout=30)
    app.close()
    print(f"\n10 publishes: {done['requests']} requests, {done['checked']} page/index checks, "
          f"{len(errors)} errors")
    assert errors == []
    assert done["checked"] >= 50, done
    versions = Versions.loads((root / "site/us/versions.json").read_text(encoding="utf-8"))
    assert [str(v.version) for v in versions][:1] == ["2027.09"]
    assert len(list(versions)) == 6


def test_disk_error_after_the_commit_is_completed_by_the_next_command(two_markets, tmp_path,
                                                                      capsys, monkeypatch):
    root = copy_two(two_markets, tmp_path / "project")
    monkeypatch.setenv("HELPGEN_FAULT", "write:swap:6:ENOSPC")  # 4 folder swaps, then listing
    args = ["--project", str(root), "build", "--market", "us", "--market", "de",
            "--version", "2026.12", "--alias", "latest"]
    assert main(args) == 4
    assert "the next build or remove lists it in every market first" in capsys.readouterr().err
    monkeypatch.delenv("HELPGEN_FAULT")
    assert main(["--project", str(root), "-q", "remove", "--market", "us", "2026.11"]) == 0
    for m in TWO:
        versions = Versions.loads((root / f"site/{m}/versions.json").read_text("utf-8"))
        assert [str(v.version) for v in versions if "latest" in v.aliases] == ["2026.12"]
    assert [str(v.version) for v in Versions.loads(
        (root / "site/us/versions.json").read_text("utf-8"))] == ["2026.12"]
    assert leftovers(root) == []

