"""Which inline scripts a page may run: the ones helpgen and the theme wrote, never an
author's.

The build lists the SHA-256 hashes of the inline scripts the theme emits (every inline
script of a page that is not part of the article's own content) in
``<version>/.helpgen-csp.json``; helpgen's redirect pages all carry the one script
:data:`REDIRECT_SCRIPT`. The server allows, on each page, only the inline scripts whose
hashes are in that list (``script-src 'sha256-…'``), so a script that slipped into an
article still does not run. A plain static host sends no CSP: there the build's refusal
of scripts in content (:mod:`helpgen.sanitize`) is the protection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Iterable

MANIFEST = ".helpgen-csp.json"
INLINE_SCRIPT_RE = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
#: The script of every redirect page helpgen writes: follow the canonical link, keeping
#: the query and #anchor (the meta refresh alone would drop the anchor).
REDIRECT_SCRIPT = ("location.replace(document.querySelector('link[rel=canonical]').href"
                   " + location.search + location.hash)")


def sha256(body: str) -> str:
    return base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")


REDIRECT_HASH = sha256(REDIRECT_SCRIPT)


def inline_script_hashes(html_text: str) -> tuple[str, ...]:
    """Base64 SHA-256 of every executable inline ``<script>`` (not JSON data blocks)."""
    out = []
    for attrs, body in INLINE_SCRIPT_RE.findall(html_text):
        if re.search(r"\bsrc\s*=", attrs, re.I):
            continue
        kind = re.search(r"\btype\s*=\s*[\"']?([^\"'\s>]+)", attrs, re.I)
        if kind and kind.group(1).lower() not in ("text/javascript", "module",
                                                   "application/javascript"):
            continue
        out.append(sha256(body))
    return tuple(dict.fromkeys(out))


def theme_script_hashes(page_html: str, content_html: str) -> set[str]:
    """Hashes of the page's inline scripts that do not come from the article content."""
    return set(inline_script_hashes(page_html)) - set(inline_script_hashes(content_html))


def write_manifest(version_dir: Path, hashes: Iterable[str]) -> Path:
    path = Path(version_dir) / MANIFEST
    data = {"script_hashes": sorted(set(hashes) | {REDIRECT_HASH})}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def read_manifest(version_dir: Path) -> frozenset[str]:
    """The allowed hashes of a built version ({REDIRECT_HASH} alone when it has none)."""
    try:
        data = json.loads((Path(version_dir) / MANIFEST).read_text(encoding="utf-8"))
        hashes = data.get("script_hashes", []) if isinstance(data, dict) else []
        return frozenset(h for h in hashes if isinstance(h, str)) | {REDIRECT_HASH}
    except (OSError, ValueError):
        return frozenset({REDIRECT_HASH})
