"""Build speed benchmarks, run by hand; every ratio is measured here,
against a baseline built by the same script on the same machine.

(a) ``helpgen build`` of one market vs a plain ``mkdocs build`` of the same docs with the
    hooks removed: target overhead < 1.5x.
(b) ``helpgen build --all`` (12 markets) vs one market: target <= 5x; and
    ``--jobs 2`` vs ``--jobs 1``: the speed-up.
(d) "same pages and nav": ``helpgen build`` of one market (site, search index, publishing)
    vs a plain ``mkdocs build`` with Material given exactly the pages and navigation
    settings helpgen renders (the rendered Markdown, helpgen's nav and navigation
    grouping, navigation.prune, language and version selectors), and vs that plus
    Pagefind's indexer (``pip install 'pagefind[extended]'``; left out when missing);
    CPU beside wall and peak memory, interleaved runs, at 200 / 2,000 / 5,000 articles.
(p) a profile of one market at ``--profile-size`` articles: where MkDocs' time goes
    (cProfile, the site in-process) and the index (one analysing process).
(c) a synthetic corpus of 500 / 1,000 / 2,000 articles: time and peak memory
    (``ru_maxrss`` of the build process and its children) with Material's
    ``navigation.prune`` vs without, to show the growth curve; and ``helpgen check``
    (all 12 markets) vs ``helpgen build`` of one market: target < 10%.

Every measurement runs the real command in a fresh process (interpreter start-up
included on both sides). Usage::

    python benchmarks/build_speed.py                 # everything (about 10 minutes)
    python benchmarks/build_speed.py --only a,b      # the real docs only
    python benchmarks/build_speed.py --only c --sizes 500,1000,2000 --unpruned-max 2000
    python benchmarks/build_speed.py --only d --sizes 200,2000,5000 --repeat 3
    python benchmarks/build_speed.py --only d --sizes 2000 --base-tree /tmp/base  # before/after
    python benchmarks/build_speed.py --only d --sizes 200 --repeat 7 --work-dir /dev/shm
    python benchmarks/build_speed.py --only p --profile-size 2000
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # projectkit: the tests' project helpers
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "CI": "true"}
PROBE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
         "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
         "s = time.perf_counter() - t; "
         "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
         "print(rc, s, u.ru_maxrss, u.ru_utime + u.ru_stime)")


SITE_ONLY = ("from pathlib import Path; from helpgen import config, site; "
             "cfg = config.load('.'); "
             "site.run_mkdocs(site.prepare(cfg, 'us', cfg.version), Path('site_only'))")


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("helpgen.yml", "mkdocs.yml"):
        shutil.copy2(REPO / name, dest / name)
    for name in ("docs", "hooks"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    compile_bytecode(dest / "hooks")
    return dest


def compile_bytecode(*trees: Path) -> None:
    """Compile the Python sources under ``trees`` to bytecode (``__pycache__``, ignored by
    git) before anything is timed. MkDocs, Material and Whoosh are installed wheels whose
    bytecode pip compiled at install; helpgen is installed editable, so on a machine with
    ``PYTHONDONTWRITEBYTECODE`` set (this one) every build compiled helpgen's modules
    again, about 0.3 s of CPU that the plain Material build never paid."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, trees)], check=True,
                   stdout=subprocess.DEVNULL)


def helpgen_sources() -> Path:
    """The folder of the helpgen package the benchmark runs."""
    import importlib.util

    spec = importlib.util.find_spec("helpgen")
    return Path(list(spec.submodule_search_locations)[0])


def static_bundle(root: Path, on: bool) -> Path:
    """Set ``search.static_bundle`` in the project at ``root``; the project. Off,
    Material's own search index holds every page's text (next to the bundle it holds
    titles only), which the benchmarks comparing with Material's search need."""
    from projectkit import set_setting

    return set_setting(root, "search", "static_bundle", on)


def without_bundle(root: Path) -> Path:
    """:func:`static_bundle` off."""
    return static_bundle(root, False)


def run(cmd: list[str], cwd: Path) -> tuple[float, int, float]:
    """(wall seconds, peak RSS in KiB, CPU seconds) of the command and its children.

    CPU time (user + system) does not depend on what else the machine runs; wall time
    on a shared machine does, so both are reported."""
    out = subprocess.run([sys.executable, "-c", PROBE, *cmd], cwd=cwd, env=ENV,
                         capture_output=True, text=True, check=True)
    rc, seconds, rss, cpu = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd} (exit {rc})")
    return float(seconds), int(rss), float(cpu)


