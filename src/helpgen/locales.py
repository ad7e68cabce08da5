"""Country and language names from CLDR (through Babel), in every display language.

A market is named after the country of its ``locale`` (``de_DE`` -> "Deutschland" on
German pages, "ドイツ" on Japanese ones) and a language after its code ("Englisch",
"英語"), so a project does not translate names CLDR already has. Pure: the names are
looked up once, when the configuration is validated, and kept on the records.
"""

from __future__ import annotations

from collections.abc import Iterable


def _cldr(language: str):
    """Babel's locale for ``language``, or None when CLDR does not know it."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def territory(locale: str) -> str | None:
    """The country code of ``locale`` (``en_GB`` -> ``GB``), if it names one CLDR knows."""
    parsed = _cldr(locale)
    return parsed.territory if parsed is not None and parsed.territory else None


def _names(table: str, code: str, display: Iterable[str]) -> dict[str, str]:
    """``code`` looked up in CLDR's ``table`` (``territories``, ``languages``) of each
    display language that knows it."""
    out = {}
    for lang in display:
        parsed = _cldr(lang)
        name = getattr(parsed, table).get(code) if parsed is not None else None
        if name:
            out[lang] = name
    return out


def territory_names(code: str, display: Iterable[str]) -> dict[str, str]:
    """The name of country ``code`` in each display language CLDR knows it in."""
    return _names("territories", code, display)


def language_names(code: str, display: Iterable[str]) -> dict[str, str]:
    """The name of language ``code`` in each display language CLDR knows it in
    ("Englisch" in ``de``); in its own language it is the autonym ("Deutsch")."""
    return _names("languages", code, display)
