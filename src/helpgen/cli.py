"""``helpgen``: parse arguments, call one library function, print the outcome.

Exit codes (the same for every command): 0 ok, 1 content or quality errors,
2 usage errors, 3 internal failure. Errors print as ``path:line:col: error: msg``
lines on stderr; a traceback only with ``--debug``.
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

EXIT_CODES_HELP = "exit codes: 0 ok, 1 content or quality errors, 2 usage errors, 3 internal failure"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # "helpgen: error: ..." then exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _project(args: argparse.Namespace):
    from . import config

    return config.load(args.project) if args.project else config.load()


def _out(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, flush=True)


# --------------------------------------------------------------------------- build (issue 3)

def _cmd_build(args: argparse.Namespace) -> int:
    from . import site

    cfg = _project(args)
    site_dir = Path(args.site_dir) if args.site_dir else cfg.root / "site"
    aliases = args.alias if args.alias else [cfg.default_alias]
    if args.no_alias:
        aliases = []
    if args.all or args.market == ["all"]:
        results = site.build_all(cfg, args.version, aliases, site_dir, jobs=args.jobs)
    elif args.market and len(args.market) > 1:
        results = site.build_all(cfg, args.version, aliases, site_dir, jobs=args.jobs,
                                 markets=args.market)
    else:
        results = [site.build(cfg, args.market[0] if args.market else None, args.version,
                              aliases, site_dir)]
    for r in results:
        alias_txt = f" (aliases: {', '.join(r.aliases)})" if r.aliases else ""
        _out(args, f"built {r.market} {r.version}{alias_txt}: {r.pages} pages in "
                   f"{r.seconds:.1f}s -> {_rel(r.path)}")
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
    p.add_argument("--site-dir", metavar="DIR", help="output folder (default: <project>/site)")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes for several markets "
                   "(default: build.jobs, 0 = one per core)")
    p.set_defaults(func=_cmd_build)


def _cmd_remove(args: argparse.Namespace) -> int:
    from . import site

    cfg = _project(args)
    site_dir = Path(args.site_dir) if args.site_dir else cfg.root / "site"
    what = site.remove(cfg, site_dir, args.market or cfg.default_market, args.name, args.force)
    _out(args, f"removed {what}")
    return EXIT_OK


def _register_remove(sub) -> None:
    p = sub.add_parser("remove", help="remove a published version or alias",
                       description="Delete site/<market>/<name>/ and its versions.json entry. "
                       "Removing a version also removes its aliases.", epilog=EXIT_CODES_HELP)
    p.add_argument("name", help="version (e.g. 2026.10) or alias (e.g. beta)")
    p.add_argument("--market", metavar="CODE", help="market code (default: default_market)")
    p.add_argument("--site-dir", metavar="DIR", help="site folder (default: <project>/site)")
    p.add_argument("--force", action="store_true",
                   help="also remove the version that carries the default alias")
    p.set_defaults(func=_cmd_remove)


# --------------------------------------------------------------------------- registry

REGISTRARS: list[Callable] = [_register_build, _register_remove]


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


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
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
