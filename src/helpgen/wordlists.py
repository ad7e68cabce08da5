"""pyspellchecker's word lists as the static search bundle ships them.

The browser reads a language's word list (word -> count) to tell a real word from a
typing slip and to weigh how rare an unknown word is (see :mod:`helpgen.bundle`). It is
split by a word's first two letters (:func:`dict_key`), consecutive keys packed into
files of about 16 KB (``<n>.json``) listed in ``keys.json``, in a folder named by a hash
of them all (:func:`write`).

A list is large (160,000 English words, 339,000 German): held in the build process it
was most of a small market's peak memory. So the build runs this file as a
script (:func:`write_in_subprocess`): a small process that imports nothing but the
standard library writes the files and prints what the bundle's manifest needs. Stdlib
only, on purpose, and importable without the helpgen package.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

KEYS_FILE = "keys.json"
#: a word-list file's size: consecutive keys share a file up to this many bytes
PACK_BYTES = 16_000


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


def resource(lang: str) -> Path:
    """pyspellchecker's compressed list for ``lang``, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("spellchecker")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("pyspellchecker is not installed")
    package = Path(list(spec.submodule_search_locations)[0])
    return package / "resources" / f"{lang.lower()}.json.gz"


def files(source: Path) -> tuple[int, dict[str, bytes]]:
    """(total count, {key: file content}) of the list in ``source`` (:func:`resource`),
    read as ``SpellChecker(language=lang)`` reads it: lower-cased, the counts of words
    that differ only in case summed, in the file's order; keys sorted."""
    data = json.loads(gzip.decompress(source.read_bytes()).decode("utf-8"))
    groups: dict[str, dict[str, int]] = {}
    total = 0
    for word, count in data.items():
        word = word.lower()
        group = groups.setdefault(dict_key(word), {})
        group[word] = group.get(word, 0) + count
        total += count
    return total, {key: dump(group) for key, group in sorted(groups.items())}


def packs(chunks: dict[str, bytes], limit: int = PACK_BYTES) -> list[list[str]]:
    """The keys of ``chunks`` in order, grouped into files of at most ``limit`` bytes (a
    key larger than that alone). Half of English's 555 keys hold under 130 bytes: one
    file per key was 555 files per build and per version, each created at a cost."""
    out: list[list[str]] = []
    size = 0
    for key, body in chunks.items():
        if not out or size + len(body) > limit:
            out.append([])
            size = 0
        out[-1].append(key)
        size += len(body) + len(key) + 4
    return out


def write(source: Path, folder: Path) -> dict[str, Any]:
    """Write the files of the list in ``source`` into ``folder`` (made here): ``<n>.json``
    maps each key of pack ``n`` to its words and counts, ``keys.json`` lists the packs'
    keys. What the manifest needs: total count, the folder's digest, and the files and
    bytes written."""
    total, chunks = files(source)
    grouped = packs(chunks)
    out = {f"{n}.json": b"{" + b",".join(dump(key) + b":" + chunks[key] for key in keys) + b"}"
           for n, keys in enumerate(grouped)}
    out[KEYS_FILE] = dump(grouped)
    folder.mkdir(parents=True)
    for name, body in out.items():
        (folder / name).write_bytes(body)
    return {"total": total, "digest": folder_digest(out), "files": len(out),
            "bytes": sum(map(len, out.values()))}


def write_in_subprocess(lang: str, folder: Path) -> dict[str, Any]:
    """:func:`write` in a fresh small Python process (see the module doc), which runs
    this file isolated and without site-packages (``-I -S``: their start-up was a
    sixth of its time); raises RuntimeError with its error output when it fails."""
    done = subprocess.run([sys.executable, "-I", "-S", str(Path(__file__).resolve()),
                           str(resource(lang)), str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"writing the {lang!r} word list failed (exit code "
                           f"{done.returncode}): {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout)


#: the files' layout, part of a cached list's name: change it when :func:`write` changes
LAYOUT = f"packs of {PACK_BYTES} bytes"


def write_cached(lang: str, folder: Path) -> dict[str, Any]:
    """:func:`write_in_subprocess`, through helpgen's cache folder (:mod:`helpgen.cache`):
    a language's files depend only on pyspellchecker's data, so a build copies the
    ones an earlier build on this machine wrote (0.27 s of the process for English,
    every build and market), after checking their hash; otherwise it writes them and
    keeps a copy."""
    import tempfile

    from .cache import folder as cache_folder

    source = resource(lang)
    root = cache_folder("wordlists")
    if root is None or not source.is_file():
        return write_in_subprocess(lang, folder)
    key = hashlib.sha256(source.read_bytes() + LAYOUT.encode("utf-8")).hexdigest()[:24]
    entry = root / f"{lang.lower()}-{key}"
    info = _read_entry(entry)
    if info is not None:
        folder.mkdir(parents=True)
        for name, body in info.pop("contents").items():
            (folder / name).write_bytes(body)
        return info
    shutil.rmtree(entry, ignore_errors=True)  # incomplete or altered: made again below
    info = write_in_subprocess(lang, folder)
    tmp = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{lang}-", dir=root))
        for path in folder.iterdir():
            shutil.copyfile(path, tmp / path.name)
        (tmp / "info.json").write_text(json.dumps(info), encoding="utf-8")
        os.rename(tmp, entry)  # whole or not at all; another build may have won
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return info


def _read_entry(entry: Path) -> dict[str, Any] | None:
    """A cached list's manifest data plus ``contents`` (name -> bytes), when its files
    are all there and hash to the digest it names; else None."""
    try:
        info = json.loads((entry / "info.json").read_text(encoding="utf-8"))
        keys = (entry / KEYS_FILE).read_bytes()
        contents = {f"{n}.json": (entry / f"{n}.json").read_bytes()
                    for n in range(len(json.loads(keys)))}
    except (OSError, ValueError, TypeError):
        return None
    contents[KEYS_FILE] = keys
    if not isinstance(info, dict) or info.get("digest") != folder_digest(contents) \
            or info.get("files") != len(contents):
        return None
    return {**info, "contents": contents}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python wordlists.py WORD_LIST.json.gz FOLDER", file=sys.stderr)
        return 2
    print(json.dumps(write(Path(argv[0]), Path(argv[1]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
