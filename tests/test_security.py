"""Hostile content: an article arriving as a pull request cannot attack the build.

Each attack is a fixture article; the tests run the real ``helpgen check`` and real
builds and look for its effect (a marker file, a file outside the site, a script in
the built HTML).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from helpgen import check, config as config_mod, content, csp, sandbox, site
from helpgen.errors import HelpgenError

from projectkit import REPO, copy_project, write_article

FRONT = """
id: {id}
title: {title}
summary: {summary}
audience: buyers
topic: orders
last_reviewed: 2026-11-25
"""


def front(art_id: str, title: str = "Hostile fixture", summary: str = "A fixture.",
          extra: str = "") -> str:
    return FRONT.format(id=art_id, title=title, summary=summary) + extra


def payload(marker: Path) -> str:
    return ("{{ cycler.__init__.__globals__.os.popen('touch " + str(marker)
            + "').read() }}")


def run_check(root: Path) -> check.Report:
    return check.check(config_mod.load(root), markets=["us", "de"])


def messages(report: check.Report, path: str) -> list[str]:
    return [str(f) for f in report.findings if f.path == f"docs/{path}"]


# --------------------------------------------------------------------------- templating

def test_jinja_payload_in_a_plain_file_is_published_literally_and_runs_nothing(project,
                                                                            tmp_path):
    marker = tmp_path / "pwned"
    write_article(project, "buyers/orders/plain.md", front("plain"),
                  f"# Plain\n\nThis shows {payload(marker)} to readers.\n")
    report = run_check(project)
    assert report.errors == []
    assert any("not a template" in m for m in messages(report, "buyers/orders/plain.md"))
    site.build(config_mod.load(project), "us", "2026.11", ["latest"], project / "site")
    html = (project / "site/us/2026.11/buyers/orders/plain/index.html").read_text("utf-8")
    assert "{{ cycler." in html and "os.popen('touch" in re.sub(r"<[^>]+>", "", html)
    assert not marker.exists()


def test_jinja_payload_in_a_template_is_a_file_line_error_and_runs_nothing(project, tmp_path):
    marker = tmp_path / "pwned"
    write_article(project, "buyers/orders/tpl.md", front("tpl", extra="jinja: true\n"),
                  f"# Template\n\nLine two.\n\n{payload(marker)}\n")
    report = run_check(project)
    found = messages(report, "buyers/orders/tpl.md")
    assert found and all(re.match(r"docs/buyers/orders/tpl.md:14:\d+: error:", m)
                         for m in found), \
        found
    assert "cycler" in found[0]
    with pytest.raises(HelpgenError):
        site.build(config_mod.load(project), "us", "2026.11", ["latest"], project / "site")
    assert not marker.exists()
    assert not (project / "site" / "us" / "2026.11").exists()


@pytest.mark.parametrize("expression", [
    "''.__class__.__mro__[1].__subclasses__()",
    "market.__class__.__init__.__globals__",
    "link.__globals__['__builtins__']",
    "range.__self__",
    "lipsum.__globals__.os",
    "self._TemplateReference__context",
    "namespace.__init__.__globals__",
    "''.format.__globals__",
    "'{0.__class__}'.format(market)",
    "articles.append(1)",
    "market.update({'code': 'x'})",
    "ticket_categories.pop('registration')",
    "config",
    "request.environ",
])
def test_sandbox_refuses_escapes_with_the_file_line(project, expression):
    write_article(project, "buyers/orders/esc.md", front("esc", extra="jinja: true\n"),
                  f"# Escape\n\n{{{{ {expression} }}}}\n")
    report = run_check(project)
    found = [f for f in report.errors if f.path == "docs/buyers/orders/esc.md"]
    assert found and all(f.line == 12 for f in found), [str(f) for f in report.findings]


def test_jinja_inside_code_is_literal_in_templates(project):
    write_article(project, "buyers/orders/code.md", front("code", extra="jinja: true\n"),
                  "# Code\n\nMarket {{ market.code }}, literal `{{ market.code }}` and "
                  "`` {% if x %} ``.\n\n```jinja\n{% for a in articles %}{{ a.title }}"
                  "{% endfor %}\n{{ undefined_thing }}\n```\n\n~~~\n{% raw %}\n~~~\n")
    cfg = config_mod.load(project)
    state = site.prepare(cfg, "uk", "2026.11")
    text = state.rendered.pages["buyers/orders/code.md"].markdown
    assert "Market uk, literal `{{ market.code }}` and `` {% if x %} ``." in text
    assert "```jinja\n{% for a in articles %}{{ a.title }}{% endfor %}\n" \
           "{{ undefined_thing }}\n```" in text
    assert "~~~\n{% raw %}\n~~~" in text
    assert run_check(project).findings == () or not messages(run_check(project),
                                                             "buyers/orders/code.md")


def test_check_warns_only_about_jinja_outside_code_in_plain_files(project):
    write_article(project, "buyers/orders/doc.md", front("doc"),
                  "# Doc\n\nUse `{{date}}` in your template.\n\n```\n{% if x %}\n```\n")
    write_article(project, "buyers/orders/forgot.md", front("forgot"),
                  "# Forgot\n\nSign up at {{ market.signup_url }}.\n")
    report = run_check(project)
    assert messages(report, "buyers/orders/doc.md") == []
    assert messages(report, "buyers/orders/forgot.md") == [
        "docs/buyers/orders/forgot.md:11:12: warning: '{{' outside code in a file that is "
        "not a template: it is published exactly as written; add 'jinja: true' to the front "
        "matter to render it, or put it in `code`"]


ABUSE = {
    "big-mul": "{{ 'a' * 10**9 }}",
    "big-pow": "{{ 9 ** 99999999 }}",
    "loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "long-loop": "{% for i in range(9000) %}{% for j in range(9000) %}{% for k in range(9000)"
                 " %}{% endfor %}{% endfor %}{% endfor %}",
    "doubling": "{% set x = 'a' * 900000 %}{{ x ~ x ~ x ~ x }}",
    "center": "{{ 'a' | center(10**9) }}",
    "method": "{{ 'a'.center(10**9) }}",
    "format": "{{ '%999999999d' % 1 }}",
    "replace": "{{ ('a' * 100000) | replace('a', 'a' * 100000) }}",
    "join": "{{ (range(10000) | list) | join('x' * 1000) }}",
    "recursion": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "print-list": "{{ [range(10000) | list] * 100 }}",
}


def test_resource_abuse_ends_check_with_file_line_errors_within_10s_and_1gb(project):
    for name, body in ABUSE.items():
        write_article(project, f"buyers/orders/abuse-{name}.md",
                      front(f"abuse-{name}", extra="jinja: true\n"), f"# Abuse\n\n{body}\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "helpgen.cli", "--project", str(project),
                           "check", "--format", "json"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    took = time.monotonic() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert proc.returncode == 1, proc.stderr
    assert took < 10, f"check took {took:.1f} s"
    assert max(peak_kb, before) < 1024 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"
    problems = json.loads(proc.stdout)["problems"]
    for name in ABUSE:
        mine = [p for p in problems if p["path"] == f"docs/buyers/orders/abuse-{name}.md"
                and p["severity"] == "error"]
        assert mine and all(p["line"] for p in mine), (name, problems)


def test_budget_interrupts_a_slow_render_in_any_thread():
    import threading

    env = sandbox.TemplateSandbox()
    template = env.from_string("{% for i in range(10000) %}{% for j in range(10000) %}"
                               "{% endfor %}{% endfor %}done")
    budget = sandbox.RenderBudget(per_render=0.3, total=1.0)
    errors = []

    def work() -> None:
        try:
            sandbox.render(template, {}, budget, "docs/x.md")
        except sandbox.BudgetExceeded as exc:
            errors.append(exc)

    t0 = time.monotonic()
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert errors and time.monotonic() - t0 < 3
    with pytest.raises(sandbox.BudgetExceeded):  # the same file fails fast afterwards
        sandbox.render(env.from_string("ok"), {}, budget, "docs/x.md")
    assert sandbox.render(env.from_string("{{ 1 + 1 }}"), {}, budget, "docs/y.md") == "2"


# --------------------------------------------------------------------------- output paths

@pytest.mark.parametrize("redirect,why", [
    ("../2026.10/x/", "'..'"),
    ("../../../../../tmp/helpgen-escape/", "'..'"),
    ("/partners/abs/", "no leading '/'"),
    ("https://evil.example/x/", "no scheme"),
    ("C:\\\\temp\\\\x", "backslash"),
    ("a/submit-a-ticket/", "reserved"),
    ("assets/javascripts/", "reserved"),
    ("search/", "reserved"),
    ("sitemap.xml", "reserved"),
    ("404.html", "reserved"),
    ("latest/", "reserved"),
    ("2026.11/x/", "reserved"),
    (".hidden/", "'.'"),
    ("x//y/", "empty"),
    ("partners/support-tickets/submit-a-ticket/", "would hide the page"),
])
def test_redirects_are_confined_and_collide_with_nothing(project, redirect, why):
    write_article(project, "buyers/orders/moved.md",
                  front("moved", extra=f"redirects: [ok-old/, {json.dumps(redirect)}]\n"))
    with pytest.raises(HelpgenError) as exc:
        content.load(config_mod.load(project))
    [problem] = exc.value.problems
    assert (problem.path, problem.line) == ("docs/buyers/orders/moved.md", 8)
    assert problem.col and problem.col > 16  # the second list item
    assert why in problem.msg


def test_an_escaping_redirect_writes_nothing_anywhere(built_project, tmp_path):
    root = copy_project(tmp_path / "project")
    import shutil

    shutil.copytree(built_project / "site", root / "site")
    outside = tmp_path / "helpgen-escape"
    published = root / "site" / "us" / "2026.11"
    before = {p: p.read_bytes() for p in published.rglob("*") if p.is_file()}
    write_article(root, "buyers/orders/moved.md", front("moved", extra=(
        "redirects: ['../2026.10/x/', '../../../../../" + str(outside).lstrip("/") + "/']\n")))
    proc = subprocess.run([sys.executable, "-m", "helpgen.cli", "--project", str(root),
                           "build", "--market", "us"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert "docs/buyers/orders/moved.md:8:" in proc.stderr
    assert not outside.exists() and not (root / "site" / "us" / "2026.10").exists()
    after = {p: p.read_bytes() for p in published.rglob("*") if p.is_file()}
    assert after == before


def test_page_urls_may_not_take_reserved_names(project):
    (project / "docs" / "search.md").write_text("---\ntitle: Search\n---\n# S\n",
                                                encoding="utf-8")
    with pytest.raises(HelpgenError) as exc:
        content.load(config_mod.load(project))
    assert "docs/search.md:1: error: this file's URL 'search/' collides" in str(exc.value)


def test_the_redirect_writer_refuses_paths_outside_its_folder(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    (tmp_path / "outside").mkdir()
    (staging / "link").symlink_to(tmp_path / "outside")
    for bad in ("../x/", "/etc/x/", "link/x/", "a/../../x/"):
        with pytest.raises(HelpgenError, match="refusing to write"):
            site._write_redirect(staging, bad, "target/")
    (staging / "taken").mkdir()
    (staging / "taken" / "index.html").write_text("page", encoding="utf-8")
    with pytest.raises(HelpgenError, match="exists"):
        site._write_redirect(staging, "taken/", "target/")
    assert list((tmp_path / "outside").iterdir()) == []
    site._write_redirect(staging, "fine/old/", "target/")
    assert "../../target/" in (staging / "fine/old/index.html").read_text("utf-8")


def test_the_permalink_writer_refuses_links_odd_ids_and_existing_pages(tmp_path):
    """Permalinks are written without resolving every path (one folder per article under
    the checked a/): a link where an article's folder goes, an id that is not one plain
    segment, or a page already there is refused, and nothing lands outside."""
    folder = tmp_path / "site" / "a"
    folder.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "linked").symlink_to(outside)
    (folder / "file-link").symlink_to(outside / "x.html")
    for linked in ("linked", "file-link"):
        with pytest.raises(HelpgenError, match="not a folder"):
            site._write_permalink(str(folder), linked, "target/")
    for bad in ("../escape", "a/b", "..", ".hidden", ""):
        with pytest.raises(HelpgenError, match="refusing"):
            site._write_permalink(str(folder), bad, "target/")
    (folder / "taken").mkdir()
    (folder / "taken" / "index.html").write_text("page", encoding="utf-8")
    with pytest.raises(HelpgenError, match="exists"):
        site._write_permalink(str(folder), "taken", "target/")
    (folder / "dangling").mkdir()
    (folder / "dangling" / "index.html").symlink_to(outside / "planted.html")
    with pytest.raises(HelpgenError, match="exists"):
        site._write_permalink(str(folder), "dangling", "target/")
    assert list(outside.iterdir()) == []
    assert (folder / "taken" / "index.html").read_text("utf-8") == "page"
    site._write_permalink(str(folder), "fine-id", "partners/x/y/")
    page = (folder / "fine-id" / "index.html").read_text("utf-8")
    assert 'url=../../partners/x/y/"' in page  # the same page _write_redirect writes
    assert page == site.redirect_html("../../partners/x/y/")


def test_symlinks_out_of_docs_and_code_files_are_errors(project, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0", encoding="utf-8")
    (tmp_path / "secret-dir").mkdir()
    docs = project / "docs"
    (docs / "buyers" / "orders" / "leak.md").symlink_to(secret)
    (docs / "img").mkdir()
    (docs / "img" / "leak.png").symlink_to(secret)
    (docs / "img" / "folder").symlink_to(tmp_path / "secret-dir")
    (docs / "img" / "inside.png").write_bytes(b"\x89PNG\r\n")
    (docs / "img" / "alias.png").symlink_to(docs / "img" / "inside.png")  # inside: fine
    (docs / "page.html").write_text("<script>alert(1)</script>", encoding="utf-8")
    (docs / "img" / "evil.js").write_text("alert(1)", encoding="utf-8")
    (docs / "img" / "evil.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        encoding="utf-8")
    (docs / "img" / "onload.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
        encoding="utf-8")
    (docs / "img" / "fine.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4" fill="#f00"/>'
        '<use href="#a"/></svg>', encoding="utf-8")
    with pytest.raises(HelpgenError) as exc:
        content.load(config_mod.load(project))
    paths = sorted(p.path for p in exc.value.problems)
    assert paths == sorted(["docs/buyers/orders/leak.md", "docs/img/leak.png",
                            "docs/img/folder", "docs/page.html", "docs/img/evil.js",
                            "docs/img/evil.svg", "docs/img/onload.svg"])
    assert all(p.line == 1 for p in exc.value.problems)
    assert "outside docs/" in str(exc.value) and "allowed: .png" in str(exc.value)


# --------------------------------------------------------------------------- no scripts

HOSTILE_TITLE = '<script>window.pwned=1</script> Refund & "returns"'
HOSTILE_SUMMARY = '"><script>window.pwned=2</script><img src=x onerror="window.pwned=3">'
HOSTILE_BODY = """# Hostile

