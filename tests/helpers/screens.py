"""Driving the app with Pilot: waiting for a condition, reading the banner and status line,
and the apps the screen tests start from (a scripted Traffic source, the demo replayed)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from netwatch.recording.file import open_recording
from netwatch.tabs import TAB_NAMES, codecs, replay_file
from netwatch.tabs.traffic.model import Counters, TrafficKey
from netwatch.tabs.traffic.screen import TrafficView
from netwatch.ui.app import NetwatchApp
from tests.helpers.paths import DEMO
from tests.screens.scripted import ScriptedSource

CURL = TrafficKey(100, 0, "eth0", "curl")


NGINX = TrafficKey(200, 0, "eth0", "nginx")


REDIS = TrafficKey(300, 0, "lo", "redis")


async def wait_for(pilot: Pilot[None], cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


def banner(app: NetwatchApp) -> str:
    return str(app.query_one(TrafficView).query_one(".tab-banner", Static).render())


def status(app: NetwatchApp) -> str:
    return str(app.query_one("#status", Static).render())


def scripted_app(tmp_path: Path) -> tuple[NetwatchApp, ScriptedSource]:
    source = ScriptedSource()
    return NetwatchApp({"traffic": source}, snapshot_dir=tmp_path, replay=True), source


@asynccontextmanager
async def traffic_shown(
    tmp_path: Path, size: tuple[int, int]
) -> AsyncIterator[tuple[NetwatchApp, Pilot[None], ScriptedSource, TrafficView]]:
    """The Traffic tab at `size` with first_sample's three rows drawn."""
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        first_sample(source)
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        yield app, pilot, source, view


def first_sample(source: ScriptedSource) -> None:
    source.push(
        (CURL, Counters(1, 1, 2048, 100)),
        (NGINX, Counters(10, 0, 9000, 0)),
        (REDIS, Counters(0, 5, 0, 500)),
    )


def recorded_tabs(path: Path = DEMO) -> list[str]:
    """The registered tabs `path` holds samples of, in tab-bar order."""
    recording = open_recording(path, codecs())
    try:
        return [t for t in TAB_NAMES if recording.count(t)]
    finally:
        recording.close()


def replay_app(tab: str = "traffic") -> NetwatchApp:
    """The app replaying every tab the demo recording holds, fast."""
    return NetwatchApp(
        {name: replay_file(name, DEMO, speed=100) for name in recorded_tabs()},
        initial_tab=tab,
        replay=True,
    )


async def until_ended(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, NetwatchApp)
    # Every tab's replay has run to its end: the picture no longer depends on timing.
    await wait_for(pilot, lambda: all(h.state == "ended" for h in app.health.values()))
    assert set(app.health) == set(recorded_tabs())
    await screen_settled(pilot)


async def screen_settled(pilot: Pilot[Any], timeout: float = 10.0) -> None:
    """Until the picture stops changing: scrolling to the followed row, and a scrollbar that
    showed while rows arrived, land refreshes later, and how much later depends on the load."""
    await pilot.wait_for_scheduled_animations()
    deadline = time.monotonic() + timeout
    last = pilot.app.export_screenshot()
    steady = 0
    while steady < 3:
        if time.monotonic() > deadline:
            raise AssertionError("the screen kept changing")
        await pilot.pause(0.05)
        now = pilot.app.export_screenshot()
        steady = steady + 1 if now == last else 0
        last = now


def shown_pids(app: NetwatchApp) -> list[int]:
    table = app.query_one(TrafficView).table
    return [
        int(str(table.get_row_at(i)[0]).strip().replace("-", "-1")) for i in range(table.row_count)
    ]
