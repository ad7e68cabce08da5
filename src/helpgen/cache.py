"""helpgen's cache folder: what every build on a machine would otherwise make again.

Two things are kept, both derived from installed packages and never from content:
the theme's compiled Jinja templates (``templates/``, checked by Jinja against each
template's source) and the static search bundle's word lists (``wordlists/``, one
folder per language and pyspellchecker data, checked against the hash of its files
before it is copied into a build; see :func:`helpgen.wordlists.write_cached`).
Deleting the folder only costs the next build that time.

Where: ``$HELPGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/helpgen``, else
``~/.cache/helpgen``. ``HELPGEN_CACHE_DIR=off`` turns the cache off. A folder that
cannot be made, or that another user owns, is not used.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "HELPGEN_CACHE_DIR"


def folder(part: str) -> Path | None:
    """``part`` (``templates``, ``wordlists``) of the cache folder, made if needed;
    None when the cache is off or the folder cannot be used."""
    given = os.environ.get(ENV_VAR, "")
    if given.lower() == "off":
        return None
    if given:
        root = Path(given)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        root = (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "helpgen"
    path = root / part
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if hasattr(os, "getuid") and path.stat().st_uid != os.getuid():
            return None  # planted by another user
    except (OSError, RuntimeError):  # no home, read-only, not a folder
        return None
    return path
