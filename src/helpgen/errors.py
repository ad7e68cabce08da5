"""Errors a person can act on: ``path:line:col: error: message``.

The library raises :class:`HelpgenError` (one problem) or :class:`HelpgenErrors`
(every problem found in one pass). Only ``cli.py`` turns them into output and exit
codes; see ``EXIT_*`` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

EXIT_OK = 0
EXIT_CONTENT = 1  # content or quality errors: the input needs fixing
EXIT_USAGE = 2  # the command line was wrong
EXIT_INTERNAL = 3  # a bug
EXIT_ENVIRONMENT = 4  # the machine refused: disk full, read-only folder, no permission


@dataclass(frozen=True)
class Problem:
    """One problem at one place. ``path`` may be None for errors without a file."""

    msg: str
    path: str | None = None
    line: int | None = None
    col: int | None = None
    severity: str = "error"  # or "warning": worth fixing, nothing fails

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path
            if self.line:
                where += f":{self.line}"
                if self.col:
                    where += f":{self.col}"
            where += ": "
        return f"{where}{self.severity}: {self.msg}"


class HelpgenError(Exception):
    """A problem the user can fix. ``exit_code`` says which kind (content or usage)."""

    exit_code = EXIT_CONTENT

    def __init__(
        self,
        msg: str,
        path: str | Path | None = None,
        line: int | None = None,
        col: int | None = None,
        *,
        exit_code: int | None = None,
    ) -> None:
        self.problem = Problem(msg, str(path) if path is not None else None, line, col)
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(str(self.problem))

    @property
    def problems(self) -> list[Problem]:
        return [self.problem]


class UsageError(HelpgenError):
    exit_code = EXIT_USAGE


class HelpgenErrors(HelpgenError):
    """Several problems, reported together (never only the first)."""

    def __init__(self, problems: Iterable[Problem], *, exit_code: int | None = None) -> None:
        self._problems = sorted(  # de-duplicated: 12 markets may report the same mistake
            set(problems), key=lambda p: (p.path or "", p.line or 0, p.col or 0, p.msg)
        )
        if not self._problems:
            raise ValueError("HelpgenErrors needs at least one problem")
        Exception.__init__(self, "\n".join(str(p) for p in self._problems))
        self.problem = self._problems[0]
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def problems(self) -> list[Problem]:
        return list(self._problems)


def raise_if(problems: list[Problem], *, exit_code: int | None = None) -> None:
    """Raise every collected problem at once, or do nothing."""
    if problems:
        raise HelpgenErrors(problems, exit_code=exit_code)
