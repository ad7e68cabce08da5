"""The Markdown side of :mod:`helpgen.cjk`: a preprocessor for the rendered pages."""

from __future__ import annotations

from typing import Any

from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from . import cjk


class CjkBreaksPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return cjk.join_breaks("\n".join(lines)).split("\n")


class CjkBreaksExtension(Extension):
    """Removes line breaks between East Asian characters (:func:`helpgen.cjk.join_breaks`).

    Runs after whitespace normalisation (priority 30) and before fenced code is
    stashed (25), so it sees the source's own fences and spans.
    """

    def extendMarkdown(self, md: Any) -> None:  # noqa: N802 (Markdown's API)
        md.preprocessors.register(CjkBreaksPreprocessor(md), "helpgen_cjk_breaks", 28)
