#!/usr/bin/env python3
"""bench/tui_soak.py: the real TUI on the Calls tab, in tmux, while the host is busy
(--loops flat-out UDP loops on loopback, a process started every 50 ms). Every --every seconds
it presses `v` and times how long the screen takes to change, and samples the TUI's RSS, its
CPU share and the `lost N` on its status line. At the end, `q` and how long leaving takes.

--compare REV runs the same soak on another revision first (a `git worktree` of it, run from
this venv), so the two rows come from one run on one machine.
Run as root:  .venv/bin/python bench/tui_soak.py [--seconds 120] [--every 5] [--compare REV]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import cpu_seconds, pane, rss_mib, tmux, trees_to_compare

ROOT = Path(__file__).resolve().parents[1]

GEN = ROOT / "tests" / "traffic_gen.py"


def soak(tree: Path, seconds: float, every: float, loops: int) -> dict[str, float]:
    name = f"nwsoak{os.getpid()}"
    netwatch = f"{sys.executable} -m netwatch calls"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "35",
         f"cd {tree} && {netwatch}; sleep 30")  # fmt: skip
    shell = int(tmux("display", "-p", "-t", name, "#{pane_pid}"))
    load = [
        subprocess.Popen([sys.executable, str(GEN), "udp-loop", "127.0.0.1", "0", "--size", "64",
                          "--max-seconds", str(seconds + 90), "--name", f"nw-soak{i}"],
                         stdout=subprocess.DEVNULL)
        for i in range(loops)
    ]  # fmt: skip
    # Bounded in itself: a `timeout` wrapper, killed, would leave the loop running for ever.
    load.append(subprocess.Popen(["bash", "-c", f"for _ in $(seq {int(seconds + 90) * 20}); "
                                  "do /bin/true; sleep 0.05; done"]))  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while "calls on" not in pane(name):
            if time.monotonic() > deadline:
                raise SystemExit(f"{tree}: the Calls tab never went live:\n{pane(name)}")
            time.sleep(0.3)
        pid = int(subprocess.run(["pgrep", "-P", str(shell)], capture_output=True,
                                 text=True).stdout.split()[0])  # fmt: skip
        keys: list[float] = []
        rss: list[float] = []
        lost = 0
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        while time.monotonic() - t0 < seconds:
            before = pane(name).splitlines()[2:4]
            sent = time.monotonic()
            tmux("send-keys", "-t", name, "v")
            while pane(name).splitlines()[2:4] == before and time.monotonic() - sent < 30:
                time.sleep(0.02)
            keys.append(time.monotonic() - sent)
            rss.append(rss_mib(pid))
            found = re.search(r"lost (\d+)", pane(name))
            lost = int(found.group(1)) if found else lost
            time.sleep(max(0.0, every - (time.monotonic() - sent)))
        cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
        sent = time.monotonic()
        tmux("send-keys", "-t", name, "q")
        while Path(f"/proc/{pid}").exists() and time.monotonic() - sent < 120:
            time.sleep(0.05)
        return {
            "key_median_s": statistics.median(keys),
            "key_max_s": max(keys),
            "rss_first_mib": rss[0],
            "rss_last_mib": rss[-1],
            "cpu_share": cpu,
            "lost_shown": lost,
            "quit_s": time.monotonic() - sent,
        }
    finally:
        for p in load:
            p.kill()
            p.wait()
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--every", type=float, default=5)
    ap.add_argument("--compare", metavar="REV", help="also soak this revision, first")
    ap.add_argument("--loops", type=int, default=1, help="flat-out UDP loops (default 1)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/tui_soak.py: run as root (BPF)")
    with trees_to_compare(args.compare, "nwsoak-") as trees:
        results = [
            (label, soak(tree, args.seconds, args.every, args.loops)) for label, tree in trees
        ]
    print(
        f"Calls tab under load ({args.loops} UDP loops, a process every 50 ms), "
        f"{args.seconds:g} s, a key every {args.every:g} s"
    )
    print(f"{'revision':<12} {'key med':>8} {'key max':>8} {'RSS first':>10} {'RSS last':>9} "
          f"{'CPU':>6} {'lost shown':>11} {'quit':>6}")  # fmt: skip
    for label, r in results:
        print(f"{label[:12]:<12} {r['key_median_s']:>7.2f}s {r['key_max_s']:>7.2f}s "
              f"{r['rss_first_mib']:>8.0f}Mi {r['rss_last_mib']:>7.0f}Mi "
              f"{r['cpu_share']:>6.0%} {r['lost_shown']:>11.0f} {r['quit_s']:>5.1f}s")  # fmt: skip


if __name__ == "__main__":
    main()
