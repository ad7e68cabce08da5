"""The help-center home page (helpgen.home): featured articles from home.featured,
topic cards with counts and top articles, validated ids, the same page every build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpgen import config as config_mod
from helpgen import content, render
from helpgen.errors import HelpgenError
from projectkit import copy_project, write_article

FEATURED_LINE = "  featured: [submit-a-ticket, buyer-protection-program, create-partner-account]\n"


def with_featured(tmp_path: Path, yaml_text: str) -> Path:
    root = copy_project(tmp_path / "project")
    path = root / "helpgen.yml"
    text = path.read_text(encoding="utf-8")
    assert FEATURED_LINE in text
    path.write_text(text.replace(FEATURED_LINE, yaml_text), encoding="utf-8")
    return root


def home_of(root: Path, market: str) -> dict:
    cfg = config_mod.load(root)
    rendered = render.render_market(content.load(cfg), cfg, cfg.market(market), "2026.11")
    return {"page": rendered.pages["index.md"].markdown, "config": cfg}


def test_home_page_lists_featured_articles_then_topic_cards_in_navigation_order(tmp_path):
    root = copy_project(tmp_path / "project")
    page = home_of(root, "us")["page"]
    assert '<form class="helpgen-home-search" role="search"' in page
    featured = page[page.index("## Featured articles"):page.index("## Sellers")]
    assert re.findall(r"\]\(([^)]+)\)", featured) == [
        "partners/support-tickets/submit-a-ticket.md",
        "buyers/buyer-protection/buyer-protection-program.md",
        "partners/registration/create-your-account.md"]
    assert "-   **Registration** · 5 articles" in page
    registration = page[page.index("**Registration**"):page.index("**Your account**")]
    assert len(re.findall(r"^    - \[", registration, re.M)) == 3  # home.top_articles
    assert "{% for" not in page and "### " not in page  # no more long list of links
    assert home_of(root, "us")["page"] == page  # reproducible


def test_home_page_is_in_the_markets_language(tmp_path):
    page = home_of(copy_project(tmp_path / "project"), "de")["page"]
    assert 'placeholder="Im Hilfe-Center suchen"' in page
    assert "## Empfohlene Artikel" in page and "**Registrierung** · 5 Artikel" in page


def test_featured_per_market_with_all_for_the_others(tmp_path):
    root = with_featured(tmp_path, "  top_articles: 1\n  featured:\n"
                         "    all: [ticket-response-times]\n"
                         "    de: [create-partner-account, submit-a-ticket]\n")
    de, us = home_of(root, "de")["page"], home_of(root, "us")["page"]
    assert re.findall(r"^- \[[^\]]+\]\(([^)]+)\)", de, re.M) == [
        "partners/registration/create-your-account.md",
        "partners/support-tickets/submit-a-ticket.md"]
    assert re.findall(r"^- \[[^\]]+\]\(([^)]+)\)", us, re.M) == [
        "partners/support-tickets/response-times.md"]
    registration = us[us.index("**Registration**"):us.index("**Your account**")]
    assert len(re.findall(r"^    - \[", registration, re.M)) == 1


def test_featured_article_of_another_market_is_left_out(tmp_path):
    root = with_featured(tmp_path, "  featured: [us-sales-tax, submit-a-ticket]\n")
    write_article(root, "buyers/orders/us-sales-tax.md",
                  "id: us-sales-tax\ntitle: Sales tax\nsummary: Tax.\naudience: buyers\n"
                  "topic: orders\nmarkets: [us]\nlast_reviewed: 2026-11-25")
    assert "buyers/orders/us-sales-tax.md" in home_of(root, "us")["page"].split("## Buyers")[0]
    de = home_of(root, "de")["page"]
    assert "us-sales-tax" not in de and "submit-a-ticket.md" in de


def test_unknown_featured_id_is_an_error_at_its_line_with_the_allowed_ids(tmp_path):
    root = with_featured(tmp_path, "  featured: [submit-a-ticket, submit-ticket]\n")
    line = next(n for n, text in enumerate(
        (root / "helpgen.yml").read_text(encoding="utf-8").splitlines(), 1)
        if "submit-ticket]" in text)
    with pytest.raises(HelpgenError) as exc:
        home_of(root, "us")
    message = str(exc.value)
    assert f"helpgen.yml:{line}:31: error: home.featured: no article has the id " \
           "'submit-ticket' (did you mean 'submit-a-ticket'?); allowed: " in message
    assert "buyer-protection-program" in message and "home," not in message  # pages aren't


def test_featured_for_an_unknown_market_is_a_config_error(tmp_path):
    root = with_featured(tmp_path, "  featured: {xx: [submit-a-ticket]}\n")
    with pytest.raises(HelpgenError) as exc:
        config_mod.load(root)
    assert "home.featured: unknown market 'xx'; allowed: all, us, uk" in str(exc.value)
    assert str(exc.value).startswith("helpgen.yml:")


def test_featured_must_be_a_list_of_ids(tmp_path):
    root = with_featured(tmp_path, "  featured: submit-a-ticket\n")
    with pytest.raises(HelpgenError) as exc:
        config_mod.load(root)
    assert "home.featured must be a list of article ids" in str(exc.value)
