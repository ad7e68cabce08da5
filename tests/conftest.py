"""Shared fixtures: real projects copied into tmp folders, real builds, real indexes."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
# helpgen's cache folder (compiled templates, word lists) for this test session only: the
# machine's own is neither used nor filled
_CACHE = tempfile.mkdtemp(prefix="helpgen-test-cache-")
os.environ["HELPGEN_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)

from projectkit import REPO, copy_project, write_article  # noqa: E402,F401


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


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Path:
    """The project with us 2026.10, us 2026.11 (latest) and de 2026.11 built, for the
    server tests (serverkit.build_served_project). Read-only: copy it to change it."""
    from serverkit import build_served_project

    return build_served_project(tmp_path_factory.mktemp("served") / "project")


@pytest.fixture(scope="session")
def cfg(served):
    """The served project's configuration."""
    from helpgen import config

    return config.load(served)


@pytest.fixture
def app(request, served, cfg, tmp_path):
    """The WSGI app over the served project, events in a fresh database, no rate limit.
    A module marked ``pytest.mark.no_events`` gets it without an events store (modules
    that need another app define their own ``app``)."""
    from helpgen import server

    events_db = None if request.node.get_closest_marker("no_events") else tmp_path / "events.db"
    a = server.make_app(cfg, served / "site", served / "search_index", events_db,
                        settings=server.ServerSettings(rate_limit_per_minute=0))
    yield a
    a.close()


# --------------------------------------------------------------------------- event stores

@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the whole session (tests/pgcluster.py), removed at
    the end. If it cannot start, every test that uses it errors (never skipped)."""
    from pgcluster import PgCluster

    cluster = PgCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """The URL of a fresh, empty database in :func:`pg_cluster` (no password in it)."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def events_target(request, tmp_path):
    """An empty events store's ``events.db``: a SQLite file path, then a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "events.sqlite3"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(events_target):
    """An open event store on :func:`events_target` (closed after the test)."""
    from helpgen import events

    s = events.open_store(events_target)
    yield s
    s.close()
