#!/usr/bin/env python3
"""bench/conn_churn.py: what the Connections probe costs a host that churns TCP connections, and
whether it counts every one.

Two workloads on loopback, interleaved in rounds with and without netwatch so drift hits both:
  http     a C client making one HTTP/1.1 GET per connection (Connection: close) to nginx
  refused  a C client connecting to a closed port as fast as it can
Traced, `netwatch conns --batch --json --interval 1` (or --ended, with --format ended) runs
beside it; its lines are counted
after each trial: the client's connections that ended (http: `closed`; refused: `refused`)
against what the client counted. Prints each workload's median rate as a ratio of untraced,
netwatch's CPU share and the connections it missed. Bounded: ROUNDS x 2 x 2 x RUNS x SECONDS.
--runs K runs the client K times per start of netwatch: the VM's rate moves by 10% from one run
to the next, and more runs for the same compiles narrow the interval printed beside each ratio.
nginx comes from Debian (installed if missing; this bench starts its own on a loopback port,
with a config of its own, and stops it). Run as root:
  .venv/bin/python bench/conn_churn.py [--seconds 3] [--rounds 3] [--runs 1] [--workloads LIST]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import build_flood, cleanup, cpu_seconds, median

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_timeout 0;
  client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
  uwsgi_temp_path {dir}; scgi_temp_path {dir};
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok\\n"; }} }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        print("bench: installing Debian's nginx", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        argv = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"]
        subprocess.run(argv, check=True, env=env)
        found = "/usr/sbin/nginx"
    return found


def start_nginx(binary: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    conf = workdir / f"nginx-{port}.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, port=port))
    # Unpinned, as the client and netwatch: pinning nginx and netwatch to one CPU made them
    # fight over it (0.63 of the untraced rate), the client alone on the other.
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(workdir)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["ss", "-Htln", f"sport = :{port}"], capture_output=True,
                          text=True).stdout.strip():  # fmt: skip
            return proc
        time.sleep(0.05)
    raise SystemExit("bench: nginx did not start")


def start_netwatch(out: Path, form: str) -> subprocess.Popen[bytes]:
    netwatch = str(Path(sys.executable).parent / "netwatch")
    log = out.open("wb")
    how = ["--json"] if form == "json" else ["--ended"]
    argv = [netwatch, "conns", "-b", *how, "--interval", "1"]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "watching ..." once attached
    if b"watching" not in line:
        raise SystemExit(f"bench: netwatch did not start: {line!r}")
    return proc


def counted(out: Path, port: int, end: str, form: str) -> int:
    """The client's connections to `port` that netwatch saw end as `end`, each once."""
    if form == "ended":  # tcplife's lines: PID COMM SIDE LOCAL REMOTE ... END
        words = [line.split() for line in out.read_text().splitlines()[1:]]
        return sum(1 for w in words
                   if len(w) > 4 and w[2] == "out" and w[4].endswith(f":{port}")
                   and w[-1] == end)  # fmt: skip
    seen = set()
    for line in out.read_text().splitlines():
        row = json.loads(line)
        if row["rport"] == port and row["side"] == "out" and row["end"] == end:
            seen.add(row["cid"])
    return len(seen)


def trial(flood: str, kind: str, port: int, seconds: float, runs: int, traced: bool,
          workdir: Path, nginx: str, form: str) -> tuple[list[float], float, int, int]:  # fmt: skip
    """One start of netwatch (or none) and `runs` client runs of `seconds` beside it: (each
    run's connections/s, netwatch's CPU share, the client's count, netwatch's count)."""
    server = start_nginx(nginx, port, workdir) if kind == "http" else None
    out = workdir / f"nw-{port}.jsonl"
    nw = start_netwatch(out, form) if traced else None
    time.sleep(0.5)
    cpu0 = cpu_seconds(nw.pid) if nw else 0.0
    t_all = time.monotonic()
    mode = "http-loop" if kind == "http" else "refuse-loop"
    client = [flood, mode, str(port), str(seconds)]
    rates = []
    done = 0
    for _ in range(runs):
        t0 = time.monotonic()
        n = int(subprocess.run(client, capture_output=True, text=True, check=True).stdout)
        rates.append(n / (time.monotonic() - t0))
        done += n
    share = (cpu_seconds(nw.pid) - cpu0) / (time.monotonic() - t_all) if nw else 0.0
    seen = 0
    if nw is not None:
        time.sleep(2.5)  # the last interval read and printed
        nw.terminate()
        nw.wait(30)
        seen = counted(out, port, "closed" if kind == "http" else "refused", form)
        out.unlink()
    if server is not None:
        server.terminate()
        server.wait(10)
    return rates, share, done, seen


