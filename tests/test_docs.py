"""Every CLI option, setting and front-matter field is documented (Datasette's test_docs).

Hand-written documentation is README.md and manual/*.md except the generated
manual/reference.md, which carries the ``--help`` snapshots (kept current by
``helpgen reference --check``, tested in test_reference.py).
"""

from __future__ import annotations

import re

import pytest

from helpgen import content, reference
from helpgen.cli import make_parser
from helpgen.config import SETTINGS

from projectkit import REPO

GENERATED = REPO / "manual" / "reference.md"
GLOBAL_OPTIONS = {"--project", "--debug", "-q", "--quiet", "--version"}


def handwritten() -> dict[str, str]:
    files = [REPO / "README.md", *sorted((REPO / "manual").glob("*.md"))]
    return {p.name: p.read_text(encoding="utf-8") for p in files if p != GENERATED}


PAGES = handwritten()
DOCS = "\n".join(PAGES.values())
COMMANDS = reference.commands(make_parser())


@pytest.mark.parametrize("command,option", [
    (name, option) for name, sub in COMMANDS.items() for option in reference.options(sub)
    if option not in GLOBAL_OPTIONS
])
def test_cli_option_is_documented(command, option):
    """The option appears on a page that documents its command (not just any --json)."""
    pages = [text for text in PAGES.values() if f"helpgen {command}" in text]
    assert any(option in text for text in pages), (
        f"helpgen {command} {option} is not on a README.md or manual/*.md page about "
        f"helpgen {command}")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_is_documented(command):
    assert f"helpgen {command}" in DOCS


@pytest.mark.parametrize("option", sorted(GLOBAL_OPTIONS))
def test_global_option_is_documented(option):
    assert option in DOCS


@pytest.mark.parametrize("key", [s.key for s in SETTINGS])
def test_setting_is_documented(key):
    assert key in DOCS, f"setting {key} is not in README.md or manual/*.md"


@pytest.mark.parametrize("field", [f.name for f in content.ARTICLE_FIELDS])
def test_front_matter_field_is_documented(field):
    assert f"{field}:" in DOCS or f"`{field}`" in DOCS


def test_help_snapshot_lives_in_the_generated_reference():
    text = GENERATED.read_text(encoding="utf-8")
    assert reference.help_text(make_parser()).rstrip() in text


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    commands = [b.strip() for b in blocks]
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    main_job, test_command = commands
    assert "pip install" in main_job and "helpgen build" in main_job and "helpgen serve" in main_job
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
    script = (REPO / test_command.split()[-1]).read_text(encoding="utf-8")
    assert "apt-get install" in script and "chromium" in script and "pytest" in script
