"""Real searches on real indexes: the project built for us, de and jp into tmp_path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpgen import config as config_mod
from helpgen import site
from helpgen.cli import main
from helpgen.errors import HelpgenError
from helpgen.search import Hit, SearchResult, Searcher, open_searcher, osa_distance, search

from projectkit import copy_project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("search") / "project")
    cfg = config_mod.load(root)
    site.build_all(cfg, "2026.11", ["latest"], root / "site", jobs=2, markets=["us", "de", "jp"])
    return root


@pytest.fixture(scope="module")
def us(project) -> Searcher:
    with open_searcher(project / "search_index", "us") as s:
        yield s


def ids(result: SearchResult, n: int = 3) -> list[str]:
    return [h.id for h in result.hits[:n]]


@pytest.mark.parametrize("market,query,expected", [
    ("us", "refnud", "buyer-protection-program"),
    ("us", "tikets", "track-your-tickets"),
    ("us", "regestration", "who-can-register"),
    ("us", "how do I get my money back", "buyer-protection-program"),  # synonym: refund
    ("us", "open a case with support", "submit-a-ticket"),  # synonym: ticket
    ("us", "reply time", "ticket-response-times"),  # synonym: response time
    ("us", "change my login email", "manage-login-email-phone-password"),
    ("de", "Rückerstattung", "buyer-protection-program"),
    ("de", "wie lange dauert eine Antwort", "ticket-response-times"),
    ("de", "Supportticket einreichen", "submit-a-ticket"),
    ("jp", "返金", "buyer-protection-program"),
    ("jp", "チケットの送り方", "submit-a-ticket"),
    ("jp", "返信時間", "ticket-response-times"),
])
def test_answer_is_in_the_first_three_results(project, market, query, expected):
    result = search(query, market, index_dir=project / "search_index")
    assert expected in ids(result), (query, ids(result, 10))


def test_german_article_is_served_from_its_german_variant(project):
    hit = search("Supportticket einreichen", "de", index_dir=project / "search_index").hits[0]
    assert hit.id == "submit-a-ticket"
    assert hit.source == "partners/support-tickets/submit-a-ticket.de.md"
    assert hit.url == "/de/2026.11/partners/support-tickets/submit-a-ticket/"  # alias resolved
    assert hit.path == "partners/support-tickets/submit-a-ticket/"
    assert hit.language == "de" and hit.title.startswith("Supportticket")


def test_english_query_finds_english_fallback_article_on_german_site(project):
    hit = search("switch partner role", "de", index_dir=project / "search_index").hits[0]
    assert hit.id == "switch-partner-roles" and hit.language == "en"
    assert "nicht auf Deutsch" not in hit.snippet  # the fallback notice is not indexed


def test_typo_gives_did_you_mean_and_results(us):
    result = us.search("refnud")
    assert result.suggestion == "refund"
    assert result.hits and "<mark>refund</mark>" in result.hits[0].snippet.lower()


def test_correct_query_has_no_suggestion(us):
    assert us.search("refund").suggestion is None


def test_nothing_found_returns_empty_result_not_error(us):
    result = us.search("xqzvwk")
    assert result.hits == () and result.total == 0


def test_snippet_is_escaped_html_with_marks(us):
    for q in ("add category & market", "track tickets"):
        for hit in us.search(q).hits:
            assert "<mark>" in hit.snippet or hit.snippet
            assert "<" not in re.sub(r"</?mark>", "", hit.snippet), hit.snippet


@pytest.mark.parametrize("audience", ["buyers", "partners", "sellers"])
def test_audience_filter_returns_only_that_audience(us, audience):
    result = us.search("contact support", audience=audience)
    assert result.hits and {h.audience for h in result.hits} == {audience}


def test_topic_filter_returns_only_that_topic(us):
    result = us.search("ticket", topic="support-tickets")
    assert result.hits and {h.topic for h in result.hits} == {"support-tickets"}
    assert result.total == len(result.hits)


def test_unknown_audience_and_topic_list_allowed_values(us):
    with pytest.raises(HelpgenError, match="allowed: buyers, partners, sellers") as exc:
        us.search("ticket", audience="admins")
    assert exc.value.exit_code == 2
    with pytest.raises(HelpgenError, match="unknown topic 'nope'; allowed: .*registration"):
        us.search("ticket", topic="nope")


def test_unknown_market_is_a_usage_error(project):
    with pytest.raises(HelpgenError, match="unknown market 'zz'.*indexed markets: de, jp, us") \
            as exc:
        search("ticket", "zz", index_dir=project / "search_index")
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("query", ["", "   ", "\x00", "\t\n\x07", "\u200b\u200d"])
def test_empty_query_is_a_usage_error(us, query):
    with pytest.raises(HelpgenError, match="empty query") as exc:
        us.search(query)
    assert exc.value.exit_code == 2


HOSTILE = [
    '"', '"unbalanced', "(", "((ticket", "ticket)", "AND", "OR", "NOT", "ticket AND OR NOT",
    "*", "tick*", "?", ":", "title:refund", "audience:buyers", "id:*", "[a TO z]", "{", "^2",
    "~", "ticket~2", "\\", "/", "'; DROP TABLE articles; --", "<script>alert(1)</script>",
    "\x00ticket\x00", "\x1b[31mred", "\u200bticket\u200d", "🙂🔥", "返金🙂", "ü" * 300, "a" * 5000,
    "ticket " * 1000, "x" * 5000 + " refund", "%s %n", "𝕥𝕚𝕔𝕜𝕖𝕥",
]


@pytest.mark.parametrize("query", HOSTILE, ids=[repr(q[:20]) for q in HOSTILE])
def test_hostile_input_never_raises(us, query):
    result = us.search(query)
    assert isinstance(result, SearchResult)
    for hit in result.hits:
        assert "<script" not in hit.snippet


def test_query_syntax_is_treated_as_plain_words(us):
    assert ids(us.search("title:refund")) == ids(us.search("title refund"))
    assert "buyer-protection-program" in ids(us.search("(refund) AND"))


def test_search_text_matches_long_ticket_and_filters_categories(us):
    ticket = ("Hello, I opened a support ticket in the Partner Center three days ago and still "
              "no reply from the support team. How long does a response usually take? " * 20)
    result = us.search_text(ticket, limit=5)
    assert result.hits[0].id in ("ticket-response-times", "track-your-tickets")
    assert all(h.score > 0 for h in result.hits)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    only = us.search_text(ticket, limit=5, categories=["response-time"])
    assert [h.id for h in only.hits] == ["ticket-response-times"]


def test_version_alias_resolves_and_is_reported(us):
    result = us.search("ticket")
    assert us.version == "2026.11" and result.version == "2026.11"
    assert result.hits[0].url == f"/us/2026.11/{result.hits[0].path}"
    assert result.href(result.hits[0]) == result.hits[0].url


def test_full_width_query_matches_like_half_width(us):
    assert ids(us.search("ＲＥＦＵＮＤ")) == ids(us.search("refund"))


def test_cli_search_prints_ranked_plain_results(project, capsys):
    rc = main(["search", "refnud", "--market", "us", "--limit", "2", "--project", str(project)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "showing results for: refund" in out
    assert re.search(r"^1\. TikTok Shop Buyer Protection Program$", out, re.M)
    assert "buyers/buyer-protection/buyer-protection-program/" in out
    assert "<mark>" not in out and "2. " in out and "3. " not in out


def test_cli_search_json_is_a_list_of_records(project, capsys):
    rc = main(["search", "Rückerstattung", "--market", "de", "--json", "--limit", "3",
               "--index-dir", str(project / "search_index"), "--project", str(project)])
    records = json.loads(capsys.readouterr().out)
    assert rc == 0 and isinstance(records, list) and 1 <= len(records) <= 3
    assert set(records[0]) == set(Hit.__dataclass_fields__)
    assert records[0]["id"] == "buyer-protection-program"
    assert records[0]["source"].endswith(".de.md")


def test_cli_no_results_says_so_and_exits_0(project, capsys):
    rc = main(["search", "xqzvwk", "--project", str(project)])
    assert rc == 0 and "no results for 'xqzvwk' on us 2026.11" in capsys.readouterr().out


def test_cli_empty_query_exits_2(project, capsys):
    rc = main(["search", "  ", "--project", str(project)])
    assert rc == 2 and "error: empty query" in capsys.readouterr().err


def test_cli_unknown_audience_exits_2_listing_values(project, capsys):
    rc = main(["search", "ticket", "--audience", "admins", "--project", str(project)])
    assert rc == 2 and "allowed: buyers, partners, sellers" in capsys.readouterr().err


@pytest.mark.parametrize("a,b,distance", [
    ("refnud", "refund", 1), ("tikets", "tickets", 1), ("stellen", "seller", 2),
    ("ticket", "ticket", 0), ("", "ab", 2),
])
def test_letter_swap_counts_as_one_edit(a, b, distance):
    assert osa_distance(a, b) == distance


def test_short_word_two_edits_away_is_not_corrected(project):
    # "stellen" (German) is two edits from the English "seller": no wrong correction
    result = search("Supportanfrage stellen", "de", index_dir=project / "search_index")
    assert result.suggestion is None
    assert "submit-a-ticket" in ids(result)


def test_german_word_finds_the_compounds_it_begins(project):
    # "Käufer" occurs only inside "Käuferschutz(programm)" in the German articles
    result = search("Käufer", "de", index_dir=project / "search_index")
    assert ids(result, 1) == ["buyer-protection-program"]
    assert result.hits[0].language == "de"
    assert "<mark>Käuferschutzprogramm</mark>" in result.hits[0].snippet


def test_cli_no_results_offers_did_you_mean(project, capsys):
    # the corrected word exists, but only in partner articles: the filter leaves nothing
    rc = main(["search", "pasword", "--audience", "buyers", "--project", str(project)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "no results for 'pasword' on us 2026.11; did you mean: password" in out


def _de_doc(id_: str, title: str, body: str, language: str = "de") -> "index.IndexDoc":
    from helpgen import index

    return index.IndexDoc(id=id_, title=title, summary="", keywords=(), headings=(), body=body,
                          audience="buyers", topic="orders", url=f"{id_}/",
                          source=f"{id_}.{language}.md", language=language)


@pytest.fixture(scope="module")
def de_index(tmp_path_factory) -> Path:
    """A small German market index: German articles and one English fallback."""
    from helpgen import index

    docs = [
        _de_doc("sortieren", "Listen sortieren", "Sortieren Sie Listen per Drag and Drop."),
        _de_doc("adresse", "Adresse ändern", "So ändern Sie die Adresse Ihres Kontos."),
        _de_doc("vertrag", "Vertrag gekündigt", "Ihr Vertrag wurde gekündigt, was nun?"),
        _de_doc("abo", "Mitgliedschaft beenden", "Sie können jederzeit kündigen."),
        _de_doc("design", "Dunkles Design", "Den Modus wählen Sie unter Darstellung: dunkel "
                "oder hell."),
        _de_doc("studenten", "Studentenrabatt", "Studierende erhalten einen Nachlass."),
        _de_doc("rabatt", "Rabatt einlösen", "Geben Sie den Code an der Kasse ein."),
        _de_doc("fallback", "Shipping times", "Delivery takes three days.", language="en"),
    ]
    root = tmp_path_factory.mktemp("de-index")
    index.write(docs, root, "de", "v1", "de")
    return root


def de_ids(de_index: Path, query: str, n: int = 3) -> list[str]:
    return [h.id for h in search(query, "de", "v1", index_dir=de_index).hits[:n]]


def test_german_short_stem_keeps_the_word_and_misses_english_and(de_index):
    from helpgen import analysis

    de = analysis.analyzer("de")
    assert [t.text for t in de("ändern Änderung")] == ["ander", "ander"]
    assert [t.text for t in de("Tag Tage Tagen")] == ["tag", "tag", "tag"]  # short, no clash
    assert [t.text for t in de("and")] == ["and"]
    assert de_ids(de_index, "ändern") == ["adresse"]  # not "Drag and Drop"


def test_german_participle_meets_its_verb_both_ways(de_index):
    assert set(de_ids(de_index, "kündigen")[:2]) == {"abo", "vertrag"}
    assert set(de_ids(de_index, "gekündigt")[:2]) == {"abo", "vertrag"}


def test_german_compound_query_is_split_against_the_vocabulary(de_index):
    # "Dunkelmodus" occurs nowhere; its parts do, in one article
    assert de_ids(de_index, "Dunkelmodus", 1) == ["design"]


def test_german_compounds_found_from_either_part(de_index):
    assert set(de_ids(de_index, "Rabatt")[:2]) == {"rabatt", "studenten"}
    assert de_ids(de_index, "Studentenrabatt")[:2] == ["studenten", "rabatt"]
    # a compound the index lacks still finds its last part
    assert de_ids(de_index, "Mitgliederrabatt") and \
        de_ids(de_index, "Mitgliederrabatt")[0] in {"rabatt", "studenten"}


def test_did_you_mean_lists_only_the_corrected_words(us):
    from helpgen.search import Correction

    long = "please tell me how I can reset my passwrd for the partner center today"
    result = us.search(long)
    assert result.corrections == (Correction("passwrd", "password"),)
    assert result.did_you_mean() == "password"
    assert result.corrections[0].as_dict() == {"from": "passwrd", "to": "password"}
    assert result.suggestion == long.replace("passwrd", "password")  # the link's query


@pytest.mark.parametrize("market,query", [
    ("us", "3 days ago nobody replied"),  # dictionary words, though not in the index
    ("de", "Abo"),  # a German word: not "ab"
    ("de", "Abo gekündigt"),
    ("de", "Dunkelmodus"),  # a compound of dictionary words
])
def test_dictionary_words_are_never_corrected(project, market, query):
    result = search(query, market, index_dir=project / "search_index")
    assert result.suggestion is None and result.corrections == (), result.corrections


def test_cli_shows_the_corrected_words_not_the_query(project, capsys):
    rc = main(["search", "how do I reset my passwrd", "--project", str(project)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "showing results for: password\n" in out
