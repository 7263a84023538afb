"""The Calls tab's own command-line options: what the view keeps, how deep the probe follows
a call, and (since it costs the most) how `record` and `export` are asked for it and narrow it
in the kernel."""

from __future__ import annotations

import argparse

from netwatch.cli.types import comm_name, count, pid_number
from netwatch.tabs.calls.model import DEFAULT_MAX_CALLS, DEFAULT_MAX_THREADS, FUNCTION_MODES

RECORD_NOTE = """\
  Calls adds ~140 bytes per call event (each call is an enter and an exit, and its
  events inside): a dozen HTTP clients' connections in 5 s made 51 KB, while an
  unfiltered busy host writes hundreds of MB a minute (41 MB in 10 s was measured),
  which is why Calls is recorded only when asked for."""

EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "record": (("netwatch record -o nginx.nwrec --calls-comm nginx", "and nginx's socket calls"),),
    "export": (("netwatch export --tabs traffic,calls --calls-comm nginx", "nginx's calls too"),),
}


def functions_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--functions",
        choices=FUNCTION_MODES,
        default="auto",
        help="Calls: follow net/socket.c's functions inside each call by fentry, by kprobes, "
        "or not at all (default auto: fentry, else kprobes, else none; the banner says which)",
    )


def ui(p: argparse.ArgumentParser) -> None:
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


def live_ui(p: argparse.ArgumentParser) -> None:
    functions_option(p)


def record(p: argparse.ArgumentParser) -> None:
    calls = p.add_mutually_exclusive_group()
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
    thread_options(p, "calls-")
    functions_option(p)


def export(p: argparse.ArgumentParser) -> None:
    thread_options(p, "calls-")


def asked_for(args: argparse.Namespace) -> bool:
    """--calls-pid/--calls-tid/--calls-comm ask for the Calls tab, in `record` and `export`."""
    return bool(args.calls_pid or args.calls_tid or args.calls_comm)


def thread_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """Which threads the Calls probe traces, chosen in the kernel (all given must match)."""
    ids = pid_number()
    for name, kind, help_text in (
        ("pid", ids, "trace this process's threads"),
        ("tid", ids, "trace this thread"),
        ("comm", comm_name, "trace threads with this exact command name"),
    ):
        short = ["-p"] if name == "pid" and not prefix else []  # as every batch command's -p
        p.add_argument(
            *short,
            f"--{prefix}{name}",
            type=kind,
            action="append",
            default=[],
            metavar=name.upper(),
            help=f"{help_text} (repeatable)",
        )
