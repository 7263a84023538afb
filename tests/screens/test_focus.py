"""Keys work whatever has focus (#13): Tab and Shift-Tab move between tabs instead of taking the
focus off the table, a click on the tab bar gives it back to the view, and `? Help` is in the
footer at 80 columns on every tab."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from textual.widgets import Input

from netwatch.screens.table import FilterableTable
from netwatch.screens.tabview import TabView
from netwatch.tabs import TAB_NAMES, replay_file
from netwatch.ui.app import NetwatchApp
from tests.helpers.paths import DEMO
from tests.helpers.screens import wait_for


def demo_app(tab: str = "traffic") -> NetwatchApp:
    return NetwatchApp(
        {t: replay_file(t, DEMO, speed=100) for t in TAB_NAMES}, initial_tab=tab, replay=True
    )


def last_line(app: NetwatchApp) -> str:
    texts = re.findall(r"<text[^>]*>(.*?)</text>", app.export_screenshot())
    screen = html.unescape("".join(texts)).replace("\xa0", " ")
    return screen[-80:]


def shown_view(app: NetwatchApp) -> TabView[Any]:
    view = app.view(app._active_tab())
    assert view is not None
    return view


@pytest.mark.parametrize("tab", TAB_NAMES)
async def test_help_and_quit_are_in_the_footer_at_80_columns(tab: str) -> None:
    app = demo_app(tab)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "? Help" in last_line(app))
        footer = last_line(app)
        assert "? Help" in footer and "q Quit" in footer, footer
        assert "palette" not in footer


async def test_tab_and_shift_tab_move_between_tabs_and_the_keys_keep_working() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        seen = [app._active_tab()]
        for _ in TAB_NAMES:
            await pilot.press("tab")
            await pilot.pause(0.05)
            seen.append(app._active_tab())
            assert isinstance(app.focused, FilterableTable)
            assert app.focused in shown_view(app).query(FilterableTable)
        assert seen == [*TAB_NAMES, TAB_NAMES[0]]
        await pilot.press("shift+tab")
        await pilot.pause(0.05)
        assert app._active_tab() == TAB_NAMES[-1]
        view = shown_view(app)
        assert not view.paused
        await pilot.press("p")  # a view's own key, right after moving with Tab
        assert view.paused


async def test_a_click_on_the_tab_bar_leaves_the_keys_with_the_view() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        await pilot.click("#--content-tab-tab-drops")
        await wait_for(pilot, lambda: app._active_tab() == "drops")
        view = shown_view(app)
        await wait_for(pilot, lambda: app.focused is view.table)
        await pilot.press("p")
        assert view.paused


async def test_tab_in_the_filter_box_does_not_switch_tabs() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.focused, Input))
        await pilot.press("tab")
        await pilot.pause(0.05)
        assert app._active_tab() == "traffic" and isinstance(app.focused, Input)


async def test_tab_in_the_help_screen_leaves_the_tabs_alone() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press("tab")
        await pilot.pause(0.05)
        assert app._active_tab() == "traffic" and len(app.screen_stack) == 2
