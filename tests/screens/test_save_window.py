"""The TUI keeps its last minutes (#26): `W` saves every tab's samples it was shown as a
recording that replays, and replaying a flight recording says on the status line what made
it."""

from __future__ import annotations

from pathlib import Path

from netwatch.recording.clock import ReplayClock
from netwatch.recording.file import load_recording, open_recording
from netwatch.recording.flight import flight_note
from netwatch.tabs import codecs, replay_file
from netwatch.tabs.traffic.screen import TrafficView
from netwatch.ui.app import NetwatchApp
from tests.helpers.paths import DEMO
from tests.helpers.screens import status, wait_for

TABS = ("traffic", "drops", "accepts")


async def test_w_saves_what_the_screen_was_shown_as_a_recording_that_replays(
    tmp_path: Path,
) -> None:
    original = load_recording(DEMO, codecs(*TABS))
    every = sum(len(original[tab]) for tab in TABS)
    clock = ReplayClock(speed=8.0)
    sources = {tab: replay_file(tab, DEMO, clock=clock) for tab in TABS}
    app = NetwatchApp(sources, replay=True, replay_clock=clock, snapshot_dir=tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        # The replay's end, and every sample it played shown (they arrive as messages).
        await wait_for(pilot, lambda: clock.ended and len(app.window) == every, timeout=20)
        shown = app.query_one(TrafficView).state.samples
        await pilot.press("W")
        await wait_for(pilot, lambda: app.last_window is not None, timeout=10)
    saved = app.last_window
    assert saved is not None and saved.parent == tmp_path
    assert saved.name.startswith("netwatch-window-") and saved.suffix == ".nwrec"
    assert saved.stat().st_mode & 0o777 == 0o600
    got = load_recording(saved, codecs(*TABS))
    assert len(got["traffic"]) == shown == len(original["traffic"])
    for tab in TABS:  # the same samples, in order, as the recording they came from
        assert [s.ts for s in got[tab]] == [s.ts for s in original[tab]]
        assert got[tab] == original[tab]
    assert "the W key" in str(flight_note(got.header))


async def test_w_before_anything_arrived_says_so_and_writes_nothing(tmp_path: Path) -> None:
    app = NetwatchApp({}, replay=True, snapshot_dir=tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("W")
        await pilot.pause(0.3)
    assert app.last_window is None and list(tmp_path.iterdir()) == []


async def test_a_flight_recordings_trigger_shows_on_the_status_line(tmp_path: Path) -> None:
    rec = open_recording(DEMO, codecs())
    header = {**rec.header, "flight": {"trigger": "drops:NETFILTER_DROP>100/s (measured 812/s)",
                                       "fired": 1796623045.0}}  # fmt: skip
    note = flight_note(header)
    assert note is not None
    sources = {"traffic": replay_file("traffic", DEMO)}
    app = NetwatchApp(sources, replay=True, notes=(note,))
    async with app.run_test(size=(200, 30)) as pilot:
        await wait_for(pilot, lambda: "drops:NETFILTER_DROP>100/s" in status(app))
        assert "flight recording made by drops:NETFILTER_DROP>100/s" in status(app)
