#!/usr/bin/env python3
"""bench/accept_storm.py: the accept rate of a C accept loop on loopback, untraced and with
netwatch's Accepts probe attached (`netwatch accepts --batch --json`, its output counted), and
the events netwatch saw against the connections accepted. Interleaved in rounds; bounded.
Run as root:  .venv/bin/python bench/accept_storm.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from harness import build_flood, cleanup, cpu_seconds, median


def storm(flood: str, port: int, seconds: float) -> int:
    server = subprocess.Popen(
        [flood, "accept-loop", str(port), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    server.stdout.readline()
    subprocess.run(
        [flood, "connect-loop", str(port), str(seconds)], capture_output=True, check=True
    )
    out, _ = server.communicate(timeout=60)
    return int(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (BPF)")
    flood, workdir = build_flood()
    netwatch = str(Path(sys.executable).parent / "netwatch")
    untraced: list[float] = []
    traced: list[float] = []
    seen_vs_made: list[tuple[int, int, int]] = []
    cpu: list[float] = []
    port = 48100
    for rnd in range(args.rounds):
        for mode in ("untraced", "traced") if rnd % 2 == 0 else ("traced", "untraced"):
            port += 1
            if mode == "untraced":
                time.sleep(4)  # the same pause the traced run spends attaching
                made = storm(flood, port, args.seconds)
                untraced.append(made / args.seconds)
            else:
                out_path = workdir / f"events-{port}.jsonl"
                with out_path.open("w") as out:
                    nw = subprocess.Popen(
                        [netwatch, "accepts", "--batch", "--json"],
                        stdout=out,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                    time.sleep(4)  # compile and attach
                    cpu0 = cpu_seconds(nw.pid)
                    t0 = time.monotonic()
                    made = storm(flood, port, args.seconds)
                    wall = time.monotonic() - t0
                    share = (cpu_seconds(nw.pid) - cpu0) / wall
                    time.sleep(1)  # let the last events drain
                    nw.terminate()
                    _, err = nw.communicate(timeout=30)
                lines = out_path.read_text().splitlines()
                seen = sum(1 for line in lines if f'"port":{port}' in line)
                lost = sum(
                    int(w)
                    for line in err.splitlines()
                    if "lost" in line
                    for w in line.split()[1:2]
                    if w.isdigit()
                )
                traced.append(made / args.seconds)
                seen_vs_made.append((seen, made, lost))
                cpu.append(share)
            print(
                f"round {rnd + 1} {mode:8s} {made / args.seconds:10.0f} accepts/s", file=sys.stderr
            )
    cleanup(workdir)
    base = median(untraced)
    print(
        f"\naccept_storm: {args.rounds} rounds x {args.seconds:g} s, loopback, "
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs"
    )
    print(f"  untraced  {base:10.0f} accepts/s")
    print(f"  netwatch  {median(traced):10.0f} accepts/s   ratio {median(traced) / base:5.3f}")
    for seen, made, lost in seen_vs_made:
        print(
            f"  events: netwatch saw {seen} of {made} accepted ({made - seen} missing, "
            f"{lost} reported lost)"
        )
    print(f"netwatch CPU while streaming: {100 * median(cpu):.0f}% of one core")


if __name__ == "__main__":
    main()
