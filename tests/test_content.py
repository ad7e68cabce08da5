"""Front-matter schema, variants and Jinja rendering: no MkDocs involved."""

from __future__ import annotations

import datetime as dt

import pytest

from helpgen import config as config_mod
from helpgen import content, render
from helpgen.cli import main
from helpgen.errors import HelpgenError

from projectkit import REPO, write_article

GOOD = """
id: sample-article
title: A sample article
summary: Shows the schema.
audience: buyers
topic: orders
last_reviewed: 2026-11-25
"""


def errors_of(exc_info) -> list[str]:
    return [str(p) for p in exc_info.value.problems]


def test_real_corpus_is_valid_and_ids_are_unique():
    cfg = config_mod.load(REPO)
    corpus = content.load(cfg)
    ids = [a.id for a in corpus.articles]
    assert len(ids) == len(set(ids))
    articles = [a for a in corpus.articles if a.kind == "article"]
    assert len(articles) >= 15
    assert {a.audience for a in articles} == {"sellers", "partners", "buyers"}
    for a in articles:
        assert a.title and a.summary and a.topic in cfg.topics
        assert isinstance(a.last_reviewed, dt.date)


def test_required_variants_exist_in_german_and_japanese():
    corpus = content.load(config_mod.load(REPO))
    by_id = corpus.by_id
    for art_id in ("submit-a-ticket", "ticket-response-times", "buyer-protection-program"):
        assert set(by_id[art_id].variants) >= {"de", "ja"}, art_id


def test_every_problem_is_reported_with_file_line_and_allowed_values(project):
    write_article(project, "buyers/orders/broken.md", """
id: Broken ID
title: Broken
summary: x
audience: shoppers
topic: orders
markets: us
ticket_categories: [refunds]
last_reviewed: 25/11/2026
colour: red
""")
    cfg = config_mod.load(project)
    with pytest.raises(HelpgenError) as exc:
        content.load(cfg)
    lines = errors_of(exc)
    path = "docs/buyers/orders/broken.md"
    assert all(line.startswith(path + ":") for line in lines), lines
    joined = "\n".join(lines)
    assert f"{path}:2:5: error: 'id' must be lower-case" in joined
    assert f"{path}:5:11: error: 'audience' must be one of: sellers, partners, buyers" in joined
    assert f"{path}:7:10: error: 'markets' must be 'all' or a list" in joined
    assert "(try markets: [us])" in joined
    assert f"{path}:8:21: error: 'ticket_categories' has unknown value 'refunds'; allowed:" in joined
    assert f"{path}:9:16: error: 'last_reviewed' must be a date YYYY-MM-DD" in joined
    assert f"{path}:10:1: error: unknown field 'colour'; allowed: id, title" in joined
    assert len(lines) == 6


def test_missing_front_matter_and_yaml_syntax_error_point_at_lines(project):
    (project / "docs/buyers/orders/plain.md").write_text("# No front matter\n", encoding="utf-8")
    write_article(project, "buyers/orders/syntax.md", "id: x\ntitle: [unclosed\nsummary: s")
    with pytest.raises(HelpgenError) as exc:
        content.load(config_mod.load(project))
    lines = errors_of(exc)
    assert any(l.startswith("docs/buyers/orders/plain.md:1: error: missing front matter")
               for l in lines), lines
    assert any(l.startswith("docs/buyers/orders/syntax.md:4:") and "not valid YAML" in l
               for l in lines), lines


def test_topic_must_belong_to_the_audience(project):
    write_article(project, "buyers/orders/wrong-topic.md",
                  GOOD.replace("topic: orders", "topic: registration"))
    with pytest.raises(HelpgenError) as exc:
        content.load(config_mod.load(project))
    assert "topic 'registration' belongs to audience 'partners'; for 'buyers' use one of: " \
           "orders, buyer-protection" in str(exc.value)


def test_duplicate_ids_name_both_files(project):
    write_article(project, "buyers/orders/dup.md",
                  GOOD.replace("sample-article", "message-the-seller"))
    with pytest.raises(HelpgenError) as exc:
        content.load(config_mod.load(project))
    assert "duplicate id 'message-the-seller'" in str(exc.value)
    assert "docs/buyers/orders/message-the-seller.md" in str(exc.value)


