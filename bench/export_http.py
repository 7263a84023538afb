#!/usr/bin/env python3
"""bench/export_http.py: the exporter's HTTP server (issue #27) beside prometheus_client's own
start_http_server, the one it replaced, in the same run, serving the same exposition.

Each server runs in its own process with the 1,024 descriptors systemd gives a service, and
serves a registry of --series gauge series. For each, in turn:
1. sequential: 200 scrapes one after another; latency median and 99th percentile;
2. concurrent: 500 scrapes at once from 50 threads; wall time, slowest scrape, failures;
3. held: 2,000 idle connections opened and held (as a hostile local user would), then 20
   scrapes 0.15 s apart with a 5 s timeout; their latency, how many failed, and the server's
   CPU over those 3 s.

Run:  .venv/bin/python bench/export_http.py [--series 10000]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import resource
import select
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def registry(series: int):  # type: ignore[no-untyped-def]
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import GaugeMetricFamily

    class Many:
        def collect(self):  # type: ignore[no-untyped-def]
            g = GaugeMetricFamily("bench_series", "one of many", labels=["i"])
            for i in range(series):
                g.add_metric([str(i)], float(i))
            yield g

    reg = CollectorRegistry(auto_describe=False)
    reg.register(Many())
    return reg


def serve(kind: str, port: int, series: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    reg = registry(series)
    if kind == "client":
        from prometheus_client import start_http_server

        start_http_server(port, addr="127.0.0.1", registry=reg)
    else:
        from prometheus_client.exposition import generate_latest

        from netwatch.export.http_server import MetricsServer
        from netwatch.export.listen import bound_socket

        MetricsServer(bound_socket("127.0.0.1", port), lambda: 1,
                      lambda: generate_latest(reg)).start()  # fmt: skip
    print("ready", flush=True)
    time.sleep(3600)


def scrape(port: int, timeout: float) -> float | None:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
            r.read()
    except OSError:
        return None
    return time.monotonic() - started


def hold(port: int, n: int) -> list[socket.socket]:
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1024, n + 1024))
    pending: dict[int, socket.socket] = {}
    poller = select.poll()
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        pending[s.fileno()] = s
        poller.register(s, select.POLLOUT)
    held, end = [], time.monotonic() + 15
    while pending and time.monotonic() < end:
        for fd, _ in poller.poll(500):
            s = pending.pop(fd)
            poller.unregister(fd)
            held.append(s)
    return held + list(pending.values())


def cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def trial(kind: str, series: int) -> dict[str, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, __file__, "--serve", kind, "--port", str(port), "--series", str(series)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        out: dict[str, str] = {}
        seq = [t for t in (scrape(port, 10) for _ in range(200)) if t is not None]
        q = statistics.quantiles(seq, n=100)
        out["sequential"] = f"median {ms(statistics.median(seq))}, p99 {ms(q[98])}"
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            times = list(pool.map(lambda _: scrape(port, 30), range(500)))
        ok = [t for t in times if t is not None]
        slowest = ms(max(ok)) if ok else "-"
        wall = ms(time.monotonic() - started)
        out["concurrent"] = f"{wall} for 500, slowest {slowest}, {len(times) - len(ok)} failed"
        held = hold(port, 2000)
        before = cpu(proc.pid)
        t0 = time.monotonic()
        during = []
        for _ in range(20):  # spread over 3 s, so the CPU share is the held state's
            during.append(scrape(port, 5))
            time.sleep(0.15)
        spent = cpu(proc.pid) - before
        span = time.monotonic() - t0
        good = [t for t in during if t is not None]
        median = ms(statistics.median(good)) if good else "-"
        out["held"] = (
            f"{len(good)}/20 answered, median {median}, CPU {100 * spent / span:.0f}% of a core"
        )
        for s in held:
            s.close()
        return out
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--series", type=int, default=10_000)
    p.add_argument("--serve", choices=["ours", "client"])
    p.add_argument("--port", type=int)
    a = p.parse_args()
    if a.serve:
        serve(a.serve, a.port, a.series)
        return
    for kind, name in (("client", "prometheus_client start_http_server"),
                       ("ours", "netwatch's MetricsServer")):  # fmt: skip
        print(f"{name} ({a.series} series):")
        for what, figure in trial(kind, a.series).items():
            print(f"  {what:11s} {figure}")


if __name__ == "__main__":
    main()
