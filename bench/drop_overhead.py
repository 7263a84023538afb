#!/usr/bin/env python3
"""bench/drop_overhead.py: what counting drops costs a flood of packets that are all dropped, and
how long the Drops heatmap takes to draw.

Throughput: 16-byte datagrams sent on loopback to a port nobody listens on (every one dropped
with NO_SOCKET), interleaved in rounds: untraced | netwatch's Drops probe (`netwatch drops
--batch --interval 1`) | bpftrace counting kfree_skb by location and reason. Render: the Drops
view redrawing 200 rows x 120 intervals, headless. Bounded; loopback only. Run as root:
  .venv/bin/python bench/drop_overhead.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import time
from pathlib import Path

from harness import Tracer, build_flood, cleanup, closed_port_trial, median

BPFTRACE_EQUIVALENT = """
tracepoint:skb:kfree_skb { @[args->location, args->reason] = count(); }
interval:s:1 { print(@); clear(@); }
"""


async def render_ms(rows: int = 200, columns: int = 120, redraws: int = 10) -> list[float]:
    from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample
    from netwatch.tabs.drops.screen import DropsView
    from netwatch.ui.app import NetwatchApp
    from tests.screens.scripted import ScriptedSource

    rng = random.Random(7)
    app = NetwatchApp(
        {"traffic": ScriptedSource(), "drops": ScriptedSource()}, initial_tab="drops", replay=True
    )
    keys = [DropKey(0xFFFFFFFF81000000 + 64 * i, f"REASON_{i % 40}", 0x0800) for i in range(rows)]
    times = []
    async with app.run_test(size=(columns + 100, rows + 12)) as pilot:
        view = app.query_one(DropsView)
        view.paused = True  # feed the state directly; time only the redraws
        for t in range(columns):
            view.state.apply(
                DropsSample(
                    float(t),
                    1.0,
                    tuple(
                        DropRow(k, f"func_{i}+0x10", rng.randint(0, 5000))
                        for i, k in enumerate(keys)
                    ),
                )
            )
        view.paused = False
        assert view.heat_width == columns, view.heat_width
        for t in range(redraws):
            view.state.apply(
                DropsSample(
                    float(columns + t),
                    1.0,
                    tuple(
                        DropRow(k, f"func_{i}+0x10", rng.randint(0, 5000))
                        for i, k in enumerate(keys)
                    ),
                )
            )
            start = time.perf_counter()
            view.redraw()
            await pilot.pause()  # includes the repaint the redraw caused
            times.append(1000 * (time.perf_counter() - start))
        assert len(view.shown) == rows
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (BPF)")
    flood, workdir = build_flood()
    script = workdir / "drops.bt"
    script.write_text(BPFTRACE_EQUIVALENT)
    netwatch = str(Path(sys.executable).parent / "netwatch")
    tracers = [
        Tracer("untraced", None, lambda line: True),
        Tracer(
            "netwatch",
            [netwatch, "drops", "--batch", "--interval", "1"],
            lambda line: line.startswith("Monitoring"),
        ),
    ]
    if shutil.which("bpftrace"):
        tracers.append(
            Tracer("bpftrace", ["bpftrace", str(script)], lambda line: line.startswith("Attaching"))
        )
    results: dict[str, list[float]] = {}
    cpu: list[float] = []
    port = 47900
    for rnd in range(args.rounds):
        order = tracers[rnd % len(tracers) :] + tracers[: rnd % len(tracers)]
        for tracer in order:
            port += 1
            rate, share = closed_port_trial(flood, args.seconds, port, tracer)
            results.setdefault(tracer.name, []).append(rate)
            if tracer.name == "netwatch":
                cpu.append(share)
            print(f"round {rnd + 1} {tracer.name:9s} {rate:12.0f} drops/s", file=sys.stderr)
    cleanup(workdir)
    base = median(results["untraced"])
    print(
        f"\ndrop_overhead: {args.rounds} rounds x {args.seconds:g} s, loopback, "
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs"
    )
    print(
        f"flood of dropped datagrams (NO_SOCKET), median of {args.rounds}; ratio = kept vs untraced"
    )
    for tracer in tracers:
        med = median(results[tracer.name])
        print(f"  {tracer.name:9s} {med:12.0f} drops/s   ratio {med / base:5.3f}")
    print(f"netwatch CPU at 1 s refresh: {100 * median(cpu):.1f}% of one core")
    times = asyncio.run(render_ms())
    print(
        f"Drops heatmap redraw, 200 rows x 120 intervals: median {median(times):.0f} ms, "
        f"max {max(times):.0f} ms (of a 1000 ms refresh)"
    )


if __name__ == "__main__":
    main()
