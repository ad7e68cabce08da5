"""CLI manners shared by every command: closed pipes, and naming everything a command
needs in one message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from projectkit import REPO


def helpgen(project: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpgen.cli", "--project", str(project),
                           *args], text=True, timeout=120,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, **kw)


def test_search_into_a_closed_pipe_ends_silently_with_141(built_project):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before helpgen writes (`| head -0`)
    try:
        proc = helpgen(built_project, "search", "ticket", "--json", stdout=write_end,
                       stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == ""  # no "internal failure", no "Exception ignored" at exit


def test_search_into_head_prints_the_first_lines_only(built_project):
    shell = (f"{sys.executable} -m helpgen.cli --project {built_project} search ticket --json "
             "| head -2; echo \"status ${PIPESTATUS[0]}\"")
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["[", "  {"] and lines[2] in ("status 0", "status 141")
    assert "internal failure" not in proc.stderr and "Error" not in proc.stderr


def test_eval_names_every_market_it_needs_at_once_with_the_build_command(built_project):
    tickets = REPO / "evals" / "tickets.yml"  # search.yml beside it asks about more markets
    proc = helpgen(built_project, "eval", "--file", str(tickets), capture_output=True)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr
    assert all(f"--market {m}" in err for m in ("uk", "de", "jp", "sg", "my", "ph"))
    assert "--market us" not in err
    assert "helpgen build --market" in err
    assert err.count("error") == 1  # one message, not one market at a time