<script>window.pwned=4</script>

Inline <img src="x.png" onerror="window.pwned=5"> and <b onclick="window.pwned=6">bold</b>.

[click](javascript:window.pwned=7) ![i](data:image/svg+xml,<svg/onload=alert(8)>)

<a href="JaVa&#115;cript:window.pwned=9">entity link</a>

Styled paragraph
{: onmouseover="window.pwned=10" }

<div markdown>
**bold** <iframe srcdoc="<script>parent.pwned=11</script>"></iframe>
</div>

<base href="//evil.example/"><meta http-equiv="refresh" content="0;url=//evil.example/">

<form action="javascript:window.pwned=12"><button formaction="javascript:x()">Go</button></form>

<svg><script>window.pwned=13</script></svg>

```html
<script>shown as code</script>
```
"""
class ActiveContent(HTMLParser):
    """What a browser would execute or follow: scripts from the fixture, event handlers,
    script URLs, srcdoc frames, <base> and refreshing <meta>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or name in ("srcdoc", "formaction") or (
                    name in ("href", "src", "action") and value.startswith(("javascript:",
                                                                             "data:"))):
                self.found.append(f"<{tag} {name}={value[:40]}>")
        if tag == "base" or (tag == "meta" and "evil" in str(dict(attrs).get("content"))):
            self.found.append(f"<{tag}>")

    def handle_data(self, data: str) -> None:
        if self._in_script and "pwned" in data:
            self.found.append(f"<script>{data[:40]}")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def active_content(text: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(text)
    return parser.found


def hostile_project(root: Path) -> Path:
    copy_project(root)
    write_article(root, "buyers/orders/hostile.md",
                  front("hostile", title=json.dumps(HOSTILE_TITLE),
                        summary=json.dumps(HOSTILE_SUMMARY)), HOSTILE_BODY)
    (root / "docs/buyers/orders/x.png").write_bytes(b"\x89PNG\r\n")  # a real local image
    return root


def test_hostile_title_summary_and_body_leave_no_script_in_any_page(tmp_path):
    root = hostile_project(tmp_path / "project")
    site.build(config_mod.load(root), "us", "2026.11", ["latest"], root / "site")
    version = root / "site" / "us" / "2026.11"
    pages = list(version.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found = active_content(text)
        assert not found, (page.relative_to(version), found)
    article = (version / "buyers/orders/hostile/index.html").read_text("utf-8")
    assert "&lt;script&gt;window" not in article or "<script>window" not in article
    assert "Refund &amp; " in article and "<b>bold</b>" in article
    import html as html_mod

    assert "<script>shown as code</script>" in html_mod.unescape(re.sub(r"<[^>]+>", "", article))
    home = (version / "index.html").read_text("utf-8")
    assert "&lt;script&gt;" in home  # the title is listed as text
    # the ticket page keeps its form
    ticket = (version / "submit-a-ticket/index.html").read_text("utf-8")
    for tag in ('<form class="helpgen-ticket"', "<select", "<textarea", "<button"):
        assert tag in ticket


def test_allow_raw_html_lifts_the_sanitizer_for_trusted_projects(tmp_path):
    root = hostile_project(tmp_path / "project")
    with open(root / "helpgen.yml", "a", encoding="utf-8") as fh:
        fh.write("\nbuild:\n  allow_raw_html: true\n")
    site.build(config_mod.load(root), "us", "2026.11", ["latest"], root / "site")
    article = (root / "site/us/2026.11/buyers/orders/hostile/index.html").read_text("utf-8")
    assert "<script>window.pwned=4</script>" in article
    assert "<script>window" not in (root / "site/us/2026.11/index.html").read_text("utf-8")


def test_csp_manifest_lists_theme_scripts_never_an_authors(tmp_path):
    root = hostile_project(tmp_path / "project")
    with open(root / "helpgen.yml", "a", encoding="utf-8") as fh:
        fh.write("\nbuild:\n  allow_raw_html: true\n")
    site.build(config_mod.load(root), "us", "2026.11", ["latest"], root / "site")
    version = root / "site" / "us" / "2026.11"
    allowed = csp.read_manifest(version)
    article = (version / "buyers/orders/hostile/index.html").read_text("utf-8")
    author = csp.sha256("window.pwned=4")
    assert author in csp.inline_script_hashes(article) and author not in allowed
    theme = set(csp.inline_script_hashes((version / "index.html").read_text("utf-8")))
    assert theme and theme <= allowed
    assert set(csp.inline_script_hashes((version / "404.html").read_text("utf-8"))) <= allowed
    redirect = (version / "a" / "hostile" / "index.html").read_text("utf-8")
    assert set(csp.inline_script_hashes(redirect)) == {csp.REDIRECT_HASH}


# --------------------------------------------------------------------------- YAML

BOMB = """---
id: bomb
title: Bomb
summary: s
audience: buyers
topic: orders
last_reviewed: 2026-11-25
keywords: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: [*g,*g,*g,*g,*g,*g,*g,*g,*g]
---
# Bomb
"""


def test_yaml_alias_bomb_is_refused_at_file_line_in_under_a_second(project):
    (project / "docs" / "buyers" / "orders" / "bomb.md").write_text(BOMB, encoding="utf-8")
    t0 = time.monotonic()
    report = check.check(config_mod.load(project))
    assert time.monotonic() - t0 < 1.0
    found = messages(report, "buyers/orders/bomb.md")
    assert found == ["docs/buyers/orders/bomb.md:8:11: error: front matter: YAML anchor '&a' "
                     "is not allowed (anchors and aliases can blow up into huge documents); "
                     "write the value out"]


def test_yaml_bomb_check_stays_fast(project):
    (project / "docs" / "buyers" / "orders" / "bomb.md").write_text(BOMB, encoding="utf-8")
    cfg = config_mod.load(project)
    t0 = time.monotonic()
    with pytest.raises(HelpgenError):
        content.load(cfg)
    assert time.monotonic() - t0 < 1.0


def test_oversized_front_matter_is_refused(project):
    body = "---\n" + front("big").strip() + "\nkeywords: [" + ", ".join(["word"] * 20000) + \
        "]\n---\n# Big\n"
    (project / "docs" / "buyers" / "orders" / "big.md").write_text(body, encoding="utf-8")
    with pytest.raises(HelpgenError, match=r"big.md:1: error: front matter: the YAML is .* "
                                           r"characters; at most 65,536"):
        content.load(config_mod.load(project))


def test_helpgen_yml_anchors_are_refused_at_their_line(project):
    path = project / "helpgen.yml"
    text = path.read_text(encoding="utf-8").replace(
        "  us: {language: en", "  us: &us {language: en")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HelpgenError) as exc:
        config_mod.load(project)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "&us" in t)
    assert str(exc.value).startswith(f"helpgen.yml:{line}:7: error: YAML anchor '&us'")


