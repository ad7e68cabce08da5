"""helpgen: structured Markdown articles -> versioned, market-specific help sites."""

from __future__ import annotations

__version__ = "0.1.0"
