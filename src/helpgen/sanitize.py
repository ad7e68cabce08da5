"""No scripts from content: an allowlist for the HTML that articles produce.

Articles are Markdown, and Markdown lets an author write raw HTML, add attributes
(``{: onclick=... }`` with ``attr_list``) and link to any URL. :class:`SafeHtmlExtension`,
added to every page's Markdown converter by the build, closes each of those doors:

* **Raw HTML** (blocks and inline tags) is checked against :data:`TAGS` and
  :data:`ATTRIBUTES`. HTML that passes a strict reading (every ``<`` starts an allowed
  tag or a comment, every attribute is allowed, every URL is safe) is kept byte for
  byte; anything else goes through the ``nh3`` sanitizer (blocks) or is rebuilt from its
  allowed attributes (single inline tags). ``<script>``, ``<style>``, frames, objects,
  ``<base>``, ``<meta>``, ``<link>``, ``<svg>``/``<math>`` and ``<template>`` never
  survive.
* **The element tree** Markdown builds loses event handlers (``on*``), ``srcdoc``,
  ``formaction`` and URLs whose scheme is not ``http``, ``https``, ``mailto`` or
  ``tel`` (no ``javascript:``, ``data:`` or ``vbscript:``), and styles that load
  anything.

The forms the Submit-a-ticket page needs (``form``, ``input``, ``select``, ``textarea``,
``button``, ``label``) are allowed. ``build.allow_raw_html: true`` leaves raw HTML alone
for trusted projects. No MkDocs import: the extension is plain Python-Markdown.
"""

from __future__ import annotations

import html as _html
import re
import xml.etree.ElementTree as etree
from typing import Any

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

#: Tags (with their content) that never reach a page.
DROPPED = frozenset({"script", "style", "iframe", "frame", "frameset", "object", "embed",
                     "applet", "noscript", "template", "svg", "math", "base", "meta", "link",
                     "title", "xmp", "plaintext", "noembed", "noframes", "portal", "param"})
#: Tags raw HTML may use.
TAGS = frozenset((set(nh3.ALLOWED_TAGS) | {
    "form", "input", "select", "option", "optgroup", "label", "textarea", "button",
    "fieldset", "legend", "section", "output", "progress", "meter", "main", "picture",
    "source", "video", "audio", "track", "kbd", "figure", "figcaption", "mark", "small",
}) - DROPPED)
GENERIC_ATTRIBUTES = frozenset({"id", "class", "title", "lang", "dir", "role", "hidden",
                                "tabindex", "style", "translate"})
