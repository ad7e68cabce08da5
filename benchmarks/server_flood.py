"""Slow-client flood: stock waitress against helpgen's guarded waitress, on loopback.

    PYTHONPATH=src:tests python benchmarks/server_flood.py            # limit 50, flood 100
    PYTHONPATH=src:tests python benchmarks/server_flood.py --limit 100 --flood 120

Builds the served test project (us 2026.10/2026.11, de 2026.11) in a temporary folder,
then for each server (stock ``waitress.server.create_server`` with the same
``connection_limit``, and ``helpgen.server.create_server``): opens the flood (half idle
connections, half sending one header byte every 0.5 s, each reopened as soon as the
server closes it), waits 1.5 s, and sends ``--requests`` normal GETs (``/healthz`` and
an article page, 5 s timeout each). Reports answered requests, p50/p95/max latency,
the connections the flood held open at the end and how many times the server closed
one of them.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from pathlib import Path

from helpgen import config, server
from serverkit import Flood, build_served_project


def normal_requests(port: int, n: int) -> tuple[int, list[float]]:
    ok, times = 0, []
    for i in range(n):
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/healthz" if i % 2 else "/us/latest/")
            resp = conn.getresponse()
            resp.read()
            ok += resp.status == 200
        except OSError:
            pass
        finally:
            conn.close()
        times.append(time.perf_counter() - t0)
    return ok, times


def stock_server(app, limit: int):
    import waitress.server

    return waitress.server.create_server(app, host="127.0.0.1", port=0, threads=4,
                                         connection_limit=limit, channel_timeout=120,
                                         expose_tracebacks=False)


def run(name: str, srv, flood_size: int, requests: int) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=server.run_until, args=(srv, stop), daemon=True)
    thread.start()
    port = int(srv.effective_port)
    try:
        with Flood(port, idle=flood_size // 2, trickling=flood_size - flood_size // 2) as flood:
            time.sleep(1.5)
            ok, times = normal_requests(port, requests)
            held, closed = flood.open_count(), flood.closed_by_server
    finally:
        stop.set()
        thread.join(10)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
    print(f"| {name} | {ok}/{requests} | {1000 * statistics.median(times):.0f} ms | "
          f"{1000 * p95:.0f} ms | {1000 * max(times):.0f} ms | {held} | {closed} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--flood", type=int, default=100)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = build_served_project(Path(tmp) / "project")
        app = server.make_app(config.load(root), root / "site", root / "search_index",
                              settings=server.ServerSettings(rate_limit_per_minute=0))
        print(f"connection limit {args.limit}, flood {args.flood} connections, "
              f"{args.requests} normal requests")
        print("| server | answered | p50 | p95 | max | flood held | flood closed by server |")
        print("|---|---|---|---|---|---|---|")
        run("waitress 3.0 (stock)", stock_server(app, args.limit), args.flood, args.requests)
        run("helpgen serve", server.create_server(
            app, "127.0.0.1", 0, 4, limits=server.ConnectionLimits(connection_limit=args.limit)),
            args.flood, args.requests)
        app.close()


if __name__ == "__main__":
    main()
