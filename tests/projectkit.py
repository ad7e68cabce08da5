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
