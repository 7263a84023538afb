"""The batch commands (`top`, `drops`, `accepts`, `calls` with --batch) and `record`: each reads
its sources through the one read loop and prints or writes what it gets."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from netwatch.batch import (
    ACCEPTS_HEADER,
    accepts_printer,
    calls_printer,
    drops_printer,
    run_batch,
    traffic_printer,
)
from netwatch.cli_args import EXIT_FAILED, CliError
from netwatch.live_sources import (
    available,
    live_accepts_source,
    live_calls_source,
    live_drops_source,
    live_traffic_source,
    require_live,
)
from netwatch.model.calls import CallsSample
from netwatch.model.calls_view import MAX_KERNEL_IDS
from netwatch.model.untrusted import printable
from netwatch.probes.calls import DEFAULT_RINGBUF_MB
from netwatch.recording import (
    REPLAY_SOURCES,
    RecordingFile,
    RecordingWriteError,
    RecordingWriter,
    ReplayCallsSource,
    create_new_file,
    open_recording,
)
from netwatch.runner import run
from netwatch.sources import (
    AcceptsSource,
    CallsSource,
    DropsSource,
    Source,
    SourceError,
    TrafficSource,
)

T = TypeVar("T")


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], bool]]:
    """Ctrl-C, SIGTERM and SIGHUP (an SSH drop) end the loop cleanly instead of killing us."""
    stopped = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal stopped
        stopped = True

    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield lambda: stopped
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def cmd_calls(args: argparse.Namespace) -> int:
    source: CallsSource | None
    if args.replay is not None:
        if args.buffer_mb is not None:
            raise CliError("netwatch calls: --buffer-mb applies to live tracing, not --replay")
        recording = read_recording(args.replay)
        source = ReplayCallsSource(
            _ThreadsOf(recording.samples("calls"), args.pid, args.tid, args.comm), args.replay
        )
        source.interval = 0.0
    else:
        args.buffer_mb = args.buffer_mb or DEFAULT_RINGBUF_MB
        if args.buffer_mb & (args.buffer_mb - 1):
            raise CliError(f"netwatch calls: --buffer-mb {args.buffer_mb} is not a power of two")
        if max(len(args.pid), len(args.tid)) > MAX_KERNEL_IDS:
            raise CliError(f"netwatch calls: at most {MAX_KERNEL_IDS} --pid and --tid each")
        require_live()
        source = available(
            live_calls_source(
                0.2,
                pids=tuple(args.pid),
                tids=tuple(args.tid),
                comms=tuple(args.comm),
                ringbuf_mb=args.buffer_mb,
                functions=args.functions,
            )
        )
    count = None
    if args.duration is not None:
        count = max(1, round(args.duration / source.interval)) if source.interval else None
    live = source
    scope = ", ".join([f"pid {p}" for p in args.pid] + [f"tid {t}" for t in args.tid] + args.comm)

    def announce() -> str:
        # Which threads, and how deep on this kernel (function depth, and by what).
        if args.replay:
            return ""
        return f"netwatch: tracing {scope or 'all threads'}; {live.coverage()} (Ctrl-C stops)"

    return _batch(source, count, calls_printer(args.json), announce)


def _replayed_or_live(args: argparse.Namespace, tab: str, live: Callable[[], Any]) -> Any:
    """--replay FILE's samples of `tab`, printed as fast as they come; else the live source
    (after the checks every live command makes), or the one line saying why it cannot run."""
    if args.replay is not None:
        replayed = REPLAY_SOURCES[tab](read_recording(args.replay).samples(tab), args.replay)
        replayed.interval = 0.0
        return replayed
    require_live()
    return available(live())


def cmd_accepts(args: argparse.Namespace) -> int:
    # Live: read five times a second, to print soon after each accept.
    source: AcceptsSource = _replayed_or_live(args, "accepts", lambda: live_accepts_source(0.2))
    count = None
    if args.duration is not None:
        count = max(1, round(args.duration / source.interval)) if source.interval else None
    if not args.json:
        print(ACCEPTS_HEADER, flush=True)
    announce = "" if args.replay else "netwatch: watching accepted connections (Ctrl-C stops)"
    return _batch(source, count, accepts_printer(args.json), announce)


def read_recording(path: Path) -> RecordingFile:
    """The recording indexed for streaming; its warnings (a cut last record) on stderr."""
    try:
        recording = open_recording(path)
    except SourceError as exc:
        raise CliError(f"netwatch: {exc}") from exc
    for warning in recording.warnings:
        print(f"netwatch: warning: {printable(warning)}", file=sys.stderr)
    return recording


class _ThreadsOf(Sequence[CallsSample]):
    """A recording's Calls samples holding only the threads --pid, --tid and --comm ask for,
    as the live probe would have traced them."""

    def __init__(
        self, samples: Sequence[CallsSample], pids: list[int], tids: list[int], comms: list[str]
    ) -> None:
        self._samples = samples
        self._pids, self._tids, self._comms = set(pids), set(tids), set(comms)

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, i: int) -> CallsSample:  # type: ignore[override]
        sample = self._samples[i]
        if not (self._pids or self._tids or self._comms):
            return sample
        kept = tuple(
            e
            for e in sample.events
            if (not self._pids or e.pid in self._pids)
            and (not self._tids or e.tid in self._tids)
            and (not self._comms or e.comm in self._comms)
        )
        return CallsSample(sample.ts, sample.interval, kept, sample.lost)


def cmd_top(args: argparse.Namespace) -> int:
    source: TrafficSource = _replayed_or_live(
        args, "traffic", lambda: live_traffic_source(args.interval)
    )
    return _batch(source, args.count, traffic_printer(args.json))


def cmd_drops(args: argparse.Namespace) -> int:
    source: DropsSource = _replayed_or_live(args, "drops", lambda: live_drops_source(args.interval))
    text = not args.json
    if text:
        print("Monitoring for dropped packets", flush=True)
    try:
        return _batch(source, args.count, drops_printer(args.json))
    finally:
        if text:
            print("Stopping dropped packet monitor", flush=True)


def _batch(
    source: Source[T],
    count: int | None,
    emit: Callable[[T], None],
    announce: str | Callable[[], str] = "",
) -> int:
    """`announce` goes to stderr once the source is open (for a probe: attached); a callable
    is asked then, for what only the open probe knows."""
    with stop_on_signals() as should_stop:
        try:
            source.open()
            line = announce() if callable(announce) else announce
            if line:
                print(printable(line), file=sys.stderr, flush=True)
            run_batch(source, count, emit, should_stop=should_stop)
        except SourceError as exc:
            raise CliError(f"netwatch: {exc}", EXIT_FAILED) from exc
        finally:
            source.close()
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    require_live()
    wanted: dict[str, Source[Any] | str] = {
        "traffic": live_traffic_source(args.interval),
        "drops": live_drops_source(args.interval),
        "accepts": live_accepts_source(args.interval),
    }
    if not args.no_calls:
        wanted["calls"] = live_calls_source(
            args.interval,
            pids=tuple(args.calls_pid),
            tids=tuple(args.calls_tid),
            comms=tuple(args.calls_comm),
            functions=args.functions,
        )
    sources = {tab: s for tab, s in wanted.items() if not isinstance(s, str)}
    left_out = {tab: why for tab, why in wanted.items() if isinstance(why, str)}
    if not sources:
        raise CliError("netwatch: nothing to record: " + "; ".join(left_out.values()))
    try:
        stream = create_new_file(args.output)
    except FileExistsError:
        raise CliError(
            f"netwatch: {args.output} already exists; recordings never overwrite"
        ) from None
    except OSError as exc:
        raise CliError(f"netwatch: cannot create {args.output}: {exc.strerror}") from exc
    for why in left_out.values():
        print(f"netwatch: not recording: {why}", file=sys.stderr)
    writer = RecordingWriter(stream, list(sources), args.output)
    intervals = 0
    with stop_on_signals() as should_stop:
        try:
            for source in sources.values():
                source.open()
            print(f"netwatch: recording to {args.output} (Ctrl-C to stop)", file=sys.stderr)
            deadline = None if args.duration is None else time.monotonic() + args.duration

            def over() -> bool:
                return should_stop() or (deadline is not None and time.monotonic() >= deadline)

            first = next(iter(sources))

            def write(tab: str, sample: Any) -> None:
                nonlocal intervals
                writer.write(tab, sample)
                intervals += tab == first  # each tick reads every tab once

            run(sources, write, interval=args.interval, should_stop=over)
        except RecordingWriteError as exc:
            raise CliError(
                f"netwatch: recording stopped: {exc}; the {intervals} intervals before it replay",
                EXIT_FAILED,
            ) from exc
        except SourceError as exc:
            raise CliError(f"netwatch: {exc}", EXIT_FAILED) from exc
        finally:
            for source in sources.values():
                source.close()
            writer.close()
    print(f"netwatch: wrote {intervals} intervals to {args.output}", file=sys.stderr)
    return 0
