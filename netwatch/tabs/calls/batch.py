"""`netwatch calls --batch`: socket-layer calls per thread, printed like socket-trace.stp."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from netwatch.cli.args import batch_parser
from netwatch.cli.batch import (
    Output,
    batch_command,
    parsed_filter,
    read_recording,
    stop_after,
    warn_lost,
)
from netwatch.cli.types import CliError, Parser, whole_number
from netwatch.model.containers import Contexts
from netwatch.sources.live import available, require_live
from netwatch.tabs.calls.formats import ThreadIndent
from netwatch.tabs.calls.live import live_source
from netwatch.tabs.calls.model import (
    ENTER,
    EVENT,
    EXIT,
    FUNC_ENTER,
    FUNC_EXIT,
    CallEvent,
    CallsSample,
    ThreadCalls,
)
from netwatch.tabs.calls.options import functions_option, thread_options
from netwatch.tabs.calls.probe import DEFAULT_RINGBUF_MB
from netwatch.tabs.calls.replay import ReplayCallsSource
from netwatch.tabs.calls.source import CallsSource
from netwatch.tabs.calls.view_model import MAX_KERNEL_IDS, CallsFilter, parse_calls_filter

MAX_RINGBUF_MB = 256  # the buffer and its mapping: about twice this in RSS


EXAMPLES = (
    ("netwatch calls -b -p 1234", "one process's socket calls, as socket-trace.stp printed them"),
    ("netwatch calls -b --comm curl -T", "every curl's calls, each line timed"),
    ("netwatch calls -b --comm nginx --json --duration 10 > calls.jsonl", "10 s of them as JSON"),
    ("netwatch calls -b --functions off", "the calls and events only, no net/socket.c functions"),
    ("netwatch calls -b --replay session.nwrec -p 1234", "one process's calls in a recording"),
    ("netwatch calls", "the full-screen UI on the Calls tab (a tree per thread)"),
)


def parser() -> Parser:
    calls = batch_parser(
        "calls",
        "Socket-layer calls per thread, printed like socket-trace.stp "
        "(`<us> <comm>(<tid>): -> call`, `<- call = result (duration)`, `* event` inside).",
        "calls",
        EXAMPLES,
    )
    thread_options(calls)
    functions_option(calls)
    calls.add_argument(
        "--buffer-mb",
        type=whole_number(1, MAX_RINGBUF_MB),
        help=f"ring buffer size in MiB, a power of two up to {MAX_RINGBUF_MB} "
        f"(default {DEFAULT_RINGBUF_MB}; live only)",
    )
    return calls


class EventFilter:
    """--filter over events as they stream: a call is shown when its thread matches (pid:,
    tid:, comm:, container:, cgroup:, netns:) and its name and enter line do (call:, free
    text); what happens inside it and its return go with it."""

    def __init__(self, shown: CallsFilter) -> None:
        self.shown = shown
        self.contexts = Contexts()
        self._open: dict[int, bool] = {}  # tid -> whether its call in progress is shown

    def __call__(self, ev: CallEvent) -> bool:
        if ev.kind in (EXIT, EVENT, FUNC_ENTER, FUNC_EXIT) and ev.tid in self._open:
            decided = self._open[ev.tid]
            if ev.kind == EXIT:
                del self._open[ev.tid]
            return decided
        thread = ThreadCalls(ev.pid, ev.tid, ev.comm)
        decided = (
            self.shown.matches_thread(thread, self.contexts.of(ev.pid))
            and self.shown.matches_name(ev.name)
            and self.shown.matches_text(f"{thread.label} {ev.name} {ev.args_text()}")
        )
        if ev.kind == ENTER:
            if len(self._open) >= MAX_OPEN_CALLS:  # threads that died in a call
                self._open.pop(next(iter(self._open)))
            self._open[ev.tid] = decided
        return decided


MAX_OPEN_CALLS = 65536


def printer(
    how: Output, out: TextIO = sys.stdout, keep: EventFilter | None = None
) -> Callable[[CallsSample], None]:
    """socket-trace.stp's lines (`thread_indent` style), or one JSON object per line."""
    indent = ThreadIndent()

    def emit(sample: CallsSample) -> None:
        if keep is not None:
            keep.contexts.update(sample.context)
        for ev in sample.events:
            if not how.wants(ev.pid) or (keep is not None and not keep(ev)):
                continue
            if how.json:
                out.write(json.dumps(indent.record(ev), separators=(",", ":")) + "\n")
            else:
                out.write(how.text(ev.ts, indent.line(ev) + "\n"))
        warn_lost(sample.lost, "call events lost (ring buffer full)")
        out.flush()

    return emit


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
        return CallsSample(sample.ts, sample.interval, kept, sample.lost, sample.context)


def command(args: argparse.Namespace) -> int:
    shown = parsed_filter(args, parse_calls_filter)
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
            live_source(
                0.2,
                pids=tuple(args.pid),
                tids=tuple(args.tid),
                comms=tuple(args.comm),
                ringbuf_mb=args.buffer_mb,
                functions=args.functions,
            )
        )
    count = stop_after(args, source)
    live = source
    scope = ", ".join([f"pid {p}" for p in args.pid] + [f"tid {t}" for t in args.tid] + args.comm)

    def announce() -> str:
        # Which threads, and how deep on this kernel (function depth, and by what).
        if args.replay:
            return ""
        return f"netwatch: tracing {scope or 'all threads'}; {live.coverage()} (Ctrl-C stops)"

    # -p and the others chose the threads already: in the kernel, or in _ThreadsOf.
    keep = None if shown is None else EventFilter(shown)
    return batch_command(source, count, printer(Output.of(args), keep=keep), announce)
