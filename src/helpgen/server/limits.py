"""Limits on what one client may ask: a per-client rate limit and the body size."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable

from .responses import ApiError

MAX_CLIENTS = 20_000  # rate-limit buckets kept (oldest dropped first)


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



def read_body(environ: dict, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes, else :class:`ApiError` 413/400."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "bad_content_length", "Content-Length is not a number") from None
    if length > limit or length < 0:
        raise ApiError(413 if length > limit else 400, "body_too_large" if length > limit
                       else "bad_content_length", f"the body is larger than {limit} bytes"
                       if length > limit else "Content-Length is negative")
    stream = environ["wsgi.input"]
    raw = stream.read(length) if length else stream.read(limit + 1)
    if len(raw) > limit:
        raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")
    return raw
