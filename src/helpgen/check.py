"""``helpgen check``: validate every article for every market without building a site.

One pass reports every problem, each at its file, line and column:

* front matter against the schema, duplicate ids, unknown markets/audiences/topics
  (:func:`helpgen.content.load`);
* per market, with the same rules a build applies (:mod:`helpgen.rules`): Jinja that
  fails to render, internal links and ``#anchors`` that do not resolve (a link to an
  article left out of a market is an error on that market's site), local images that do
  not exist, remote images, scripts, frames and stylesheets (the site must work offline).
  Files whose front matter did not load are left out; every other file is still checked;
* warnings: articles whose ``last_reviewed`` is older than ``check.max_review_age_days``
  and summaries still holding the ``helpgen new`` placeholder.

Pure apart from reading ``docs/``: no MkDocs import, no printing. ``cli.py`` formats the
:class:`Report` as text, GitHub Actions annotations or JSON (:func:`format_report`).
"""

from __future__ import annotations

import datetime as _dt
import json
import multiprocessing
import os
import posixpath
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import unquote

from . import content as content_mod
from . import mdcode, render, rules, sandbox
from .config import Config
from .errors import HelpgenError, Problem

ERROR = "error"
WARNING = "warning"
FORMATS = ("text", "github", "json")
PLACEHOLDER_SUMMARY = "TODO: one sentence shown in search results and suggestions."
PLACEHOLDER_BODY = "Start with the answer in one or two sentences."  # helpgen new's body

@dataclass(frozen=True)
class Finding:
    """One problem (``error`` fails the check, ``warning`` does not)."""

    severity: str
    msg: str
    path: str | None = None
    line: int | None = None
    col: int | None = None

    @classmethod
    def from_problem(cls, p: Problem, severity: str = ERROR) -> "Finding":
        return cls(severity, p.msg, p.path, p.line, p.col)

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path + "".join(f":{n}" for n in _position(self.line, self.col)) + ": "
        return f"{where}{self.severity}: {self.msg}"

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "path": self.path, "line": self.line,
                "col": self.col, "message": self.msg}


def _position(line: int | None, col: int | None) -> tuple[int, ...]:
    if not line:
        return ()
    return (line, col) if col else (line,)


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    articles: int  # articles and pages checked (0 when the front matter did not load)
    markets: tuple[str, ...]
    seconds: float

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]


# --------------------------------------------------------------------------- checking

def check(
    config: Config,
    paths: Sequence[Path | str] = (),
    markets: Sequence[str] | None = None,
    today: _dt.date | None = None,
    jobs: int | None = None,
) -> Report:
    """Check every article for ``markets`` (default: all); report only under ``paths``.

    Large corpora are checked by ``jobs`` processes (default: ``build.jobs``, 0 = one per
    core); a few hundred pages are faster in this process alone.
    """
    t0 = time.perf_counter()
    codes = tuple(markets or config.markets)
    for code in codes:
        config.market(code)
    wanted = _wanted(config, paths)
    today = today or _dt.date.today()
    findings: list[Finding] = []
    articles = 0
    corpus, problems = content_mod.load(config, partial=True, drafts=True)  # drafts too
    findings.extend(Finding.from_problem(p) for p in problems)
    prefix = config.docs_dir_name + "/"
    skip = frozenset(p.path[len(prefix):] for p in problems
                     if p.path and p.path.startswith(prefix))
    articles = len(corpus.articles)
    findings.extend(_draft_findings(config, corpus))
    findings.extend(_review_findings(config, corpus, today))
    findings.extend(_template_findings(config, corpus))
    # forking pays off only when there is real work to share
    work = len(corpus.articles) * len(codes)
    jobs = (jobs or config.setting("build.jobs") or os.cpu_count() or 1) if work > 2000 else 1
    findings.extend(_market_findings(config, corpus, codes, jobs, skip))
    findings = _only_under(findings, wanted)
    order = sorted(set(findings), key=lambda f: (f.path or "", f.line or 0, f.col or 0,
                                                 f.severity, f.msg))
    return Report(tuple(order), articles, codes, time.perf_counter() - t0)


def _wanted(config: Config, paths: Sequence[Path | str]) -> list[str]:
    """``paths`` as project-relative posix paths (the form findings use)."""
    wanted = []
    for p in paths:
        p = Path(p)
        p = (p if p.is_absolute() else Path.cwd() / p).resolve()
        if not p.exists():
            raise HelpgenError(f"{p}: no such file or folder to check", exit_code=2)
        wanted.append(p.relative_to(config.root).as_posix() if p.is_relative_to(config.root)
                      else str(p))
    return wanted


