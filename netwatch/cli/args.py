"""The command line's grammar: every subcommand's options, the number and name types that check
them, and the one-line error a bad argument gives (never argparse's usage dump and exit 2 from
deep inside)."""

from __future__ import annotations

import argparse

from netwatch import __version__
from netwatch.cli.types import (
    Parser,
    count,
    duration_in,
    file_path,
    pid_number,
    positive,
    speed,
    whole_number,
)
from netwatch.export.args import export_parser
from netwatch.recording.triggers import help_text
from netwatch.tabs import TAB_NAMES, trigger_measures
from netwatch.tabs import TABS as REGISTRY

TABS = TAB_NAMES


def ui_options(p: argparse.ArgumentParser) -> None:
    """What the full-screen UI takes, live or replaying: the snapshot directory, and each tab's
    own options (its options.py)."""
    p.add_argument(
        "--snapshot-dir",
        type=file_path,
        default=".",
        help="where 's' writes snapshots (default: current directory)",
    )
    for tab in REGISTRY:
        tab.add_options("ui", p)


def interval_options(p: argparse.ArgumentParser, interval_help: str) -> None:
    """The report interval (5 s by default, as the seed scripts)."""
    p.add_argument("--interval", type=positive, default=5.0, help=interval_help)


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
        type=file_path,
        metavar="FILE",
        help=f"print a recording instead of live {what} (no root needed)",
    )
    p.add_argument(
        "-T",
        "--timestamps",
        action="store_true",
        help="start each text line with the local time (HH:MM:SS.mmm) of its interval or event",
    )
    # One grammar for every batch command (#24): how long, what, and how it prints.
    p.add_argument("--count", type=count, help="stop after N intervals (reads)")
    p.add_argument("--duration", type=positive, help="stop after S seconds")
    p.add_argument(
        "--filter",
        metavar="EXPR",
        help="only what the full-screen UI's filter EXPR shows (the same language: press / on "
        "the tab, or see its keys in the README)",
    )
    p.add_argument(
        "--json", action="store_true", help="one JSON object per line (fields: docs/tabs.md)"
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
    for tab in REGISTRY:
        tab.add_options("live_ui", ui)
    return ui


def record_epilog() -> str:
    notes = [note for tab in REGISTRY if (note := tab.record_note())]
    examples = [
        ("netwatch record -o session.nwrec --duration 600", "10 minutes of every default tab"),
        *(e for tab in REGISTRY for e in tab.examples("record")),
        ("netwatch replay session.nwrec", "play it back, anywhere, no root"),
        (
            "netwatch record --ring 5m -o /var/tmp/nw/flight.nwrec --trigger 'drops>1k/s'",
            "a flight recorder: the last 5 minutes, written on the trigger or on SIGUSR1",
        ),
    ]
    width = max(len(command) for command, _ in examples)
    return (
        "sizes, measured on the test recordings:\n"
        "  ~60-120 bytes per row or event per interval: 50 busy processes with the default\n"
        "  tabs at --interval 1 write ~0.3 MB a minute.\n"
        + "".join(f"{note}\n" for note in notes)
        + "\nexamples:\n"
        + "".join(f"  {command.ljust(width)}  # {why}\n" for command, why in examples)
    )


def record_parser() -> Parser:
    on_request = [tab.title for tab in REGISTRY if tab.on_request]
    record = Parser(
        prog="netwatch record",
        description="Record a session for 'netwatch replay': every tab this kernel can run"
        + (f", and {', '.join(on_request)} when asked for (see its options)" if on_request else "")
        + ".",
        epilog=record_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    record.add_argument("-o", "--output", type=file_path, required=True, help="new file to write")
    record.add_argument(
        "--duration", type=positive, help="seconds to record (default: until Ctrl-C)"
    )
    record.add_argument("--interval", type=positive, default=1.0, help="seconds per sample")
    flight = record.add_argument_group(
        "flight recorder",
        "With --ring, keep only the last DURATION in memory (however long it runs) and write\n"
        "it as a recording, named FILE with the time added, on SIGUSR1 (kill -USR1 PID) or\n"
        "when a trigger fires. Each file's header names what made it; replay shows it.",
    )
    flight.add_argument(
        "--ring", type=duration_in(5, 86400), metavar="DURATION",
        help="seconds (or 90s, 10m, 1h) the ring keeps",
    )  # fmt: skip
    flight.add_argument(
        "--trigger", action="append", default=[], metavar="EXPR",
        help="write when EXPR holds over one interval; repeatable. EXPR: NAME>N/s or "
        f"NAME:DETAIL>N/s (k, M, G allowed: 5M/s), NAME one of: {help_text(trigger_measures())}",
    )  # fmt: skip
    flight.add_argument(
        "--after", type=duration_in(0, 3600), default=10.0, metavar="S",
        help="seconds to go on recording after a trigger before writing (default 10)",
    )  # fmt: skip
    flight.add_argument(
        "--cooldown", type=duration_in(0, 86400), default=60.0, metavar="S",
        help="seconds after a triggered file before a trigger may fire again (default 60); "
        "SIGUSR1 always writes",
    )  # fmt: skip
    flight.add_argument(
        "--keep", type=whole_number(1, 100_000), metavar="N",
        help="files this run leaves, its oldest removed first (default: all)",
    )  # fmt: skip
    for tab in REGISTRY:
        tab.add_options("record", record)
    return record


def replay_parser() -> Parser:
    replay = Parser(prog="netwatch replay", description="Open the UI on a recording, no root.")
    replay.add_argument("file", type=file_path)
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
