"""The ``server.*`` settings as one frozen record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Config


@dataclass(frozen=True)
class ServerSettings:
    """The ``server.*`` settings the app uses (see config.SETTINGS for their help)."""

    max_body_bytes: int = 65_536
    max_query_chars: int = 256
    rate_limit_per_minute: int = 120
    rate_limit_burst: int = 30
    cors_origins: tuple[str, ...] = ()
    trust_proxy_headers: bool = False
    static_max_age: int = 600
    record_searches: bool = True
    events_max_rows: int = 1_000_000
    events_retention_days: int = 400
    events_draft_retention_days: int = 800
    base_url: str = ""

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> ServerSettings:
        s = config.settings
        values = {
            "max_body_bytes": s.get("server.max_body_bytes", cls.max_body_bytes),
            "max_query_chars": s.get("server.max_query_chars", cls.max_query_chars),
            "rate_limit_per_minute": s.get("server.rate_limit_per_minute",
                                           cls.rate_limit_per_minute),
            "rate_limit_burst": s.get("server.rate_limit_burst", cls.rate_limit_burst),
            "cors_origins": tuple(str(o).rstrip("/") for o in s.get("server.cors_origins", ())),
            "trust_proxy_headers": s.get("server.trust_proxy_headers", False),
            "static_max_age": s.get("server.static_max_age", cls.static_max_age),
            "record_searches": s.get("server.record_searches", True),
            "events_max_rows": s.get("events.max_rows", cls.events_max_rows),
            "events_retention_days": s.get("events.retention_days",
                                           cls.events_retention_days),
            "events_draft_retention_days": s.get("events.draft_retention_days",
                                                 cls.events_draft_retention_days),
            "base_url": str(s.get("server.base_url", "")).rstrip("/"),
        }
        values.update(overrides)
        return cls(**values)
