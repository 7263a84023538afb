"""Sorting as htop users expect it (#13): the sorted column's header carries the direction, and a
click on a header sorts by it (a second click reverses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netwatch.screens.table import FilterableTable
from netwatch.tabs.traffic.screen import TrafficView
from tests.helpers.screens import banner, first_sample, scripted_app, shown_pids, wait_for


def header(view: TrafficView, column: str) -> str:
    return str(view.table.columns[column].label)  # type: ignore[index]


def header_x(table: FilterableTable, column: str) -> int:
    """The screen column, inside the table, of `column`'s header."""
    x = 0
    for key, col in table.columns.items():
        if key.value == column:
            return x + 1
        x += col.get_render_width(table)
    raise AssertionError(f"no column {column}")


async def test_the_sorted_header_shows_its_direction(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        first_sample(source)
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        assert header(view, "total_kb") == "TOT_KB▼"  # the default, most first
        await pilot.press("r")
        assert header(view, "total_kb") == "TOT_KB▲"
        await pilot.press("greater_than_sign")  # on to TX/s: the mark moves with the sort
        assert header(view, "total_kb") == "TOT_KB" and header(view, "tx_rate") == "TX/s▼"
        # Widened by the arrow's cell, so a label as wide as its column is not cut.
        for _ in range(5):  # back through TOT_KB, RECV_KB, XMIT_KB, RECV_PK to XMIT_PK
            await pilot.press("less_than_sign")
        assert header(view, "xmit_pk") == "XMIT_PK▼"
        assert view.table.columns["xmit_pk"].width >= len("XMIT_PK▼")  # type: ignore[index]


async def test_a_click_on_a_header_sorts_by_it_and_a_second_reverses(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        first_sample(source)
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        assert shown_pids(app) == [200, 100, 300]  # the default: TOT_KB
        await pilot.click(FilterableTable, offset=(header_x(view.table, "recv_pk"), 0))
        await wait_for(pilot, lambda: "sort RECV_PK desc" in banner(app))
        assert shown_pids(app) == [300, 100, 200] and header(view, "recv_pk") == "RECV_PK▼"
        await pilot.click(FilterableTable, offset=(header_x(view.table, "recv_pk"), 0))
        await wait_for(pilot, lambda: "sort RECV_PK asc" in banner(app))
        assert shown_pids(app) == [200, 100, 300]
        await pilot.click(FilterableTable, offset=(header_x(view.table, "comm"), 0))
        await wait_for(pilot, lambda: "sort COMMAND asc" in banner(app))  # names A-Z
        assert shown_pids(app) == [100, 200, 300]


@pytest.mark.parametrize("width", [80, 100, 140, 200])
async def test_command_is_never_cut_by_the_screen_and_takes_the_spare_width(
    tmp_path: Path, width: int
) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(width, 30)) as pilot:
        first_sample(source)
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        table = view.table
        pad = 2 * table.cell_padding
        used = sum(c.width + pad for c in table.columns.values())
        assert used + table.styles.scrollbar_size_vertical <= width  # nothing past the edge
        comm = table.columns["comm"].width  # type: ignore[index]
        assert comm >= 15
        # All that is left goes to COMMAND: at most the scrollbar's cells stay free.
        assert width - used - table.styles.scrollbar_size_vertical <= 1
        if width >= 140:
            assert {"uid", "tx_rate", "rx_rate", "user"} <= {k.value for k in table.columns}
        if width == 80:
            assert "user" not in {k.value for k in table.columns}
