"""Line breaks between East Asian characters: removed, not turned into spaces.

Japanese and Chinese put no spaces between words, so a source file hard-wrapped at
80 columns must not show a space where the editor broke the line ("についての 回答").
The rule is the CSS Text segment-break rule: a line break whose neighbours on both sides
are East Asian wide, full-width or half-width characters (Hangul excepted, as Korean
separates words with spaces) is removed; any other line break stays.

The same pure function serves the rendered pages (:mod:`helpgen.cjkext`, a
Markdown preprocessor) and the text the search index stores (:mod:`helpgen.index`), so
a page and its snippet read alike. Code (fenced blocks and code spans, as
:mod:`helpgen.mdcode` finds them) is left as written, and so are lines that carry
Markdown structure of their own: headings, table rows, and lines ending in a hard break.
"""

from __future__ import annotations

import unicodedata
from . import mdcode


def is_wide(ch: str) -> bool:
    """True for an East Asian wide/full-width/half-width character other than Hangul."""
    if unicodedata.east_asian_width(ch) not in ("W", "F", "H"):
        return False
    return not ("\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f"
                or "\uac00" <= ch <= "\ud7af" or "\uffa0" <= ch <= "\uffdc")


def _structural(line: str) -> bool:
    """Lines a join would change the meaning of: headings and table rows."""
    stripped = line.lstrip()
    return stripped.startswith("#") or "|" in line


def join_breaks(text: str) -> str:
    """``text`` with every line break between two wide characters removed.

    The next line's indentation goes with the break. A break is kept when either line
    is a heading or a table row, or when it lies inside code.
    """
    if "\n" not in text or text.isascii():
        return text
    lines = text.split("\n")
    regions = mdcode.code_regions(text)
    out = [lines[0]]
    pos = len(lines[0])  # offset of the newline that ends out[-1]'s source line
    region = 0
    for line in lines[1:]:
        prev = out[-1]
        nxt = line.lstrip(" \t")
        while region < len(regions) and regions[region][1] <= pos:
            region += 1
        in_code = region < len(regions) and regions[region][0] <= pos
        if (prev and nxt and not in_code and is_wide(prev[-1]) and is_wide(nxt[0])
                and not _structural(prev) and not _structural(line)):
            out[-1] = prev + nxt
        else:
            out.append(line)
        pos += 1 + len(line)
    return "\n".join(out)
