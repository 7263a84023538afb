"""What the benchmarks share: a tracer running for one trial, a timed loopback flood, stats."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def build_flood() -> tuple[str, Path]:
    """Compile bench/flood.c into a temporary folder; returns (binary, folder to remove)."""
    workdir = Path(tempfile.mkdtemp(prefix="nwbench-"))
    flood = str(workdir / "flood")
    subprocess.run(["gcc", "-O2", "-o", flood, str(HERE / "flood.c")], check=True)
    return flood, workdir


def cleanup(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Tracer:
    """A peer tool running for the length of one trial."""

    def __init__(self, name: str, argv: list[str] | None, ready: Callable[[str], bool]) -> None:
        self.name, self.argv, self.ready = name, argv, ready
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        if self.argv is None:
            return
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 60
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"bench: {self.name} exited before it was ready")
            if self.ready(line):
                break
        # Keep draining its output so it never blocks on a full pipe.
        subprocess.Popen(["cat"], stdin=self.proc.stdout, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


def trial(
    flood: str,
    kind: str,
    seconds: float,
    port: int,
    tracer: Tracer,
    pin: tuple[int, int] | None = None,
) -> tuple[float, float]:
    """Throughput (per second) of one workload under one tracer, and the tracer's CPU share.
    `pin`: (sender CPU, receiver CPU), so the scheduler's placement of the two loops, which
    moves loopback throughput by tens of percent from run to run, is the same in every mode."""
    send_pin = ["taskset", "-c", str(pin[0])] if pin else []
    recv_pin = ["taskset", "-c", str(pin[1])] if pin else []
    tracer.start()
    time.sleep(0.5)
    recv = subprocess.Popen(
        [*recv_pin, flood, f"{kind}-recv", str(port), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert recv.stdout is not None
    recv.stdout.readline()
    cpu0 = cpu_seconds(tracer.proc.pid) if tracer.proc else 0.0
    t0 = time.monotonic()
    send_args = [*send_pin, flood, f"{kind}-send", str(port), str(seconds)]
    send_args += ["64"] if kind == "udp" else []
    sent = int(subprocess.run(send_args, capture_output=True, text=True, check=True).stdout)
    wall = time.monotonic() - t0
    cpu = (cpu_seconds(tracer.proc.pid) - cpu0) / wall if tracer.proc else 0.0
    recv.communicate(timeout=30)
    tracer.stop()
    return sent / wall, cpu


def closed_port_trial(flood: str, seconds: float, port: int, tracer: Tracer) -> tuple[float, float]:
    """Datagrams/s sent to a port nobody listens on (every one dropped, NO_SOCKET)."""
    tracer.start()
    time.sleep(0.5)
    cpu0 = cpu_seconds(tracer.proc.pid) if tracer.proc else 0.0
    t0 = time.monotonic()
    out = subprocess.run(
        [flood, "udp-send", str(port), str(seconds), "16"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall = time.monotonic() - t0
    cpu = (cpu_seconds(tracer.proc.pid) - cpu0) / wall if tracer.proc else 0.0
    tracer.stop()
    return int(out) / wall, cpu


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def pane(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name)


@contextlib.contextmanager
def trees_to_compare(compare: str | None, prefix: str) -> Iterator[list[tuple[str, Path]]]:
    """[(label, source tree)] to run a bench in: this tree, after a `git worktree` of revision
    `compare` (run from this venv) when one is given, so both rows come from one run."""
    trees = [("this tree", ROOT)]
    scratch = None
    if compare:
        scratch = Path(tempfile.mkdtemp(prefix=prefix))
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(scratch),
                        compare], check=True, capture_output=True)  # fmt: skip
        trees.insert(0, (compare, scratch))
    try:
        yield trees
    finally:
        if scratch is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(scratch)], capture_output=True)  # fmt: skip
            shutil.rmtree(scratch, ignore_errors=True)
