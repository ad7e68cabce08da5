"""Search throughput of `helpgen serve --processes N` for N = 1, 2, 3 (information).

    python benchmarks/server_processes.py                     # 1 2 3 processes, 5 s each
    python benchmarks/server_processes.py --processes 1 3 --duration 3 --json

Builds the us market into a temporary project (rate limit off, searches not recorded),
then for each N starts ``helpgen serve --no-build --port 0 --processes N --workers 4``
and drives ``GET /api/search`` (the 12 queries of ``server_load.py``) from two
load-generator *processes* (so the generator is not held to one core by its own GIL),
each with ``--clients / 2`` keep-alive connections. Reports req/s, p50/p99 latency and
errors, and the CPU the load generator and the server processes used, as a share of
the machine's cores: on a small machine the generator competes with the server, so
req/s is a figure of this machine, not of the server alone.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import server_load  # noqa: E402  (prepare(), client(), percentile())

REPO = HERE.parent


def start(root: Path, processes: int, threads: int) -> tuple[subprocess.Popen, str, int]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO / "src")}
    log = (root / f"server-{processes}.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpgen.cli", "--project", str(root), "serve", "--no-build",
         "--port", "0", "--workers", str(threads), "--processes", str(processes)],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    log.close()
    line = proc.stdout.readline()
    m = re.search(r"http://([\d.]+):(\d+)/", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line}")
    return proc, m.group(1), int(m.group(2))


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _generator(host: str, port: int, clients: int, seconds: float, offset: int,
               queue: multiprocessing.Queue) -> None:
    import threading

    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    threads = [threading.Thread(target=server_load.client,
                                args=(host, port, "search", deadline, offset + i,
                                      latencies[i], errors)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put(([x for lat in latencies for x in lat], len(errors),
               usage.ru_utime + usage.ru_stime))


def measure(host: str, port: int, server_pid: int, clients: int, seconds: float,
            generators: int = 2) -> dict:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    per = max(1, clients // generators)
    cpu0 = tree_cpu(server_pid)
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_generator, args=(host, port, per, seconds, g * per, queue))
             for g in range(generators)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    server_cpu = tree_cpu(server_pid) - cpu0
    flat = [x for r in results for x in r[0]]
    cores = os.cpu_count() or 1
    return {"requests": len(flat), "rps": len(flat) / elapsed,
            "p50_ms": 1000 * server_load.percentile(flat, 0.50),
            "p99_ms": 1000 * server_load.percentile(flat, 0.99),
            "errors": sum(r[1] for r in results),
            "load_cpu_share": sum(r[2] for r in results) / (elapsed * cores),
            "server_cpu_share": server_cpu / (elapsed * cores), "cores": cores}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--workers", type=int, default=4, help="threads per server process")
    ap.add_argument("--clients", type=int, default=8, help="keep-alive connections in all")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per step")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = server_load.prepare(Path(tmp))
        for n in args.processes:
            proc, host, port = start(root, n, args.workers)
            try:
                measure(host, port, proc.pid, args.clients, 1.0)  # warm every searcher
                row = {"processes": n, **measure(host, port, proc.pid, args.clients,
                                                 args.duration)}
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            rows.append(row)
            print(f"{n} process(es): {row['rps']:.0f} req/s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    base = rows[0]["rps"]
    print("| processes | req/s | vs first | p50 ms | p99 ms | errors | load generator CPU "
          "| server CPU |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['processes']} | {r['rps']:.0f} | {r['rps'] / base:.2f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
              f"{100 * r['load_cpu_share']:.0f}% | {100 * r['server_cpu_share']:.0f}% |")
    print(f"\n(CPU shares are of all {rows[0]['cores']} cores; {args.clients} keep-alive "
          f"connections from 2 load-generator processes, {args.duration:g} s per step)")


if __name__ == "__main__":
    main()
