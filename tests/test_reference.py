"""The generated reference agrees with the validator and is committed up to date."""

from __future__ import annotations

import re

import pytest

from helpgen import config as config_mod
from helpgen import content, reference
from helpgen.cli import main, make_parser
from helpgen.config import SETTINGS

from projectkit import REPO, write_article


def table_rows(text: str, heading: str) -> list[list[str]]:
    """Rows of the first Markdown table after ``heading`` (cells stripped of backticks)."""
    section = text.split(heading, 1)[1]
    rows = []
    started = False
    for line in section.splitlines():
        if line.startswith("|"):
            started = True
            cells = [c.strip().strip("`") for c in line.strip("|").split(" | ")]
            if cells[0] not in ("field", "setting", "key") and not set(cells[0]) <= {"-", "|"}:
                rows.append(cells)
        elif started:
            break
    return rows


def test_committed_reference_is_up_to_date(capsys):
    assert main(["--project", str(REPO), "reference", "--check"]) == 0, capsys.readouterr().err


def test_stale_reference_fails_the_check_with_a_diff(tmp_path, capsys):
    out = tmp_path / "reference.md"
    assert main(["--project", str(REPO), "reference", "--output", str(out)]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("| `id` | yes", "| `id` | no"),
                   encoding="utf-8")
    assert main(["--project", str(REPO), "reference", "--check", "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "is out of date; run `helpgen reference`" in err and "-| `id` | no" in err


def test_front_matter_table_is_exactly_what_the_validator_accepts(project):
    rows = table_rows(reference.generate(), "## Front matter")
    fields = {r[0]: r for r in rows}
    assert list(fields) == [f.name for f in content.ARTICLE_FIELDS]
    # every documented example is valid, together
    front = "\n".join(f"{name}: {row[3]}" for name, row in fields.items())
    front = front.replace("redirects: [partners/tickets/]", "redirects: [partners/old-ref/]")
    front = re.sub(r"^id: .*$", "id: reference-example", front, flags=re.M)
    write_article(project, "partners/support-tickets/reference-example.md", front)
    art = content.load(config_mod.load(project), drafts=True).by_id["reference-example"]
    assert art.topic == fields["topic"][3]
    # a field the table does not list is rejected, naming exactly the documented ones
    write_article(project, "partners/support-tickets/extra-field.md",
                  front.replace("reference-example", "extra-field") + "\nauthor: me")
    with pytest.raises(Exception) as exc:
        content.load(config_mod.load(project))
    assert f"unknown field 'author'; allowed: {', '.join(fields)}" in str(exc.value)


@pytest.mark.parametrize("field", [f.name for f in content.ARTICLE_FIELDS if f.required])
def test_fields_marked_required_are_required(project, field):
    row = {r[0]: r for r in table_rows(reference.generate(), "## Front matter")}[field]
    assert row[1] == "yes"
    front = "\n".join(f"{f.name}: {f.example}" for f in content.ARTICLE_FIELDS
                      if f.name not in (field, "redirects"))
    front = re.sub(r"^id: .*$", "id: missing-field", front, flags=re.M)
    write_article(project, "partners/support-tickets/missing-field.md", front)
    with pytest.raises(Exception, match=f"missing required field '{field}'"):
        content.load(config_mod.load(project))


def test_settings_table_lists_every_setting_with_its_default():
    rows = table_rows(reference.generate(), "Settings, written as")
    assert [r[0] for r in rows] == [s.key for s in SETTINGS]
    for row, s in zip(rows, SETTINGS):
        assert row[1] == s.kind.__name__


def test_every_registered_command_has_its_help_snapshot():
    text = reference.generate()
    parser = make_parser()
    names = list(reference.commands(parser))
    assert {"build", "check", "new", "preview", "reference"} <= set(names)
    for name, sub in reference.commands(parser).items():
        assert f"### helpgen {name}\n" in text
        assert reference.help_text(sub).rstrip() in text
        for option in reference.options(sub):
            assert option in text
