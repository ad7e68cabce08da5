"""Events ingested per second by the real server, SQLite store vs PostgreSQL store.

    python benchmarks/events_ingest.py                      # 8 clients, 5 s per store
    python benchmarks/events_ingest.py --clients 1 8 --duration 3 --json
    python benchmarks/events_ingest.py --processes 1 3 --clients 8   # also 3 server processes

What it does:

1. Copies the project into a temporary folder, builds the us market and turns the API
   rate limit and search recording off there.
2. Starts a throwaway PostgreSQL cluster (tests/pgcluster.py: Debian's postgresql,
   loopback only; durable commits unless ``--fast-pg``) with one empty database.
3. For each store (``events.db`` = a SQLite file, then the PostgreSQL URL) and each
   client count and process count: starts ``helpgen serve --no-build --port 0
   --processes N --events-db ...`` (4 waitress threads per process), and keep-alive clients (threads here) POST
   ``/api/events`` (a rotation of real event kinds) for ``--duration`` seconds. Then it
   reads ``/healthz`` (dropped events), stops the server with SIGINT (which writes what
   PostgreSQL's buffer still holds) and counts the stored events: events in (answered
   204) must equal events out.
4. CPU: the server's user+system seconds (from /proc, its processes summed) and the load generator's own, each
   as a share of wall time x cores, to show how much of the 2 cores the client took.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))
import server_load  # noqa: E402  (prepare(): the built us market; percentile())
from server_processes import tree_cpu  # noqa: E402  (server CPU, its processes summed)

EVENTS = [
    {"type": "suggestion_shown", "market": "us", "version": "2026.11",
     "article_id": "submit-a-ticket", "category": "ticket-submission"},
    {"type": "article_opened", "market": "us", "version": "2026.11",
     "article_id": "submit-a-ticket", "category": "ticket-submission"},
    {"type": "solved", "market": "us", "version": "2026.11", "article_id": "submit-a-ticket",
     "category": "ticket-submission"},
    {"type": "helpful", "market": "us", "version": "2026.11",
     "article_id": "buyer-protection-program"},
    {"type": "search_no_answer", "market": "us", "query": "vat invoice payout"},
]


def start_server(root: Path, target: str, processes: int = 1
                 ) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpgen.cli", "--project", str(root), "serve", "--no-build",
         "--port", "0", "--processes", str(processes), "--events-db", target],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    for line in proc.stdout:
        if " at http://" in line:
            port = int(line.split(" at http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
            return proc, port
    raise RuntimeError("helpgen serve did not start")


def drive(port: int, clients: int, duration: float) -> dict:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    ok = [0] * clients
    stop = time.monotonic() + duration
    bodies = [json.dumps(e).encode() for e in EVENTS]

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = n
        while time.monotonic() < stop:
            body = bodies[i % len(bodies)]
            i += 1
            start = time.perf_counter()
            try:
                conn.request("POST", "/api/events", body,
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status == 204:
                    ok[n] += 1
                else:
                    errors[n] += 1
            except OSError:
                errors[n] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies[n].append((time.perf_counter() - start) * 1000)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    cpu0, wall0 = time.process_time(), time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - wall0
    flat = [v for lane in latencies for v in lane]
    return {"accepted": sum(ok), "errors": sum(errors), "wall": wall,
            "p50_ms": server_load.percentile(flat, 0.5),
            "p99_ms": server_load.percentile(flat, 0.99),
            "client_cpu": time.process_time() - cpu0}


def healthz(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/healthz")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


def measure(root: Path, engine: str, target: str, clients: int, duration: float,
            processes: int = 1) -> dict:
    from helpgen import events

    before = events.open_store(target)
    stored_before = before.count()
    before.close()
    proc, port = start_server(root, target, processes)
    try:
        warm = drive(port, 1, 0.5)  # warm-up: opens the store, migrates
        cpu_server0 = tree_cpu(proc.pid)
        run = drive(port, clients, duration)
        cpu_server = tree_cpu(proc.pid) - cpu_server0
        health = healthz(port)["events"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    store = events.open_store(target)
    stored = store.count()
    store.close()
    cores = os.cpu_count() or 1
    in_count = warm["accepted"] + run["accepted"]
    return {
        "engine": engine, "processes": processes, "clients": clients, "events_per_s": run["accepted"] / run["wall"],
        "p50_ms": run["p50_ms"], "p99_ms": run["p99_ms"], "errors": run["errors"],
        "accepted": in_count, "dropped": health["dropped"],
        "stored_delta": stored - stored_before,
        "server_cpu_share": cpu_server / (run["wall"] * cores),
        "client_cpu_share": run["client_cpu"] / (run["wall"] * cores),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[8])
    ap.add_argument("--processes", type=int, nargs="+", default=[1],
                    help="server processes (helpgen serve --processes)")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--fast-pg", action="store_true",
                    help="PostgreSQL with fsync off, as in the tests (default: durable "
                    "commits, like SQLite's)")
    args = ap.parse_args(argv)
    from pgcluster import PgCluster

    work = Path(tempfile.mkdtemp(prefix="helpgen-ingest-"))
    cluster = PgCluster(durable=not args.fast_pg).start()
    results = []
    try:
        root = server_load.prepare(work)
        stores = [("sqlite", str(work / "events.sqlite3")),
                  ("postgresql", cluster.new_database("bench"))]
        for processes in args.processes:
            for clients in args.clients:
                for engine, target in stores:
                    results.append(measure(root, engine, target, clients, args.duration,
                                           processes))
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("| store | processes | clients | events/s | p50 ms | p99 ms | errors | in (204, with warm-up) "
          "| dropped "
          "| stored | server CPU | client CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['engine']} | {r['processes']} | {r['clients']} | {r['events_per_s']:.0f} | {r['p50_ms']:.2f} "
              f"| {r['p99_ms']:.2f} | {r['errors']} | {r['accepted']} | {r['dropped']} "
              f"| {r['stored_delta']} | {r['server_cpu_share']:.0%} "
              f"| {r['client_cpu_share']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
