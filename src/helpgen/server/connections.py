"""waitress, with connections that cannot lock the server out.

Stock waitress (3.0) closes a channel only after ``channel_timeout`` seconds without
*any* bytes, checks that every 30 s, and at ``connection_limit`` open connections stops
accepting. A client that sends one header byte a second, or a hundred that just
connect, keeps everyone else waiting in the listen queue. This module subclasses three
waitress classes (pinned in ``pyproject.toml`` to the minor version these were written
against, because they touch its internals):

* :class:`GuardedParser` refuses a request with both ``Content-Length`` and
  ``Transfer-Encoding`` (400; RFC 9112 section 6.3 allows refusing it, and it is the
  classic request-smuggling shape);
* :class:`GuardedChannel` records when the request being received began, when its
  headers ended and how many bytes it has sent;
* :class:`GuardedServer` checks every second that no request takes longer than
  ``request_header_timeout`` for its headers or ``request_body_timeout`` for its body,
  and that no idle connection outlives ``channel_timeout``; and at
  ``connection_limit`` it keeps accepting: a waiting newcomer replaces the open
  connection that is doing the least: the longest idle one, else the partly received
  request with the fewest bytes per second (over at least :data:`GRACE_SECONDS`) if
  that is under :data:`SLOW_BYTES_PER_SECOND` (1 KB/s; a 50 kbit/s upload sends six
  times that). A connection whose request is being answered is never replaced, nor
  one opened in the last :data:`NEW_SECONDS`. When nothing may be replaced, newcomers
  wait in the listen queue as with stock waitress.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import TcpWSGIServer

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger("helpgen.server")

GRACE_SECONDS = 0.5  # a request is judged by its bytes per second after at least this long
NEW_SECONDS = 0.2  # a new connection is not replaced before its first bytes can be read
SLOW_BYTES_PER_SECOND = 1024  # at the limit, a partial request slower than this is replaced


@dataclass(frozen=True)
class ConnectionLimits:
    """The ``server.connection_limit`` / ``*_timeout`` settings (seconds)."""

    connection_limit: int = 200
    channel_timeout: float = 30.0
    request_header_timeout: float = 10.0
    request_body_timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> ConnectionLimits:
        s = config.settings
        values: dict[str, Any] = {
            "connection_limit": int(s.get("server.connection_limit", cls.connection_limit)),
            **{key: float(s.get(f"server.{key}", getattr(cls, key)))
               for key in ("channel_timeout", "request_header_timeout",
                           "request_body_timeout")}}
        values.update(overrides)
        return cls(**values)


class GuardedParser(HTTPRequestParser):
    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            raise ParsingError("a request may not have both Content-Length and "
                               "Transfer-Encoding")


class GuardedChannel(HTTPChannel):
    parser_class = GuardedParser
    request_started = 0.0  # monotonic time of the first byte of the request being received
    headers_done = 0.0  # ... and of the end of its headers (0: not yet)
    request_bytes = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.opened = time.monotonic()
        super().__init__(*args, **kwargs)

    def received(self, data: bytes) -> bool:
        now = time.monotonic()
        if data and self.request is None:
            self.request_started, self.headers_done, self.request_bytes = now, 0.0, 0
        self.request_bytes += len(data)
        result = super().received(data)
        request = self.request
        if request is None:
            self.request_started = 0.0
        elif request.headers_finished and not self.headers_done:
            self.headers_done = now
        return result


class GuardedServer(TcpWSGIServer):
    """waitress's TCP server with the timeouts and replacement described above."""

    channel_class = GuardedChannel
    limits = ConnectionLimits()
    evicted = 0  # connections closed to make room or after a timeout (for tests, logs)

    def maintenance(self, now: float) -> None:  # waitress calls it with time.time()
        mono = time.monotonic()
        limits = self.limits
        for channel in list(self.active_channels.values()):
            if channel.requests or channel.will_close:
                continue  # being answered, or already closing
            if channel.request_started:
                if channel.headers_done:
                    late = mono - channel.headers_done > limits.request_body_timeout
                else:
                    late = mono - channel.request_started > limits.request_header_timeout
            else:
                late = now - channel.last_activity > limits.channel_timeout
            if late:
                self.evicted += 1
                channel.will_close = True

    def _victim(self) -> GuardedChannel | None:
        """The connection a waiting newcomer replaces, or None (the newcomer waits)."""
        mono, wall = time.monotonic(), time.time()
        best: tuple[float, float] | None = None
        victim = None
        for channel in self.active_channels.values():
            if channel.requests or not isinstance(channel, GuardedChannel):
                continue
            if channel.will_close:
                return channel  # closing anyway
            if mono - channel.opened < NEW_SECONDS:
                continue
            if channel.request_started:
                age = mono - channel.request_started
                rate = channel.request_bytes / max(age, GRACE_SECONDS)
                if rate >= SLOW_BYTES_PER_SECOND:
                    continue  # a slow but real upload
            else:
                age, rate = wall - channel.last_activity, 0.0
            key = (rate, -age)
            if best is None or key < best:
                best, victim = key, channel
        return victim

    def readable(self) -> bool:
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        if not self.accepting:
            return False
        if len(self.active_channels) < self.limits.connection_limit:
            return True
        return self._victim() is not None  # else wait in the listen queue for a free slot

    def handle_accept(self) -> None:
        if len(self.active_channels) >= self.limits.connection_limit:
            victim = self._victim()
            if victim is not None:
                self.evicted += 1
                victim.handle_close()  # on the event-loop thread, which owns the socket
            # accept on the next turn of the loop: the closed socket's number may be
            # reused only after this turn's select() results are spent
            return
        super().handle_accept()
