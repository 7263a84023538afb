"""The tabs, in one place: each one's name, title, key and view. The app, the status line and
the help are built from this list and name no tab themselves.

Views are made through factories that import their screen only when called, so a batch command
that reads this list never loads Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netwatch.screens.tabview import TabView


@dataclass(frozen=True, slots=True)
class ViewOptions:
    """What the command line says about the views (each takes what concerns it)."""

    live: bool = True
    max_rows: int = 10_000  # Accepts' log
    max_calls: int = 500  # Calls, per thread
    max_threads: int = 200  # Calls


@dataclass(frozen=True, slots=True)
class Tab:
    name: str  # in the CLI, recordings, snapshot file names and widget ids
    title: str
    key: str  # switches to it
    view: Callable[[ViewOptions], TabView]


def _traffic(o: ViewOptions) -> TabView:
    from netwatch.screens.traffic import TrafficView

    return TrafficView(live=o.live)


def _calls(o: ViewOptions) -> TabView:
    from netwatch.screens.calls import CallsView

    return CallsView(max_calls=o.max_calls, max_threads=o.max_threads, live=o.live)


def _accepts(o: ViewOptions) -> TabView:
    from netwatch.screens.accepts import AcceptsView

    return AcceptsView(max_rows=o.max_rows, live=o.live)


def _drops(o: ViewOptions) -> TabView:
    from netwatch.screens.drops import DropsView

    return DropsView(live=o.live)


# In the order of the tab bar. Adding a tab: its model, probe and screen, then a line here.
TABS: tuple[Tab, ...] = (
    Tab("traffic", "Traffic", "1", _traffic),
    Tab("calls", "Calls", "2", _calls),
    Tab("accepts", "Accepts", "3", _accepts),
    Tab("drops", "Drops", "4", _drops),
)
TAB_NAMES = tuple(t.name for t in TABS)
BY_NAME = {t.name: t for t in TABS}
