"""The static search bundle as files: what the build writes, from what, and that a
failed write leaves nothing behind. (Its answers are tested against the server's in
tests/browser/test_static_search.py and test_static_suggest.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpgen import analysis, bundle, config, site
from helpgen.errors import HelpgenError
from projectkit import copy_project, set_setting


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = set_setting(copy_project(tmp_path_factory.mktemp("bundle") / "project"),
                       "deflection", "category_map", {"Ticket trouble": "ticket-submission"})
    site.build(config.load(root), "de", "2026.11", ["latest"], root / "site",
               index_dir=root / "search_index")
    return root


def manifest(root: Path) -> dict:
    path = root / "site" / "de" / "2026.11" / bundle.BUNDLE_DIR / bundle.MANIFEST
    return json.loads(path.read_text(encoding="utf-8"))


def test_manifest_describes_the_index_it_was_written_from(built):
    m = manifest(built)
    meta = analysis.read_meta(built / "search_index" / "de" / "2026.11")
    assert (m["market"], m["version"], m["language"]) == ("de", "2026.11", "de")
    assert m["languages"] == meta["languages"] == ["en", "de"]
    assert m["documents"] == meta["documents"]
    assert m["category_titles"] == meta["category_titles"]
    assert "build_id" not in m  # two builds of the same sources write the same bundle
    # the German word list and compounds ship with a German market
    assert set(m["files"]["dict"]) == {"en", "de"} and m["files"]["ends"]
    ids = json.loads((built / "site/de/2026.11" / bundle.BUNDLE_DIR /
                      m["files"]["ids"]).read_text(encoding="utf-8"))
    assert len(ids) == m["documents"] and "submit-a-ticket" in ids


def test_manifest_carries_the_deflection_settings_of_helpgen_yml(built):
    cfg = config.load(built)
    m = manifest(built)
    assert m["deflection"]["categories"] == dict(cfg.ticket_categories)
    assert m["deflection"]["max_field_chars"] == 4000
    assert m["deflection"]["category_map"] == {"Ticket trouble": "ticket-submission"}
    assert m["model"]["features"] and "threshold" in m["model"]
    from helpgen import deflect  # suggest.js runs with deflect.py's own constants

    assert m["deflection"]["constants"] == {n: getattr(deflect, n)
                                            for n in bundle.DEFLECT_CONSTANTS}
    assert m["labels"]["audiences"]["sellers"] == "Verkäufer"


def test_articles_are_one_file_each_with_the_stored_text(built):
    m = manifest(built)
    folder = built / "site/de/2026.11" / bundle.BUNDLE_DIR / m["files"]["articles"]
    files = sorted(folder.glob("*.json"), key=lambda p: int(p.stem))
    assert len(files) == m["documents"]
    first = json.loads(files[0].read_text(encoding="utf-8"))
    assert set(first) >= {"id", "title", "url", "summary", "text", "audience", "language"}


def test_a_failed_write_leaves_no_bundle_and_no_leftovers(built, tmp_path):
    stage = tmp_path / "stage"
    stage.mkdir()
    with pytest.raises(HelpgenError):
        bundle.write_to_stage(tmp_path / "no-such-index", stage, model=None)
    assert not (stage / bundle.BUNDLE_DIR).exists()
    assert list(stage.iterdir()) == []


def test_a_second_write_gives_the_same_file_names(built, tmp_path):
    """Same index, same bundle: names are content hashes, so caches stay valid."""
    index_path = built / "search_index" / "de" / "2026.11"
    a = bundle.write(index_path, tmp_path / "a")
    b = bundle.write(index_path, tmp_path / "b")
    names_a = sorted(p.relative_to(a.path).as_posix() for p in a.path.rglob("*"))
    names_b = sorted(p.relative_to(b.path).as_posix() for p in b.path.rglob("*"))
    assert names_a == names_b and a.files == b.files


@pytest.mark.parametrize("lang", ["en", "de"])
def test_word_list_files_are_what_pyspellchecker_reads(lang, tmp_path):
    """The word lists are written by a small separate process (a whole list held in the
    build process was most of a small market's peak memory): the same words, counts and
    order as the checker reads, the folder named by their hash."""
    from spellchecker import SpellChecker

    from helpgen import wordlists

    freq = SpellChecker(language=lang, distance=1).word_frequency
    groups: dict = {}
    for word, count in freq.dictionary.items():
        groups.setdefault(wordlists.dict_key(word), {})[word] = count
    want = {key: wordlists.dump(words) for key, words in sorted(groups.items())}
    info = wordlists.write_in_subprocess(lang, tmp_path / "words")
    assert info["total"] == freq.total_words
    got = {p.name: p.read_bytes() for p in (tmp_path / "words").iterdir()}
    packs = json.loads(got["keys.json"])
    in_order = {f"{n}.json": got[f"{n}.json"] for n in range(len(packs))}
    in_order["keys.json"] = got.pop("keys.json")
    assert info["digest"] == wordlists.folder_digest(in_order)  # the folder's name
    assert [key for pack in packs for key in pack] == list(want)
    assert len(packs) < len(want) / 2  # small keys share a file
    for n, pack in enumerate(packs):
        body = got.pop(f"{n}.json")
        assert len(pack) == 1 or len(body) <= wordlists.PACK_BYTES
        assert json.loads(body) == {key: json.loads(want[key]) for key in pack}
    assert got == {}
    assert info["files"] == len(packs) + 1


def test_word_lists_are_copied_from_the_cache_after_the_first_build(tmp_path, monkeypatch):
    """A language's word-list files depend only on pyspellchecker's data: the first build
    on a machine keeps a copy in helpgen's cache folder, later ones copy it (no process)
    after checking its hash, and an altered copy is never used but made again."""
    from helpgen import wordlists

    monkeypatch.setenv("HELPGEN_CACHE_DIR", str(tmp_path / "cache"))
    first = wordlists.write_cached("en", tmp_path / "a")
    files = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    (entry,) = (tmp_path / "cache" / "wordlists").iterdir()

    def no_process(lang, folder):
        raise AssertionError("the word-list process ran although the cache has the list")

    monkeypatch.setattr(wordlists, "write_in_subprocess", no_process)
    assert wordlists.write_cached("en", tmp_path / "b") == first
    assert {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()} == files

    monkeypatch.undo()
    monkeypatch.setenv("HELPGEN_CACHE_DIR", str(tmp_path / "cache"))
    (entry / "0.json").write_bytes(b'{"aa":{"planted":1}}')
    assert wordlists.write_cached("en", tmp_path / "c") == first
    assert {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir()} == files
    assert (entry / "0.json").read_bytes() == files["0.json"]  # the copy was made again


def test_cache_folder_is_off_on_request_and_never_one_another_user_owns(tmp_path, monkeypatch):
    from helpgen import cache

    monkeypatch.setenv("HELPGEN_CACHE_DIR", "off")
    assert cache.folder("wordlists") is None
    monkeypatch.setenv("HELPGEN_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.folder("wordlists") == tmp_path / "mine" / "wordlists"
    theirs = tmp_path / "theirs"
    (theirs / "wordlists").mkdir(parents=True)
    if os.getuid() == 0:
        os.chown(theirs / "wordlists", 65534, 65534)  # nobody's
    else:
        theirs = Path("/")  # root's, where this user cannot write either
    monkeypatch.setenv("HELPGEN_CACHE_DIR", str(theirs))
    assert cache.folder("wordlists") is None
    monkeypatch.delenv("HELPGEN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.folder("templates") == tmp_path / "xdg" / "helpgen" / "templates"


def test_a_failing_word_list_process_is_a_clear_error(tmp_path):
    from helpgen import wordlists

    with pytest.raises(RuntimeError, match="writing the 'xx' word list failed"):
        wordlists.write_in_subprocess("xx", tmp_path / "words")
    assert not (tmp_path / "words").exists()
