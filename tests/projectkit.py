"""Helpers shared by test modules: copy the real project, write articles.

(Kept out of conftest.py: tests/browser has its own conftest, and ``from conftest
import ...`` would pick whichever was imported first.)
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("helpgen.yml", "mkdocs.yml")
PROJECT_DIRS = ("docs", "hooks")


def copy_project(dest: Path) -> Path:
    """A private copy of the real project (config, hooks, articles) to build in."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(REPO / name, dest / name)
    for name in PROJECT_DIRS:
        shutil.copytree(REPO / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def set_setting(project: Path, section: str, key: str, value) -> Path:
    """Set ``section.key`` in the project's helpgen.yml (the rest kept); the project."""
    import yaml

    path = project / "helpgen.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault(section, {})[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return project


def write_article(project: Path, src: str, front: str, body: str = "# Title\n\nText.\n") -> Path:
    path = project / "docs" / src
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")
    return path


def published_trees(root: Path) -> dict[str, str]:
    """Hash of every published file of the site and the search index (no hidden files:
    staging folders, locks, the journal)."""
    out = {}
    for top in ("site", "search_index"):
        for path in sorted((root / top).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and not any(p.startswith(".") for p in rel.split("/")):
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def site_files(folder: Path) -> dict[str, bytes]:
    """Every file of a built site folder, by path relative to it."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build_both_ways(root: Path, markets: tuple[str, ...], switch_off) -> dict:
    """Build each market into ``root/out-False/<market>`` with ``switch_off(state)``
    applied to its prepared build (a cache of helpgen's turned off: MkDocs' and
    Material's own rendering) and into ``root/out-True/<market>`` as helpgen builds it.
    Returns ``{market: {False: files, True: files}}`` (see :func:`site_files`)."""
    from helpgen import config as config_mod, site

    cfg = config_mod.load(root)
    out: dict = {}
    for market in markets:
        out[market] = {}
        for on in (False, True):
            state = site.prepare(cfg, market, "2026.11")
            if not on:
                switch_off(state)
            site.run_mkdocs(state, root / f"out-{on}" / market)
            out[market][on] = site_files(root / f"out-{on}" / market)
    return out


def differing(built: dict) -> tuple[int, list[str]]:
    """(files compared, files that differ) of :func:`build_both_ways`' builds."""
    compared, differ = 0, []
    for market, both in built.items():
        assert sorted(both[True]) == sorted(both[False])
        compared += len(both[True])
        differ += [f"{market}/{rel}" for rel in both[True] if both[True][rel] != both[False][rel]]
    return compared, differ
