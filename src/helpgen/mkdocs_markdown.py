"""One Markdown converter per MkDocs build instead of one per page.

MkDocs' ``Page.render`` builds a fresh ``markdown.Markdown`` with every extension for
each page, which was about 8% of a large build. Python-Markdown supports reusing a
converter: ``reset()`` between documents clears its stash, references and every
extension's state. :class:`SharedMarkdown` renders a page exactly as ``Page.render``
does, with one converter per build; MkDocs' per-page tree processors (anchors, links,
title) are registered again for each page, replacing the previous page's. A project's
own Markdown extension that keeps per-document state without a ``reset()`` would carry
it to the next page (the extensions of helpgen's mkdocs.yml all reset; the test builds
pages with footnotes, references, repeated headings and raw HTML both ways).

This is the one place helpgen replaces a piece of MkDocs: :data:`MKDOCS_RENDER` is the
``Page.render`` this copy follows, and ``tests/test_markdown_once.py`` fails when the
installed MkDocs' differs (then compare, update :meth:`SharedMarkdown.render`, and the
byte-identity test there proves the result).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

#: sha256 of ``inspect.getsource(mkdocs.structure.pages.Page.render)`` (MkDocs 1.6.1)
MKDOCS_RENDER = "320529348f7a8af152073d0a3ab02960ccce91f9204716144e51b20931983cc6"


class SharedMarkdown:
    """The Markdown converter of one build, made at the first page and reset after."""

    def __init__(self) -> None:
        self.md: Any = None

    def attach(self, page: Any) -> None:
        """Make MkDocs' next ``page.render(config, files)`` use this converter."""
        page.render = functools.partial(self.render, page)

    def converter(self, config: Any) -> Any:
        import markdown

        if self.md is None:
            self.md = markdown.Markdown(extensions=config["markdown_extensions"],
                                        extension_configs=config["mdx_configs"] or {})
        else:
            self.md.reset()
        return self.md

    def render(self, page: Any, config: Any, files: Any) -> None:
        """``Page.render`` of MkDocs 1.6.1 with the converter of this build."""
        from mkdocs.structure import pages
        from mkdocs.structure.toc import get_toc

        if page.markdown is None:
            raise RuntimeError("`markdown` field hasn't been set (via `read_source`)")
        md = self.converter(config)
        raw_html_ext = pages._RawHTMLPreprocessor()
        raw_html_ext._register(md)
        extract_anchors_ext = pages._ExtractAnchorsTreeprocessor(page.file, files, config)
        extract_anchors_ext._register(md)
        relative_path_ext = pages._RelativePathTreeprocessor(page.file, files, config)
        relative_path_ext._register(md)
        extract_title_ext = pages._ExtractTitleTreeprocessor()
        extract_title_ext._register(md)

        page.content = md.convert(page.markdown)
        page.toc = get_toc(getattr(md, "toc_tokens", []))
        page._title_from_render = extract_title_ext.title
        page.present_anchor_ids = (
            extract_anchors_ext.present_anchor_ids | raw_html_ext.present_anchor_ids)
        if pages.log.getEffectiveLevel() > logging.DEBUG:
            page.links_to_anchors = relative_path_ext.links_to_anchors
