"""``helpgen merge``: publish builds made on other machines into a deployed site.

A CI matrix builds each market on its own machine (``helpgen build --market us
--site-dir out/site --index-dir out/search_index``) and uploads ``out/``; a last job
merges those folders into the deployed site folder (and its search index folder). A
*source* is such a folder holding ``site/`` and ``search_index/``; a bare site folder
(``<market>/versions.json`` at its top) is accepted with ``index=False``, for a static
host that serves no search API.

Every published version a source lists is merged as it is, with its build id and the
aliases its ``versions.json`` gives it: a version new to the deployed site is added,
one deployed from another build is replaced, one deployed from the same build is left
alone (so a retried merge changes nothing). Versions of the deployed site that no
source names stay as they were. Publishing goes through the same commit point as a
build (:func:`helpgen.site._publish_set`: ``.publish.lock``, the journal, folder swaps,
``versions.json`` / ``aliases.json`` last), so a killed merge is rolled back or
completed by the next command, and the root page and ``markets.json`` are regenerated
from the merged listings.

Refused, with the file and what was expected (exit code 1), before anything is
written: a market that is not in ``helpgen.yml``; a listed version without its folder
or ``build.json``, or whose ``build.json`` names another market or version; a site and
an index of one version from different builds; two sources carrying the same version
from different builds, or giving one alias to different versions; symbolic links in a
source; and, unless ``force``, a build older than the one deployed (it would roll the
version back).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import analysis, atomic, faults, site
from .config import VERSION_RE, Config
from .errors import EXIT_CONTENT, HelpgenError, Problem, raise_if


@dataclass(frozen=True)
class Candidate:
    """One version of one market found in a source."""

    market: str
    version: str
    aliases: tuple[str, ...]
    build_id: str
    site: Path  # the source's <site>/<market>/<version>
    index: Path | None  # the source's <search_index>/<market>/<version>
    listing: Path  # the source's versions.json naming it


@dataclass(frozen=True)
class MergeResult:
    market: str
    version: str
    aliases: tuple[str, ...]
    build_id: str
    status: str  # "added", "replaced" or "unchanged"
    path: Path


def source_folders(source: Path) -> tuple[Path, Path | None]:
    """A source's site folder and search index folder (None when it has none)."""
    if (source / "site").is_dir():
        index = source / "search_index"
        return source / "site", index if index.is_dir() else None
    return source, None


def _stamp(build_id: str) -> str:
    return build_id.split("-", 1)[0]  # 20261202T051500Z: UTC, sorts as time


def collect(config: Config, sources: Sequence[Path], index: bool = True
            ) -> tuple[list[Candidate], list[Problem]]:
    """Every version the sources publish, and every problem found in them."""
    problems: list[Problem] = []
    found: dict[tuple[str, str], Candidate] = {}
    alias_owner: dict[tuple[str, str], Candidate] = {}
    allowed = ", ".join(config.markets)
    for source in sources:
        source = Path(source)
        if not source.is_dir():
            problems.append(Problem("no such folder (a merge source holds site/ and "
                                    "search_index/, as helpgen build --site-dir X/site "
                                    "--index-dir X/search_index writes them)", str(source)))
            continue
        site_dir, index_dir = source_folders(source)
        if index and index_dir is None:
            problems.append(Problem(
                "no search_index/ beside site/: the server's search needs the index of "
                "every version (upload both folders, or pass --no-index for a static "
                "host)", str(source)))
        markets = [p for p in sorted(site_dir.iterdir()) if p.is_dir()
                   and not p.name.startswith(".") and (p / site.VERSIONS_FILE).is_file()]
        if not markets:
            problems.append(Problem("no published market in this folder (no "
                                    "<market>/versions.json)", str(site_dir)))
        for mdir in markets:
            listing = mdir / site.VERSIONS_FILE
            if mdir.name not in config.markets:
                problems.append(Problem(f"market {mdir.name!r} is not in helpgen.yml "
                                        f"(allowed: {allowed})", str(listing)))
                continue
            try:
                versions = site.read_versions(mdir)
            except HelpgenError as exc:
                problems.extend(exc.problems)
                continue
            listed = set()
            for entry in versions:
                cand = _candidate(mdir, listing, entry, index_dir if index else None,
                                  problems)
                if cand is None:
                    continue
                listed.add(cand.version)
                listed.update(cand.aliases)
                _add(cand, found, alias_owner, problems)
            for folder in sorted(mdir.iterdir()):
                if folder.is_dir() and not folder.name.startswith(".") and \
                        folder.name not in listed and (folder / site.BUILD_FILE).is_file():
                    problems.append(Problem(f"version folder {folder.name!r} is not listed in "
                                            "versions.json; remove it or list it",
                                            str(listing)))
            for path in mdir.rglob("*"):
                if path.is_symlink():
                    problems.append(Problem("symbolic link in a merge source (copy real "
                                            "files into the artifact)", str(path)))
                    break
    return sorted(found.values(), key=lambda c: (c.market, c.version)), problems


