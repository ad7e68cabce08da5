"""Where the code is in a Markdown text: fenced blocks and inline code spans.

One rule, used wherever helpgen must tell code from prose: templates keep Jinja inside
code literal (:mod:`helpgen.render`), ``check`` ignores links and ``{{`` written inside
code (:mod:`helpgen.check`). Pure functions over text; no Markdown parser needed.

A fenced block starts with three or more backticks or tildes (indented by any amount,
so fences inside lists and admonitions count) and ends at a line holding only a fence
of the same character at least as long; an unclosed fence runs to the end of the text,
as in CommonMark. An inline code span is a run of backticks closed by a run of the same
length on the same line.
"""

from __future__ import annotations

import re

_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})")
_INLINE_CODE_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")


def code_regions(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of every fenced block and code span, in order.

    A fenced block's region covers its fence lines too (up to, not including, the
    newline that ends the closing fence).
    """
    if "`" not in text and "~~~" not in text:
        return []
    regions: list[tuple[int, int]] = []
    fence: str | None = None
    block_start = 0
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        if fence is None:
            m = _FENCE_RE.match(line)
            if m:
                fence = m.group("fence")
                block_start = pos
            elif "`" in line:
                regions.extend((pos + c.start(), pos + c.end())
                               for c in _INLINE_CODE_RE.finditer(line))
        else:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) <= {fence[0]}:
                regions.append((block_start, end))
                fence = None
        pos = end + 1
    if fence is not None:
        regions.append((block_start, len(text)))
    return regions


def blank_code(text: str) -> str:
    """``text`` with every code region replaced by spaces (newlines kept), so offsets,
    line and column numbers of the prose stay the same."""
    regions = code_regions(text)
    if not regions:
        return text
    out = []
    pos = 0
    for start, end in regions:
        out.append(text[pos:start])
        out.append(re.sub(r"[^\n]", " ", text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def protect_code(text: str, marker: str) -> tuple[str, list[str]]:
    """Replace each code region by ``<marker><n><marker>`` plus the newlines it held.

    Returns the protected text and the regions' original texts; :func:`restore_code`
    puts them back. Line numbers of the protected text match the original's, so a
    template error still points at the right line. ``marker`` must not occur in the
    text (use a random token).
    """
    regions = code_regions(text)
    if not regions:
        return text, []
    out, codes = [], []
    pos = 0
    for start, end in regions:
        out.append(text[pos:start])
        code = text[start:end]
        out.append(f"{marker}{len(codes)}{marker}" + "\n" * code.count("\n"))
        codes.append(code)
        pos = end
    out.append(text[pos:])
    return "".join(out), codes


def restore_code(text: str, marker: str, codes: list[str]) -> str:
    """Undo :func:`protect_code` on (rendered) text."""
    if not codes:
        return text
    pattern = re.compile(re.escape(marker) + r"(\d+)" + re.escape(marker) + r"\n*")

    def put_back(m: re.Match[str]) -> str:
        code = codes[int(m.group(1))]
        held = code.count("\n")
        extra = len(m.group(0)) - len(m.group(1)) - 2 * len(marker) - held
        return code + "\n" * max(0, extra)

    return pattern.sub(put_back, text)
