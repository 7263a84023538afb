"""End to end: the real `netwatch` in tmux, keys sent with send-keys, the screen read back."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.load import udp_loop_on_loopback
from tests.helpers.paths import ROOT
from tests.live.bpf_progs import loaded_program_ids, wait_released

pytestmark = [pytest.mark.e2e, pytest.mark.live, pytest.mark.usefixtures("live_bpf")]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_screen(session: str, cond: Callable[[str], bool], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = screen(session)
        if cond(text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"screen never matched:\n{text}")
        time.sleep(0.2)


@pytest.fixture
def session() -> Iterator[str]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is missing: ./setup.sh installs it")
    name = f"nwe2e{os.getpid()}"
    netwatch = str(Path(sys.executable).parent / "netwatch")
    tmux(
        "new-session",
        "-d",
        "-s",
        name,
        "-x",
        "110",
        "-y",
        "30",
        f"cd {ROOT} && {netwatch}; echo NETWATCH-EXIT=$?; sleep 120",
    )
    try:
        yield name
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def test_netwatch_in_tmux_shows_the_generator_filters_and_quits_cleanly(session: str) -> None:
    baseline = loaded_program_ids()
    wait_screen(session, lambda s: "live:" in s)
    gen = udp_loop_on_loopback(20)
    try:
        text = wait_screen(session, lambda s: "nw-e2e-gen" in s)
        assert str(gen.pid) in text
        tmux("send-keys", "-t", session, "/", "comm:nw-e2e", "Enter")
        text = wait_screen(session, lambda s: "filter 'comm:nw-e2e'" in s and "nw-e2e-gen" in s)
        rows = [line for line in text.splitlines() if line.strip()[:1].isdigit()]
        assert rows and all("nw-e2e-gen" in r for r in rows), text
        tmux("send-keys", "-t", session, "p")
        wait_screen(session, lambda s: "PAUSED" in s)
        tmux("send-keys", "-t", session, "q")
        text = wait_screen(session, lambda s: "NETWATCH-EXIT=" in s)
    finally:
        gen.kill()
        gen.wait()
    assert "NETWATCH-EXIT=0" in text
    # The terminal is restored: the full-screen UI is gone from the visible screen.
    assert "Traffic  Calls" not in text
    assert wait_released(baseline) == set()


def test_ssh_drop_sighup_detaches_the_probes(session: str) -> None:
    baseline = loaded_program_ids()
    wait_screen(session, lambda s: "live:" in s)
    assert loaded_program_ids() - baseline
    tmux("kill-session", "-t", session)  # the pty closes: netwatch gets SIGHUP, as on SSH drop
    assert wait_released(baseline, timeout=30) == set(), "probes still loaded after SIGHUP"


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_quit_cleanly_and_detach(session: str, how: str) -> None:
    baseline = loaded_program_ids()
    wait_screen(session, lambda s: "live:" in s)
    assert loaded_program_ids() - baseline
    if how == "ctrl-c":
        tmux("send-keys", "-t", session, "C-c")
    else:
        pane_pid = tmux("display", "-p", "-t", session, "#{pane_pid}").strip()
        child = subprocess.run(
            ["pgrep", "-P", pane_pid, "-f", "netwatch"], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        subprocess.run(["kill", "-TERM", child], check=True)
    text = wait_screen(session, lambda s: "NETWATCH-EXIT=" in s)
    assert "NETWATCH-EXIT=0" in text and "Traceback" not in text
    assert "Traffic  Calls" not in text  # the terminal is back to the shell
    assert wait_released(baseline) == set()


def calls_links() -> int:
    """The Calls probe's attachments: raw tracepoint links on sys_enter (one per instance)."""
    import json

    out = subprocess.run(
        ["bpftool", "-j", "link", "show"], capture_output=True, text=True, check=True
    ).stdout
    return sum(
        1
        for link in json.loads(out)
        if link.get("type") == "raw_tracepoint" and link.get("tp_name") == "sys_enter"
    )


def test_calls_probe_is_attached_only_while_its_tab_is_shown(session: str) -> None:
    baseline_links = calls_links()
    baseline = loaded_program_ids()
    wait_screen(session, lambda s: "live:" in s and "calls off" in s)
    assert calls_links() == baseline_links  # compiled, not attached
    tmux("send-keys", "-t", session, "2")
    wait_screen(session, lambda s: "calls on" in s)
    assert calls_links() == baseline_links + 1
    tmux("send-keys", "-t", session, "1")
    wait_screen(session, lambda s: "calls off" in s)
    assert calls_links() == baseline_links
    tmux("send-keys", "-t", session, "2")
    wait_screen(session, lambda s: "calls on" in s)
    tmux("send-keys", "-t", session, "q")
    text = wait_screen(session, lambda s: "NETWATCH-EXIT=" in s)
    assert "NETWATCH-EXIT=0" in text
    assert calls_links() == baseline_links
    assert wait_released(baseline) == set()


# Any SGR that sets a colour: 30-37/90-97 and 40-47/100-107, or 38;/48; (256 and truecolor).
COLOUR_SGR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|4[0-7]|9[0-7]|10[0-7]|[34]8;[0-9;]+)m")


def test_no_color_means_no_colour_codes_at_all(tmp_path: Path) -> None:
    # no-color.org: with NO_COLOR set, no colour; emphasis by bold, reverse, underline only.
    # Textual's own answer to NO_COLOR turns colours into greys (256-colour codes): #24.
    name = f"nwnocolor{os.getpid()}"
    netwatch = str(Path(sys.executable).parent / "netwatch")
    demo = ROOT / "tests" / "data" / "traffic-demo.nwrec"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "30",
         f"NO_COLOR=1 {netwatch} replay {demo}; sleep 60")  # fmt: skip
    try:
        wait_screen(name, lambda s: "backup-agent" in s)
        for key in ("", "4"):  # the Traffic tab, then Drops (its heatmap's levels)
            if key:
                tmux("send-keys", "-t", name, key)
                wait_screen(name, lambda s: "LOCATION" in s)
            time.sleep(0.5)
            painted = tmux("capture-pane", "-e", "-p", "-t", name)
            assert "\x1b[" in painted  # emphasis is still there (bold, reverse)
            assert COLOUR_SGR.findall(painted) == [], COLOUR_SGR.findall(painted)[:5]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
