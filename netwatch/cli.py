"""Command line: the TUI, `top --batch`, `record`, `replay`. Errors: one line, no traceback."""

from __future__ import annotations

import argparse
import os
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
from netwatch.cli_args import EXIT_FAILED, TABS, CliError, build_parser
from netwatch.crashlog import keep_log, terminal_aside, traceback_in
from netwatch.model.calls import CallsSample
from netwatch.model.calls_view import MAX_KERNEL_IDS
from netwatch.model.untrusted import printable
from netwatch.probes.calls import CALLS_READ_INTERVAL, DEFAULT_RINGBUF_MB
from netwatch.recording import (
    REPLAY_SOURCES,
    RecordingFile,
    RecordingWriteError,
    RecordingWriter,
    ReplayAcceptsSource,
    ReplayCallsSource,
    ReplayDropsSource,
    ReplayTrafficSource,
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
from netwatch.terminal import (
    ExitGuard,
    close_within,
    end_now,
    exit_on_signals,
)

T = TypeVar("T")
SUBCOMMANDS = ("top", "drops", "accepts", "calls", "record", "replay")
PROBE_CLOSE_S = 1.5  # detaching takes milliseconds; past this a probe is still compiling


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


def require_live() -> None:
    """What every live probe needs: root, BCC, kernel headers, tracefs. Each tab then checks
    its own tracepoints, so one tab's needs never stop another."""
    from netwatch.probes.requirements import check_live_requirements

    problems = check_live_requirements(())
    if problems:
        raise CliError(f"netwatch: {problems[0].message}")


def _lacking(tab: str, tracepoints: tuple[str, ...]) -> str | None:
    from netwatch.probes.requirements import missing_tracepoints

    missing = missing_tracepoints(tracepoints)
    if not missing:
        return None
    return f"this kernel lacks the tracepoint(s) {', '.join(missing)} that the {tab} tab needs"


def live_traffic_source(interval: float) -> TrafficSource | str:
    """The probe, or why this kernel cannot run it (the other tabs still run)."""
    from netwatch.probes.traffic import TRACEPOINTS, TrafficProbe

    return _lacking("Traffic", TRACEPOINTS) or TrafficProbe(interval)


def live_drops_source(interval: float) -> DropsSource | str:
    from netwatch.probes.drops import TRACEPOINTS, DropsProbe

    return _lacking("Drops", TRACEPOINTS) or DropsProbe(interval)


def live_accepts_source(interval: float) -> AcceptsSource | str:
    from netwatch.probes.accepts import TRACEPOINTS, AcceptsProbe

    return _lacking("Accepts", TRACEPOINTS) or AcceptsProbe(interval)


def _available(source: T | str) -> T:
    """A batch command's own source, or its one-line refusal."""
    if isinstance(source, str):
        raise CliError(f"netwatch: {source}")
    return source


def live_calls_source(
    interval: float,
    *,
    pids: tuple[int, ...] = (),
    tids: tuple[int, ...] = (),
    comms: tuple[str, ...] = (),
    ringbuf_mb: int = DEFAULT_RINGBUF_MB,
    start_suspended: bool = False,
    keep_last: int | None = None,
    functions: str = "auto",
) -> CallsSource | str:
    """The probe, or why this kernel cannot run it (the other tabs still run)."""
    from netwatch.probes.calls import TRACEPOINTS, CallsProbe

    lacking = _lacking("Calls", TRACEPOINTS)
    if lacking:
        return lacking
    return CallsProbe(
        interval,
        pids=pids,
        tids=tids,
        comms=comms,
        ringbuf_mb=ringbuf_mb,
        start_suspended=start_suspended,
        keep_last=keep_last,
        functions=functions,
    )


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
        source = _available(
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


def cmd_accepts(args: argparse.Namespace) -> int:
    source: AcceptsSource | None
    if args.replay is not None:
        source = ReplayAcceptsSource(read_recording(args.replay).samples("accepts"), args.replay)
        source.interval = 0.0
    else:
        require_live()
        source = _available(live_accepts_source(0.2))  # print soon after each accept
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
    source: TrafficSource
    if args.replay is not None:
        source = ReplayTrafficSource(read_recording(args.replay).samples("traffic"), args.replay)
        source.interval = 0.0
    else:
        require_live()
        source = _available(live_traffic_source(args.interval))
    return _batch(source, args.count, traffic_printer(args.json))


def cmd_drops(args: argparse.Namespace) -> int:
    source: DropsSource | None
    if args.replay is not None:
        source = ReplayDropsSource(read_recording(args.replay).samples("drops"), args.replay)
        source.interval = 0.0
    else:
        require_live()
        source = _available(live_drops_source(args.interval))
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


def cmd_ui(
    tab: str,
    sources: dict[str, Source[Any]],
    args: argparse.Namespace,
    replay: bool,
    unavailable: dict[str, str] | None = None,
) -> int:
    from netwatch.app import NetwatchApp

    if not args.snapshot_dir.is_dir():
        what = "is not a directory" if args.snapshot_dir.exists() else "does not exist"
        raise CliError(f"netwatch: snapshot directory {args.snapshot_dir} {what}")
    app = NetwatchApp(
        sources,
        initial_tab=tab,
        snapshot_dir=args.snapshot_dir,
        replay=replay,
        max_rows=args.max_rows,
        max_calls=args.max_calls,
        max_threads=args.max_threads,
        unavailable=unavailable,
    )
    app.exit_guard = ExitGuard(2)
    probes = list(sources.values())
    with terminal_aside(app.request_exit) as log, exit_on_signals(app.request_exit):
        try:
            app.run()
        finally:
            # Probes still compiling are not waited for past this: ending the process
            # releases whatever they attach.
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


def _opens_a_tab(argv: list[str]) -> bool:
    """`netwatch drops` opens the UI on the Drops tab; `netwatch drops --batch` (or its help)
    is the batch command of the same name."""
    batch_words = {"--batch", "--replay", "-h", "--help"}
    return argv[0] in TABS and not any(a.split("=")[0] in batch_words for a in argv[1:])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parsers = build_parser()
    try:
        if argv and argv[0] in SUBCOMMANDS and not _opens_a_tab(argv):
            args = parsers[argv[0]].parse_args(argv[1:])
            if argv[0] == "top":
                return cmd_top(args)
            if argv[0] == "drops":
                return cmd_drops(args)
            if argv[0] == "accepts":
                return cmd_accepts(args)
            if argv[0] == "calls":
                return cmd_calls(args)
            if argv[0] == "record":
                return cmd_record(args)
            rec = read_recording(args.file)
            # Traffic always (its pane says when the recording holds none); the others when
            # the recording has them.
            replayed: dict[str, Source[Any]] = {
                tab: play(rec.samples(tab), args.file, args.speed)
                for tab, play in REPLAY_SOURCES.items()
                if tab == "traffic" or rec.count(tab)
            }
            return cmd_ui(args.tab, replayed, args, replay=True)
        args = parsers["ui"].parse_args(argv)
        require_live()
        tabs: dict[str, Source[Any] | str] = {
            "traffic": live_traffic_source(args.interval),
            "drops": live_drops_source(args.interval),
            "accepts": live_accepts_source(args.interval),
            # Read more often than drawn: a busy thread's records are decoded in small batches.
            "calls": live_calls_source(
                min(args.interval, CALLS_READ_INTERVAL),
                start_suspended=True,
                keep_last=args.max_calls,
                functions=args.functions,
            ),
        }
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
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining
        # again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
