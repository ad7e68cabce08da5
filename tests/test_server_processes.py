"""`helpgen serve --processes N`: several waitress processes on one port.

Real processes on 127.0.0.1 under load: a publish is seen by every process without a
restart and without a failed request, every event a client was told was recorded is in
the store, a killed process is replaced, and no process outlives its parent. The event
store is a parameter (``store``): a URL or path handed to ``--events-db``, and a way to
count its rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from helpgen import config as config_mod
from helpgen import events, site
from serverkit import copy_project, write_article

MARKER = """
id: release-marker
title: Release marker {n}
summary: The page that names the build it was published by.
audience: buyers
topic: orders
last_reviewed: 2026-11-20
"""


def write_marker(root: Path, n: int) -> None:
    write_article(root, "buyers/orders/release-marker.md", MARKER.format(n=n),
                  f"# Release marker {n}\n\nThe zyxmarker page of build {n}.\n")


@dataclass
class Store:
    """An event store for the servers: what ``--events-db`` gets, and its row count."""

    url: str
    count: Callable[[], int]


def _count(target) -> int:
    log = events.open_store(target)
    try:
        return len(log.events())
    finally:
        log.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> Store:
    """One store shared by every server process: a SQLite file, or one PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "events.sqlite3"
        return Store(str(path), lambda: _count(path))
    url = request.getfixturevalue("pg_url")
    return Store(url, lambda: _count(url))


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """us 2026.11 (latest) built with release marker 0; the server's rate limit off."""
    root = copy_project(tmp_path_factory.mktemp("procs") / "project")
    with (root / "helpgen.yml").open("a", encoding="utf-8") as fh:
        fh.write("\nserver:\n  rate_limit_per_minute: 0\n")
    write_marker(root, 0)
    site.build(config_mod.load(root), "us", "2026.11", ["latest"], root / "site",
               index_dir=root / "search_index")
    return root


def copy_published(published: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(published, dest, symlinks=True)
    return dest


def children_of(pid: int) -> set[int]:
    """The live (not zombie) child processes of ``pid``, from /proc."""
    out = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(entry.name))
    return out


