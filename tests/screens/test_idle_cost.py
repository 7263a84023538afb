"""What keeps an idle screen cheap (issue #13: the idle TUI used 10.8% of a core): a status line
set to the text it already shows is not repainted, and one of fixed height is repainted without
a layout pass over the whole screen. bench/tui_cost measures the CPU itself."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult

from netwatch.screens.plain import PlainStatic


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
