"""`netwatch record`: every tab's live source, read through the one read loop and written to a
new recording file, or with --ring kept in a flight recorder's ring and written out when asked
or triggered."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netwatch.cli.batch import counting_signals, stop_on_signals
from netwatch.cli.types import EXIT_FAILED, CliError
from netwatch.host.journal import tell_journal
from netwatch.model.untrusted import printable
from netwatch.recording.file import RecordingWriteError, RecordingWriter, create_new_file
from netwatch.recording.flight import FlightOptions, FlightRecorder, Written
from netwatch.recording.triggers import TriggerError, parse_trigger
from netwatch.sources.base import Source, SourceError
from netwatch.sources.live import require_live
from netwatch.sources.opening import open_sources
from netwatch.sources.runner import run
from netwatch.tabs import TABS, codecs, trigger_measures


def cmd_record(args: argparse.Namespace) -> int:
    flight = _flight_options(args)
    require_live()
    wanted = {tab.name: tab.record_source(args) for tab in TABS}
    sources: dict[str, Source[Any]] = {
        tab: s for tab, s in wanted.items() if s is not None and not isinstance(s, str)
    }
    left_out = {tab: why for tab, why in wanted.items() if isinstance(why, str)}
    if not sources:
        raise CliError("netwatch: nothing to record: " + "; ".join(left_out.values()))
    if flight is not None:
        missing = {t.measure.tab for t in flight.triggers} - set(sources)
        if missing:
            raise CliError(
                f"netwatch: a trigger needs the {', '.join(sorted(missing))} tab, which is not "
                "recorded here: " + "; ".join(left_out.get(tab, "") for tab in sorted(missing))
            )
    for why in left_out.values():
        print(f"netwatch: not recording: {why}", file=sys.stderr)
    if flight is not None:
        return _fly(args, sources, flight)
    return _record(args, sources)


def _record(args: argparse.Namespace, sources: dict[str, Source[Any]]) -> int:
    try:
        stream = create_new_file(args.output)
    except FileExistsError:
        raise CliError(
            f"netwatch: {args.output} already exists; recordings never overwrite"
        ) from None
    except OSError as exc:
        raise CliError(f"netwatch: cannot create {args.output}: {exc.strerror}") from exc
    writer = RecordingWriter(stream, codecs(*sources), args.output)
    intervals = 0
    first = next(iter(sources))

    def write(tab: str, sample: Any) -> None:
        nonlocal intervals
        writer.write(tab, sample)
        intervals += tab == first  # each tick reads every tab once

    try:
        _read_all(args, sources, write, f"recording to {args.output} (Ctrl-C to stop)")
    except RecordingWriteError as exc:
        raise CliError(
            f"netwatch: recording stopped: {exc}; the {intervals} intervals before it replay",
            EXIT_FAILED,
        ) from exc
    finally:
        writer.close()
    print(f"netwatch: wrote {intervals} intervals to {args.output}", file=sys.stderr)
    return 0


def _read_all(
    args: argparse.Namespace,
    sources: dict[str, Source[Any]],
    deliver: Callable[[str, Any], None],
    started: str,
    after_tick: Callable[[], None] = lambda: None,
) -> None:
    """Open the sources, then read them every interval until --duration or a signal."""
    with stop_on_signals() as should_stop:
        try:
            open_sources(sources, should_stop)
            # The probes compiled one after another, so each has counted since a different
            # moment; a read now, not kept, starts every tab's first interval on the same
            # tick, and the samples come a steady interval apart from the first.
            warm_up = time.monotonic()
            for source in sources.values():
                source.read()
            print(f"netwatch: {started}", file=sys.stderr)
            deadline = None if args.duration is None else time.monotonic() + args.duration

            def over() -> bool:
                return should_stop() or (deadline is not None and time.monotonic() >= deadline)

            run(sources, deliver, interval=args.interval, should_stop=over, since=warm_up,
                after_tick=after_tick)  # fmt: skip
        except RecordingWriteError:
            raise  # the caller says how many intervals were written before it
        except SourceError as exc:
            raise CliError(f"netwatch: {exc}", EXIT_FAILED) from exc
        finally:
            for source in sources.values():
                source.close()


# ---- the flight recorder ----------------------------------------------------------------------
def _flight_options(args: argparse.Namespace) -> FlightOptions | None:
    """--ring's options checked before any probe loads; None without --ring."""
    if args.ring is None:
        given = [o for o, v in (("--trigger", args.trigger), ("--keep", args.keep)) if v]
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise CliError(f"netwatch record: {' and '.join(given)} {verb} --ring DURATION")
        return None
    measures = trigger_measures()
    try:
        triggers = [parse_trigger(text, measures) for text in args.trigger]
    except TriggerError as exc:
        raise CliError(f"netwatch record: {printable(str(exc))}") from None
    folder = args.output.parent
    if not folder.is_dir():
        raise CliError(f"netwatch record: {folder} is not a directory (the files go there)")
    return FlightOptions(
        window=args.ring, output=args.output, triggers=triggers, after=args.after,
        cooldown=args.cooldown, keep=args.keep or 0,
    )  # fmt: skip


def _tell(written: Written) -> None:
    line = (
        f"netwatch: flight recording written to {written.path}: {written.seconds:.0f} s, "
        f"{written.records} records; made by {written.why}"
    )
    print(printable(line), file=sys.stderr, flush=True)
    tell_journal(line)


def _fly(args: argparse.Namespace, sources: dict[str, Source[Any]], options: FlightOptions) -> int:
    recorder = FlightRecorder(options, codecs(*sources))
    failed: list[str] = []

    def write_out() -> None:
        try:
            _tell(recorder.write(time.monotonic()))
        except OSError as exc:  # a full disk, a folder gone: the ring goes on
            line = f"netwatch: flight recording not written: {exc.strerror or exc}"
            print(printable(line), file=sys.stderr, flush=True)
            tell_journal(line)
            failed.append(line)

    with counting_signals(signal.SIGUSR1) as usr1:
        seen = 0  # the times SIGUSR1 was taken

        def asked() -> bool:
            nonlocal seen
            count = usr1()
            fresh, seen = count > seen, count
            return fresh

        def take(tab: str, sample: Any) -> None:
            recorder.take(tab, sample, time.monotonic())

        def after_tick() -> None:
            now = time.monotonic()
            if asked():
                recorder.ask(now)
            if recorder.due(now):
                write_out()

        triggers = ", ".join(t.text for t in options.triggers) or "none"
        started = (
            f"flight recorder: keeping the last {options.window:g} s of "
            f"{', '.join(sources)}; SIGUSR1 (kill -USR1 {os.getpid()}) writes "
            f"{_pattern(options.output)}; triggers: {triggers} (Ctrl-C to stop)"
        )
        _read_all(args, sources, take, started, after_tick)
        if asked():
            recorder.ask(time.monotonic())
        if recorder.pending is not None:  # a trigger's --after cut short by the stop
            write_out()
    return EXIT_FAILED if failed else 0


def _pattern(output: Path) -> str:
    return str(output.with_name(f"{output.stem}-YYYYmmddTHHMMSS{output.suffix or '.nwrec'}"))
