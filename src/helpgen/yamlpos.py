"""YAML loading that remembers where each value came from (line and column).

PyYAML's composer keeps marks on nodes; we walk the node tree once and record the
1-based position of every key and value so errors can point at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass
class Located:
    """Parsed YAML data plus positions keyed by path tuples like ``("markets", "us")``."""

    data: Any
    keys: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    values: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def where(self, *path: Any, value: bool = False) -> tuple[int | None, int | None]:
        """Line/col of ``path`` (its value when ``value``), falling back to the parent."""
        table = self.values if value else self.keys
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.keys:
                return self.keys[p]
            p = p[:-1]
        return (None, None)


# libyaml's parser (when PyYAML has it) with PyYAML's safe constructor and resolver: the
# nodes still carry line/column marks, and front matter of thousands of articles parses
# several times faster.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    pass


# YAML 1.1 turns `no` into False and `2026-11-25` into a date; we want the
# timestamp (dates are validated by the schema) but not yes/no/on/off booleans
# silently swallowing market codes such as `no`.
# (copy the table first: it is shared with yaml.SafeLoader, which MkDocs uses)
_Loader.yaml_implicit_resolvers = {
    ch: list(resolvers) for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _ch, _resolvers in list(_Loader.yaml_implicit_resolvers.items()):
    _Loader.yaml_implicit_resolvers[_ch] = [
        (tag, rx) for tag, rx in _resolvers if tag != "tag:yaml.org,2002:bool"
    ]
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class Refused(yaml.MarkedYAMLError):
    """YAML that is valid but not accepted here (anchors, aliases, oversized text).

    ``problem`` is the whole message (not prefixed with "invalid YAML" by callers) and
    ``problem_mark`` where it is.
    """


MAX_CHARS = 256 * 1024  # a front matter or helpgen.yml is never close to this


def _refuse(text: str, max_chars: int | None) -> None:
    """Anchors and aliases let a few hundred bytes expand into gigabytes (the
    "billion laughs"); no helpgen file needs them, so they are refused before the
    document is composed."""
    if max_chars is not None and len(text) > max_chars:
        raise Refused(problem=f"the YAML is {len(text):,} characters; at most {max_chars:,} "
                      "are allowed here")
    if "&" not in text and "*" not in text:
        return
    scanner = _Base(text)
    try:
        while True:
            token = scanner.get_token()
            if token is None:
                return
            if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
                kind = "anchor" if isinstance(token, yaml.AnchorToken) else "alias"
                sign = "&" if kind == "anchor" else "*"
                raise Refused(problem=f"YAML {kind} '{sign}{token.value}' is not allowed "
                              "(anchors and aliases can blow up into huge documents); "
                              "write the value out", problem_mark=token.start_mark)
    finally:
        scanner.dispose()


def load(text: str, line_offset: int = 0, max_chars: int | None = MAX_CHARS) -> Located:
    """Parse ``text``; raise ``yaml.YAMLError`` (with marks) on syntax errors and
    :class:`Refused` for anchors, aliases or more than ``max_chars`` characters."""
    _refuse(text, max_chars)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    located = Located(data)

    def walk(n: yaml.Node, path: tuple) -> None:
        located.values[path] = (n.start_mark.line + 1 + line_offset, n.start_mark.column + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                located.keys[path + (key,)] = (
                    k.start_mark.line + 1 + line_offset,
                    k.start_mark.column + 1,
                )
                walk(v, path + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                located.keys[path + (i,)] = (
                    v.start_mark.line + 1 + line_offset,
                    v.start_mark.column + 1,
                )
                walk(v, path + (i,))

    walk(node, ())
    return located
