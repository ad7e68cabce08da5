"""The general schema: market vars, optional audiences and categories, nested topics,
searchable root pages — a help center that is not a marketplace builds as it is."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpgen import config as config_mod, content, search, site
from helpgen.errors import HelpgenError

from projectkit import REPO, copy_project, write_article

MINIMAL = """
default_market: en
version: "1.0"
languages:
  en: {name: English}
  de: {name: Deutsch}
markets:
  en: {name: Global, language: en, locale: en_US, vars: {product: Notes, price: 5}}
  de: {name: Deutschland, language: de, locale: de_DE, vars: {product: Notizen, price: 6}}
topics:
  sync: {title: Sync}
  sync/mobile: {title: Mobile, i18n: {de: {title: Mobilgeräte}}}
  billing: {title: Billing}
"""


def minimal_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "helpgen.yml").write_text(MINIMAL, encoding="utf-8")
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "hooks", root / "hooks")
    docs = root / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("---\ntitle: Home\nsearch: false\n---\n# Home\n",
                                   encoding="utf-8")
    (docs / "faq.md").write_text("---\ntitle: Frequently asked questions\n---\n# FAQ\n\n"
                                 "Offline editing works everywhere.\n", encoding="utf-8")
    write_article(root, "sync/mobile/phone-sync.md", "id: phone-sync\ntitle: Sync on your "
                  "phone\nsummary: Keep notes in step on phones.\nlast_reviewed: 2026-11-01\n"
                  "jinja: true", "# Sync on your phone\n\n{{ market.product }} syncs every "
                  "minute for {{ market.price }} a month.\n")
    write_article(root, "sync/desktop-sync.md", "id: desktop-sync\ntitle: Sync on the "
                  "desktop\nsummary: Desktop sync.\nlast_reviewed: 2026-11-01",
                  "# Sync on the desktop\n\nDesktop sync runs in the background.\n")
    write_article(root, "billing/invoices.md", "id: invoices\ntitle: Download invoices\n"
                  "summary: Where invoices are.\nlast_reviewed: 2026-11-01",
                  "# Download invoices\n\nInvoices are in your account.\n")
    return root


def test_a_single_audience_project_without_categories_builds_and_searches(tmp_path):
    root = minimal_project(tmp_path / "p")
    cfg = config_mod.load(root)
    assert cfg.single_audience and cfg.ticket_categories == {} and cfg.warnings == ()
    corpus = content.load(cfg)
    topics = {a.id: a.topic for a in corpus.articles if a.kind == "article"}
    assert topics == {"phone-sync": "sync/mobile", "desktop-sync": "sync",
                      "invoices": "billing"}
    state = site.prepare(cfg, "de", "1.0")
    assert "Notizen syncs every minute for 6 a month." in \
        state.rendered.pages["sync/mobile/phone-sync.md"].markdown
    # no audience level: topics at the top, sub-topics inside their parent
    assert state.nav[1] == {"Sync": [{"Sync on the desktop": "sync/desktop-sync.md"},
                                     {"Mobilgeräte": [{"Sync on your phone":
                                                       "sync/mobile/phone-sync.md"}]}]}
    site.build(cfg, "en", "1.0", ["latest"], root / "site", index_dir=root / "search_index")
    page = root / "site/en/1.0/sync/mobile/phone-sync/index.html"
    assert "Notes syncs every minute for 5 a month." in page.read_text(encoding="utf-8")
    ids = [h.id for h in search.search("sync", "en", index_dir=root / "search_index",
                                       topic="sync").hits]
    assert set(ids) == {"phone-sync", "desktop-sync"}  # a topic includes its sub-topics
    found = search.search("offline editing", "en", index_dir=root / "search_index").hits
    assert [h.id for h in found] == ["faq"]  # root pages are searchable ...
    assert not search.search("home", "en", index_dir=root / "search_index").hits  # ... unless


def test_markets_must_declare_the_same_vars(tmp_path):
    root = minimal_project(tmp_path / "p")
    text = (root / "helpgen.yml").read_text(encoding="utf-8")
    (root / "helpgen.yml").write_text(text.replace(", price: 6}", "}"), encoding="utf-8")
    with pytest.raises(HelpgenError) as exc:
        config_mod.load(root)
    assert "market 'de' lacks vars price that en declare" in str(exc.value)
    assert str(exc.value).startswith("helpgen.yml:9:")


def test_sub_topics_need_their_parent_and_keep_its_audience(project):
    path = project / "helpgen.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("topics:\n", "topics:\n  orphan/child: {title: Child}\n"
                                 "  orders/late: {title: Late, audience: sellers}\n", 1),
                    encoding="utf-8")
    with pytest.raises(HelpgenError) as exc:
        config_mod.load(project)
    text = str(exc.value)
    assert "topic 'orphan/child': its parent 'orphan' must be declared above it" in text
    assert "topic 'orders/late'" in text  # orders is declared below: the parent is missing


def test_top_level_signup_url_still_works_with_a_deprecation_warning(project):
    path = project / "helpgen.yml"
    text = path.read_text(encoding="utf-8").replace(
        'vars: {signup_url: "https://partner.us.tiktokshop.com/account/sign-up"}',
        'signup_url: "https://partner.us.tiktokshop.com/account/sign-up"')
    path.write_text(text, encoding="utf-8")
    cfg = config_mod.load(project)
    assert cfg.markets["us"].signup_url == "https://partner.us.tiktokshop.com/account/sign-up"
    [warning] = cfg.warnings
    assert str(warning).startswith("helpgen.yml:20:") and "warning: market 'us'" in str(warning)


def test_categories_carry_translated_titles(project):
    path = project / "helpgen.yml"
    text = re.sub(r"(?m)^  registration:\n    title: .*\n    i18n: .*\n",
                  "  registration: {title: Partner registration, i18n: {de: {title: "
                  "Partner-Registrierung}}}\n", path.read_text(encoding="utf-8"))
    assert "Partner-Registrierung}}}" in text
    path.write_text(text, encoding="utf-8")
    cfg = config_mod.load(project)
    assert cfg.ticket_categories["registration"] == "Partner registration"
    assert cfg.categories["registration"].text("title", "de") == "Partner-Registrierung"
    assert cfg.categories["registration"].text("title", "ja") == "Partner registration"


def test_the_real_project_builds_the_same_navigation(built_project):
    cfg = config_mod.load(built_project)
    nav = site.prepare(cfg, "us", "2026.11").nav
    assert [next(iter(n)) for n in nav] == ["Help Center", "Sellers", "Partners", "Buyers",
                                            "Submit a ticket"]
