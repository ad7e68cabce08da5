"""Shared links answered in one hop by helpgen serve, and the neutral market list for a
path outside every market."""

from __future__ import annotations

import pytest

from serverkit import call


#: the app of conftest.py, without an events store
pytestmark = pytest.mark.no_events


@pytest.mark.parametrize("name", ["latest", "2026.11"])
def test_permalink_through_an_alias_is_one_redirect_to_the_article(app, name):
    reply = call(app, "GET", f"/us/{name}/a/submit-a-ticket/", query="utm=x")
    assert reply.status == 302
    assert reply.headers["location"] == \
        "/us/2026.11/partners/support-tickets/submit-a-ticket/?utm=x"
    assert call(app, "GET", reply.headers["location"].split("?")[0]).status == 200


def test_unknown_permalinks_and_versions_keep_their_404(app):
    assert call(app, "GET", "/us/latest/a/no-such-article/").status == 404
    assert call(app, "GET", "/us/1999.01/a/submit-a-ticket/").status == 404


def test_a_path_outside_every_market_gets_the_neutral_market_list(app):
    reply = call(app, "GET", "/xx/")
    assert reply.status == 404
    assert "Choose your market" in reply.text and 'href="/us/"' in reply.text
    assert "Help Center · United States" not in reply.text
