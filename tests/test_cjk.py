"""Line breaks between Japanese/Chinese characters vanish, on the page and in the index;
table cells and rows stay apart in the indexed text (and so in snippets)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from helpgen import cjk, index, site
from helpgen import config as config_mod

from projectkit import copy_project, write_article

WRAPPED = "サポート窓口についての\n回答をまとめています。\n英語の記事もあります。"


def test_break_between_japanese_characters_is_removed():
    assert cjk.join_breaks(WRAPPED) == "サポート窓口についての回答をまとめています。英語の記事もあります。"


def test_break_next_to_latin_text_or_hangul_stays():
    assert cjk.join_breaks("注文は\nOrders から") == "注文は\nOrders から"
    assert cjk.join_breaks("Orders are\nshipped") == "Orders are\nshipped"
    assert cjk.join_breaks("주문은\n배송됩니다") == "주문은\n배송됩니다"


def test_indentation_of_the_joined_line_goes_with_the_break():
    assert cjk.join_breaks("- 注文の\n  確認") == "- 注文の確認"


@pytest.mark.parametrize("text", [
    "```\n日本\n語\n```",          # fenced code keeps its lines
    "~~~text\n日本\n語\n~~~",
    "# 見出し\n本文",               # a heading does not swallow the paragraph
    "| 列 | 値 |\n|---|---|\n| 日本 | 語 |\n| 日本 | 語 |",
    "日本 | 語\n日本 | 語",         # table rows without outer pipes
    "改行する  \n次の行",           # hard line break (two spaces) is kept
])
def test_code_headings_tables_and_hard_breaks_are_left_alone(text):
    assert cjk.join_breaks(text) == text


def test_code_after_joined_prose_still_keeps_its_lines():
    text = "説明の\n続き\n\n```\n日本\n語\n```\n\n終わりの\n文"
    assert cjk.join_breaks(text) == "説明の続き\n\n```\n日本\n語\n```\n\n終わりの文"


def test_indexed_text_joins_japanese_lines_and_separates_table_cells():
    body, _ = index.markdown_to_text(
        "# T\n\n" + WRAPPED + "\n\nWithin 48 business hours.\n\n"
        "| Stage | What it means | Typical time |\n|---|---|---|\n"
        "| Submitted | We got it | 1 hour |\n| Solved | Done | 2 days |\n")
    assert "についての回答" in body
    assert ("Within 48 business hours. Stage · What it means · Typical time — "
            "Submitted · We got it · 1 hour — Solved · Done · 2 days") in body


@pytest.fixture(scope="module")
def jp_site(tmp_path_factory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("cjk") / "project")
    write_article(root, "sellers/support-channels/wrapped-ja.md", """
id: wrapped-ja
title: Wrapped
summary: Hard-wrapped Japanese.
audience: sellers
topic: support-channels
last_reviewed: 2026-11-25
""", "# Wrapped\n\nEnglish.\n")
    (root / "docs" / "sellers" / "support-channels" / "wrapped-ja.ja.md").write_text(
        "---\ntitle: 折り返し\nsummary: 折り返した日本語。\nlast_reviewed: 2026-11-25\n---\n"
        "# 折り返し\n\n" + WRAPPED + "\n\n```\n日本\n語\n```\n\n"
        "| 段階 | 意味 |\n|---|---|\n| 受付 | 受け取りました |\n", encoding="utf-8")
    cfg = config_mod.load(root)
    site.build_all(cfg, "2026.11", ["latest"], root / "site", jobs=1, markets=["jp"],
                   index_dir=root / "idx")
    return root


def test_built_japanese_page_has_no_break_between_wrapped_lines(jp_site):
    page = (jp_site / "site" / "jp" / "2026.11" / "sellers" / "support-channels" / "wrapped-ja"
            / "index.html").read_text(encoding="utf-8")
    assert "についての回答をまとめています。英語の記事もあります。" in page
    assert "についての\n回答" not in page
    code = re.search(r"<code>(.*?)</code>", page, re.S).group(1)
    assert "日本\n語" in code  # code keeps its line break


def test_index_stores_the_joined_japanese_text_and_separated_cells(jp_site):
    ix = whoosh_index.open_dir(str(jp_site / "idx" / "jp" / "2026.11"))
    with ix.searcher() as s:
        doc = next(d for d in s.all_stored_fields() if d["id"] == "wrapped-ja")
    ix.close()
    assert "についての回答" in doc["text"]
    assert "段階 · 意味 — 受付 · 受け取りました" in doc["text"]
