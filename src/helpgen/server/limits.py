"""Limits on what one client may ask: a per-client rate limit and query-string size."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable

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

