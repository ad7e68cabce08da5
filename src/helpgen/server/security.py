"""Security headers of every response and the Content-Security-Policy of pages.

Pages get their own origin only; inline scripts are allowed by the SHA-256 hash of
their text, so the CSP needs no ``'unsafe-inline'`` for scripts, and only the scripts
the build listed as the theme's or helpgen's own (:mod:`helpgen.csp`) are allowed.
Everything the policy allows is decided here.
"""

from __future__ import annotations

from typing import Iterable

from .. import csp

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def page_csp(script_hashes: Iterable[str] = ()) -> str:
    """The CSP of an HTML page: own origin only; inline scripts allowed by hash.

    Material sets ``style`` attributes from its JavaScript, so styles need
    ``'unsafe-inline'``; scripts do not: each inline ``<script>`` of the page is
    allowed by its SHA-256 hash.
    """
    scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in script_hashes)])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'self'")


def inline_script_hashes(html_text: str) -> tuple[str, ...]:
    """Base64 SHA-256 of every executable inline ``<script>`` (not JSON data blocks)."""
    return csp.inline_script_hashes(html_text)


def allowed_hashes(page_hashes: Iterable[str], allowlist: frozenset[str]) -> tuple[str, ...]:
    """The page's inline scripts the policy may allow: only those the build listed as
    the theme's or helpgen's own (an author's script, had it slipped into an article,
    stays blocked)."""
    return tuple(h for h in page_hashes if h in allowlist)
