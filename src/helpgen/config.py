"""The one place configuration is declared and validated.

``helpgen.yml`` (next to ``mkdocs.yml``) holds markets, languages, the article
taxonomy and settings. :func:`load` checks every key, reports every problem at
once (``helpgen.yml:<line>:<col>: error: ...`` with the allowed values) and returns
a frozen :class:`Config` that the rest of the library trusts.

Scalar settings live in :data:`SETTINGS`: one ``Setting(key, default, help)`` each,
like Datasette's settings tuple. Tests check that each one is documented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

import yaml

from . import yamlpos
from .errors import HelpgenError, Problem, raise_if

if TYPE_CHECKING:
    from .catalog import Catalog

CONFIG_FILE = "helpgen.yml"
CODE_RE = re.compile(r"^[a-z][a-z0-9-]*$")
TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9-]*)*$")
#: The audience of a project whose helpgen.yml declares none.
IMPLICIT_AUDIENCE = "all"
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Setting:
    key: str  # dotted: "<section>.<name>"
    default: Any
    help: str
    choices: tuple = ()

    @property
    def kind(self) -> type:
        return type(self.default)


BASE_URL_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?$")

#: URL schemes of an ``events.db`` that is a PostgreSQL database
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def events_db_problem(value: str) -> str | None:
    """Why ``value`` cannot be an ``events.db`` (None when it can): an unknown URL
    scheme, or a PostgreSQL URL that carries a password. Here rather than in
    :mod:`helpgen.events` so that reading the configuration does not import the event
    stores."""
    from urllib.parse import parse_qs, urlsplit

    if value.startswith(POSTGRES_SCHEMES):
        parts = urlsplit(value)
        if parts.password is not None or "password" in parse_qs(parts.query):
            return ("a PostgreSQL URL must not carry a password: remove it and give it to "
                    "libpq in PGPASSWORD or ~/.pgpass (postgresql://user@host/db)")
        return None
    if value.startswith("sqlite:///") or "://" not in value:
        return None
    return (f"unknown events store {value.split('://', 1)[0]!r}:// ; use a file path, "
            "sqlite:///path or postgresql://user@host/db")


#: Old setting -> its new name; the old one is still read (when the new one is not given)
#: and warned about.
RENAMED_SETTINGS: Mapping[str, str] = MappingProxyType({
    "server.events_max_rows": "events.max_rows",
    "server.events_retention_days": "events.retention_days",
})

SETTINGS: tuple[Setting, ...] = (
    Setting("build.navigation_prune", True,
            "Use Material's navigation.prune so each page embeds only its own nav branch "
            "(keeps large builds near linear)."),
    Setting("build.jobs", 0, "Worker processes for `build --all`; 0 = one per CPU core."),
    Setting("build.nav_max_items", 30,
            "A topic with more articles than this is split into alphabetical groups "
            "(A–D, E–K, …) in the navigation, so a page embeds one group, not the whole "
            "topic (keeps large builds near linear); 0 never splits."),
    Setting("build.drafts", False,
            "Publish articles whose front matter says `draft: true`. Off, drafts stay out of "
            "the site, the search index, sitemaps and evaluation; `helpgen preview` and "
            "`helpgen build --drafts` turn it on for one run."),
    Setting("build.allow_raw_html", False,
            "Publish raw HTML in articles as written. Off (the default), raw HTML passes an "
            "allowlist sanitizer: no scripts, event handlers, javascript:/data: URLs, frames, "
            "<base> or <meta>. Turn it on only for a project whose every author is trusted."),
    # ---- home page
    Setting("home.featured", [],
            "Article ids the home page lists first under \"Featured articles\", in this "
            "order: a list for every market, or a mapping of market codes (and `all`, for "
            "markets not named) to lists. An id no article has is an error; an article that "
            "does not apply to a market is left out there."),
    Setting("home.top_articles", 3,
            "Articles each topic card of the home page lists (the first in navigation "
            "order), beside the topic's article count."),
    # ---- search
    Setting("search.index_dir", "search_index",
            "Folder (relative to the project) where `helpgen build` writes the search indexes "
            "and `helpgen search` reads them: <index_dir>/<market>/<version>/."),
    Setting("search.static_bundle", True,
            "Write the static search bundle (<version>/search/bundle/) with every build, so "
            "the search box and the ticket page answer like `helpgen serve` on a plain "
            "static host (Material's own search index then holds page titles only, its "
            "fallback); false leaves it out (Material's own search answers there, over "
            "every page's text)."),
    Setting("search.default_synonyms", True,
            "Use the product-neutral synonym lists shipped with helpgen (English and the "
            "market's language) in addition to docs/_meta/synonyms.txt; false uses only "
            "the project's list."),
    Setting("search.eval_min_hit3", 0.95,
            "Lowest hit@3 (share of evaluation questions answered in the first three results) "
            "the search evaluation accepts, on each split (tune and holdout)."),
    Setting("search.eval_min_mrr", 0.85,
            "Lowest mean reciprocal rank the search evaluation accepts, on each split."),
    Setting("search.eval_min_lead_over_lunr", 0.15,
            "How far helpgen's hit@3 must lead Material's lunr search on the same questions."),
    # ---- server
    Setting("server.host", "127.0.0.1",
            "Interface `helpgen serve` listens on (0.0.0.0 for every interface)."),
    Setting("server.port", 8000, "TCP port `helpgen serve` listens on (0 picks a free one)."),
    Setting("server.threads", 4, "Worker threads of each waitress server process "
            "(`--workers`)."),
    Setting("server.processes", 1, "Server processes of `helpgen serve` sharing its port, "
            "each with `server.threads` threads (`--processes`)."),
    Setting("server.max_body_bytes", 65536,
            "Largest request body accepted by POST /api/suggest and /api/events; larger "
            "bodies get 413."),
    Setting("server.max_query_chars", 256,
            "Longest search text accepted by GET /api/search (q); longer ones get 413."),
    Setting("server.rate_limit_per_minute", 120,
            "API requests per minute allowed per client (token bucket refill rate; 0 turns "
            "the limit off). Over the limit the API answers 429 with Retry-After."),
    Setting("server.rate_limit_burst", 30,
            "API requests a client may make at once before the per-minute rate applies."),
    Setting("server.cors_origins", [],
            "Origins (e.g. https://shop.example.com) allowed to call /api/* from other sites; "
            "empty: same origin only; [\"*\"]: any origin."),
    Setting("server.trust_proxy_headers", False,
            "Identify clients by the last X-Forwarded-For entry (only behind a reverse proxy "
            "that sets it) instead of the connecting address."),
    Setting("server.static_max_age", 600,
            "Cache-Control max-age (seconds) for static files other than HTML/JSON (which "
            "are revalidated) and fingerprinted assets (cached for a year)."),
    Setting("server.record_searches", True,
            "Record each API search (query masked) in the events database for "
            "`helpgen report`."),
    Setting("server.access_log", False,
            "`helpgen serve` prints one line per request (Common Log Format without query "
            "strings, plus the time taken); `--access-log` turns it on too."),
    Setting("server.events_max_rows", 1000000,
            "Deprecated name of events.max_rows (still read, with a warning)."),
    Setting("server.events_retention_days", 400,
            "Deprecated name of events.retention_days (still read, with a warning)."),
    Setting("server.connection_limit", 200,
            "Open connections `helpgen serve` keeps. At the limit a new client replaces the "
            "connection doing least (idle, or the slowest partial request), so idle or "
            "trickling clients cannot lock others out; the limit bounds memory, not who "
            "gets served."),
    Setting("server.channel_timeout", 30,
            "Seconds an idle keep-alive connection stays open; browsers reconnect in "
            "milliseconds, and idle sockets are what a connection flood is made of."),
    Setting("server.request_header_timeout", 10,
            "Seconds a client has from the first byte of a request to the end of its "
            "headers; real clients send them in one packet, slowloris clients never finish."),
    Setting("server.request_body_timeout", 30,
            "Seconds a client has from the end of the headers to the end of the body: a "
            "64 KB body (server.max_body_bytes) then needs about 18 kbit/s."),
    Setting("server.base_url", "",
            "Public URL of the site (e.g. https://help.example.com); sitemaps, the market "
            "switch and API html_url links use it. Empty: relative URLs, and the Host "
            "header is never used."),
    # ---- editors and CI
    Setting("check.max_review_age_days", 365,
            "`helpgen check` warns about articles whose last_reviewed date is older than this "
            "many days (0 turns the warning off)."),
    Setting("build.progress", "auto",
            "Build output: `auto` (a progress bar on a terminal, plain log lines when output "
            "is not a terminal or CI=true), `bar`, or `plain`.",
            choices=("auto", "bar", "plain")),
    # ---- deflection
    Setting("deflection.model", "evals/deflection-model.json",
            "The fitted deflection model (coefficients and threshold; written by `helpgen "
            "eval --fit`), relative to the project. Without the file, the model shipped with "
            "helpgen is used."),
    Setting("deflection.min_confidence", 0.0,
            "Deprecated: 0 (the default) uses the model's fitted threshold. Above 0 it "
            "overrides that threshold: the probability (0-1) a draft needs that its first "
            "suggestions answer it before any is shown."),
    Setting("deflection.category_boost", 0.25,
            "Deprecated and unused: category agreement is a feature of the fitted model."),
    Setting("deflection.category_map", {},
            "Another ticket system's category names mapped to ours (`Payout: payouts`), "
            "compared case- and accent-insensitively. A category that is none of ours and "
            "not mapped is accepted but ignored when ranking, and listed by `helpgen report`."),
    Setting("deflection.ticket_forms", {},
            "Per audience, the ticket form \"I still need help\" opens with the draft filled "
            "in: a URL, or `{url, subject_param, description_param}` (Zendesk's `tf_subject` "
            "and `tf_description` by default), with `markets: {de: {url: ...}}` overrides. "
            "An audience without one gets the channel text of the ticket page."),
    Setting("deflection.max_field_chars", 4000,
            "Ticket fields are trimmed to this many characters before matching (subject and "
            "title to a tenth of it)."),
    Setting("deflection.static_limit", 5,
            "Articles per category in the static suggestion JSON written at build time."),
    Setting("deflection.eval_min_hit3", 0.9,
            "`helpgen eval` fails (exit 1) when hit@3 on answerable ticket drafts is lower."),
    Setting("deflection.eval_min_unanswerable", 0.9,
            "`helpgen eval` fails (exit 1) when the share of unanswerable drafts given no "
            "suggestion is lower."),
    Setting("events.db", "helpgen-events.sqlite3",
            "Where deflection and search events are stored: a SQLite file (a path relative "
            "to the project, or `sqlite:///path`; one host only) or a PostgreSQL database "
            "(`postgresql://user@host:5432/db?sslmode=verify-full`, shared by several "
            "servers). Never a password in the URL: libpq reads PGPASSWORD or ~/.pgpass."),
    Setting("events.retention_days", 400,
            "Retention: events older than this many days are deleted by the server "
            "(0 keeps them regardless of age); one process prunes at a time."),
    Setting("events.max_rows", 1000000,
            "Retention: the store keeps at most this many events (the newest), so a flood "
            "of POST /api/events cannot grow the database without bound."),
    Setting("events.draft_retention_days", 800,
            "Retention of the per-draft outcomes (saw suggestions, solved, submitted "
            "anyway, category) the deflection rate is computed from; longer than the "
            "events, so the rate stays exact over years (0 keeps them regardless of age)."),
    Setting("events.pool_size", 4,
            "PostgreSQL: connections each server process keeps open at most (one writer "
            "plus readers); size the database's max_connections for processes x this."),
    Setting("events.buffer_size", 10000,
            "PostgreSQL: events a server process holds in memory while the database is "
            "slow or down; beyond it new events are dropped and counted in /healthz."),
    Setting("events.query_max_chars", 100,
            "Search queries are truncated to this many characters (after masking) before "
            "they are stored."),
)


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, also the variant suffix: name.<code>.md
    name: str  # in the language itself: "Deutsch" (helpgen.yml's name, else CLDR's)
    notice: str = ""  # localized "not yet available" sentence
    #: its name in other languages, from CLDR ("Englisch" in de); see :meth:`name_in`
    names: Mapping[str, str] = field(default_factory=dict)

    def name_in(self, language: str) -> str:
        """This language's name as ``language`` writes it (its own name when CLDR does
        not know it in ``language``)."""
        if language == self.code:
            return self.name
        return self.names.get(language) or self.names.get("en") or self.name


#: Keys of the ``market`` template variable that every market has; ``vars`` may not
#: use them.
MARKET_FIELDS = ("code", "name", "language", "language_name", "locale", "is_default")


@dataclass(frozen=True)
class Market:
    code: str
    name: str
    language: str
    locale: str
    vars: Mapping[str, Any] = field(default_factory=dict)  # project values: market.<key>
    language_name: str = ""
    is_default: bool = False
    #: its name by display language: helpgen.yml's ``name`` in every language when set,
    #: else the CLDR name of the locale's country ("Deutschland", "ドイツ")
    names: Mapping[str, str] = field(default_factory=dict)
    #: its language's name by display language ("Englisch" in de), from CLDR
    language_names: Mapping[str, str] = field(default_factory=dict)

    def name_in(self, language: str) -> str:
        """The market's name on a page in ``language`` (English when CLDR has none)."""
        return self.names.get(language) or self.names.get("en") or self.name

    def language_name_in(self, language: str) -> str:
        """The market's language as a page in ``language`` names it ("Englisch")."""
        if language == self.language:
            return self.language_name
        return (self.language_names.get(language) or self.language_names.get("en")
                or self.language_name)

    def as_context(self) -> dict[str, Any]:
        """The ``market`` variable articles see in Jinja: the fixed fields plus ``vars``."""
        return {
            "code": self.code,
            "name": self.name,
            "language": self.language,
            "language_name": self.language_name,
            "locale": self.locale,
            "is_default": self.is_default,
            **self.vars,
        }

    @property
    def signup_url(self) -> str:
        """The marketplace's partner sign-up address (``vars.signup_url``), if set."""
        return str(self.vars.get("signup_url", ""))