def interval(traced: list[float], untraced: list[float]) -> tuple[float, float]:
    """A 90% interval for the ratio of medians, by resampling the runs (fixed seed): how far
    this VM's own drift between runs leaves the answer open."""
    rng = random.Random(1)
    ratios = sorted(
        median(rng.choices(traced, k=len(traced))) / median(rng.choices(untraced, k=len(untraced)))
        for _ in range(2000)
    )
    return ratios[100], ratios[1899]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=1,
                   help="client runs per start of netwatch (and per untraced trial): more "
                   "samples for the same compiles")  # fmt: skip
    p.add_argument(
        "--workloads",
        default="http,refused",
        help="comma-separated, from http and refused (default both)",
    )
    p.add_argument("--format", choices=("json", "ended"), default="json",
                   help="netwatch's output: conns -b --json (a line per connection per "
                   "interval) or --ended (a tcplife line per connection)")  # fmt: skip
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (BPF)")
    kinds = [k for k in ("http", "refused") if k in args.workloads.split(",")]
    if not kinds or args.runs < 1:
        raise SystemExit("bench: --workloads names http and/or refused; --runs is 1 or more")
    nginx = nginx_binary() if "http" in kinds else ""
    flood, build_dir = build_flood()
    # In memory (tmpfs where there is one): a traced trial prints 200 MB of JSON, and its
    # writeback to disk 30 s later landed on whichever trial ran then, traced or not (runs 16
    # and 17 of docs/benchmarks.md, the same code, kept 0.965 and 0.889).
    shm = Path("/dev/shm")
    workdir = Path(tempfile.mkdtemp(prefix="nwchurn-", dir=shm if shm.is_dir() else None))
    rates: dict[tuple[str, bool], list[float]] = {}
    shares: dict[str, list[float]] = {}
    missed: dict[str, list[tuple[int, int]]] = {}
    port = 47300
    try:
        for rnd in range(args.rounds):
            for kind in kinds:
                for traced in (rnd % 2 == 0, rnd % 2 != 0):
                    port += 1
                    runs, share, done, seen = trial(flood, kind, port, args.seconds,
                                                    args.runs, traced, workdir, nginx,
                                                    args.format)  # fmt: skip
                    rates.setdefault((kind, traced), []).extend(runs)
                    if traced:
                        shares.setdefault(kind, []).append(share)
                        missed.setdefault(kind, []).append((done, seen))
                    shown = " ".join(f"{r:.0f}" for r in runs)
                    print(f"round {rnd + 1} {kind:7s} {'netwatch' if traced else 'untraced':8s} "
                          f"{shown}/s" + (f"  counted {seen}/{done}" if traced else ""),
                          file=sys.stderr)  # fmt: skip
    finally:
        cleanup(build_dir)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nconn_churn: {args.rounds} rounds x {args.runs} runs x {args.seconds:g} s, "
          f"loopback, kernel {os.uname().release}, {os.cpu_count()} CPUs, netwatch conns -b "
          f"--{args.format}")  # fmt: skip
    for kind, what in (("http", "HTTP connections/s (nginx, Connection: close)"),
                       ("refused", "refused connects/s")):  # fmt: skip
        if kind not in kinds:
            continue
        base, with_nw = median(rates[(kind, False)]), median(rates[(kind, True)])
        low, high = interval(rates[(kind, True)], rates[(kind, False)])
        counts = missed[kind]
        lost = sum(done - seen for done, seen in counts)
        print(
            f"  {what}: untraced {base:.0f}, netwatch {with_nw:.0f}, ratio {with_nw / base:.3f} "
            f"(90% interval {low:.3f}-{high:.3f}); "
            f"netwatch CPU {100 * median(shares[kind]):.1f}% of a core; counted "
            f"{sum(s for _, s in counts)} of {sum(d for d, _ in counts)} ({lost} missed)"
        )


if __name__ == "__main__":
    main()
