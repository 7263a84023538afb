#!/usr/bin/env python3
"""bench/tui_cost.py: what the TUI costs the host it watches (issue #13's cost targets).

The real TUI in tmux (120x35), started as an operator starts it. It times the first frame and
each probe going live (the status line's `TAB on`), then with the host idle shows each tab in
turn and takes the process's CPU share over --seconds; then the Traffic tab at its 1 s refresh
while --rows bounded UDP loops on loopback keep that many rows changing; then its RSS, split by
where it lives (the compiler's libraries, BPF maps mapped into the process, Python and the rest);
then how long `q` takes. Last, Ctrl-C pressed at 0.3, 1 and 2 s after start, while the probes
compile: how long until the shell has its terminal back.

--compare REV runs the same on another revision first (a `git worktree` of it, from this
venv), so both rows come from one run on one machine.
--width 200 draws the Traffic table's HISTORY column (from 180 columns).
Run as root:  .venv/bin/python bench/tui_cost.py [--seconds 15] [--rows 20] [--compare REV]
              [--width 120]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness import cpu_seconds, pane, tmux, trees_to_compare

ROOT = Path(__file__).resolve().parents[1]

GEN = ROOT / "tests" / "traffic_gen.py"
TABS = (("1", "traffic"), ("2", "calls"), ("3", "accepts"), ("4", "drops"))
STARTED_AT = ("traffic", "accepts", "drops")  # Calls attaches when first shown
CTRL_C_AFTER_S = (0.3, 1.0, 2.0)


WIDTH = 120  # --width: 200 shows the Traffic table's HISTORY column (#26)


def start(tree: Path, name: str) -> int:
    """netwatch in a new tmux session; returns the shell's pid."""
    subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    tmux("new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", "35",
         f"cd {tree} && {sys.executable} -m netwatch; sleep 60")  # fmt: skip
    return int(tmux("display", "-p", "-t", name, "#{pane_pid}"))