def _candidate(mdir: Path, listing: Path, entry: object, index_dir: Path | None,
               problems: list[Problem]) -> Candidate | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
        problems.append(Problem(f"every entry needs a 'version' text (mike's format); got "
                                f"{entry!r}", str(listing)))
        return None
    version = entry["version"]
    aliases = entry.get("aliases") or []
    bad = [n for n in (version, *aliases) if not isinstance(n, str) or not VERSION_RE.match(n)
           or n in ("a", "index.html")]
    if bad:
        problems.append(Problem(f"invalid version/alias name(s) {bad!r}: letters, digits, "
                                "'.', '_' and '-' (e.g. 2026.11, latest)", str(listing)))
        return None
    folder = mdir / version
    build = folder / site.BUILD_FILE
    if not folder.is_dir():
        problems.append(Problem(f"lists {mdir.name} {version}, but {folder} is missing",
                                str(listing)))
        return None
    data = site._read_json_quietly(build)
    if not isinstance(data, dict) or not isinstance(data.get("build_id"), str):
        problems.append(Problem("missing or unreadable build.json (build the version with "
                                "helpgen build, which writes it)", str(build)))
        return None
    if data.get("market") != mdir.name or data.get("version") != version:
        problems.append(Problem(
            f"build.json is of {data.get('market')} {data.get('version')}, but the folder is "
            f"{mdir.name}/{version} (allowed: market {mdir.name!r}, version {version!r})",
            str(build)))
        return None
    bid = data["build_id"]
    index = None
    if index_dir is not None:
        index = index_dir / mdir.name / version
        meta = index / analysis.META_FILE
        ibid = site.index_build_id(index)
        if ibid is None:
            problems.append(Problem(f"no search index of {mdir.name} {version} in this source",
                                    str(meta)))
            return None
        if ibid != bid:
            problems.append(Problem(
                f"search index of build {ibid}, but the site's build.json says {bid}: site "
                "and index come from different builds (upload both from one build)",
                str(meta)))
            return None
    return Candidate(mdir.name, version, tuple(sorted(aliases)), bid, folder, index, listing)


def _add(cand: Candidate, found: dict, alias_owner: dict, problems: list[Problem]) -> None:
    key = (cand.market, cand.version)
    other = found.get(key)
    if other is not None and other.build_id != cand.build_id:
        problems.append(Problem(
            f"{cand.market} {cand.version} is build {cand.build_id} here and build "
            f"{other.build_id} in {other.site / site.BUILD_FILE}: merge one of them",
            str(cand.site / site.BUILD_FILE)))
        return
    for alias in cand.aliases:
        owner = alias_owner.get((cand.market, alias))
        if owner is not None and owner.version != cand.version:
            problems.append(Problem(
                f"alias {alias!r} of {cand.market} points at {cand.version} here and at "
                f"{owner.version} in {owner.listing}: merge one of them",
                str(cand.listing)))
            return
    found[key] = cand
    for alias in cand.aliases:
        alias_owner[(cand.market, alias)] = cand


def merge(config: Config, into: Path, sources: Sequence[Path],
          index_dir: Path | None = None, index: bool = True, force: bool = False,
          fault: faults.Fault | None = None) -> list[MergeResult]:
    """Merge ``sources`` into the site folder ``into`` (and ``index_dir``, the search
    index folder, default ``search.index_dir``; untouched when ``index`` is false)."""
    with faults.active(fault), atomic.disk_errors():
        return _merge(config, Path(into), [Path(s) for s in sources],
                      site._default_index_dir(config, index_dir), index, force)


def _merge(config: Config, into: Path, sources: list[Path], index_dir: Path, index: bool,
           force: bool) -> list[MergeResult]:
    candidates, problems = collect(config, sources, index)
    raise_if(problems, exit_code=EXIT_CONTENT)
    site.sweep_leftovers(config, into, index_dir)
    results: list[MergeResult] = []
    todo: list[Candidate] = []
    for cand in candidates:
        final = into / cand.market / cand.version
        deployed = site.site_build_id(final)
        if deployed == cand.build_id:
            results.append(MergeResult(cand.market, cand.version, cand.aliases, cand.build_id,
                                       "unchanged", final))
            continue
        if deployed is not None and _stamp(deployed) > _stamp(cand.build_id) and not force:
            problems.append(Problem(
                f"the deployed build {deployed} is newer than {cand.build_id} from "
                f"{cand.site}: merging would roll {cand.market} {cand.version} back (pass "
                "--force to replace it anyway)", str(final / site.BUILD_FILE)))
            continue
        todo.append(cand)
        results.append(MergeResult(cand.market, cand.version, cand.aliases, cand.build_id,
                                   "replaced" if deployed else "added", final))
    raise_if(problems, exit_code=EXIT_CONTENT)
    if not todo:
        with site.publishing(into):
            site.write_site_index(config, into)
        return results
    stages: list[atomic.Staging] = []
    try:
        staged = []
        for cand in todo:
            sstage = atomic.make_staging(into / cand.market, f".staging-{cand.version}-")
            stages.append(sstage)
            shutil.copytree(cand.site, sstage.path, dirs_exist_ok=True)
            istage = None
            if index and cand.index is not None:
                istage = atomic.make_staging(index_dir / cand.market,
                                             f".staging-{cand.version}-")
                stages.append(istage)
                shutil.copytree(cand.index, istage.path / cand.market / cand.version)
            staged.append(site.Staged(cand.market, sstage, istage,
                                      index_dir if istage is not None else None,
                                      version=cand.version, aliases=cand.aliases,
                                      build_id=cand.build_id))
        site._publish_set(config, into, todo[0].version, (), staged, site.new_build_id())
    finally:
        site._release(into, stages)
    return results