# --------------------------------------------------------------------------- unchanged output

GOLDEN = REPO / "tests" / "data" / "golden-build-2026.11.json"
#: What changed on purpose since the snapshot: redirect pages carry one constant script
#: (allowed by one CSP hash), a summary holding '>' is escaped in <meta content>, and
#: helpgen's own scripts (did-you-mean words, published-markets filter, comments).
INTENDED = re.compile(r"^(us|de|jp)/2026\.11/(a/[^/]+/index\.html$"
                      r"|partners/account/manage-login-email-phone-password/index\.html$"
                      r"|assets/helpgen/(?:search|deflect)\.js$)"
                      # hard-wrapped Japanese joined without a space (home and ticket page)
                      r"|^jp/2026\.11/(?:index\.html|submit-a-ticket/index\.html"
                      r"|search/search_index\.json)$"
                      # the ticket page's "I still need help" hand-off markup
                      r"|^(?:us|de)/2026\.11/submit-a-ticket/index\.html$"
                      # every page: the title and site name in the market's language, the
                      # market selector's names from CLDR, the panel strings (helpgen-strings), the
                      # layout stylesheet and script, the phone search bar, the empty-search
                      # links; articles also breadcrumbs and "Last reviewed"; 404 pages
                      # search, home and ticket links
                      r"|^(us|de|jp)/2026\.11/(?:[a-z0-9-]+/)*(?:index|404)\.html$"
                      # the fallback notice wholly in German/Japanese (indexed page text)
                      r"|^(de|jp)/2026\.11/search/search_index\.json$"
                      # the home page's search box, featured articles and topic cards, which
                      # Material's search index of us holds too; since the static search
                      # bundle, Material's index (its fallback) holds page titles only
                      r"|^us/2026\.11/search/search_index\.json$")


