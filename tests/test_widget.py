"""The drop-in widget's file: written by every build at one URL no version is part of,
filled with the build's markets and texts, and served by `helpgen serve` with a long
but revalidated cache lifetime that other sites may embed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpgen import catalog, widget
from helpgen import config as config_mod
from helpgen import site

from serverkit import call, copy_project

SOURCE = Path(widget.__file__).parent / "theme" / "assets" / "helpgen" / "deflect.js"
BUILT_RE = re.compile(r"^  var BUILT = (\{.*\});$", re.M)


def built_of(text: str) -> dict:
    match = BUILT_RE.search(text)
    assert match, "the widget has no BUILT data"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """us published at 2026.10, then at 2026.11 (latest)."""
    root = copy_project(tmp_path_factory.mktemp("widget") / "project")
    cfg = config_mod.load(root)
    site.build(cfg, "us", "2026.10", [], root / "site", index_dir=root / "search_index")
    first = (root / "site" / widget.WIDGET_PATH).read_text(encoding="utf-8")
    (root / "first-widget.js").write_text(first, encoding="utf-8")
    site.build(cfg, "us", "2026.11", ["latest"], root / "site",
               index_dir=root / "search_index")
    return root


def test_build_writes_the_widget_at_the_site_root_not_in_a_version(project):
    path = project / "site" / "widget" / "v1" / "helpgen-widget.js"
    assert path.is_file()
    assert not list((project / "site" / "us").rglob("helpgen-widget.js"))
    text = path.read_text(encoding="utf-8")
    # the same URL across versions, and the same file: it names no version
    assert text == (project / "first-widget.js").read_text(encoding="utf-8")
    assert "2026.1" not in text


def test_the_widget_is_deflect_js_with_the_builds_data(project):
    cfg = config_mod.load(project)
    text = (project / "site" / widget.WIDGET_PATH).read_text(encoding="utf-8")
    source = SOURCE.read_text(encoding="utf-8")
    assert BUILT_RE.sub("  var BUILT = null;", text) == source  # one shared script
    data = built_of(text)
    assert data["markets"] == {code: m.language for code, m in cfg.markets.items()}
    assert data["default_market"] == cfg.default_market
    assert data["alias"] == cfg.default_alias
    texts = catalog.load()
    keys = [k for k in texts.keys() if k.startswith("widget.")]
    assert {"widget.title", "widget.empty", "widget.solved", "widget.glad"} <= set(keys)
    assert sorted(data["text"]) == sorted(catalog.INTERFACE_LANGUAGES)
    for lang in catalog.INTERFACE_LANGUAGES:
        assert data["text"][lang] == {k.removeprefix("widget."): texts.text(k, lang)
                                      for k in keys}
    assert data["text"]["de"]["title"] != data["text"]["en"]["title"]
    # every market's language has its texts
    assert set(data["markets"].values()) <= set(data["text"])


def test_the_widget_needs_no_eval_or_inline_code():
    text = SOURCE.read_text(encoding="utf-8")
    for banned in ("eval(", "new Function", "innerHTML", "setAttribute(\"style\"",
                   "document.write"):
        assert banned not in text, banned
    assert re.search(r"setTimeout\(\s*[\"']", text) is None  # string timers are eval


def test_the_app_serves_the_widget_cached_long_revalidated_and_embeddable(project):
    from helpgen import server

    app = server.make_app(config_mod.load(project), project / "site",
                          project / "search_index")
    try:
        reply = call(app, "GET", "/" + widget.WIDGET_PATH)
        assert reply.status == 200
        assert reply.headers["content-type"] == "text/javascript; charset=utf-8"
        assert reply.headers["cache-control"] == widget.CACHE_CONTROL
        assert "max-age=3600" in reply.headers["cache-control"]
        assert "immutable" not in reply.headers["cache-control"]  # the URL is stable
        assert reply.headers["cross-origin-resource-policy"] == "cross-origin"
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.body == (project / "site" / widget.WIDGET_PATH).read_bytes()
        again = call(app, "GET", "/" + widget.WIDGET_PATH,
                     headers={"If-None-Match": reply.headers["etag"]})
        assert again.status == 304
        # other JavaScript keeps the default lifetime and no cross-origin grant
        other = call(app, "GET", "/us/2026.11/assets/helpgen/deflect.js")
        assert other.status == 200
        assert other.headers["cache-control"] != widget.CACHE_CONTROL
        assert "cross-origin-resource-policy" not in other.headers
    finally:
        app.close()


def test_helpgen_serve_serves_the_widget_at_the_stable_url(project):
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpgen.cli", "--project", str(project), "serve",
         "--no-build", "--port", "0"],
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            url = found.group(1) if found else None
        assert url, proc.stderr.read() if proc.poll() is not None else "no URL printed"
        with urllib.request.urlopen(url + "/" + widget.WIDGET_PATH, timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == widget.CACHE_CONTROL
            assert built_of(resp.read().decode("utf-8"))["default_market"]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
