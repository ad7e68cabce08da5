"""What the app keeps between requests: open searchers and compressed file bodies."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .security import inline_script_hashes

log = logging.getLogger("helpgen.server")

GZIP_MIN_BYTES = 512
FILE_CACHE_BYTES = 32 * 1024 * 1024
FILE_CACHE_MAX_FILE = 2 * 1024 * 1024
COMPRESSIBLE = ("text/", "application/json", "application/xml", "image/svg+xml",
                "application/manifest+json")


def stat_key(path: Path) -> tuple[int, int] | None:
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
        return (stat_key(mdir), stat_key(mdir / version), stat_key(mdir / "aliases.json"))

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
                close_quietly(entry.searcher)

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
                close_quietly(old.searcher)
            return fresh

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(f"{m}/{v}" for m, v in self._open)

    def build_ids(self) -> dict[str, str | None]:
        """``market/version`` -> the build id of the index each open searcher reads."""
        with self._lock:
            items = sorted(self._open.items())
        return {f"{m}/{v}": (getattr(e.searcher, "meta", None) or {}).get("build_id")
                for (m, v), e in items}

    def close(self) -> None:
        with self._lock:
            entries = list(self._open.values())
            self._open.clear()
        for entry in entries:
            close_quietly(entry.searcher)


@dataclass
class _Entry:
    searcher: Any
    sig: tuple
    users: int = 0
    retired: bool = False


def close_quietly(obj: Any) -> None:
    try:
        obj.close()
    except Exception:  # closing a searcher whose files were swapped away
        log.debug("closing searcher failed", exc_info=True)


def open_searcher(index_dir: Path, market: str, version: str) -> Any:
    from .. import search

    return search.Searcher(index_dir, market, version)


@dataclass(frozen=True)
class CachedFile:
    body: bytes
    gz: bytes | None
    script_hashes: tuple[str, ...]


class FileCache:
    """Small LRU of file bodies (with their gzip form and CSP hashes), keyed on mtime."""

    def __init__(self, max_bytes: int = FILE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, CachedFile] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, path: Path, st: os.stat_result, ctype: str) -> CachedFile:
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
        item = CachedFile(body, gz, hashes)
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


class ScriptAllowlists:
    """The CSP script allowlist (``.helpgen-csp.json``) of each built version folder,
    re-read when the folder's manifest changes (a republished version)."""

    def __init__(self) -> None:
        self._items: dict[Path, tuple[tuple | None, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def get(self, version_dir: Path | None) -> frozenset[str]:
        from .. import csp

        if version_dir is None:
            return frozenset({csp.REDIRECT_HASH})
        key = stat_key(version_dir / csp.MANIFEST)
        with self._lock:
            hit = self._items.get(version_dir)
            if hit is not None and hit[0] == key:
                return hit[1]
        allowed = csp.read_manifest(version_dir)
        with self._lock:
            if len(self._items) > 1000:
                self._items.clear()
            self._items[version_dir] = (key, allowed)
        return allowed
