"""The command line's grammar: every subcommand's options, the number and name types that check
them, and the one-line error a bad argument gives (never argparse's usage dump and exit 2 from
deep inside)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from netwatch import __version__
from netwatch.model.calls import DEFAULT_MAX_CALLS, DEFAULT_MAX_THREADS
from netwatch.model.filter import is_number
from netwatch.probes.calls import DEFAULT_RINGBUF_MB
from netwatch.probes.calls_functions import MODES as FUNCTION_MODES
from netwatch.tabs import TAB_NAMES

TABS = TAB_NAMES
EXIT_USAGE = 2
EXIT_FAILED = 1


class CliError(Exception):
    """Stops the command with one line on stderr and a non-zero exit."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _number_in(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """An argparse type: a number from `low` to `high`, or a one-line error saying which."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low:g} to {high:g}{unit})")
        return value

    return parse


_positive = _number_in(0.05, 3600, " seconds")
_speed = _number_in(0.01, 1000)


def _whole(low: int, high: int, what: str = "") -> Callable[[str], int]:
    """An argparse type: ASCII digits making a number from `low` to `high` (argparse shows
    the error in one line; int() alone would take '²' or 5,000 digits)."""

    def parse(text: str) -> int:
        if not is_number(text) or len(text) > len(str(high)):
            raise argparse.ArgumentTypeError(
                f"'{text[:24]}' is not a whole number from {low} to {high}{what}"
            )
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"'{value}' is not a whole number from {low} to {high}{what}"
            )
        return value

    return parse


def _pid_max() -> int:
    """The kernel's highest pid: a larger --pid or --tid could never match, and would be cut
    to 32 bits on its way into the probe's map."""
    try:
        return int(Path("/proc/sys/kernel/pid_max").read_text())
    except (OSError, ValueError):
        return 4_194_304  # PID_MAX_LIMIT on 64-bit kernels


_count = _whole(1, 10**9)
MAX_RINGBUF_MB = 256  # the buffer and its mapping: about twice this in RSS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message}")


def _ui_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--snapshot-dir",
        type=Path,
        default=Path("."),
        help="where 's' writes snapshots (default: current directory)",
    )
    p.add_argument(
        "--max-rows",
        type=_count,
        default=10_000,
        help="accepted connections kept in the Accepts log, oldest dropped first (default 10000)",
    )
    p.add_argument(
        "--max-calls",
        type=_count,
        default=DEFAULT_MAX_CALLS,
        help=f"calls kept per thread in the Calls tab, oldest dropped first "
        f"(default {DEFAULT_MAX_CALLS})",
    )
    p.add_argument(
        "--max-threads",
        type=_count,
        default=DEFAULT_MAX_THREADS,
        help=f"threads kept in the Calls tab, least recently active dropped first "
        f"(default {DEFAULT_MAX_THREADS})",
    )


def _thread_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """Which threads the Calls probe traces, chosen in the kernel (all given must match)."""
    ids = _whole(1, _pid_max(), " (the kernel's pid_max)")
    for name, kind, help_text in (
        ("pid", ids, "trace this process's threads"),
        ("tid", ids, "trace this thread"),
        ("comm", _comm, "trace threads with this exact command name"),
    ):
        p.add_argument(
            f"--{prefix}{name}",
            type=kind,
            action="append",
            default=[],
            metavar=name.upper(),
            help=f"{help_text} (repeatable)",
        )


def _interval_options(p: argparse.ArgumentParser, interval_help: str) -> None:
    """The report interval (5 s by default, as the seed scripts) and how many reports."""
    p.add_argument("--interval", type=_positive, default=5.0, help=interval_help)
    p.add_argument("--count", type=_count, help="stop after N intervals")


def _functions_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--functions",
        choices=FUNCTION_MODES,
        default="auto",
        help="Calls: follow net/socket.c's functions inside each call by fentry, by kprobes, "
        "or not at all (default auto: fentry, else kprobes, else none; the banner says which)",
    )


def _comm(text: str) -> str:
    if not text or len(text.encode()) > 15:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a command name (1 to 15 bytes, as the kernel keeps it)"
        )
    return text


