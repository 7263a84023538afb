"""The tabs, in one place: each one's name, title, key, view, live source, and batch command.
The app, the status line, the TUI's sources and the command line are built from this list and
name no tab themselves.

Everything is made through factories that import what they need only when called, so a batch
command that reads this list never loads Textual, and the UI never loads a batch printer.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netwatch.screens.tabview import TabView
    from netwatch.sources import Source

# A tab's live source for the TUI from the command line's options, or why it cannot run here.
LiveFactory = Callable[[argparse.Namespace], "Source[Any] | str"]


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
    live: LiveFactory
    command: str  # its batch subcommand: `netwatch COMMAND --batch`
    batch_parser: Callable[[], argparse.ArgumentParser]
    batch: Callable[[argparse.Namespace], int]


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


def _traffic_live(a: argparse.Namespace) -> Source[Any] | str:
    from netwatch.live_sources import live_traffic_source

    return live_traffic_source(a.interval)


def _calls_live(a: argparse.Namespace) -> Source[Any] | str:
    from netwatch.live_sources import live_calls_source
    from netwatch.probes.calls import CALLS_READ_INTERVAL

    # Read more often than drawn: a busy thread's records are decoded in small batches.
    return live_calls_source(
        min(a.interval, CALLS_READ_INTERVAL),
        start_suspended=True,
        keep_last=a.max_calls,
        functions=a.functions,
    )


def _accepts_live(a: argparse.Namespace) -> Source[Any] | str:
    from netwatch.live_sources import live_accepts_source

    return live_accepts_source(a.interval)


def _drops_live(a: argparse.Namespace) -> Source[Any] | str:
    from netwatch.live_sources import live_drops_source

    return live_drops_source(a.interval)


def _parser(name: str) -> Callable[[], argparse.ArgumentParser]:
    def make() -> argparse.ArgumentParser:
        from netwatch import cli_args

        made: argparse.ArgumentParser = getattr(cli_args, f"{name}_parser")()
        return made

    return make


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from netwatch import commands

        code: int = getattr(commands, f"cmd_{name}")(args)
        return code

    return run


# In the order of the tab bar. Adding a tab: its model, probe and screen, then a line here.
TABS: tuple[Tab, ...] = (
    Tab("traffic", "Traffic", "1", _traffic, _traffic_live, "top", _parser("top"), _command("top")),
    Tab("calls", "Calls", "2", _calls, _calls_live, "calls", _parser("calls"), _command("calls")),
    Tab("accepts", "Accepts", "3", _accepts, _accepts_live, "accepts", _parser("accepts"),
        _command("accepts")),
    Tab("drops", "Drops", "4", _drops, _drops_live, "drops", _parser("drops"), _command("drops")),
)  # fmt: skip
TAB_NAMES = tuple(t.name for t in TABS)
BY_NAME = {t.name: t for t in TABS}