def _only_under(findings: list[Finding], wanted: list[str]) -> list[Finding]:
    """Keep findings in ``wanted`` files or folders; say how many were left out."""
    if not wanted:
        return findings

    def inside(path: str | None) -> bool:
        return path is not None and any(w in (".", "") or path == w or path.startswith(w + "/")
                                        for w in wanted)

    kept = [f for f in findings if inside(f.path)]
    others = [f for f in findings if not inside(f.path) and f.severity == ERROR]
    if others:
        kept.append(Finding(ERROR, f"{len(others)} error(s) in other files also block the "
                                   "build; run helpgen check without paths to see them"))
    return kept


def _line_of_key(path: Path, key: str) -> tuple[int | None, int | None]:
    """Line/column of ``key:`` in a file's front matter (value column)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None, None
    for i, text in enumerate(lines[1:], 2):
        if text.strip() == "---":
            break
        if text.startswith(key + ":"):
            value = text[len(key) + 1:]
            return i, len(key) + 2 + (len(value) - len(value.lstrip()))
    return None, None


def _review_findings(config: Config, corpus: content_mod.Corpus, today: _dt.date
                     ) -> Iterable[Finding]:
    max_age = config.setting("check.max_review_age_days")
    prefix = config.docs_dir_name
    for art in corpus.articles:
        dated = [(art.src, art.last_reviewed)] + [(v.src, v.last_reviewed)
                                                  for v in art.variants.values()]
        for src, reviewed in dated:
            if reviewed is None or max_age <= 0:
                continue
            age = (today - reviewed).days
            if age > max_age:
                line, col = _line_of_key(config.docs_dir / src, "last_reviewed")
                yield Finding(WARNING, f"last reviewed {reviewed.isoformat()}, {age} days ago "
                              f"(check.max_review_age_days is {max_age}): check the facts, "
                              "then set last_reviewed to today", f"{prefix}/{src}", line, col)
        if art.summary == PLACEHOLDER_SUMMARY:
            line, col = _line_of_key(config.docs_dir / art.src, "summary")
            yield Finding(WARNING, "summary is still the placeholder from helpgen new; write "
                          "the one sentence search results show", f"{prefix}/{art.src}", line, col)


_LINK_CALL_RE = re.compile(r"""\blink\(\s*["']([a-z0-9-]+)["']\s*\)""")


def _draft_findings(config: Config, corpus: content_mod.Corpus) -> Iterable[Finding]:
    """Drafts are published only by ``preview`` and ``build --drafts``: a published page
    that links to one (by its .md file or ``link(id)``) would link to a missing page.
    Any article still holding the body ``helpgen new`` wrote gets a warning."""
    prefix = config.docs_dir_name
    drafts = {a.src: a for a in corpus.articles if a.draft}
    draft_ids = {a.id: a.src for a in drafts.values()}
    for art in corpus.articles:
        texts = [(art.src, art.body, art.body_line)] + [
            (v.src, v.body, v.body_line) for v in art.variants.values()]
        for src, body, body_line in texts:
            at = body.find(PLACEHOLDER_BODY)
            if at >= 0:
                yield Finding(WARNING, "the body is still the placeholder text from helpgen "
                              "new; write the answer before publishing", f"{prefix}/{src}",
                              body_line + body.count("\n", 0, at), None)
            if art.draft or not drafts:
                continue
            here = posixpath.dirname(src)
            for kind, target, line, col in rules.targets(body):
                file_part = unquote(target.partition("#")[0].split("?")[0])
                if kind != "a" or not file_part or rules._SCHEME_RE.match(target):
                    continue
                resolved = posixpath.normpath(posixpath.join(here, file_part))
                if resolved in drafts:
                    yield Finding(ERROR, f"link {target!r} points to {prefix}/{resolved}, a "
                                  "draft that is not published; publish it (remove 'draft: "
                                  "true') or remove the link", f"{prefix}/{src}",
                                  body_line + line - 1, col)
            for m in _LINK_CALL_RE.finditer(body):
                if m.group(1) in draft_ids:
                    yield Finding(ERROR, f"{m.group(0)} points to {prefix}/"
                                  f"{draft_ids[m.group(1)]}, a draft that is not published; "
                                  "publish it (remove 'draft: true') or remove the link",
                                  f"{prefix}/{src}", body_line + body.count("\n", 0, m.start()),
                                  None)


def _market_findings(config: Config, corpus: content_mod.Corpus, codes: Sequence[str],
                     jobs: int = 1, skip: frozenset[str] = frozenset()) -> list[Finding]:
    """Render and judge every market with :func:`helpgen.rules.judge_market` (as a build
    does); a problem found on several markets is one finding naming them.

    With ``jobs`` > 1 the markets are shared among forked worker processes.
    """
    jobs = max(1, min(jobs, len(codes)))
    if jobs == 1:
        per_market = _check_markets(config, corpus, list(codes), skip)
    else:
        ctx = multiprocessing.get_context("fork")  # forked: config and corpus are not copied
        queue = ctx.Queue()
        procs = [ctx.Process(target=_check_worker,
                             args=(config, corpus, list(codes[i::jobs]), queue, skip))
                 for i in range(jobs)]
        for proc in procs:
            proc.start()
        try:
            parts = [queue.get(timeout=3600) for _ in procs]
        finally:
            for proc in procs:
                proc.join()
        for part in parts:
            if isinstance(part, BaseException):
                raise part
        per_market = {}
        for part in parts:
            for key, where in part.items():
                per_market.setdefault(key, []).extend(where)
    return [Finding.from_problem(p, p.severity) for p in rules.merge(per_market, codes)]


def _check_worker(config: Config, corpus: content_mod.Corpus, codes: list[str],
                  queue: Any, skip: frozenset[str]) -> None:
    try:
        queue.put(_check_markets(config, corpus, codes, skip))
    except BaseException as exc:  # reported by the parent, never swallowed
        queue.put(RuntimeError(f"checking {', '.join(codes)} failed: {exc!r}"))


def _check_markets(config: Config, corpus: content_mod.Corpus, codes: list[str],
                   skip: frozenset[str] = frozenset()) -> dict[Problem, list[str]]:
    """{problem: markets it was found on} for ``codes``."""
    env = render.make_environment()
    templates: dict = {}
    budget = sandbox.RenderBudget()
    anchors = rules.Anchors(config)
    sources: dict = {}  # file -> its lines with code blanked
    per_market: dict[Problem, list[str]] = {}
    for code in codes:
        judged = rules.judge_market(config, corpus, config.markets[code], config.version,
                                    env, templates, budget, anchors, sources, skip)
        for p in dict.fromkeys(judged.problems):
            per_market.setdefault(p, []).append(code)
    return per_market


def _strip_code(markdown_text: str) -> list[str]:
    """Lines of ``markdown_text`` with fenced blocks and inline code blanked (same count)."""
    return mdcode.blank_code(markdown_text).split("\n")


_JINJA_RE = re.compile(r"\{\{|\{%")


def _template_findings(config: Config, corpus: content_mod.Corpus) -> Iterable[Finding]:
    """Warnings for files that hold Jinja syntax outside code but are not templates:
    they are published as written, which is rarely what the author meant."""
    prefix = config.docs_dir_name
    for art in corpus.articles:
        texts = [(art.src, art.body, art.body_line, art.jinja)]
        texts += [(v.src, v.body, v.body_line, v.jinja) for v in art.variants.values()]
        for src, body, body_line, is_template in texts:
            if is_template or ("{{" not in body and "{%" not in body):
                continue
            for i, line in enumerate(_strip_code(body)):
                m = _JINJA_RE.search(line)
                if m:
                    yield Finding(WARNING, f"{m.group(0)!r} outside code in a file that is not "
                                  "a template: it is published exactly as written; add "
                                  "'jinja: true' to the front matter to render it, or put "
                                  "it in `code`", f"{prefix}/{src}", body_line + i,
                                  m.start() + 1)
                    break


# --------------------------------------------------------------------------- output

def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_line(f: Finding) -> str:
    """``::error file=docs/x.md,line=3,col=5,title=helpgen check::message``."""
    props = []
    if f.path:
        props.append(f"file={_gh_escape(f.path, True)}")
    if f.line:
        props.append(f"line={f.line}")
    if f.col:
        props.append(f"col={f.col}")
    props.append("title=helpgen check")
    return f"::{f.severity} {','.join(props)}::{_gh_escape(f.msg)}"


def summary_line(report: Report) -> str:
    return (f"helpgen check: {report.articles} articles in {len(report.markets)} market(s): "
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in "
            f"{report.seconds:.1f}s")


def format_report(report: Report, fmt: str) -> str:
    """The report as ``text`` lines, GitHub ``github`` annotations or a ``json`` document."""
    if fmt == "json":
        return json.dumps({
            "ok": not report.errors,
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "articles": report.articles,
            "markets": list(report.markets),
            "seconds": round(report.seconds, 3),
            "problems": [f.as_dict() for f in report.findings],
        }, indent=2, ensure_ascii=False)
    if fmt == "github":
        return "\n".join(github_line(f) for f in report.findings)
    if fmt == "text":
        return "\n".join(str(f) for f in report.findings)
    raise HelpgenError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}", exit_code=2)