def timed(cmd: list[str], cwd: Path, repeat: int, clean: list[Path] = ()) -> dict:
    times, rss, cpu = [], [], []
    for _ in range(repeat):
        for path in clean:
            shutil.rmtree(path, ignore_errors=True)
        s, r, c = run(cmd, cwd)
        times.append(s)
        rss.append(r)
        cpu.append(c)
    return {"median_s": round(statistics.median(times), 2), "min_s": round(min(times), 2),
            "cpu_s": round(statistics.median(cpu), 2), "peak_rss_mb": round(max(rss) / 1024, 1),
            "load_1min": round(os.getloadavg()[0], 2)}


def helpgen(*args: str) -> list[str]:
    return [sys.executable, "-m", "helpgen.cli", "-q", *args]


def plain_mkdocs_project(root: Path) -> Path:
    """The same docs and theme settings, without helpgen's hooks."""
    cfg = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))
    cfg.pop("hooks", None)
    cfg["site_dir"] = "plain_site"
    (root / "mkdocs-plain.yml").write_text(yaml.safe_dump(cfg, sort_keys=False),
                                           encoding="utf-8")
    return root / "mkdocs-plain.yml"


# --------------------------------------------------------------------------- (a) and (b)

def bench_real_docs(repeat: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="helpgen-bench-"))
    try:
        root = copy_project(work / "project")
        plain = plain_mkdocs_project(root)
        site, index = root / "site", root / "search_index"
        res = {
            "plain_mkdocs": timed([sys.executable, "-m", "mkdocs", "build", "-q", "-f",
                                   str(plain)], root, repeat, [root / "plain_site"]),
            "helpgen_one": timed(helpgen("build", "--market", "us"), root, repeat,
                                 [site, index]),
            # the same MkDocs run with our hooks, without publishing or the search index
            "helpgen_site_only": timed([sys.executable, "-c", SITE_ONLY], root, repeat,
                                       [root / "site_only"]),
            "helpgen_all_jobs1": timed(helpgen("build", "--all", "--jobs", "1"), root, repeat,
                                       [site, index]),
            "helpgen_all_jobs2": timed(helpgen("build", "--all", "--jobs", "2"), root, repeat,
                                       [site, index]),
            "check_all": timed(helpgen("check"), root, repeat),
        }
        one = res["helpgen_one"]["median_s"]
        res["ratio_one_vs_plain"] = round(one / res["plain_mkdocs"]["median_s"], 2)
        res["ratio_site_only_vs_plain"] = round(res["helpgen_site_only"]["median_s"]
                                                / res["plain_mkdocs"]["median_s"], 2)
        res["cpu_ratio_one_vs_plain"] = round(res["helpgen_one"]["cpu_s"]
                                              / res["plain_mkdocs"]["cpu_s"], 2)
        res["cpu_ratio_all_vs_one"] = round(res["helpgen_all_jobs2"]["cpu_s"]
                                            / res["helpgen_one"]["cpu_s"], 2)
        res["ratio_all_vs_one"] = round(res["helpgen_all_jobs2"]["median_s"] / one, 2)
        res["speedup_jobs2_vs_jobs1"] = round(res["helpgen_all_jobs1"]["median_s"]
                                              / res["helpgen_all_jobs2"]["median_s"], 2)
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- (c)

WORDS = ("ticket order refund partner seller buyer account shipping category market "
         "support review payment return address password email phone status response "
         "channel community chat protection delivery invoice product listing warehouse "
         "courier tracking dispute policy").split()