def test_translation_needs_known_language_and_english_article(project):
    write_article(project, "buyers/orders/orphan.de.md", "title: Waise\nsummary: s")
    write_article(project, "buyers/orders/message-the-seller.xx.md", "title: x\nsummary: s")
    with pytest.raises(HelpgenError) as exc:
        content.load(config_mod.load(project))
    text = str(exc.value)
    assert "docs/buyers/orders/orphan.de.md:1: error: translation without an English article" \
        in text
    assert "unknown language suffix '.xx.md'; allowed: vi, th, es, de, fr, it, ja" in text


def test_undefined_jinja_variable_names_article_and_line(project):
    write_article(project, "buyers/orders/jinja.md", GOOD + "jinja: true\n",
                  "# Title\n\nLine two.\n\nVisit {{ market.signup_link }} now.\n")
    cfg = config_mod.load(project)
    corpus = content.load(cfg)
    with pytest.raises(HelpgenError) as exc:
        render.render_market(corpus, cfg, cfg.market("uk"), "2026.11")
    # front matter is lines 1-10, body starts at line 10: the error is on body line 5
    assert str(exc.value).startswith("docs/buyers/orders/jinja.md:14:17: error: ")
    assert "signup_link" in str(exc.value)
    assert "did you mean 'market.signup_url'?" in str(exc.value)


def test_jinja_syntax_error_names_article_and_line(project):
    write_article(project, "buyers/orders/jinja.md", GOOD + "jinja: true\n",
                  "# Title\n\n{% if market.code == 'us' %}\nUS only\n")
    cfg = config_mod.load(project)
    with pytest.raises(HelpgenError) as exc:
        render.render_market(content.load(cfg), cfg, cfg.market("us"), "2026.11")
    assert str(exc.value).startswith("docs/buyers/orders/jinja.md:")
    assert "template syntax error" in str(exc.value)


def test_market_text_differs_per_market():
    cfg = config_mod.load(REPO)
    corpus = content.load(cfg)
    us = render.render_market(corpus, cfg, cfg.market("us"), "2026.11")
    uk = render.render_market(corpus, cfg, cfg.market("uk"), "2026.11")
    src = "partners/registration/create-your-account.md"
    assert "partner.us.tiktokshop.com/account/sign-up" in us.pages[src].markdown
    assert "https://partner.tiktokshop.com/account/sign-up" not in us.pages[src].markdown
    assert "https://partner.tiktokshop.com/account/sign-up" in uk.pages[src].markdown
    assert "partner.us.tiktokshop.com" not in uk.pages[src].markdown


def test_language_variant_and_fallback_notice():
    cfg = config_mod.load(REPO)
    corpus = content.load(cfg)
    de = render.render_market(corpus, cfg, cfg.market("de"), "2026.11")
    translated = de.pages["partners/support-tickets/submit-a-ticket.md"]
    assert translated.language == "de" and not translated.fallback
    assert translated.source == "partners/support-tickets/submit-a-ticket.de.md"
    untranslated = de.pages["partners/registration/who-can-register.md"]
    assert untranslated.fallback and untranslated.language == "en"
    assert '!!! info "Noch nicht übersetzt"' in untranslated.markdown
    fr = render.render_market(corpus, cfg, cfg.market("fr"), "2026.11")
    assert '!!! info "Pas encore traduit"' in \
        fr.pages["partners/support-tickets/submit-a-ticket.md"].markdown
    us = render.render_market(corpus, cfg, cfg.market("us"), "2026.11")
    assert not any(p.fallback for p in us.pages.values())


def test_config_problems_are_all_reported(tmp_path):
    (tmp_path / "helpgen.yml").write_text((REPO / "helpgen.yml").read_text(encoding="utf-8")
                                          .replace("default_market: us", "default_market: zz")
                                          .replace("language: ja", "language: jp")
                                          + "\nsearch_engine: lunr\n", encoding="utf-8")
    with pytest.raises(HelpgenError) as exc:
        config_mod.load(tmp_path)
    text = str(exc.value)
    assert "default_market 'zz' is not a market; allowed: us, uk" in text
    assert "market 'jp': unknown language 'jp'; allowed: en, vi" in text
    assert "unknown key 'search_engine'" in text
    assert all(line.startswith("helpgen.yml:") for line in text.splitlines())


