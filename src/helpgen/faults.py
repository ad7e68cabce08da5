"""Deterministic kill points and injected disk errors for publishing tests.

The environment variable ``HELPGEN_FAULT`` is read by ``cli.py`` only and handed to
:func:`helpgen.site.build`, :func:`~helpgen.site.build_all` and
:func:`~helpgen.site.remove` as a :class:`Fault` value; those activate it with
:func:`active` for the duration of the call, and the publishing code reports each
point it passes with :func:`reached`. Without an active fault :func:`reached` does
nothing.

Format: ``<stage>:<point>[:<n>][:<action>]``

* ``n`` (default 1): act the n-th time the point is reached in this process.
* ``action`` (default ``kill``): ``kill`` sends SIGKILL to the running process, so
  nothing is cleaned up, exactly as ``kill -9`` or an out-of-memory kill would;
  ``ENOSPC``, ``EROFS``, ``EACCES`` raise that ``OSError`` for the folder being
  written, as the write itself would.

The points are listed in :data:`POINTS` (and in ``manual/ci.md``).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .errors import HelpgenError

ENV_VAR = "HELPGEN_FAULT"

POINTS: dict[str, str] = {
    "build:after-fork": "a single-market build forked its index child (parent killed)",
    "publish:after-journal": "the publish journal is written, nothing moved yet",
    "publish:after-index-swap": "the n-th market's search index was swapped in",
    "publish:after-site-swap": "the n-th market's site folder was swapped in",
    "publish:after-commit": "the journal is marked committed, nothing listed yet",
    "publish:after-listing": "the n-th market's versions.json and aliases.json moved",
    "publish:before-cleanup": "everything listed, old trees and journal not yet removed",
    "write:staging": "creating a staging folder (disk errors)",
    "write:text": "writing a file of the publish step: journal, versions.json, aliases.json, "
                  "market pages (disk errors)",
    "write:swap": "renaming a finished folder or file into place (disk errors)",
}
ACTIONS = ("kill", "ENOSPC", "EROFS", "EACCES")


@dataclass
class Fault:
    """One fault to trigger: at ``stage:point``, the ``nth`` time, do ``action``."""

    stage: str
    point: str
    nth: int = 1
    action: str = "kill"
    seen: int = field(default=0, compare=False)

    def hit(self, stage: str, point: str, path: Path | str | None) -> None:
        if (stage, point) != (self.stage, self.point):
            return
        self.seen += 1
        if self.seen != self.nth:
            return
        if self.action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        code = getattr(errno, self.action)
        raise OSError(code, f"{os.strerror(code)} (injected by {ENV_VAR})", str(path or "."))


def parse(text: str | None) -> Fault | None:
    """``HELPGEN_FAULT``'s value as a :class:`Fault` (None for an empty value)."""
    if not text:
        return None
    parts = text.strip().split(":")
    if len(parts) < 2 or ":".join(parts[:2]) not in POINTS:
        raise HelpgenError(f"{ENV_VAR}={text!r}: unknown point; allowed: "
                           f"{', '.join(POINTS)}", exit_code=2)
    fault = Fault(parts[0], parts[1])
    for extra in parts[2:]:
        if extra.isdigit() and int(extra) >= 1:
            fault.nth = int(extra)
        elif extra in ACTIONS:
            fault.action = extra
        else:
            raise HelpgenError(f"{ENV_VAR}={text!r}: {extra!r} is neither a count (1, 2, ...) "
                               f"nor an action ({', '.join(ACTIONS)})", exit_code=2)
    return fault


_ACTIVE: contextvars.ContextVar[Fault | None] = contextvars.ContextVar("helpgen_fault",
                                                                         default=None)


@contextlib.contextmanager
def active(fault: Fault | None) -> Iterator[None]:
    """Make ``fault`` the one :func:`reached` checks for the duration of the block."""
    if fault is None:
        yield
        return
    token = _ACTIVE.set(fault)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """No fault triggers inside the block (while a failed publish is being undone)."""
    token = _ACTIVE.set(None)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def reached(stage: str, point: str, path: Path | str | None = None) -> None:
    """Publishing passed ``stage:point`` (writing ``path``): trigger the active fault."""
    fault = _ACTIVE.get()
    if fault is not None:
        fault.hit(stage, point, path)


def clear() -> None:
    """In a forked child: no fault (the points belong to the process that forked it)."""
    _ACTIVE.set(None)
