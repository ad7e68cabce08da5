"""The WSGI application: one object over the static site and the API, and the
factories that make it from a project."""

from __future__ import annotations

import gzip
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from ..config import Config
from .api import Api
from .caches import GZIP_MIN_BYTES, FileCache, ScriptAllowlists, SearcherPool, open_searcher
from .limits import RateLimiter
from .responses import ApiError, Response, error_response, status_line, text_response
from .security import SECURITY_HEADERS
from .settings import ServerSettings
from .static import StaticSite, accepts_gzip

log = logging.getLogger("helpgen.server")

StartResponse = Callable[..., Any]


class HelpApp(Api, StaticSite):
    """The WSGI application. Build it with :func:`make_app`."""

    def __init__(self, config: Config, site_dir: Path, index_dir: Path,
                 events_db: Path | str | None = None, settings: ServerSettings | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 searcher_opener: Callable[[Path, str, str], Any] = open_searcher) -> None:
        self.config = config
        self.site_dir = Path(site_dir).resolve()
        self.index_dir = Path(index_dir).resolve()
        self.events_db = _events_target(events_db)
        self.settings = settings or ServerSettings.from_config(config)
        self.limiter = RateLimiter(self.settings.rate_limit_per_minute,
                                   self.settings.rate_limit_burst, clock)
        self.searchers = SearcherPool(self.index_dir, searcher_opener)
        self.files = FileCache()
        self.script_allowlists = ScriptAllowlists()
        self._events_lock = threading.Lock()
        self._health_lock = threading.Lock()
        self.degraded: dict[str, str] = {}  # "market/version" -> why its index failed
        self._pages_lock = threading.Lock()
        self._recorded = 0
        self._prune_every = max(1, min(1000, self.settings.events_max_rows // 10))
        self._page_lists: dict[tuple, tuple[str, ...]] = {}
        self._events_store: Any = None
        self._pruning = False
        self._secrets = tuple(sorted({str(self.site_dir), str(self.index_dir),
                                      str(config.root), str(Path.home())},
                                     key=len, reverse=True))

    # ---- WSGI entry point

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        is_api = path.startswith("/api/") or path == "/api" or path == "/healthz"
        try:
            if is_api:
                resp = self._api(environ, path)
            else:
                resp = self._static(environ, path)
        except ApiError as err:
            resp = error_response(err)
        except Exception:  # never a traceback to the client
            log.exception("internal error serving %s", path)
            err = ApiError(500, "internal_error",
                           "the server failed to answer this request; it has been logged")
            resp = error_response(err) if is_api else text_response(500, "Internal server error")
        if is_api:
            resp.headers.extend(self._cors_headers(environ))
            if len(resp.body) >= 2 * GZIP_MIN_BYTES and accepts_gzip(environ):
                resp.body = gzip.compress(resp.body, compresslevel=5, mtime=0)
                resp.headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        return self._finish(environ, start_response, resp)

    def _finish(self, environ: dict, start_response: StartResponse,
                resp: Response) -> Iterable[bytes]:
        headers = list(resp.headers)
        headers.append(("Content-Security-Policy", resp.csp))
        headers.extend(SECURITY_HEADERS)
        body = resp.body
        if resp.status in (204, 304):
            body = b""
        else:
            headers.append(("Content-Length", str(len(body))))
        start_response(status_line(resp.status), headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return [b""]
        return [body]

    def scrub(self, message: str) -> str:
        """A message without paths of the server's disk."""
        for secret in self._secrets:
            message = message.replace(secret, "…")
        return message

    def close(self) -> None:
        """Release indexes; write buffered events (a few seconds at most) and close the
        events store."""
        self.searchers.close()
        with self._events_lock:
            store, self._events_store = self._events_store, None
        if store is not None:
            store.close()


def _events_target(value: Path | str | None) -> Path | str | None:
    """``events_db`` as given to the app: a resolved SQLite path or a PostgreSQL URL."""
    if not value:
        return None
    from ..events import store_target

    target = store_target(value)
    return target.resolve() if isinstance(target, Path) else target


def make_app(config: Config, site_dir: Path | str, index_dir: Path | str,
             events_db: Path | str | None = None, *, settings: ServerSettings | None = None,
             clock: Callable[[], float] = time.monotonic) -> HelpApp:
    """The WSGI application serving ``site_dir`` and the API over ``index_dir``.

    ``events_db``: where search and client events go: a SQLite file, ``sqlite:///path``
    or a ``postgresql://`` URL (None: not recorded).
    ``settings``: overrides of the ``server.*`` settings (default: from ``config``).
    ``clock``: monotonic seconds, for the rate limiter (tests pass a fake one).
    """
    return HelpApp(config, Path(site_dir), Path(index_dir), events_db or None, settings,
                   clock)


def create_app() -> HelpApp:
    """Factory for other WSGI servers: ``waitress-serve --call helpgen.server:create_app``.

    Reads ``HELPGEN_PROJECT`` (default: search upwards from the current folder),
    ``HELPGEN_SITE_DIR``, ``HELPGEN_INDEX_DIR`` and ``HELPGEN_EVENTS_DB``.
    """
    from .. import config as config_mod

    project = os.environ.get("HELPGEN_PROJECT")
    cfg = config_mod.load(project) if project else config_mod.load()
    return make_app(cfg, **app_paths(cfg, os.environ.get("HELPGEN_SITE_DIR"),
                                     os.environ.get("HELPGEN_INDEX_DIR"),
                                     os.environ.get("HELPGEN_EVENTS_DB")))


def app_paths(cfg: Config, site_dir: str | None = None, index_dir: str | None = None,
              events_db: str | None = None) -> dict[str, Any]:
    """Site, index and events paths: given ones, else the project's defaults (the events
    store is a path or a PostgreSQL URL; see :func:`helpgen.events.store_target`)."""
    from ..events import store_target

    db_setting = cfg.settings.get("events.db")
    target: Path | str | None = None
    if events_db:
        target = store_target(events_db)
    elif db_setting:
        target = store_target(db_setting, cfg.root)
    return {
        "site_dir": Path(site_dir) if site_dir else cfg.root / "site",
        "index_dir": Path(index_dir) if index_dir else
        cfg.root / cfg.settings.get("search.index_dir", "search_index"),
        "events_db": target,
    }


def needs_build(app: HelpApp, market: str) -> bool:
    """True when ``market`` has no published site or no search index yet."""
    return not app.published(market) or not (app.index_dir / market).is_dir()
