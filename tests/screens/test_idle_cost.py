"""What keeps an idle screen cheap (issue #13: the idle TUI used 10.8% of a core): a status line
set to the text it already shows is not repainted, and one of fixed height is repainted without
a layout pass over the whole screen. bench/tui_cost.py measures the CPU itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult

from netwatch.screens.plain import PlainStatic
from netwatch.tabs.traffic.model import Counters
from tests.helpers.screens import CURL, NGINX, first_sample, traffic_shown, wait_for


class Lines(App[None]):
    def compose(self) -> ComposeResult:
        yield PlainStatic("", id="fixed", fixed_height=True)
        yield PlainStatic("", id="free")


def count_refreshes(widget: PlainStatic) -> list[bool]:
    """The `layout` argument of each refresh the widget asks for."""
    asked: list[bool] = []
    original = widget.refresh

    def refresh(*args: Any, layout: bool = False, **kwargs: Any) -> Any:
        asked.append(layout)
        return original(*args, layout=layout, **kwargs)

    widget.refresh = refresh  # type: ignore[method-assign]
    return asked


@pytest.mark.parametrize(
    "text",
    # A hostile name is escaped before the comparison: the same name is the same line.
    ["LIVE | interval 1s | traffic on", "curl\x1b[2J"],
)
async def test_a_status_line_set_to_the_same_text_is_not_repainted(text: str) -> None:
    async with Lines().run_test() as pilot:
        line = pilot.app.query_one("#fixed", PlainStatic)
        asked = count_refreshes(line)
        for _ in range(3):
            line.update(text)
        assert asked == [False]
        line.update("PAUSED | interval 1s | traffic on")
        assert asked == [False, False]
        await pilot.pause()
        assert "PAUSED" in str(line.render())


async def test_only_a_line_of_free_height_asks_for_a_layout_pass() -> None:
    async with Lines().run_test() as pilot:
        fixed = count_refreshes(pilot.app.query_one("#fixed", PlainStatic))
        free = count_refreshes(pilot.app.query_one("#free", PlainStatic))
        pilot.app.query_one("#fixed", PlainStatic).update("one")
        pilot.app.query_one("#free", PlainStatic).update(["one", "two"])
        assert fixed == [False]
        assert free == [True]


async def test_an_interval_that_changes_nothing_leaves_the_table_untouched(tmp_path: Path) -> None:
    """DataTable draws every visible row again after any update or sort: the same counts
    again (an idle host) must not cost one."""
    async with traffic_shown(tmp_path, (120, 30)) as (_, pilot, source, view):
        table = view.table
        touched: list[str] = []
        update_cell, sort = table.update_cell, table.sort

        def counted_update(*args: Any, **kwargs: Any) -> None:
            touched.append("update")
            update_cell(*args, **kwargs)

        def counted_sort(*args: Any, **kwargs: Any) -> Any:
            touched.append("sort")
            return sort(*args, **kwargs)

        table.update_cell = counted_update  # type: ignore[method-assign]
        table.sort = counted_sort  # type: ignore[method-assign]
        first_sample(source)  # the very same rows and counts
        await wait_for(pilot, lambda: view.state.samples == 2)
        assert touched == []
        source.push((CURL, Counters(1, 1, 90000, 100)), (NGINX, Counters(10, 0, 9000, 0)))
        await wait_for(pilot, lambda: view.state.samples == 3)
        assert "update" in touched and "sort" in touched  # curl's bytes, and it moves up
