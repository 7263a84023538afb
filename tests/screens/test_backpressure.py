"""A probe faster than the UI (the Calls tab on a busy host) must not queue samples without
bound: keys stay answered, memory stays flat, and what was lost is on the status line (#10)."""

from __future__ import annotations

import time
from pathlib import Path

from textual import events
from textual.widgets import Static

from netwatch.sources.base import Health
from netwatch.tabs.calls.model import CallsSample
from netwatch.tabs.calls.screen import CallsView
from netwatch.ui.app import NetwatchApp
from tests.helpers.calls import call
from tests.helpers.screens import wait_for
from tests.screens.scripted import ScriptedSource

EVENTS_PER_SAMPLE = 6_000


class FloodingCalls:
    """Returns a large sample at once on every read, with losses, as fast as it is asked."""

    interval = 0.0

    def __init__(self) -> None:
        self.reads = 0
        self.lost_reported = 0

    def open(self) -> None:
        pass

    def read(self) -> CallsSample:
        self.reads += 1
        base = self.reads * 10.0
        events = []
        for i in range(EVENTS_PER_SAMPLE // 3):
            events += call("sendto", base + i * 1e-3, tid=100 + i % 50, pid=100 + i % 50, fd="3")
        self.lost_reported += 7
        return CallsSample(base, 0.1, tuple(events), lost=7)

    def close(self) -> None:
        pass

    def health(self) -> Health:
        return Health("attached", "flooding")

    def suspend(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def set_threads(self, *args: object) -> None:
        pass


async def test_a_flooding_probe_waits_for_the_ui_and_keys_stay_answered(tmp_path: Path) -> None:
    flood = FloodingCalls()
    app = NetwatchApp(
        {"traffic": ScriptedSource(), "calls": flood},
        initial_tab="calls",
        snapshot_dir=tmp_path,
        replay=True,
    )
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(CallsView)
        await wait_for(pilot, lambda: view.state.samples >= 3)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            # Never more than the one sample being shown, and the one read after it.
            assert flood.reads - view.state.samples <= 2
            await pilot.pause(0.05)
        # The key goes in as a terminal's would, and is timed to when its action runs (Pilot's
        # press would also wait for the screen to fall idle, which a flood never lets it).
        acted: list[float] = []
        fold = view.action_fold

        def timed_fold() -> None:
            acted.append(time.monotonic())
            fold()

        view.action_fold = timed_fold  # type: ignore[method-assign]
        sent = time.monotonic()
        assert app._driver is not None
        app._driver.send_message(events.Key("v", "v"))
        await wait_for(pilot, lambda: bool(acted), timeout=5)
        latency = acted[0] - sent
        assert latency < 0.5, f"the key took {latency:.2f} s to act"
        # Every loss the probe reported is on the status line, whichever sample carried it.
        await wait_for(pilot, lambda: view.state.samples >= 5)
        app.query_one(CallsView).action_pause()  # hold the count still to read it
        await pilot.pause(0.3)
        shown = view.state.samples
        status = str(app.query_one("#status", Static).render())
        assert view.state.lost == 7 * shown
        assert f"lost {7 * shown}" in status
    assert flood.reads - view.state.samples <= 2


async def test_a_health_change_after_the_views_children_are_gone_is_not_a_crash(
    tmp_path: Path,
) -> None:
    """CI once saw the flood test above fail as the app left: a probe's HealthChanged reached a
    view whose banner had already been removed, and query_one raised NoMatches."""
    app = NetwatchApp(
        {"traffic": ScriptedSource(), "calls": FloodingCalls()},
        initial_tab="calls",
        snapshot_dir=tmp_path,
        replay=True,
    )
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(CallsView)
        await view.query(".tab-banner").remove()
        view.set_banner("live: a late health change")  # raised NoMatches before
        await pilot.pause(0.2)  # the flood's own health changes meet no banner either
        assert app.return_code is None  # still running, no exception
