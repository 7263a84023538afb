"""Sorting the way htop users expect (#13): F6 chooses from the tab's sort keys in a list, on
every tab; the cursor stays on its process when the order changes, and shows unmistakably which
row that is, focused or not, under NO_COLOR too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from netwatch.screens.sort_menu import SortMenu
from netwatch.screens.tabview import TabView
from netwatch.tabs.traffic.model import Counters
from netwatch.tabs.traffic.screen import TrafficView
from netwatch.tabs.traffic.view_model import WIDE_COLUMNS
from netwatch.ui.app import NetwatchApp
from tests.helpers.screens import (
    CURL,
    NGINX,
    banner,
    replay_app,
    scripted_app,
    shown_pids,
    traffic_shown,
    until_ended,
    wait_for,
)


def menu_labels(app: Any) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def highlighted(app: Any) -> str:
    options = app.screen.query_one(OptionList)
    return str(options.get_option_at_index(options.highlighted).prompt)


async def test_f6_lists_the_columns_shown_with_the_current_sort_highlighted(
    tmp_path: Path,
) -> None:
    async with traffic_shown(tmp_path, (120, 30)) as (app, pilot, _, view):
        await pilot.press("f6")
        assert isinstance(app.screen, SortMenu)
        shown = {c.id for c in view.columns}
        hidden = " (not shown at this width)"
        assert menu_labels(app) == [c.label + ("" if c.id in shown else hidden)
                                    for c in WIDE_COLUMNS]  # fmt: skip
        assert highlighted(app) == "TOT_KB"
        await pilot.press("down", "down", "enter")  # TX/s, RX/s
        assert not isinstance(app.screen, SortMenu)
        assert "sort RX/s desc" in banner(app)
        assert str(view.table.columns["rx_rate"].label) == "RX/s▼"
        assert view.table.has_focus  # back where the keys work


async def test_escape_leaves_the_sort_as_it_was(tmp_path: Path) -> None:
    async with traffic_shown(tmp_path, (80, 30)) as (app, pilot, _, _):
        await pilot.press("f6")
        # At 80 columns the narrow layout's columns, then the hidden ones, marked (#24: the
        # rates could not be sorted by at all).
        labels = menu_labels(app)
        assert [x for x in labels if "not shown" not in x] == [
            "PID",
            "DEV",
            "XMIT_KB",
            "RECV_KB",
            "TOT_KB",
            "COMMAND",
        ]
        assert "RX/s (not shown at this width)" in labels
        await pilot.press("up", "escape")
        assert not isinstance(app.screen, SortMenu)
        assert "sort TOT_KB desc" in banner(app) and shown_pids(app) == [200, 100, 300]


@pytest.mark.parametrize(
    ("tab", "labels", "pick"),
    [
        ("drops", ["total drops", "last interval", "location or name"], "sort last desc"),
        ("accepts", ["summary by count", "summary by port/address"], None),
    ],
)
async def test_f6_sorts_the_other_tabs_too(tab: str, labels: list[str], pick: str | None) -> None:
    app = replay_app(tab)
    async with app.run_test(size=(140, 40)) as pilot:
        await until_ended(pilot)
        view = app.query_one(f"#{tab}", TabView)
        before = view.current_sort()
        await pilot.press("f6")
        assert menu_labels(app) == labels
        await pilot.press("down", "enter")
        assert view.current_sort() != before
        assert view.current_sort() == [k for k, _ in view.sort_choices()][1]
        if pick is not None:
            assert pick in str(view.query_one(".tab-banner").render())


async def test_calls_threads_sort_from_the_menu(tmp_path: Path) -> None:
    from netwatch.tabs import replay_file

    calls_demo = Path(__file__).resolve().parents[1] / "data" / "calls-demo.nwrec"
    app = NetwatchApp(
        {"calls": replay_file("calls", calls_demo, speed=100)}, initial_tab="calls", replay=True
    )
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one("#calls", TabView)
        await pilot.press("f6")
        assert menu_labels(app) == ["recent activity", "call count", "total time"]
        await pilot.press("down", "down", "enter")
        assert view.current_sort() == "time"
        assert "threads by time" in str(view.query_one(".tab-banner").render())


async def test_the_cursor_follows_its_process_and_stays_in_sight_across_a_resort(
    tmp_path: Path,
) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(100, 12)) as pilot:  # room for a few rows only
        # 30 processes, then curl (the cursor's) as the one with least traffic.
        from netwatch.tabs.traffic.model import TrafficKey

        others = [(TrafficKey(1000 + i, 0, "lo", f"p{i}"), Counters(1, 1, 5000 + i, 0))
                  for i in range(30)]  # fmt: skip
        source.push((CURL, Counters(1, 1, 10, 10)), *others)
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        table = view.table
        table.move_cursor(row=table.row_count - 1)  # the last row, scrolled to
        await pilot.pause()
        assert str(table.get_row_at(table.cursor_row)[0]).strip() == "100"
        assert table.scroll_y > 0
        # Sorted by command name, curl comes first: the cursor goes with it, and the table
        # scrolls so that its row is on screen.
        await pilot.press("f6")
        await pilot.press("end", "enter")  # COMMAND, the last key
        await pilot.pause()
        assert shown_pids(app)[0] == 100
        assert table.cursor_row == 0 and str(table.get_row_at(0)[0]).strip() == "100"
        await pilot.pause(0.1)
        assert table.scroll_y == 0


@pytest.mark.parametrize("no_color", [False, True])
async def test_the_cursor_row_is_reverse_and_bold_focused_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    async with traffic_shown(tmp_path, (100, 30)) as (_, pilot, source, view):
        table = view.table
        assert table.has_focus
        style = table.get_component_rich_style("datatable--cursor")
        assert style.reverse and style.bold
        await pilot.press("slash")  # the filter box has the focus now
        assert not table.has_focus
        style = table.get_component_rich_style("datatable--cursor")
        assert style.reverse and style.bold
        await pilot.press("escape")
        # Enter opens the row the cursor is on, the one drawn reversed.
        source.push((CURL, Counters(50, 50, 20000, 20000)), (NGINX, Counters(10, 0, 9000, 0)))
        await wait_for(pilot, lambda: view.state.samples == 2)
        assert view.shown[table.cursor_row].key in (CURL, NGINX)


async def test_a_column_the_width_hides_can_still_be_sorted_by(tmp_path: Path) -> None:
    async with traffic_shown(tmp_path, (80, 30)) as (app, pilot, _, view):
        assert "rx_rate" not in {c.id for c in view.columns}
        await pilot.press("f6")
        labels = menu_labels(app)
        await pilot.press(*["down"] * (labels.index("RX/s (not shown at this width)")
                                       - labels.index(highlighted(app))), "enter")  # fmt: skip
        assert "sort RX/s desc" in banner(app)
        assert view.spec.sort == "rx_rate"
