"""Load on the real server: `helpgen serve` (waitress) on loopback, N concurrent clients.

    python benchmarks/server_load.py                  # 1, 8, 32 clients, 5 s each, 60 s soak
    python benchmarks/server_load.py --duration 3 --soak 0 --clients 1 8

What it does:

1. Copies the project into a temporary folder, builds the us market (site + index) and
   turns the API rate limit off there (``server.rate_limit_per_minute: 0``).
2. Starts ``helpgen serve --no-build --port 0`` in a subprocess (its memory is measured
   apart from the clients).
3. For each concurrency: keep-alive clients (threads) hammer, for ``--duration``
   seconds each, a static article page (gzip), ``GET /api/search`` (a rotation of real
   queries, typos included) and ``POST /api/suggest`` (ticket drafts). Reports requests
   per second, p50/p99 latency and errors, and each API figure as a ratio of the static
   page, served by the same server on the same machine.
4. Baseline for the HTTP layer: the same queries and drafts answered in-process
   (``Searcher.search`` / ``deflect.suggest_payload`` on one open index), one at a
   time, interleaved with one HTTP client in short rounds. ``HTTP p50 - in-process
   p50`` is what the server adds (target <= 5 ms).
5. Soak: ``--soak`` seconds of mixed load at 8 clients; server RSS before and after
   (target: growth under 10%).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUERIES = ["refund", "refnud", "submit a ticket", "tikets", "response time",
           "regestration", "change shipping address", "buyer protection 90 days",
           "login email", "cancel my order", "partner category", "chat support"]
TICKETS = [
    {"subject": "How do I submit a ticket?", "category": "ticket-submission",
     "description": "I cannot find where to open a support ticket in the Partner Center."},
    {"subject": "refund after 30 days", "category": "return-refund",
     "description": "My order was delivered 40 days ago and the seller does not answer."},
    {"subject": "How long until support replies?", "category": "response-time",
     "description": "I sent a ticket yesterday and have had no reply yet."},
    {"subject": "VAT invoice for payout fees", "category": "",
     "description": "Where do I download the VAT invoice for cross-border payout fees?"},
]
STATIC_PATH = "/us/2026.11/partners/support-tickets/submit-a-ticket/"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def prepare(workdir: Path) -> Path:
    sys.path.insert(0, str(REPO / "src"))
    from helpgen import config, site

    root = workdir / "project"
    root.mkdir(parents=True)
    for name in ("helpgen.yml", "mkdocs.yml"):
        shutil.copy2(REPO / name, root / name)
    for name in ("docs", "hooks"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    with (root / "helpgen.yml").open("a", encoding="utf-8") as fh:
        fh.write("\nserver:\n  rate_limit_per_minute: 0\n  record_searches: false\n")
    cfg = config.load(root)
    site.build(cfg, "us", "2026.11", ["latest"], root / "site", index_dir=root / "search_index")
    return root


def start_server(root: Path, threads: int) -> tuple[subprocess.Popen, str, int]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO / "src")}
    log = (root / "server.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpgen.cli", "--project", str(root), "serve", "--no-build",
         "--port", "0", "--workers", str(threads), "--events-db", str(root / "events.db")],
        # stderr to a file: an undrained pipe would block the server once its log
        # output filled the pipe
        stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    log.close()
    line = proc.stdout.readline()
    m = re.search(r"http://([\d.]+):(\d+)/", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line}"
                         f"{(root / 'server.log').read_text(encoding='utf-8')}")
    return proc, m.group(1), int(m.group(2))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def make_requests(kind: str):
    if kind == "static":
        return itertools.repeat(("GET", STATIC_PATH, None))
    if kind == "search":
        return itertools.cycle([("GET", "/api/search?q=" + q.replace(" ", "+") + "&limit=10",
                                 None) for q in QUERIES])
    if kind == "suggest":
        return itertools.cycle([("POST", "/api/suggest", json.dumps({**t, "market": "us"}))
                                for t in TICKETS])
    return itertools.cycle([next(make_requests(k)) for k in ("static", "search", "suggest")])


def client(host: str, port: int, kind: str, deadline: float, offset: int,
           out: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    requests = make_requests(kind)
    for _ in range(offset):
        next(requests)
    headers = {"Accept-Encoding": "gzip", "Content-Type": "application/json"}
    try:
        while time.perf_counter() < deadline:
            method, path, body = next(requests)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors.append(f"{resp.status} {path}")
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{type(exc).__name__} {path}")
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                continue
            out.append(time.perf_counter() - t0)
    finally:
        conn.close()


def run_load(host: str, port: int, kind: str, clients: int, seconds: float) -> dict:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(host, port, kind, deadline, i,
                                                     latencies[i], errors))
               for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    flat = [x for lat in latencies for x in lat]
    return {"kind": kind, "clients": clients, "requests": len(flat),
            "rps": len(flat) / elapsed, "p50_ms": 1000 * percentile(flat, 0.50),
            "p99_ms": 1000 * percentile(flat, 0.99), "errors": len(errors),
            "error_samples": sorted(set(errors))[:5]}


def in_process_calls(root: Path):
    """(kind -> call(i)) answering the same queries/drafts in-process on one open index."""
    from helpgen import config, deflect, search

    cfg = config.load(root)
    s = search.Searcher(root / "search_index", "us", "latest")
    calls = {
        "search": lambda i: s.search(QUERIES[i % len(QUERIES)], limit=10),
        "suggest": lambda i: deflect.suggest_payload(
            {**TICKETS[i % len(TICKETS)], "market": "us"}, cfg, root / "search_index",
            open_searcher=lambda m, v: s),
    }
    return s, calls


def http_overhead(root: Path, host: str, port: int, seconds: float, rounds: int = 5) -> dict:
    """In-process vs HTTP at one client, interleaved in short rounds so that machine
    noise (other processes, CPU frequency) hits both sides alike."""
    searcher, calls = in_process_calls(root)
    out = {}
    try:
        for kind, fn in calls.items():
            for i in range(len(QUERIES)):  # warm up
                fn(i)
            local: list[float] = []
            remote: list[float] = []
            for _ in range(rounds):
                deadline = time.perf_counter() + seconds / rounds
                i = 0
                while time.perf_counter() < deadline:
                    t0 = time.perf_counter()
                    fn(i)
                    local.append(time.perf_counter() - t0)
                    i += 1
                errors: list[str] = []
                client(host, port, kind, time.perf_counter() + seconds / rounds, 0, remote,
                       errors)
            out[kind] = {"in_process_p50_ms": 1000 * percentile(local, 0.5),
                         "in_process_p99_ms": 1000 * percentile(local, 0.99),
                         "http_p50_ms": 1000 * percentile(remote, 0.5),
                         "http_p99_ms": 1000 * percentile(remote, 0.99)}
    finally:
        searcher.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per load step")
    ap.add_argument("--soak", type=float, default=60.0,
                    help="seconds of mixed load for the memory check (0: skip)")
    ap.add_argument("--workers", type=int, default=4, help="server worker threads")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="helpgen-load-") as tmp:
        root = prepare(Path(tmp))
        proc, host, port = start_server(root, args.workers)
        try:
            for kind in ("static", "search", "suggest"):  # warm the server's caches
                run_load(host, port, kind, 8, 1.0)
            rss_before = rss_kib(proc.pid)
            base = http_overhead(root, host, port, 2 * args.duration)
            rows = []
            for n in args.clients:
                for kind in ("static", "search", "suggest"):
                    rows.append(run_load(host, port, kind, n, args.duration))
            soak = None
            if args.soak > 0:
                soak = run_load(host, port, "mixed", 8, args.soak)
            rss_after = rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.communicate(timeout=30)

    figures = {"in_process": base, "load": rows, "soak": soak,
               "rss_kib": {"before": rss_before, "after": rss_after,
                           "growth": (rss_after - rss_before) / rss_before},
               "workers": args.workers, "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    static = {r["clients"]: r for r in rows if r["kind"] == "static"}
    print(f"server: waitress, {args.workers} threads; {os.cpu_count()} CPUs; "
          f"{args.duration:.0f} s per step")
    print(f"{'load':<8}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'req/s vs static':>17}{'p50 vs static':>15}")
    for r in rows:
        s = static[r["clients"]]
        print(f"{r['kind']:<8}{r['clients']:>8}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}"
              f"{r['p99_ms']:>9.2f}{r['errors']:>8}{r['rps'] / max(s['rps'], 1e-9):>17.2f}"
              f"{r['p50_ms'] / s['p50_ms']:>15.1f}")
        for sample in r["error_samples"]:
            print(f"    error: {sample}")
    print("\nHTTP layer at 1 client, interleaved with in-process calls on one open index "
          "(target: p50 overhead <= 5 ms):")
    for kind, f in base.items():
        print(f"  {kind:<8} in-process p50 {f['in_process_p50_ms']:.2f} ms (p99 "
              f"{f['in_process_p99_ms']:.2f}); over HTTP p50 {f['http_p50_ms']:.2f} ms (p99 "
              f"{f['http_p99_ms']:.2f}); overhead {f['http_p50_ms'] - f['in_process_p50_ms']:+.2f}"
              " ms")
    if soak:
        print(f"\nsoak: {args.soak:.0f} s mixed at 8 clients: {soak['requests']} requests, "
              f"{soak['rps']:.0f} req/s, p99 {soak['p99_ms']:.1f} ms, {soak['errors']} errors")
    g = figures["rss_kib"]
    print(f"server RSS: {g['before'] / 1024:.1f} MiB before load, {g['after'] / 1024:.1f} MiB "
          f"after ({100 * g['growth']:+.1f}%; target < 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
