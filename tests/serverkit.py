"""Helpers for the server tests: a real built site, WSGI calls in-process, a real
waitress server on a free loopback port."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote
from wsgiref.util import setup_testing_defaults

import contextlib
import importlib.util


def _tests_conftest():
    """tests/conftest.py by path (``import conftest`` may mean tests/browser/conftest.py)."""
    spec = importlib.util.spec_from_file_location("helpgen_tests_conftest",
                                                  Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_conftest = _tests_conftest()
copy_project = _conftest.copy_project
write_article = _conftest.write_article


US_ONLY_ARTICLE = """
id: us-sales-tax
title: Sales tax on US orders
summary: Why state sales tax is added to orders shipped in the United States.
audience: buyers
topic: orders
markets: [us]
last_reviewed: 2026-11-25
"""


def build_served_project(root: Path) -> Path:
    """A project copy with us 2026.10, us 2026.11 (latest) and de 2026.11 (latest) built,
    search indexes in ``<root>/search_index``. One extra article exists in us only."""
    from helpgen import config, site

    root = copy_project(root)
    write_article(root, "buyers/orders/us-sales-tax.md", US_ONLY_ARTICLE,
                  "# Sales tax on US orders\n\nState sales tax is added at checkout.\n")
    cfg = config.load(root)
    for market, version, aliases in (("us", "2026.10", []), ("us", "2026.11", ["latest"]),
                                     ("de", "2026.11", ["latest"])):
        site.build(cfg, market, version, aliases, root / "site", index_dir=root / "search_index")
    return root


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def call(app, method: str = "GET", path: str = "/", query: str = "",
         headers: dict[str, str] | None = None, body: bytes | None = None,
         remote: str = "127.0.0.1", drop: tuple[str, ...] = ()) -> Reply:
    """Call a WSGI app the way a server does: PATH_INFO percent-decoded as latin-1."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "REMOTE_ADDR": remote,
    }
    setup_testing_defaults(environ)
    if body is not None:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    for key in drop:
        environ.pop(key, None)
    seen: dict[str, Any] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]], exc_info=None) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = {k.lower(): v for k, v in hdrs}

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return Reply(seen["status"], seen["headers"], data)


@contextlib.contextmanager
def running(app, threads: int = 4, limits=None) -> Iterator[str]:
    """The real waitress server on 127.0.0.1:<free port> in a thread; yields its URL."""
    with running_server(app, threads, limits) as (url, _srv):
        yield url


@contextlib.contextmanager
def running_server(app, threads: int = 4, limits=None) -> Iterator[tuple[str, Any]]:
    """Like :func:`running`, yielding ``(url, server)`` (the server counts evictions)."""
    from helpgen import server

    srv = server.create_server(app, "127.0.0.1", 0, threads, limits=limits)
    url = server.server_url(srv)
    stop = threading.Event()
    thread = threading.Thread(target=server.run_until, args=(srv, stop), daemon=True)
    thread.start()
    try:
        yield url.rstrip("/"), srv
    finally:
        stop.set()
        thread.join(timeout=10)


class Flood:
    """Idle and trickling connections from one thread, reopened when the server closes
    them (as a flooding client would): ``idle`` connect and send nothing, ``trickling``
    send one header byte every ``every`` seconds and never finish."""

    def __init__(self, port: int, idle: int, trickling: int, every: float = 0.5) -> None:
        self.port, self.every = port, every
        self.kinds = ["idle"] * idle + ["trickle"] * trickling
        self.socks: list[socket.socket | None] = [None] * len(self.kinds)
        self.opened = 0
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, i: int) -> None:
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.socks[i] = None
            return
        s.setblocking(False)
        if self.kinds[i] == "trickle":
            s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        self.socks[i] = s
        self.opened += 1

    def _run(self) -> None:
        last_trickle = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            trickle = now - last_trickle >= self.every
            if trickle:
                last_trickle = now
            for i, s in enumerate(self.socks):
                if self._stop.is_set():
                    break
                if s is None:
                    self._open(i)
                    continue
                try:
                    if s.recv(4096) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    self.closed_by_server += 1
                    self._open(i)
                    continue
                if trickle and self.kinds[i] == "trickle":
                    try:
                        s.send(b"a")
                    except OSError:
                        pass
            self._stop.wait(0.05)

    def open_count(self) -> int:
        return sum(s is not None for s in self.socks)

    def __enter__(self) -> Flood:
        for i in range(len(self.socks)):
            self._open(i)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for s in self.socks:
            if s is not None:
                s.close()


SECRET_MARKERS = ("default_market", "Traceback", "site-packages")


def assert_no_leak(reply: Reply, root: Path) -> None:
    """No traceback, configuration or path of the server's disk in a response."""
    text = reply.body.decode("utf-8", "replace")
    for marker in (*SECRET_MARKERS, str(root)):
        assert marker not in text, f"{marker!r} leaked in {text[:300]!r}"


def error_of(reply: Reply) -> dict:
    """The ``{"error": {...}}`` object of a JSON error response."""
    assert reply.headers["content-type"] == "application/json"
    return reply.json()["error"]


def damage(root: Path, how: str, seed: int = 12) -> None:
    """Damage the us 2026.11 index of a served-project copy the way disks and killed
    writers do: truncated, garbled, empty or deleted segment, cut TOC, bad meta."""
    import random

    folder = root / "search_index" / "us" / "2026.11"
    seg = next(folder.glob("*.seg"))
    data = seg.read_bytes()
    if how == "truncated":
        seg.write_bytes(data[: len(data) // 3])
    elif how == "garbled":
        seg.write_bytes(data[:1000] + random.Random(seed).randbytes(len(data) - 2000)
                        + data[-1000:])
    elif how == "empty":
        seg.write_bytes(b"")
    elif how == "toc":
        toc = next(folder.glob("*.toc"))
        toc.write_bytes(toc.read_bytes()[:100])
    elif how == "deleted":
        seg.unlink()
    elif how == "meta":
        (folder / "helpgen-index.json").write_text("{garbage", encoding="utf-8")