@pytest.mark.slow
def test_existing_content_builds_byte_identical_apart_from_intended_fixes(tmp_path):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    root = copy_project(tmp_path / "project")
    cfg = config_mod.load(root)
    for market in ("us", "de", "jp"):
        site.build(cfg, market, "2026.11", ["latest"], root / "site")
    changed, missing = [], []
    for rel, digest in golden.items():
        path = root / "site" / rel
        if not path.is_file():
            missing.append(rel)
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            changed.append(rel)
    assert missing == []
    unexpected = [rel for rel in changed if not INTENDED.match(rel)]
    assert unexpected == [], unexpected
    # permalinks, 2 scripts, every other page (21 + the 404 per market), 3 search indexes
    # (home page cards; German/Japanese fallback notice); sitemaps and Material's assets
    # are unchanged
    assert len(changed) == 3 * 17 + 3 * 2 + 3 * 22 + 3
    de_home = (root / "site/de/2026.11/index.html").read_text("utf-8")
    assert "<title>Hilfe-Center Deutschland</title>" in de_home
    assert "Vereinigtes Königreich (Englisch)" in de_home
    for market in ("us", "de", "jp"):
        home = (root / f"site/{market}/2026.11/index.html").read_text("utf-8")
        assert 'class="helpgen-home-search"' in home and "helpgen-topics" in home
    pages = [rel for rel in changed if rel.endswith(".html") and "/a/" not in rel]
    assert len(pages) == 3 * 21  # home, ticket page, 404 and 18 articles per market
    for rel in pages:  # every page carries the theme's layout furniture
        assert "assets/helpgen/layout.js" in (root / "site" / rel).read_text("utf-8"), rel
    jp_home = (root / "site/jp/2026.11/index.html").read_text("utf-8")
    assert "についての回答" in jp_home
    page = (root / "site/us/2026.11/partners/account/manage-login-email-phone-password/"
            "index.html").read_text("utf-8")
    assert "My Account &gt;&gt; Profile" in page