def synthetic_corpus(root: Path, n: int, seed: int = 7) -> None:
    """``n`` articles (~400 words, 3 sections, 2 links, market Jinja) spread over topics."""
    rnd = random.Random(seed)
    docs = root / "docs"
    for child in docs.iterdir():
        if child.is_dir() and not child.name.startswith("_"):
            shutil.rmtree(child)
    config = yaml.safe_load((root / "helpgen.yml").read_text(encoding="utf-8"))
    topics = [(t, spec["audience"]) for t, spec in config["topics"].items()]
    placed = []
    for i in range(n):
        topic, audience = topics[i % len(topics)]
        placed.append((f"synthetic-{i:05d}", audience, topic))
    # the project's featured home-page articles are gone with its docs: feature three
    # synthetic ones instead
    cfg_path = root / "helpgen.yml"
    cfg_path.write_text(re.sub(r"(?m)^(\s*featured:).*$",
                               lambda m: m.group(1) + " [" + ", ".join(p[0] for p in placed[:3])
                               + "]", cfg_path.read_text(encoding="utf-8")),
                        encoding="utf-8")
    for i, (art_id, audience, topic) in enumerate(placed):
        paras = []
        for section in range(3):
            words = " ".join(rnd.choice(WORDS) for _ in range(120))
            paras.append(f"## Section {section + 1}\n\n{words.capitalize()}.\n")
        a = placed[rnd.randrange(n)]
        b = placed[rnd.randrange(n)]
        rel_a = f"../../{a[1]}/{a[2]}/{a[0]}.md"
        rel_b = f"../../{b[1]}/{b[2]}/{b[0]}.md#section-2"
        body = (f"# Synthetic article {i}\n\nFor {{{{ market.name }}}} partners.\n\n"
                + "\n".join(paras)
                + f"\nSee [another article]({rel_a}) and [its second section]({rel_b}).\n")
        folder = docs / audience / topic
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{art_id}.md").write_text(textwrap.dedent(f"""\
            ---
            id: {art_id}
            title: Synthetic article {i} about {rnd.choice(WORDS)} and {rnd.choice(WORDS)}
            summary: A generated article for the build benchmark.
            audience: {audience}
            topic: {topic}
            keywords: [{rnd.choice(WORDS)}, {rnd.choice(WORDS)}]
            last_reviewed: 2026-11-25
            ---
            """) + body, encoding="utf-8")


def set_prune(root: Path, prune: bool, group: int = 30) -> None:
    """Navigation settings: Material's navigation.prune, and helpgen's alphabetical groups
    for topics over ``group`` articles (0 = a flat list per topic, as plain Material has)."""
    path = root / "helpgen.yml"
    text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.startswith("build: {navigation_prune")]
    lines.append(f"build: {{navigation_prune: {'true' if prune else 'false'}, "
                 f"nav_max_items: {group}}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def bench_synthetic(sizes: list[int], unpruned_max: int, repeat: int) -> list[dict]:
    rows = []
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"helpgen-bench-{n}-"))
        try:
            root = copy_project(work / "project")
            synthetic_corpus(root, n)
            clean = [root / "site", root / "search_index"]
            row: dict = {"articles": n}
            set_prune(root, True)
            row["check_all"] = timed(helpgen("check"), root, repeat)
            row["pruned"] = timed(helpgen("build", "--market", "us"), root, repeat, clean)
            row["check_vs_build"] = round(row["check_all"]["median_s"]
                                          / row["pruned"]["median_s"], 3)
            set_prune(root, True, group=0)  # pruned, but each topic one flat list
            row["pruned_flat"] = timed(helpgen("build", "--market", "us"), root, 1, clean)
            if n <= unpruned_max:
                set_prune(root, False, group=0)  # what plain Material does
                row["unpruned"] = timed(helpgen("build", "--market", "us"), root, 1, clean)
            rows.append(row)
            print(json.dumps(row), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return rows


# --------------------------------------------------------------------------- (d)

EXPORT = r"""
import json, sys, html
from pathlib import Path
import yaml
from helpgen import config, site
cfg = config.load('.')
state = site.prepare(cfg, 'us', cfg.version)
mk = yaml.safe_load(Path(cfg.mkdocs_file).read_text(encoding='utf-8'))
mk.pop('hooks', None)
docs = Path('same_docs')
for src, rp in state.rendered.pages.items():
    out = docs / src
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {'title': html.escape(rp.title, quote=False)}
    if rp.summary:
        meta['description'] = html.escape(rp.summary, quote=False).replace('"', '&quot;')
    out.write_text('---\n' + yaml.safe_dump(meta, allow_unicode=True) + '---\n' + rp.markdown,
                   encoding='utf-8')
market = state.market
features = list(mk['theme'].get('features') or [])
if cfg.setting('build.navigation_prune') and 'navigation.prune' not in features:
    features.append('navigation.prune')
mk['theme'].update(language=market.language, features=features)
mk.update(docs_dir='same_docs', site_dir='same_site', nav=state.nav,
          site_name=f"{mk['site_name']} · {market.name}")
mk['extra']['version'] = {'provider': 'mike', 'default': cfg.default_alias, 'alias': True}
mk['extra']['alternate'] = [
    {'name': f'{m.name} ({m.language_name})', 'link': f'../../{m.code}/', 'lang': m.language}
    for m in cfg.markets.values()]
Path('mkdocs-same.yml').write_text(yaml.safe_dump(mk, sort_keys=False, allow_unicode=True),
                                    encoding='utf-8')
