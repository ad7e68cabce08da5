"""The interface string catalog: every word the site, the panels and the CLI's site
output write themselves, in every interface language.

The catalog is the union of the YAML files in ``src/helpgen/strings/``; each maps a
dotted key to its texts by language code::

    search.did_you_mean: {en: "Did you mean", de: "Meinten Sie", ja: "もしかして", ...}

Texts may hold ``{name}`` placeholders filled by :meth:`Catalog.text`. A key defined in
two files is an error (the files are split by feature so that they merge cleanly), and
every key must exist in every language of :data:`INTERFACE_LANGUAGES` (a test checks).
A language outside that list falls back to English.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from .errors import HelpgenError

STRINGS_DIR = Path(__file__).resolve().parent / "strings"

#: Languages every catalog key is translated into.
INTERFACE_LANGUAGES = ("en", "de", "ja", "es", "fr", "it", "vi", "th")
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Catalog:
    """Texts by key and language, plus project overrides (same shape)."""

    texts: Mapping[str, Mapping[str, str]]
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def keys(self) -> list[str]:
        return sorted(self.texts)

    def text(self, key: str, language: str, /, **values: Any) -> str:
        """The text for ``key`` in ``language`` (English when not translated)."""
        if key not in self.texts:
            raise KeyError(f"unknown interface string {key!r}")
        for source in (self.overrides.get(key, {}), self.texts[key]):
            for lang in (language, language.split("_")[0].split("-")[0], FALLBACK_LANGUAGE):
                if lang in source:
                    template = source[lang]
                    return template.format_map(values) if values else template
        raise KeyError(f"interface string {key!r} has no English text")  # pragma: no cover

    def for_language(self, language: str, prefix: str = "") -> dict[str, str]:
        """Every key under ``prefix`` in ``language`` (unformatted), for page scripts."""
        return {k: self.text(k, language) for k in self.keys() if k.startswith(prefix)}

    def with_overrides(self, overrides: Mapping[str, Mapping[str, str]]) -> "Catalog":
        return Catalog(self.texts, MappingProxyType({k: dict(v) for k, v in overrides.items()}))


#: libyaml's safe loader when PyYAML has it: the catalog is read by every command, and
#: PyYAML's pure-Python parser took 80 ms for its 17 KB
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: Path) -> dict[str, dict[str, str]]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
    if not isinstance(data, dict):
        raise HelpgenError(f"{path}: the string catalog must map keys to {{language: text}}")
    out: dict[str, dict[str, str]] = {}
    for key, texts in data.items():
        if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
            raise HelpgenError(f"{path}: {key!r} must map language codes to texts")
        out[str(key)] = {str(k): v for k, v in texts.items()}
    return out


@functools.cache
def load() -> Catalog:
    """The built-in catalog (read once per process)."""
    texts: dict[str, dict[str, str]] = {}
    origin: dict[str, Path] = {}
    for path in sorted(STRINGS_DIR.glob("*.yml")):
        for key, value in _read(path).items():
            if key in texts:
                raise HelpgenError(f"{path}: {key!r} is already defined in {origin[key].name}")
            texts[key] = value
            origin[key] = path
    return Catalog(MappingProxyType(texts))
