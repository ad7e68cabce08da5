"""The JSON API: ``/api/search``, ``/api/suggest``, ``/api/events``, ``/healthz`` and
Zendesk's deflection suggestions endpoint, with routing, CORS, the rate limit and JSON body reading."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .. import __version__
from ..errors import HelpgenError
from .limits import read_body
from .responses import ApiError, Response, json_response

if TYPE_CHECKING:
    from ..config import Config
    from .caches import SearcherPool
    from .limits import RateLimiter
    from .settings import ServerSettings

log = logging.getLogger("helpgen.server")

ZENDESK_SUGGESTIONS = "/api/v2/help_center/deflection/suggestions.json"
ZENDESK_LIMIT = 3  # suggestions answered to Zendesk's ticket form (its theme shows three)
MAX_SAFE_INT = 2 ** 53  # the largest integer every JSON reader (JavaScript's too) keeps exact


class _BadNumber(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text) > 17:
        raise _BadNumber(f"integer {text[:20]}... is outside +-2**53")
    value = int(text)
    if abs(value) > MAX_SAFE_INT:
        raise _BadNumber(f"integer {text} is outside +-2**53")
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"number {text[:20]} is too large")
    return value


def _parse_constant(name: str) -> Any:
    raise _BadNumber(f"{name} is not JSON")


def parse_flat_json(raw: bytes) -> dict[str, Any]:
    """A flat JSON object from ``raw``, else :class:`ApiError` 400 (never another error)."""
    try:
        body = json.loads(raw.decode("utf-8"), parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant)
    except _BadNumber as exc:
        raise ApiError(400, "bad_json", f"the body is not usable JSON: {exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError, MemoryError):
        raise ApiError(400, "bad_json", "the body is not valid UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    for key, value in body.items():
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ApiError(400, "bad_json", f"field {key[:40]!r} must be a string, number, "
                           "true/false or null: the body is a flat JSON object")
    return body


def release_files_of(exc: BaseException) -> None:
    """Drop the tracebacks of a failed index read, so the files Whoosh left open are
    closed now (quietly) rather than warned about whenever the collector finds them."""
    seen: BaseException | None = exc
    with warnings.catch_warnings():  # only on this failure path: the filter is global
        warnings.simplefilter("ignore", ResourceWarning)
        while seen is not None:
            following = seen.__context__ or seen.__cause__
            seen.__traceback__ = seen.__context__ = seen.__cause__ = None
            seen = following
        gc.collect()

SEARCH_LIMIT_MAX = 50


class Api:
    """The API half of :class:`helpgen.server.app.HelpApp` (a mixin)."""

    config: Config
    index_dir: Path
    events_db: Path | str | None
    settings: ServerSettings
    limiter: RateLimiter
    searchers: SearcherPool
    _events_lock: Any
    _events_store: Any
    _recorded: int
    _prune_every: int
    _pruning: bool
    _health_lock: Any
    degraded: dict[str, str]

    def _client(self, environ: dict) -> str:
        if self.settings.trust_proxy_headers:
            fwd = environ.get("HTTP_X_FORWARDED_FOR", "")
            if fwd.strip():
                return fwd.split(",")[-1].strip()
        return environ.get("REMOTE_ADDR", "") or "unknown"

    def _cors_headers(self, environ: dict) -> list[tuple[str, str]]:
        origin = environ.get("HTTP_ORIGIN", "").rstrip("/")
        allowed = self.settings.cors_origins
        if not origin or not allowed:
            return []
        if "*" in allowed:
            return [("Access-Control-Allow-Origin", "*")]
        if origin in allowed:
            return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        return []

    ROUTES = {
        "/api/search": ("GET", "_api_search"),
        "/api/suggest": ("POST", "_api_suggest"),
        "/api/events": ("POST", "_api_events"),
        ZENDESK_SUGGESTIONS: ("GET", "_api_zendesk_suggestions"),
        "/healthz": ("GET", "_healthz"),
    }

    def _api(self, environ: dict, path: str) -> Response:
        route = self.ROUTES.get(path)
        if route is None:
            raise ApiError(404, "not_found", f"no API endpoint {path}; endpoints: "
                           f"{', '.join(sorted(self.ROUTES))}")
        method = environ.get("REQUEST_METHOD", "GET")
        allowed, handler = route
        allow = f"{allowed}, OPTIONS" + (", HEAD" if allowed == "GET" else "")
        if method == "OPTIONS":
            return self._preflight(environ, allowed, allow)
        if method != allowed and not (method == "HEAD" and allowed == "GET"):
            raise ApiError(405, "method_not_allowed", f"{path} accepts {allowed} only",
                           [("Allow", allow)])
        if path != "/healthz":
            wait = self.limiter.take(self._client(environ))
            if wait > 0:
                retry = max(1, math.ceil(wait))
                raise ApiError(429, "rate_limited",
                               f"too many requests; retry in {retry} s",
                               [("Retry-After", str(retry))])
        return getattr(self, handler)(environ)

    def _preflight(self, environ: dict, allowed: str, allow: str) -> Response:
        origin = environ.get("HTTP_ORIGIN")
        if origin and not self._cors_headers(environ):
            raise ApiError(403, "origin_not_allowed",
                           "this origin may not call the API; allowed origins are set by "
                           "server.cors_origins")
        headers = [("Allow", allow), ("Access-Control-Allow-Methods", allow),
                   ("Access-Control-Allow-Headers", "Content-Type"),
                   ("Access-Control-Max-Age", "600")]
        return Response(204, b"", headers)

    def _query(self, environ: dict) -> dict[str, str]:
        qs = environ.get("QUERY_STRING", "")
        if len(qs) > self.settings.max_query_chars * 6 + 512:
            raise ApiError(413, "query_too_long", "the query string is too long")
        try:
            parsed = parse_qs(qs, keep_blank_values=True, strict_parsing=False,
                              errors="strict", max_num_fields=20)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "bad_query_string", "the query string is not valid "
                           "UTF-8 form data (at most 20 parameters)") from None
        return {k: v[-1] for k, v in parsed.items()}

    def _market_version(self, market: str | None, version: str | None) -> tuple[str, str]:
        market = market or self.config.default_market
        if market not in self.config.markets:
            raise ApiError(404, "unknown_market",
                           f"unknown market {market[:40]!r}; known markets: "
                           f"{', '.join(self.config.markets)}",
                           markets=list(self.config.markets))
        published = self.published(market)
        version = version or self.config.default_alias
        if version not in published:
            names = sorted(published) or ["none (run helpgen build --market " + market + ")"]
            raise ApiError(404, "unknown_version",
                           f"market {market} has no published version {version[:40]!r}; "
                           f"published: {', '.join(names)}", versions=sorted(published))
        return market, published[version]

    def _api_search(self, environ: dict) -> Response:
        params = self._query(environ)
        q = params.get("q", "")
        if len(q) > self.settings.max_query_chars:
            raise ApiError(413, "query_too_long",
                           f"q is longer than {self.settings.max_query_chars} characters")
        if not q.strip():
            raise ApiError(400, "missing_query", "parameter q (the search text) is required")
        try:
            limit = int(params.get("limit", "10"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= SEARCH_LIMIT_MAX:
            raise ApiError(400, "bad_limit",
                           f"limit must be a whole number from 1 to {SEARCH_LIMIT_MAX}")
        market, version = self._market_version(params.get("market"), params.get("version"))
        audience = params.get("audience") or None
        topic = params.get("topic") or None
        if audience is not None and audience not in self.config.audiences:
            raise ApiError(400, "unknown_audience", f"unknown audience {audience[:40]!r}; "
                           f"allowed: {', '.join(self.config.audiences)}")
        if topic is not None and topic not in self.config.topics:
            raise ApiError(400, "unknown_topic", f"unknown topic {topic[:40]!r}; "
                           f"allowed: {', '.join(self.config.topics)}")
        result = self._search(market, version, q, limit, audience, topic)
        hits = [self._hit_json(h, market, version) for h in result.hits]
        payload = {"query": result.query, "market": market, "version": version,
                   "total": getattr(result, "total", len(hits)), "results": hits,
                   "did_you_mean": result.suggestion,
                   "corrections": [c.as_dict() for c in getattr(result, "corrections", ())]}
        self._record_search(market, version, q, len(hits))
        return json_response(200, payload)

    def _search(self, market: str, version: str, q: str, limit: int,
                audience: str | None, topic: str | None) -> Any:
        failure: ApiError | None = None
        try:
            with self.searchers.acquire(market, version) as searcher:
                try:
                    result = searcher.search(q, limit=limit, audience=audience, topic=topic)
                except HelpgenError as exc:
                    raise ApiError(400, "bad_search", self.scrub(exc.problem.msg)) from None
        except Exception as exc:  # cannot be opened, or its files fail when read
            failure = self._unavailable(market, version, exc)
        if failure is not None:
            raise failure
        self._index_ok(market, version)
        return result

    def _hit_json(self, hit: Any, market: str, version: str) -> dict[str, Any]:
        """A hit as JSON; ``html_url`` is ``url`` behind ``server.base_url`` (if set)."""
        data = {k: getattr(hit, k) for k in ("id", "title", "url", "score", "snippet", "summary",
                                             "audience", "topic", "language") if hasattr(hit, k)}
        data["html_url"] = self.settings.base_url + data.get("url", "")
        data.update(self._place(market, data.get("audience", ""), data.get("topic", "")))
        return data

    def _place(self, market: str, audience: str, topic: str) -> dict[str, str]:
        """``audience_title`` and ``topic_title`` of a hit in the market's language
        (``Sellers``, ``Billing › Invoices``): the line under a result's title. A code
        the configuration no longer has (an index older than helpgen.yml) shows as is."""
        lang = self.config.markets[market].language
        aud = self.config.audiences.get(audience)
        parts = topic.split("/") if topic else []
        titles = []
        for i in range(len(parts)):
            t = self.config.topics.get("/".join(parts[:i + 1]))
            titles.append(t.text("title", lang) if t is not None else parts[i])
        return {"audience_title": aud.text("title", lang) if aud is not None else audience,
                "topic_title": " › ".join(titles)}

    def _read_json(self, environ: dict) -> dict[str, Any]:
        """The request body as a flat JSON object (every value a string, a number within
        +-2**53, true/false or null); anything else is a 4xx :class:`ApiError`."""
        ctype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(415, "unsupported_media_type",
                           "send the body as JSON with Content-Type: application/json")
        if environ.get("HTTP_TRANSFER_ENCODING") and environ.get("CONTENT_LENGTH"):
            raise ApiError(400, "bad_framing", "a request may not have both Content-Length "
                           "and Transfer-Encoding")
        raw = read_body(environ, self.settings.max_body_bytes)
        return parse_flat_json(raw)

    def _api_suggest(self, environ: dict) -> Response:
        return json_response(200, self._suggest(self._read_json(environ)))

    def _suggest(self, body: dict[str, Any]) -> dict[str, Any]:
        """``deflect.suggest_payload`` over the app's open indexes; 400 for a bad draft,
        503 for an index that cannot be read."""
        from .. import deflect

        failure: ApiError | None = None
        used: list[tuple[str, str]] = []
        with contextlib.ExitStack() as stack:
            def open_searcher(market: str, version: str) -> Any:
                market, resolved = self._market_version(market, version)
                used.append((market, resolved))
                opened: ApiError | None = None
                try:
                    return stack.enter_context(self.searchers.acquire(market, resolved))
                except Exception as exc:  # the index cannot be opened
                    opened = self._unavailable(market, resolved, exc)
                raise opened

            try:
                payload = deflect.suggest_payload(body, self.config, self.index_dir,
                                                  open_searcher=open_searcher,
                                                  base_url=self.settings.base_url)
            except HelpgenError as exc:
                raise ApiError(400, "bad_ticket", self.scrub(exc.problem.msg)) from None
            except Exception as exc:  # an index's files fail while being read
                if not used:
                    raise
                failure = self._unavailable(*used[-1], exc)
        if failure is not None:
            raise failure
        for key in used:
            self._index_ok(*key)
        return payload

    def _api_zendesk_suggestions(self, environ: dict) -> Response:
        """Zendesk's ``GET /api/v2/help_center/deflection/suggestions.json``, which the
        Copenhagen theme's ticket form calls with the subject as ``query``: the same
        deflection suggestions as ``/api/suggest``, in the record Zendesk returns
        (``id``, ``title``, ``name``, ``html_url``, ``snippet``)."""
        params = self._query(environ)
        query = params.get("query", "")
        if len(query) > self.settings.max_query_chars:
            raise ApiError(413, "query_too_long",
                           f"query is longer than {self.settings.max_query_chars} characters")
        if not query.strip():
            return json_response(200, {"results": []})
        market = self.market_for_locale(params.get("locale", ""))
        try:
            payload = self._suggest({"subject": query, "market": market,
                                     "limit": ZENDESK_LIMIT})
        except ApiError as err:
            if err.code != "bad_ticket":  # a query of punctuation only: nothing to suggest
                raise
            return json_response(200, {"results": []})
        results = [{"id": r["id"], "title": r["title"], "name": r["title"],
                    "html_url": r["html_url"], "snippet": r["snippet"]}
                   for r in payload["results"]]
        return json_response(200, {"results": results})

    def market_for_locale(self, locale: str) -> str:
        """The market a Zendesk ``locale`` (``de``, ``en-us``, ``ja``, ``pt_BR``) names,
        case-insensitively: the market whose locale it is, else the market of that code,
        else the markets of its language (the default market first); only markets with
        a published site count. Anything else is the default market."""
        wanted = locale.strip().lower().replace("_", "-")
        default = self.config.default_market
        if not wanted:
            return default
        language = wanted.split("-", 1)[0]
        markets = self.config.markets
        order = [default, *(code for code in markets if code != default)]
        for matches in (lambda code: markets[code].locale.lower().replace("_", "-") == wanted,
                        lambda code: code.lower() == wanted,
                        lambda code: markets[code].language.lower() == language):
            for code in order:
                if matches(code) and self.published(code):
                    return code
        return default

    def _unavailable(self, market: str, version: str, exc: BaseException) -> ApiError:
        """503 for an index that cannot be opened or read; logged, and kept for
        ``/healthz`` until a request succeeds on that index again.

        Whoosh reports damaged files with whatever the broken bytes cause (EOFError,
        struct or zlib errors, even a bare ``Exception``), so every failure inside a
        searcher counts; the traceback goes to the DEBUG log. The query parser's own
        bugs are kept visible by the property tests, which call it directly.
        """
        reason = self.scrub(getattr(getattr(exc, "problem", None), "msg", None)
                            or f"{type(exc).__name__}: {exc}")[:300]
        log.error("search index %s/%s unavailable: %s", market, version, reason)
        if not isinstance(exc, HelpgenError):
            log.debug("reading search index %s/%s failed", market, version, exc_info=exc)
        with self._health_lock:
            self.degraded[f"{market}/{version}"] = reason
        release_files_of(exc)
        return ApiError(503, "index_unavailable",
                        f"the search index of {market} {version} is not available; the "
                        f"operator can build it with: helpgen build --market {market} "
                        f"--version {version}")

    def _index_ok(self, market: str, version: str) -> None:
        if self.degraded:
            with self._health_lock:
                self.degraded.pop(f"{market}/{version}", None)

    def _api_events(self, environ: dict) -> Response:
        body = self._read_json(environ)
        from .. import events

        try:
            event = events.make_event(body, markets=self.config.markets,
                                      categories=self.config.ticket_categories,
                                      category_map=self.config.settings.get(
                                          "deflection.category_map", {}),
                                      query_max_chars=self._query_max_chars())
        except HelpgenError as exc:
            raise ApiError(400, "bad_event", self.scrub(exc.problem.msg)) from None
        self._record(event)
        return Response(204)

    def _query_max_chars(self) -> int:
        return int(self.config.settings.get("events.query_max_chars", 100))

    def _events(self) -> Any:
        """The events log (None when the app was made without an events database)."""
        if self.events_db is None:
            return None
        with self._events_lock:
            if self._events_store is None:
                from .. import events

                self._events_store = events.open_store(
                    self.events_db, events.StoreOptions.from_settings(self.config.settings))
            return self._events_store

    def _record(self, event: Any) -> None:
        store = self._events()
        if store is None:
            return
        store.submit(event)  # never raises: analytics must never fail the request
        with self._events_lock:
            self._recorded += 1
            due = self._recorded % self._prune_every == 0 and not self._pruning
            if due:
                self._pruning = True
        if due and store.buffered:  # the request must not wait on a network database
            threading.Thread(target=self._prune_in_background, args=(store,),
                             name="helpgen-events-prune", daemon=True).start()
        elif due:
            self._prune_in_background(store)

    def _prune_in_background(self, store: Any) -> None:
        try:
            store.flush(5.0)  # prune what was submitted so far, not an older state
            self.prune_events(store, wait=False)
        except HelpgenError as exc:
            log.error("pruning the events failed: %s", exc)
        finally:
            with self._events_lock:
                self._pruning = False

    def prune_events(self, store: Any, wait: bool = True) -> int | None:
        """Retention (``events.retention_days`` / ``events.max_rows``).

        Runs after every ``max_rows / 10`` (at most 1,000) recorded events of this
        process (in a background thread for a buffered store), so a flood of events cannot grow the store
        without bound (SQLite reuses the freed pages). One process at a time: with
        ``wait=False`` a prune already running elsewhere makes this one a no-op (None).
        """
        return store.prune(self.settings.events_retention_days, self.settings.events_max_rows,
                           wait=wait,
                           draft_retention_days=self.settings.events_draft_retention_days)

    def _record_search(self, market: str, version: str, q: str, hits: int) -> None:
        if not self.settings.record_searches or self.events_db is None:
            return
        from .. import events

        etype = "search" if hits else "search_no_answer"
        self._record(events.make_event(
            {"type": etype, "market": market, "version": version, "query": q,
             "results": hits}, markets=self.config.markets,
            query_max_chars=self._query_max_chars()))

    def _healthz(self, environ: dict) -> Response:
        markets = {}
        for code in self.config.markets:
            versions = sorted(set(self.published(code).values()), reverse=True)
            if versions:
                markets[code] = versions
        with self._health_lock:
            degraded = dict(sorted(self.degraded.items()))
        store = self._events()
        events_health = store.health() if store is not None else None
        unhealthy = bool(degraded) or (events_health is not None and not events_health["ok"])
        payload = {"status": "degraded" if unhealthy else "ok", "helpgen": __version__,
                   "markets": markets, "indexes_loaded": self.searchers.loaded(),
                   "index_builds": self.searchers.build_ids(), "process": os.getpid(),
                   "events": events_health}
        if degraded:
            payload["degraded_indexes"] = degraded
        return json_response(200, payload)
