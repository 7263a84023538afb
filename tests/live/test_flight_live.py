"""Live: `netwatch record --ring` (#26) under traffic for 75 s. SIGUSR1 writes the last window
and nothing older, a trigger on an nft drop burst writes a file holding that burst, and the
recorder's memory stays flat once its window is full."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netwatch.recording.file import load_recording
from netwatch.tabs import codecs
from tests.helpers.paths import GEN
from tests.netns import veth_pair

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]

NETWATCH = [sys.executable, "-m", "netwatch"]
WINDOW = 30
BURST = 2000
# RSS may grow this much between 40 s and 75 s: allocator noise, not records kept.
RSS_SLACK_KB = 6 * 1024


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def line_with(proc: subprocess.Popen[str], words: str, timeout: float) -> str:
    """The next stderr line holding `words` (others are kept for the failure message)."""
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            line = proc.stderr.readline()
            if not line:
                break
            if words in line:
                return line
            seen.append(line)
    raise AssertionError(f"no {words!r} in {timeout} s; stderr: {seen}")


def written_path(line: str) -> Path:
    return Path(line.split("written to ", 1)[1].split(": ", 1)[0])


def test_the_ring_keeps_its_window_fires_on_a_drop_burst_and_stays_flat(tmp_path: Path) -> None:
    out = tmp_path / "flight.nwrec"
    with veth_pair("fl") as link:
        link.b.drop_udp_port("nwflight", 6010)
        load = subprocess.Popen([sys.executable, GEN, "udp-loop", "127.0.0.1", "0",
                                 "--max-seconds", "150", "--name", "nw-flightload"],
                                stdout=subprocess.DEVNULL)  # fmt: skip
        argv = [*NETWATCH, "record", "--ring", str(WINDOW), "-o", str(out), "--trigger",
                "drops:NETFILTER_DROP>100/s", "--after", "3", "--cooldown", "600"]  # fmt: skip
        rec = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
        try:
            line_with(rec, "flight recorder: keeping the last 30 s", timeout=120)
            started = time.monotonic()
            time.sleep(max(0.0, started + 40 - time.monotonic()))
            rss_40 = rss_kb(rec.pid)
            time.sleep(max(0.0, started + 50 - time.monotonic()))
            burst_at = time.time()
            subprocess.run(link.udp_sender(6010, BURST), check=True, capture_output=True,
                           timeout=60)  # fmt: skip
            dropped = link.b.rule_packets("nwflight")
            assert dropped == BURST
            triggered = written_path(line_with(rec, "made by drops:NETFILTER_DROP>100/s", 20))
            time.sleep(max(0.0, started + 75 - time.monotonic()))
            rss_75 = rss_kb(rec.pid)
            asked_at = time.time()
            rec.send_signal(signal.SIGUSR1)
            asked = written_path(line_with(rec, "made by SIGUSR1", 10))
            rec.send_signal(signal.SIGTERM)
            assert rec.wait(30) == 0
        finally:
            if rec.poll() is None:
                rec.kill()
                rec.wait()
            load.kill()
            load.wait()

    # The triggered file holds the burst: every drop the rule counted, in its seconds.
    trig = load_recording(triggered, codecs())
    assert "drops:NETFILTER_DROP>100/s" in trig.header["flight"]["trigger"]
    netfilter = [
        (s.ts, sum(r.count for r in s.rows if r.key.reason == "NETFILTER_DROP"))
        for s in trig["drops"]
    ]
    assert sum(n for _, n in netfilter) == BURST, netfilter
    assert all(burst_at - 2 <= ts <= burst_at + 5 for ts, n in netfilter if n), netfilter
    assert max(ts for ts, _ in netfilter) >= burst_at + 2  # and the --after seconds past it

    # The asked file covers the last 30 s, to one interval, and nothing older.
    last = load_recording(asked, codecs())
    assert last.header["flight"]["trigger"] == "SIGUSR1"
    for tab in ("traffic", "drops", "accepts"):
        samples = last[tab]
        covered_from = samples[0].ts - samples[0].interval  # a sample covers the interval before
        covered = samples[-1].ts - covered_from
        assert WINDOW - 1 <= covered <= WINDOW + 1, (tab, covered)
        assert asked_at - WINDOW - 2 <= covered_from and samples[-1].ts <= asked_at + 1.5, tab
    assert any(s.rows for s in last["traffic"])  # the load was recorded

    # It replays, and says what made it.
    replay = subprocess.run([*NETWATCH, "top", "--batch", "--json", "--replay", str(asked)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    assert "flight recording made by SIGUSR1" in replay.stderr
    assert any(json.loads(x)["comm"] == "nw-flightload" for x in replay.stdout.splitlines())

    # Memory: flat once the window is full.
    assert rss_75 - rss_40 <= RSS_SLACK_KB, (rss_40, rss_75)
