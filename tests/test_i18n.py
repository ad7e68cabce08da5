"""Pages in the market's language: CLDR names, titles, categories, the 404 page, the
fallback notice, English-only markers, the panels' strings and the project's
``strings:`` wording. Real builds of the real project in temporary folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpgen import catalog, site
from helpgen import config as config_mod
from helpgen.errors import HelpgenError

from projectkit import REPO, copy_project

PANEL_JS = REPO / "src" / "helpgen" / "theme" / "assets" / "helpgen"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def title(html: str) -> str:
    return re.search(r"<title>([^<]*)</title>", html).group(1)


def strings_of(html: str) -> dict:
    found = re.search(r'<script id="helpgen-strings" type="application/json">(.*?)</script>',
                      html, re.S)
    assert found, "page without its helpgen-strings"
    return json.loads(found.group(1))


def selector(html: str) -> list[str]:
    return [" ".join(t.split()) for t in
            re.findall(r'class="md-select__link">([^<]*)</a>', html)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("i18n") / "project")
    cfg = config_mod.load(root)
    for market in ("us", "de", "jp", "vn"):
        site.build(cfg, market, "2026.11", ["latest"], root / "site")
    return root / "site"


def test_market_names_come_from_cldr_in_the_page_language(built):
    de = read(built / "de/2026.11/index.html")
    assert "<h1 id=" in de and "Hilfe-Center Deutschland" in de
    labels = selector(de)
    assert "Vereinigtes Königreich (Englisch)" in labels
    assert "Japan (Japanisch)" in labels and "Deutschland (Deutsch)" in labels
    assert not any("United" in label or "Germany" in label for label in labels)
    jp = read(built / "jp/2026.11/index.html")
    assert "イギリス（英語）" in selector(jp) and "日本（日本語）" in selector(jp)
    us = selector(read(built / "us/2026.11/index.html"))
    assert "United Kingdom (English)" in us and "Germany (German)" in us
    assert "Việt Nam" in read(built / "vn/2026.11/index.html")


def test_titles_name_the_site_once_in_the_market_language(built):
    assert title(read(built / "de/2026.11/index.html")) == "Hilfe-Center Deutschland"
    assert title(read(built / "us/2026.11/index.html")) == "United States Help Center"
    assert title(read(built / "jp/2026.11/index.html")) == "ヘルプセンター（日本）"
    ticket = read(built / "de/2026.11/submit-a-ticket/index.html")
    assert title(ticket) == "Ticket einreichen - Hilfe-Center Deutschland"
    assert re.search(r'md-header__topic">\s*<span class="md-ellipsis">\s*Hilfe-Center '
                     r"Deutschland\s*</span>", ticket)
    for page in (built / "de/2026.11").rglob("*.html"):
        text = read(page)
        if "<title>Redirecting" not in text:
            assert title(text).rsplit(" - ", 1)[-1] == "Hilfe-Center Deutschland", page


def test_ticket_categories_and_the_404_page_are_translated(built):
    de = read(built / "de/2026.11/submit-a-ticket/index.html")
    assert '<option value="order-status">Bestellstatus</option>' in de
    assert "Order status" not in de
    jp = read(built / "jp/2026.11/submit-a-ticket/index.html")
    assert '<option value="cancellation">注文のキャンセル</option>' in jp
    missing = read(built / "de/2026.11/404.html")
    assert "<h1>Seite nicht gefunden</h1>" in missing and "Not found" not in missing
    assert "<h1>ページが見つかりません</h1>" in read(built / "jp/2026.11/404.html")
    assert strings_of(missing)["deflect.helpful"] == "War das hilfreich?"


def test_fallback_notice_is_wholly_in_the_page_language(built):
    page = read(built / "jp/2026.11/partners/registration/who-can-register/index.html")
    notice = re.search(r'<div class="admonition info">(.*?)</div>', page, re.S).group(1)
    assert "まだ翻訳されていません" in notice and "英語版を表示しています" in notice
    assert not re.search(r"[A-Za-z]{3,}", re.sub(r"<[^>]+>", "", notice))
    vn = read(built / "vn/2026.11/partners/registration/who-can-register/index.html")
    assert '<p class="admonition-title">Chưa được dịch</p>' in vn
    assert "not yet" not in vn.lower()


def test_english_only_articles_are_marked_on_the_home_page(built):
    for market, marker in (("de", " (Englisch)"), ("jp", "（英語）")):
        home = read(built / f"{market}/2026.11/index.html")
        # featured entries ("link marker: summary") and topic cards ("link marker</li>")
        items = re.findall(r'<li><a href="([^"]+)">[^<]*</a>([^:<]*)(?::|</li>)', home)
        assert len(items) > 10
        for href, after in items:
            target = read(built / f"{market}/2026.11" / href / "index.html")
            shown_in_english = '<div class="admonition info">' in target
            assert (after == marker) == shown_in_english, (market, href, after)
        assert sum(after == marker for _, after in items) >= 3
        assert sum(after == "" for _, after in items) >= 3
    us = read(built / "us/2026.11/index.html")
    assert not re.search(r"<li><a [^>]*>[^<]*</a>[^:<]+(?::|</li>)", us)  # English pages carry no marker


@pytest.mark.parametrize("market,language", [("vn", "vi"), ("de", "de"), ("jp", "ja")])
def test_every_page_hands_the_panels_their_words_in_its_language(built, market, language):
    cat = catalog.load()
    page = strings_of(read(built / f"{market}/2026.11/index.html"))
    for key in ("search.did_you_mean", "deflect.solved", "deflect.helpful", "deflect.thanks"):
        assert page[key] == cat.texts[key][language]
    assert page["deflect.yes"] != "Yes" or language == "en"


def test_panel_scripts_hold_no_word_tables_of_their_own():
    for name in ("search.js", "deflect.js"):
        text = read(PANEL_JS / name)
        for foreign in ("Meinten Sie", "Das hat meine Frage", "もしかして", "これで解決"):
            assert foreign not in text, (name, foreign)
        assert "helpgen-strings" in text


# --------------------------------------------------------------------------- overrides

def with_config(root: Path, extra: str, replace: tuple[str, str] | None = None) -> Path:
    path = root / "helpgen.yml"
    text = read(path)
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_project_strings_and_market_names_override_the_catalog_and_cldr(tmp_path):
    root = copy_project(tmp_path / "project")
    with_config(root, '\nstrings:\n  de: {site.name: "Hilfe", page.not_found: "Weg"}\n'
                      '  ja: {listing.in_english: "［英文］"}\n',
                replace=("  uk: {language: en,", "  uk: {name: Britain, language: en,"))
    cfg = config_mod.load(root)
    assert cfg.markets["uk"].name_in("de") == "Britain"
    assert cfg.markets["de"].name_in("ja") == "ドイツ"
    for market in ("de", "jp"):
        site.build(cfg, market, "2026.11", ["latest"], root / "site")
    de = read(root / "site/de/2026.11/index.html")
    assert title(de) == "Hilfe Deutschland"
    assert "Britain (Englisch)" in selector(de)
    assert "<h1>Weg</h1>" in read(root / "site/de/2026.11/404.html")
    assert "</a>［英文］:" in read(root / "site/jp/2026.11/index.html")
    jp = read(root / "site/jp/2026.11/index.html")
    assert title(jp) == "ヘルプセンター（日本）"  # de's wording only in de


def test_a_branded_site_name_in_mkdocs_yml_is_kept_in_every_language(tmp_path):
    root = copy_project(tmp_path / "project")
    mk = root / "mkdocs.yml"
    mk.write_text(read(mk).replace("site_name: Help Center", "site_name: Acme Care"),
                  encoding="utf-8")
    cfg = config_mod.load(root)
    assert site.site_title(cfg, cfg.markets["de"], "Acme Care") == "Acme Care Deutschland"
    assert site.site_title(cfg, cfg.markets["de"], "Help Center") == "Hilfe-Center Deutschland"


def error_of(root: Path) -> str:
    with pytest.raises(HelpgenError) as exc:
        config_mod.load(root)
    return str(exc.value)


def line_of(path: Path, needle: str) -> int:
    return next(i for i, t in enumerate(read(path).splitlines(), 1) if needle in t)


def test_unknown_string_key_language_or_placeholder_is_a_config_error(tmp_path):
    root = copy_project(tmp_path / "project")
    path = with_config(root, "\nstrings:\n  de:\n    site.nam: Hilfe\n"
                             "    listing.in_english: '({lang})'\n"
                             "  pt:\n    site.name: Central de ajuda\n")
    message = error_of(root)
    assert f"helpgen.yml:{line_of(path, 'site.nam:')}:5: error: strings.de: unknown " \
           "interface string 'site.nam' (did you mean 'site.name'?); allowed: " in message
    assert "deflect.helpful" in message  # the allowed keys are listed
    assert f"helpgen.yml:{line_of(path, '  pt:')}:3: error: strings: unknown language " \
           "'pt'; allowed: en, de, ja, es, fr, it, vi, th" in message
    assert "strings.de.listing.in_english: unknown placeholder {lang}; allowed: (none)" \
        in message


def test_market_without_a_name_needs_a_locale_cldr_can_name(tmp_path):
    root = copy_project(tmp_path / "project")
    path = with_config(root, "", replace=("  sg: {language: en, locale: en_SG,",
                                          "  sg: {language: en, locale: en,"))
    message = error_of(root)
    assert f"helpgen.yml:{line_of(path, '  sg:')}:" in message
    assert "market 'sg': CLDR has no country for locale 'en'; give the market a name" in message
    with_config(root, "", replace=("  sg: {language: en, locale: en,",
                                   "  sg: {name: Global, language: en, locale: en,"))
    cfg = config_mod.load(root)
    assert cfg.markets["sg"].name_in("ja") == "Global"