def _batch_parser(name: str, description: str, what: str) -> _Parser:
    """What every batch subcommand takes: --batch (required) and --replay FILE."""
    p = _Parser(prog=f"netwatch {name}", description=description)
    p.add_argument(
        "--batch",
        action="store_true",
        required=True,
        help="print to stdout instead of the full-screen UI (required)",
    )
    p.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help=f"print a recording instead of live {what} (no root needed)",
    )
    return p


def ui_parser() -> _Parser:
    ui = _Parser(
        prog="netwatch",
        description="Full-screen network monitor on eBPF tracepoints. "
        "Subcommands: top, drops, accepts, calls (each --batch), record, replay "
        "(see 'netwatch SUBCOMMAND --help').",
    )
    ui.add_argument("tab", nargs="?", choices=TABS, default="traffic", help="tab to open on")
    ui.add_argument("--interval", type=_positive, default=1.0, help="refresh seconds (default 1)")
    ui.add_argument("--version", action="version", version=f"netwatch {__version__}")
    _ui_options(ui)
    _functions_option(ui)
    return ui


def top_parser() -> _Parser:
    top = _batch_parser("top", "Per-process traffic, printed like top -b.", "traffic")
    _interval_options(top, "seconds per table (default 5, as nettop.stp)")
    top.add_argument("--json", action="store_true", help="one JSON object per row per interval")
    return top


def drops_parser() -> _Parser:
    drops = _batch_parser(
        "drops", "Where the kernel drops packets, printed like dropwatch.stp.", "drops"
    )
    _interval_options(drops, "seconds per report (default 5, as dropwatch.stp)")
    drops.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per location, reason and protocol per interval",
    )
    return drops


def accepts_parser() -> _Parser:
    accepts = _batch_parser(
        "accepts", "Accepted TCP connections as they happen, like tcp_connections.stp.", "accepts"
    )
    accepts.add_argument("--duration", type=_positive, help="stop after S seconds")
    accepts.add_argument("--json", action="store_true", help="one JSON object per accept")
    return accepts


def calls_parser() -> _Parser:
    calls = _batch_parser(
        "calls",
        "Socket-layer calls per thread, printed like socket-trace.stp "
        "(`<us> <comm>(<tid>): -> call`, `<- call = result (duration)`, `* event` inside).",
        "calls",
    )
    _thread_options(calls)
    calls.add_argument("--duration", type=_positive, help="stop after S seconds")
    calls.add_argument("--json", action="store_true", help="one JSON object per line printed")
    _functions_option(calls)
    calls.add_argument(
        "--buffer-mb",
        type=_whole(1, MAX_RINGBUF_MB),
        help=f"ring buffer size in MiB, a power of two up to {MAX_RINGBUF_MB} "
        f"(default {DEFAULT_RINGBUF_MB}; live only)",
    )
    return calls


def record_parser() -> _Parser:
    record = _Parser(prog="netwatch record", description="Record a session for 'netwatch replay'.")
    record.add_argument("-o", "--output", type=Path, required=True, help="new file to write")
    record.add_argument(
        "--duration", type=_positive, help="seconds to record (default: until Ctrl-C)"
    )
    record.add_argument("--interval", type=_positive, default=1.0, help="seconds per sample")
    record.add_argument(
        "--no-calls",
        action="store_true",
        help="leave out the Calls tab (its probe streams one record per socket call)",
    )
    _thread_options(record, "calls-")
    _functions_option(record)
    return record


def replay_parser() -> _Parser:
    replay = _Parser(prog="netwatch replay", description="Open the UI on a recording, no root.")
    replay.add_argument("file", type=Path)
    replay.add_argument("tab", nargs="?", choices=TABS, default="traffic")
    replay.add_argument(
        "--speed", type=_speed, default=1.0, help="play faster (2 = twice as fast) or slower (0.5)"
    )
    _ui_options(replay)
    return replay


def build_parser() -> dict[str, argparse.ArgumentParser]:
    """The UI's parser, each tab's batch command's (from the registry), record's and replay's."""
    from netwatch.tabs import TABS as REGISTRY

    return {
        "ui": ui_parser(),
        **{tab.command: tab.batch_parser() for tab in REGISTRY},
        "record": record_parser(),
        "replay": replay_parser(),
    }
