"""The command line's grammar: every subcommand's options, the number and name types that check
them, and the one-line error a bad argument gives (never argparse's usage dump and exit 2 from
deep inside)."""

from __future__ import annotations

import argparse
from pathlib import Path

from netwatch import __version__
from netwatch.cli.types import Parser, count, pid_number, positive, speed, thread_options
from netwatch.export.args import export_parser
from netwatch.tabs import TAB_NAMES
from netwatch.tabs import TABS as REGISTRY
from netwatch.tabs.calls.model import DEFAULT_MAX_CALLS, DEFAULT_MAX_THREADS
from netwatch.tabs.calls.probe_functions import MODES as FUNCTION_MODES

TABS = TAB_NAMES


def ui_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--snapshot-dir",
        type=Path,
        default=Path("."),
        help="where 's' writes snapshots (default: current directory)",
    )
    p.add_argument(
        "--max-rows",
        type=count,
        default=10_000,
        help="accepted connections kept in the Accepts log, oldest dropped first (default 10000)",
    )
    p.add_argument(
        "--max-calls",
        type=count,
        default=DEFAULT_MAX_CALLS,
        help=f"calls kept per thread in the Calls tab, oldest dropped first "
        f"(default {DEFAULT_MAX_CALLS})",
    )
    p.add_argument(
        "--max-threads",
        type=count,
        default=DEFAULT_MAX_THREADS,
        help=f"threads kept in the Calls tab, least recently active dropped first "
        f"(default {DEFAULT_MAX_THREADS})",
    )


def interval_options(p: argparse.ArgumentParser, interval_help: str) -> None:
    """The report interval (5 s by default, as the seed scripts) and how many reports."""
    p.add_argument("--interval", type=positive, default=5.0, help=interval_help)
    p.add_argument("--count", type=count, help="stop after N intervals")


def functions_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--functions",
        choices=FUNCTION_MODES,
        default="auto",
        help="Calls: follow net/socket.c's functions inside each call by fentry, by kprobes, "
        "or not at all (default auto: fentry, else kprobes, else none; the banner says which)",
    )


def batch_parser(
    name: str, description: str, what: str, examples: tuple[tuple[str, str], ...]
) -> Parser:
    """What every batch subcommand takes: -b/--batch (required), --replay FILE, -T, and an
    epilog of examples (`netwatch NAME` without -b opens the full-screen UI instead)."""
    width = max(len(command) for command, _ in examples)
    epilog = "examples:\n" + "".join(
        f"  {command.ljust(width)}  # {why}\n" for command, why in examples
    )
    p = Parser(
        prog=f"netwatch {name}",
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-b",
        "--batch",
        action="store_true",
        required=True,
        help="print to stdout instead of the full-screen UI (required; without it, "
        f"'netwatch {name}' opens the UI)",
    )
    p.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help=f"print a recording instead of live {what} (no root needed)",
    )
    p.add_argument(
        "-T",
        "--timestamps",
        action="store_true",
        help="start each text line with the local time (HH:MM:SS.mmm) of its interval or event",
    )
    return p


def pid_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "-p",
        "--pid",
        type=pid_number(),
        action="append",
        default=[],
        metavar="PID",
        help=f"only {what} of this process (repeatable)",
    )


def ui_parser() -> Parser:
    ui = Parser(
        prog="netwatch",
        description="Full-screen network monitor on eBPF tracepoints. "
        f"Subcommands: {', '.join(t.command for t in REGISTRY)} (each -b/--batch prints to "
        "stdout; without it, each opens this UI on its tab), record, replay, export "
        "(see 'netwatch SUBCOMMAND --help').",
    )
    ui.add_argument("tab", nargs="?", choices=TABS, default=TABS[0], help="tab to open on")
    ui.add_argument(
        "--interval",
        type=positive,
        default=1.0,
        help="refresh seconds (default 1: a screen is watched; the batch commands print every "
        "5 s by default, as nettop.stp and dropwatch.stp did, since their output is read later)",
    )
    ui.add_argument("--version", action="version", version=f"netwatch {__version__}")
    ui_options(ui)
    functions_option(ui)
    return ui


RECORD_SIZES = """sizes, measured on the test recordings:
  ~60-120 bytes per row or accept per interval: 50 busy processes with their drops
  and accepts at --interval 1 write ~0.3 MB a minute.
  Calls adds ~140 bytes per call event (each call is an enter and an exit, and its
  events inside): a dozen HTTP clients' connections in 5 s made 51 KB, while an
  unfiltered busy host writes hundreds of MB a minute (41 MB in 10 s was measured),
  which is why Calls is recorded only when asked for.

examples:
  netwatch record -o session.nwrec --duration 600      # 10 minutes of traffic, drops, accepts
  netwatch record -o nginx.nwrec --calls-comm nginx    # and nginx's socket calls
  netwatch replay session.nwrec                        # play it back, anywhere, no root
"""


def record_parser() -> Parser:
    record = Parser(
        prog="netwatch record",
        description="Record a session for 'netwatch replay': Traffic, Drops and Accepts, and "
        "Calls when asked for (--calls, or narrowed by --calls-pid/--calls-tid/--calls-comm).",
        epilog=RECORD_SIZES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    record.add_argument("-o", "--output", type=Path, required=True, help="new file to write")
    record.add_argument(
        "--duration", type=positive, help="seconds to record (default: until Ctrl-C)"
    )
    record.add_argument("--interval", type=positive, default=1.0, help="seconds per sample")
    calls = record.add_mutually_exclusive_group()
    calls.add_argument(
        "--calls",
        action="store_true",
        help="record the Calls tab too, every thread's socket calls (see the sizes below)",
    )
    calls.add_argument(
        "--no-calls",
        action="store_true",
        help="leave out the Calls tab (the default, unless a --calls-* option asks for it)",
    )
    thread_options(record, "calls-")
    functions_option(record)
    return record


def replay_parser() -> Parser:
    replay = Parser(prog="netwatch replay", description="Open the UI on a recording, no root.")
    replay.add_argument("file", type=Path)
    replay.add_argument("tab", nargs="?", choices=TABS, default=TABS[0])
    replay.add_argument(
        "--speed", type=speed, default=1.0, help="play faster (2 = twice as fast) or slower (0.5)"
    )
    ui_options(replay)
    return replay


def build_parser() -> dict[str, argparse.ArgumentParser]:
    """The UI's parser, each tab's batch command's (from the registry), record's and replay's."""
    return {
        "ui": ui_parser(),
        **{tab.command: tab.batch_parser() for tab in REGISTRY},
        "record": record_parser(),
        "replay": replay_parser(),
        "export": export_parser(),
    }
