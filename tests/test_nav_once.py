"""The navigation and the theme's page-independent partials rendered once per build
(helpgen's partials/nav-item.html, helpgen.site.NavCache and site.FRAGMENTS) give
byte-identical pages to Material's per-page rendering."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest

from helpgen import analysis, config as config_mod, site

from projectkit import build_both_ways, copy_project, differing, write_article

MATERIAL_HEAD = "{#-\n  This file was automatically generated - do not edit\n-#}\n"
OURS = site.THEME_DIR / "partials" / "nav-item.html"


def _material_nav_item() -> str:
    import material

    return (Path(material.__file__).parent / "templates/partials/nav-item.html").read_text(
        encoding="utf-8")


def test_nav_item_is_materials_own_with_the_cache_around_it():
    """An upgrade of Material that changes nav-item.html fails here: derive ours again."""
    theirs = _material_nav_item()
    assert theirs.startswith(MATERIAL_HEAD)
    expected = (theirs[len(MATERIAL_HEAD):]
                .replace("{% macro render(nav_item, path, level, parent) %}",
                         "{% macro render_uncached(nav_item, path, level, parent) %}")
                .replace("| url }}", "| helpgen_nav_url }}"))
    ours = OURS.read_text(encoding="utf-8")
    body = ours[ours.index("-#}\n") + 4: ours.index("{% macro render(nav_item")]
    assert body == expected
    assert "| url }}" not in body


def test_language_is_materials_own_with_the_translations_line():
    """An upgrade of Material that changes language.html fails here: derive ours again."""
    import material

    theirs = (Path(material.__file__).parent / "templates/partials/language.html").read_text(
        encoding="utf-8")
    assert theirs.startswith(MATERIAL_HEAD)
    ours = (site.THEME_DIR / "partials" / "language.html").read_text(encoding="utf-8")
    assert ours[ours.index("-#}\n") + 4:] == (
        theirs[len(MATERIAL_HEAD):]
        + "{% set t = helpgen_translations.of(t, lang, fallback) %}\n")


def _build_both(root: Path, markets: tuple[str, ...]) -> tuple[int, list[str], int]:
    """(files compared, files that differ, cached items) of each market built with the
    navigation and partials rendered per page (Material) and once (helpgen)."""

    def per_page(state: site.BuildState) -> None:
        state.nav_once = False
        state.fragments_once = False

    built = build_both_ways(root, markets, per_page)
    compared, differ = differing(built)
    cached = sum(b.count(b"md-nav__item") for both in built.values()
                 for rel, b in both[True].items() if rel.endswith(".html"))
    return compared, differ, cached


def test_real_project_pages_are_byte_identical(tmp_path):
    root = copy_project(tmp_path / "project")
    compared, differ, items = _build_both(root, ("us", "de", "jp"))
    assert differ == []
    assert compared > 100 and items > 1000


@pytest.mark.parametrize("prune", [True, False])
def test_grouped_navigation_is_byte_identical(tmp_path, prune):
    """Alphabetical groups (nested sections), pruned and unpruned, index pages."""
    root = copy_project(tmp_path / "project")
    rnd = random.Random(3)
    for i in range(45):
        topic, audience = rnd.choice([("registration", "partners"), ("account", "partners"),
                                      ("support-channels", "sellers")])
        write_article(root, f"{audience}/{topic}/gen-{i:02d}.md",
                      f"id: gen-{i:02d}\ntitle: {rnd.choice('ABCDEFGH')} generated {i}\n"
                      f"summary: Generated.\naudience: {audience}\ntopic: {topic}\n"
                      "last_reviewed: 2026-11-25",
                      f"# Generated {i}\n\nText.\n\n## Part\n\nMore [home](../../index.md).\n")
    with (root / "helpgen.yml").open("a", encoding="utf-8") as fh:
        fh.write(f"build: {{navigation_prune: {str(prune).lower()}, nav_max_items: 6}}\n")
    compared, differ, _ = _build_both(root, ("us",))
    assert differ == []
    page = (root / "out-True/us/partners/registration/gen-00/index.html").read_text("utf-8")
    assert "md-nav__link--active" in page and "md-nav__item--active" in page


def test_fragments_depend_on_nothing_but_the_build_and_their_links():
    """A partial rendered once per build may read the config and translations, and
    write links only as ``| url }}`` (the placeholders); an upgrade of Material that
    makes one of them read the page fails here."""
    import re

    import material

    dirs = [site.THEME_DIR, Path(material.__file__).parent / "templates"]
    for name in sorted(site.FRAGMENTS):
        source = next((d / name).read_text(encoding="utf-8") for d in dirs if (d / name).is_file())
        code = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
        names = set(re.findall(r"[A-Za-z_][\w.]*", " ".join(
            re.findall(r"\{[{%](.*?)[%}]\}", code, flags=re.S))))
        assert not {n for n in names if n.split(".")[0] in {"page", "base_url", "nav_item"}}, name
        # the url filter's result goes straight into the HTML, no further filter or test
        assert len(re.findall(r"\|\s*url\b", code)) == len(re.findall(r"\|\s*url\s*\}\}", code))


def test_a_projects_own_partial_is_rendered_per_page(tmp_path):
    """theme.custom_dir may replace a partial helpgen renders once (the search dialog)
    with one that reads the page: each page then gets its own."""
    root = copy_project(tmp_path / "project")
    (root / "overrides" / "partials").mkdir(parents=True)
    (root / "overrides" / "partials" / "search.html").write_text(
        '<div class="own-search">{{ page.title }}</div>\n', encoding="utf-8")
    mkdocs_yml = root / "mkdocs.yml"
    mkdocs_yml.write_text(mkdocs_yml.read_text(encoding="utf-8").replace(
        "  name: material\n", "  name: material\n  custom_dir: overrides\n"), encoding="utf-8")
    cfg = config_mod.load(root)
    site.run_mkdocs(site.prepare(cfg, "us", "2026.11"), root / "out")
    shown = {p.read_text(encoding="utf-8").split('<div class="own-search">')[1].split("<")[0]
             for p in (root / "out" / "partners").rglob("index.html")}
    assert len(shown) > 3


def test_navigation_cache_is_used(tmp_path):
    """The cached rendering is actually taken: fewer navigation renders than pages x items."""
    root = copy_project(tmp_path / "project")
    cfg = config_mod.load(root)
    state = site.prepare(cfg, "us", "2026.11")
    caches: list[site.NavCache] = []
    real = site.NavCache.__init__

    def remember(self):
        real(self)
        caches.append(self)

    site.NavCache.__init__ = remember
    try:
        site.run_mkdocs(state, root / "out")
    finally:
        site.NavCache.__init__ = real
    html = [c for c in caches if c.html]
    assert len(html) == 1 and html[0].recording == 0
    # each inactive item rendered once per build, not once per page
    pages = len(list((root / "out").rglob("index.html")))
    assert 0 < len(html[0].html) < pages * 3
    # the sections a page is in: one shell each, with a mark where each child goes
    shells = {k: v for k, v in html[0].html.items() if k[0] == "shell"}
    assert len(shells) >= 3 and all(html[0]._mark.search(v) for v in shells.values())


def _clean_reference(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return " ".join(text.split())


def test_clean_text_fast_path_matches_the_character_scan():
    rnd = random.Random(11)
    alphabet = ("abc Zß\t\n\r\x0b\x0c\x00\x1f\x7f\u00a0\u00ad\u200b\u2028\u3000ｱ１"
                "é\u0301\ufeff\U0001f600\ue000")
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 30)))
        assert analysis.clean_text(text) == _clean_reference(text), repr(text)
    assert analysis.clean_text("a\tb\nc", 3) == "a b"


def test_page_relative_links_match_mkdocs_normalize_url():
    """NavCache splits the page's path once per page: its links must be exactly MkDocs'
    ``normalize_url(link, page=page)``, plain folder links and every other kind (dot
    segments, anchors, schemes, files, the site root) alike."""
    from mkdocs.utils import normalize_url

    class Page:
        def __init__(self, url: str) -> None:
            self.url = url

    segments = ["a", "b", "x.y", "..", ".", "c d", "%20", "é", "", "m:n", "#h", "?q",
                "index.html", "synthetic-00001"]
    rng = random.Random(5)

    def path() -> str:
        url = "/".join(rng.choice(segments) for _ in range(rng.randint(0, 4)))
        url += "/" if rng.random() < 0.7 else ""
        return ("/" if rng.random() < 0.05 else "") + url

    cache = site.NavCache()
    plain = 0
    for _ in range(20000):
        page = Page(path().lstrip("/") if rng.random() < 0.9
                    else rng.choice(["", "index.html", "a/b.html"]))
        link = path() if rng.random() < 0.95 else "https://example.com/" + path()
        plain += bool(site._PLAIN_FOLDER.fullmatch(link))
        assert cache._relative_to(page)(link) == normalize_url(link, page=page), (page.url,
                                                                                  link)
    assert plain > 2000  # the fast path was exercised, not only MkDocs' own
