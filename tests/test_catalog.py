"""The interface string catalog: complete in every interface language, no key twice."""
from __future__ import annotations

import string

import pytest

from helpgen import catalog
from helpgen.errors import HelpgenError


def test_every_key_exists_in_every_interface_language():
    cat = catalog.load()
    missing = [(key, lang) for key in cat.keys() for lang in catalog.INTERFACE_LANGUAGES
               if not cat.texts[key].get(lang, "").strip()]
    assert not missing, f"untranslated interface strings: {missing}"


def test_translations_use_the_same_placeholders_as_english():
    cat = catalog.load()
    names = lambda text: sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)
    wrong = [(key, lang) for key in cat.keys() for lang, text in cat.texts[key].items()
             if names(text) != names(cat.texts[key]["en"])]
    assert not wrong


def test_unknown_language_falls_back_to_english_and_overrides_win():
    cat = catalog.load()
    assert cat.text("site.name", "xx") == cat.text("site.name", "en")
    assert cat.text("site.name", "de_DE") == cat.texts["site.name"]["de"]
    over = cat.with_overrides({"site.name": {"de": "Hilfe"}})
    assert over.text("site.name", "de") == "Hilfe"
    assert over.text("site.name", "ja") == cat.texts["site.name"]["ja"]
    with pytest.raises(KeyError):
        cat.text("no.such.key", "en")


def test_a_key_in_two_files_is_refused(tmp_path, monkeypatch):
    (tmp_path / "a.yml").write_text("x.y: {en: one}\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("x.y: {en: two}\n", encoding="utf-8")
    monkeypatch.setattr(catalog, "STRINGS_DIR", tmp_path)
    catalog.load.cache_clear()
    try:
        with pytest.raises(HelpgenError, match="already defined in a.yml"):
            catalog.load()
    finally:
        monkeypatch.undo()
        catalog.load.cache_clear()
