"""The help site and its API as one WSGI application (stdlib + waitress only).

``make_app(config, site_dir, index_dir)`` returns a WSGI callable that serves

* every built market and version from ``site_dir`` (``site/index.html``,
  ``site/<market>/<version>/...``): safe against path traversal, with content types,
  ``ETag``/``Last-Modified`` revalidation (304), gzip and cache headers;
* ``GET /api/search`` (Whoosh results through :mod:`helpgen.search`),
  ``POST /api/suggest`` (ticket suggestions through :mod:`helpgen.deflect`),
  ``POST /api/events`` (client analytics through :mod:`helpgen.events`) and
  ``GET /healthz``.

API errors are always JSON, ``{"error": {"code": ..., "message": ...}}``, never a
traceback or a path of the server's disk. Every response carries security headers
(a per-page CSP with the hashes of the page's inline scripts, ``nosniff``,
``Referrer-Policy``). ``/api/*`` has CORS for configured origins and a per-client
token-bucket rate limit. Settings are the ``server.*`` entries of
:data:`helpgen.config.SETTINGS`.

The app holds all of its state (open searchers, rate-limit buckets, a small cache of
compressed files) on the instance: two apps in one process share nothing. Run it with
:func:`serve` (waitress), ``waitress-serve --call helpgen.server:create_app``, or any
other WSGI server.

One module per concern:

* :mod:`.app` -- :class:`HelpApp` (routing between site and API), :func:`make_app`,
  :func:`create_app`, :func:`app_paths`;
* :mod:`.static` -- files, safe paths, revalidation, gzip, 404 pages, sitemaps;
* :mod:`.api` -- the ``/api/*`` and ``/healthz`` handlers;
* :mod:`.limits` -- the per-client rate limit;
* :mod:`.security` -- security headers and the pages' CSP;
* :mod:`.caches` -- open searchers and cached file bodies;
* :mod:`.responses` -- response records and JSON/error bodies;
* :mod:`.settings` -- :class:`ServerSettings`;
* :mod:`.connections` -- waitress subclassed: connection limit and timeouts;
* :mod:`.wsgi_server` -- running waitress, and the access log;
* :mod:`.processes` -- ``helpgen serve --processes N``: forked servers on one port and
  their supervisor.
"""

from __future__ import annotations

from .api import SEARCH_LIMIT_MAX, Api
from .app import HelpApp, app_paths, create_app, make_app, needs_build
from .caches import FileCache, SearcherPool
from .connections import ConnectionLimits, GuardedServer
from .limits import MAX_CLIENTS, RateLimiter
from .responses import ApiError, Response, error_response, json_bytes, json_response
from .security import API_CSP, SECURITY_HEADERS, inline_script_hashes, page_csp
from .settings import ServerSettings
from .static import BadPath, StaticSite, content_type, split_path
from .wsgi_server import AccessLog, create_server, run_until, serve, server_url

__all__ = [
    "API_CSP", "AccessLog", "ConnectionLimits", "GuardedServer", "Api", "ApiError", "BadPath", "FileCache", "HelpApp", "MAX_CLIENTS",
    "RateLimiter", "Response", "SEARCH_LIMIT_MAX", "SECURITY_HEADERS", "SearcherPool",
    "ServerSettings", "StaticSite", "app_paths", "content_type", "create_app", "create_server",
    "error_response", "inline_script_hashes", "json_bytes", "json_response", "make_app",
    "needs_build", "page_csp", "run_until", "serve", "server_url", "split_path",
]