@dataclass(frozen=True)
class Audience:
    code: str
    title: str
    description: str = ""
    i18n: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # lang -> texts

    def text(self, key: str, language: str) -> str:
        """``title``/``description`` in ``language``, falling back to English."""
        return self.i18n.get(language, {}).get(key) or getattr(self, key)


@dataclass(frozen=True)
class Topic:
    """A navigation group; ``code`` is its path under the audience (``billing/invoices``),
    each level a topic of its own."""

    code: str
    title: str
    audience: str
    i18n: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def text(self, key: str, language: str) -> str:
        return self.i18n.get(language, {}).get(key) or getattr(self, key)

    @property
    def parent(self) -> str | None:
        return self.code.rsplit("/", 1)[0] if "/" in self.code else None

    def within(self, code: str) -> bool:
        """Whether this topic is ``code`` or one of its sub-topics."""
        return self.code == code or self.code.startswith(code + "/")


@dataclass(frozen=True)
class Category:
    """A ticket category: its code, English title and translated titles."""

    code: str
    title: str
    i18n: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def text(self, key: str, language: str) -> str:
        return self.i18n.get(language, {}).get(key) or getattr(self, key)


@dataclass(frozen=True)
class Config:
    root: Path
    default_market: str
    version: str
    default_alias: str
    markets: Mapping[str, Market]
    languages: Mapping[str, Language]
    audiences: Mapping[str, Audience]
    topics: Mapping[str, Topic]
    ticket_categories: Mapping[str, str]  # code -> English title
    settings: Mapping[str, Any] = field(default_factory=dict)
    docs_dir_name: str = "docs"
    categories: Mapping[str, Category] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()  # deprecations: valid, but should be changed
    mkdocs_file_name: str = "mkdocs.yml"
    #: the project's wording of interface strings (``strings:``), key -> language -> text
    strings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def docs_dir(self) -> Path:
        return self.root / self.docs_dir_name

    @property
    def mkdocs_file(self) -> Path:
        return self.root / self.mkdocs_file_name

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    def market(self, code: str | None) -> Market:
        """The market ``code`` (default market for None) or a usage error listing codes."""
        code = code or self.default_market
        try:
            return self.markets[code]
        except KeyError:
            raise HelpgenError(
                f"unknown market {code!r}; allowed: {', '.join(self.markets)}", exit_code=2
            ) from None

    def catalog(self) -> "Catalog":
        """The interface strings with this project's ``strings:`` wording applied."""
        from .catalog import load as load_catalog

        return load_catalog().with_overrides(self.strings)

    def setting(self, key: str) -> Any:
        return self.settings[key]

    def with_setting(self, key: str, value: Any) -> "Config":
        """A copy with one setting changed (a command-line option that wins for one run)."""
        from dataclasses import replace

        return replace(self, settings=MappingProxyType({**self.settings, key: value}))

    @property
    def single_audience(self) -> str | None:
        """The audience of a help center that has only one (articles need no field)."""
        return next(iter(self.audiences)) if len(self.audiences) == 1 else None


