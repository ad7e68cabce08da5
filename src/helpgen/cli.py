"""``helpgen``: parse arguments, call one library function, print the outcome.

Exit codes (the same for every command): 0 ok, 1 content or quality errors,
2 usage errors, 3 internal failure, 4 environment (disk full, read-only folder, no
permission), 141 the output pipe was closed by its reader. Errors print as
``path:line:col: error: msg`` lines on stderr; a traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Sequence

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, HelpgenError

EXIT_CODES_HELP = ("exit codes: 0 ok, 1 content or quality errors, 2 usage errors, 3 internal "
                   "failure, 4 environment (disk full, read-only, no permission), 141 output "
                   "pipe closed")
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`'s yes


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # "helpgen: error: ..." then exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _project(args: argparse.Namespace):
    from . import config

    cfg = config.load(args.project) if args.project else config.load()
    if not getattr(args, "quiet", False):
        for warning in cfg.warnings:  # deprecations: the project still works
            print(warning, file=sys.stderr)
    return cfg


def _site_dir(args: argparse.Namespace, cfg) -> Path:
    """``--site-dir``, else ``<project>/site``."""
    return Path(args.site_dir) if getattr(args, "site_dir", None) else cfg.root / "site"


def _index_dir(args: argparse.Namespace, cfg) -> Path:
    """``--index-dir``, else the ``search.index_dir`` setting under the project."""
    if getattr(args, "index_dir", None):
        return Path(args.index_dir)
    return cfg.root / cfg.setting("search.index_dir")


def _fault():
    """The test fault of ``HELPGEN_FAULT`` (see helpgen.faults), read here at the edge."""
    from . import faults

    return faults.parse(os.environ.get(faults.ENV_VAR))


def _out(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, flush=True)


# --------------------------------------------------------------------------- build

def _cmd_build(args: argparse.Namespace) -> int:
    from . import site

    cfg = _project(args)
    if args.drafts:
        cfg = cfg.with_setting("build.drafts", True)
    site_dir = _site_dir(args, cfg)
    aliases = args.alias if args.alias else [cfg.default_alias]
    if args.no_alias:
        aliases = []
    index_dir = _index_dir(args, cfg)
    every = args.all or args.market == ["all"]
    codes = list(cfg.markets) if every else (args.market or [cfg.default_market])
    fault = _fault()
    display = _BuildDisplay(args, cfg, codes, args.version or cfg.version)
    with display:
        if len(codes) > 1:
            results = site.build_all(cfg, args.version, aliases, site_dir, jobs=args.jobs,
                                     markets=codes, index_dir=index_dir,
                                     progress=display.progress, fault=fault)
        else:
            results = [site.build(cfg, codes[0], args.version, aliases, site_dir,
                                  index_dir=index_dir, fault=fault)]
            display.progress("built", results[0].market, results[0].seconds)
    for r in results:
        alias_txt = f" (aliases: {', '.join(r.aliases)})" if r.aliases else ""
        _out(args, f"published {r.market} {r.version}{alias_txt} -> {_rel(r.path)}")
    display.summary(results, index_dir)
    return EXIT_OK


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _register_build(sub) -> None:
    p = sub.add_parser("build", help="build and publish a market's site",
                       description="Validate the articles, render them for a market and publish "
                       "site/<market>/<version>/. Other published versions are kept. Without "
                       "arguments: the default market at the configured version, alias 'latest'.",
                       epilog=EXIT_CODES_HELP)
    p.add_argument("--market", action="append", metavar="CODE",
                   help="market code (repeat for several; default: default_market)")
    p.add_argument("--all", action="store_true", help="build every market (published only if all "
                   "succeed)")
    p.add_argument("--version", help="content version to publish (default: helpgen.yml version)")
    p.add_argument("--alias", action="append", metavar="NAME",
                   help="alias to point at this version (repeatable; default: latest)")
    p.add_argument("--no-alias", action="store_true", help="publish without any alias")
    p.add_argument("--drafts", action="store_true", help="also publish articles marked "
                   "draft: true (for a review site; default: the build.drafts setting, off)")
    p.add_argument("--site-dir", metavar="DIR", help="output folder (default: <project>/site)")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes for several markets "
                   "(default: build.jobs, 0 = one per core)")
    p.add_argument("--progress", choices=("auto", "bar", "plain"),
                   help="progress display: a bar on a terminal, plain lines in CI (default: "
                   "build.progress, auto)")
    p.add_argument("--index-dir", metavar="DIR", help="where to write the search index "
                   "(default: search.index_dir setting, <project>/search_index)")
    p.set_defaults(func=_cmd_build)


def _cmd_remove(args: argparse.Namespace) -> int:
    from . import site

    cfg = _project(args)
    site_dir = _site_dir(args, cfg)
    what = site.remove(cfg, site_dir, args.market or cfg.default_market, args.name, args.force,
                       index_dir=_index_dir(args, cfg), fault=_fault())
    _out(args, f"removed {what}")
    return EXIT_OK


def _register_remove(sub) -> None:
    p = sub.add_parser("remove", help="remove a published version or alias",
                       description="Delete site/<market>/<name>/ and its versions.json entry. "
                       "Removing a version also removes its aliases and its search index. "
                       "Without --force it refuses the version the default alias points to "
                       "and a market's only version.",
                       epilog=EXIT_CODES_HELP)
    p.add_argument("name", help="version (e.g. 2026.10) or alias (e.g. beta)")
    p.add_argument("--market", metavar="CODE", help="market code (default: default_market)")
    p.add_argument("--site-dir", metavar="DIR", help="site folder (default: <project>/site)")
    p.add_argument("--index-dir", metavar="DIR",
                   help="search index folder (default: the search.index_dir setting)")
    p.add_argument("--force", action="store_true",
                   help="also remove the version that carries the default alias, or the "
                   "market's only version")
    p.set_defaults(func=_cmd_remove)


def _cmd_merge(args: argparse.Namespace) -> int:
    from . import merge

    cfg = _project(args)
    into = Path(args.into) if args.into else cfg.root / "site"
    results = merge.merge(cfg, into, [Path(s) for s in args.sources],
                          index_dir=_index_dir(args, cfg), index=args.index, force=args.force,
                          fault=_fault())
    for r in results:
        alias_txt = f" (aliases: {', '.join(r.aliases)})" if r.aliases else ""
        if r.status == "unchanged":
            _out(args, f"unchanged {r.market} {r.version}: build {r.build_id} is deployed")
        else:
            _out(args, f"{r.status} {r.market} {r.version}{alias_txt} build {r.build_id} -> "
                       f"{_rel(r.path)}")
    return EXIT_OK


def _register_merge(sub) -> None:
    p = sub.add_parser("merge", help="publish builds made on other machines into a site",
                       description="Merge the versions published in each SOURCE (a folder "
                       "holding site/ and search_index/, as helpgen build --site-dir X/site "
                       "--index-dir X/search_index writes them; e.g. one CI artifact per "
                       "market) into the deployed site folder and its search index, through "
                       "the same all-or-nothing publish step as a build: new versions are "
                       "added, versions from another build replaced, the same build left "
                       "alone; aliases follow each source's versions.json; the root page and "
                       "markets.json are regenerated. Refuses (exit 1, nothing written) "
                       "unknown markets, a build.json that does not match its folder, site "
                       "and index from different builds, two sources with one version from "
                       "different builds, and a build older than the deployed one.",
                       epilog=EXIT_CODES_HELP)
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="folder with site/ and search_index/ (or, with --no-index, a site "
                   "folder)")
    p.add_argument("--into", metavar="DIR", help="the deployed site folder to merge into "
                   "(default: <project>/site; created if missing)")
    p.add_argument("--index-dir", metavar="DIR", help="the deployed search index folder "
                   "(default: search.index_dir setting, <project>/search_index)")
    p.add_argument("--no-index", dest="index", action="store_false",
                   help="merge the sites only, for a static host without the search API "
                   "(the search index folder is left alone)")
    p.add_argument("--force", action="store_true",
                   help="also replace a deployed version with an older build")
    p.set_defaults(func=_cmd_merge)


# --------------------------------------------------------------------------- deflection

def _read_ticket(args: argparse.Namespace) -> dict:
    """The ticket from the options, or a JSON object on stdin when ``-`` is given."""
    import json

    ticket: dict = {}
    if args.stdin == "-":
        try:
            data = json.loads(sys.stdin.read() or "{}")
        except json.JSONDecodeError as exc:
            raise HelpgenError(f"stdin is not JSON ({exc.msg} at line {exc.lineno}); send an "
                               'object such as {"subject": "...", "description": "..."}',
                               "<stdin>", exc.lineno, exc.colno, exit_code=EXIT_USAGE) from None
        if not isinstance(data, dict):
            raise HelpgenError("stdin must hold one JSON object (a ticket)", "<stdin>",
                               exit_code=EXIT_USAGE)
        ticket.update(data)
    elif args.stdin is not None:
        raise HelpgenError(f"unexpected argument {args.stdin!r}; use '-' to read a JSON ticket "
                           "from stdin", exit_code=EXIT_USAGE)
    for key in ("subject", "category", "title", "description", "audience"):
        value = getattr(args, key)
        if value is not None:
            ticket[key] = value
    return ticket


def _cmd_suggest(args: argparse.Namespace) -> int:
    import json

    from . import deflect

    cfg = _project(args)
    ticket = _read_ticket(args)
    market = args.market or ticket.pop("market", None) or cfg.default_market
    version = args.version or ticket.pop("version", None) or cfg.default_alias
    limit = args.limit if args.limit is not None else ticket.pop("limit", 3)
    ticket.pop("market", None), ticket.pop("version", None), ticket.pop("limit", None)
    result = deflect.suggest(ticket, market, version, limit=limit,
                             index_dir=_index_dir(args, cfg), config=cfg)
    if result.ticket.category_ignored:
        _out_err(args, f"note: category {result.ticket.category_ignored!r} is none of this "
                       "project's ticket categories, so it was ignored (map it with "
                       "deflection.category_map)")
    if args.json:
        print(json.dumps([s.as_dict() for s in result.suggestions], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not result.suggestions:
        _out(args, "no suggestions: no article answers this ticket confidently enough "
                   f"(deflection.min_confidence = {result.min_confidence:g})")
        return EXIT_OK
    for rank, s in enumerate(result.suggestions, 1):
        _out(args, f"{rank}. {s.title}  [{s.confidence:.2f}]\n   {s.url}\n"
                   f"   {s.reason}")
    return EXIT_OK


def _register_suggest(sub) -> None:
    p = sub.add_parser("suggest", help="suggest articles that answer a ticket draft",
                       description="Rank the articles that answer a support ticket before it is "
                       "filed (ticket deflection). Prints nothing useful for a ticket the help "
                       "center cannot answer: below deflection.min_confidence nothing is "
                       "suggested. Needs the market's search index (helpgen build).",
                       epilog=EXIT_CODES_HELP)
    p.add_argument("stdin", nargs="?", metavar="-", help="read the ticket as a JSON object "
                   "from stdin (keys: subject, category, title, description, audience, market, "
                   "version, limit); options given as well win")
    p.add_argument("--market", metavar="CODE", help="market code (default: default_market)")
    p.add_argument("--version", metavar="NAME", help="version or alias (default: default_alias)")
    p.add_argument("--subject", help="the ticket's subject line")
    p.add_argument("--category", metavar="NAME", help="ticket category: one of helpgen.yml "
                   "ticket_categories, or any name deflection.category_map maps (other names "
                   "are ignored, with a note)")
    p.add_argument("--title", help="the ticket's title")
    p.add_argument("--description", help="the ticket's description (long free text)")
    p.add_argument("--audience", help="sellers, partners or buyers: only suggest their articles")
    p.add_argument("--limit", type=int, metavar="N", help="at most N suggestions (default 3)")
    p.add_argument("--index-dir", metavar="DIR", help="search index folder "
                   "(default: <project>/search_index)")
    p.add_argument("--json", action="store_true", help="print a JSON list of result records "
                   "([] when nothing is suggested)")
    p.set_defaults(func=_cmd_suggest)


def _cmd_report(args: argparse.Namespace) -> int:
    import json

    from . import events

    cfg = _project(args)
    if args.market:
        cfg.market(args.market)
    since = events.parse_since(args.since) if args.since else None
    store = _events_store(cfg, args.events_db)
    try:
        rep = events.report(store, args.market, since, limit=args.limit,
                            known_categories=cfg.ticket_categories)
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(rep.as_dict(), ensure_ascii=False, indent=2))
    elif args.format == "csv":
        print(events.report_csv(rep), end="")
    else:
        print(events.report_table(rep, store.location), end="")
    return EXIT_OK


def _events_store(cfg, given: str | None):
    """The event store of ``--events-db`` (relative to the current folder), else of the
    events.db setting (relative to the project)."""
    from . import events

    target = (events.store_target(given) if given
              else events.store_target(cfg.setting("events.db"), cfg.root))
    return events.open_store(target, events.StoreOptions.from_settings(cfg.settings))


def _register_report(sub) -> None:
    p = sub.add_parser("report", help="what deflected tickets and where content is missing",
                       description="Summarize the events file (events.db): deflection rate "
                       "(solved / drafts that saw suggestions), the articles that deflect most, "
                       "articles marked irrelevant most, categories whose drafts were filed "
                       "anyway, top searches and searches with no answer.",
                       epilog=EXIT_CODES_HELP)
    p.add_argument("--market", metavar="CODE", help="only this market (default: all)")
    p.add_argument("--since", metavar="DATE", help="only events from this date (YYYY-MM-DD, UTC)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table",
                   help="output format (default: table)")
    p.add_argument("--limit", type=int, default=10, metavar="N",
                   help="rows per ranking (default 10)")
    p.add_argument("--events-db", metavar="FILE|URL", help="events store: a SQLite file or a "
                   "postgresql:// URL (default: events.db setting, relative to the project)")
    p.set_defaults(func=_cmd_report)


def _cmd_events_copy(args: argparse.Namespace) -> int:
    from . import events

    cfg = _project(args)
    source = _events_store(cfg, args.events_db)
    if source.engine != "sqlite":
        raise HelpgenError(f"the source {source.location} is not a SQLite file; copy moves a "
                           "SQLite store into PostgreSQL (give it with --events-db FILE)",
                           exit_code=2)
    if not source.exists():
        raise HelpgenError(f"no events file at {source.location}: nothing to copy",
                           source.location, exit_code=2)
    problem = events.url_problem(args.to)
    if not args.to.startswith(events.POSTGRES_SCHEMES) or problem:
        raise HelpgenError(f"--to must be a postgresql:// URL without a password (libpq reads "
                           f"it from PGPASSWORD or ~/.pgpass); got {events.redact(args.to)!r}",
                           exit_code=2)
    target = events.open_store(args.to, events.StoreOptions.from_settings(cfg.settings))
    try:
        copied = events.copy_events(source, target)
    finally:
        target.close()
    _out(args, f"copied {copied} event(s) from {source.location} to {target.location}; "
               "set events.db to that URL in helpgen.yml to use it")
    return EXIT_OK


def _register_events(sub) -> None:
    p = sub.add_parser("events", help="manage the events store",
                       description="Manage the events store (events.db).",
                       epilog=EXIT_CODES_HELP)
    actions = p.add_subparsers(dest="events_command", metavar="ACTION", required=True)
    c = actions.add_parser("copy", help="copy a SQLite events file into PostgreSQL",
                           description="Copy every event of the SQLite events file into an "
                           "empty PostgreSQL database (its tables are created). A target that "
                           "already holds events is refused, so a copy never counts an event "
                           "twice. The password comes from PGPASSWORD or ~/.pgpass.",
                           epilog=EXIT_CODES_HELP)
    c.add_argument("--to", required=True, metavar="URL",
                   help="target: postgresql://user@host:5432/db (no password)")
    c.add_argument("--events-db", metavar="FILE", help="source SQLite file (default: "
                   "events.db setting, relative to the project)")
    c.set_defaults(func=_cmd_events_copy)


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    from . import evaluate

    cfg = _project(args)
    path = Path(args.file) if args.file else cfg.root / "evals" / "tickets.yml"
    _require_eval_indexes(cfg, path, _index_dir(args, cfg), search=not args.no_search)
    outcome = evaluate.run(cfg, path, _index_dir(args, cfg), search=not args.no_search,
                           sweep=args.sweep, final=args.final, fit=args.fit)
    if args.json:
        print(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(evaluate.format_text(outcome, verbose=args.verbose), end="")
    if not outcome.passed:
        for line in outcome.failures:
            print(f"error: {line}", file=sys.stderr)
        return 1
    return EXIT_OK


def _require_eval_indexes(cfg, path: Path, index_dir: Path, search: bool = True) -> None:
    """Fail once, naming every market the evaluation sets ask about that has no index.

    The ticket set (and the search set beside it, unless ``search`` is false) name the
    markets they need; each must have been built into ``index_dir`` first.
    """
    from . import evaluate, search_eval
    from .analysis import market_dir

    needed = [t.market for t in evaluate.load(cfg, path)]
    search_file = path.parent / "search.yml"
    if search and search_file.is_file():
        needed += [q.market for q in search_eval.load_questions(search_file, cfg)]
    missing = [m for m in dict.fromkeys(needed) if not market_dir(index_dir, m).is_dir()]
    if missing:
        markets = " ".join(f"--market {m}" for m in missing)
        raise HelpgenError(f"the evaluation sets need the search index of market(s) "
                           f"{', '.join(missing)}, not built in {index_dir}; build them first "
                           f"with: helpgen build {markets}", exit_code=EXIT_USAGE)


def _register_eval(sub) -> None:
    p = sub.add_parser("eval", help="measure suggestion and search quality (a CI gate)",
                       description="Run the ticket evaluation set (evals/tickets.yml) and, when "
                       "present, the search evaluation set against the built indexes. Prints "
                       "hit@1, hit@3 and MRR for answerable drafts and the share of unanswerable "
                       "drafts given no suggestion, per split (tune/holdout), next to two "
                       "baselines: search(subject + title) and search_text(subject + title + "
                       "description). Exits 1 under deflection.eval_min_hit3 or "
                       "deflection.eval_min_unanswerable on tune or holdout.",
                       epilog=EXIT_CODES_HELP)
    p.add_argument("--file", metavar="YAML", help="ticket eval set (default: evals/tickets.yml)")
    p.add_argument("--index-dir", metavar="DIR", help="search index folder "
                   "(default: <project>/search_index)")
    p.add_argument("--sweep", action="store_true", help="also print how hit@3 and the "
                   "unanswerable share change with min_confidence on the tune split, and the "
                   "threshold it recommends")
    p.add_argument("--fit", action="store_true", help="refit the deflection model on the tune "
                   "split (5-fold cross-validation picks the threshold) and write it to "
                   "deflection.model (evals/deflection-model.json) before scoring")
    p.add_argument("--final", action="store_true", help="also score the final splits (final, "
                   "final2, final3, final4, final5 and final6, the untouched one; never tune on "
                   "them) and the reserve split, and print the commit they ran on")
    p.add_argument("--no-search", action="store_true", help="skip the search evaluation set")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="list every draft's outcome")
    p.set_defaults(func=_cmd_eval)


# --------------------------------------------------------------------------- search

def _cmd_search(args: argparse.Namespace) -> int:
    import json

    from . import search

    cfg = None
    if args.index_dir is None or args.market is None or args.project:
        cfg = _project(args)
    market = args.market or cfg.default_market
    if cfg is not None:
        cfg.market(market)  # unknown market: usage error listing the markets
    index_dir = _index_dir(args, cfg)
    result = search.search(args.query, market, args.version, limit=args.limit,
                           audience=args.audience, topic=args.topic, index_dir=index_dir)
    if args.json:
        print(json.dumps([h.as_dict() for h in result.hits], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not result.hits:
        msg = f"no results for {args.query!r} on {market} {result.version}"
        if result.corrections:  # the corrected words only, never the whole query
            msg += f"; did you mean: {result.did_you_mean()}"
        print(msg)
        return EXIT_OK
    if result.corrections:
        print(f"showing results for: {result.did_you_mean()}")
    for rank, hit in enumerate(result.hits, 1):
        print(f"{rank}. {hit.title}\n   {hit.url}\n   {search.plain_snippet(hit.snippet)}")
    return EXIT_OK


def _register_search(sub) -> None:
    p = sub.add_parser("search", help="search a market's help articles",
                       description="Search the index `helpgen build` wrote for a market and "
                       "version. Typos are corrected, synonyms from docs/_meta/synonyms.txt "
                       "applied; any text is safe to search for.", epilog=EXIT_CODES_HELP)
    p.add_argument("query", help="what to search for, in the reader's words")
    p.add_argument("--market", metavar="CODE", help="market code (default: default_market)")
    p.add_argument("--version", default="latest", help="version or alias (default: latest)")
    p.add_argument("--limit", type=int, default=10, metavar="N",
                   help="most results to show (default 10)")
    p.add_argument("--audience", metavar="A", help="only articles for this audience")
    p.add_argument("--topic", metavar="T", help="only articles in this topic")
    p.add_argument("--index-dir", metavar="DIR", help="index folder (default: search.index_dir "
                   "setting, <project>/search_index)")
    p.add_argument("--json", action="store_true", help="print the result records as a JSON list")
    p.set_defaults(func=_cmd_search)


def _cmd_search_eval(args: argparse.Namespace) -> int:
    import json

    from . import search_eval

    cfg = _project(args)
    path = Path(args.file) if args.file else cfg.root / "evals" / "search.yml"
    index_dir = _index_dir(args, cfg)
    report = search_eval.run(cfg, path, index_dir, version=args.version)
    lunr = None
    if args.lunr:
        site_dir = _site_dir(args, cfg)
        lunr = search_eval.run_lunr(cfg, path, site_dir, version=args.version)
    failures = search_eval.check(cfg, report, lunr)
    if args.json:
        out = {"helpgen": report.as_dict(), "failures": failures}
        if lunr is not None:
            out["lunr"] = lunr.as_dict()
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(report.format_text(), end="")
        if lunr is not None:
            print(lunr.format_text(), end="")
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    return 1 if failures else EXIT_OK


def _register_search_eval(sub) -> None:
    p = sub.add_parser("search-eval", help="measure search quality on evals/search.yml",
                       description="Ask the built search indexes every question of the search "
                       "evaluation set and print hit@1, hit@3 and MRR per split (tune/holdout) "
                       "with every miss. Exits 1 under search.eval_min_hit3 or "
                       "search.eval_min_mrr (and, with --lunr, when helpgen does not lead "
                       "Material's search by search.eval_min_lead_over_lunr).",
                       epilog=EXIT_CODES_HELP)
    p.add_argument("--file", metavar="YAML", help="evaluation set (default: evals/search.yml)")
    p.add_argument("--version", default="latest", help="version or alias (default: latest)")
    p.add_argument("--index-dir", metavar="DIR", help="index folder (default: search.index_dir "
                   "setting, <project>/search_index)")
    p.add_argument("--lunr", action="store_true", help="also run Material's own search (lunr) "
                   "over the built sites as the baseline (sites built with "
                   "search.static_bundle: false, where Material's index holds the text)")
    p.add_argument("--site-dir", metavar="DIR", help="site folder for --lunr "
                   "(default: <project>/site)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_cmd_search_eval)


# --------------------------------------------------------------------------- server

SERVE_ENV = {"host": "HELPGEN_HOST", "port": "HELPGEN_PORT", "workers": "HELPGEN_WORKERS",
             "processes": "HELPGEN_PROCESSES", "site_dir": "HELPGEN_SITE_DIR", "index_dir": "HELPGEN_INDEX_DIR",
             "events_db": "HELPGEN_EVENTS_DB"}


def _serve_option(args: argparse.Namespace, name: str, default: object) -> object:
    """A flag, else its HELPGEN_* environment variable, else ``default``."""
    value = getattr(args, name)
    if value is None:
        value = os.environ.get(SERVE_ENV[name]) or None
    return default if value is None else value


def _cmd_serve(args: argparse.Namespace) -> int:
    from . import server, site

    cfg = _project(args)
    market = cfg.market(args.market).code
    paths = server.app_paths(cfg, _serve_option(args, "site_dir", None),
                             _serve_option(args, "index_dir", None),
                             _serve_option(args, "events_db", None))
    try:
        port = int(_serve_option(args, "port", cfg.setting("server.port")))
        workers = int(_serve_option(args, "workers", cfg.setting("server.threads")))
        processes = int(_serve_option(args, "processes", cfg.setting("server.processes")))
    except ValueError:
        raise HelpgenError(f"{SERVE_ENV['port']}/{SERVE_ENV['workers']}/"
                           f"{SERVE_ENV['processes']} must be whole numbers",
                           exit_code=2) from None
    if not 0 <= port <= 65535 or workers < 1 or processes < 1:
        raise HelpgenError("--port must be 0-65535, --workers and --processes at least 1",
                           exit_code=2)
    host = str(_serve_option(args, "host", cfg.setting("server.host")))
    app = server.make_app(cfg, **paths)
    if server.needs_build(app, market):
        if not args.build:
            raise HelpgenError(f"no built site or search index for market {market} in "
                               f"{_rel(app.site_dir)}; run helpgen build --market {market} "
                               "or drop --no-build", exit_code=2)
        _out(args, f"building {market} (no built site or index yet)…")
        r = site.build(cfg, market, site_dir=app.site_dir, index_dir=app.index_dir)
        _out(args, f"built {r.market} {r.version}: {r.pages} pages in {r.seconds:.1f}s")

    def announce(url: str) -> None:
        _out(args, f"serving {_rel(app.site_dir)} at {url}{market}/  (Ctrl-C to stop)")
        if args.open:
            import webbrowser

            webbrowser.open(f"{url}{market}/")

    access_log = args.access_log or cfg.setting("server.access_log")

    def make_app():
        one = app if processes == 1 else server.make_app(cfg, **paths)
        return server.AccessLog(one, lambda line: print(line, flush=True)) \
            if access_log else one

    limits = server.ConnectionLimits.from_config(cfg)
    max_body = cfg.setting("server.max_body_bytes")
    if processes == 1:
        served = make_app()
        server.serve(served, host, port, workers, max_body, announce, limits)
        served.close()  # writes the events still buffered for PostgreSQL
    else:
        from .server.processes import serve_processes

        serve_processes(make_app, processes, host, port, workers, max_body, announce, limits,
                        report=lambda line: _out_err(args, line))
    _out(args, "stopped")
    return EXIT_OK


def _register_serve(sub) -> None:
    p = sub.add_parser("serve", help="serve the built site with search and suggestions",
                       description="Serve every built market and version from the site folder "
                       "plus the API (/api/search, /api/suggest, /api/events, /healthz) with "
                       "waitress. Builds the market first when it has no site or index yet. "
                       "Options fall back to the environment variables "
                       + ", ".join(SERVE_ENV.values()) + ", then to the server.* settings.",
                       epilog=EXIT_CODES_HELP)
    p.add_argument("--market", metavar="CODE",
                   help="market to build if missing and to open (default: default_market)")
    p.add_argument("--host", help="interface to listen on (default: server.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: server.port, 8000; 0 = any free)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker threads per process (default: server.threads, 4)")
    p.add_argument("--processes", type=int, metavar="N",
                   help="server processes sharing the port, each with --workers threads; "
                   "a crashed one is restarted (default: server.processes, 1)")
    p.add_argument("--site-dir", metavar="DIR", help="site folder (default: <project>/site)")
    p.add_argument("--index-dir", metavar="DIR", help="search index folder (default: "
                   "search.index_dir setting, <project>/search_index)")
    p.add_argument("--events-db", metavar="FILE|URL", help="events store: a SQLite file or a "
                   "postgresql:// URL (default: events.db setting under the project)")
    p.add_argument("--build", action=argparse.BooleanOptionalAction, default=True,
                   help="build the market first when its site or index is missing "
                   "(default: --build)")
    p.add_argument("--open", action="store_true", help="open the site in a web browser")
    p.add_argument("--access-log", action="store_true",
                   help="print one line per request (default: server.access_log setting)")
    p.set_defaults(func=_cmd_serve)


# --------------------------------------------------------------------------- editors and CI

class _BuildDisplay:
    """Build progress: a rich bar on a terminal, plain log lines in CI, then a summary."""

    def __init__(self, args: argparse.Namespace, cfg, markets: list[str], version: str) -> None:
        mode = getattr(args, "progress", None) or cfg.setting("build.progress")
        if mode == "auto":
            in_ci = os.environ.get("CI", "").lower() in ("true", "1", "yes")
            mode = "bar" if sys.stderr.isatty() and not in_ci else "plain"
        self.mode = "quiet" if getattr(args, "quiet", False) else mode
        self.markets, self.version = markets, version
        self._progress = None
        self._task = None
        self._rows: dict = {}

    def __enter__(self) -> "_BuildDisplay":
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
            from rich.progress import TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(
                f"{len(self.markets)} market(s) {self.version}", total=len(self.markets))
            self._rows = {code: self._progress.add_task(f"  {code}  building…", total=1)
                          for code in self.markets} if len(self.markets) > 1 else {}
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def progress(self, event: str, market: str, seconds: float) -> None:
        if self.mode == "plain" and event in ("built", "failed"):
            took = f" in {seconds:.1f}s" if event == "built" else ""
            print(f"helpgen: {event} {market} {self.version}{took}", flush=True)
        elif self._progress is not None and event in ("built", "failed"):
            self._progress.update(self._task, advance=1)
            if market in self._rows:
                took = f" in {seconds:.1f}s" if event == "built" else ""
                self._progress.update(self._rows[market], completed=1,
                                      description=f"  {market}  {event}{took}")

    def summary(self, results, index_dir: Path | None) -> None:
        if self.mode == "quiet":
            return
        headers = ("market", "version", "articles", "pages", "index docs", "size", "time")
        rows = [_summary_row(r, index_dir) for r in results]
        if self.mode == "bar":
            from rich.console import Console
            from rich.table import Table

            table = Table(*headers, title="helpgen build")
            for row in rows:
                table.add_row(*row)
            Console().print(table)
            return
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        for row in (headers, *rows):
            print("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(row, widths))).rstrip(), flush=True)


def _summary_row(r, index_dir: Path | None) -> tuple[str, ...]:
    import json

    files = [p for p in r.path.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    articles = sum(1 for p in (r.path / "a").iterdir()) if (r.path / "a").is_dir() else 0
    docs = "-"
    if index_dir is not None:
        from .analysis import META_FILE, market_dir

        meta = market_dir(index_dir, r.market) / r.version / META_FILE
        try:
            docs = str(json.loads(meta.read_text(encoding="utf-8"))["documents"])
        except (OSError, ValueError, KeyError):
            docs = "-"
    return (r.market, r.version, str(articles), str(r.pages), docs, _size(size),
            f"{r.seconds:.1f}s")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _cmd_check(args: argparse.Namespace) -> int:
    from . import check
    from .errors import EXIT_CONTENT

    cfg = _project(args)
    report = check.check(cfg, args.paths, args.market)
    text = check.format_report(report, args.format)
    if text:
        print(text, flush=True)
    if args.format != "json":
        _out_err(args, check.summary_line(report))
    failed = report.errors or (args.strict and report.warnings)
    return EXIT_CONTENT if failed else EXIT_OK


def _out_err(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr, flush=True)


def _register_check(sub) -> None:
    p = sub.add_parser("check", help="validate every article for every market, without a build",
                       description="Check front matter, ids, markets, audiences and topics, "
                       "Jinja for every market, internal links and #anchors per market, local "
                       "and remote images/scripts, and review dates. One line per problem: "
                       "file:line:col: error|warning: message. Exit 1 on errors, 0 on warnings "
                       "only.", epilog=EXIT_CODES_HELP)
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="only report problems in these files or folders (the whole corpus is "
                   "still checked, since links cross files)")
    p.add_argument("--market", action="append", metavar="CODE",
                   help="check only this market (repeatable; default: every market)")
    p.add_argument("--format", choices=("text", "github", "json"), default="text",
                   help="text lines (default), GitHub Actions annotations (github) or a JSON "
                   "document (json)")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.set_defaults(func=_cmd_check)


def _cmd_new(args: argparse.Namespace) -> int:
    from . import scaffold

    cfg = _project(args)
    made = scaffold.new_article(cfg, args.title, args.topic, args.audience, args.summary,
                                args.id, args.market or (), args.ticket_category or ())
    print(_rel(made.path), flush=True)
    return EXIT_OK


def _register_new(sub) -> None:
    p = sub.add_parser("new", help="create a new article with valid front matter",
                       description="Write docs/<audience>/<topic>/<id>.md with front matter that "
                       "passes helpgen check: an id derived from the title (exit 2 asking for "
                       "--id when the title gives none or another article has it), today's "
                       "last_reviewed date and draft: true, which keeps it off the published "
                       "site until you remove it. Prints the new file's path; never "
                       "overwrites a file.", epilog=EXIT_CODES_HELP)
    p.add_argument("title", help="the article's title (the question or task it answers)")
    p.add_argument("--topic", required=True, metavar="TOPIC",
                   help="topic code from helpgen.yml (its audience is implied)")
    p.add_argument("--audience", metavar="AUDIENCE",
                   help="audience code from helpgen.yml (checked against the topic)")
    p.add_argument("--summary", metavar="TEXT",
                   help="one-sentence summary (default: a placeholder helpgen check warns about)")
    p.add_argument("--id", metavar="ID", help="use this id instead of one derived from the title")
    p.add_argument("--market", action="append", metavar="CODE",
                   help="limit the article to this market (repeatable; default: all markets)")
    p.add_argument("--ticket-category", action="append", metavar="SLUG",
                   help="ticket category the article answers (repeatable)")
    p.set_defaults(func=_cmd_new)


def _cmd_preview(args: argparse.Namespace) -> int:
    from . import preview

    cfg = _project(args)
    host, _, port = args.dev_addr.rpartition(":")
    if not host or not port.isdigit():
        raise HelpgenError(f"--dev-addr must be HOST:PORT, got {args.dev_addr!r}", exit_code=2)
    preview.serve(cfg.root, args.market, args.version, host, int(port), args.open,
                  report=lambda line: _out_err(args, line))
    return EXIT_OK


def _register_preview(sub) -> None:
    p = sub.add_parser("preview", help="serve a live-reloading preview of one market",
                       description="Build one market into a temporary folder and serve it; "
                       "every save under docs/ (or to helpgen.yml, mkdocs.yml, hooks/) rebuilds "
                       "and reloads the browser. Content errors are shown in the browser and "
                       "the terminal; the server keeps running.", epilog=EXIT_CODES_HELP)
    p.add_argument("--market", metavar="CODE", help="market to preview (default: default_market)")
    p.add_argument("--version", help="version name shown in the preview (default: helpgen.yml "
                   "version)")
    p.add_argument("--dev-addr", default="127.0.0.1:8000", metavar="HOST:PORT",
                   help="address to serve on (default: 127.0.0.1:8000)")
    p.add_argument("--open", action="store_true", help="open the preview in a browser")
    p.set_defaults(func=_cmd_preview)


def _cmd_reference(args: argparse.Namespace) -> int:
    from . import config, reference

    root = Path(args.project).resolve() if args.project else config.find_root()
    output = Path(args.output) if args.output else None
    path, changed = reference.write(root, output, check=args.check)
    if args.check:
        _out(args, f"{_rel(path)} is up to date")
    else:
        _out(args, f"{'wrote' if changed else 'unchanged:'} {_rel(path)}")
    return EXIT_OK


def _register_reference(sub) -> None:
    p = sub.add_parser("reference", help="generate manual/reference.md (front matter, settings, "
                       "CLI)", description="Generate the reference of front-matter fields, "
                       "helpgen.yml settings and every command's --help from the code that "
                       "validates them.", epilog=EXIT_CODES_HELP)
    p.add_argument("--check", action="store_true",
                   help="do not write; exit 1 when the file differs from the generated text")
    p.add_argument("--output", metavar="FILE",
                   help="where to write (default: <project>/manual/reference.md)")
    p.set_defaults(func=_cmd_reference)


# --------------------------------------------------------------------------- registry

REGISTRARS: list[Callable] = [_register_build, _register_remove, _register_merge]
REGISTRARS += [_register_suggest, _register_report, _register_events, _register_eval]
REGISTRARS += [_register_search, _register_search_eval]
REGISTRARS += [_register_check, _register_new, _register_preview, _register_reference]
REGISTRARS += [_register_serve]


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="helpgen",
                     description="Build versioned, market-specific help sites with offline search "
                     "and ticket deflection.", epilog=EXIT_CODES_HELP)
    parser.add_argument("--version", action="version", version=f"helpgen {__version__}")
    parser.add_argument("--project", metavar="DIR",
                        help="project folder holding helpgen.yml (default: search upwards from "
                        "the current folder)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for register in REGISTRARS:
        register(sub)
    for command in sub.choices.values():  # global options work after the command too
        group = command.add_argument_group("global options")
        group.add_argument("--project", metavar="DIR", default=argparse.SUPPRESS,
                           help="project folder holding helpgen.yml")
        group.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help="show tracebacks for errors")
        group.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                           help="print errors only")
    return parser


def _closed_pipe() -> int:
    """The reader of stdout went away (``helpgen search ... | head -2``): stop quietly
    with 141 (128 + SIGPIPE), as Unix tools killed by SIGPIPE do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing left to flush at exit
    except (OSError, ValueError):
        pass
    return EXIT_CLOSED_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except HelpgenError as exc:
        if args.debug:
            traceback.print_exc()
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # an internal failure: say so, keep the traceback for --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"error: internal failure: {type(exc).__name__}: {exc} "
                  "(run with --debug for the traceback and report it)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
