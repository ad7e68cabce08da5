"""Real MkDocs builds into temporary folders: markets, languages, versions, redirects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from mike.versions import Versions

from helpgen import config as config_mod
from helpgen import site
from helpgen.cli import main
from helpgen.errors import HelpgenError

from projectkit import REPO, copy_project, write_article

SIGNUP_US = "https://partner.us.tiktokshop.com/account/sign-up"
SIGNUP_GLOBAL = "https://partner.tiktokshop.com/account/sign-up"
ACCOUNT_PAGE = "partners/registration/create-your-account/index.html"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def us_uk_de(tmp_path_factory) -> Path:
    """One project with an UK-only article, built for us, uk and de."""
    root = copy_project(tmp_path_factory.mktemp("markets") / "project")
    write_article(root, "partners/registration/uk-only-notice.md", """
id: uk-only-notice
title: A notice for UK partners
summary: Only relevant in the United Kingdom.
audience: partners
topic: registration
markets: [uk]
last_reviewed: 2026-11-25
redirects: [partners/old-uk-notice/]
""", "# A notice for UK partners\n\nUK partners read this.\n")
    cfg = config_mod.load(root)
    site.build_all(cfg, "2026.11", ["latest"], root / "site", jobs=2, markets=["us", "uk", "de"])
    return root / "site"


def test_us_site_shows_only_us_signup_address_and_uk_only_global(us_uk_de):
    us = read(us_uk_de / "us/2026.11" / ACCOUNT_PAGE)
    uk = read(us_uk_de / "uk/2026.11" / ACCOUNT_PAGE)
    assert SIGNUP_US in us and SIGNUP_GLOBAL not in us
    assert SIGNUP_GLOBAL in uk and SIGNUP_US not in uk


def test_article_for_other_market_is_left_out_of_site_nav_and_permalinks(us_uk_de):
    page = "partners/registration/uk-only-notice/index.html"
    assert (us_uk_de / "uk/2026.11" / page).exists()
    assert not (us_uk_de / "us/2026.11" / page).exists()
    assert not (us_uk_de / "us/2026.11/a/uk-only-notice").exists()
    # the home page's Registration card counts it on uk only (it lists the first three)
    assert "<strong>Registration</strong> · 6 articles" in read(us_uk_de / "uk/2026.11/index.html")
    assert "<strong>Registration</strong> · 5 articles" in read(us_uk_de / "us/2026.11/index.html")
    assert "A notice for UK partners" in read(us_uk_de / "uk/2026.11/" / page)
    us_search = read(us_uk_de / "us/2026.11/search/search_index.json")
    assert "UK partners read this" not in us_search


def test_permalink_and_old_url_redirect_to_the_article(us_uk_de):
    perm = read(us_uk_de / "uk/2026.11/a/uk-only-notice/index.html")
    assert 'url=../../partners/registration/uk-only-notice/"' in perm
    old = read(us_uk_de / "uk/2026.11/partners/old-uk-notice/index.html")
    assert 'url=../registration/uk-only-notice/"' in old
    perm_us = read(us_uk_de / "us/2026.11/a/submit-a-ticket/index.html")
    assert "../../partners/support-tickets/submit-a-ticket/" in perm_us
    assert (us_uk_de / "us/2026.11/partners/support-tickets/submit-a-ticket/index.html").exists()


def test_german_market_uses_german_interface_variants_and_fallback_notice(us_uk_de):
    de = us_uk_de / "de/2026.11"
    home = read(de / "index.html")
    assert re.search(r'<html lang="de"', home)
    assert "Suche" in home  # Material's German search placeholder
    assert "Hilfe-Center" in home and "Verkäufer" in home and "Käuferschutz" in home
    translated = read(de / "partners/support-tickets/submit-a-ticket/index.html")
    assert "not yet available" not in translated
    assert "Ticket" in translated and "Supportanfrage" in translated or "einreichen" in translated
    fallback = read(de / "partners/registration/who-can-register/index.html")
    # the notice wholly in German: the catalog's title, the language's own sentence
    assert '<p class="admonition-title">Noch nicht übersetzt</p>' in fallback
    assert "Dieser Artikel ist noch nicht auf Deutsch" in fallback
    assert "not yet" not in fallback.lower() and "English version" not in fallback
    assert re.search(r'<html lang="en"', read(us_uk_de / "us/2026.11/index.html"))


def test_built_pages_load_nothing_from_the_network(us_uk_de):
    remote = re.compile(r'<(?:script|img|link|iframe|source)\b[^>]*(?:src|href)="(?:https?:)?//')
    offenders = []
    for page in (us_uk_de / "us/2026.11").rglob("*.html"):
        text = read(page)
        for m in remote.finditer(text):
            if 'rel="canonical"' not in m.group(0):
                offenders.append((page.name, m.group(0)))
    assert offenders == []
    assert "fonts.googleapis.com" not in read(us_uk_de / "us/2026.11/index.html")


def test_site_index_lists_built_markets_and_market_index_redirects(us_uk_de):
    index = read(us_uk_de / "index.html")
    for name in ("United States", "United Kingdom", "Deutschland"):  # each in its language
        assert name in index
    assert "Japan" not in index  # not built
    assert 'url=latest/"' in read(us_uk_de / "us/index.html")
    alias_page = read(us_uk_de / "us/latest/partners/registration/create-your-account/index.html")
    assert 'url=../../../../2026.11/partners/registration/create-your-account/"' in alias_page


def test_two_versions_coexist_with_mike_versions_json(project):
    cfg = config_mod.load(project)
    site_dir = project / "site"
    site.build(cfg, "us", "2026.10", ["latest"], site_dir)
    site.build(cfg, "us", "2026.11", ["latest", "stable"], site_dir)
    assert (site_dir / "us/2026.10/index.html").exists()
    assert (site_dir / "us/2026.11/index.html").exists()
    versions = Versions.loads(read(site_dir / "us/versions.json"))
    listed = [(v.version, sorted(v.aliases)) for v in versions]
    assert [(str(v), a) for v, a in listed] == [("2026.11", ["latest", "stable"]),
                                               ("2026.10", [])]
    raw = json.loads(read(site_dir / "us/versions.json"))
    assert raw[0] == {"version": "2026.11", "title": "2026.11",
                      "aliases": ["latest", "stable"]}
    assert "2026.11/" in read(site_dir / "us/latest/index.html")
    # version selector configuration reaches Material
    assert '"provider":"mike"' in read(site_dir / "us/2026.11/index.html").replace(" ", "")

    # removing an alias and a version through the CLI
    assert main(["--project", str(project), "remove", "stable", "--site-dir", str(site_dir)]) == 0
    assert not (site_dir / "us/stable").exists()
    index_dir = project / "search_index"
    assert (index_dir / "us/2026.10").is_dir()
    assert main(["--project", str(project), "remove", "2026.10", "--site-dir", str(site_dir)]) == 0
    assert not (site_dir / "us/2026.10").exists()
    assert not (index_dir / "us/2026.10").exists()  # its search index goes too
    assert (index_dir / "us/2026.11").is_dir()
    assert [str(v.version) for v in Versions.loads(read(site_dir / "us/versions.json"))] == [
        "2026.11"]
    assert main(["--project", str(project), "-q", "remove", "2026.11", "--site-dir",
                 str(site_dir)]) == 1  # carries 'latest'


def test_remove_refuses_the_only_version_without_force(project, capsys):
    cfg = config_mod.load(project)
    site_dir = project / "site"
    site.build(cfg, "us", "2026.11", ["latest"], site_dir)
    args = ["--project", str(project), "remove", "--site-dir", str(site_dir)]
    assert main([*args, "latest"]) == 0  # an alias may go: /us/ then opens 2026.11
    assert "2026.11/" in read(site_dir / "us/index.html")
    assert main([*args, "2026.11"]) == 1
    assert "the only published version of us" in capsys.readouterr().err
    assert (site_dir / "us/2026.11/index.html").is_file()
    assert main([*args, "2026.11", "--force"]) == 0
    assert not (site_dir / "us/2026.11").exists()
    assert not (site_dir / "us/index.html").exists()  # no redirect into a deleted folder


def test_failed_build_keeps_the_published_version(project):
    cfg = config_mod.load(project)
    site_dir = project / "site"
    site.build(cfg, "us", "2026.11", ["latest"], site_dir)
    before = read(site_dir / "us/2026.11" / ACCOUNT_PAGE)
    page = project / "docs/partners/registration/create-your-account.md"
    page.write_text(read(page) + "\nSee [the missing guide](missing-guide.md).\n",
                    encoding="utf-8")
    with pytest.raises(HelpgenError) as exc:
        site.build(cfg, "us", "2026.11", ["latest"], site_dir)
    problem = exc.value.problems[0]
    assert problem.path == "docs/partners/registration/create-your-account.md"
    assert problem.line == len(read(page).splitlines())
    assert problem.msg.startswith("broken link 'missing-guide.md': no article ")
    assert read(site_dir / "us/2026.11" / ACCOUNT_PAGE) == before
    leftovers = [p.name for p in (site_dir / "us").iterdir() if p.name.startswith(".staging")]
    assert leftovers == []


def test_cli_build_all_builds_every_market(project, capsys):
    code = main(["--project", str(project), "build", "--all", "--site-dir",
                 str(project / "out"), "--jobs", "2"])
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    cfg = config_mod.load(project)
    for code_ in cfg.markets:
        assert (project / "out" / code_ / "2026.11/index.html").exists()
        assert f"built {code_} 2026.11" in out
    jp = read(project / "out/jp/2026.11/buyers/buyer-protection/buyer-protection-program/"
                        "index.html")
    assert '<html lang="ja"' in jp and "購入者保護" in jp


def test_staging_folders_whose_lock_is_free_are_swept_whatever_their_age(tmp_path):
    from helpgen import atomic

    dead = tmp_path / ".staging-2026.11-abc"  # a killed build's: nobody holds its lock
    (dead / "x").mkdir(parents=True)
    (tmp_path / ".alias-latest-abc").mkdir()
    keep = tmp_path / "2026.11"
    (keep / "x").mkdir(parents=True)
    live = atomic.make_staging(tmp_path, ".staging-2026.11-")  # a running build's, brand new
    try:
        removed = atomic.sweep(tmp_path)
        assert sorted(p.name for p in removed) == [".alias-latest-abc", ".staging-2026.11-abc"]
        assert not dead.exists() and live.path.is_dir() and keep.is_dir()
    finally:
        live.close()
    assert atomic.sweep(tmp_path) == [live.path]  # released: the next sweep takes it


def test_shared_theme_cache_gives_byte_identical_sites(tmp_path):
    """build --all workers reuse compiled templates and the theme listing across markets;
    a market built that way must equal one built from scratch."""
    from helpgen import content

    cfg = config_mod.load(REPO)
    corpus = content.load(cfg)
    cache, templates = site.ThemeCache(), {}
    for code in ("us", "jp"):
        site.build_staged(site.prepare(cfg, code, "2026.11", corpus, templates, cache), tmp_path)
    assert cache.bytecode.store and cache.listings  # the caches were used
    shared = site.build_staged(site.prepare(cfg, "de", "2026.11", corpus, templates, cache),
                               tmp_path)
    fresh = site.build_staged(site.prepare(cfg, "de", "2026.11", corpus), tmp_path)
    files = sorted(p.relative_to(shared) for p in shared.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert [f for f in files if (shared / f).read_bytes() != (fresh / f).read_bytes()] == []


def test_theme_listing_skips_dot_folders_and_lists_what_mkdocs_would():
    """The theme's file listing walks past folders MkDocs' filter drops whole (Material's
    .icons); the files MkDocs copies are the same as with Jinja's full listing, and the
    filter is still the one helpgen recognises (else the shortcut is silently off)."""
    from mkdocs.config import load_config
    from mkdocs.structure.files import Files

    mk = load_config(str(config_mod.load(REPO).mkdocs_file))
    env = mk.theme.get_env()
    real_list, seen = env.list_templates, []

    def spy(extensions=None, filter_func=None):
        seen.append(filter_func)
        return real_list(extensions, filter_func)

    env.list_templates = spy
    Files([]).add_files_from_theme(env, mk)
    (mkdocs_filter,) = seen
    assert mkdocs_filter.__qualname__ == site.THEME_FILES_FILTER
    full = real_list(filter_func=mkdocs_filter)
    assert any(f.startswith("assets/javascripts/bundle.") for f in full)
    assert site.theme_files(env.loader, mkdocs_filter) == full
    assert len(env.loader.list_templates()) > 10 * len(full)  # the walk it saves


def test_templates_compiled_by_an_earlier_build_give_byte_identical_sites(tmp_path,
                                                                          monkeypatch):
    """A build's compiled templates are kept on disk (ThemeCache(persist=True)); a later
    build (another process: a new cache) that loads them instead of compiling must
    equal a build from scratch."""
    import jinja2

    cfg = config_mod.load(REPO)
    folder = tmp_path / "bytecode"
    folder.mkdir()
    site.build_staged(site.prepare(cfg, "us", "2026.11",
                                   theme_cache=site.ThemeCache(True, folder)), tmp_path)
    assert len(list(folder.glob("helpgen-*.cache"))) > 20
    compiled = []
    real = jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    later = site.build_staged(site.prepare(cfg, "de", "2026.11",
                                           theme_cache=site.ThemeCache(True, folder)), tmp_path)
    monkeypatch.undo()
    assert len(compiled) < 5  # only the search plugin's string templates, not the theme
    fresh = site.build_staged(site.prepare(cfg, "de", "2026.11"), tmp_path)
    files = sorted(p.relative_to(later) for p in later.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert [f for f in files if (later / f).read_bytes() != (fresh / f).read_bytes()] == []


def test_publish_writes_the_published_markets_file(us_uk_de):
    import json as json_mod

    data = json_mod.loads((us_uk_de / "markets.json").read_text(encoding="utf-8"))
    assert [m["code"] for m in data["markets"]] == ["us", "uk", "de"]
    assert all(m["versions"] for m in data["markets"])
    assert [m["default"] for m in data["markets"]] == ["2026.11"] * 3  # what latest serves
    assert [m["language_name"] for m in data["markets"]] == ["English", "English", "Deutsch"]


def test_each_version_lists_its_pages_so_the_market_switch_can_keep_the_article(us_uk_de):
    import json as json_mod

    def pages(market: str) -> dict:
        path = us_uk_de / market / "2026.11" / site.ARTICLES_FILE
        return json_mod.loads(path.read_text(encoding="utf-8"))["pages"]

    uk, us = pages("uk"), pages("us")
    assert uk["partners/registration/uk-only-notice/"] == "uk-only-notice"
    assert "partners/registration/uk-only-notice/" not in us
    assert us["partners/support-tickets/submit-a-ticket/"] == "submit-a-ticket"
    assert set(us) < set(uk) and list(us) == sorted(us)


def test_root_market_chooser_is_styled_and_lists_only_published_markets(us_uk_de):
    page = (us_uk_de / "index.html").read_text(encoding="utf-8")
    assert "<style>" in page and "#4051b5" in page  # Material's indigo, not a bare list
    assert '<meta name="viewport"' in page
    assert page.count('<li><a href="') == 3
    assert '<a href="de/" hreflang="de"><strong lang="de">Deutschland</strong>' \
           '<span lang="de">Deutsch</span></a>' in page
    assert 'href="jp/"' not in page


@pytest.mark.parametrize("markets", [["us"], ["us", "de"]])
def test_large_indexes_written_by_several_processes_build(project, monkeypatch, markets):
    """Past index.PARALLEL_MIN_DOCS the index child starts Whoosh's own writer processes,
    which a daemonic child may not do."""
    from helpgen import index

    monkeypatch.setattr(index, "PARALLEL_MIN_DOCS", 5)
    cfg = config_mod.load(project)
    if len(markets) == 1:
        site.build(cfg, markets[0], "2026.11", ["latest"], project / "site",
                   index_dir=project / "search_index")
    else:
        site.build_all(cfg, "2026.11", ["latest"], project / "site", jobs=2, markets=markets,
                       index_dir=project / "search_index")
    for code in markets:
        meta = project / "search_index" / code / "2026.11" / "helpgen-index.json"
        assert meta.is_file()
