"""A plain static file server (Python's http.server) for the static-hosting fallback."""

from __future__ import annotations

import contextlib
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # keep test output clean
        pass


@contextlib.contextmanager
def serving_static(folder: Path, handler: type[SimpleHTTPRequestHandler] = Quiet
                   ) -> Iterator[str]:
    """``folder`` served by Python's file server on its own loopback port (its own origin);
    ``handler`` may add headers (a subclass of :class:`Quiet`)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
