"""`helpgen merge`: builds made on different machines published into one site.

Each "machine" is a separate folder built by a real `helpgen build` (site/ and
search_index/, the CI artifact layout); the merged tree is checked file by file, with
mike's own parser for versions.json, and served by the real app.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mike.versions import Versions

from helpgen import config as config_mod
from helpgen import merge, server, site
from helpgen.errors import HelpgenError
from projectkit import published_trees
from serverkit import call, copy_project


def build_into(root: Path, out: Path, market: str, version: str, aliases: list[str]) -> Path:
    site.build(config_mod.load(root), market, version, aliases, out / "site",
               index_dir=out / "search_index")
    return out


@pytest.fixture(scope="module")
def machines(tmp_path_factory) -> dict[str, Path]:
    """The project, and three artifacts: us 2026.11, de 2026.11 (both latest) and a
    later us 2026.12 (latest), each built into its own folder as on its own machine."""
    base = tmp_path_factory.mktemp("merge")
    root = copy_project(base / "project")
    return {"project": root,
            "us": build_into(root, base / "build-us", "us", "2026.11", ["latest"]),
            "de": build_into(root, base / "build-de", "de", "2026.11", ["latest"]),
            "us-next": build_into(root, base / "build-us-next", "us", "2026.12", ["latest"])}


def copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


def retag(artifact: Path, market: str, version: str, build_id: str) -> None:
    """Give the artifact's market/version another build id (site, alias copy, index),
    as a second build of the same sources would have."""
    for folder in (artifact / "site" / market / version, artifact / "site" / market / "latest"):
        path = folder / site.BUILD_FILE
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            path.write_text(json.dumps({**data, "build_id": build_id}), encoding="utf-8")
    meta = artifact / "search_index" / market / version / "helpgen-index.json"
    data = json.loads(meta.read_text(encoding="utf-8"))
    meta.write_text(json.dumps({**data, "build_id": build_id}), encoding="utf-8")


def hidden_leftovers(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for top in ("site", "search_index")
            for p in (root / top).rglob(".*")
            if p.name.startswith((".staging-", ".alias-", ".old-", site.JOURNAL_FILE))]


def merged(machines: dict[str, Path], dest: Path, *names: str, **kwargs) -> list:
    cfg = config_mod.load(machines["project"])
    return merge.merge(cfg, dest / "site", [machines[n] for n in names],
                       index_dir=dest / "search_index", **kwargs)


def test_markets_built_on_two_machines_merge_into_one_site(machines, tmp_path):
    dest = tmp_path / "deployed"
    results = merged(machines, dest, "us", "de")
    assert [(r.market, r.version, r.status) for r in results] == [
        ("de", "2026.11", "added"), ("us", "2026.11", "added")]
    for market in ("us", "de"):
        src_id = site.site_build_id(machines[market] / "site" / market / "2026.11")
        assert site.site_build_id(dest / "site" / market / "2026.11") == src_id
        assert site.site_build_id(dest / "site" / market / "latest") == src_id
        assert site.index_build_id(dest / "search_index" / market / "2026.11") == src_id
        versions = Versions.loads((dest / "site" / market / "versions.json")
                                  .read_text(encoding="utf-8"))
        assert [(str(v.version), sorted(v.aliases)) for v in versions] == \
            [("2026.11", ["latest"])]
        aliases = json.loads((dest / "search_index" / market / "aliases.json")
                             .read_text(encoding="utf-8"))
        assert aliases == {"latest": "2026.11"}
    listed = json.loads((dest / "site/markets.json").read_text(encoding="utf-8"))["markets"]
    assert [m["code"] for m in listed] == ["us", "de"]
    page = (dest / "site/index.html").read_text(encoding="utf-8")
    assert 'href="us/"' in page and 'href="de/"' in page
    assert hidden_leftovers(dest) == []
    cfg = config_mod.load(machines["project"])
    app = server.make_app(cfg, dest / "site", dest / "search_index",
                          settings=server.ServerSettings(rate_limit_per_minute=0))
    try:
        reply = call(app, "GET", "/api/search", "market=de&q=Ticket")
        assert reply.status == 200 and reply.json()["results"]
        assert call(app, "GET", "/healthz").json()["markets"] == {"us": ["2026.11"],
                                                                  "de": ["2026.11"]}
    finally:
        app.close()


def test_a_new_version_merges_into_a_deployed_site_and_takes_the_alias(machines, tmp_path):
    dest = tmp_path / "deployed"
    merged(machines, dest, "us", "de")
    before = published_trees(dest)
    results = merged(machines, dest, "us-next")
    assert [(r.market, r.version, r.status) for r in results] == [("us", "2026.12", "added")]
    versions = Versions.loads((dest / "site/us/versions.json").read_text(encoding="utf-8"))
    assert [(str(v.version), sorted(v.aliases)) for v in versions] == \
        [("2026.12", ["latest"]), ("2026.11", [])]
    next_id = site.site_build_id(machines["us-next"] / "site/us/2026.12")
    assert site.site_build_id(dest / "site/us/latest") == next_id
    assert json.loads((dest / "search_index/us/aliases.json").read_text(encoding="utf-8")) \
        == {"latest": "2026.12"}
    after = published_trees(dest)
    de_files = [k for k in before if "/de/" in k]
    assert de_files and all(after[k] == before[k] for k in de_files)  # de untouched
    listed = json.loads((dest / "site/markets.json").read_text(encoding="utf-8"))["markets"]
    assert listed[0]["versions"] == ["2026.12", "2026.11"]
    again = merged(machines, dest, "us-next", "de")  # a retried merge changes nothing
    assert {r.status for r in again} == {"unchanged"}
    assert published_trees(dest) == after


def test_a_rebuilt_version_replaces_the_deployed_one(machines, tmp_path):
    dest = tmp_path / "deployed"
    merged(machines, dest, "us")
    rebuilt = copy(machines["us"], tmp_path / "rebuilt")
    retag(rebuilt, "us", "2026.11", "29991231T235959Z-0000beef")
    results = merge.merge(config_mod.load(machines["project"]), dest / "site", [rebuilt],
                          index_dir=dest / "search_index")
    assert [r.status for r in results] == ["replaced"]
    assert site.site_build_id(dest / "site/us/2026.11") == "29991231T235959Z-0000beef"
    assert site.site_build_id(dest / "site/us/latest") == "29991231T235959Z-0000beef"
    assert site.index_build_id(dest / "search_index/us/2026.11") == "29991231T235959Z-0000beef"


def refused(machines: dict[str, Path], dest: Path, sources: list[Path], **kwargs) -> str:
    before = published_trees(dest)
    with pytest.raises(HelpgenError) as info:
        merge.merge(config_mod.load(machines["project"]), dest / "site", sources,
                    index_dir=dest / "search_index", **kwargs)
    assert info.value.exit_code == 1
    assert published_trees(dest) == before and hidden_leftovers(dest) == []
    return "\n".join(str(p) for p in info.value.problems)


def test_conflicting_sources_are_refused_naming_the_files(machines, tmp_path):
    dest = tmp_path / "deployed"
    merged(machines, dest, "de")
    other = copy(machines["us"], tmp_path / "other-us")
    retag(other, "us", "2026.11", "20300101T000000Z-00000001")
    text = refused(machines, dest, [machines["us"], other])
    assert f"{other}/site/us/2026.11/build.json: error: us 2026.11 is build " in text
    assert "merge one of them" in text and str(machines["us"] / "site/us/2026.11") in text

    wrong = copy(machines["us"], tmp_path / "wrong")
    build = wrong / "site/us/2026.11/build.json"
    build.write_text(json.dumps({**json.loads(build.read_text(encoding="utf-8")),
                                 "version": "2026.10"}), encoding="utf-8")
    (wrong / "site/zz").mkdir()
    (wrong / "site/zz/versions.json").write_text("[]", encoding="utf-8")
    meta = wrong / "search_index/us/2026.11/helpgen-index.json"
    text = refused(machines, dest, [wrong])
    assert f"{build}: error: build.json is of us 2026.10, but the folder is us/2026.11 " \
           "(allowed: market 'us', version '2026.11')" in text
    assert f"{wrong}/site/zz/versions.json: error: market 'zz' is not in helpgen.yml " \
           "(allowed: us, uk," in text

    mixed = copy(machines["us"], tmp_path / "mixed")
    meta = mixed / "search_index/us/2026.11/helpgen-index.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text(encoding="utf-8")),
                                "build_id": "20300101T000000Z-00000002"}), encoding="utf-8")
    text = refused(machines, dest, [mixed])
    assert f"{meta}: error: search index of build 20300101T000000Z-00000002" in text
    assert "site and index come from different builds" in text

    no_index = copy(machines["us"], tmp_path / "no-index")
    shutil.rmtree(no_index / "search_index")
    assert "no search_index/ beside site/" in refused(machines, dest, [no_index])


def test_an_older_build_is_refused_unless_forced(machines, tmp_path):
    dest = tmp_path / "deployed"
    merged(machines, dest, "us")
    old = copy(machines["us"], tmp_path / "old")
    retag(old, "us", "2026.11", "20200101T000000Z-000000aa")
    text = refused(machines, dest, [old])
    assert f"{dest}/site/us/2026.11/build.json: error: the deployed build " in text
    assert "would roll us 2026.11 back (pass --force" in text
    results = merge.merge(config_mod.load(machines["project"]), dest / "site", [old],
                          index_dir=dest / "search_index", force=True)
    assert [r.status for r in results] == ["replaced"]


def test_site_only_merge_for_a_static_host_leaves_the_index_alone(machines, tmp_path):
    dest = tmp_path / "pages"
    results = merged(machines, dest, "us", "de", index=False)
    assert len(results) == 2 and not (dest / "search_index").exists()
    assert (dest / "site/de/latest/index.html").is_file()


def cli(root: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("HELPGEN_FAULT", None)
    if fault:
        env["HELPGEN_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "helpgen.cli", "--project", str(root), *args],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("point,outcome", [("publish:after-site-swap:2", "old"),
                                           ("publish:after-listing:1", "new")])
def test_a_killed_merge_is_rolled_back_or_completed_by_the_next_command(machines, tmp_path,
                                                                        point, outcome):
    dest = tmp_path / "deployed"
    merged(machines, dest, "us")
    before = published_trees(dest)
    args = ["merge", "--into", str(dest / "site"), "--index-dir", str(dest / "search_index"),
            str(machines["us-next"]), str(machines["de"])]
    killed = cli(machines["project"], *args, fault=point)
    assert killed.returncode == -9, killed.stderr
    done = cli(machines["project"], "-q", "merge", "--into", str(dest / "site"),
               "--index-dir", str(dest / "search_index"), str(machines["us"]))
    assert done.returncode == 0, done.stderr
    if outcome == "old":
        assert published_trees(dest) == before
    else:
        assert site.site_build_id(dest / "site/de/latest") == \
            site.site_build_id(machines["de"] / "site/de/2026.11")
        assert site.site_build_id(dest / "site/us/latest") == \
            site.site_build_id(machines["us-next"] / "site/us/2026.12")
    assert hidden_leftovers(dest) == []


def test_cli_merge_prints_what_it_did(machines, tmp_path):
    dest = tmp_path / "deployed"
    out = cli(machines["project"], "merge", "--into", str(dest / "site"), "--index-dir",
              str(dest / "search_index"), str(machines["us"]), str(machines["de"]))
    assert out.returncode == 0, out.stderr
    us_id = site.site_build_id(machines["us"] / "site/us/2026.11")
    assert f"added us 2026.11 (aliases: latest) build {us_id} -> " in out.stdout
    again = cli(machines["project"], "merge", "--into", str(dest / "site"), "--index-dir",
                str(dest / "search_index"), str(machines["us"]))
    assert f"unchanged us 2026.11: build {us_id} is deployed" in again.stdout
    bad = cli(machines["project"], "merge", "--into", str(dest / "site"),
              str(tmp_path / "missing"))
    assert bad.returncode == 1 and "missing: error: no such folder" in bad.stderr


def test_example_workflow_merges_the_market_artifacts_before_deploying():
    import yaml

    repo = Path(__file__).resolve().parents[1]
    wf = yaml.load((repo / "examples/github-actions/publish.yml").read_text(encoding="utf-8"),
                   Loader=yaml.BaseLoader)
    build = wf["jobs"]["build"]
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "--site-dir out/site --index-dir out/search_index" in runs
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith(
        "actions/upload-artifact@"))
    assert upload["with"]["path"].strip() == "out/"
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    steps = [s.get("uses") or s.get("run", "") for s in deploy["steps"]]
    at = {name: next(i for i, s in enumerate(steps) if name in s)
          for name in ("actions/download-artifact@", "helpgen merge --into published/site",
                       "actions/upload-pages-artifact@", "actions/deploy-pages@")}
    assert list(at.values()) == sorted(at.values()), steps
    assert "artifacts/site-*" in steps[at["helpgen merge --into published/site"]]