# --------------------------------------------------------------------------- served CSP

def test_served_csp_allows_the_theme_scripts_and_never_an_authors(tmp_path):
    from helpgen import server
    from serverkit import call

    root = hostile_project(tmp_path / "project")
    with open(root / "helpgen.yml", "a", encoding="utf-8") as fh:
        fh.write("\nbuild:\n  allow_raw_html: true\n")  # the author's script is published
    site.build(config_mod.load(root), "us", "2026.11", ["latest"], root / "site",
               index_dir=root / "search_index")
    app = server.make_app(config_mod.load(root), root / "site", root / "search_index",
                          settings=server.ServerSettings(rate_limit_per_minute=0))
    try:
        reply = call(app, "GET", "/us/2026.11/buyers/orders/hostile/")
        assert reply.status == 200 and "<script>window.pwned=4</script>" in reply.text
        policy = reply.headers["content-security-policy"]
        allowed = set(re.findall(r"'sha256-([^']+)'", policy))
        theme = csp.read_manifest(root / "site/us/2026.11")
        assert csp.sha256("window.pwned=4") not in allowed
        assert allowed and allowed <= theme
        page_scripts = set(csp.inline_script_hashes(reply.text))
        assert allowed == page_scripts & theme
        alias = call(app, "GET", "/us/latest/buyers/orders/hostile/")
        assert re.findall(r"'sha256-([^']+)'", alias.headers["content-security-policy"]) == \
            [csp.REDIRECT_HASH]
        missing = call(app, "GET", "/us/2026.11/no-such-page/")
        assert missing.status == 404
        assert set(re.findall(r"'sha256-([^']+)'", missing.headers[
            "content-security-policy"])) <= theme
    finally:
        app.close()
