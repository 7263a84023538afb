"""SVG snapshot tests: the picture of each state, from the committed recording (deterministic:
the replay runs to its end before the picture is taken). Update with --snapshot-update."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from netwatch.tabs import replay_file
from netwatch.tabs.calls.screen import CallsView
from netwatch.ui.app import NetwatchApp
from tests.helpers.paths import CALLS_DEMO
from tests.helpers.screens import replay_app, screen_settled, until_ended, wait_for


def test_traffic_totals_100x30(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await until_ended(pilot)
        await pilot.press("c")

    assert snap_compare(replay_app(), terminal_size=(100, 30), run_before=run_before)


def test_traffic_history_column_200x30(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # From 180 columns each row's rate over its last intervals (#26); the locale fixed, so the
    # picture has the block glyphs wherever it is taken.
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_CTYPE", raising=False)
    assert snap_compare(replay_app(), terminal_size=(200, 30), run_before=until_ended)


def test_traffic_sorted_by_recv_kb_80x24(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await until_ended(pilot)
        await pilot.press("c", "less_than_sign")  # from TOT_KB, the default, to RECV_KB

    assert snap_compare(replay_app(), terminal_size=(80, 24), run_before=run_before)


def test_help_screen(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await until_ended(pilot)
        await pilot.press("question_mark")

    assert snap_compare(replay_app(), terminal_size=(100, 32), run_before=run_before)


def test_tab_without_a_source_says_so(snap_compare: Any) -> None:
    # traffic-demo.nwrec was recorded before the Calls tab existed: it holds no calls.
    assert snap_compare(replay_app("calls"), terminal_size=(80, 24), run_before=until_ended)


def calls_app() -> NetwatchApp:
    return NetwatchApp(
        {
            "traffic": replay_file("traffic", CALLS_DEMO, speed=100),
            "calls": replay_file("calls", CALLS_DEMO, speed=100),
        },
        initial_tab="calls",
        replay=True,
    )


async def calls_ended(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, NetwatchApp)
    await wait_for(pilot, lambda: all(h.state == "ended" for h in app.health.values()))
    calls = app.query_one(CallsView)
    await wait_for(pilot, lambda: calls.drawn_samples == calls.state.samples)
    await screen_settled(pilot)


def test_calls_tree_120x40(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await calls_ended(pilot)
        await pilot.press("home")  # the first thread's first calls, not the newest

    assert snap_compare(calls_app(), terminal_size=(120, 40), run_before=run_before)


def test_calls_summary_100x30(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await calls_ended(pilot)
        await pilot.press("v", "home")

    assert snap_compare(calls_app(), terminal_size=(100, 30), run_before=run_before)


def test_drops_heatmap_by_reason_linear_80x24(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await until_ended(pilot)
        await pilot.press("g", "g", "l")

    assert snap_compare(replay_app("drops"), terminal_size=(80, 24), run_before=run_before)


def test_drops_heatmap_by_location_130x30(snap_compare: Any) -> None:
    assert snap_compare(replay_app("drops"), terminal_size=(130, 30), run_before=until_ended)


def test_accepts_log_and_summary_120x75(snap_compare: Any) -> None:
    # The log scrolls by a few rows: the thumb must sit at the bottom, by the followed newest
    # row, however late the scrollbar appeared (it sat at the top when the machine was busy).
    assert snap_compare(replay_app("accepts"), terminal_size=(120, 75), run_before=until_ended)


def test_accepts_filtered_by_family_80x30(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await until_ended(pilot)
        await pilot.press("slash", *"family:6", "enter")

    assert snap_compare(replay_app("accepts"), terminal_size=(80, 30), run_before=run_before)


def test_conns_by_retransmits_120x30(snap_compare: Any) -> None:
    assert snap_compare(replay_app("conns"), terminal_size=(120, 30), run_before=until_ended)


def test_conns_grouped_by_process_80x24(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await until_ended(pilot)
        await pilot.press("g")

    assert snap_compare(replay_app("conns"), terminal_size=(80, 24), run_before=run_before)