def _allowed(values) -> str:
    return ", ".join(str(v) for v in values)


def find_root(start: Path | None = None) -> Path:
    """The nearest folder (``start`` or a parent) holding ``helpgen.yml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise HelpgenError(
        f"no {CONFIG_FILE} found in {here} or its parents; run helpgen from a project folder "
        "or pass --project", exit_code=2
    )


def load(root: Path | str | None = None) -> Config:
    """Read and validate ``<root>/helpgen.yml``; raise every problem at once."""
    root = Path(root).resolve() if root else find_root()
    path = root / CONFIG_FILE
    if not path.is_file():
        raise HelpgenError(f"{CONFIG_FILE} not found in {root}", exit_code=2)
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        loc = yamlpos.load(path.read_text(encoding="utf-8"))
    except yamlpos.Refused as exc:
        mark = exc.problem_mark
        raise HelpgenError(str(exc.problem), rel, mark.line + 1 if mark else None,
                           mark.column + 1 if mark else None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise HelpgenError(
            f"invalid YAML: {exc.problem}", rel,
            mark.line + 1 if mark else None, mark.column + 1 if mark else None,
        ) from None
    return _validate(loc, root, rel)


def _validate(loc: yamlpos.Located, root: Path, rel: str) -> Config:
    data = loc.data if isinstance(loc.data, dict) else {}
    problems: list[Problem] = []

    def bad(msg: str, *keypath: Any, value: bool = False) -> None:
        line, col = loc.where(*keypath, value=value)
        problems.append(Problem(msg, rel, line, col))

    if not isinstance(loc.data, dict):
        bad("the file must be a mapping of settings")

    sections = {s.key.split(".")[0] for s in SETTINGS}
    known = {"default_market", "version", "default_alias", "languages", "markets",
             "audiences", "topics", "ticket_categories", "strings"} | sections
    for key in data:
        if key not in known:
            bad(f"unknown key {key!r}; allowed: {_allowed(sorted(known))}", key)

    def mapping(name: str) -> dict:
        value = data.get(name)
        if not isinstance(value, dict) or not value:
            bad(f"'{name}' must be a non-empty mapping", name)
            return {}
        return value

    # languages: names from CLDR in every display language; `name` sets the autonym
    from . import locales
    from .catalog import INTERFACE_LANGUAGES

    given_languages = mapping("languages")
    display = tuple(dict.fromkeys((*INTERFACE_LANGUAGES, *map(str, given_languages))))
    languages: dict[str, Language] = {}
    for code, spec in given_languages.items():
        code = str(code)
        spec = {} if spec is None else spec
        names = locales.language_names(code, display)
        if not isinstance(spec, dict) or not isinstance(spec.get("name", names.get(code)), str):
            bad(f"language {code!r} needs a 'name' (its own name, e.g. Deutsch): CLDR does "
                "not know it", "languages", code)
            continue
        for k in spec:
            if k not in ("name", "notice"):
                bad(f"unknown key {k!r} in language {code!r}; allowed: name, notice",
                    "languages", code, k)
        languages[code] = Language(code, spec.get("name") or names[code],
                                   str(spec.get("notice", "")), MappingProxyType(names))

    # markets
    markets: dict[str, Market] = {}
    warnings: list[Problem] = []
    default_market = data.get("default_market")
    required = ("language", "locale")
    market_keys = ("name", *required, "vars", "signup_url")
    var_keys: dict[str, tuple[str, ...]] = {}  # market -> its vars keys
    for code, spec in mapping("markets").items():
        code = str(code)
        if not CODE_RE.match(code):
            bad(f"market code {code!r} must be lower-case letters/digits", "markets", code)
        if not isinstance(spec, dict):
            bad(f"market {code!r} must be a mapping with {_allowed(required)} and optional "
                "vars", "markets", code)
            continue
        for k in spec:
            if k not in market_keys:
                bad(f"unknown key {k!r} in market {code!r}; allowed: "
                    f"{_allowed(('name', *required, 'vars'))} (project values go under "
                    "vars)",
                    "markets", code, k)
        missing = [k for k in required if not isinstance(spec.get(k), str) or not spec.get(k)]
        for k in missing:
            bad(f"market {code!r} is missing {k!r}", "markets", code)
        values = spec.get("vars") or {}
        if not isinstance(values, dict):
            bad(f"market {code!r}: 'vars' must map names to values (market.<name> in "
                "templates)", "markets", code, "vars")
            values = {}
        values = dict(values)
        if "signup_url" in spec:  # the marketplace-specific key of older projects
            line, col = loc.where("markets", code, "signup_url")
            warnings.append(Problem(f"market {code!r}: 'signup_url' belongs under 'vars' "
                                    "(vars: {signup_url: ...}); the old place still works "
                                    "but is deprecated", rel, line, col, "warning"))
            values.setdefault("signup_url", spec["signup_url"])
        for k, v in values.items():
            if not isinstance(k, str) or not re.match(r"^[a-z_][a-z0-9_]*$", k):
                bad(f"market {code!r}: vars key {k!r} must be a lower-case name such as "
                    "signup_url", "markets", code, "vars", k)
            elif k in MARKET_FIELDS:
                bad(f"market {code!r}: vars key {k!r} is a built-in market field "
                    f"({_allowed(MARKET_FIELDS)}); choose another name", "markets", code,
                    "vars", k)
            elif not isinstance(v, (str, int, float, bool)) or v is None:
                bad(f"market {code!r}: vars.{k} must be a text, number or true/false",
                    "markets", code, "vars", k, value=True)
        var_keys[code] = tuple(sorted(map(str, values)))
        if missing:
            continue
        if spec["language"] not in languages:
            bad(f"market {code!r}: unknown language {spec['language']!r}; "
                f"allowed: {_allowed(languages)}", "markets", code, "language", value=True)
            continue
        given_name = spec.get("name")
        if given_name is not None and (not isinstance(given_name, str) or not given_name):
            bad(f"market {code!r}: 'name' must be a text (it replaces the CLDR country name "
                "in every language)", "markets", code, "name", value=True)
            continue
        country = locales.territory(spec["locale"])
        names = ({lang: given_name for lang in display} if given_name else
                 locales.territory_names(country, display) if country else {})
        language = languages[spec["language"]]
        if not names.get(language.code) and not names.get("en"):
            bad(f"market {code!r}: CLDR has no country for locale {spec['locale']!r}; give "
                "the market a name (name: ...) or a locale such as de_DE", "markets", code,
                "locale", value=True)
            continue
        markets[code] = Market(
            code=code, name=names.get(language.code) or names["en"],
            language=spec["language"], locale=spec["locale"],
            vars=MappingProxyType(values), language_name=language.name,
            is_default=(code == default_market), names=MappingProxyType(names),
            language_names=MappingProxyType(
                {lang: language.name_in(lang) for lang in display}),
        )
    # every market declares the same vars, or a template fails on one market only
    every = set().union(*var_keys.values()) if var_keys else set()
    for code, keys in var_keys.items():
        lacking = sorted(every - set(keys))
        if lacking:
            others = [c for c, k in var_keys.items() if set(lacking) & set(k)]
            bad(f"market {code!r} lacks vars {', '.join(lacking)} that "
                f"{', '.join(others[:3])}{' …' if len(others) > 3 else ''} declare; every "
                "market needs the same vars", "markets", code)
    if default_market not in markets and markets:
        bad(f"default_market {default_market!r} is not a market; allowed: {_allowed(markets)}",
            "default_market", value=True)

    version = str(data.get("version", ""))
    if not VERSION_RE.match(version):
        bad("'version' must be a version name such as \"2026.11\" (quote it)", "version",
            value=True)
    alias = str(data.get("default_alias", "latest"))
    if not VERSION_RE.match(alias):
        bad("'default_alias' must be a folder-safe name such as latest", "default_alias",
            value=True)

    def i18n(section: str, code: str, spec: dict, keys: tuple[str, ...]) -> dict:
        """Optional translations: ``i18n: {de: {title: ...}}``."""
        allowed = (*keys, "i18n") + (("audience",) if section == "topics" else ())
        for k in spec:
            if k not in allowed:
                bad(f"unknown key {k!r} in {section[:-1]} {code!r}; allowed: "
                    f"{_allowed(allowed)}", section, code, k)
        given = spec.get("i18n") or {}
        if not isinstance(given, dict):
            bad("'i18n' must map language codes to texts", section, code, "i18n")
            return {}
        out: dict[str, dict[str, str]] = {}
        for lang, texts in given.items():
            if lang not in languages:
                bad(f"unknown language {lang!r}; allowed: {_allowed(languages)}", section, code,
                    "i18n", lang)
                continue
            if not isinstance(texts, dict) or any(k not in keys for k in texts):
                bad(f"i18n.{lang} may only set {_allowed(keys)}", section, code, "i18n", lang)
                continue
            out[str(lang)] = MappingProxyType({k: str(v) for k, v in texts.items()})
        return MappingProxyType(out)

    audiences: dict[str, Audience] = {}
    given_audiences = data.get("audiences")
    if given_audiences is None:  # a help center with one audience need not name it
        audiences[IMPLICIT_AUDIENCE] = Audience(IMPLICIT_AUDIENCE, "Articles")
    else:
        for code, spec in mapping("audiences").items():
            if not isinstance(spec, dict) or not isinstance(spec.get("title"), str):
                bad(f"audience {code!r} needs a 'title'", "audiences", code)
                continue
            audiences[str(code)] = Audience(
                str(code), spec["title"], str(spec.get("description", "")),
                i18n("audiences", code, spec, ("title", "description")))
    only = next(iter(audiences)) if len(audiences) == 1 else None

    topics: dict[str, Topic] = {}
    for code, spec in mapping("topics").items():
        code = str(code)
        if not isinstance(spec, dict) or not isinstance(spec.get("title"), str):
            bad(f"topic {code!r} needs a 'title'"
                + ("" if only else " and an 'audience'"), "topics", code)
            continue
        if not TOPIC_RE.match(code):
            bad(f"topic code {code!r} must be lower-case slugs joined by '/' "
                "(billing/invoices)", "topics", code)
            continue
        parent = code.rsplit("/", 1)[0] if "/" in code else None
        audience = spec.get("audience")
        if parent is not None:
            if parent not in topics:
                bad(f"topic {code!r}: its parent {parent!r} must be declared above it",
                    "topics", code)
                continue
            inherited = topics[parent].audience
            if audience is not None and audience != inherited:
                bad(f"topic {code!r}: a sub-topic belongs to its parent's audience "
                    f"{inherited!r}; remove 'audience'", "topics", code, "audience",
                    value=True)
                continue
            audience = inherited
        elif audience is None and only:
            audience = only
        if audience not in audiences:
            bad(f"topic {code!r}: audience must be one of {_allowed(audiences)}",
                "topics", code, "audience", value=True)
            continue
        topics[code] = Topic(code, spec["title"], audience,
                             i18n("topics", code, spec, ("title",)))

    categories: dict[str, Category] = {}
    for code, spec in (data.get("ticket_categories") or {}).items() \
            if isinstance(data.get("ticket_categories") or {}, dict) else ():
        if isinstance(spec, str):
            spec = {"title": spec}
        if not CODE_RE.match(str(code)) or not isinstance(spec, dict) \
                or not isinstance(spec.get("title"), str):
            bad(f"ticket category {code!r} must be a slug mapped to a title (or to "
                "{title: ..., i18n: {de: {title: ...}}})", "ticket_categories", code)
            continue
        categories[str(code)] = Category(str(code), spec["title"],
                                         i18n("ticket_categories", code, spec, ("title",)))
    if not isinstance(data.get("ticket_categories") or {}, dict):
        bad("'ticket_categories' must map category slugs to titles", "ticket_categories")

    strings = _strings(data.get("strings"), (*INTERFACE_LANGUAGES, *languages), bad)

    settings: dict[str, Any] = {}
    declared = {s.key: s for s in SETTINGS}
    for section in sections:
        given = data.get(section, {})
        if given is None:
            given = {}
        if not isinstance(given, dict):
            bad(f"'{section}' must be a mapping", section)
            continue
        for name in given:
            if f"{section}.{name}" not in declared:
                allowed = sorted(k.split(".", 1)[1] for k in declared if k.startswith(section + "."))
                bad(f"unknown setting {section}.{name}; allowed: {_allowed(allowed)}",
                    section, name)
    given_deflection = data.get("deflection") if isinstance(data.get("deflection"), dict) else {}
    for name, why in (("min_confidence", "it now overrides the fitted model's gate, the "
                       "probability a draft needs before anything is shown; remove it to use "
                       "the threshold `helpgen eval --fit` chose"),
                      ("category_boost", "it is no longer used: category agreement is a "
                       "feature of the fitted model (`helpgen eval --fit`); remove it")):
        if name in given_deflection:
            line, col = loc.where("deflection", name)
            warnings.append(Problem(f"deflection.{name} is deprecated: {why}", rel, line, col))
    given_server = data.get("server") if isinstance(data.get("server"), dict) else {}
    given_events = data.get("events") if isinstance(data.get("events"), dict) else {}
    for old, new in RENAMED_SETTINGS.items():
        if old.split(".", 1)[1] in given_server:
            line, col = loc.where("server", old.split(".", 1)[1])
            warnings.append(Problem(f"{old} is deprecated: rename it to {new} (events: "
                                    f"{{{new.split('.', 1)[1]}: ...}})", rel, line, col,
                                    "warning"))
    for s in SETTINGS:
        section, name = s.key.split(".", 1)
        given = data.get(section) if isinstance(data.get(section), dict) else {}
        value = given.get(name, s.default)
        if s.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if s.key == "home.featured":
            settings[s.key] = _featured(value, markets, loc, bad)
            continue
        if type(value) is not s.kind:
            bad(f"{s.key} must be a {s.kind.__name__}, got {value!r}", section, name, value=True)
            continue
        if s.choices and value not in s.choices:
            bad(f"{s.key} must be one of {_allowed(s.choices)}, got {value!r}", section, name,
                value=True)
            continue
        if s.key == "server.base_url" and value and not BASE_URL_RE.match(value):
            bad(f"server.base_url must be an absolute http(s) URL such as "
                f"https://help.example.com (no query or fragment), got {value!r}",
                section, name, value=True)
            continue
        if s.key == "events.db":
            problem = events_db_problem(value)
            if problem:
                bad(f"events.db: {problem}", section, name, value=True)
                continue
        if s.key == "deflection.category_map":
            value = _category_map(value, categories, bad)
        if s.key == "deflection.ticket_forms":
            from .handoff import validate as validate_ticket_forms

            value = validate_ticket_forms(value, audiences, markets, bad)
        settings[s.key] = value.rstrip("/") if s.key == "server.base_url" else value

    for old, new in RENAMED_SETTINGS.items():
        if old.split(".", 1)[1] in given_server and new.split(".", 1)[1] not in given_events:
            settings[new] = settings[old]
    raise_if(problems)
    return Config(
        root=root,
        default_market=str(default_market),
        version=version,
        default_alias=alias,
        markets=MappingProxyType(markets),
        languages=MappingProxyType(languages),
        audiences=MappingProxyType(audiences),
        topics=MappingProxyType(topics),
        ticket_categories=MappingProxyType({c: v.title for c, v in categories.items()}),
        settings=MappingProxyType(settings),
        categories=MappingProxyType(categories),
        warnings=tuple(warnings),
        strings=strings,
    )


def _strings(value: Any, allowed_languages: tuple[str, ...], bad: Any
             ) -> Mapping[str, Mapping[str, str]]:
    """Validate ``strings: {<language>: {<catalog key>: text}}`` (the project's own
    wording of interface strings); returns the catalog's shape, key -> language -> text."""
    import difflib
    import string

    from . import catalog

    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict):
        bad("'strings' must map language codes to {key: text} (strings: {de: {site.name: "
            "Hilfe}})", "strings")
        return MappingProxyType({})
    cat = catalog.load()
    keys = cat.keys()
    languages = tuple(dict.fromkeys(allowed_languages))

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}

    out: dict[str, dict[str, str]] = {}
    for lang, texts in value.items():
        if lang not in languages:
            bad(f"strings: unknown language {lang!r}; allowed: {_allowed(languages)}",
                "strings", lang)
            continue
        if not isinstance(texts, dict):
            bad(f"strings.{lang} must map interface string keys to texts", "strings", lang)
            continue
        for key, text in texts.items():
            if key not in cat.texts:
                close = difflib.get_close_matches(str(key), keys, n=1)
                bad(f"strings.{lang}: unknown interface string {key!r}"
                    + (f" (did you mean {close[0]!r}?)" if close else "")
                    + f"; allowed: {_allowed(keys)}", "strings", lang, key)
                continue
            if not isinstance(text, str) or not text.strip():
                bad(f"strings.{lang}.{key} must be a non-empty text", "strings", lang, key,
                    value=True)
                continue
            try:
                extra = fields(text) - fields(cat.texts[key]["en"])
            except ValueError as exc:
                bad(f"strings.{lang}.{key}: {exc} (write {{{{ and }}}} for literal braces)",
                    "strings", lang, key, value=True)
                continue
            if extra:
                known = sorted(fields(cat.texts[key]["en"]))
                bad(f"strings.{lang}.{key}: unknown placeholder "
                    f"{', '.join('{' + f + '}' for f in sorted(extra))}; allowed: "
                    f"{_allowed('{' + f + '}' for f in known) if known else '(none)'}",
                    "strings", lang, key, value=True)
                continue
            out.setdefault(str(key), {})[str(lang)] = text
    return MappingProxyType({k: MappingProxyType(v) for k, v in out.items()})


