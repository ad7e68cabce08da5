"""Each article analysed once (helpgen.index._Analysis) writes exactly the index Whoosh
writes when it analyses every field's joined text itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from helpgen import config as config_mod, index, site

from projectkit import REPO


def _contents(path: Path) -> tuple[dict, dict, list]:
    """Every posting (doc, weight) per (field, term), every field length, stored fields."""
    ix = whoosh_index.open_dir(str(path))
    try:
        with ix.reader() as r:
            postings = {}
            for name in r.indexed_field_names():
                for term in r.lexicon(name):
                    m = r.postings(name, term)
                    got = []
                    while m.is_active():
                        got.append((m.id(), m.weight()))
                        m.next()
                    postings[(name, term)] = got
            lengths = {(name, d): r.doc_field_length(d, name)
                       for name in r.indexed_field_names() for d in range(r.doc_count_all())}
            return postings, lengths, list(r.all_stored_fields())
    finally:
        ix.close()


def _both(tmp_path: Path, docs: list, market: str, language: str) -> tuple:
    out = []
    for once in (False, True):
        info = index.write(docs, tmp_path / f"ix-{once}", market, "v", language, procs=1,
                           analyse_once=once)
        out.append(_contents(info.path))
    return tuple(out)


@pytest.fixture(scope="module")
def cfg():
    return config_mod.load(REPO)


@pytest.mark.parametrize("market", ["us", "de", "jp", "th", "vn", "fr"])
def test_real_articles_index_identically(tmp_path, cfg, market):
    state = site.prepare(cfg, market, cfg.version)
    docs = index.documents(state.rendered, cfg)
    joined, once = _both(tmp_path, docs, market, state.market.language)
    assert len(joined[0]) > 1000
    assert once == joined


@pytest.mark.parametrize("language", ["en", "de", "ja", "th"])
def test_awkward_text_indexes_identically(tmp_path, language):
    texts = ["", "Rückerstattung für Bestellungen", "注文の返金について。配送状況", "การคืนเงิน ค่าส่ง",
             "a\tb\x00c\u200bd\u00ad e\u3000f ＡＢＣ１２３", "the and of", "ß straße STRASSE",
             "x.y-z_w 42 3.14 e-mail", "注文abc注文 . 返金"]
    docs = [index.IndexDoc(id=f"d{i}", title=texts[i % 9], summary=texts[(i + 1) % 9],
                           keywords=(texts[(i + 2) % 9], texts[(i + 5) % 9]),
                           headings=(texts[(i + 3) % 9],), body=" ".join(texts[i % 9:]) * 3,
                           audience="buyers", topic="orders", url=f"d{i}/", source=f"d{i}.md",
                           language=language if i % 3 else "en")
            for i in range(18)]
    joined, once = _both(tmp_path, docs, "xx", language)
    assert once == joined


def test_index_schema_is_whooshs_own(tmp_path):
    """helpgen's counting field (analysis.WordsText) is pickled as Whoosh's TEXT: an
    index opens with a helpgen that does not know the class."""
    from whoosh.fields import TEXT

    doc = index.IndexDoc(id="d", title="Refund", summary="Money back", keywords=("refund",),
                         headings=("Steps",), body="Ask for a refund.", audience="buyers",
                         topic="orders", url="d/", source="d.md", language="de")
    info = index.write([doc], tmp_path / "ix", "de", "v", "de", procs=1)
    toc = b"".join(p.read_bytes() for p in info.path.glob("*.toc"))
    assert b"WordsText" not in toc and b"_encoded" not in toc
    ix = whoosh_index.open_dir(str(info.path))
    try:
        text_fields = [n for n in ix.schema.names() if n.endswith(("_en", "_de")) or n == "spell"]
        assert len(text_fields) == 13
        assert {type(ix.schema[n]) for n in text_fields} == {TEXT}
    finally:
        ix.close()


def test_words_is_the_spelling_analyzer():
    from helpgen import analysis

    spell = analysis.spell_analyzer()
    for text in ["", "Rückerstattung, für: Bestellungen!", "注文の返金について。配送", "注",
                 "การคืนเงิน ค่าส่ง", "ＡＢＣ１２３ x_y e-mail 3.14", "MiXeD 注文abc注文 ß"]:
        assert analysis.words(text) == [t.text for t in spell(text, mode="index")]


def test_inline_text_skips_only_patterns_that_cannot_match():
    import random

    def every_pattern(text: str) -> str:
        for pattern, repl in index._INLINE:
            text = pattern.sub(repl, text)
        return text

    rnd = random.Random(5)
    alphabet = list("ab _*`[]()!<>{}#:.^ \\") + ["**", "__", "![x](y)", "[a](b)", "[^1]",
                                                  "{: .c}", "<b>"]
    for _ in range(20000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 16)))
        assert index.inline_text(text) == every_pattern(text), repr(text)


def test_build_child_indexes_a_large_market(tmp_path):
    """The forked, daemonic index child of ``helpgen build`` indexes a market of at least
    ``PARALLEL_MIN_DOCS`` articles (a daemon may not start Whoosh's analysing processes)."""
    import multiprocessing
    import os

    from projectkit import copy_project, write_article

    root = copy_project(tmp_path / "project")
    for i in range(index.PARALLEL_MIN_DOCS):
        write_article(root, f"partners/registration/bulk-{i:04d}.md",
                      f"id: bulk-{i:04d}\ntitle: Bulk article {i}\nsummary: Generated.\n"
                      "audience: partners\ntopic: registration\nlast_reviewed: 2026-11-25",
                      f"# Bulk article {i}\n\nRefund and shipping {i}.\n")
    cfg = config_mod.load(root)
    state = site.prepare(cfg, "us", cfg.version)
    assert len(state.rendered.searchable()) >= index.PARALLEL_MIN_DOCS
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=site._stage_index_child,
                        args=(cfg, state, tmp_path / "stage", "b1", queue, os.getpid()),
                        daemon=True)
    child.start()
    assert queue.get(timeout=300) == (None, None)
    child.join(timeout=60)
    assert child.exitcode == 0
    ix = whoosh_index.open_dir(str(tmp_path / "stage" / "us" / cfg.version))
    try:
        assert ix.doc_count() >= index.PARALLEL_MIN_DOCS
    finally:
        ix.close()
