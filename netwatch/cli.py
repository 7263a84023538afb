"""Command line: the TUI, `top --batch`, `record`, `replay`. Errors: one line, no traceback."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, Any, TypeVar

from netwatch import __version__
from netwatch.batch import (
    ACCEPTS_HEADER,
    accepts_printer,
    calls_printer,
    drops_printer,
    run_batch,
    traffic_printer,
)
from netwatch.model.calls import DEFAULT_MAX_CALLS, DEFAULT_MAX_THREADS, CallsSample
from netwatch.model.calls_view import MAX_KERNEL_IDS
from netwatch.model.filter import is_number
from netwatch.model.untrusted import printable
from netwatch.probes.calls import CALLS_READ_INTERVAL, DEFAULT_RINGBUF_MB
from netwatch.probes.calls_functions import MODES as FUNCTION_MODES
from netwatch.recording import (
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
    TerminalOut,
    close_within,
    end_now,
    exit_on_signals,
)

TABS = ("traffic", "calls", "accepts", "drops")
T = TypeVar("T")
SUBCOMMANDS = ("top", "drops", "accepts", "calls", "record", "replay")
EXIT_USAGE = 2
EXIT_FAILED = 1
PROBE_CLOSE_S = 1.5  # detaching takes milliseconds; past this a probe is still compiling


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


def build_parser() -> dict[str, argparse.ArgumentParser]:
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

    top = _batch_parser("top", "Per-process traffic, printed like top -b.", "traffic")
    top.add_argument(
        "--interval",
        type=_positive,
        default=5.0,
        help="seconds per table (default 5, as nettop.stp)",
    )
    top.add_argument("--count", type=_count, help="stop after N intervals")
    top.add_argument("--json", action="store_true", help="one JSON object per row per interval")

    drops = _batch_parser(
        "drops", "Where the kernel drops packets, printed like dropwatch.stp.", "drops"
    )
    drops.add_argument(
        "--interval",
        type=_positive,
        default=5.0,
        help="seconds per report (default 5, as dropwatch.stp)",
    )
    drops.add_argument("--count", type=_count, help="stop after N intervals")
    drops.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per location, reason and protocol per interval",
    )

    accepts = _batch_parser(
        "accepts", "Accepted TCP connections as they happen, like tcp_connections.stp.", "accepts"
    )
    accepts.add_argument("--duration", type=_positive, help="stop after S seconds")
    accepts.add_argument("--json", action="store_true", help="one JSON object per accept")

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

    replay = _Parser(prog="netwatch replay", description="Open the UI on a recording, no root.")
    replay.add_argument("file", type=Path)
    replay.add_argument("tab", nargs="?", choices=TABS, default="traffic")
    replay.add_argument(
        "--speed", type=_speed, default=1.0, help="play faster (2 = twice as fast) or slower (0.5)"
    )
    _ui_options(replay)
    return {
        "ui": ui,
        "top": top,
        "drops": drops,
        "accepts": accepts,
        "calls": calls,
        "record": record,
        "replay": replay,
    }


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
            next_tick = time.monotonic() + args.interval
            while not should_stop() and (deadline is None or time.monotonic() < deadline):
                if time.monotonic() < next_tick:
                    time.sleep(min(0.05, next_tick - time.monotonic()))
                    continue
                next_tick += args.interval
                for tab, source in sources.items():
                    sample = source.read()
                    if sample is not None:
                        writer.write(tab, sample)
                intervals += 1
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


LOG_DIR = Path("/var/log/netwatch")


@contextmanager
def terminal_aside(on_lost: Callable[[], None]) -> Iterator[IO[bytes]]:
    """BCC and LLVM write compiler chatter to fd 2, which would land on the full-screen UI.

    Textual draws on sys.__stderr__, so it gets the terminal (a duplicate of its descriptor, as
    a TerminalOut that survives the terminal's loss), while fd 2 itself goes to an unnamed
    temporary file: however the process ends, no log is left behind unless kept on purpose.
    """
    log = tempfile.TemporaryFile()
    terminal = os.dup(2)
    original = sys.__stderr__
    # typeshed marks __stderr__ Final; replacing it is exactly what is wanted here.
    setattr(sys, "__stderr__", TerminalOut(terminal, on_lost))  # noqa: B010
    os.dup2(log.fileno(), 2)
    try:
        yield log
    finally:
        os.dup2(terminal, 2)
        os.close(terminal)
        setattr(sys, "__stderr__", original)  # noqa: B010


def keep_log(log: IO[bytes]) -> Path | None:
    """Copy what fd 2 caught (compiler output, a traceback) to LOG_DIR, or the temporary
    directory if that cannot be written; None if there was nothing."""
    log.seek(0)
    data = log.read()
    if not data:
        return None
    name = time.strftime("netwatch-%Y%m%d-%H%M%S") + f"-{os.getpid()}.log"
    for directory in (LOG_DIR, Path(tempfile.gettempdir())):
        try:
            directory.mkdir(mode=0o700, exist_ok=True)
            with create_new_file(directory / name) as out:
                out.write(data.decode("utf-8", "replace"))
            return directory / name
        except OSError:
            continue
    return None


def _traceback_in(log: IO[bytes]) -> str:
    log.seek(0)
    text = log.read().decode("utf-8", "replace")
    # Textual prints a Rich traceback, whose heading is styled between the words.
    found = text.rfind("Traceback")
    if found < 0:
        return ""
    return text[text.rfind("\n", 0, found) + 1 :][-50_000:]


def cmd_ui(
    tab: str,
    source: TrafficSource | None,
    drops: DropsSource | None,
    accepts: AcceptsSource | None,
    calls: CallsSource | None,
    args: argparse.Namespace,
    replay: bool,
    unavailable: dict[str, str] | None = None,
) -> int:
    from netwatch.app import NetwatchApp

    if not args.snapshot_dir.is_dir():
        what = "is not a directory" if args.snapshot_dir.exists() else "does not exist"
        raise CliError(f"netwatch: snapshot directory {args.snapshot_dir} {what}")
    app = NetwatchApp(
        source,
        drops,
        accepts,
        calls,
        initial_tab=tab,
        snapshot_dir=args.snapshot_dir,
        replay=replay,
        max_rows=args.max_rows,
        max_calls=args.max_calls,
        max_threads=args.max_threads,
        unavailable=unavailable,
    )
    app.exit_guard = ExitGuard(2)
    probes = [p for p in (source, drops, accepts, calls) if p is not None]
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
        traceback = _traceback_in(log) if crashed else ""
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
            replayed = ReplayTrafficSource(rec.samples("traffic"), args.file, args.speed)
            drops = (
                ReplayDropsSource(rec.samples("drops"), args.file, args.speed)
                if rec.count("drops")
                else None
            )
            accepts = (
                ReplayAcceptsSource(rec.samples("accepts"), args.file, args.speed)
                if rec.count("accepts")
                else None
            )
            calls = (
                ReplayCallsSource(rec.samples("calls"), args.file, args.speed)
                if rec.count("calls")
                else None
            )
            return cmd_ui(args.tab, replayed, drops, accepts, calls, args, replay=True)
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
        return cmd_ui(
            args.tab,
            live.get("traffic"),
            live.get("drops"),
            live.get("accepts"),
            live.get("calls"),  # type: ignore[arg-type]
            args,
            replay=False,
            unavailable=unavailable,
        )
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
