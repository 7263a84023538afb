"""What a tab is: a name, a title, a key, a batch command, and a folder `netwatch/tabs/NAME/`
that offers the same parts under the same names. The app, the command line, `record`, `replay`
and the batch commands reach a tab only through these parts, so they name no tab themselves.

The parts each tab folder offers (tests/unit/test_tabs.py checks every folder has all of them):
  screen.py  view(ViewOptions) -> TabView            its Textual view (imports no BCC)
  live.py    for_ui(args) -> Source | str            its live source, or why this kernel cannot
             for_record(args) -> Source | str | None   run it; None: `record` was told to leave
                                                       it out
  batch.py   parser() -> ArgumentParser, command(args) -> int   `netwatch COMMAND --batch`
  codec.py   CODEC: Codec                            its records in a recording file, and the
                                                     source that replays them
  metrics.py metrics(ExportOptions) -> TabMetrics    its tables of Prometheus counters for
                                                     `netwatch export`
and, by convention, model.py (rows or events, its Sample), view_model.py (sorting and filtering),
decode.py (bytes to model values), probe.py and NAME.bpf.c. Parts are imported when first
asked for, so a batch command never loads Textual and the UI never loads a batch printer.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netwatch.export.spec import ExportOptions, TabMetrics
    from netwatch.recording.codec import Codec
    from netwatch.screens.tabview import TabView
    from netwatch.sources.base import Source


@dataclass(frozen=True, slots=True)
class ViewOptions:
    """What the command line says about the views (each takes what concerns it)."""

    live: bool = True
    max_rows: int = 10_000  # Accepts' log
    max_calls: int = 500  # Calls, per thread
    max_threads: int = 200  # Calls


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
        made: Source[Any] | str | None = self.part("live", "for_record")(args)
        return made

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
