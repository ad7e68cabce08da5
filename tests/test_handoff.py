"""The hand-off to a configured ticket form (helpgen.handoff): the setting is validated
where it is written, the ticket page links each audience's form, and the prefill URL
carries the draft (never its id) within the URL budget."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from helpgen import config as config_mod
from helpgen import handoff, site
from helpgen.errors import HelpgenError
from projectkit import copy_project

FORMS = """  ticket_forms:
    partners:
      url: https://partner.example/hc/requests/new?ticket_form_id=42
      markets:
        de: {url: "https://partner.example/hc/de/requests/new"}
    sellers: {url: "https://seller.example/support", subject_param: s,
              description_param: d}
"""


def with_forms(root, text: str = FORMS):
    cfg_file = root / "helpgen.yml"
    original = cfg_file.read_text(encoding="utf-8")
    assert "\ndeflection:\n" in original
    cfg_file.write_text(original.replace("\ndeflection:\n", "\ndeflection:\n" + text, 1),
                        encoding="utf-8")
    return config_mod.load(root)


def test_forms_per_audience_with_zendesk_defaults_and_market_overrides(tmp_path):
    cfg = with_forms(copy_project(tmp_path / "project"))
    us = handoff.ticket_forms(cfg, "us")
    assert us["partners"] == {"url": "https://partner.example/hc/requests/new?ticket_form_id=42",
                              "subject_param": "tf_subject", "description_param": "tf_description"}
    assert us["sellers"]["subject_param"] == "s"
    assert "buyers" not in us
    de = handoff.ticket_forms(cfg, "de")
    assert de["partners"]["url"] == "https://partner.example/hc/de/requests/new"
    assert de["partners"]["subject_param"] == "tf_subject"


@pytest.mark.parametrize("text,message", [
    ("  ticket_forms: {shoppers: https://x.example/new}\n", "unknown audience 'shoppers'"),
    ("  ticket_forms: {partners: /hc/requests/new}\n", "absolute http(s) URL"),
    ("  ticket_forms: {partners: 'javascript:alert(1)'}\n", "absolute http(s) URL"),
    ("  ticket_forms: {partners: {url: 'https://x.example/', subject_param: 'a b'}}\n",
     "query parameter name"),
    ("  ticket_forms: {partners: {url: 'https://x.example/', markets: {zz: "
     "{url: 'https://y.example/'}}}}\n", "unknown market 'zz'"),
    ("  ticket_forms: {partners: {subject_param: s}}\n", "needs a url"),
    ("  ticket_forms: {partners: {url: 'https://x.example/', id: 3}}\n", "unknown key(s) id"),
])
def test_bad_forms_are_config_errors_with_file_and_line(tmp_path, text, message):
    root = copy_project(tmp_path / "project")
    with pytest.raises(HelpgenError) as info:
        with_forms(root, text)
    assert message in str(info.value)
    assert "helpgen.yml:" in str(info.value)


FORM = {"url": "https://partner.example/new?ticket_form_id=42", "subject_param": "tf_subject",
        "description_param": "tf_description"}


def test_prefill_url_carries_subject_and_description():
    url = handoff.prefill_url(FORM, " Payout failed ", "Bank said & rejected — 返金?")
    query = parse_qs(urlsplit(url).query)
    assert query == {"ticket_form_id": ["42"], "tf_subject": ["Payout failed"],
                     "tf_description": ["Bank said & rejected — 返金?"]}


@pytest.mark.parametrize("description", ["word " * 2000, "返金" * 3000, "😀" * 2000])
def test_prefill_url_cuts_the_description_to_fit(description):
    url = handoff.prefill_url(FORM, "Refund " * 100, description)
    assert len(url) <= handoff.MAX_URL_CHARS
    assert len(url) > handoff.MAX_URL_CHARS - 40  # the budget is used, not wasted
    query = parse_qs(urlsplit(url).query)
    assert query["tf_description"][0].endswith("…")
    assert description.startswith(query["tf_description"][0][:-1].rstrip())
    assert len(query["tf_subject"][0]) == handoff.MAX_SUBJECT_CHARS


def test_ticket_page_links_each_configured_form(tmp_path):
    root = copy_project(tmp_path / "project")
    cfg = with_forms(root)
    site.build(cfg, "us", "2026.11", ["latest"], root / "site")
    page = (root / "site" / "us" / "2026.11" / "submit-a-ticket" / "index.html").read_text(
        encoding="utf-8")
    assert page.count('class="md-button helpgen-handoff"') == 2
    assert ('data-audience="partners" data-subject-param="tf_subject" '
            'data-description-param="tf_description" '
            'href="https://partner.example/hc/requests/new?ticket_form_id=42"') in page
    assert 'data-audience="sellers" data-subject-param="s"' in page
    assert "Open the ticket form with what you typed" in page
    assert 'data-audiences="3"' in page


def test_without_forms_the_ticket_page_keeps_its_channel_text(built_project):
    page = (built_project / "site" / "us" / "2026.11" / "submit-a-ticket" /
            "index.html").read_text(encoding="utf-8")
    assert "helpgen-handoff" not in page
    assert "Partner Center Console" in page