ATTRIBUTE_PREFIXES = ("data-", "aria-")
ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "name", "target", "rel", "hreflang", "download"}),
    "img": frozenset({"src", "alt", "width", "height", "loading", "decoding", "srcset",
                      "sizes"}),
    "source": frozenset({"src", "srcset", "type", "media", "sizes"}),
    "video": frozenset({"src", "controls", "width", "height", "poster", "muted", "loop",
                        "playsinline", "preload"}),
    "audio": frozenset({"src", "controls", "muted", "loop", "preload"}),
    "track": frozenset({"src", "kind", "srclang", "label", "default"}),
    "form": frozenset({"action", "method", "autocomplete", "novalidate", "name"}),
    "input": frozenset({"type", "name", "value", "placeholder", "maxlength", "minlength",
                        "required", "autocomplete", "checked", "disabled", "readonly", "min",
                        "max", "step", "pattern", "size", "list", "multiple", "accept"}),
    "select": frozenset({"name", "multiple", "required", "disabled", "size", "autocomplete"}),
    "option": frozenset({"value", "selected", "disabled", "label"}),
    "optgroup": frozenset({"label", "disabled"}),
    "textarea": frozenset({"name", "rows", "cols", "maxlength", "minlength", "placeholder",
                           "required", "disabled", "readonly", "wrap", "autocomplete"}),
    "button": frozenset({"type", "name", "value", "disabled"}),
    "label": frozenset({"for"}),
    "output": frozenset({"for", "name"}),
    "progress": frozenset({"value", "max"}),
    "meter": frozenset({"value", "min", "max", "low", "high", "optimum"}),
    "fieldset": frozenset({"disabled", "name"}),
    "td": frozenset({"colspan", "rowspan", "align", "headers"}),
    "th": frozenset({"colspan", "rowspan", "align", "scope", "headers", "abbr"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "li": frozenset({"value"}),
    "time": frozenset({"datetime"}),
    "data": frozenset({"value"}),
    "details": frozenset({"open", "name"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "del": frozenset({"cite", "datetime"}),
    "ins": frozenset({"cite", "datetime"}),
    "abbr": frozenset(),
}
URL_ATTRIBUTES = frozenset({"href", "src", "action", "cite", "poster", "srcset", "background",
                            "formaction", "xlink:href", "ping", "longdesc", "manifest"})
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
#: Attributes removed from any element, generated or raw.
FORBIDDEN_ATTRIBUTES = frozenset({"srcdoc", "formaction", "ping", "xmlns", "xlink:href"})

_TAG_RE = re.compile(
    r"<(?P<end>/?)(?P<name>[A-Za-z][A-Za-z0-9-]*)"
    r"(?P<attrs>(?:\s+[^\s\"'<>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)"
    r"\s*(?P<close>/?)>")
_ATTR_RE = re.compile(r"([^\s\"'<>/=]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?")
_COMMENT_RE = re.compile(r"<!--(?!-?>)(?:(?!--).)*?-->", re.S)
_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_STYLE_OK_RE = re.compile(r"^[\w\s:;#%.,()'\"/+-]*$")


def url_is_safe(value: str) -> bool:
    """A relative URL, a ``#fragment`` or one of :data:`URL_SCHEMES` (entities decoded,
    whitespace and control characters ignored, as browsers do)."""
    text = re.sub(r"[\x00-\x20\x7f]+", "", _html.unescape(value))
    m = _SCHEME_RE.match(text)
    return m is None or m.group(1).lower() in URL_SCHEMES


def style_is_safe(value: str) -> bool:
    """A style that only sets properties: nothing loaded, no expressions, no escapes."""
    text = _html.unescape(value).lower()
    return (_STYLE_OK_RE.match(text) is not None and "url(" not in text
            and "expression" not in text and "@import" not in text and "image-set" not in text)


def attribute_is_allowed(tag: str, name: str, value: str | None) -> bool:
    name = name.lower()
    if name.startswith("on") or name in FORBIDDEN_ATTRIBUTES:
        return False
    allowed = (name in GENERIC_ATTRIBUTES or name.startswith(ATTRIBUTE_PREFIXES)
               or name in ATTRIBUTES.get(tag, ()))
    if not allowed:
        return False
    if value is not None and name in URL_ATTRIBUTES:
        parts = value.split(",") if name == "srcset" else [value]
        return all(url_is_safe(p.strip().split(" ")[0]) for p in parts)
    if value is not None and name == "style":
        return style_is_safe(value)
    return True


def _attributes(text: str) -> list[tuple[str, str | None, str]]:
    """(name, decoded value or None, original text) of a tag's attribute string."""
    out = []
    for m in _ATTR_RE.finditer(text):
        raw = m.group(2)
        value = None
        if raw is not None:
            value = _html.unescape(raw[1:-1] if raw[:1] in "\"'" else raw)
        out.append((m.group(1), value, m.group(0)))
    return out


def _tag_is_clean(m: re.Match[str]) -> bool:
    tag = m.group("name").lower()
    if tag not in TAGS:
        return False
    return all(attribute_is_allowed(tag, name, value)
               for name, value, _ in _attributes(m.group("attrs")))


def is_clean(fragment: str) -> bool:
    """Whether every ``<`` of ``fragment`` starts an allowed tag (with allowed
    attributes and safe URLs) or a comment: then it is safe as it is."""
    pos = 0
    while True:
        at = fragment.find("<", pos)
        if at < 0:
            return True
        m = _COMMENT_RE.match(fragment, at)
        if m:
            pos = m.end()
            continue
        m = _TAG_RE.match(fragment, at)
        if m is None or not _tag_is_clean(m):
            return False
        pos = m.end()


def _nh3_attribute_filter(tag: str, name: str, value: str) -> str | None:
    return value if attribute_is_allowed(tag, name, value) else None


def clean_fragment(fragment: str) -> str:
    """Raw HTML made safe: kept as written when :func:`is_clean`, else sanitized."""
    if is_clean(fragment):
        return fragment
    attributes = {tag: set(names) for tag, names in ATTRIBUTES.items()}
    attributes["*"] = set(GENERIC_ATTRIBUTES)
    return nh3.clean(fragment, tags=set(TAGS), clean_content_tags=set(DROPPED),
                     attributes=attributes, attribute_filter=_nh3_attribute_filter,
                     url_schemes=set(URL_SCHEMES), link_rel=None,
                     generic_attribute_prefixes=set(ATTRIBUTE_PREFIXES), strip_comments=True)


def clean_inline_tag(tag_text: str) -> str:
    """One inline raw tag (``<kbd>``, ``</span>``, ``<img src=...>``) made safe: kept
    when clean, rebuilt from its allowed attributes, or shown as text."""
    if _COMMENT_RE.fullmatch(tag_text):
        return tag_text
    m = _TAG_RE.fullmatch(tag_text.strip())
    if m is None or m.group("name").lower() not in TAGS:
        return _html.escape(tag_text, quote=False)
    if _tag_is_clean(m):
        return tag_text
    tag = m.group("name").lower()
    if m.group("end"):
        return f"</{tag}>"
    kept = "".join(
        f" {name.lower()}" if value is None else f' {name.lower()}="{_html.escape(value)}"'
        for name, value, _ in _attributes(m.group("attrs"))
        if attribute_is_allowed(tag, name, value))
    return f"<{tag}{kept}{' /' if m.group('close') else ''}>"


# --------------------------------------------------------------------------- Markdown

def clean_element(root: etree.Element) -> None:
    """Remove dropped elements and unsafe attributes from an element tree (in place)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.lower() in DROPPED:
                pos = list(parent).index(child)
                tail = child.tail or ""
                if pos > 0:  # keep the text that followed the removed element
                    parent[pos - 1].tail = (parent[pos - 1].tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail
                parent.remove(child)
        if not isinstance(parent.tag, str):
            continue
        for name in list(parent.attrib):
            value = parent.attrib[name]
            lower = name.lower()
            bad = (lower.startswith("on") or lower in FORBIDDEN_ATTRIBUTES
                   or (lower in URL_ATTRIBUTES and not all(
                       url_is_safe(p.strip().split(" ")[0]) for p in
                       (value.split(",") if lower == "srcset" else [value])))
                   or (lower == "style" and not style_is_safe(value)))
            if bad:
                if lower in ("href", "src") and parent.tag in ("a", "img"):
                    parent.attrib[name] = "" if lower == "src" else "#"  # MkDocs expects one
                else:
                    del parent.attrib[name]


class _TreeCleaner(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        clean_element(root)
        stash = self.md.htmlStash.rawHtmlBlocks
        for i, block in enumerate(stash):  # elements md_in_html kept aside
            if isinstance(block, etree.Element):
                clean_element(block)
                stash[i] = block


class SafeHtmlExtension(Extension):
    """Makes a Markdown converter's output script-free (see the module docstring)."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        state = {"raw": 0}
        stash = md.htmlStash
        store = stash.store

        def safe_store(html: Any) -> str:
            if state["raw"] and isinstance(html, str):
                html = clean_fragment(html) if state["raw"] == 1 else clean_inline_tag(html)
            return store(html)

        stash.store = safe_store  # type: ignore[method-assign]
        _wrap(md.preprocessors, "html_block", state, 1)
        _wrap(md.inlinePatterns, "html", state, 2)
        md.treeprocessors.register(_TreeCleaner(md), "helpgen_safe_html", 1)


def _wrap(registry: Any, name: str, state: dict, mode: int) -> None:
    """While the processor ``name`` runs, stored HTML is the author's raw HTML."""
    if name not in registry:
        return
    processor = registry[name]
    method = "run" if hasattr(processor, "run") else "handleMatch"

    original = getattr(processor, method)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        state["raw"] = mode
        try:
            return original(*args, **kwargs)
        finally:
            state["raw"] = 0

    setattr(processor, method, wrapped)
