"""Running the app: waitress (bound, served, stopped cleanly) and an access log."""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from typing import Any, Callable, Iterable, Sequence

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
                  limits: ConnectionLimits | None = None,
                  sockets: Sequence[socket.socket] | None = None) -> Any:
    """A bound (not yet running) waitress server; ``.run()`` serves, ``.close()`` stops.

    ``port=0`` picks a free port (read it from ``server_url(server)``). ``limits``:
    connection limit and timeouts (see :mod:`helpgen.server.connections`).
    ``sockets``: listening sockets bound already (by :func:`bind_sockets`, in the
    process that forked this one); ``host`` and ``port`` are then ignored.
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
        where: dict[str, Any] = {"sockets": list(sockets)} if sockets else \
            {"host": host, "port": port}
        adj = Adjustments(
            **where, threads=threads, ident="helpgen",
            max_request_body_size=max_body_bytes + 1024, expose_tracebacks=False,
            clear_untrusted_proxy_headers=False, cleanup_interval=1,
            channel_timeout=max(1, math.ceil(limits.channel_timeout)),
            connection_limit=limits.connection_limit)
        servers = []
        if sockets:
            for sock in sockets:
                srv = GuardedServer(app, socket_map, _sock=sock, dispatcher=dispatcher,
                                    adj=adj, bind_socket=False,
                                    sockinfo=(sock.family, sock.type, sock.proto,
                                              sock.getsockname()))
                srv.limits = limits
                servers.append(srv)
        for sockinfo in () if sockets else adj.listen:
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


def bind_sockets(host: str, port: int, backlog: int = 1024, reuse_port: bool = False,
                 listen: bool = True) -> list[socket.socket]:
    """Sockets bound to ``host:port`` (every address the name resolves to); ``port=0``
    picks one free port. ``reuse_port``: ``SO_REUSEPORT``, so that several processes
    each listen on the port (the kernel spreads new connections over them); ``listen``
    false only reserves the port (a bound socket that is not listening gets none)."""
    from waitress.adjustments import Adjustments

    out: list[socket.socket] = []
    try:
        for family, socktype, proto, addr in Adjustments(host=host, port=port).listen:
            sock = socket.socket(family, socktype, proto)
            out.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(out) > 1:  # the same free port on every address
                addr = (addr[0], out[0].getsockname()[1], *addr[2:])
            sock.bind(addr)
            if listen:
                sock.listen(backlog)
            sock.setblocking(False)
    except OSError as exc:
        for sock in out:
            sock.close()
        raise _listen_error(host, port, exc) from None
    return out


def _listen_error(host: str, port: int, exc: OSError) -> HelpgenError:
    return HelpgenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick "
                        "another --port (0 = any free port) or stop the other server",
                        exit_code=2)


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in str(host):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def serve(app: Callable, host: str = "127.0.0.1", port: int = 8000, threads: int = 4,
          max_body_bytes: int = 65_536, announce: Callable[[str], None] = print,
          limits: ConnectionLimits | None = None) -> None:
    """Run ``app`` under waitress until Ctrl-C or SIGTERM, then close it cleanly."""
    try:
        server = create_server(app, host, port, threads, max_body_bytes, limits)
    except OSError as exc:
        raise _listen_error(host, port, exc) from None
    announce(server_url(server))
    run_server(server, app)


def run_server(server: Any, app: Callable) -> None:
    """Serve with ``server`` until Ctrl-C or SIGTERM, then close it and ``app``."""
    import signal

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # "Task queue depth is N" only says that requests waited for a free thread; under
    # load it would flood the terminal, so only real waitress errors are shown.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _stop)
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
