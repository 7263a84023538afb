#!/usr/bin/env python3
"""bench/calls_overhead.py: round trips per second of a UDP ping-pong loop on loopback (a C client
and a C echo server), untraced and under `netwatch calls --batch` filtered to another PID,
filtered to the loop's PID, and unfiltered; the events netwatch printed and the events it lost.
Function depth (net/socket.c's functions, by fentry or kprobes) is off in those and measured in
modes of its own, another PID traced and the loop's, where the kernel has either mechanism.
Modes are interleaved in rounds; every loop is bounded. Then the memory bound: the Calls state
fed for --soak-seconds by an unfiltered probe, its size sampled as it goes.
Run as root:
  .venv/bin/python bench/calls_overhead.py [--seconds 3] [--rounds 3] [--soak-seconds 600]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness import build_flood, cleanup, cpu_seconds, median

ROOT = Path(__file__).resolve().parents[1]

MODES = ("untraced", "other-pid", "loop-pid", "unfiltered", "loop-pid-batch",
         "other-pid-functions", "loop-pid-functions")  # fmt: skip
# Function depth (net/socket.c functions on call and return): measured only on kernels that
# have fentry or kprobes (not our 6.18); the other modes run with it off, as before it existed.
FUNCTION_MODES = ("other-pid-functions", "loop-pid-functions")


def consume(pids: list[int], functions: str) -> None:
    """What the Calls tab does with the probe, without drawing: read ten times a second,
    decode, keep the bounded tree. Prints 'tracing' once attached; on SIGTERM the events and
    losses."""
    import signal

    from netwatch.tabs.calls.model import CallsState
    from netwatch.tabs.calls.probe import CALLS_READ_INTERVAL, CallsProbe

    state = CallsState()
    probe = CallsProbe(interval=CALLS_READ_INTERVAL, pids=pids, keep_last=state.max_calls,
                       functions=functions)  # fmt: skip
    probe.open()
    if functions != "off" and probe.depth.mechanism == "none":
        probe.close()
        print(f"netwatch: unavailable: {probe.depth.note}", file=sys.stderr, flush=True)
        raise SystemExit(3)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"netwatch: tracing; {probe.depth.note}", file=sys.stderr, flush=True)
    events = 0
    while not stop.wait(CALLS_READ_INTERVAL):  # as the app reads it
        s = probe.read()
        if s is not None:
            events += len(s.events)
            state.apply(s)
    s = probe.read()
    probe.close()
    if s is not None:
        events += len(s.events)
        state.apply(s)
    print(f"events {events}", flush=True)
    print(f"calls {sum(t.count for t in state.threads.values() if t.pid in pids)}", flush=True)
    print(f"netwatch: {state.lost} call events lost", file=sys.stderr, flush=True)


def one_run(
    flood: str, port: int, seconds: float, mode: str, netwatch: str
) -> dict[str, float] | str:
    """The mode's figures, or why it cannot run on this kernel."""
    # The loop and its server share CPU 0, netwatch gets CPU 1: a ping-pong across two CPUs
    # in a VM mostly measures wake-up latency from idle, which a busy tracer would *shorten*.
    server = subprocess.Popen(
        ["taskset", "-c", "0", flood, "echo-server", str(port), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    server.stdout.readline()
    loop = subprocess.Popen(
        ["taskset", "-c", "0", flood, "ping-loop", str(port), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert loop.stdout is not None and loop.stdin is not None
    loop_pid = int(loop.stdout.readline())
    bystander = subprocess.Popen(["sleep", "120"])
    tracer = None
    counted = {"lines": 0, "calls": 0}
    stderr_lines: list[str] = []
    if mode != "untraced":
        if mode == "loop-pid-batch":
            argv = [netwatch, "calls", "--batch", "--functions", "off", "--pid", str(loop_pid)]
        else:  # the Calls tab's own path
            which = {"other-pid": [bystander.pid], "loop-pid": [loop_pid], "unfiltered": []}.get(
                mode.removesuffix("-functions"), []
            )
            functions = "auto" if mode in FUNCTION_MODES else "off"
            argv = [sys.executable, __file__, "--consume-functions", functions, "--consume",
                    *map(str, which)]  # fmt: skip
        tracer = subprocess.Popen(
            ["taskset", "-c", "1", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert tracer.stdout is not None and tracer.stderr is not None
        line = tracer.stderr.readline()
        if "unavailable" in line:
            for p in (loop, server, bystander):
                p.kill()
                p.wait()
            tracer.wait()
            return line.strip().removeprefix("netwatch: unavailable: ")
        if "tracing" not in line:
            raise SystemExit(f"bench: netwatch did not start: {line.strip()}")

        def count_lines() -> None:
            assert tracer is not None and tracer.stdout is not None
            for line in tracer.stdout:
                if line.startswith("events "):
                    counted["lines"] += int(line.split()[1])
                elif line.startswith("calls "):
                    counted["calls"] += int(line.split()[1])
                else:
                    counted["lines"] += 1
                    counted["calls"] += " -> " in line

        def keep_stderr() -> None:
            assert tracer is not None and tracer.stderr is not None
            stderr_lines.extend(tracer.stderr)

        threading.Thread(target=count_lines, daemon=True).start()
        threading.Thread(target=keep_stderr, daemon=True).start()
    else:
        time.sleep(1.5)  # the same settling pause the traced runs get while attaching
    cpu0 = cpu_seconds(tracer.pid) if tracer else 0.0
    t0 = time.monotonic()
    loop.stdin.write("go\n")
    loop.stdin.flush()
    out, _ = loop.communicate(timeout=seconds + 60)
    elapsed = time.monotonic() - t0
    cpu = (cpu_seconds(tracer.pid) - cpu0) / elapsed if tracer else 0.0
    round_trips = int(out.strip().splitlines()[-1])
    lost = 0
    if tracer is not None:
        settled = -1
        while settled != counted["lines"]:  # until it has printed what it still held
            settled = counted["lines"]
            time.sleep(1.0)
        tracer.terminate()
        tracer.wait(timeout=30)
        time.sleep(0.2)
        for line in stderr_lines:
            m = re.search(r"(\d+) call events lost", line)
            lost += int(m.group(1)) if m else 0
    server.terminate()
    server.wait(timeout=30)
    bystander.kill()
    bystander.wait()
    # Once started, the loop makes exactly two calls (send, recv) per round trip: a count of
    # what netwatch saw of it, whatever the loss counters say.
    seen = counted["calls"] / (2 * round_trips) if mode.startswith("loop-pid") else 0.0
    return {
        "rate": round_trips / seconds,
        "lines": counted["lines"],
        "lost": lost,
        "cpu": cpu,
        "seen": seen,
    }


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def soak(seconds: float, flood: str) -> None:
    """The memory bound: an unfiltered probe feeding CallsState for `seconds`, read as the app
    reads it, while a ping-pong loop runs flat out (one busy thread far past --max-calls) and
    short-lived processes come and go (far more threads than --max-threads)."""
    from netwatch.tabs.calls.model import CallsState
    from netwatch.tabs.calls.probe import CALLS_READ_INTERVAL, CallsProbe

    state = CallsState()
    probe = CallsProbe(interval=CALLS_READ_INTERVAL, keep_last=state.max_calls)
    probe.open()
    end = time.monotonic() + seconds
    server = subprocess.Popen(
        [flood, "echo-server", "48299", str(seconds)], stdout=subprocess.DEVNULL
    )
    time.sleep(0.2)
    loop = subprocess.Popen(
        ["bash", "-c", f"echo go | {flood} ping-loop 48299 {seconds}"], stdout=subprocess.DEVNULL
    )
    churn = subprocess.Popen(
        [
            "bash",
            "-c",
            f"end=$((SECONDS+{int(seconds)})); while [ $SECONDS -lt $end ]; do "
            "python3 -c 'import socket; socket.socket().close()'; sleep 0.05; done",
        ]
    )
    samples = []
    try:
        start = time.monotonic()
        next_report = start
        while time.monotonic() < end:
            time.sleep(CALLS_READ_INTERVAL)
            s = probe.read()
            if s is not None:
                state.apply(s)
            if time.monotonic() >= next_report:
                next_report += 30
                kept = sum(len(t.calls) for t in state.threads.values())
                events = sum(len(c.events) for t in state.threads.values() for c in t.calls)
                samples.append(
                    (round(time.monotonic() - start), len(state.threads), kept, events, rss_mib())
                )
    finally:
        probe.close()
        for p in (churn, loop, server):
            p.terminate()
            p.wait()
    limit = state.max_threads * state.max_calls
    print(f"soak {seconds:.0f}s: threads kept <= {state.max_threads}, calls kept <= {limit}")
    for t, threads, kept, events, rss in samples:
        print(
            f"  t={t:4d}s threads={threads:4d} calls kept={kept:6d} events in them={events:7d}"
            f" RSS={rss:.0f} MiB"
        )
    print(
        f"  dropped: {state.calls_dropped} calls, {state.threads_dropped} threads; "
        f"total seen {state.total_calls}; lost {state.lost}"
    )
    ok = all(th <= state.max_threads and k <= limit for _, th, k, _, _ in samples)
    print(f"  bound held: {'yes' if ok else 'NO'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=3, help="0: the soak alone")
    p.add_argument(
        "--soak-seconds",
        type=float,
        default=0.0,
        help="also run the memory soak (the issue's target: 600)",
    )
    p.add_argument("--consume", type=int, nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--consume-functions", default="off", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.consume is not None:
        consume(args.consume, args.consume_functions)
        return
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (BPF)")
    if args.rounds:
        overhead(args)
    if args.soak_seconds:
        flood, workdir = build_flood()
        try:
            soak(args.soak_seconds, flood)
        finally:
            cleanup(workdir)


def overhead(args: argparse.Namespace) -> None:
    flood, workdir = build_flood()
    netwatch = str(Path(sys.executable).parent / "netwatch")
    results: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    unavailable: dict[str, str] = {}
    port = 48300
    try:
        for rnd in range(args.rounds):
            order = MODES if rnd % 2 == 0 else tuple(reversed(MODES))
            for mode in order:
                if mode in unavailable:
                    continue
                port += 1
                got = one_run(flood, port, args.seconds, mode, netwatch)
                if isinstance(got, str):
                    unavailable[mode] = got
                else:
                    results[mode].append(got)
    finally:
        cleanup(workdir)
    base = median([r["rate"] for r in results["untraced"]])
    print(
        f"calls_overhead: UDP ping-pong on loopback, {args.rounds} rounds of "
        f"{args.seconds:g}s, medians"
    )
    print("tracer on CPU 1, loop and echo server on CPU 0; '-batch' prints every line as text,")
    print("the other modes are the Calls tab's own path (probe, decode, bounded tree; no drawing)")
    print(
        f"{'mode':<20} {'round trips/s':>14} {'kept':>6} {'events/s':>9} {'lost':>8} {'cpu':>6}"
        f" {'loop calls seen':>16}"
    )
    for mode in MODES:
        if mode in unavailable:
            print(f"{mode:<20} not on this kernel: {unavailable[mode]}")
            continue
        rate = median([r["rate"] for r in results[mode]])
        lines = median([r["lines"] / args.seconds for r in results[mode]])
        lost = sum(int(r["lost"]) for r in results[mode])
        cpu = median([r["cpu"] for r in results[mode]])
        seen = min(r["seen"] for r in results[mode])
        print(
            f"{mode:<20} {rate:>14.0f} {rate / base:>6.2f} {lines:>9.0f} {lost:>8d} "
            f"{cpu * 100:>5.0f}% {f'{seen:.4f}' if seen else '-':>16}"
        )


if __name__ == "__main__":
    main()
