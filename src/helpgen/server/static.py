"""The built site as static files: safe paths, content types, revalidation, gzip,
the market's own 404 page, version-less redirects and the per-market sitemap."""

from __future__ import annotations

import html
import json
import os
import posixpath
import re
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .caches import stat_key
from .responses import Response, redirect, text_response
from .. import csp, widget
from .security import allowed_hashes, inline_script_hashes, page_csp

if TYPE_CHECKING:
    from ..config import Config
    from .caches import FileCache
    from .settings import ServerSettings

HASHED_ASSET_RE = re.compile(r"\.[0-9a-f]{8,}\.(?:min\.)?(?:js|css)$")
#: A static search bundle's file named by a hash of its content or folder (helpgen.bundle)
BUNDLE_FILE_RE = re.compile(r"/search/bundle/(?:[a-z]+(?:-[a-z]+)?-[0-9a-f]{12}\.json|"
                            r"[a-z]+(?:-[a-z]+)?-[0-9a-f]{12}/[0-9a-z]+\.json)$")


def _bundle_file(path: Path) -> bool:
    """Whether ``path`` is a content-named file of a search bundle (not its manifest)."""
    return BUNDLE_FILE_RE.search(path.as_posix()) is not None
ROOT_LINK_RE = re.compile(r'((?:href|src)="|"(?:base|search)": ")/(?!/)')  # in 404.html

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
NO_CACHE_SUFFIXES = (".html", ".htm", ".json", ".xml")


def content_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    return CONTENT_TYPES.get(suffix, "application/octet-stream")


def accepts_gzip(environ: dict) -> bool:
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


def etag_matches(header: str, etag: str) -> bool:
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


def not_modified_since(header: str, mtime: float) -> bool:
    try:
        since = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    return int(mtime) <= since


CANONICAL_RE = re.compile(r'<link rel="canonical" href="([^"]+)"')


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


