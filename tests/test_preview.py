"""`helpgen preview`: a real live-reloading server on loopback, edited while it runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import pytest

from helpgen.preview import ERROR_TITLE

ARTICLE = "partners/support-tickets/submit-a-ticket.md"
PAGE = "partners/support-tickets/submit-a-ticket/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def wait_for(what: Callable[[], bool], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if what():
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


@pytest.fixture
def preview(project: Path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpgen.cli", "--project", str(project), "preview", "--market",
         "de", "--dev-addr", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: fetch(base)[0] == 200)
        yield base, project, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # SIGINT is ignored when tests run in background
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_preview_serves_the_market_and_shows_edits_and_errors(preview):
    base, project, proc = preview
    status, home = fetch(base)
    assert status == 200 and '<html lang="de"' in home
    status, page = fetch(base + PAGE)
    assert status == 200 and "Supportticket im Partner Center einreichen" in page
    assert "livereload" in page  # MkDocs' dev server injects its reload script

    # an edit to the English article shows on a page that falls back to English
    other = project / "docs/partners/registration/who-can-register.md"
    text = other.read_text(encoding="utf-8")
    other.write_text(text.replace("\n# ", "\n# Preview edit: ", 1), encoding="utf-8")
    wait_for(lambda: "Preview edit:" in fetch(base + "partners/registration/who-can-register/")[1])

    # a content error: shown in the browser with file and line, the server keeps running
    article = project / "docs" / ARTICLE
    good = article.read_text(encoding="utf-8")
    article.write_text(good.replace("audience: partners", "audience: shoppers"), encoding="utf-8")
    wait_for(lambda: ERROR_TITLE in fetch(base)[1])
    body = fetch(base + PAGE)[1]
    assert ERROR_TITLE in body and f"docs/{ARTICLE}:5:11" in body and "shoppers" in body

    # fixing it brings the site back
    article.write_text(good, encoding="utf-8")
    wait_for(lambda: "Supportticket im Partner Center einreichen" in fetch(base + PAGE)[1])
    assert proc.poll() is None

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    err = proc.stderr.read()
    assert "problem(s)" in err and "helpgen preview: stopped" in err


def test_preview_flags_broken_links_on_the_page_but_still_serves_it(preview):
    base, project, proc = preview
    article = project / "docs/partners/registration/who-can-register.md"
    text = article.read_text(encoding="utf-8")
    article.write_text(text + "\nSee [gone](gone.md).\n", encoding="utf-8")
    wait_for(lambda: "helpgen-preview-problems" in fetch(base + PAGE)[1])
    body = fetch(base + "partners/registration/who-can-register/")[1]
    assert "would fail helpgen build" in body and "gone.md" in body
    assert proc.poll() is None


def test_unknown_market_is_a_usage_error(project):
    proc = subprocess.run(
        [sys.executable, "-m", "helpgen.cli", "--project", str(project), "preview", "--market",
         "zz", "--dev-addr", f"127.0.0.1:{free_port()}"], capture_output=True, text=True,
        timeout=60)
    assert proc.returncode == 2
    assert "unknown market 'zz'; allowed: us, uk" in proc.stderr


def test_preview_on_a_busy_port_is_a_usage_error_before_building(project):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "helpgen.cli", "--project", str(project), "preview",
             "--dev-addr", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "stop the other server" in proc.stderr
    assert "serving" not in proc.stderr and "internal failure" not in proc.stderr


def test_preview_answers_what_only_a_published_site_has_without_logging_404s(preview):
    base, project, proc = preview
    for path in ("versions.json", "healthz", "us/sitemap.xml", "jp/sitemap.xml"):
        status, body = fetch(base + path)
        assert status == 200, path
    versions = json.loads(fetch(base + "versions.json")[1])
    assert [v["version"] for v in versions] == ["2026.11"]
    assert json.loads(fetch(base + "healthz")[1])["markets"] == {}  # Material's own search
    assert "<urlset" in fetch(base + "uk/sitemap.xml")[1]
    assert fetch(base + "no-such-page/")[0] == 404  # a real dead link is still a 404
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    err = proc.stderr.read()
    assert "versions.json" not in err and "sitemap" not in err and "healthz" not in err
    assert "no-such-page" in err


def test_preview_shows_drafts(preview):
    base, project, proc = preview
    draft = project / "docs/partners/registration/register-a-draft.md"
    draft.write_text("---\nid: register-a-draft\ntitle: Register a draft\nsummary: Not "
                     "published yet.\naudience: partners\ntopic: registration\n"
                     "last_reviewed: 2026-11-20\ndraft: true\n---\n# Register a draft\n\n"
                     "Drafts show in the preview.\n", encoding="utf-8")
    wait_for(lambda: fetch(base + "partners/registration/register-a-draft/")[0] == 200)
    assert "Drafts show in the preview" in fetch(base + "partners/registration/"
                                                 "register-a-draft/")[1]