def sigint_as_in_a_terminal() -> None:
    """In the child before exec: its own process group (a terminal's Ctrl-C reaches the
    whole group) and SIGINT at its default (a background test run ignores it)."""
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def serving(root: Path, *args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """``helpgen serve --no-build --port 0 <args>`` until it prints its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpgen.cli", "--project", str(root), "serve", "--no-build",
         "--port", "0", *args], env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=sigint_as_in_a_terminal)
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        yield proc, match.group(1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def get(url: str, body: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}
                                 if data else {})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Load:
    """Client threads searching, fetching pages and posting events in a loop."""

    base: str
    errors: list[str] = field(default_factory=list)
    recorded: int = 0  # requests the server answered as recorded (search 200, events 204)
    requests: int = 0
    seen: dict[int, str | None] = field(default_factory=dict)  # pid -> us/2026.11 index build
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, n: int) -> None:
        try:
            status, body = get(f"{self.base}/api/search?market=us&q=zyxmarker")
            with self.lock:
                self.requests += 1
                if status == 200:
                    self.recorded += 1
                else:
                    self.errors.append(f"search {status} {body[:200]!r}")
            for path in ("/us/latest/", "/us/versions.json", "/"):
                status, _ = get(self.base + path)
                if status != 200:
                    self.errors.append(f"{path}: {status}")
            status, body = get(f"{self.base}/api/events",
                               {"type": "article_opened", "market": "us", "version": "2026.11",
                                "article_id": "release-marker", "draft_id": f"draft-{n:08d}"})
            with self.lock:
                self.requests += 4
                if status == 204:
                    self.recorded += 1
                else:
                    self.errors.append(f"event {status} {body[:200]!r}")
            status, body = get(f"{self.base}/healthz")
            health = json.loads(body)
            with self.lock:
                self.requests += 1
                self.seen[health["process"]] = health["index_builds"].get("us/2026.11")
                if status != 200 or health["status"] != "ok":
                    self.errors.append(f"healthz {status} {health}")
        except Exception as exc:  # a refused or reset connection is an error too
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def client(self, k: int) -> None:
        n = 0
        while not self.stop.is_set():
            self.run(k * 1_000_000 + n)
            n += 1

    @contextlib.contextmanager
    def running(self, threads: int) -> Iterator[Load]:
        workers = [threading.Thread(target=self.client, args=(k,), daemon=True)
                   for k in range(threads)]
        for w in workers:
            w.start()
        try:
            yield self
        finally:
            self.stop.set()
            for w in workers:
                w.join(timeout=60)


def test_three_processes_pick_up_a_publish_without_errors_and_keep_every_event(
        published, tmp_path, store):
    root = copy_published(published, tmp_path / "project")
    cfg = config_mod.load(root)
    old_id = site.index_build_id(root / "search_index/us/2026.11")
    with serving(root, "--processes", "3", "--workers", "4", "--events-db", store.url) \
            as (proc, base):
        pids = children_of(proc.pid)
        assert len(pids) == 3
        load = Load(base)
        with load.running(threads=6):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # every process has searched the old build
                with load.lock:
                    if set(load.seen) == pids and set(load.seen.values()) == {old_id}:
                        break
                time.sleep(0.2)
            assert load.seen == {pid: old_id for pid in pids}
            write_marker(root, 1)  # republish the version 'latest' is at: a new build id
            site.build(cfg, "us", "2026.11", ["latest"], root / "site",
                       index_dir=root / "search_index")
            new_id = site.index_build_id(root / "search_index/us/2026.11")
            assert new_id != old_id
            with load.lock:
                load.seen.clear()
            while time.monotonic() < deadline + 60:
                with load.lock:
                    if set(load.seen) == pids and set(load.seen.values()) == {new_id}:
                        break
                time.sleep(0.2)
        assert load.seen == {pid: new_id for pid in pids}, (load.seen, new_id)
        assert children_of(proc.pid) == pids  # no process was restarted
        status, body = get(f"{base}/api/search?market=us&q=zyxmarker")
        assert "Release marker 1" in body.decode("utf-8")
        recorded = load.recorded + 1
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    print(f"\n3 processes: {load.requests} requests, {recorded} events, "
          f"{len(load.errors)} errors")
    assert load.errors == []
    assert proc.returncode == 0 and out.strip().endswith("stopped"), err
    assert "database is locked" not in err and "Traceback" not in err, err
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert load.requests > 100
    assert store.count() == recorded


def test_a_killed_process_is_replaced_and_none_outlives_a_killed_parent(published, tmp_path):
    root = copy_published(published, tmp_path / "project")
    with serving(root, "--processes", "2", "--workers", "2") as (proc, base):
        first = children_of(proc.pid)
        assert len(first) == 2
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = children_of(proc.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.1)
        assert len(now) == 2 and victim not in now, now
        for _ in range(10):
            assert get(f"{base}/healthz")[0] == 200
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup: the kernel ends the children
        _, err = proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in now) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not [pid for pid in now if Path(f"/proc/{pid}").exists()]
    assert f"process {victim} ended (killed by SIGKILL); started process" in err


def test_ctrl_c_to_the_process_group_stops_every_process_without_a_restart(published,
                                                                          tmp_path):
    root = copy_published(published, tmp_path / "project")
    with serving(root, "--processes", "3", "--workers", "1") as (proc, base):
        pids = children_of(proc.pid)
        assert len(pids) == 3 and get(f"{base}/healthz")[0] == 200
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip().endswith("stopped"), err
    assert "ended" not in err and "Traceback" not in err, err
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_processes_that_keep_crashing_stop_the_server_with_exit_code_3(capfd):
    from helpgen.errors import HelpgenError
    from helpgen.server.processes import Supervision, serve_processes

    def broken_app():
        raise RuntimeError("cannot start")

    with pytest.raises(HelpgenError) as info:
        serve_processes(broken_app, 2, "127.0.0.1", 0, announce=lambda url: None,
                        report=lambda line: None, supervision=Supervision(max_restarts=3))
    assert info.value.exit_code == 3
    assert "server processes ended within 60 s" in str(info.value.problems[0])
    assert "RuntimeError: cannot start" in capfd.readouterr().err


def test_the_url_is_announced_only_once_every_process_listens(tmp_path):
    """A client that connects the moment the URL is printed is answered by every
    process: the parent waits for each child's socket and app, however slow."""
    from helpgen.server.processes import serve_processes

    def slow_app():
        time.sleep(1.0)  # an app that takes a while to build (opening indexes, a database)

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [str(os.getpid()).encode()]
        app.close = lambda: None
        return app

    answers: list = []

    def announce(url: str) -> None:
        for _ in range(6):  # fresh connections, spread over the processes' sockets
            try:
                answers.append(urllib.request.urlopen(url, timeout=10).read())
            except OSError as exc:  # refused: a child was not listening yet
                answers.append(exc)
        # to this (the supervising) thread, where it is blocked and stays pending for the
        # loop; a process-wide SIGTERM could reach another thread of the test runner
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

    serve_processes(slow_app, 2, "127.0.0.1", 0, announce=announce,
                    report=lambda line: None)
    assert len(answers) == 6 and all(isinstance(a, bytes) for a in answers), answers


def test_processes_and_workers_are_documented():
    manual = (Path(__file__).resolve().parents[1] / "manual" / "server.md").read_text(
        encoding="utf-8")
    assert "`--processes N`" in manual and "`HELPGEN_PROCESSES`" in manual
    assert "limit_req" in manual and "SQLite is for one host" in manual