class StaticSite:
    """The static-file half of :class:`helpgen.server.app.HelpApp` (a mixin)."""

    config: Config
    site_dir: Path
    settings: ServerSettings
    files: FileCache
    _pages_lock: Any
    _page_lists: dict[tuple, tuple[str, ...]]

    def _static(self, environ: dict, path: str) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            resp = text_response(405, "Method not allowed")
            resp.headers.append(("Allow", "GET, HEAD"))
            return resp
        try:
            parts, trailing = split_path(path)
        except BadPath:
            return text_response(400, "Bad request path")
        if len(parts) == 2 and parts[1] == "sitemap.xml" and parts[0] in self.config.markets:
            return self._market_sitemap(environ, parts[0])
        if len(parts) == 4 and parts[2] == "a" and parts[0] in self.config.markets:
            moved = self._permalink(parts, environ.get("QUERY_STRING", ""))
            if moved is not None:
                return moved
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
        extra: list[tuple[str, str]] = []
        if HASHED_ASSET_RE.search(path.name) or _bundle_file(path):
            cache = "public, max-age=31536000, immutable"
        elif path == self.site_dir / widget.WIDGET_PATH:
            cache = widget.CACHE_CONTROL  # a stable URL: cached long, revalidated
            extra = [("Cross-Origin-Resource-Policy", "cross-origin")]  # other sites embed it
        elif path.name.endswith(NO_CACHE_SUFFIXES):
            cache = "no-cache"
        else:
            cache = f"public, max-age={self.settings.static_max_age}"
        headers = [("Content-Type", ctype), ("Cache-Control", cache),
                   ("Last-Modified", formatdate(st.st_mtime, usegmt=True)), *extra]
        item = self.files.get(path, st, ctype)
        csp = page_csp()
        if ctype.startswith("text/html"):
            allowlist = self.script_allowlists.get(self._version_dir_of(path))
            csp = page_csp(allowed_hashes(item.script_hashes, allowlist))
        use_gz = item.gz is not None and accepts_gzip(environ)
        if item.gz is not None:
            headers.append(("Vary", "Accept-Encoding"))
        if use_gz:
            etag = etag[:-1] + '-gzip"'
        headers.append(("ETag", etag))
        inm = environ.get("HTTP_IF_NONE_MATCH")
        ims = environ.get("HTTP_IF_MODIFIED_SINCE")
        if (inm is not None and etag_matches(inm, etag)) or (
                inm is None and ims and not_modified_since(ims, st.st_mtime)):
            return Response(304, b"", [h for h in headers if h[0] != "Content-Type"], csp)
        if use_gz:
            headers.append(("Content-Encoding", "gzip"))
            return Response(200, item.gz or b"", headers, csp)
        return Response(200, item.body, headers, csp)

    def _permalink(self, parts: list[str], query: str) -> Response | None:
        """``/<market>/<version or alias>/a/<id>/`` -> one 302 to the article itself
        (a static host follows two meta refreshes: alias, then permalink)."""
        market, name, _, art_id = parts
        version = self.published(market).get(name)
        if version is None:
            return None
        page = self.site_dir / market / version / "a" / art_id / "index.html"
        try:
            text = page.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        m = CANONICAL_RE.search(text)
        if m is None or "//" in m.group(1) or ":" in m.group(1):
            return None
        here = f"/{market}/{version}/a/{art_id}/"
        target = posixpath.normpath(posixpath.join(here, html.unescape(m.group(1))))
        if not target.startswith(f"/{market}/{version}/"):
            return None
        return redirect(302, target + "/" + (f"?{query}" if query else ""))

    def _not_found(self, parts: list[str]) -> Response:
        """The market's Material 404 page (links rebased onto its version), else text.

        A path outside every market (``/xx/``) gets the neutral market list, not one
        market's branded page."""
        moved = self._versionless(parts)
        if moved is not None:
            return moved
        if parts and parts[0] not in self.config.markets and parts != ["favicon.ico"]:
            chooser = self.site_dir / "index.html"
            if chooser.is_file():  # its links are relative to the root: make them so
                body = re.sub(rb'href="(?![/#]|[a-z]+:)', b'href="/', chooser.read_bytes())
                return Response(404, body,
                                [("Content-Type", "text/html; charset=utf-8"),
                                 ("Cache-Control", "no-store")], page_csp())
        if parts == ["favicon.ico"]:  # browsers ask for it on the market list page
            icon = self._404_page_dir() / "assets" / "images" / "favicon.png"
            if icon.is_file():
                return Response(200, icon.read_bytes(), [
                    ("Content-Type", "image/png"),
                    ("Cache-Control", f"public, max-age={self.settings.static_max_age}")])
        page = self._404_page(parts)
        if page is None:
            return text_response(404, "Not found")
        prefix, html_text = page
        html_text = ROOT_LINK_RE.sub(lambda m: m.group(1) + prefix, html_text)
        allowlist = self.script_allowlists.get(self.site_dir / prefix.strip("/"))
        return Response(404, html_text.encode("utf-8"),
                        [("Content-Type", "text/html; charset=utf-8"),
                         ("Cache-Control", "no-store")],
                        page_csp(allowed_hashes(inline_script_hashes(html_text), allowlist)))

    def _version_dir_of(self, path: Path) -> Path | None:
        """The built version folder (``site/<market>/<version>``) holding ``path``, or
        None for helpgen's own pages (market list, market index, alias redirects)."""
        try:
            parts = path.relative_to(self.site_dir).parts
        except ValueError:
            return None
        if len(parts) < 3:
            return None
        folder = self.site_dir / parts[0] / parts[1]
        return folder if (folder / csp.MANIFEST).is_file() else None

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
        version-less URLs.

        Material's market selector fetches this file for each market of its menu and,
        when the page being read exists in the chosen market, opens that page there
        instead of the market's home (the version-less URL redirects to the version).
        The URLs start with ``server.base_url``. Without it they name ``localhost`` and
        the port the server answers on (``SERVER_PORT``, digits only): the selector
        replaces scheme and host name with the page's own, so this works wherever the
        page's port is the server's, and the ``Host`` header is never echoed.
        """
        version = self._default_version(market)
        base = self.settings.base_url
        if not base:
            port = str(environ.get("SERVER_PORT", ""))
            base = "http://localhost" + (f":{port}" if port.isdigit() and port != "80" else "")
        rows = [f"<url><loc>{html.escape(f'{base}/{market}/{rel}')}</loc></url>"
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
        key = (market, version, stat_key(folder))
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
