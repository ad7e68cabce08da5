"""pyspellchecker's word lists as the static search bundle ships them.

The browser reads a language's word list (word -> count) to tell a real word from a
typing slip and to weigh how rare an unknown word is (see :mod:`helpgen.bundle`). It is
split by a word's first two letters (:func:`dict_key`) into ``<key in hex>.json`` files
plus ``keys.json``, in a folder named by a hash of them all (:func:`write`).

A list is large (160,000 English words, 339,000 German): held in the build process it
was most of a small market's peak memory. So the build runs ``python -m
helpgen.wordlists LANG FOLDER`` (:func:`write_in_subprocess`): a small process that
imports nothing but the standard library writes the files and prints what the bundle's
manifest needs. Stdlib only, on purpose.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

KEYS_FILE = "keys.json"


def dict_key(word: str) -> str:
    """The word-list file a word is in: its first two letters."""
    return word[:2]


def key_name(key: str) -> str:
    """A file name for a key of any letters: its UTF-8 bytes in hex."""
    return key.encode("utf-8").hex()


def dump(data: Any) -> bytes:
    """The bundle's JSON: compact, UTF-8."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def folder_digest(files: dict[str, bytes]) -> str:
    """The hash that names a folder of ``files`` (key -> content), in their order."""
    digest = hashlib.sha256()
    for key, body in files.items():
        digest.update(key.encode("utf-8") + b"\0" + hashlib.sha256(body).digest())
    return digest.hexdigest()


def files(lang: str) -> tuple[int, dict[str, bytes]]:
    """(total count, {key: file content}) of ``lang``'s list, read as
    ``SpellChecker(language=lang)`` reads it: lower-cased, the counts of words that
    differ only in case summed, in the file's order; keys sorted."""
    raw = pkgutil.get_data("spellchecker", f"resources/{lang.lower()}.json.gz")
    if raw is None:  # pragma: no cover - a loader without get_data
        raise ValueError(f"pyspellchecker has no word list for {lang!r}")
    data = json.loads(gzip.decompress(raw).decode("utf-8"))
    groups: dict[str, dict[str, int]] = {}
    total = 0
    for word, count in data.items():
        word = word.lower()
        group = groups.setdefault(dict_key(word), {})
        group[word] = group.get(word, 0) + count
        total += count
    return total, {key: dump(group) for key, group in sorted(groups.items())}


def write(lang: str, folder: Path) -> dict[str, Any]:
    """Write ``lang``'s files into ``folder`` (made here); what the manifest needs:
    total count, the folder's digest, and the files and bytes written."""
    total, chunks = files(lang)
    folder.mkdir(parents=True)
    written = 0
    for key, body in chunks.items():
        (folder / f"{key_name(key)}.json").write_bytes(body)
        written += len(body)
    keys = dump(list(chunks))
    (folder / KEYS_FILE).write_bytes(keys)
    return {"total": total, "digest": folder_digest(chunks), "files": len(chunks) + 1,
            "bytes": written + len(keys)}


def write_in_subprocess(lang: str, folder: Path) -> dict[str, Any]:
    """:func:`write` in a fresh small Python process (see the module doc); raises
    RuntimeError with its error output when it fails."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1])  # importable however we were
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-m", "helpgen.wordlists", lang, str(folder)],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"writing the {lang!r} word list failed (exit code "
                           f"{done.returncode}): {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m helpgen.wordlists LANG FOLDER", file=sys.stderr)
        return 2
    print(json.dumps(write(argv[0], Path(argv[1]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