@dataclass(frozen=True)
class Featured:
    """One id of ``home.featured`` and where helpgen.yml names it (for errors)."""

    id: str
    line: int | None = None
    col: int | None = None


#: ``home.featured`` key for the markets a mapping does not name.
FEATURED_ALL = "all"


def _featured(value: Any, markets: Mapping[str, Market], loc: yamlpos.Located,
              bad: Any) -> Mapping[str, tuple[Featured, ...]]:
    """``home.featured`` as ``{market code or "all": (Featured, ...)}``: a plain list
    means every market. The ids are checked against the articles by the build
    (:func:`helpgen.home.featured_problems`), which knows them."""
    given = {FEATURED_ALL: value} if isinstance(value, list) else value
    path: tuple = ("home", "featured")
    if not isinstance(given, dict):
        bad("home.featured must be a list of article ids, or a mapping of market codes "
            f"(and {FEATURED_ALL}) to lists, got {value!r}", *path, value=True)
        return MappingProxyType({})
    out: dict[str, tuple[Featured, ...]] = {}
    for key, ids in given.items():
        where = path if isinstance(value, list) else (*path, key)
        if not isinstance(value, list) and key != FEATURED_ALL and key not in markets:
            bad(f"home.featured: unknown market {key!r}; allowed: "
                f"{_allowed([FEATURED_ALL, *markets])}", *where)
            continue
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            bad(f"home.featured.{key} must be a list of article ids", *where, value=True)
            continue
        items = []
        for n, article_id in enumerate(ids):
            line, col = loc.where(*where, n, value=True)
            items.append(Featured(article_id, line, col))
        out[str(key)] = tuple(items)
    return MappingProxyType(out)


def _category_map(value: dict, categories: Mapping[str, Category], bad: Any) -> dict:
    """Validate ``deflection.category_map``: every key a text, every value one of our
    category codes, no two keys alike once case and accents are folded."""
    from .deflect import fold

    out: dict[str, str] = {}
    folded: dict[str, str] = {}
    for name, code in value.items():
        if not isinstance(name, str) or not fold(name):
            bad(f"deflection.category_map: {name!r} must be a category name with letters or "
                "digits", "deflection", "category_map")
            continue
        if code not in categories:
            bad(f"deflection.category_map: {name!r} maps to {code!r}, which is not a ticket "
                f"category; allowed: {_allowed(categories) if categories else '(none declared)'}",
                "deflection", "category_map")
            continue
        key = fold(name)
        if key in folded:
            bad(f"deflection.category_map: {name!r} and {folded[key]!r} are the same name "
                "once case and accents are ignored; keep one", "deflection", "category_map")
            continue
        folded[key] = name
        out[name] = code
    return MappingProxyType(out)
