"""What every batch command shares: the read loop with its signals, the recording or live
source it reads, and the one-line errors. Each tab's own command is its batch.py
(netwatch/tabs/NAME/batch.py)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from netwatch.cli.types import EXIT_FAILED, CliError
from netwatch.host.netns import this_machines_netns
from netwatch.model.filter import FilterError
from netwatch.model.untrusted import printable
from netwatch.recording.checks import MAX_ITEMS_PER_RECORD
from netwatch.recording.file import RecordingFile, open_recording
from netwatch.recording.flight import flight_note
from netwatch.sources.base import Source, SourceError
from netwatch.sources.live import available, require_live
from netwatch.sources.opening import open_sources
from netwatch.sources.runner import run
from netwatch.tabs import codecs, replay

T = TypeVar("T")


@contextmanager
def counting_signals(*sigs: signal.Signals) -> Iterator[Callable[[], int]]:
    """How many times the signals came, for the read loop to look at (a handler does no more)."""
    raised = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        raised += 1

    previous = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield lambda: raised
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], bool]]:
    """Ctrl-C, SIGTERM and SIGHUP (an SSH drop) end the loop cleanly instead of killing us."""
    with counting_signals(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as count:
        yield lambda: count() > 0


def run_batch(
    source: Source[T],
    count: int | None,
    emit: Callable[[T], None],
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Read once per interval and hand each sample to `emit`, until `count`, the source's end,
    or `should_stop` (a signal)."""

    def take(_: str, sample: Any) -> None:
        if sample.cut:
            print(f"netwatch: {sample.cut} items of an oversized record not replayed (at most "
                  f"{MAX_ITEMS_PER_RECORD:,} a record)", file=sys.stderr)  # fmt: skip
        emit(sample)

    run({"batch": source}, take, interval=source.interval, should_stop=should_stop,
        count=count)  # fmt: skip


def read_recording(path: Path) -> RecordingFile:
    """The recording indexed for streaming; its warnings (a cut last record) on stderr."""
    try:
        recording = open_recording(path, codecs())
    except SourceError as exc:
        raise CliError(f"netwatch: {exc}") from exc
    for warning in recording.warnings:
        print(f"netwatch: warning: {printable(warning)}", file=sys.stderr)
    note = flight_note(recording.header)
    if note:
        print(f"netwatch: {note}", file=sys.stderr)
    return recording


def replayed_or_live(args: argparse.Namespace, tab: str, live: Callable[[], Any]) -> Any:
    """--replay FILE's samples of `tab`, printed as fast as they come; else the live source
    (after the checks every live command makes), or the one line saying why it cannot run."""
    if args.replay is not None:
        replayed = replay(tab, read_recording(args.replay).samples(tab), args.replay)
        replayed.interval = 0.0
        return replayed
    require_live()
    return available(live())


def intervals_in(duration: float | None, source: Source[Any]) -> int | None:
    """--duration as a count of the source's reads; None for no limit, or a replay (interval
    0: it plays as fast as it can, to its end)."""
    if duration is None or not source.interval:
        return None
    return max(1, round(duration / source.interval))


def stop_after(args: argparse.Namespace, source: Source[Any]) -> int | None:
    """How many reads a batch command takes: --count, or --duration's worth, whichever is
    fewer; None for no limit."""
    limits = [n for n in (args.count, intervals_in(args.duration, source)) if n is not None]
    return min(limits, default=None)


def parsed_filter(args: argparse.Namespace, parse: Callable[[str], T]) -> T | None:
    """--filter EXPR by the tab's own parser (the UI's); a bad one is a one-line error."""
    if not args.filter:
        return None
    try:
        # Names are this machine's: a replay's namespaces are another's, by inode.
        return parse(args.filter if args.replay is not None else this_machines_netns(args.filter))
    except FilterError as exc:
        raise CliError(f"netwatch: bad --filter: {exc}") from exc


def batch_command(
    source: Source[T],
    count: int | None,
    emit: Callable[[T], None],
    announce: str | Callable[[], str] = "",
) -> int:
    """`announce` goes to stderr once the source is open (for a probe: attached); a callable
    is asked then, for what only the open probe knows."""
    with stop_on_signals() as should_stop:
        try:
            open_sources({"batch": source}, should_stop)
            line = announce() if callable(announce) else announce
            if line:
                print(printable(line), file=sys.stderr, flush=True)
            run_batch(source, count, emit, should_stop=should_stop)
        except SourceError as exc:
            raise CliError(f"netwatch: {exc}", EXIT_FAILED) from exc
        finally:
            source.close()
    return 0


def warn_lost(lost: int, what: str) -> None:
    """Lost events and uncounted packets are said, never silently dropped: on stderr, so the
    printed rows stay parseable."""
    if lost:
        print(f"netwatch: {lost} {what}", file=sys.stderr)


STAMP_WIDTH = len("HH:MM:SS.mmm")


@dataclass(frozen=True, slots=True)
class Output:
    """How a batch command prints: JSON lines or the classic text, the time on each text line
    (-T), and only some processes (-p)."""

    json: bool = False
    timestamps: bool = False
    pids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, args: argparse.Namespace, pids: Iterable[int] = ()) -> Output:
        """`pids`: the processes -p keeps, where the source does not choose them already."""
        if args.json and args.timestamps:
            raise CliError('netwatch: --timestamps is for text output; JSON lines carry "ts"')
        return cls(args.json, args.timestamps, frozenset(pids))

    def wants(self, pid: int) -> bool:
        return not self.pids or pid in self.pids

    def text(self, ts: float, lines: str) -> str:
        """`lines` (each ending in a newline), each but the blank ones after the time of `ts`
        when -T asked for it."""
        if not self.timestamps:
            return lines
        stamp = time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d} "
        return "".join(stamp + line if line.strip() else line for line in lines.splitlines(True))

    def header(self, line: str) -> str:
        """A column header printed before the rows: -T's column named over the times."""
        return ("TIME".ljust(STAMP_WIDTH) + " " + line) if self.timestamps else line
