#!/usr/bin/env python3
"""bench/traffic_overhead.py: what tracing costs a loopback UDP flood and a TCP bulk stream.

Runs, interleaved in rounds so drift hits every mode alike:
  untraced | netwatch (its Traffic probe, `netwatch top --batch --interval 1`) |
  nw+conns (the same, with `netwatch conns --batch` beside it) |
  nw-raw (the same, forced to its raw-tracepoint fallback build) |
  bpftrace (the same tracepoints counted into maps by pid, comm and device, printed every 1 s) |
  nethogs (libpcap capture, 1 s refresh)
and prints each mode's median throughput as a ratio of untraced, and netwatch's own CPU share.
The sender and receiver are pinned to CPUs 0 and 1 (--no-pin to let them float).
Bounded: loopback only, ROUNDS x modes x 2 workloads x SECONDS.   Run as root:
  .venv/bin/python bench/traffic_overhead.py [--seconds 3] [--rounds 5] [--compare REV]
--compare REV adds netwatch as of git revision REV (a worktree, run from this venv) as one more
mode, so a change's cost is measured side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from harness import Tracer, build_flood, cleanup, median, trees_to_compare, trial

BPFTRACE_EQUIVALENT = r"""
tracepoint:net:net_dev_queue {
  @tx[pid, comm, str(args->name)] = count(); @txb[pid, comm, str(args->name)] = sum(args->len);
}
tracepoint:net:netif_receive_skb {
  @rx[pid, comm, str(args->name)] = count(); @rxb[pid, comm, str(args->name)] = sum(args->len);
}
interval:s:1 {
  print(@tx); print(@rx); print(@txb); print(@rxb);
  clear(@tx); clear(@rx); clear(@txb); clear(@rxb);
}
"""


# Traffic's probe and the Connections probe together, stopped together (bench's SIGTERM).
BOTH = (
    '"$0" conns -b --json >/dev/null 2>&1 & c=$!; '
    '"$0" top --batch --interval 1 & t=$!; trap "kill $c $t; wait" TERM; wait $t'
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument(
        "--no-pin",
        action="store_true",
        help="let the scheduler place the sender and receiver (noisier)",
    )
    p.add_argument(
        "--compare", metavar="REV", help="also run netwatch as of this git revision, side by side"
    )
    p.add_argument(
        "--only",
        metavar="MODES",
        help="comma-separated modes to run besides untraced (e.g. netwatch,nw@REV)",
    )
    p.add_argument("--kinds", default="udp,tcp", help="workloads: udp, tcp or both (default)")
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (BPF)")
    with trees_to_compare(args.compare, "nw-traffic-bench-") as trees:
        run(args, [(label, tree) for label, tree in trees if label != "this tree"])


def run(args: argparse.Namespace, others: list[tuple[str, Path]]) -> None:
    flood, workdir = build_flood()
    script = workdir / "equiv.bt"
    script.write_text(BPFTRACE_EQUIVALENT)
    netwatch = str(Path(sys.executable).parent / "netwatch")
    tracers = [
        Tracer("untraced", None, lambda line: True),
        Tracer(
            "netwatch",
            [netwatch, "top", "--batch", "--interval", "1"],
            lambda line: line.startswith("  PID"),
        ),
        # Traffic's probe with the Connections probe beside it (#25): per-packet work must not
        # grow with it. Both stop together when the shell is told to.
        Tracer("nw+conns", ["sh", "-c", BOTH, netwatch], lambda line: line.startswith("  PID")),
        # The fallback build, for kernels that refuse BTF tracepoints (probe reads throughout).
        Tracer(
            "nw-raw",
            ["env", "NETWATCH_RAW_TRACEPOINTS=1", netwatch, "top", "--batch", "--interval", "1"],
            lambda line: line.startswith("  PID"),
        ),
        *(
            Tracer(
                f"nw@{label[:7]}",
                [
                    "env",
                    f"PYTHONPATH={tree}",
                    sys.executable,
                    "-m",
                    "netwatch",
                    "top",
                    "--batch",
                    "--interval",
                    "1",
                ],
                lambda line: line.startswith("  PID"),
            )
            for label, tree in others
        ),
        Tracer(
            "bpftrace",
            ["bpftrace", str(script)] if shutil.which("bpftrace") else None,
            lambda line: line.startswith("Attaching"),
        ),
        # -a: loopback is not monitored otherwise; -C: account UDP as well as TCP.
        Tracer(
            "nethogs",
            ["nethogs", "-a", "-C", "-t", "-d", "1", "lo"] if shutil.which("nethogs") else None,
            lambda line: line.startswith("Refreshing"),
        ),
    ]
    tracers = [t for t in tracers if t.argv is not None or t.name == "untraced"]
    if args.only:
        wanted = set(args.only.split(","))
        tracers = [t for t in tracers if t.name == "untraced" or t.name in wanted]
    kinds = [k for k in ("udp", "tcp") if k in args.kinds.split(",")]
    results: dict[tuple[str, str], list[float]] = {}
    cpu: list[float] = []
    port = 47100
    pin = None if args.no_pin or (os.cpu_count() or 1) < 2 else (0, 1)
    for rnd in range(args.rounds):
        order = tracers[rnd % len(tracers) :] + tracers[: rnd % len(tracers)]
        for kind in kinds:
            for tracer in order:
                port += 1
                rate, share = trial(flood, kind, args.seconds, port, tracer, pin)
                results.setdefault((kind, tracer.name), []).append(rate)
                if tracer.name == "netwatch":
                    cpu.append(share)
                print(f"round {rnd + 1} {kind} {tracer.name:9s} {rate:14.0f}/s", file=sys.stderr)
    cleanup(workdir)
    print(
        f"\ntraffic_overhead: {args.rounds} rounds x {args.seconds:g} s, loopback, "
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs, "
        + (f"sender on CPU {pin[0]}, receiver on CPU {pin[1]}" if pin else "unpinned")
    )
    for kind, unit in (("udp", "64-byte datagrams/s"), ("tcp", "bytes/s")):
        if kind not in kinds:
            continue
        base = median(results[(kind, "untraced")])
        print(f"{kind.upper()} ({unit}), median of {args.rounds}; ratio = kept vs untraced")
        for tracer in tracers:
            med = median(results[(kind, tracer.name)])
            print(f"  {tracer.name:9s} {med:16.0f}   ratio {med / base:5.3f}")
    if cpu:
        print(
            f"netwatch CPU at 1 s refresh: {100 * median(cpu):.1f}% of one core "
            f"(median; max {100 * max(cpu):.1f}%)"
        )


if __name__ == "__main__":
    main()