print(len(state.rendered.pages))
"""


def have_pagefind() -> bool:
    probe = subprocess.run([sys.executable, "-m", "pagefind", "--version"],
                           capture_output=True, text=True)
    return probe.returncode == 0


def drop_page_cache() -> None:
    """Write dirty pages out and drop the kernel's caches (root only). On the shared VMs
    this benchmark runs on, creating files grew several times slower as a run of builds
    filled the cache (6,000 folders with a page each: 0.25 s of system time after a drop,
    1.9 s two rounds later), which charged the build that writes more files."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as fh:
        fh.write("3")


def bench_same_pages(sizes: list[int], repeat: int, base_tree: Path | None = None,
                     drop_caches: bool = False, cold: bool = False) -> list[dict]:
    """Interleaved runs: helpgen, plain Material, plain Material + Pagefind, per round;
    with ``base_tree`` (a checkout of another commit) also that commit's helpgen on the
    same corpus, for a before/after comparison under the same load.

    helpgen's cache folder (compiled templates, word lists; :mod:`helpgen.cache`) is
    the benchmark's own: warm (one untimed build of each command first: what every
    build after a machine's first has) or, with ``cold``, a new empty one for every
    helpgen build (a fresh machine's first build)."""
    rows = []
    pagefind = have_pagefind()
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"helpgen-same-{n}-"))
        try:
            root = copy_project(work / "project")
            synthetic_corpus(root, n)
            set_prune(root, True)
            subprocess.run([sys.executable, "-c", EXPORT], cwd=root, env=ENV, check=True,
                           stdout=subprocess.DEVNULL)
            plain = [sys.executable, "-m", "mkdocs", "build", "-q", "-f", "mkdocs-same.yml"]
            cmds = {
                "helpgen": (helpgen("build", "--market", "us"),
                            [root / "site", root / "search_index"]),
                "material": (plain, [root / "same_site"]),
            }
            if base_tree is not None:
                # the same pages with that commit's hooks (they call its helpgen.site)
                base = work / "base"
                shutil.copytree(root, base, ignore=shutil.ignore_patterns("same_site", "site"))
                shutil.rmtree(base / "hooks")
                shutil.copytree(base_tree / "hooks", base / "hooks",
                                ignore=shutil.ignore_patterns("__pycache__"))
                compile_bytecode(base / "hooks")
                cmds["helpgen_base"] = (["env", f"PYTHONPATH={base_tree / 'src'}",
                                         *helpgen("build", "--market", "us")],
                                        [base / "site", base / "search_index"], base)
            if pagefind:
                both = (f"{' '.join(plain)} && {sys.executable} -m pagefind --site same_site "
                        "--output-subdir pagefind --silent")
                cmds["material_pagefind"] = (["sh", "-c", both], [root / "same_site"])
            runs: dict[str, list[tuple[float, int, float]]] = {k: [] for k in cmds}
            if not cold:
                for name, (cmd, clean, *where) in cmds.items():
                    run(cmd, where[0] if where else root)  # warm-up, untimed
            for _ in range(repeat):
                for name, (cmd, clean, *where) in cmds.items():
                    for path in clean:
                        shutil.rmtree(path, ignore_errors=True)
                    if cold and name.startswith("helpgen"):
                        empty = tempfile.mkdtemp(prefix="cache-", dir=work)
                        cmd = ["env", f"HELPGEN_CACHE_DIR={empty}", *cmd]
                    if drop_caches:
                        drop_page_cache()
                    runs[name].append(run(cmd, where[0] if where else root))
            row: dict = {"articles": n, "load_1min": round(os.getloadavg()[0], 2)}
            for name, got in runs.items():
                row[name] = {"wall_s": round(statistics.median(g[0] for g in got), 2),
                             "cpu_s": round(statistics.median(g[2] for g in got), 2),
                             "peak_rss_mb": round(max(g[1] for g in got) / 1024, 1),
                             "cpu_runs": [round(g[2], 2) for g in got]}
            for peer in [k for k in runs if k not in ("helpgen", "helpgen_base")]:
                row[f"vs_{peer}"] = {
                    key: round(row["helpgen"][key] / row[peer][key], 2)
                    for key in ("wall_s", "cpu_s", "peak_rss_mb")}
                # the median of each round's own ratio (the two builds ran back to back):
                # steadier than the ratio of medians while the machine's load drifts
                row[f"vs_{peer}"]["cpu_paired"] = round(statistics.median(
                    h[2] / p[2] for h, p in zip(runs["helpgen"], runs[peer])), 2)
                if "helpgen_base" in runs:
                    row[f"base_vs_{peer}"] = {
                        key: round(row["helpgen_base"][key] / row[peer][key], 2)
                        for key in ("wall_s", "cpu_s", "peak_rss_mb")}
            rows.append(row)
            print(json.dumps(row), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return rows


# --------------------------------------------------------------------------- (p)

PROFILE = r"""
import cProfile, io, pstats, sys, time
from pathlib import Path
from helpgen import config, index, site
cfg = config.load('.')
state = site.prepare(cfg, 'us', cfg.version)
prof = cProfile.Profile(time.process_time)  # CPU: the machine may be busy
t = time.process_time()
prof.enable()
site.run_mkdocs(state, Path('profile_site'))
prof.disable()
site_cpu = time.process_time() - t
t = time.process_time()
idx = cProfile.Profile(time.process_time)
idx.enable()
index.write(index.documents(state.rendered, cfg), Path('profile_index'), 'us', cfg.version,
            state.market.language, procs=1)
idx.disable()
print(f'site CPU {site_cpu:.1f} s (under cProfile), index CPU '
      f'{time.process_time() - t:.1f} s (one process, under cProfile)')
WANT = ('nav.html', 'nav-item.html', 'toc.html', 'markdown/core.py:322', 'search/plugin.py',
        '_build_page', '_populate_page', 'write_redirects', 'clean_directory', 'copy_file',
        'sitemap', 'get_files', 'add_document', 'commit', 'clean_text', '_fields',
        'markdown_to_text', 'base.html:4(root)')
for name, p in (('site', prof), ('index', idx)):
    out = io.StringIO()
    pstats.Stats(p, stream=out).sort_stats('cumulative').print_stats(400)
    print(f'--- {name}: cumulative CPU seconds (under cProfile) of the parts that matter')
    for line in out.getvalue().splitlines():
        if any(w in line for w in WANT) and '(' in line:
            cols = line.split(None, 5)
            if len(cols) == 6:
                print(f'{float(cols[3]):7.2f} s  {cols[5][-90:]}')
"""


def bench_profile(n: int) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"helpgen-profile-{n}-"))
    try:
        root = copy_project(work / "project")
        synthetic_corpus(root, n)
        set_prune(root, True)
        subprocess.run([sys.executable, "-c", PROFILE], cwd=root, env=ENV, check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="a,b,c",
                    help="parts to run: a,b,c,d,p (a and b run together)")
    ap.add_argument("--sizes", default="500,1000,2000", help="synthetic corpus sizes")
    ap.add_argument("--unpruned-max", type=int, default=2000,
                    help="largest corpus also built without navigation.prune")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--base-tree", type=Path, default=None,
                    help="part d: also run the helpgen of this source tree (a checkout of "
                         "an earlier commit, e.g. git worktree add /tmp/base <commit>)")
    ap.add_argument("--drop-caches", action="store_true",
                    help="part d: drop the kernel's page cache before every build (root)")
    ap.add_argument("--cold-cache", action="store_true",
                    help="part d: every helpgen build starts with an empty cache folder "
                         "(default: warm, after one untimed build)")
    ap.add_argument("--work-dir", type=Path, default=None,
                    help="where the corpora and builds go (default: the temporary folder); "
                         "/dev/shm measures without the disk's file-creation cost")
    ap.add_argument("--profile-size", type=int, default=2000,
                    help="articles of the profiled market (part p)")
    args = ap.parse_args()
    if args.work_dir:
        tempfile.tempdir = str(args.work_dir)
    # helpgen's cache folder: the benchmark's own, never the machine's
    ENV["HELPGEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="helpgen-bench-cache-")
    atexit.register(shutil.rmtree, ENV["HELPGEN_CACHE_DIR"], True)
    parts = set(args.only.split(","))
    compile_bytecode(helpgen_sources(), *([args.base_tree / "src"] if args.base_tree else []))
    out: dict = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                 "date": time.strftime("%Y-%m-%d"), "bytecode": "compiled before timing",
                 "work_dir": tempfile.gettempdir(),
                 "helpgen_cache": "cold" if args.cold_cache else "warm"}
    if parts & {"a", "b"}:
        out["real_docs"] = bench_real_docs(args.repeat)
        print(json.dumps(out["real_docs"], indent=2), flush=True)
    if "c" in parts:
        sizes = [int(s) for s in args.sizes.split(",")]
        out["synthetic"] = bench_synthetic(sizes, args.unpruned_max, max(1, args.repeat - 2))
    if "d" in parts:
        out["same_pages"] = bench_same_pages([int(s) for s in args.sizes.split(",")],
                                             args.repeat, args.base_tree, args.drop_caches,
                                             args.cold_cache)
    if "p" in parts:
        bench_profile(args.profile_size)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
