"""``helpgen preview``: a live-reloading preview of one market for editors.

MkDocs' own development server (``mkdocs.livereload.LiveReloadServer``) serves a
temporary folder and reloads open browser tabs after each rebuild. Every rebuild
re-reads ``helpgen.yml`` and ``docs/`` and renders the chosen market with the same
code as ``helpgen build``, drafts (``draft: true``) included. Content errors never stop
the server: the preview shows a page listing each problem (``file:line:col``), the
terminal prints them too, and the next save that fixes them brings the site back.
MkDocs is imported only here and in ``site.py``.
"""

from __future__ import annotations

import html
import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable

from . import config as config_mod
from . import site
from .errors import HelpgenError, Problem

ERROR_TITLE = "helpgen preview: fix these problems"


def error_page(problems: list[Problem], market: str) -> str:
    items = "\n".join(f"<li><code>{html.escape(str(p))}</code></li>" for p in problems)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<title>{ERROR_TITLE}</title>\n<style>body{{font-family:system-ui,sans-serif;"
        "max-width:60rem;margin:2rem auto;padding:0 1rem}h1{color:#b00020}li{margin:.5rem 0}"
        "code{white-space:pre-wrap}</style></head>\n<body>\n"
        f"<h1>{ERROR_TITLE}</h1>\n<p>The {html.escape(market)} preview could not be built. "
        "Save a fix and this page reloads by itself.</p>\n"
        f"<ol>\n{items}\n</ol>\n</body></html>\n"
    )


def _banner(problems: list[Problem]) -> str:
    items = "".join(f"<li><code>{html.escape(str(p))}</code></li>" for p in problems)
    return ("<div id=\"helpgen-preview-problems\" style=\"background:#b00020;color:#fff;"
            "padding:.6rem 1rem;font:14px system-ui,sans-serif;position:relative;z-index:10\">"
            f"<strong>{len(problems)} problem(s) would fail helpgen build:</strong>"
            f"<ul style=\"margin:.3rem 0 0\">{items}</ul></div>")


def _clear(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


class Preview:
    """Builds one market into ``site_dir`` on demand; never raises content errors."""

    def __init__(self, root: Path, market: str | None, version: str | None,
                 site_dir: Path, report: Callable[[str], None]) -> None:
        self.root, self.market, self.version = root, market, version
        self.site_dir, self.report = site_dir, report
        self.problems: list[Problem] = []
        self.lock = threading.Lock()

    def build(self) -> None:
        with self.lock:
            self._build()

    def _build(self) -> None:
        market = self.market or "?"
        try:
            config = config_mod.load(self.root)  # helpgen.yml edits apply on the next save
            config = config.with_setting("build.drafts", True)  # editors see their drafts
            state = site.prepare(config, self.market or config.default_market,
                                 self.version or config.version)
            market = state.market.code
            staging = Path(tempfile.mkdtemp(prefix="helpgen-preview-build-"))
            try:
                try:
                    site.run_mkdocs(state, staging)
                    problems: list[Problem] = []
                except HelpgenError as exc:  # MkDocs warnings: the site exists, flag each page
                    problems = exc.problems
                    if not (staging / "index.html").exists():
                        raise
                    for page in staging.rglob("*.html"):
                        text = page.read_text(encoding="utf-8")
                        text = text.replace("<body", "<body data-helpgen-problems", 1)
                        at = text.find(">", text.find("<body")) + 1
                        page.write_text(text[:at] + _banner(problems) + text[at:],
                                        encoding="utf-8")
                _clear(self.site_dir)
                for child in staging.iterdir():
                    shutil.move(str(child), self.site_dir / child.name)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        except HelpgenError as exc:
            problems = exc.problems
            _clear(self.site_dir)
            page = error_page(problems, market)
            (self.site_dir / "index.html").write_text(page, encoding="utf-8")
            (self.site_dir / "404.html").write_text(page, encoding="utf-8")
        self.problems = problems
        if problems:
            self.report(f"helpgen preview: {len(problems)} problem(s):")
            for p in problems:
                self.report(f"  {p}")
        else:
            self.report(f"helpgen preview: built {market}")


def quiet_answers(market: str, version: str) -> dict[str, tuple[str, bytes]]:
    """What the preview answers for files only a published site has, so that pages do not
    fill the browser console and the terminal with 404s: the version list Material's
    selector reads, an empty sitemap per market (Material's language selector) and a
    ``/healthz`` without markets, which keeps the page on Material's own search."""
    import json

    versions = json.dumps([{"version": version, "title": version, "aliases": []}])
    sitemap = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>\n')
    health = json.dumps({"status": "ok", "preview": market, "markets": {}})
    return {"versions.json": ("application/json", versions.encode()),
            "sitemap.xml": ("application/xml", sitemap.encode()),
            "healthz": ("application/json", health.encode())}


def _server_class():
    from mkdocs.livereload import LiveReloadServer

    class PreviewServer(LiveReloadServer):
        """MkDocs' live-reload server that binds before the first build and answers
        :func:`quiet_answers` for files the preview does not have."""

        answers: dict[str, tuple[str, bytes]] = {}
        _bound = False

        def server_bind(self) -> None:
            if not self._bound:
                super().server_bind()
                self._bound = True
                self.url = self.url.rsplit(":", 1)[0] + f":{self.server_port}/"

        def _serve_request(self, environ, start_response):
            path = environ.get("PATH_INFO", "")
            name = path.rsplit("/", 1)[-1]
            local = Path(self.root) / path.lstrip("/")
            if name in self.answers and ".." not in path and not local.is_file():
                ctype, body = self.answers[name]
                start_response("200 OK", [("Content-Type", ctype),
                                          ("Content-Length", str(len(body)))])
                return [body]
            return super()._serve_request(environ, start_response)

    return PreviewServer


def serve(root: Path, market: str | None = None, version: str | None = None,
          host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          report: Callable[[str], None] = print) -> None:
    """Build, serve on ``host:port`` and rebuild on every change until Ctrl-C or SIGTERM.

    The address is taken before anything is built, so a busy port is a usage error
    (exit 2) with the same advice as ``helpgen serve``.
    """
    import signal

    config = config_mod.load(root)
    code = config.market(market).code  # an unknown market is a usage error before anything
    site_dir = Path(tempfile.mkdtemp(prefix="helpgen-preview-"))
    preview = Preview(config.root, market, version, site_dir, report)
    logging.getLogger("mkdocs.livereload").setLevel(logging.WARNING)
    server = _server_class()(builder=preview.build, host=host, port=port, root=str(site_dir))
    server.answers = quiet_answers(code, version or config.version)
    try:
        server.server_bind()
    except OSError as exc:
        shutil.rmtree(site_dir, ignore_errors=True)
        server.server_close()
        raise HelpgenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick "
                           "another --dev-addr port or stop the other server",
                           exit_code=2) from None

    def error_handler(code: int) -> bytes | None:
        page = site_dir / "404.html"
        return page.read_bytes() if code == 404 and page.is_file() else None

    def _stop(signum, frame) -> None:
        raise KeyboardInterrupt

    server.error_handler = error_handler
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _stop)  # `kill` stops it like Ctrl-C
    try:
        preview.build()
        watched = [config.docs_dir, config.config_file, config.mkdocs_file]
        hooks_dir = config.root / "hooks"
        for path in (*watched, hooks_dir):
            if path.exists():
                server.watch(str(path))
        report(f"helpgen preview: serving {code} on {server.url} "
               "(Ctrl+C to stop)")
        try:
            server.serve(open_in_browser=open_browser)
        except KeyboardInterrupt:
            report("helpgen preview: stopped")
        finally:
            server.shutdown()
    except KeyboardInterrupt:
        server.server_close()
        report("helpgen preview: stopped")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(site_dir, ignore_errors=True)
