"""`netwatch replay` as a player (#13): Space pauses every tab, `.` and `,` step one interval,
`[ ]` and `{ }` seek 10 s and a minute, `( )` change the speed, and a position bar shows where
the replay is. The recording is tests/data/traffic-demo.nwrec: 6 samples a second apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from netwatch.recording.clock import ReplayClock
from netwatch.recording.file import open_recording
from netwatch.screens.replay_bar import KEYS, ReplayBar, bar_line
from netwatch.tabs import codecs, replay_file
from netwatch.tabs.drops.screen import DropsView
from netwatch.tabs.traffic.screen import TrafficView
from netwatch.ui.app import NetwatchApp
from tests.helpers.paths import DEMO
from tests.helpers.screens import status, wait_for

TABS = ("traffic", "drops", "accepts")


@asynccontextmanager
async def player(
    speed: float = 1.0, size: tuple[int, int] = (120, 30)
) -> AsyncIterator[tuple[NetwatchApp, Pilot[None], ReplayClock]]:
    clock = ReplayClock(speed=speed)
    sources = {tab: replay_file(tab, DEMO, clock=clock) for tab in TABS}
    app = NetwatchApp(sources, replay=True, replay_clock=clock)
    async with app.run_test(size=size) as pilot:
        yield app, pilot, clock


def seen(app: NetwatchApp) -> tuple[int, int]:
    return app.query_one(TrafficView).state.samples, app.query_one(DropsView).state.samples


def bar(app: NetwatchApp) -> str:
    return str(app.query_one(ReplayBar).render())


async def test_space_pauses_every_tab_and_the_bar_and_status_say_so() -> None:
    async with player() as (app, pilot, clock):
        await wait_for(pilot, lambda: seen(app) >= (1, 1))
        await pilot.press("space")
        assert clock.paused
        await pilot.pause(0.3)
        held = seen(app)
        await pilot.pause(1.5)  # more than a recorded interval
        assert seen(app) == held
        assert bar(app).startswith("❚❚ x1") and status(app).startswith("PAUSED")
        await pilot.press("p")  # p too
        assert not clock.paused
        await wait_for(pilot, lambda: seen(app)[0] > held[0])


async def test_step_moves_every_tab_one_sample_forward_and_back() -> None:
    async with player(speed=0.125) as (app, pilot, clock):
        await wait_for(pilot, lambda: seen(app) == (1, 1))
        await pilot.press("space")
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: seen(app) == (2, 2))
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: seen(app) == (3, 3))
        await pilot.press("comma")  # back one: the views start over, up to there
        await wait_for(pilot, lambda: seen(app) == (2, 2))
        assert clock.paused


async def test_seeking_forward_and_back_rebuilds_the_views_state() -> None:
    count = open_recording(DEMO, codecs()).count("traffic")
    async with player(speed=0.125) as (app, pilot, clock):  # slow: only the keys move it
        await wait_for(pilot, lambda: seen(app) == (1, 1))
        await pilot.press("right_square_bracket")  # +10 s: past the end, all at once
        await wait_for(pilot, lambda: seen(app) == (count, count))
        assert clock.ended and bar(app).startswith("■")
        totals = app.query_one(TrafficView).state.totals
        await pilot.press("left_curly_bracket")  # -1 min: back to the start
        await wait_for(pilot, lambda: seen(app) == (1, 1))
        await pilot.press("right_curly_bracket")  # +1 min: the end again
        await wait_for(pilot, lambda: seen(app) == (count, count))
        # Rebuilt from the recording, the totals are what they were, not counted twice.
        assert app.query_one(TrafficView).state.totals == totals


async def test_speed_keys_change_the_speed_shown() -> None:
    async with player() as (app, pilot, clock):
        await pilot.press("right_parenthesis", "right_parenthesis")
        assert clock.speed == 4.0
        await pilot.press("left_parenthesis", "left_parenthesis", "left_parenthesis")
        assert clock.speed == 0.5
        await wait_for(pilot, lambda: " x1/2 " in bar(app))


async def test_the_keys_type_into_the_filter_box_instead() -> None:
    async with player(speed=0.125) as (app, pilot, clock):
        await pilot.press("slash", *"p.[ ]", "escape")
        assert not clock.paused and clock.rewinds == 0 and clock.speed == 0.125
        await pilot.press("slash", *"comm:p", "enter")
        assert app.query_one(TrafficView).filter_text() == "comm:p"
        assert not isinstance(app.focused, Input)


async def test_a_live_session_has_no_bar_and_space_pauses_the_view() -> None:
    from tests.helpers.screens import first_sample, scripted_app

    app, source = scripted_app(Path("."))
    async with app.run_test(size=(100, 30)) as pilot:
        first_sample(source)
        assert not app.query(ReplayBar)
        await pilot.press("space")
        assert app.query_one(TrafficView).paused


def test_the_bar_fits_its_width_and_keeps_the_keys_where_there_is_room() -> None:
    clock = ReplayClock()
    clock.cover(1000.0, 1600.0, 1.0)
    clock.seek(150)
    clock.toggle_pause()
    for width in (40, 78, 118, 200):
        line = bar_line(clock, width)
        assert len(line) <= width
        assert line.startswith("❚❚ x1 ") and " 2:30/10:00 " in line
        assert (KEYS in line) == (width >= 100)
    wide = bar_line(clock, 200)
    inside = wide[wide.index("[") + 1 : wide.index("]")]
    assert abs(inside.index("╸") / len(inside) - 0.25) < 0.02  # a quarter of the way
