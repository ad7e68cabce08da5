"""Screenshots land in a temporary folder unless HELPGEN_SCREENSHOTS names one."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_screenshots_leave_the_checkout_alone_unless_asked(media_dir: Path):
    wanted = os.environ.get("HELPGEN_SCREENSHOTS")
    if wanted:  # refreshing the README's images on purpose
        assert media_dir == (REPO / wanted if not Path(wanted).is_absolute() else Path(wanted))
    else:  # tracked media/*.png stay as they are
        assert not media_dir.resolve().is_relative_to(REPO.resolve())
