"""What a tab is: a name, a title, a key, a batch command, and a folder `netwatch/tabs/NAME/`
that offers the same parts under the same names. The app, the command line, `record`, `replay`
and the batch commands reach a tab only through these parts, so they name no tab themselves.

The parts each tab folder offers (tests/unit/test_tabs.py checks every folder has all of them):
  screen.py  view(ViewOptions) -> TabView            its Textual view (imports no BCC)
             HELP: str                               its section of the help screen (its help.txt)
             SCREENSHOT: Screenshot                  how the README's picture of it is made
  live.py    for_ui(args) -> Source | str            its live source, or why this kernel cannot
             for_record(args) -> Source | str | None   run it; None: `record` was told to leave
                                                       it out (optional: for_ui by default)
             for_export(args) -> Source | str        the same for `export` (optional, likewise)
  batch.py   parser() -> ArgumentParser, command(args) -> int   `netwatch COMMAND --batch`
  codec.py   CODEC: Codec                            its records in a recording file, and the
                                                     source that replays them
  options.py ui, live_ui, record, export(parser)     its own options of each command, if any;
             asked_for(args) -> bool                 whether they ask for it (on-request tabs);
             RECORD_NOTE, EXAMPLES                   its lines in `record`'s and `export`'s help
             (optional, as is each name in it: a tab with no options of its own has none)
  metrics.py metrics(ExportOptions) -> TabMetrics    its tables of Prometheus counters for
                                                     `netwatch export`
  demo.py    DEMO: Demo                              its share of the demo recording (optional)
  triggers.py MEASURES: {name: Measure}              what `record --ring --trigger` may name
                                                     of it (optional)
and, by convention, model.py (rows or events, its Sample), view_model.py (sorting and filtering),
decode.py (bytes to model values), probe.py and NAME.bpf.c. Parts are imported when first
asked for, so a batch command never loads Textual and the UI never loads a batch printer.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netwatch.export.spec import ExportOptions, TabMetrics
    from netwatch.recording.codec import Codec
    from netwatch.recording.triggers import Measure
    from netwatch.screens.tabview import TabView
    from netwatch.sources.base import Source


@dataclass(frozen=True, slots=True)
class ViewOptions:
    """What the command line says about the views: `settings` holds every option given (each
    tab's options.py adds its own to the parser), and each view takes what concerns it, with
    its own defaults."""

    live: bool = True
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Screenshot:
    """How the README's picture of a tab is made (scripts/make_screenshots.py): the committed
    recording it replays (under tests/data/), the keys pressed once it has ended, the size."""

    recording: str
    keys: tuple[str, ...]
    size: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Demo:
    """A tab's share of a demo recording (scripts/make_demo_recording.py, tests/data/): what
    runs in two test namespaces while `netwatch record` records them. A command's words may
    name "{gen}" (the traffic generator, tests/traffic_gen.py), "{tcpgen}" (its TCP health
    scenarios, tests/tcp_gen.py) and "{server}" or "{server6}" (the listening side's IPv4 and
    IPv6 addresses)."""

    servers: tuple[tuple[str, ...], ...] = ()  # started first, in the listening namespace
    clients: tuple[tuple[str, ...], ...] = ()  # then these, in the other one
    nft_rules: tuple[str, ...] = ()  # rules of the listening side's input chain
    recording: str = "traffic-demo.nwrec"  # the one it adds to; tabs may share one
    record_options: tuple[str, ...] = ()  # `netwatch record`'s, for this tab
    # 0: the clients run side by side. N: one after another, N rounds, each client told "go"
    # on its stdin, so every call tree in the recording is whole and in order.
    client_rounds: int = 0


@dataclass(frozen=True, slots=True)
class Tab:
    name: str  # its folder; in the CLI, recordings, snapshot file names and widget ids
    title: str
    key: str  # switches to it
    command: str  # its batch subcommand: `netwatch COMMAND --batch`
    # Recorded and exported only when asked for: it costs the most (Calls traces every call).
    on_request: bool = False

    def part(self, module: str, name: str) -> Any:
        return getattr(import_module(f"netwatch.tabs.{self.name}.{module}"), name)

    def view(self, options: ViewOptions) -> TabView[Any]:
        made: TabView[Any] = self.part("screen", "view")(options)
        return made

    def live(self, args: argparse.Namespace) -> Source[Any] | str:
        made: Source[Any] | str = self.part("live", "for_ui")(args)
        return made

    def record_source(self, args: argparse.Namespace) -> Source[Any] | str | None:
        made: Source[Any] | str | None = self.optional_part(
            "live", "for_record", self.part("live", "for_ui")
        )(args)
        return made

    def help(self) -> str:
        made: str = self.part("screen", "HELP")
        return made

    def screenshot(self) -> Screenshot:
        made: Screenshot = self.part("screen", "SCREENSHOT")
        return made

    def demo(self) -> Demo:
        made: Demo = self.optional_part("demo", "DEMO", Demo())
        return made

    def optional_part(self, module: str, name: str, default: Any) -> Any:
        """A part a tab may leave out (its folder has no such module, or it no such name)."""
        path = f"netwatch.tabs.{self.name}.{module}"
        try:
            found = import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            return default
        return getattr(found, name, default)

    def add_options(self, command: str, parser: argparse.ArgumentParser) -> None:
        """Its own options for `command`: "ui" (live or replaying), "live_ui", "record" or
        "export"; a tab with none has no options.py."""
        self.optional_part("options", command, lambda parser: None)(parser)

    def asked_for(self, args: argparse.Namespace) -> bool:
        asked: bool = self.optional_part("options", "asked_for", lambda args: False)(args)
        return asked

    def record_note(self) -> str:
        note: str = self.optional_part("options", "RECORD_NOTE", "")
        return note

    def examples(self, command: str) -> tuple[tuple[str, str], ...]:
        made: tuple[tuple[str, str], ...] = self.optional_part("options", "EXAMPLES", {}).get(
            command, ()
        )
        return made

    def export_source(self, args: argparse.Namespace) -> Source[Any] | str:
        made: Source[Any] | str = self.optional_part(
            "live", "for_export", self.part("live", "for_ui")
        )(args)
        return made

    def triggers(self) -> dict[str, Measure]:
        """What a flight recorder's --trigger may name of this tab (its triggers.py)."""
        offered: Mapping[str, Measure] = self.optional_part("triggers", "MEASURES", {})
        return {name: replace(m, tab=self.name) for name, m in offered.items()}

    def batch_parser(self) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = self.part("batch", "parser")()
        return made

    def batch(self, args: argparse.Namespace) -> int:
        code: int = self.part("batch", "command")(args)
        return code

    def metrics(self, options: ExportOptions) -> TabMetrics:
        made: TabMetrics = self.part("metrics", "metrics")(options)
        return made

    def codec(self) -> Codec:
        codec: Codec = self.part("codec", "CODEC")
        return codec
