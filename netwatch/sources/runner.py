"""The one loop that reads sources: the TUI's workers, the batch commands and `record` all pace
their reads here.

Each tick reads every source once and hands each sample on. A reader slower than the interval
gets the next read at once but no burst of catch-up reads: ticks never pile up.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from netwatch.model.gcpause import cycles_not_collected
from netwatch.sources.base import Source

POLL_S = 0.05  # how often a wait between ticks looks at should_stop

# What ended the loop.
STOPPED = "stopped"  # should_stop said so, or deliver refused a sample
COUNTED = "counted"  # `count` ticks done
ENDED = "ended"  # every source has nothing more (a recording's end)


def run(
    sources: Mapping[str, Source[Any]],
    deliver: Callable[[str, Any], bool | None],
    *,
    interval: float,
    should_stop: Callable[[], bool] = lambda: False,
    stop: threading.Event | None = None,
    count: int | None = None,
    after_tick: Callable[[], None] = lambda: None,
    since: float | None = None,
    handed_on: Callable[[str], bool] = lambda tab: True,
) -> str:
    """Read each source once per `interval` and `deliver(tab, sample)`, until `count` ticks,
    every source's end, `should_stop()` or `stop`, or `deliver` returning False. Returns which.
    `after_tick()` runs once each tick has read every source (the exporter publishes there, so a
    scrape never sees one tab's newest interval beside another's previous one).

    With `stop` (an Event another thread sets), the wait between ticks is one sleep that the
    event cuts short; `should_stop` alone (a flag a signal handler sets) is looked at every
    POLL_S. The TUI's four workers pass the event: an idle screen should not wake 80 times a
    second to learn that nothing is asked.

    `handed_on(tab)` runs after each sample delivered, once the cycle collector runs again:
    the TUI's workers wait there until the UI has taken the sample, a wait of any length
    (False: stop).

    `since` (time.monotonic()) is when the intervals count from, by default now: `record` reads
    every source once before the loop, and its first tick belongs one interval after that
    read's start, not after its end (a first read that resolves symbols can take 0.3 s)."""
    if stop is not None:
        should_stop = stop.is_set
    running = dict(sources)
    done = 0
    next_tick = (time.monotonic() if since is None else since) + interval
    while running:
        if count is not None and done >= count:
            return COUNTED
        while not should_stop() and time.monotonic() < next_tick:
            wait = max(0.0, next_tick - time.monotonic())
            if stop is not None:
                stop.wait(wait)
            else:
                time.sleep(min(POLL_S, wait))
        if should_stop():
            return STOPPED
        next_tick += interval
        for tab, source in list(running.items()):
            if not _read_and_deliver(tab, source, deliver, running):
                return STOPPED
            if tab in running and not handed_on(tab):
                return STOPPED
        after_tick()
        done += 1
        next_tick = max(next_tick, time.monotonic())
    return ENDED


def _read_and_deliver(
    tab: str,
    source: Source[Any],
    deliver: Callable[[str, Any], bool | None],
    running: dict[str, Source[Any]],
) -> bool:
    """One source's read handed on (or the source dropped at its end); False: stop.

    The cycle collector is paused from the read until the sample is let go. A churning host's
    read makes hundreds of thousands of objects, which reference counting frees once the sample
    is printed; a collection set off before that scanned them all, 17 ms a read on a host
    refusing 60,000 connects a second (docs/benchmarks.md). Kept samples (the TUI's) are
    scanned by the next collection as before."""
    with contextlib.ExitStack() as paused:
        # A replay's read waits on its clock (`read_waits`), paused or at the end for as long
        # as the operator likes, and the pause, held until the last one ends, would stop
        # collection in every thread meanwhile: it begins after such a read.
        waits = getattr(source, "read_waits", False)
        if not waits:
            paused.enter_context(cycles_not_collected())
        sample = source.read()
        if sample is None:
            del running[tab]
            return True
        if waits:
            paused.enter_context(cycles_not_collected())
        kept = deliver(tab, sample)
        del sample
    return kept is not False
