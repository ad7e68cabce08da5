"""Shared fixtures: real projects copied into tmp folders, real builds, real indexes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

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


def write_article(project: Path, src: str, front: str, body: str = "# Title\n\nText.\n") -> Path:
    path = project / "docs" / src
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the real project in tmp_path/project."""
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def built_project(tmp_path_factory) -> Path:
    """The real project built once for the default market (us) at 2026.11 + latest.

    Read-only for tests: copy it (copy_project) before changing anything.
    """
    from helpgen import config, site

    root = copy_project(tmp_path_factory.mktemp("built") / "project")
    cfg = config.load(root)
    site.build(cfg, "us", "2026.11", ["latest"], root / "site")
    return root
