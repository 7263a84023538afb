#!/usr/bin/env python3
"""bench/export_cost.py: what `netwatch export` costs (issue #15), each figure beside a reference
measured in the same run.

1. CPU, live. `netwatch export` and `netwatch top -b` (the batch reader of the same Traffic
   probe) side by side, both at --interval 1, for --seconds with the host idle and then under
   --flows bounded UDP loops on loopback; each process's CPU share, and their ratio. Prometheus
   scrapes are made once a second by this script, as a server would.
2. Scrapes with 10,000 series. A recording of 2,500 distinct (command, user, device) rows per
   interval (4 metrics each: 10,000 series), exported with `--replay` every 0.5 s: the CPU
   share of counting alone, then 40 scrapes back to back while it counts: a scrape's latency
   (median, 95th percentile), its CPU and its size; beside the same for 100 and 40,000 series.
3. Memory with processes coming and going. Two live exporters watch the same churn: a driver
   forks a short-lived process every 0.1 s, each with a name of its own that sends a few
   datagrams on loopback. One exporter keeps the default --max-series (500), the other has no
   bound that matters (10,000,000). Their RSS every 30 s over --minutes (10 by default), and
   the series each serves at the end.

Run as root:  .venv/bin/python bench/export_cost.py [--seconds 20] [--flows 20] [--minutes 10]
              [--only cpu,scrape,memory]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import cpu_seconds

ROOT = Path(__file__).resolve().parents[1]

NETWATCH = str(Path(sys.executable).parent / "netwatch")
GEN = ROOT / "tests" / "traffic_gen.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(url: str) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as reply:
        size = len(reply.read())
    return time.perf_counter() - start, size


def wait_serving(url: str, proc: subprocess.Popen[bytes], probes: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench/export_cost.py: the exporter exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                body = reply.read()
            up = [x for x in body.splitlines() if x.startswith(b"netwatch_probe_up{")]
            if len(up) == probes and all(x.endswith(b" 1.0") for x in up):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("bench/export_cost.py: the exporter never had every probe up")


def exporter(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [NETWATCH, "export", "--listen", f"127.0.0.1:{port}", *extra],
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}/metrics"


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def loops(flows: int, seconds: float) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                str(GEN),
                "udp-loop",
                "127.0.0.1",
                str(47000 + i),
                "--size",
                "200",
                "--max-seconds",
                str(seconds),
                "--name",
                f"nwbench-{i}",
            ],
            stdout=subprocess.DEVNULL,
        )
        for i in range(flows)
    ]


def share(pid: int, seconds: float, url: str | None) -> float:
    """The CPU share of `pid` over `seconds`, scraping `url` once a second meanwhile."""
    before = cpu_seconds(pid)
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if url is not None:
            scrape(url)
        time.sleep(1)
    return (cpu_seconds(pid) - before) / (time.monotonic() - start)


def bench_cpu(seconds: float, flows: int) -> None:
    print("1. CPU share, live, --interval 1 (export scraped once a second)")
    export, url = exporter("--interval", "1", "--tabs", "traffic")
    top = subprocess.Popen(
        [NETWATCH, "top", "-b", "--interval", "1"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_serving(url, export, 1, 120)
        time.sleep(5)  # top -b compiles its own probe meanwhile
        for label, load in (("idle", 0), (f"{flows} UDP loops", flows)):
            running = loops(load, seconds + 5)
            time.sleep(1)
            pair = {}
            for name, pid, scraped in (("export", export.pid, url), ("top -b", top.pid, None)):
                pair[name] = share(pid, seconds / 2, scraped)
            for p in running:
                p.wait()
            ratio = pair["export"] / pair["top -b"] if pair["top -b"] else float("nan")
            print(f"   {label:14} export {pair['export'] * 100:5.2f}%   top -b "
                  f"{pair['top -b'] * 100:5.2f}%   ratio {ratio:.2f}")  # fmt: skip
    finally:
        stop(export)
        top.send_signal(signal.SIGINT)
        top.wait(20)


def synthetic_recording(path: Path, series: int, intervals: int) -> None:
    from netwatch.recording.file import RecordingWriter, create_new_file
    from netwatch.tabs import codecs
    from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample

    with create_new_file(path) as stream:
        writer = RecordingWriter(stream, codecs("traffic"), path)
        now = time.time()
        for i in range(intervals):
            rows = tuple(
                TrafficRow(TrafficKey(1000 + n, n % 50, f"eth{n % 4}", f"worker-{n}"),
                           Counters(2, 1, 3000 + i, 120))
                for n in range(series)
            )  # fmt: skip
            writer.write("traffic", TrafficSample(now + i, 1.0, rows))
        writer.close()


def bench_scrape() -> None:
    print("2. scrapes: 4 traffic metrics per label set, counted every 0.5 s from a recording")
    print("   series   label sets   counting CPU   scrape median   p95   CPU per scrape   size")
    results = {}
    with tempfile.TemporaryDirectory(prefix="nwbench-") as tmp:
        for label_sets in (25, 2_500, 10_000):
            rec = Path(tmp) / f"{label_sets}.nwrec"
            synthetic_recording(rec, label_sets, 160)
            proc, url = exporter("--replay", str(rec), "--tabs", "traffic", "--interval", "0.5",
                                 "--max-series", "20000")  # fmt: skip
            try:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        scrape(url)
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)
                time.sleep(1.5)  # a few intervals counted: every label set is in
                counting = share(proc.pid, 10, None)
                cpu0 = cpu_seconds(proc.pid)
                t0 = time.monotonic()
                timings, size = [], 0
                for _ in range(40):
                    took, size = scrape(url)
                    timings.append(took)
                elapsed = time.monotonic() - t0
                per_scrape = (cpu_seconds(proc.pid) - cpu0 - counting * elapsed) / 40
            finally:
                stop(proc)
            timings.sort()
            results[label_sets] = statistics.median(timings)
            print(f"   {label_sets * 4:6}   {label_sets:10}   {counting * 100:11.1f}%"
                  f"   {statistics.median(timings) * 1000:10.1f} ms"
                  f"   {timings[int(len(timings) * 0.95) - 1] * 1000:5.0f} ms"
                  f"   {per_scrape * 1000:11.0f} ms   {size / 1e6:5.2f} MB")  # fmt: skip
    print(f"   scrape latency, 10,000 series / 100: {results[2_500] / results[25]:.1f}")


def churn(stop_at: float, n: int) -> int:
    """Fork a short-lived process every 0.1 s, each named after its number (the first n + 1);
    returns the last number used."""
    libc = ctypes.CDLL(None)
    while time.monotonic() < stop_at:
        n += 1
        pid = os.fork()
        if pid == 0:
            libc.prctl(15, f"nwc-{n}".encode(), 0, 0, 0)  # PR_SET_NAME
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for _ in range(3):
                    s.sendto(b"x" * 100, ("127.0.0.1", 9))
            os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.1)
    return n


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_memory(minutes: float) -> None:
    print(f"3. RSS over {minutes:g} minutes, a new process every 0.1 s (MiB)")
    bounded, bounded_url = exporter("--interval", "1", "--tabs", "traffic")
    unbounded, unbounded_url = exporter(
        "--interval", "1", "--tabs", "traffic", "--max-series", "10000000"
    )
    try:
        wait_serving(bounded_url, bounded, 1, 120)
        wait_serving(unbounded_url, unbounded, 1, 120)
        end = time.monotonic() + minutes * 60
        print("   minute  default(500)  unbounded")
        made = 0
        while time.monotonic() < end:
            made = churn(min(end, time.monotonic() + 30), made)
            scrape(bounded_url), scrape(unbounded_url)
            elapsed = minutes - (end - time.monotonic()) / 60
            print(f"   {elapsed:6.1f}  {rss_mib(bounded.pid):12.1f}  {rss_mib(unbounded.pid):9.1f}",
                  flush=True)  # fmt: skip
        for name, url in (("default", bounded_url), ("unbounded", unbounded_url)):
            body = urllib.request.urlopen(url, timeout=30).read().decode()
            n = sum(1 for x in body.splitlines()
                    if x.startswith("netwatch_process_transmit_bytes_total{"))  # fmt: skip
            print(f"   {name}: {n} transmit-bytes series for {made} processes")
    finally:
        stop(bounded)
        stop(unbounded)


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("bench/export_cost.py: run as root (the probes need it)")
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--flows", type=int, default=20)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--only", default="cpu,scrape,memory")
    a = p.parse_args()
    only = set(a.only.split(","))
    if "cpu" in only:
        bench_cpu(a.seconds, a.flows)
    if "scrape" in only:
        bench_scrape()
    if "memory" in only:
        bench_memory(a.minutes)


if __name__ == "__main__":
    main()
