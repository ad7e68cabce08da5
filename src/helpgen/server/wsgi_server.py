"""Running the app: waitress (bound, served, stopped cleanly) and an access log."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable, Iterable

from ..errors import HelpgenError
from .connections import ConnectionLimits, GuardedServer

StartResponse = Callable[..., Any]


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
                  threads: int = 4, max_body_bytes: int = 65_536,
                  limits: ConnectionLimits | None = None) -> Any:
    """A bound (not yet running) waitress server; ``.run()`` serves, ``.close()`` stops.

    ``port=0`` picks a free port (read it from ``server_url(server)``). ``limits``:
    connection limit and timeouts (see :mod:`helpgen.server.connections`).
    """
    from waitress import wasyncore
    from waitress.adjustments import Adjustments
    from waitress.server import MultiSocketServer
    from waitress.task import ThreadedTaskDispatcher

    limits = limits or ConnectionLimits()
    socket_map: dict = {}
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    try:
        adj = Adjustments(
            host=host, port=port, threads=threads, ident="helpgen",
            max_request_body_size=max_body_bytes + 1024, expose_tracebacks=False,
            clear_untrusted_proxy_headers=False, cleanup_interval=1,
            channel_timeout=max(1, math.ceil(limits.channel_timeout)),
            connection_limit=limits.connection_limit)
        servers = []
        for sockinfo in adj.listen:
            srv = GuardedServer(app, socket_map, dispatcher=dispatcher, adj=adj,
                                sockinfo=sockinfo)
            srv.limits = limits
            servers.append(srv)
        if len(servers) == 1:
            return servers[0]
        return MultiSocketServer(socket_map, adj,
                                 [(s.effective_host, s.effective_port) for s in servers],
                                 dispatcher, servers[-1].log_info)
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
          max_body_bytes: int = 65_536, announce: Callable[[str], None] = print,
          limits: ConnectionLimits | None = None) -> None:
    """Run ``app`` under waitress until Ctrl-C or SIGTERM, then close it cleanly."""
    import signal

    try:
        server = create_server(app, host, port, threads, max_body_bytes, limits)
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


def run_until(server: Any, stop: threading.Event, poll: float = 0.1) -> None:
    """Serve in this thread until ``stop`` is set, then close the server here.

    For servers run in a background thread (tests, benchmarks): closing the sockets
    from the thread that polls them avoids racing the event loop.
    """
    from waitress import wasyncore

    socket_map = server._map  # waitress keeps its socket map here (see server.run)
    try:
        while not stop.is_set() and socket_map:
            wasyncore.loop(timeout=poll, map=socket_map, count=1)
    finally:
        server.close()
        wasyncore.close_all(socket_map)  # the client connections still open
