"""The help site and its API as one WSGI application (stdlib + waitress only).

``make_app(config, site_dir, index_dir)`` returns a WSGI callable that serves

* every built market and version from ``site_dir`` (``site/index.html``,
  ``site/<market>/<version>/...``): safe against path traversal, with content types,
  ``ETag``/``Last-Modified`` revalidation (304), gzip and cache headers;
* ``GET /api/search`` (Whoosh results through :mod:`helpgen.search`),
  ``POST /api/suggest`` (ticket suggestions through :mod:`helpgen.deflect`),
  ``POST /api/events`` (client analytics through :mod:`helpgen.events`) and
  ``GET /healthz``.

API errors are always JSON, ``{"error": {"code": ..., "message": ...}}``, never a
traceback or a path of the server's disk. Every response carries security headers
(a per-page CSP with the hashes of the page's inline scripts, ``nosniff``,
``Referrer-Policy``). ``/api/*`` has CORS for configured origins and a per-client
token-bucket rate limit. Settings are the ``server.*`` entries of
:data:`helpgen.config.SETTINGS`.

The app holds all of its state (open searchers, rate-limit buckets, a small cache of
compressed files) on the instance: two apps in one process share nothing. Run it with
:func:`serve` (waitress), ``waitress-serve --call helpgen.server:create_app``, or any
other WSGI server.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import html
import json
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qs

from . import __version__
from .config import Config
from .errors import HelpgenError

log = logging.getLogger("helpgen.server")

StartResponse = Callable[..., Any]

SEARCH_LIMIT_MAX = 50
HASHED_ASSET_RE = re.compile(r"\.[0-9a-f]{8,}\.(?:min\.)?(?:js|css)$")
INLINE_SCRIPT_RE = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
ROOT_LINK_RE = re.compile(r'((?:href|src)="|"(?:base|search)": ")/(?!/)')  # in 404.html
GZIP_MIN_BYTES = 512
FILE_CACHE_BYTES = 32 * 1024 * 1024
FILE_CACHE_MAX_FILE = 2 * 1024 * 1024
HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")
MAX_CLIENTS = 20_000  # rate-limit buckets kept (oldest dropped first)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".gz": "application/gzip",
    ".pdf": "application/pdf",
    ".webmanifest": "application/manifest+json",
}
COMPRESSIBLE = ("text/", "application/json", "application/xml", "image/svg+xml",
                "application/manifest+json")
NO_CACHE_SUFFIXES = (".html", ".htm", ".json", ".xml")

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def page_csp(script_hashes: Iterable[str] = ()) -> str:
    """The CSP of an HTML page: own origin only; inline scripts allowed by hash.

    Material sets ``style`` attributes from its JavaScript, so styles need
    ``'unsafe-inline'``; scripts do not: each inline ``<script>`` of the page is
    allowed by its SHA-256 hash.
    """
    scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in script_hashes)])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'self'")


def inline_script_hashes(html_text: str) -> tuple[str, ...]:
    """Base64 SHA-256 of every executable inline ``<script>`` (not JSON data blocks)."""
    out = []
    for attrs, body in INLINE_SCRIPT_RE.findall(html_text):
        if re.search(r"\bsrc\s*=", attrs, re.I):
            continue
        kind = re.search(r"\btype\s*=\s*[\"']?([^\"'\s>]+)", attrs, re.I)
        if kind and kind.group(1).lower() not in ("text/javascript", "module",
                                                   "application/javascript"):
            continue
        digest = hashlib.sha256(body.encode("utf-8")).digest()
        out.append(base64.b64encode(digest).decode("ascii"))
    return tuple(dict.fromkeys(out))


# --------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class ServerSettings:
    """The ``server.*`` settings the app uses (see config.SETTINGS for their help)."""

    max_body_bytes: int = 65_536
    max_query_chars: int = 256
    rate_limit_per_minute: int = 120
    rate_limit_burst: int = 30
    cors_origins: tuple[str, ...] = ()
    trust_proxy_headers: bool = False
    static_max_age: int = 600
    record_searches: bool = True
    events_max_rows: int = 1_000_000
    events_retention_days: int = 400

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> ServerSettings:
        s = config.settings
        values = {
            "max_body_bytes": s.get("server.max_body_bytes", cls.max_body_bytes),
            "max_query_chars": s.get("server.max_query_chars", cls.max_query_chars),
            "rate_limit_per_minute": s.get("server.rate_limit_per_minute",
                                           cls.rate_limit_per_minute),
            "rate_limit_burst": s.get("server.rate_limit_burst", cls.rate_limit_burst),
            "cors_origins": tuple(str(o).rstrip("/") for o in s.get("server.cors_origins", ())),
            "trust_proxy_headers": s.get("server.trust_proxy_headers", False),
            "static_max_age": s.get("server.static_max_age", cls.static_max_age),
            "record_searches": s.get("server.record_searches", True),
            "events_max_rows": s.get("server.events_max_rows", cls.events_max_rows),
            "events_retention_days": s.get("server.events_retention_days",
                                           cls.events_retention_days),
        }
        values.update(overrides)
        return cls(**values)


# --------------------------------------------------------------------------- responses

class ApiError(Exception):
    """An API failure with its HTTP status; becomes ``{"error": {...}}``."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Iterable[tuple[str, str]] = (), **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = list(headers)
        self.extra = extra


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    csp: str = API_CSP

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def json_bytes(data: Any) -> bytes:
    """JSON that cannot be sniffed as HTML: ``<``, ``>`` and ``&`` are escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .encode("utf-8"))


def json_response(status: int, data: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, json_bytes(data),
                    [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                     *headers])


def error_response(err: ApiError) -> Response:
    payload = {"error": {"code": err.code, "message": err.message, **err.extra}}
    return json_response(err.status, payload, err.headers)


def redirect(status: int, location: str) -> Response:
    link = html.escape(location, quote=True)
    return Response(status, f'<!DOCTYPE html>\n<a href="{link}">{link}</a>\n'.encode("utf-8"),
                    [("Location", location), ("Content-Type", "text/html; charset=utf-8"),
                     ("Cache-Control", "no-cache")])


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


# --------------------------------------------------------------------------- rate limit

class RateLimiter:
    """Per-client token buckets: ``per_minute`` tokens a minute, up to ``burst`` saved.

    ``take(client)`` returns 0 when the request may go ahead, else the seconds until
    a token is available. ``per_minute <= 0`` turns limiting off. The clock is
    injectable so tests need not sleep.
    """

    def __init__(self, per_minute: int, burst: int,
                 clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_CLIENTS) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


# --------------------------------------------------------------------------- searchers

def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


class SearcherPool:
    """One open searcher per (market, version), shared by every request and thread.

    :class:`helpgen.search.Searcher` serialises its own calls, so one instance per index
    is enough. Every acquire compares a cheap signature of the index folders on disk
    (inode and mtime of ``<index_dir>/<market>``, its version folder and
    ``aliases.json``) with the one the searcher was opened at: when a rebuilt index was
    swapped in, a new searcher is opened and the old one is closed as soon as the
    requests still using it are done.
    """

    def __init__(self, index_dir: Path, opener: Callable[[Path, str, str], Any]) -> None:
        self.index_dir = index_dir
        self.opener = opener
        self._open: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        self._opening = threading.Lock()

    def _signature(self, market: str, version: str) -> tuple:
        mdir = self.index_dir / market
        return (_stat_key(mdir), _stat_key(mdir / version), _stat_key(mdir / "aliases.json"))

    @contextlib.contextmanager
    def acquire(self, market: str, version: str) -> Iterator[Any]:
        entry = self._entry((market, version))
        try:
            yield entry.searcher
        finally:
            with self._lock:
                entry.users -= 1
                close = entry.retired and entry.users == 0
            if close:
                _close_quietly(entry.searcher)

    def _entry(self, key: tuple[str, str]) -> _Entry:
        sig = self._signature(*key)
        with self._lock:
            entry = self._open.get(key)
            if entry is not None and entry.sig == sig:
                entry.users += 1
                return entry
        with self._opening:  # one thread opens; the others wait and share it
            with self._lock:
                entry = self._open.get(key)
                if entry is not None and entry.sig == sig:
                    entry.users += 1
                    return entry
            fresh = _Entry(self.opener(self.index_dir, *key), sig, users=1)
            with self._lock:
                old = self._open.get(key)
                self._open[key] = fresh
                close_old = old is not None and old.users == 0
                if old is not None:
                    old.retired = True
            if close_old:
                _close_quietly(old.searcher)
            return fresh

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(f"{m}/{v}" for m, v in self._open)

    def close(self) -> None:
        with self._lock:
            entries = list(self._open.values())
            self._open.clear()
        for entry in entries:
            _close_quietly(entry.searcher)


@dataclass
class _Entry:
    searcher: Any
    sig: tuple
    users: int = 0
    retired: bool = False


def _close_quietly(obj: Any) -> None:
    try:
        obj.close()
    except Exception:  # closing a searcher whose files were swapped away
        log.debug("closing searcher failed", exc_info=True)


def _open_searcher(index_dir: Path, market: str, version: str) -> Any:
    from . import search

    return search.Searcher(index_dir, market, version)


# --------------------------------------------------------------------------- static files

@dataclass(frozen=True)
class _Cached:
    body: bytes
    gz: bytes | None
    script_hashes: tuple[str, ...]


class _FileCache:
    """Small LRU of file bodies (with their gzip form and CSP hashes), keyed on mtime."""

    def __init__(self, max_bytes: int = FILE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, _Cached] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, path: Path, st: os.stat_result, ctype: str) -> _Cached:
        key = (str(path), st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        body = path.read_bytes()
        gz = None
        if ctype.startswith(COMPRESSIBLE) and len(body) >= GZIP_MIN_BYTES:
            gz = gzip.compress(body, compresslevel=6, mtime=0)
        hashes = inline_script_hashes(body.decode("utf-8", "replace")) \
            if ctype.startswith("text/html") else ()
        item = _Cached(body, gz, hashes)
        size = len(body) + len(gz or b"")
        if size <= FILE_CACHE_MAX_FILE:
            with self._lock:
                if key not in self._items:
                    self._items[key] = item
                    self._size += size
                while self._size > self.max_bytes and self._items:
                    _, old = self._items.popitem(last=False)
                    self._size -= len(old.body) + len(old.gz or b"")
        return item


def content_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    return CONTENT_TYPES.get(suffix, "application/octet-stream")


def _accepts_gzip(environ: dict) -> bool:
    for part in environ.get("HTTP_ACCEPT_ENCODING", "").split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            q = params.strip()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    bare = etag.strip('"')
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag in (bare, bare + "-gzip"):
            return True
    return False


def _not_modified_since(header: str, mtime: float) -> bool:
    try:
        since = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    return int(mtime) <= since


class BadPath(Exception):
    pass


def split_path(path_info: str) -> tuple[list[str], bool]:
    """Decoded PATH_INFO -> safe segments and whether it ended with ``/``.

    Raises :class:`BadPath` for anything that could leave the site folder or that no
    file of a built site has: NUL and control characters, backslashes, ``.``/``..``
    segments (also still-encoded ``%2e``/``%2f``/``%5c``), and hidden names.
    """
    try:
        text = path_info.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise BadPath("path is not UTF-8") from None
    if not text.startswith("/"):
        raise BadPath("path must start with /")
    if any(ord(c) < 32 or ord(c) == 127 for c in text) or "\\" in text:
        raise BadPath("control character or backslash in path")
    lowered = text.lower()
    if any(enc in lowered for enc in ("%2e", "%2f", "%5c", "%00")):
        raise BadPath("encoded dot, slash or backslash in path")
    parts = [p for p in text.split("/") if p]
    for p in parts:
        if p in (".", "..") or p.startswith(".") or ":" in p:
            raise BadPath(f"segment {p!r} is not allowed")
    return parts, text.endswith("/")


# --------------------------------------------------------------------------- the app

class HelpApp:
    """The WSGI application. Build it with :func:`make_app`."""

    def __init__(self, config: Config, site_dir: Path, index_dir: Path,
                 events_db: Path | None = None, settings: ServerSettings | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 searcher_opener: Callable[[Path, str, str], Any] = _open_searcher) -> None:
        self.config = config
        self.site_dir = Path(site_dir).resolve()
        self.index_dir = Path(index_dir).resolve()
        self.events_db = Path(events_db).resolve() if events_db else None
        self.settings = settings or ServerSettings.from_config(config)
        self.limiter = RateLimiter(self.settings.rate_limit_per_minute,
                                   self.settings.rate_limit_burst, clock)
        self.searchers = SearcherPool(self.index_dir, searcher_opener)
        self.files = _FileCache()
        self._events_lock = threading.Lock()
        self._pages_lock = threading.Lock()
        self._recorded = 0
        self._prune_every = max(1, min(1000, self.settings.events_max_rows // 10))
        self._page_lists: dict[tuple, tuple[str, ...]] = {}
        self._events_store: Any = None
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
            resp = error_response(err) if is_api else self._text(500, "Internal server error")
        if is_api:
            resp.headers.extend(self._cors_headers(environ))
            if len(resp.body) >= 2 * GZIP_MIN_BYTES and _accepts_gzip(environ):
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
        start_response(_status_line(resp.status), headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return [b""]
        return [body]

    @staticmethod
    def _text(status: int, text: str) -> Response:
        return Response(status, text.encode("utf-8"),
                        [("Content-Type", "text/plain; charset=utf-8"),
                         ("Cache-Control", "no-store")])

    def scrub(self, message: str) -> str:
        """A message without paths of the server's disk."""
        for secret in self._secrets:
            message = message.replace(secret, "…")
        return message

    # ---- static files

    def _static(self, environ: dict, path: str) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            resp = self._text(405, "Method not allowed")
            resp.headers.append(("Allow", "GET, HEAD"))
            return resp
        try:
            parts, trailing = split_path(path)
        except BadPath:
            return self._text(400, "Bad request path")
        if len(parts) == 2 and parts[1] == "sitemap.xml" and parts[0] in self.config.markets:
            return self._market_sitemap(environ, parts[0])
        target = self.site_dir.joinpath(*parts)
        real = os.path.realpath(target)
        root = str(self.site_dir)
        if real != root and not real.startswith(root + os.sep):
            return self._not_found(parts)  # a symlink out of the site folder
        if os.path.isdir(real):
            if parts and not trailing:
                location = path + "/"
                if environ.get("QUERY_STRING"):
                    location += "?" + environ["QUERY_STRING"]
                return redirect(301, location)
            real = os.path.join(real, "index.html")
        try:
            st = os.stat(real)
        except OSError:
            return self._not_found(parts)
        if not os.path.isfile(real):
            return self._not_found(parts)
        return self._file(environ, Path(real), st)

    def _file(self, environ: dict, path: Path, st: os.stat_result) -> Response:
        ctype = content_type(path.name)
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        if HASHED_ASSET_RE.search(path.name):
            cache = "public, max-age=31536000, immutable"
        elif path.name.endswith(NO_CACHE_SUFFIXES):
            cache = "no-cache"
        else:
            cache = f"public, max-age={self.settings.static_max_age}"
        headers = [("Content-Type", ctype), ("Cache-Control", cache),
                   ("Last-Modified", formatdate(st.st_mtime, usegmt=True))]
        item = self.files.get(path, st, ctype)
        csp = page_csp(item.script_hashes) if ctype.startswith("text/html") else page_csp()
        use_gz = item.gz is not None and _accepts_gzip(environ)
        if item.gz is not None:
            headers.append(("Vary", "Accept-Encoding"))
        if use_gz:
            etag = etag[:-1] + '-gzip"'
        headers.append(("ETag", etag))
        inm = environ.get("HTTP_IF_NONE_MATCH")
        ims = environ.get("HTTP_IF_MODIFIED_SINCE")
        if (inm is not None and _etag_matches(inm, etag)) or (
                inm is None and ims and _not_modified_since(ims, st.st_mtime)):
            return Response(304, b"", [h for h in headers if h[0] != "Content-Type"], csp)
        if use_gz:
            headers.append(("Content-Encoding", "gzip"))
            return Response(200, item.gz or b"", headers, csp)
        return Response(200, item.body, headers, csp)

    def _not_found(self, parts: list[str]) -> Response:
        """The market's Material 404 page (links rebased onto its version), else text."""
        moved = self._versionless(parts)
        if moved is not None:
            return moved
        if parts == ["favicon.ico"]:  # browsers ask for it on the market list page
            icon = self._404_page_dir() / "assets" / "images" / "favicon.png"
            if icon.is_file():
                return Response(200, icon.read_bytes(), [
                    ("Content-Type", "image/png"),
                    ("Cache-Control", f"public, max-age={self.settings.static_max_age}")])
        page = self._404_page(parts)
        if page is None:
            return self._text(404, "Not found")
        prefix, html_text = page
        html_text = ROOT_LINK_RE.sub(lambda m: m.group(1) + prefix, html_text)
        return Response(404, html_text.encode("utf-8"),
                        [("Content-Type", "text/html; charset=utf-8"),
                         ("Cache-Control", "no-store")],
                        page_csp(inline_script_hashes(html_text)))

    def _default_version(self, market: str) -> str | None:
        versions = self.published(market)
        return versions.get(self.config.default_alias) or next(iter(versions.values()), None)

    def _versionless(self, parts: list[str]) -> Response | None:
        """``/<market>/<page>/`` (no version) -> 302 to that page of the default version."""
        if len(parts) < 2 or parts[0] not in self.config.markets:
            return None
        if parts[1] in self.published(parts[0]):
            return None
        version = self._default_version(parts[0])
        if version is None:
            return None
        target = self.site_dir.joinpath(parts[0], version, *parts[1:])
        if (target / "index.html").is_file():
            location = "/".join(["", parts[0], version, *parts[1:]]) + "/"
        elif target.is_file():
            location = "/".join(["", parts[0], version, *parts[1:]])
        else:
            return None
        return redirect(302, location)

    def _market_sitemap(self, environ: dict, market: str) -> Response:
        """``/<market>/sitemap.xml``: every page of the market's default version, as
        version-less URLs on this host.

        Material's market selector fetches this file for each market of its menu and,
        when the page being read exists in the chosen market, opens that page there
        instead of the market's home (the version-less URL redirects to the version).
        """
        version = self._default_version(market)
        host = environ.get("HTTP_HOST", "")
        if not HOST_RE.match(host):
            host = f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        scheme = "https" if environ.get("wsgi.url_scheme") == "https" else "http"
        rows = [f"<url><loc>{html.escape(f'{scheme}://{host}/{market}/{rel}')}</loc></url>"
                for rel in (self._pages(market, version) if version else ())]
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                + "\n".join(rows) + "\n</urlset>\n").encode("utf-8")
        return Response(200, body, [("Content-Type", "application/xml"),
                                    ("Cache-Control", "no-cache")], page_csp())

    def _pages(self, market: str, version: str) -> tuple[str, ...]:
        """Folder URLs (``partners/.../submit-a-ticket/``) of a built version, cached
        until the version folder is replaced."""
        folder = self.site_dir / market / version
        key = (market, version, _stat_key(folder))
        with self._pages_lock:
            if key in self._page_lists:
                return self._page_lists[key]
        found = []
        for page in folder.rglob("index.html"):
            rel = page.parent.relative_to(folder).as_posix()
            if rel == ".":
                found.append("")
            elif not rel.startswith(("a/", "assets/", "search/")) and rel != "a":
                found.append(rel + "/")
        pages = tuple(sorted(found))
        with self._pages_lock:
            self._page_lists = {k: v for k, v in self._page_lists.items() if k[:2] != key[:2]}
            self._page_lists[key] = pages
        return pages

    def _404_page_dir(self) -> Path:
        """The built version folder of the default market's default alias."""
        market = self.config.default_market
        return self.site_dir / market / (self._default_version(market) or "")

    def _404_page(self, parts: list[str]) -> tuple[str, str] | None:
        market = parts[0] if parts and parts[0] in self.config.markets else None
        candidates: list[str] = []
        for code in (market, self.config.default_market):
            if code is None:
                continue
            versions = self.published(code)
            if market == code and len(parts) > 1 and parts[1] in versions:
                candidates.append(f"{code}/{versions[parts[1]]}")
            if versions:
                candidates.append(f"{code}/{versions[self.config.default_alias]}"
                                  if self.config.default_alias in versions
                                  else f"{code}/{next(iter(versions.values()))}")
        for rel in candidates:
            page = self.site_dir / rel / "404.html"
            if page.is_file():
                return f"/{rel}/", page.read_text(encoding="utf-8")
        return None

    def published(self, market: str) -> dict[str, str]:
        """Published names of a market (versions and aliases) -> the version they are."""
        try:
            data = json.loads((self.site_dir / market / "versions.json")
                              .read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        out: dict[str, str] = {}
        for v in data if isinstance(data, list) else []:
            if isinstance(v, dict) and isinstance(v.get("version"), str):
                out[v["version"]] = v["version"]
                for alias in v.get("aliases") or []:
                    out[str(alias)] = v["version"]
        return out

    # ---- API

    def _client(self, environ: dict) -> str:
        if self.settings.trust_proxy_headers:
            fwd = environ.get("HTTP_X_FORWARDED_FOR", "")
            if fwd.strip():
                return fwd.split(",")[-1].strip()
        return environ.get("REMOTE_ADDR", "") or "unknown"

    def _cors_headers(self, environ: dict) -> list[tuple[str, str]]:
        origin = environ.get("HTTP_ORIGIN", "").rstrip("/")
        allowed = self.settings.cors_origins
        if not origin or not allowed:
            return []
        if "*" in allowed:
            return [("Access-Control-Allow-Origin", "*")]
        if origin in allowed:
            return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        return []

    ROUTES = {
        "/api/search": ("GET", "_api_search"),
        "/api/suggest": ("POST", "_api_suggest"),
        "/api/events": ("POST", "_api_events"),
        "/healthz": ("GET", "_healthz"),
    }

    def _api(self, environ: dict, path: str) -> Response:
        route = self.ROUTES.get(path)
        if route is None:
            raise ApiError(404, "not_found", f"no API endpoint {path}; endpoints: "
                           f"{', '.join(sorted(self.ROUTES))}")
        method = environ.get("REQUEST_METHOD", "GET")
        allowed, handler = route
        allow = f"{allowed}, OPTIONS" + (", HEAD" if allowed == "GET" else "")
        if method == "OPTIONS":
            return self._preflight(environ, allowed, allow)
        if method != allowed and not (method == "HEAD" and allowed == "GET"):
            raise ApiError(405, "method_not_allowed", f"{path} accepts {allowed} only",
                           [("Allow", allow)])
        if path != "/healthz":
            wait = self.limiter.take(self._client(environ))
            if wait > 0:
                retry = max(1, math.ceil(wait))
                raise ApiError(429, "rate_limited",
                               f"too many requests; retry in {retry} s",
                               [("Retry-After", str(retry))])
        return getattr(self, handler)(environ)

    def _preflight(self, environ: dict, allowed: str, allow: str) -> Response:
        origin = environ.get("HTTP_ORIGIN")
        if origin and not self._cors_headers(environ):
            raise ApiError(403, "origin_not_allowed",
                           "this origin may not call the API; allowed origins are set by "
                           "server.cors_origins")
        headers = [("Allow", allow), ("Access-Control-Allow-Methods", allow),
                   ("Access-Control-Allow-Headers", "Content-Type"),
                   ("Access-Control-Max-Age", "600")]
        return Response(204, b"", headers)

    def _query(self, environ: dict) -> dict[str, str]:
        qs = environ.get("QUERY_STRING", "")
        if len(qs) > self.settings.max_query_chars * 6 + 512:
            raise ApiError(413, "query_too_long", "the query string is too long")
        try:
            parsed = parse_qs(qs, keep_blank_values=True, strict_parsing=False,
                              errors="strict", max_num_fields=20)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "bad_query_string", "the query string is not valid "
                           "UTF-8 form data (at most 20 parameters)") from None
        return {k: v[-1] for k, v in parsed.items()}

    def _market_version(self, market: str | None, version: str | None) -> tuple[str, str]:
        market = market or self.config.default_market
        if market not in self.config.markets:
            raise ApiError(404, "unknown_market",
                           f"unknown market {market[:40]!r}; known markets: "
                           f"{', '.join(self.config.markets)}",
                           markets=list(self.config.markets))
        published = self.published(market)
        version = version or self.config.default_alias
        if version not in published:
            names = sorted(published) or ["none (run helpgen build --market " + market + ")"]
            raise ApiError(404, "unknown_version",
                           f"market {market} has no published version {version[:40]!r}; "
                           f"published: {', '.join(names)}", versions=sorted(published))
        return market, published[version]

    def _api_search(self, environ: dict) -> Response:
        params = self._query(environ)
        q = params.get("q", "")
        if len(q) > self.settings.max_query_chars:
            raise ApiError(413, "query_too_long",
                           f"q is longer than {self.settings.max_query_chars} characters")
        if not q.strip():
            raise ApiError(400, "missing_query", "parameter q (the search text) is required")
        try:
            limit = int(params.get("limit", "10"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= SEARCH_LIMIT_MAX:
            raise ApiError(400, "bad_limit",
                           f"limit must be a whole number from 1 to {SEARCH_LIMIT_MAX}")
        market, version = self._market_version(params.get("market"), params.get("version"))
        audience = params.get("audience") or None
        topic = params.get("topic") or None
        if audience is not None and audience not in self.config.audiences:
            raise ApiError(400, "unknown_audience", f"unknown audience {audience[:40]!r}; "
                           f"allowed: {', '.join(self.config.audiences)}")
        if topic is not None and topic not in self.config.topics:
            raise ApiError(400, "unknown_topic", f"unknown topic {topic[:40]!r}; "
                           f"allowed: {', '.join(self.config.topics)}")
        result = self._search(market, version, q, limit, audience, topic)
        hits = [self._hit_json(h, market, version) for h in result.hits]
        payload = {"query": result.query, "market": market, "version": version,
                   "total": getattr(result, "total", len(hits)), "results": hits,
                   "did_you_mean": result.suggestion}
        self._record_search(market, version, q, len(hits))
        return json_response(200, payload)

    def _search(self, market: str, version: str, q: str, limit: int,
                audience: str | None, topic: str | None) -> Any:
        try:
            with self.searchers.acquire(market, version) as searcher:
                try:
                    return searcher.search(q, limit=limit, audience=audience, topic=topic)
                except HelpgenError as exc:
                    raise ApiError(400, "bad_search", self.scrub(exc.problem.msg)) from None
        except HelpgenError as exc:  # the index could not be opened
            raise self._unavailable(market, version, exc) from None

    @staticmethod
    def _hit_json(hit: Any, market: str, version: str) -> dict[str, Any]:
        data = {k: getattr(hit, k) for k in ("id", "title", "url", "score", "snippet", "summary",
                                             "audience", "topic", "language") if hasattr(hit, k)}
        data["html_url"] = data.get("url", "")
        return data

    def _read_json(self, environ: dict) -> dict[str, Any]:
        ctype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(415, "unsupported_media_type",
                           "send the body as JSON with Content-Type: application/json")
        limit = self.settings.max_body_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise ApiError(400, "bad_content_length", "Content-Length is not a number") from None
        if length > limit:
            raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")
        stream = environ["wsgi.input"]
        raw = stream.read(length) if length else stream.read(limit + 1)
        if len(raw) > limit:
            raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "bad_json", "the body is not valid UTF-8 JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "bad_json", "the body must be a JSON object")
        return body

    def _api_suggest(self, environ: dict) -> Response:
        body = self._read_json(environ)
        from . import deflect

        with contextlib.ExitStack() as stack:
            def open_searcher(market: str, version: str) -> Any:
                market, resolved = self._market_version(market, version)
                try:
                    return stack.enter_context(self.searchers.acquire(market, resolved))
                except HelpgenError as exc:
                    raise self._unavailable(market, resolved, exc) from None

            try:
                payload = deflect.suggest_payload(body, self.config, self.index_dir,
                                                  open_searcher=open_searcher)
            except HelpgenError as exc:
                raise ApiError(400, "bad_ticket", self.scrub(exc.problem.msg)) from None
        return json_response(200, payload)

    def _unavailable(self, market: str, version: str, exc: HelpgenError) -> ApiError:
        log.error("search index %s/%s unavailable: %s", market, version, exc)
        return ApiError(503, "index_unavailable",
                        f"the search index of {market} {version} is not available; the "
                        f"operator can build it with: helpgen build --market {market} "
                        f"--version {version}")

    def _api_events(self, environ: dict) -> Response:
        body = self._read_json(environ)
        from . import events

        try:
            event = events.make_event(body, markets=self.config.markets,
                                      categories=self.config.ticket_categories,
                                      query_max_chars=self._query_max_chars())
        except HelpgenError as exc:
            raise ApiError(400, "bad_event", self.scrub(exc.problem.msg)) from None
        self._record(event)
        return Response(204)

    def _query_max_chars(self) -> int:
        return int(self.config.settings.get("events.query_max_chars", 100))

    def _events(self) -> Any:
        """The events log (None when the app was made without an events database)."""
        if self.events_db is None:
            return None
        with self._events_lock:
            if self._events_store is None:
                from . import events

                self._events_store = events.EventLog(self.events_db, self._query_max_chars())
            return self._events_store

    def _record(self, event: Any) -> None:
        store = self._events()
        if store is None:
            return
        try:
            store.record(event)
            with self._events_lock:
                self._recorded += 1
                due = self._recorded % self._prune_every == 0
            if due:
                self.prune_events(store)
        except HelpgenError as exc:  # analytics must never fail the request
            log.error("recording an event failed: %s", exc)

    def prune_events(self, store: Any) -> int:
        """Retention (``server.events_retention_days`` / ``server.events_max_rows``).

        Runs after every ``max_rows / 10`` (at most 1,000) recorded events, so a flood
        of events cannot grow the file without bound (SQLite reuses the freed pages).
        """
        return store.prune(self.settings.events_retention_days, self.settings.events_max_rows)

    def _record_search(self, market: str, version: str, q: str, hits: int) -> None:
        if not self.settings.record_searches or self.events_db is None:
            return
        from . import events

        etype = "search" if hits else "search_no_answer"
        self._record(events.make_event(
            {"type": etype, "market": market, "version": version, "query": q,
             "results": hits}, markets=self.config.markets,
            query_max_chars=self._query_max_chars()))

    def _healthz(self, environ: dict) -> Response:
        markets = {}
        for code in self.config.markets:
            versions = sorted(set(self.published(code).values()), reverse=True)
            if versions:
                markets[code] = versions
        return json_response(200, {"status": "ok", "helpgen": __version__, "markets": markets,
                                   "indexes_loaded": self.searchers.loaded()})

    def close(self) -> None:
        self.searchers.close()
        self._events_store = None


def make_app(config: Config, site_dir: Path | str, index_dir: Path | str,
             events_db: Path | str | None = None, *, settings: ServerSettings | None = None,
             clock: Callable[[], float] = time.monotonic) -> HelpApp:
    """The WSGI application serving ``site_dir`` and the API over ``index_dir``.

    ``events_db``: SQLite file for search and client events (None: not recorded).
    ``settings``: overrides of the ``server.*`` settings (default: from ``config``).
    ``clock``: monotonic seconds, for the rate limiter (tests pass a fake one).
    """
    return HelpApp(config, Path(site_dir), Path(index_dir),
                   Path(events_db) if events_db else None, settings, clock)


def create_app() -> HelpApp:
    """Factory for other WSGI servers: ``waitress-serve --call helpgen.server:create_app``.

    Reads ``HELPGEN_PROJECT`` (default: search upwards from the current folder),
    ``HELPGEN_SITE_DIR``, ``HELPGEN_INDEX_DIR`` and ``HELPGEN_EVENTS_DB``.
    """
    from . import config as config_mod

    project = os.environ.get("HELPGEN_PROJECT")
    cfg = config_mod.load(project) if project else config_mod.load()
    return make_app(cfg, **app_paths(cfg, os.environ.get("HELPGEN_SITE_DIR"),
                                     os.environ.get("HELPGEN_INDEX_DIR"),
                                     os.environ.get("HELPGEN_EVENTS_DB")))


def app_paths(cfg: Config, site_dir: str | None = None, index_dir: str | None = None,
              events_db: str | None = None) -> dict[str, Path | None]:
    """Site, index and events paths: given ones, else the project's defaults."""
    db_setting = cfg.settings.get("events.db")
    if events_db is None and db_setting:
        events_db = str(cfg.root / db_setting)
    return {
        "site_dir": Path(site_dir) if site_dir else cfg.root / "site",
        "index_dir": Path(index_dir) if index_dir else
        cfg.root / cfg.settings.get("search.index_dir", "search_index"),
        "events_db": Path(events_db) if events_db else None,
    }


# --------------------------------------------------------------------------- access log

class AccessLog:
    """WSGI middleware writing one Common Log Format line per request, plus the time taken.

    Query strings are left out (search text is personal data; the events database keeps
    a masked copy), so are cookies and bodies.
    """

    def __init__(self, app: Callable, write: Callable[[str], Any],
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.app = app
        self.write = write
        self.clock = clock

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        t0 = self.clock()
        seen: dict[str, Any] = {}

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            seen["status"] = status.split(" ", 1)[0]
            seen["length"] = next((v for k, v in headers if k.lower() == "content-length"),
                                  "-")
            return start_response(status, headers, exc_info) if exc_info else \
                start_response(status, headers)

        body = self.app(environ, recording_start_response)
        path = environ.get("PATH_INFO", "")
        try:
            path = path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
        path = "".join(c if c.isprintable() and c != '"' else "?" for c in path)[:300]
        when = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        self.write(f'{environ.get("REMOTE_ADDR", "-")} - - [{when}] '
                   f'"{environ.get("REQUEST_METHOD", "-")} {path} '
                   f'{environ.get("SERVER_PROTOCOL", "HTTP/1.1")}" {seen.get("status", "-")} '
                   f'{seen.get("length", "-")} {1000 * (self.clock() - t0):.1f}ms')
        return body

    def close(self) -> None:
        if hasattr(self.app, "close"):
            self.app.close()


# --------------------------------------------------------------------------- waitress

def create_server(app: Callable, host: str = "127.0.0.1", port: int = 8000,
                  threads: int = 4, max_body_bytes: int = 65_536) -> Any:
    """A bound (not yet running) waitress server; ``.run()`` serves, ``.close()`` stops.

    ``port=0`` picks a free port (read it from ``server_url(server)``).
    """
    import waitress.server
    from waitress import wasyncore
    from waitress.task import ThreadedTaskDispatcher

    socket_map: dict = {}
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    try:
        return waitress.server.create_server(
            app, map=socket_map, _dispatcher=dispatcher, host=host, port=port,
            threads=threads, ident="helpgen", max_request_body_size=max_body_bytes + 1024,
            expose_tracebacks=False, clear_untrusted_proxy_headers=False, channel_timeout=30)
    except BaseException:  # e.g. the port is taken: release what waitress opened
        dispatcher.shutdown()
        wasyncore.close_all(socket_map)
        raise


def server_url(server: Any) -> str:
    host, port = server.effective_host, server.effective_port
    if ":" in str(host):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def serve(app: Callable, host: str = "127.0.0.1", port: int = 8000, threads: int = 4,
          max_body_bytes: int = 65_536, announce: Callable[[str], None] = print) -> None:
    """Run ``app`` under waitress until Ctrl-C or SIGTERM, then close it cleanly."""
    import signal

    try:
        server = create_server(app, host, port, threads, max_body_bytes)
    except OSError as exc:
        raise HelpgenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick "
                           "another --port (0 = any free port) or stop the other server",
                           exit_code=2) from None

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # "Task queue depth is N" only says that requests waited for a free thread; under
    # load it would flood the terminal, so only real waitress errors are shown.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _stop)
    announce(server_url(server))
    try:
        server.run()  # returns after closing the sockets on KeyboardInterrupt
    except KeyboardInterrupt:
        server.close()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if hasattr(app, "close"):
            app.close()


def needs_build(app: HelpApp, market: str) -> bool:
    """True when ``market`` has no published site or no search index yet."""
    return not app.published(market) or not (app.index_dir / market).is_dir()


def run_until(server: Any, stop: threading.Event, poll: float = 0.1) -> None:
    """Serve in this thread until ``stop`` is set, then close the server here.

    For servers run in a background thread (tests, benchmarks): closing the sockets
    from the thread that polls them avoids racing the event loop.
    """
    from waitress import wasyncore

    try:
        socket_map = server._map  # waitress keeps its socket map here (see server.run)
        while not stop.is_set() and socket_map:
            wasyncore.loop(timeout=poll, map=socket_map, count=1)
    finally:
        server.close()
