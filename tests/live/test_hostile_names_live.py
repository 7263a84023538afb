"""Real processes named to attack the operator's terminal, seen through the real probes: every
batch mode and the TUI's own output stream show the names escaped, never obeyed (issue #10)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from netwatch.model.untrusted import printable
from tests.live.bpf_progs import loaded_program_ids, wait_released

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]

NETWATCH = [sys.executable, "-m", "netwatch"]
# As a process names itself with prctl(PR_SET_NAME): raw bytes, at most 15 of them.
HOSTILE = [
    b"\x1b]0;pwn\x07",
    b"\x1b[31mRED",
    b"\xc2\x9b2J",
    b"a\nb\tc\rd",
    b"\x1b[2J\x1b[H",
]
SHOWN = [printable(name.decode()) for name in HOSTILE]
# What must never reach a terminal raw (Textual may itself clear the screen with ESC[2J).
RAW = [b"\x1b]0;pwn\x07", b"\x1b[31mRED", b"\xc2\x9b2J", b"a\nb\tc\rd"]

# A process that names itself, then on a line on stdin: accepts one TCP connection, sends one
# UDP datagram, and exits. Its socket calls, its traffic and its accept carry the name.
ACTOR = r"""
import ctypes, socket, sys
name = bytes.fromhex(sys.argv[1])
ctypes.CDLL(None, use_errno=True).prctl(15, ctypes.c_char_p(name), 0, 0, 0)
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
sys.stdin.readline()
conn, _ = srv.accept(); conn.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"x" * 300, ("127.0.0.1", int(sys.argv[2])))
print("done", flush=True)
"""


class Actor:
    def __init__(self, name: bytes, udp_port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ACTOR, name.hex(), str(udp_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def act(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
        assert self.proc.stdout.readline().strip() == "done"
        self.proc.wait(timeout=10)


@contextmanager
def udp_sink() -> Iterator[int]:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    try:
        yield sink.getsockname()[1]
    finally:
        sink.close()


def wait_attached(proc: subprocess.Popen[bytes], baseline: set[int]) -> None:
    deadline = time.monotonic() + 60
    while not (loaded_program_ids() - baseline):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "probe never attached"
        time.sleep(0.1)
    time.sleep(1.0)  # every program of the probe, not only the first


def settled(baseline: set[int], quiet_s: float = 2.0) -> None:
    """Until no new BPF program has been loaded for `quiet_s`: every probe compiled (they
    compile one at a time) and attached."""
    deadline = time.monotonic() + 90
    loaded, since = loaded_program_ids() - baseline, time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, "probes never settled"
        time.sleep(0.2)
        now = loaded_program_ids() - baseline
        if now != loaded:
            loaded, since = now, time.monotonic()


def assert_shown_escaped(output: bytes, what: str) -> None:
    for raw in RAW:
        assert raw not in output, f"{what}: the raw name {raw!r} reached the output"
    text = output.decode("utf-8", "replace")
    bad = {ch for ch in text if ch != "\n" and (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0)}
    assert not bad, f"{what}: raw control characters {sorted(map(repr, bad))}"
    for shown in SHOWN:
        assert shown in text, f"{what}: {shown!r} not shown"


def test_every_batch_mode_shows_hostile_names_escaped() -> None:
    baseline = loaded_program_ids()
    with udp_sink() as port:
        actors = [Actor(name, port) for name in HOSTILE]
        pids = [str(a.proc.pid) for a in actors]
        # Five probes compile one after another (BCC's compiler is not thread-safe): the first
        # attached counts on while the last compiles, so each runs long enough to see the act.
        runs = {
            "top": [*NETWATCH, "top", "--batch", "--interval", "1", "--count", "12"],
            "accepts": [*NETWATCH, "accepts", "--batch", "--duration", "12"],
            # The accepted connection's row, owned by the actor (and on --ended, its end).
            "conns": [*NETWATCH, "conns", "--batch", "--duration", "12"],
            "conns-ended": [*NETWATCH, "conns", "--batch", "--ended", "--duration", "12"],
            "calls": [*NETWATCH, "calls", "--batch", "--duration", "12"]
            + [arg for pid in pids for arg in ("--pid", pid)],
        }
        procs = {
            mode: subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for mode, argv in runs.items()
        }
        try:
            for p in procs.values():
                wait_attached(p, baseline)
            settled(baseline)  # every probe's programs: wait_attached saw the first ones
            for a in actors:
                a.act()
            outputs = {mode: p.communicate(timeout=60) for mode, p in procs.items()}
        finally:
            for p in procs.values():
                p.kill()
    for mode, (out, err) in outputs.items():
        assert_shown_escaped(out, f"{mode} --batch")
        assert not any(raw in err for raw in RAW)
    assert wait_released(baseline) == set()


def test_the_tui_stream_shows_hostile_names_escaped(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is missing: ./setup.sh installs it")
    stream = tmp_path / "tui.out"
    name = f"nwhostile{os.getpid()}"
    netwatch = str(Path(sys.executable).parent / "netwatch")
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "160",
            "-y",
            "40",
            f"{netwatch}; sleep 60",
        ],
        check=True,
    )
    try:
        subprocess.run(["tmux", "pipe-pane", "-o", "-t", name, f"cat >> {stream}"], check=True)
        deadline = time.monotonic() + 60
        while "live:" not in _pane(name):
            assert time.monotonic() < deadline, _pane(name)
            time.sleep(0.2)
        # Totals since start: a row stays on screen after its one datagram's interval.
        subprocess.run(["tmux", "send-keys", "-t", name, "c"], check=True)
        with udp_sink() as port:
            actors = [Actor(n, port) for n in HOSTILE]
            for a in actors:
                a.act()
        # The Traffic tab shows the senders once their interval is read.
        deadline = time.monotonic() + 20
        # The pane is 80 columns: an escaped name may be cut at its edge.
        while not all(s[:10] in _pane(name) for s in SHOWN):
            assert time.monotonic() < deadline, _pane(name)
            time.sleep(0.3)
        subprocess.run(["tmux", "send-keys", "-t", name, "3"], check=True)  # Accepts
        time.sleep(2)
        raw = stream.read_bytes()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    for bad in RAW:
        assert bad not in raw, f"the TUI wrote {bad!r} to the terminal raw"
    assert b"\x1b]0;pwn" not in raw  # the title was never set


def _pane(name: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True
    ).stdout
