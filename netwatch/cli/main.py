"""Command line: the TUI, the batch commands, `record`, `replay`, `export`. Errors: one line,
no traceback."""

from __future__ import annotations

import argparse
import io
import os
import sys
from typing import Any

from netwatch.cli.args import build_parser
from netwatch.cli.batch import read_recording
from netwatch.cli.record import cmd_record
from netwatch.cli.types import EXIT_FAILED, CliError
from netwatch.model.untrusted import printable
from netwatch.probes.loader import compiling, stop_compiling
from netwatch.recording.clock import ReplayClock
from netwatch.recording.flight import flight_note
from netwatch.sources.base import Source, SourceError
from netwatch.sources.live import require_live
from netwatch.sources.opening import Stopped
from netwatch.tabs import TABS, ViewOptions, replay
from netwatch.ui.crashlog import keep_log, terminal_aside, traceback_in
from netwatch.ui.terminal import (
    ExitGuard,
    close_within,
    end_now,
    exit_on_signals,
)

BATCH_COMMANDS = {tab.command: tab for tab in TABS}
SUBCOMMANDS = (*BATCH_COMMANDS, "record", "replay", "export")
PROBE_CLOSE_S = 1.5  # detaching takes milliseconds; past this a probe is still compiling


def cmd_ui(
    tab: str,
    sources: dict[str, Source[Any]],
    args: argparse.Namespace,
    replay: bool,
    unavailable: dict[str, str] | None = None,
    replay_clock: ReplayClock | None = None,
    notes: tuple[str, ...] = (),
) -> int:
    from netwatch.ui.app import NetwatchApp

    if not args.snapshot_dir.is_dir():
        what = "is not a directory" if args.snapshot_dir.exists() else "does not exist"
        raise CliError(f"netwatch: snapshot directory {args.snapshot_dir} {what}")
    app = NetwatchApp(
        sources,
        initial_tab=tab,
        snapshot_dir=args.snapshot_dir,
        replay=replay,
        view_options=ViewOptions(settings=vars(args)),
        unavailable=unavailable,
        replay_clock=replay_clock,
        notes=notes,
    )
    app.exit_guard = ExitGuard(2)
    app.leaving = stop_compiling
    probes = list(sources.values())
    with terminal_aside(app.request_exit) as log, exit_on_signals(app.request_exit):
        try:
            app.run()
        finally:
            stop_compiling()
            if compiling():
                # LLVM cannot be stopped and the process must not finalize under it; a
                # compile takes a second or more, so leave now (end_now, below): the kernel
                # releases whatever the probes attached when their descriptors close.
                all_closed = False
            else:
                all_closed = close_within([p.close for p in probes], PROBE_CLOSE_S)
                all_closed = app.wait_workers(PROBE_CLOSE_S) and all_closed
        crashed = app.return_code not in (0, None) and not app.fatal_error
        kept = keep_log(log) if crashed or app.fatal_error else None
        traceback = traceback_in(log) if crashed else ""
    code = 0
    message = ""
    if crashed:
        code = EXIT_FAILED
        sys.stderr.write(traceback)
        where = f" (kept in {kept})" if kept else ""
        message = f"netwatch: the UI stopped on an internal error; traceback above{where}"
    elif app.fatal_error:
        code = EXIT_FAILED
        more = f" (compiler output in {kept})" if kept else ""
        message = f"netwatch: {app.fatal_error}{more}"
    if not all_closed:
        if message:
            print(printable(message), file=sys.stderr)
        end_now(code)
    if message:
        raise CliError(message, code)
    return code


def text_out_never_fails() -> None:
    """Batch text goes out in the terminal's own encoding, whatever it is: a character it
    cannot hold is written as a backslash escape. Under ISO-8859-1 or PYTHONIOENCODING=ascii,
    one process named `über✓名` used to end `top -b` with UnicodeEncodeError, so any local user
    could stop root's pipeline."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def _tab_opened(argv: list[str], parsers: dict[str, argparse.ArgumentParser]) -> str | None:
    """The tab `netwatch WORD ...` opens the UI on, if it does: WORD is a tab's name or its batch
    command's (`netwatch drops`, `netwatch top`), and nothing after it asks for the batch
    command (-b, --json, -p, its help...), which takes the same word."""
    tab = next((t for t in TABS if argv[0] in (t.name, t.command)), None)
    if tab is None:
        return None
    ui_options = set(parsers["ui"]._option_string_actions)
    # Its help too: `netwatch drops --help` is where the batch command's options are told.
    batch_only = set(parsers[tab.command]._option_string_actions) - ui_options | {"-h", "--help"}
    for arg in argv[1:]:
        word = arg.split("=")[0]
        if word in batch_only or (arg[:1] == "-" and arg[1:2] != "-" and arg[:2] in batch_only):
            return None
    return tab.name


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text_out_never_fails()
    parsers = build_parser()
    try:
        opened = _tab_opened(argv, parsers) if argv else None
        if opened is not None:
            argv = [opened, *argv[1:]]
        elif argv and argv[0] in SUBCOMMANDS:
            args = parsers[argv[0]].parse_args(argv[1:])
            if argv[0] in BATCH_COMMANDS:
                return BATCH_COMMANDS[argv[0]].batch(args)
            if argv[0] == "record":
                return cmd_record(args)
            if argv[0] == "export":
                from netwatch.export.args import with_tabs_asked_for
                from netwatch.export.command import cmd_export

                return cmd_export(with_tabs_asked_for(args))
            rec = read_recording(args.file)
            # One clock for every tab: the replay's keys pause, step and seek them together.
            clock = ReplayClock(speed=args.speed)
            # The first tab always (its pane says when the recording holds none); the others
            # when the recording has them.
            replayed: dict[str, Source[Any]] = {
                tab.name: replay(tab.name, rec.samples(tab.name), args.file, clock=clock)
                for tab in TABS
                if tab is TABS[0] or rec.count(tab.name)
            }
            note = flight_note(rec.header)
            return cmd_ui(args.tab, replayed, args, replay=True, replay_clock=clock,
                          notes=(note,) if note else ())  # fmt: skip
        args = parsers["ui"].parse_args(argv)
        require_live()
        tabs: dict[str, Source[Any] | str] = {tab.name: tab.live(args) for tab in TABS}
        unavailable = {tab: why for tab, why in tabs.items() if isinstance(why, str)}
        if len(unavailable) == len(tabs):
            raise CliError("netwatch: no tab can run here: " + "; ".join(unavailable.values()))
        live = {tab: s for tab, s in tabs.items() if not isinstance(s, str)}
        return cmd_ui(args.tab, live, args, replay=False, unavailable=unavailable)
    except CliError as exc:
        print(printable(str(exc)), file=sys.stderr)  # it may quote a path or a recording
        return exc.code
    except SourceError as exc:  # a recording found corrupt when its first sample is read
        print(printable(f"netwatch: {exc}"), file=sys.stderr)
        return EXIT_FAILED
    except Stopped:
        # A signal while the probes opened: the command has closed what was open. A compile
        # still running must not be waited for, nor finalized under.
        print("netwatch: stopped while the probes were starting", file=sys.stderr)
        if compiling():
            end_now(0)
        return 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining
        # again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
