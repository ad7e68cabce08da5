"""Publishing on disk without a half-written moment: locks, file and folder swaps.

Shared by ``site`` (built sites, versions.json) and ``index`` (Whoosh indexes,
aliases.json), so both publish the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def locked(folder: Path, name: str = ".lock") -> Iterator[None]:
    """An exclusive lock held on ``folder/name`` (created if missing) for the block."""
    with open(folder / name, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary sibling, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def swap_into_place(staging: Path, final: Path) -> None:
    """Replace the folder ``final`` with ``staging``; the old tree is removed only afterwards."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}-{time.monotonic_ns()}")
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