def test_cli_reports_content_errors_without_traceback(project, capsys):
    write_article(project, "buyers/orders/bad.md", GOOD.replace("audience: buyers",
                                                               "audience: nobody"))
    code = main(["--project", str(project), "build"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("docs/buyers/orders/bad.md:5:11: error: 'audience' must be one of")
    assert "Traceback" not in err
    assert not (project / "site" / "us" / "2026.11").exists()


def test_cli_usage_error_exit_code_2(capsys):
    code = main(["--project", str(REPO), "build", "--market", "zz", "--site-dir", "/nonexistent"])
    assert code == 2
    assert "unknown market 'zz'; allowed: us, uk, my, vn, th, ph, sg, es, de, fr, it, jp" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["build", "--bogus"])
    assert exc.value.code == 2


def test_large_topic_is_split_into_alphabetical_groups_in_the_navigation(project):
    titles = [f"{letter} question {i}" for i, letter in enumerate("ABCDEFGHIJKLM")]
    for i, title in enumerate(titles):
        write_article(project, f"buyers/orders/many-{i}.md",
                      GOOD.replace("sample-article", f"many-{i}")
                          .replace("A sample article", title))
    (project / "helpgen.yml").write_text(
        (project / "helpgen.yml").read_text(encoding="utf-8") + "\nbuild:\n  nav_max_items: 5\n",
        encoding="utf-8")
    cfg = config_mod.load(project)
    rendered = render.render_market(content.load(cfg), cfg, cfg.market("us"), "2026.11")
    nav = render.navigation(rendered, cfg)
    buyers = next(entry["Buyers"] for entry in nav if "Buyers" in entry)
    orders = next(section["Orders"] for section in buyers if "Orders" in section)
    labels = [next(iter(group)) for group in orders]
    assert labels[0] == "A–D"  # 2 real + 13 new = 15 articles -> 3 groups of at most 5
    assert len(orders) == 3 and all(len(next(iter(g.values()))) <= 5 for g in orders)
    flat = [src for g in orders for item in next(iter(g.values())) for src in item.values()]
    assert len(flat) == len(set(flat)) == 15  # every article once
    small = next(section["Buyer protection"] for section in buyers
                 if "Buyer protection" in section)
    assert small == [{"TikTok Shop Buyer Protection Program":
                      "buyers/buyer-protection/buyer-protection-program.md"}]


@pytest.mark.parametrize("body", [
    "# T\n\nWelcome to {{ market.name }} ({{market.code}}).\n",
    "# T\n\n{{ market.name | upper }} and {{ version }}\n",
    "# T\n\n{% if market.code == 'uk' %}UK{% else %}other{% endif %} {{ market.name }}\n",
])
def test_market_value_fast_path_renders_exactly_like_jinja(body):
    cfg = config_mod.load(REPO)
    market = cfg.market("uk").as_context()
    expected = render.make_environment().from_string(body).render(market=market,
                                                                    version="2026.11")
    fast = render._substitute_market(body, market)
    assert fast is None or fast == expected
    assert (fast is not None) == (body.startswith("# T\n\nWelcome"))


def test_unknown_market_value_still_fails_through_jinja(project):
    write_article(project, "buyers/orders/typo.md", GOOD + "jinja: true\n",
                  "# T\n\nGo to {{ market.signup }}.\n")
    cfg = config_mod.load(project)
    with pytest.raises(HelpgenError) as exc:
        render.render_market(content.load(cfg), cfg, cfg.market("us"), "2026.11")
    assert str(exc.value).startswith("docs/buyers/orders/typo.md:12:17: error:")
    assert "signup" in str(exc.value)


def test_misspelt_market_value_names_the_variable_and_the_closest_key(project):
    write_article(project, "buyers/orders/typo.md", GOOD + "jinja: true\n",
                  "# T\n\nGo to {{ market.sigup_url }}.\n")
    cfg = config_mod.load(project)
    with pytest.raises(HelpgenError) as exc:
        render.render_market(content.load(cfg), cfg, cfg.market("us"), "2026.11")
    assert str(exc.value).startswith("docs/buyers/orders/typo.md:12:17: error: 'market' has "
                                     "no attribute 'sigup_url'; did you mean "
                                     "'market.signup_url'? (available: ")
