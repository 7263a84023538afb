#!/usr/bin/env python3
"""bench/flight_rss.py: the flight recorder's memory over a long run (#26). `netwatch record
--ring WINDOW` under the soak load (--loops UDP loops on loopback, a process started every
50 ms, short TCP connections to a local listener), its RSS sampled every --every seconds, and
the ring's own size from the files SIGUSR1 makes at the end. Memory should follow the window
and the traffic, not the time: prints RSS at each sample and the growth after the first
window. Bounded: SECONDS plus the probes' compile. Run as root:
  .venv/bin/python bench/flight_rss.py [--seconds 600] [--ring 60] [--every 30]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import rss_mib

ROOT = Path(__file__).resolve().parents[1]
GEN = ROOT / "tests" / "traffic_gen.py"


def churn(stop: threading.Event) -> None:
    """Ten short TCP connections a second to a listener of our own: the Accepts and
    Connections tabs' load."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        while not stop.wait(0.1):
            with socket.create_connection(("127.0.0.1", port)) as c:
                server, _ = listener.accept()
                c.sendall(b"x" * 1000)
                server.recv(2000)
                server.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--ring", type=float, default=60)
    p.add_argument("--every", type=float, default=30)
    p.add_argument("--loops", type=int, default=2)
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (BPF)")
    workdir = Path(tempfile.mkdtemp(prefix="nwflight-"))
    out = workdir / "flight.nwrec"
    bound = int(args.seconds + 120)
    load = [
        subprocess.Popen([sys.executable, str(GEN), "udp-loop", "127.0.0.1", "0", "--size", "64",
                          "--max-seconds", str(bound), "--name", f"nw-soak{i}"],
                         stdout=subprocess.DEVNULL)
        for i in range(args.loops)
    ]  # fmt: skip
    load.append(subprocess.Popen(["bash", "-c", f"for _ in $(seq {bound * 20}); "
                                  "do /bin/true; sleep 0.05; done"]))  # fmt: skip
    stop = threading.Event()
    threading.Thread(target=churn, args=(stop,), daemon=True).start()
    argv = [sys.executable, "-m", "netwatch", "record", "--ring", f"{args.ring:g}", "-o", str(out)]
    rec = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    rows: list[tuple[float, float]] = []
    try:
        assert rec.stderr is not None
        while "flight recorder:" not in (line := rec.stderr.readline()):
            if not line:
                raise SystemExit("bench: netwatch record --ring did not start")
        t0 = time.monotonic()
        while (elapsed := time.monotonic() - t0) < args.seconds:
            rows.append((elapsed, rss_mib(rec.pid)))
            print(f"{elapsed:6.0f} s  RSS {rows[-1][1]:7.1f} MiB", file=sys.stderr, flush=True)
            time.sleep(min(args.every, max(0.0, args.seconds - elapsed)))
        rows.append((time.monotonic() - t0, rss_mib(rec.pid)))
        rec.send_signal(signal.SIGUSR1)
        written = ""
        while "written to" not in written:
            written = rec.stderr.readline()
            if not written:
                break
        rec.send_signal(signal.SIGTERM)
        rec.wait(60)
    finally:
        stop.set()
        if rec.poll() is None:
            rec.kill()
        for proc in load:
            proc.kill()
            proc.wait()
    files = sorted(workdir.glob("flight-*.nwrec"))
    size = sum(f.stat().st_size for f in files) / 2**20
    after_first = [rss for t, rss in rows if t >= args.ring]
    print(f"\nflight_rss: record --ring {args.ring:g} for {args.seconds:g} s under "
          f"{args.loops} UDP loops, a process every 50 ms and 10 TCP connections/s; kernel "
          f"{os.uname().release}")  # fmt: skip
    print(f"  RSS at start {rows[0][1]:.1f} MiB, after the first window {after_first[0]:.1f} MiB, "
          f"at the end {rows[-1][1]:.1f} MiB; after the first window min "
          f"{min(after_first):.1f}, max {max(after_first):.1f} (growth "
          f"{rows[-1][1] - after_first[0]:+.1f} MiB)")  # fmt: skip
    print(f"  the window written on SIGUSR1: {size:.1f} MiB on disk ({written.strip()})")
    for f in files:
        f.unlink()
    workdir.rmdir()


if __name__ == "__main__":
    main()
