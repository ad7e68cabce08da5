"""Browser tests: Debian's Chromium through pytest-playwright, against the real
waitress server serving a real built site (us 2026.10 + 2026.11, de 2026.11)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from serverkit import build_served_project, running

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS_ENV = "HELPGEN_SCREENSHOTS"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments plus the system Chromium (no download)."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@dataclass
class LiveSite:
    url: str  # http://127.0.0.1:<port>
    root: Path
    events_db: Path


@pytest.fixture(scope="session")
def live_site(tmp_path_factory) -> Iterator[LiveSite]:
    from helpgen import config, server

    root = build_served_project(tmp_path_factory.mktemp("browser") / "project")
    events_db = root / "events.sqlite3"
    app = server.make_app(config.load(root), root / "site", root / "search_index", events_db,
                          settings=server.ServerSettings(rate_limit_per_minute=0))
    with running(app, threads=4) as url:
        yield LiveSite(url, root, events_db)
    app.close()


@dataclass
class PageLog:
    """Everything a page did that a test may object to."""

    origin: str
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bad_status: list[str] = field(default_factory=list)

    def remote(self) -> list[str]:
        mine = urlsplit(self.origin).netloc
        return [u for u in self.requests
                if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                and urlsplit(u).netloc != mine]

    def assert_clean(self) -> None:
        assert self.remote() == [], f"requests outside the origin: {self.remote()}"
        assert self.failed == [], f"failed requests: {self.failed}"
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.bad_status == [], f"error responses: {self.bad_status}"


@pytest.fixture
def page_log(page, live_site) -> PageLog:
    log = PageLog(live_site.url)
    page.on("request", lambda r: log.requests.append(r.url))
    page.on("requestfailed", lambda r: None if (  # a redirect page replacing itself
        r.is_navigation_request() and "ERR_ABORTED" in (r.failure or ""))
        else log.failed.append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: log.bad_status.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.errors.append(str(e)))
    return log


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """Where tests save screenshots: a temporary folder, so a test run leaves the checkout
    as it was. ``HELPGEN_SCREENSHOTS=media`` (a folder, relative to the repository)
    refreshes the README's images instead."""
    wanted = os.environ.get(SCREENSHOTS_ENV)
    if not wanted:
        return tmp_path_factory.mktemp("screenshots")
    folder = Path(wanted) if Path(wanted).is_absolute() else REPO / wanted
    folder.mkdir(parents=True, exist_ok=True)
    return folder
