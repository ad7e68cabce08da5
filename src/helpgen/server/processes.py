"""Several server processes on one port: ``helpgen serve --processes N``.

The parent reserves the port (a socket bound with ``SO_REUSEPORT`` that does not
listen, so a taken port fails before anything starts and ``port=0`` picks one port for
all), then forks ``N`` children; each child binds its own listening socket to that
port with ``SO_REUSEPORT`` and runs its own waitress server (``threads`` worker
threads) on it. The kernel spreads new connections over the children's sockets by a
hash of the client's address and port. (One listening socket inherited by every child
was tried first: whichever child woke first accepted, so one warm process took nearly
every keep-alive connection while the others idled.) The parent serves nothing; it
supervises:

* SIGTERM or SIGINT stops every child (SIGTERM, then SIGKILL after
  :attr:`Supervision.stop_timeout` seconds) and returns;
* a child that ends on its own (a crash, an out-of-memory kill, SIGTERM sent to it
  alone) is replaced by a fresh one; when more than :attr:`Supervision.max_restarts`
  children ended within :attr:`Supervision.window` seconds, the parent stops them all
  and fails (exit code 3): something is wrong that a restart does not cure;
* each child asks the kernel to be killed when the parent dies (``PR_SET_PDEATHSIG``,
  :mod:`helpgen.children`), so killing the parent leaves no server behind.

Each child builds its own app with ``make_app`` after the fork: searchers, file
caches, rate-limit buckets and event-store connections are per process. Nothing is
shared but the disk, which is where a publish lands, so every process picks it up on
its next request (the app compares the index folders' inode and mtime on each search
and reads ``versions.json`` on each request).
"""

from __future__ import annotations

import collections
import os
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import EXIT_INTERNAL, HelpgenError
from .connections import ConnectionLimits
from .wsgi_server import bind_sockets, create_server, run_server, socket_url

_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGCHLD}


@dataclass(frozen=True)
class Supervision:
    """How the parent treats its children (seconds)."""

    max_restarts: int = 5
    window: float = 60.0
    stop_timeout: float = 10.0


def serve_processes(make_app: Callable[[], Callable], processes: int,
                    host: str = "127.0.0.1", port: int = 8000, threads: int = 4,
                    max_body_bytes: int = 65_536,
                    announce: Callable[[str], None] = print,
                    limits: ConnectionLimits | None = None,
                    report: Callable[[str], None] | None = None,
                    supervision: Supervision = Supervision()) -> None:
    """Serve ``make_app()`` from ``processes`` forked processes until SIGTERM/SIGINT.

    ``announce(url)`` is called once every child listens (each writes a byte to a pipe
    when its socket listens and its app is built, so a client that connects as soon as
    the URL is printed is never refused), or earlier when a child ends or a stop signal
    arrives before that (the loop below then handles it); ``report(line)`` gets one
    line per child that ended and was replaced (default: stderr).
    """
    report = report or (lambda line: print(line, file=sys.stderr, flush=True))
    reserved = bind_sockets(host, port, reuse_port=True, listen=False)
    port = reserved[0].getsockname()[1]
    parent = os.getpid()
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    children: dict[int, float] = {}  # pid -> when it started
    ended: collections.deque[float] = collections.deque()
    ready_r, ready_w = os.pipe()

    def spawn() -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            _child(make_app, host, port, threads, max_body_bytes, limits, parent, ready_w)
        children[pid] = time.monotonic()
        return pid

    try:
        for _ in range(processes):
            spawn()
        _wait_ready(ready_r, processes, children)
        announce(socket_url(reserved[0]))
        while True:
            info = signal.sigtimedwait(_SIGNALS, 1.0)
            if info is not None and info.si_signo != signal.SIGCHLD:
                return
            for pid, status in _reap(children):
                if set(signal.sigpending()) & {signal.SIGINT, signal.SIGTERM}:
                    return  # told to stop: the children may have seen the Ctrl-C first
                now = time.monotonic()
                ended.append(now)
                while ended and now - ended[0] > supervision.window:
                    ended.popleft()
                if len(ended) > supervision.max_restarts:
                    raise HelpgenError(
                        f"{len(ended)} server processes ended within "
                        f"{supervision.window:g} s (the last: {_why(status)}); stopped "
                        "them all instead of restarting again. See the errors above; "
                        "run with --processes 1 --debug to see one process fail",
                        exit_code=EXIT_INTERNAL)
                new = spawn()
                report(f"helpgen serve: process {pid} ended ({_why(status)}); "
                       f"started process {new}")
    finally:
        _stop_all(children, supervision.stop_timeout)
        for sock in reserved:
            sock.close()
        os.close(ready_r)
        os.close(ready_w)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _wait_ready(ready_r: int, processes: int, children: dict[int, float]) -> None:
    """Until ``processes`` children said they listen, one of them ended, or SIGINT or
    SIGTERM is pending (the signals stay pending for the supervising loop, and an ended
    child stays unreaped for it: ``WNOWAIT``).

    An ended child is looked for by pid rather than by a pending SIGCHLD: with other
    threads in the process (a test runner's, a library's) the kernel may hand SIGCHLD
    to a thread that does not block it, where it is discarded.
    """
    got = 0
    while got < processes:
        if set(signal.sigpending()) & {signal.SIGINT, signal.SIGTERM}:
            return
        for pid in children:
            try:
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                    return
            except ChildProcessError:
                return
        readable, _, _ = select.select([ready_r], [], [], 0.1)
        if readable:
            got += len(os.read(ready_r, processes - got))


def _child(make_app: Callable[[], Callable], host: str, port: int, threads: int,
           max_body_bytes: int, limits: ConnectionLimits | None, parent: int,
           ready_w: int) -> None:
    """The forked server process; never returns (``os._exit``)."""
    code = 0
    try:
        from ..children import die_with_parent

        die_with_parent(parent)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        sockets = bind_sockets(host, port, reuse_port=True)
        app = make_app()
        server = create_server(app, threads=threads, max_body_bytes=max_body_bytes,
                               limits=limits, sockets=sockets)
        os.write(ready_w, b"1")  # listening: the parent may announce the URL
        os.close(ready_w)
        try:
            run_server(server, app)
        finally:
            app.close()  # writes the events still buffered for PostgreSQL
    except KeyboardInterrupt:
        pass
    except BaseException:  # noqa: BLE001 - reported, then the parent replaces us
        traceback.print_exc()
        code = EXIT_INTERNAL
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed pipe; nothing left to say
                pass
        os._exit(code)


def _reap(children: dict[int, float]) -> list[tuple[int, int]]:
    out = []
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if children.pop(pid, None) is not None:
            out.append((pid, status))
    return out


def _why(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _stop_all(children: dict[int, Any], timeout: float) -> None:
    """SIGTERM every child, wait up to ``timeout`` s for them, then SIGKILL the rest."""
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            children.pop(pid, None)
    deadline = time.monotonic() + timeout
    while children and time.monotonic() < deadline:
        _reap(children)
        if children:
            time.sleep(0.05)
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        children.pop(pid, None)