def child_of(shell: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-P", str(shell)], capture_output=True, text=True)
        if found.stdout.split():
            return int(found.stdout.split()[0])
        time.sleep(0.01)
    raise SystemExit("bench/tui_cost.py: netwatch never started")


def wait_gone(pid: int, timeout: float) -> float:
    sent = time.monotonic()
    while Path(f"/proc/{pid}").exists() and time.monotonic() - sent < timeout:
        time.sleep(0.01)
    return time.monotonic() - sent


def cpu_share(pid: int, seconds: float) -> float:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def rss_by_place(pid: int) -> dict[str, float]:
    """MiB resident: the whole, and where: compiler libraries, BPF maps, Python and the rest."""
    places = {"compiler libs": 0, "BPF maps": 0, "heap+anon": 0, "other files": 0}
    where = "heap+anon"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            fields = line.split()
            path = fields[5] if len(fields) > 5 else ""
            if "libLLVM" in path or "libclang" in path:
                where = "compiler libs"
            elif "bpf-map" in path:
                where = "BPF maps"
            elif path in ("", "[heap]") or path.startswith("[anon"):
                where = "heap+anon"
            else:
                where = "other files"
        elif line.startswith("Rss:"):
            places[where] += int(line.split()[1])
    total = sum(places.values())
    return {"RSS": total / 1024, **{k: v / 1024 for k, v in places.items()}}


def measure(tree: Path, seconds: float, rows: int) -> dict[str, float]:
    name = f"nwcost{os.getpid()}"
    r: dict[str, float] = {}
    t0 = time.monotonic()
    shell = start(tree, name)
    try:
        while time.monotonic() - t0 < 90:
            screen = pane(name)
            now = time.monotonic() - t0
            if "frame" not in r and "Traffic" in screen:
                r["frame"] = now
            for tab in STARTED_AT:
                if tab not in r and f"{tab} on" in screen:
                    r[tab] = now
            if all(k in r for k in ("frame", *STARTED_AT)):
                break
            time.sleep(0.02)
        else:
            raise SystemExit(f"{tree}: the probes never went live:\n{pane(name)}")
        pid = child_of(shell)
        time.sleep(2)
        for key, tab in TABS:
            sent = time.monotonic()
            tmux("send-keys", "-t", name, key)
            if tab == "calls":
                while "calls on" not in pane(name) and time.monotonic() - sent < 30:
                    time.sleep(0.02)
                r["calls"] = time.monotonic() - sent
            time.sleep(2)
            r[f"idle {tab}"] = cpu_share(pid, seconds)
        tmux("send-keys", "-t", name, "1")
        loops = [
            subprocess.Popen([sys.executable, str(GEN), "udp-loop", "127.0.0.1", "0",
                              "--max-seconds", str(seconds + 20), "--name", f"nw-cost{i}"],
                             stdout=subprocess.DEVNULL)
            for i in range(rows)
        ]  # fmt: skip
        try:
            time.sleep(3)
            r["busy traffic"] = cpu_share(pid, seconds)
        finally:
            for p in loops:
                p.kill()
                p.wait()
        r.update(rss_by_place(pid))
        tmux("send-keys", "-t", name, "q")
        r["quit"] = wait_gone(pid, 30)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    for after in CTRL_C_AFTER_S:
        shell = start(tree, name)
        try:
            pid = child_of(shell)
            time.sleep(after)
            tmux("send-keys", "-t", name, "C-c")
            r[f"ctrl-c {after:g}"] = wait_gone(pid, 30)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    return r


ROWS = (
    ("first frame", "frame", "s"),
    ("traffic live", "traffic", "s"),
    ("accepts live", "accepts", "s"),
    ("drops live", "drops", "s"),
    ("calls live once shown", "calls", "s"),
    ("idle CPU, Traffic shown", "idle traffic", "%"),
    ("idle CPU, Calls shown", "idle calls", "%"),
    ("idle CPU, Accepts shown", "idle accepts", "%"),
    ("idle CPU, Drops shown", "idle drops", "%"),
    ("Traffic, rows changing", "busy traffic", "%"),
    ("RSS", "RSS", "MiB"),
    ("  compiler libs", "compiler libs", "MiB"),
    ("  BPF maps (mapped)", "BPF maps", "MiB"),
    ("  heap and anonymous", "heap+anon", "MiB"),
    ("  other files", "other files", "MiB"),
    ("q to gone", "quit", "s"),
    *((f"Ctrl-C at {a:g} s to gone", f"ctrl-c {a:g}", "s") for a in CTRL_C_AFTER_S),
)


def shown(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1%}"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--seconds", type=float, default=15, help="each CPU window (default 15)")
    ap.add_argument("--rows", type=int, default=20, help="UDP loops while busy (default 20)")
    ap.add_argument("--compare", metavar="REV", help="also measure this revision, first")
    ap.add_argument("--width", type=int, default=120, help="the terminal's columns (120)")
    args = ap.parse_args()
    global WIDTH
    WIDTH = args.width
    if os.geteuid() != 0:
        raise SystemExit("bench/tui_cost.py: run as root (BPF)")
    if shutil.which("tmux") is None:
        raise SystemExit("bench/tui_cost.py: needs tmux")
    with trees_to_compare(args.compare, "nwcost-") as trees:
        results = [(label, measure(tree, args.seconds, args.rows)) for label, tree in trees]
    print(f"TUI cost, {args.seconds:g} s per CPU window, {args.rows} UDP loops when busy, "
          f"{WIDTH} columns")  # fmt: skip
    print(f"{'':<28}" + "".join(f"{label[:12]:>14}" for label, _ in results)
          + ("   ratio" if len(results) == 2 else ""))  # fmt: skip
    for title, key, unit in ROWS:
        values = [r[key] for _, r in results]
        line = f"{title:<28}" + "".join(f"{shown(v, unit):>14}" for v in values)
        if len(values) == 2 and values[0]:
            line += f"   {values[1] / values[0]:.2f}"
        print(line)


if __name__ == "__main__":
    main()
