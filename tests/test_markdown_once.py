"""One Markdown converter per build (helpgen.mkdocs_markdown) gives byte-identical
pages to MkDocs' fresh converter per page."""

from __future__ import annotations

import hashlib
import inspect

from helpgen import config as config_mod, mkdocs_markdown, site

from projectkit import build_both_ways, copy_project, differing, write_article


def test_follows_the_installed_mkdocs_page_render():
    """An upgrade of MkDocs that changes ``Page.render`` fails here: compare it with
    ``SharedMarkdown.render``, update that and :data:`MKDOCS_RENDER`."""
    from mkdocs.structure.pages import Page

    source = inspect.getsource(Page.render)
    assert hashlib.sha256(source.encode()).hexdigest() == mkdocs_markdown.MKDOCS_RENDER, source


def _per_page(state: site.BuildState) -> None:
    state.markdown = None


def test_real_project_pages_are_byte_identical(tmp_path):
    root = copy_project(tmp_path / "project")
    # what a converter must forget between pages: footnotes, reference links, raw
    # HTML, repeated heading ids, an abbreviation-like reference definition
    for i in range(2):
        write_article(root, f"partners/registration/state-{i}.md",
                      f"id: state-{i}\ntitle: State {i}\nsummary: Converter state.\n"
                      "audience: partners\ntopic: registration\nlast_reviewed: 2026-11-25",
                      f"# State {i}\n\nA note[^n] and [a reference][r].\n\n"
                      f"[^n]: Footnote of page {i}.\n\n[r]: ../../index.md\n\n"
                      "## Same\n\nOne.\n\n## Same\n\nTwo.\n\n<div markdown>*kept*</div>\n")
    compared, differ = differing(build_both_ways(root, ("us", "de", "jp"), _per_page))
    assert differ == []
    assert compared > 100
    page = (root / "out-True/us/partners/registration/state-1/index.html").read_text("utf-8")
    assert "Footnote of page 1." in page and "Footnote of page 0." not in page


def test_one_converter_renders_every_page(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "project")
    state = site.prepare(config_mod.load(root), "us", "2026.11")
    made = []
    real = mkdocs_markdown.SharedMarkdown.converter

    def counting(self, config):
        md = real(self, config)
        made.append(id(md))
        return md

    monkeypatch.setattr(mkdocs_markdown.SharedMarkdown, "converter", counting)
    site.run_mkdocs(state, root / "out")
    assert len(made) == len(state.rendered.pages) > 10
    assert len(set(made)) == 1
