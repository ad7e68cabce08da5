"""Screenshots land in a temporary folder unless HELPGEN_SCREENSHOTS names one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

REPO = Path(__file__).resolve().parents[2]


def test_screenshots_leave_the_checkout_alone_unless_asked(media_dir: Path):
    wanted = os.environ.get("HELPGEN_SCREENSHOTS")
    if wanted:  # refreshing the README's images on purpose
        assert media_dir == (REPO / wanted if not Path(wanted).is_absolute() else Path(wanted))
    else:  # tracked media/*.png stay as they are
        assert not media_dir.resolve().is_relative_to(REPO.resolve())


#: The README's pictures: the home page, an article and the ticket page, desktop and phone.
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PAGES = {"home": "/us/2026.11/",
         "article": "/us/2026.11/buyers/buyer-protection/buyer-protection-program/",
         "ticket": "/us/2026.11/submit-a-ticket/"}


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("name", PAGES)
def test_readme_pictures_show_whole_pages_that_fit_the_screen(page, live_site, page_log,
                                                             media_dir, name, viewport):
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(live_site.url + PAGES[name])
    expect(page.locator("h1").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"{name} scrolls sideways at {viewport} width"
    page.screenshot(path=str(media_dir / f"{name}-{viewport}.png"))
    page_log.assert_clean()
