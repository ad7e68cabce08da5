"""Rules for the paths a build writes: article URLs, permalinks and redirects.

Everything an article can name ends up as a folder under the build's staging folder,
so these rules are the line between content and the file system. One place judges
them (``content.load`` for ``check`` and ``build`` alike) and the writers call
:func:`confine` as well, so a gap in validation still cannot write outside the build.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from .errors import HelpgenError

#: Top-level names of a built version that belong to the theme or to helpgen: an
#: article, page or redirect may not take them.
RESERVED_TOP = ("a", "assets", "search", "404.html", "sitemap.xml", "sitemap.xml.gz", "build.json",
                "versions.json", "index.html")
_SEGMENT_RE = re.compile(r"^[^\W_][\w.~+-]*$", re.U)


def normalize_redirect(path: str) -> str:
    """``partners/old.md`` / ``partners/old.html`` / ``partners/old`` -> ``partners/old/``."""
    p = path.strip()
    if p.endswith(".html"):
        p = p[: -len(".html")]
        if p.endswith("index"):
            p = p[: -len("index")]
    if p.endswith(".md"):
        p = p[: -len(".md")]
    if p and not p.endswith("/"):
        p += "/"
    return p


def redirect_problem(raw: str) -> str | None:
    """Why ``raw`` cannot be a redirect (None when it can): it must be a relative path
    of plain segments, with no ``..``, ``.``, empty, hidden or absolute parts."""
    text = raw.strip()
    if not text:
        return "a redirect must not be empty"
    if "\\" in text or any(ord(c) < 32 or ord(c) == 127 for c in text):
        return f"redirect {raw!r} holds a backslash or control character"
    if text.startswith("/") or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text):
        return (f"redirect {raw!r} must be a path relative to the site, such as "
                "partners/old-name/ (no leading '/', no scheme or host)")
    for segment in normalize_redirect(text).rstrip("/").split("/"):
        if segment in ("", ".", ".."):
            return f"redirect {raw!r} has an empty, '.' or '..' part; name the old page's path"
        if not _SEGMENT_RE.match(segment):
            return (f"redirect {raw!r}: part {segment!r} may hold only letters, digits and "
                    "'.', '-', '_', '~', '+', starting with a letter or digit")
    return None


def reserved_problem(url: str, reserved: Iterable[str]) -> str | None:
    """Why the site-relative folder ``url`` collides with a name the build needs."""
    top = url.strip("/").split("/", 1)[0]
    names = (*RESERVED_TOP, *reserved)
    if top in names:
        return (f"'{top}/' is reserved for the site itself (reserved: "
                f"{', '.join(dict.fromkeys(names))})")
    return None


def confine(root: Path, rel: str, resolved_root: str | None = None) -> Path:
    """``root/rel`` after checking it stays inside ``root`` (symlinks resolved);
    raises :class:`HelpgenError` otherwise. The last defence of every writer.

    ``resolved_root``: ``os.path.realpath(root)``, when a writer of many files has
    resolved it once (the check still resolves every part of ``rel``)."""
    base = resolved_root or os.path.realpath(root)
    target = os.path.realpath(os.path.join(base, rel.lstrip("/")))
    if target != base and not target.startswith(base.rstrip("/") + "/"):
        raise HelpgenError(f"refusing to write {rel!r}: it resolves outside the build "
                           f"folder {root}")
    return Path(target)
