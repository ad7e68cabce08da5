"""`helpgen serve` end to end: builds what is missing, prints the URL, stops on Ctrl-C;
and every serve option and server setting is documented in manual/server.md."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

from helpgen import cli, config
from serverkit import copy_project

REPO = Path(__file__).resolve().parents[1]


def ctrl_c_reaches_child() -> None:
    """In the child before exec: SIGINT back to its default, as in a terminal. A test
    command run as a background job (``pytest ... &``) ignores SIGINT, and its children
    would inherit that and never see the Ctrl-C the tests send."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def serving(args: list[str], cwd: Path,
            env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str, list[str]]]:
    """``helpgen <args>`` in a subprocess until it prints "serving": yields (process, url,
    lines printed so far); killed afterwards unless the test stopped it."""
    proc = subprocess.Popen([sys.executable, "-m", "helpgen.cli", *args], cwd=cwd,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ctrl_c_reaches_child)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("serving"):
                break
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", "".join(lines)).group(1)
        yield proc, url, lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def stop(proc: subprocess.Popen, sig: int) -> tuple[str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip().endswith("stopped") and "Traceback" not in err
    return out, err


def test_quick_start_serve_builds_the_default_market_serves_and_stops_on_ctrl_c(tmp_path):
    root = copy_project(tmp_path / "project")
    with serving(["serve"], root, {"HELPGEN_PORT": "0"}) as (proc, url, lines):
        assert lines[0].startswith("building us") and url + "us/" in lines[-1]
        with urllib.request.urlopen(url + "healthz", timeout=10) as resp:
            assert json.loads(resp.read())["markets"] == {"us": ["2026.11"]}
        with urllib.request.urlopen(url + "us/", timeout=10) as resp:  # -> latest -> page
            assert resp.status == 200
        with urllib.request.urlopen(url + "api/search?q=ticket", timeout=10) as resp:
            assert json.loads(resp.read())["results"]
        stop(proc, signal.SIGINT)
    assert (root / "site/us/2026.11/index.html").is_file()
    assert (root / "search_index/us").is_dir()


def test_serve_stops_cleanly_on_sigterm_and_logs_requests(built_project, tmp_path):
    args = ["--project", str(built_project), "serve", "--no-build", "--port", "0",
            "--events-db", str(tmp_path / "events.db"), "--access-log"]
    with serving(args, tmp_path, {}) as (proc, url, _):
        with urllib.request.urlopen(url + "healthz", timeout=10) as resp:
            assert resp.status == 200
        out, _ = stop(proc, signal.SIGTERM)
    assert re.search(r'"GET /healthz HTTP/1\.1" 200 \d+ [\d.]+ms', out)


def test_serve_no_build_without_a_site_is_a_usage_error(tmp_path, capsys):
    root = copy_project(tmp_path / "project")
    code = cli.main(["--project", str(root), "serve", "--no-build", "--port", "0"])
    assert code == 2
    assert "helpgen build --market us" in capsys.readouterr().err


def test_serve_on_a_busy_port_is_a_usage_error(built_project, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = cli.main(["--project", str(built_project), "serve", "--no-build",
                         "--index-dir", str(built_project / "search_index"),
                         "--port", str(port)])
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_rejects_unknown_market(built_project, capsys):
    assert cli.main(["--project", str(built_project), "serve", "--market", "zz"]) == 2
    assert "allowed: us" in capsys.readouterr().err


def test_every_serve_option_and_server_setting_is_documented():
    manual = (REPO / "manual" / "server.md").read_text(encoding="utf-8")
    serve = cli.make_parser()._subparsers._group_actions[0].choices["serve"]
    for action in serve._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag not in ("--help", "--project", "--debug",
                                                      "--quiet"):
                assert f"`{flag}" in manual, flag
    for setting in config.SETTINGS:
        if setting.key.startswith("server."):
            assert f"`{setting.key}`" in manual, setting.key
    for var in cli.SERVE_ENV.values():
        assert f"`{var}`" in manual, var
    for endpoint in ("/api/search", "/api/suggest", "/api/events", "/healthz"):
        assert f"`{endpoint}" in manual or f"`GET {endpoint}" in manual or \
            f"`POST {endpoint}" in manual, endpoint
