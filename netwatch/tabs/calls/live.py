"""The Calls tab's live source, or the one line that says why this kernel cannot run it."""

from __future__ import annotations

import argparse

from netwatch.probes.requirements import lacking
from netwatch.tabs.calls.probe import CALLS_READ_INTERVAL, DEFAULT_RINGBUF_MB
from netwatch.tabs.calls.source import CallsSource


def live_source(
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
    from netwatch.tabs.calls.probe import TRACEPOINTS, CallsProbe

    return lacking("Calls", TRACEPOINTS) or CallsProbe(
        interval,
        pids=pids,
        tids=tids,
        comms=comms,
        ringbuf_mb=ringbuf_mb,
        start_suspended=start_suspended,
        keep_last=keep_last,
        functions=functions,
    )


def for_ui(args: argparse.Namespace) -> CallsSource | str:
    # Read more often than drawn: a busy thread's records are decoded in small batches.
    # Attached only while the tab is shown: it streams one record per socket call.
    return live_source(
        min(args.interval, CALLS_READ_INTERVAL),
        start_suspended=True,
        keep_last=args.max_calls,
        functions=args.functions,
    )


def for_record(args: argparse.Namespace) -> CallsSource | str | None:
    # Only when asked for: unfiltered, a busy host's calls fill tens of MB in seconds.
    narrowed = args.calls_pid or args.calls_tid or args.calls_comm
    if args.no_calls or not (args.calls or narrowed):
        return None
    return live_source(
        args.interval,
        pids=tuple(args.calls_pid),
        tids=tuple(args.calls_tid),
        comms=tuple(args.calls_comm),
        functions=args.functions,
    )


def for_export(args: argparse.Namespace) -> CallsSource | str:
    # Narrowed as in `record` (--calls-pid/--calls-tid/--calls-comm); no function depth: the
    # metrics count calls, and what runs inside them costs and changes no count.
    return live_source(
        args.interval,
        pids=tuple(args.calls_pid),
        tids=tuple(args.calls_tid),
        comms=tuple(args.calls_comm),
        functions="none",
    )
